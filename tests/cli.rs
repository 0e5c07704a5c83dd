//! The command line as users meet it: exit codes, messages, damaged input, real captures.

use std::path::Path;

use predicates::prelude::*;
use serde_json::Value;

use crate::util::{json_of, ktrail, strs, success, words};

/// Runs `ktrail` with the words of `line`: it must exit 2 with `says` in its message.
fn usage_error(line: &str, says: &str) {
    exits_saying(2, line, says);
}

/// Runs `ktrail` with the words of `line`: it must exit with `code`, `says` in its message.
fn exits_saying(code: i32, line: &str, says: &str) {
    ktrail()
        .args(line.split_whitespace())
        .assert()
        .code(code)
        .stderr(predicate::str::contains(says));
}

#[test]
fn usage_errors_exit_2() {
    usage_error("timeline --bogus", "--bogus");
    usage_error("timeline", "no input");
    usage_error(
        "timeline -f /nonexistent/audit.log",
        "/nonexistent/audit.log",
    );
    usage_error("timeline --sample no-such-sample", "ktrail samples");
    usage_error("timeline --since yesterday-ish --sample eks-fargate", "");
}

#[test]
fn version_and_help() {
    ktrail()
        .arg("--version")
        .assert()
        .success()
        .stdout(predicate::str::starts_with("ktrail "));
    ktrail()
        .args(["timeline", "--help"])
        .assert()
        .success()
        .stdout(predicate::str::contains("--file"));
    for shell in ["bash", "zsh", "fish"] {
        ktrail()
            .args(["completions", shell])
            .assert()
            .success()
            .stdout(predicate::str::contains("timeline"));
    }
}

#[test]
fn nothing_matched_exits_1() {
    ktrail()
        .args(["timeline", "nowhere/nothing", "--sample", "eks-fargate"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("no pod matched"));
}

const CREATE: &str = r#"{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"RequestResponse","auditID":"11111111-0000-0000-0000-000000000001","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/ns/pods","verb":"create","user":{"username":"alice"},"objectRef":{"resource":"pods","namespace":"ns","name":"web","apiVersion":"v1"},"responseStatus":{"metadata":{},"code":201},"requestObject":{"kind":"Pod","apiVersion":"v1","metadata":{"name":"web","namespace":"ns"},"spec":{"containers":[{"name":"c","image":"nginx"}]}},"responseObject":{"kind":"Pod","apiVersion":"v1","metadata":{"name":"web","namespace":"ns","uid":"aaaaaaaa-0000-0000-0000-000000000001"},"spec":{"containers":[{"name":"c","image":"nginx"}],"schedulerName":"default-scheduler"}},"requestReceivedTimestamp":"2024-05-01T10:00:00.000000Z","stageTimestamp":"2024-05-01T10:00:00.010000Z"}"#;

#[test]
fn damaged_lines_are_reported_with_file_and_line_and_the_rest_still_counts() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("mixed.jsonl");
    let text = format!(
        "not json at all\r\n{CREATE}\r\n\n{{\"kind\":\"Event\",\"auditID\":\"x\",\"stage\":\"Resp[Truncated...]\n[1,2,3]\n{}\n",
        &CREATE[..200]
    );
    std::fs::write(&f, text).unwrap();
    let name = f.to_str().unwrap();
    let out = ktrail()
        .args(["timeline", "-f", name, "-o", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let stderr = String::from_utf8(out.stderr).unwrap();
    let lines: Vec<&str> = stderr.lines().collect();
    assert!(
        lines[0].starts_with(&format!("{name}:1: not JSON")),
        "{stderr}"
    );
    assert!(
        lines[1].starts_with(&format!(
            "{name}:4: event x was truncated by CloudWatch Logs"
        )),
        "{stderr}"
    );
    assert!(lines[2].starts_with(&format!("{name}:5: ")), "{stderr}");
    assert!(lines[2].contains("not an audit event"), "{stderr}");
    assert!(
        lines[3].starts_with(&format!("{name}:6: not JSON (cut short")),
        "{stderr}"
    );
    assert!(stderr.contains("skipped 4 of 6 lines"), "{stderr}");
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["pods"][0]["uid"], "aaaaaaaa-0000-0000-0000-000000000001");
    assert_eq!(v["summary"]["linesSkipped"], 4);

    ktrail()
        .args(["timeline", "-f", name, "--strict"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(format!("{name}:1: not JSON")));
}

#[test]
fn hostile_text_never_reaches_the_terminal_raw() {
    let evil = CREATE.replace(
        r#""username":"alice""#,
        r#""username":"al\u001b]0;pwned\u0007ice\u001b[2J""#,
    );
    for fmt in ["table", "markdown"] {
        let out = ktrail()
            .args(["timeline", "-f", "-", "-o", fmt])
            .write_stdin(evil.clone())
            .output()
            .unwrap();
        assert!(out.status.success());
        assert!(!out.stdout.iter().any(|&b| b == 0x1b || b == 0x07), "{fmt}");
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("\\u{1b}"),
            "{fmt}"
        );
    }
}

#[test]
fn aws_cli_documents_are_read_whole() {
    let msg = serde_json::to_string(CREATE).unwrap();
    let doc = format!(
        "{{\n  \"events\": [\n    {{\n      \"logStreamName\": \"kube-apiserver-audit-1\",\n      \"timestamp\": 1714557600010,\n      \"message\": {msg}\n    }}\n  ],\n  \"searchedLogStreams\": []\n}}\n"
    );
    let v = json_of(
        ktrail()
            .args(["timeline", "-f", "-", "-o", "json"])
            .write_stdin(doc),
    );
    assert_eq!(v["pods"][0]["name"], "web");
}

/// Real captures from public projects, when the shared folder is next to the project.
#[test]
fn realworld_captures() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/realworld");
    let falco = dir.join("falco_k8s_audit_minikube_2018.jsonl");
    if !falco.exists() {
        eprintln!("skipped: {} is absent", dir.display());
        return;
    }
    let v = json_of(ktrail().args([
        "timeline",
        "-f",
        falco.to_str().unwrap(),
        "-o",
        "json",
        "--strict",
    ]));
    let pods = v["pods"].as_array().unwrap();
    // generateName creates: the name comes from the stored object.
    assert!(pods.iter().all(|p| !p["name"].as_str().unwrap().is_empty()));
    assert!(pods.iter().any(
        |p| p["name"].as_str().unwrap().starts_with("nginx-deployment-")
            && p["createdBy"] == "system:serviceaccount:kube-system:replicaset-controller"
    ));
    // exec and attach on a pod created before the log begins.
    let early = pods
        .iter()
        .find(|p| p["createdAt"].is_null() && !p["denied"].as_bool().unwrap())
        .expect("a pod created before the log");
    let kinds = strs(&early["events"], "kind");
    assert!(
        kinds.contains(&"exec") && kinds.contains(&"attach"),
        "{kinds:?}"
    );
    // Built-in admission (service account volume, tolerations) seen only as request vs response.
    assert!(pods.iter().any(|p| p["builtinChanges"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c == "/spec/tolerations")));
    // The same create twice with one auditID counts once.
    assert!(v["summary"]["duplicates"].as_u64().unwrap() >= 1);

    let rbac = dir.join("audit2rbac_demo.log");
    let out = ktrail()
        .args([
            "timeline",
            "-f",
            rbac.to_str().unwrap(),
            "-o",
            "json",
            "--reads",
        ])
        .output()
        .unwrap();
    assert!(out.status.code() == Some(0) || out.status.code() == Some(1));
    let _: Value = serde_json::from_slice(&out.stdout).unwrap();
}

/// A running ktrail has transparent huge pages turned off (see `small_pages` in src/main.rs).
#[cfg(target_os = "linux")]
#[test]
fn a_run_turns_transparent_huge_pages_off() {
    use std::process::{Command as Std, Stdio};
    use std::time::{Duration, Instant};
    let thp = |status: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix("THP_enabled:"))
            .map(|v| v.trim().to_owned())
    };
    let mine = std::fs::read_to_string("/proc/self/status").expect("status");
    if thp(&mine).is_none() {
        eprintln!("skipped: this kernel does not report THP_enabled");
        return;
    }
    // Reading a pipe that stays open, ktrail waits for its input.
    let mut child = Std::new(env!("CARGO_BIN_EXE_ktrail"))
        .args(["timeline", "-f", "-", "-o", "json"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let path = format!("/proc/{}/status", child.id());
    let start = Instant::now();
    let mut seen = None;
    while start.elapsed() < Duration::from_secs(10) {
        seen = std::fs::read_to_string(&path).ok().and_then(|s| thp(&s));
        if seen.as_deref() == Some("0") {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    drop(child.stdin.take());
    child.wait().expect("wait");
    assert_eq!(
        seen.as_deref(),
        Some("0"),
        "THP_enabled of the running ktrail"
    );
}

#[test]
fn a_name_no_kubernetes_object_can_have_is_refused_alike_for_every_source() {
    let msg = "invalid pod name \"Bad_Name\": only lowercase letters, digits, '-' and '.' are allowed in Kubernetes names";
    for args in [
        &["timeline", "Bad_Name", "--sample", "eks-fargate"][..],
        &["pods", "default/Bad_Name", "--sample", "eks-fargate"],
        &[
            "webhooks",
            "Bad_Name",
            "-n",
            "default",
            "--sample",
            "eks-fargate",
        ],
        &["query", "default/Bad_Name"],
        &["timeline", "Bad_Name", "--cluster", "ironman-2022"],
    ] {
        ktrail()
            .args(args)
            .assert()
            .code(2)
            .stdout("")
            .stderr(format!("ktrail: {msg}\n"));
    }
    usage_error(
        "timeline Default/nginx --sample eks-fargate",
        "invalid namespace \"Default\"",
    );
    usage_error("query --created Bad_Name", "invalid name \"Bad_Name\"");
}

#[test]
fn every_subcommand_help_ends_with_examples_and_those_offline_run() {
    use clap::CommandFactory;
    let cli = ktrail::cli::Cli::command();
    let mut seen = 0;
    for sub in cli.get_subcommands() {
        let name = sub.get_name();
        let out = ktrail().args([name, "--help"]).assert().success();
        let help = String::from_utf8(out.get_output().stdout.clone()).unwrap();
        let (_, tail) = help
            .split_once("\nExamples:\n")
            .unwrap_or_else(|| panic!("`ktrail {name} --help` has no Examples section:\n{help}"));
        let examples: Vec<&str> = tail.lines().filter(|l| !l.trim().is_empty()).collect();
        assert!(
            (2..=3).contains(&examples.len()),
            "`ktrail {name} --help`: {examples:?}"
        );
        for e in examples {
            let words: Vec<&str> = e.split_whitespace().collect();
            assert_eq!(words[0], "ktrail", "{name}: {e:?}");
            // The examples that need nothing but the binary run as shown.
            let offline = !words.iter().any(|w| {
                matches!(*w, "-f" | "--cluster" | ">" | "--follow") || w.starts_with("--created")
            }) && words[1] != "query";
            if offline {
                ktrail()
                    .current_dir(crate::util::root())
                    .args(&words[1..])
                    .assert()
                    .success();
            }
        }
        seen += 1;
    }
    assert!(seen >= 9, "{seen} subcommands");
}

#[test]
fn flags_that_change_nothing_are_not_offered() {
    // (command, flag, whether it offers the flag)
    for (cmd, flag, offered) in [
        ("webhooks", "--reads", false),
        ("pods", "--reads", false),
        ("query", "--concurrency", false),
        ("query", "--region", false),
        ("query", "--profile", false),
        ("query", "--endpoint-url", false),
        ("timeline", "--reads", true),
        ("query", "--reads", true),
        ("fetch", "--reads", true),
        ("timeline", "--concurrency", true),
        ("fetch", "--profile", true),
        ("query", "--engine", true),
    ] {
        let help = success(ktrail().args([cmd, "--help"]));
        let help = String::from_utf8(help).unwrap();
        assert_eq!(help.contains(flag), offered, "{cmd} --help: {flag}");
        if !offered {
            usage_error(
                &format!("{cmd} {flag} x --sample eks-fargate"),
                &format!("unexpected argument '{flag}'"),
            );
        }
    }
}

#[test]
fn a_directory_names_each_file_that_is_not_an_audit_log_once() {
    let root = crate::util::root();
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(root.join("README.md"), dir.path().join("README.md")).unwrap();
    std::fs::copy(
        root.join("samples/rules/eks-fargate.yaml"),
        dir.path().join("rules.yaml"),
    )
    .unwrap();
    std::fs::copy(
        root.join("samples/eks-fargate.jsonl"),
        dir.path().join("audit.jsonl"),
    )
    .unwrap();
    let out = ktrail()
        .args(["timeline", "fargate-ns/nginx", "-f"])
        .arg(dir.path())
        .assert()
        .success()
        .stdout(predicate::str::contains("fargate-ns/nginx"));
    let stderr = String::from_utf8(out.get_output().stderr.clone()).unwrap();
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 2, "{stderr}");
    assert!(lines[0].ends_with("README.md: not an audit log (it starts with '#'); skipped"));
    assert!(lines[1].ends_with("rules.yaml: not an audit log (it starts with '#'); skipped"));
    // Named on its own, the same file is read line by line as before.
    ktrail()
        .args(["timeline", "-f"])
        .arg(dir.path().join("README.md"))
        .assert()
        .code(1)
        .stderr(predicate::str::contains("README.md:1: not JSON"));
    let empty = tempfile::tempdir().unwrap();
    ktrail()
        .args(["timeline", "-f"])
        .arg(empty.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("an empty directory"));
}

#[test]
fn a_path_where_a_pod_or_sample_belongs_gets_a_hint() {
    let root = crate::util::root();
    ktrail()
        .current_dir(&root)
        .args(["timeline", "samples/eks-fargate.jsonl"])
        .assert()
        .code(2)
        .stderr(
            "ktrail: POD \"samples/eks-fargate.jsonl\" is a file: did you mean -f samples/eks-fargate.jsonl?\n",
        );
    let abs = root.join("samples/eks-fargate.jsonl").display().to_string();
    for cmd in ["timeline", "pods", "webhooks"] {
        ktrail()
            .args([cmd, &abs, "--sample", "denied"])
            .assert()
            .code(2)
            .stderr(predicate::str::contains(format!("did you mean -f {abs}?")));
    }
    ktrail()
        .args(["timeline", "-f", "eks-fargate"])
        .assert()
        .code(2)
        .stderr("ktrail: eks-fargate: no such file; did you mean --sample eks-fargate?\n");
}

/// Runs ktrail and returns (exit code, standard output, standard error).
fn run(args: &[&str]) -> (i32, String, String) {
    let out = ktrail().args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn no_match_names_the_nearest_pods() {
    let (code, out, err) = run(&words("timeline fargate-ns/ngnix --sample eks-fargate"));
    assert_eq!((code, out.as_str()), (1, ""));
    assert_eq!(
        err,
        "ktrail: no pod matched fargate-ns/ngnix\nktrail: nearest pod names: fargate-ns/nginx\n"
    );
    exits_saying(
        1,
        "timeline ngnix --sample eks-fargate",
        "ktrail: nearest pod names: default/nginx, fargate-ns/nginx\n",
    );
    // A prefix of generated names.
    let both = "storefront/frontend-5d9c7b8f6-m4xqz, storefront/frontend-5d9c7b8f6-w7hkt";
    exits_saying(
        1,
        "timeline storefront/frontend --sample eviction",
        &format!("nearest pod names: {both}"),
    );
}

#[test]
fn no_match_names_the_namespaces_that_hold_the_name() {
    let (code, out, err) = run(&words("timeline wrong-ns/nginx --sample eks-fargate"));
    assert_eq!((code, out.as_str()), (1, ""));
    assert_eq!(
        err,
        "ktrail: no pod matched wrong-ns/nginx\nktrail: pods named nginx are in namespaces default, fargate-ns\n"
    );
    exits_saying(
        1,
        "timeline default/web-0 --sample statefulset-recreate",
        "a pod named web-0 is in namespace db: db/web-0",
    );
    exits_saying(
        1,
        "pods -n fargate --sample eks-fargate",
        "namespace fargate holds no pod; nearest namespaces with pods: fargate-ns",
    );
}

#[test]
fn a_unique_uid_prefix_selects_its_pod_and_an_ambiguous_one_lists_them() {
    let (code, out, _) = run(&words(
        "timeline --uid 2e004861 --sample eks-fargate -o json",
    ));
    assert_eq!(code, 0);
    let report: Value = serde_json::from_str(&out).unwrap();
    let pods = report["pods"].as_array().unwrap();
    assert_eq!(pods.len(), 1);
    assert_eq!(pods[0]["uid"], "2e004861-21f4-4c9f-be77-29db01bcd89c");
    assert_eq!(pods[0]["namespace"], "fargate-ns");
    // The whole uid still selects exactly.
    let (code, out2, _) = run(&words(
        "timeline --uid 2e004861-21f4-4c9f-be77-29db01bcd89c --sample eks-fargate -o json",
    ));
    assert_eq!((code, &out2), (0, &out));
    let (code, out, err) = run(&words("pods --uid 9 --sample denied --sample failed-open"));
    assert_eq!((code, out.as_str()), (2, ""));
    assert_eq!(
        err,
        "ktrail: --uid 9 matches 2 pods: 9c94603f-7a72-460a-8b51-ed10be90ef96 (payments/ledger-migrate), 9dd9acfb-8cf0-4a0d-99e8-71ea61e1cbf4 (sandbox/scratch); give more of it\n"
    );
    // CloudWatch Logs is searched by the whole uid; the refusal says where a prefix works.
    usage_error(
        "query --uid 2e004861",
        "a prefix is enough with files and samples",
    );
    // A prefix that names a pod the rest of the selection leaves out.
    let (code, _, err) = run(&words(
        "timeline default/nginx --uid 2e004861 --sample eks-fargate",
    ));
    assert_eq!(code, 1);
    assert!(
        err.contains(
            "uids starting with 2e004861: 2e004861-21f4-4c9f-be77-29db01bcd89c (fargate-ns/nginx)"
        ),
        "{err}"
    );
}

#[test]
fn a_window_that_leaves_out_everything_names_the_range_there_is() {
    let (code, out, err) = run(&words("timeline --since 2h --sample eks-fargate"));
    assert_eq!((code, out.as_str()), (1, ""));
    assert!(err.starts_with("ktrail: no pod matched since "), "{err}");
    assert!(
        err.contains("ktrail: the input's pod events run from 2022-09-20T20:17:17.328703Z to 2022-09-20T20:18:23.041304Z, outside the window (since "),
        "{err}"
    );
    let (code, _, err) = run(&words(
        "timeline default/nginx --until 2022-09-20T20:00:00Z --sample eks-fargate",
    ));
    assert_eq!(code, 1);
    assert!(
        err.contains(
            "ktrail: the events of default/nginx run from 2022-09-20T20:17:19.622950Z to "
        ),
        "{err}"
    );
    assert!(
        err.contains("outside the window (until 2022-09-20T20:00:00.000000Z)"),
        "{err}"
    );
}

#[test]
fn views_with_a_pod_that_matches_nothing_exit_1_with_the_same_help() {
    for cmd in ["webhooks", "pods"] {
        let (code, out, err) = run(&[cmd, "ngnix", "--sample", "eks-fargate"]);
        assert_eq!(code, 1, "{cmd}: {out}{err}");
        assert_eq!(
            err,
            "ktrail: no pod matched ngnix (in any namespace)\nktrail: nearest pod names: default/nginx, fargate-ns/nginx\n",
            "{cmd}"
        );
        // No row of a webhook that was never called for the pod asked about.
        assert!(!out.contains("amazonaws.com"), "{cmd}: {out}");
    }
    // Without a POD, the webhooks the configurations install are still the answer.
    let (code, out, _) = run(&["webhooks", "--sample", "eks-fargate"]);
    assert_eq!(code, 0);
    assert!(out.contains("0500-amazon-eks-fargate-mutation.amazonaws.com"));
}

#[test]
fn standard_input_is_not_read_twice_for_suggestions() {
    let log = std::fs::read(crate::util::root().join("samples/eks-fargate.jsonl")).unwrap();
    ktrail()
        .args(["timeline", "ngnix", "-f", "-"])
        .write_stdin(log)
        .assert()
        .code(1)
        .stderr(
            "ktrail: no pod matched ngnix (in any namespace)\nktrail: standard input cannot be read again, so no names are suggested: save it to a file and give -f FILE to get them\n",
        );
}

#[test]
fn a_pipe_is_not_read_twice_for_suggestions() {
    let bin = assert_cmd::cargo::cargo_bin("ktrail");
    let script = format!(
        "{} timeline ngnix -f <(cat samples/eks-fargate.jsonl)",
        bin.display()
    );
    let out = std::process::Command::new("bash")
        .current_dir(crate::util::root())
        .args(["-c", &script])
        .output()
        .expect("bash runs");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("cannot be read again, so no names are suggested"),
        "{err}"
    );
}

#[test]
fn a_pod_that_is_also_a_path_is_read_as_a_pod_and_the_help_names_the_path() {
    ktrail()
        .current_dir(crate::util::root())
        .args(["timeline", "samples", "--sample", "eks-fargate"])
        .assert()
        .code(1)
        .stderr(predicate::str::ends_with(
            "ktrail: POD \"samples\" is also a path here: did you mean -f samples?\n",
        ));
}
