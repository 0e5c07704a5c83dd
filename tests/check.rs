//! `ktrail check` as CI meets it: exit codes, the rules over the committed samples, violations
//! named exactly, malformed rules files, and reports that parse.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use predicates::prelude::*;
use quick_xml::events::Event;
use serde_json::{json, Value};

use crate::util::ktrail;

use crate::util::root;

fn fixture(name: &str) -> String {
    root()
        .join("tests/fixtures/check")
        .join(name)
        .to_str()
        .unwrap()
        .to_owned()
}

/// Runs `ktrail check` and returns (exit code, stdout, stderr).
fn check(args: &[&str]) -> (i32, String, String) {
    crate::util::run(ktrail().arg("check").args(args))
}

/// A temporary directory holding the rules file `r.yaml` of `text`; the directory (removed
/// when dropped) and the file's path.
fn rules_file(text: &str) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let rules = write(dir.path(), "r.yaml", text);
    (dir, rules)
}

/// Runs `ktrail check`, asserts its exit code and how its report begins; (stdout, stderr).
fn check_exits(args: &[&str], code: i32, report_start: &str) -> (String, String) {
    let (got, out, err) = check(args);
    assert_eq!(got, code, "{out}{err}");
    assert!(out.starts_with(report_start), "{out}");
    (out, err)
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.to_str().unwrap().to_owned()
}

// ------------------------------------------------------------------------------------------------
// A small recording written here: two pods and a denied create, with hostile text in the denial.

fn ev(id: &str, verb: &str, secs: u32, user: &str, object: Value) -> Value {
    let t = format!("2024-05-01T10:{:02}:{:02}.000000Z", secs / 60, secs % 60);
    json!({
        "kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": "RequestResponse",
        "auditID": id, "stage": "ResponseComplete", "verb": verb, "user": {"username": user},
        "objectRef": object, "responseStatus": {"metadata": {}, "code": 201},
        "requestReceivedTimestamp": t, "stageTimestamp": t,
    })
}

fn pod(ns: &str, name: &str, uid: Option<&str>) -> Value {
    let mut meta = json!({"name": name, "namespace": ns});
    if let Some(u) = uid {
        meta["uid"] = json!(u);
    }
    json!({"kind": "Pod", "apiVersion": "v1", "metadata": meta,
           "spec": {"containers": [{"name": "c", "image": "nginx"}], "schedulerName": "default-scheduler"}})
}

/// Control characters, a noncharacter, markup and a CDATA end in the text CI will display.
const HOSTILE: &str = "denied \u{0}\u{1b}[2J\u{7}\u{b}\u{fffe} <script>&amp; ]]> \"quoted\" it's";

fn recording() -> String {
    let obj = |ns: &str, name: &str, sub: Option<&str>| {
        let mut o = json!({"resource": "pods", "namespace": ns, "name": name, "apiVersion": "v1"});
        if let Some(s) = sub {
            o["subresource"] = json!(s);
        }
        o
    };
    let mut lines = Vec::new();
    for (i, (ns, name, uid)) in [("apps", "web-1", "u-1"), ("apps", "web-2", "u-2")]
        .into_iter()
        .enumerate()
    {
        let t = 10 * i as u32;
        let mut c = ev(
            &format!("create-{i}"),
            "create",
            t,
            "alice",
            obj(ns, name, None),
        );
        c["requestObject"] = pod(ns, name, None);
        c["responseObject"] = pod(ns, name, Some(uid));
        c["annotations"] = json!({
            "mutation.webhook.admission.k8s.io/round_0_index_0":
                r#"{"configuration":"cfg","webhook":"labeler.example.com","mutated":true}"#,
            "patch.webhook.admission.k8s.io/round_0_index_0":
                r#"{"configuration":"cfg","webhook":"labeler.example.com","patch":[{"op":"add","path":"/metadata/labels","value":{"a":"b"}}],"patchType":"JSONPatch"}"#,
        });
        c["responseObject"]["metadata"]["labels"] = json!({"a": "b"});
        lines.push(c);
        let mut b = ev(
            &format!("bind-{i}"),
            "create",
            t + 1 + 100 * i as u32,
            "system:kube-scheduler",
            obj(ns, name, Some("binding")),
        );
        b["requestObject"] = json!({"kind": "Binding", "metadata": {"name": name, "namespace": ns, "uid": uid}, "target": {"kind": "Node", "name": format!("node-{i}")}});
        lines.push(b);
    }
    let mut d = ev(
        "denied-1",
        "create",
        30,
        "mallory",
        obj("apps", "web-3", None),
    );
    d["responseStatus"] = json!({"metadata": {}, "status": "Failure", "code": 403,
        "message": format!("admission webhook \"policy.example.com\" denied the request: {HOSTILE}")});
    d["requestObject"] = pod("apps", "web-3", None);
    lines.push(d);
    lines.iter().map(|l| l.to_string() + "\n").collect()
}

const SMALL_RULES: &str = r#"
rules:
  - name: apps bind fast
    pods: {namespace: apps}
    expect:
      boundWithin: 30s
      mutatedBy: [{webhook: cfg, paths: [/metadata/labels]}]
  - name: "no denials <here> & \"there\""
    forbid: {denied: true}
  - name: nothing in kube-system
    pods: {namespace: kube-system}
    forbid: {failedOpen: true}
"#;

/// What a JUnit document holds, read with an XML parser; panics when it is not well-formed.
struct Junit {
    suites: Vec<String>,
    /// (suite, testcase) of every testcase.
    cases: Vec<(String, String)>,
    /// (suite, testcase, failure text) of every failure.
    failures: Vec<(String, String, String)>,
    skipped: usize,
}

fn parse_junit(xml: &str) -> Junit {
    // XML 1.0 Char: #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF].
    for c in xml.chars() {
        let ok = matches!(c, '\t' | '\n' | '\r')
            || ('\u{20}'..='\u{D7FF}').contains(&c)
            || ('\u{E000}'..='\u{FFFD}').contains(&c)
            || c >= '\u{10000}';
        assert!(ok, "character U+{:04X} is not allowed in XML 1.0", c as u32);
    }
    let mut r = quick_xml::Reader::from_str(xml);
    r.config_mut().check_end_names = true;
    let mut j = Junit {
        suites: Vec::new(),
        cases: Vec::new(),
        failures: Vec::new(),
        skipped: 0,
    };
    let mut stack: Vec<String> = Vec::new();
    let (mut suite, mut case) = (String::new(), String::new());
    let mut in_failure = false;
    loop {
        let e = r
            .read_event()
            .unwrap_or_else(|e| panic!("not XML: {e}\n{xml}"));
        let (start, empty) = match &e {
            Event::Start(s) => (Some(s.clone()), false),
            Event::Empty(s) => (Some(s.clone()), true),
            _ => (None, false),
        };
        if let Some(s) = start {
            let tag = String::from_utf8(s.name().as_ref().to_vec()).unwrap();
            let mut name = String::new();
            for a in s.attributes() {
                let a = a.unwrap();
                let v = a.unescape_value().unwrap().into_owned();
                if a.key.as_ref() == b"name" {
                    name = v;
                }
            }
            match tag.as_str() {
                "testsuite" => {
                    suite = name;
                    j.suites.push(suite.clone());
                }
                "testcase" => {
                    assert_eq!(stack.last().map(String::as_str), Some("testsuite"));
                    case = name;
                    j.cases.push((suite.clone(), case.clone()));
                }
                "failure" => {
                    assert_eq!(stack.last().map(String::as_str), Some("testcase"));
                    j.failures
                        .push((suite.clone(), case.clone(), String::new()));
                    in_failure = !empty;
                }
                "skipped" => j.skipped += 1,
                _ => {}
            }
            if !empty {
                stack.push(tag);
            }
            continue;
        }
        match e {
            Event::End(_) => {
                in_failure = false;
                stack.pop();
            }
            Event::Text(t) => {
                let text = t.unescape().unwrap().into_owned();
                if in_failure {
                    j.failures.last_mut().unwrap().2.push_str(&text);
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    assert!(stack.is_empty(), "unclosed elements: {stack:?}");
    j
}

/// A temporary directory holding the small recording (`audit.jsonl`) and a rules file `name` of
/// `rules`; the directory (removed when dropped) and the two paths.
fn recording_and_rules(name: &str, rules: &str) -> (tempfile::TempDir, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let log = write(dir.path(), "audit.jsonl", &recording());
    let rules = write(dir.path(), name, rules);
    (dir, log, rules)
}

#[test]
fn a_compliant_recording_exits_0() {
    let (_dir, log, rules) = recording_and_rules("ok.yaml", "rules:\n  - name: web-1 is fine\n    pods: {name: web-1}\n    expect: {boundWithin: 2s, createdBy: alice, node: \"^node-0$\"}\n");
    let (out, _) = check_exits(
        &["--rules", &rules, "-f", &log, "--require-match"],
        0,
        "PASS  web-1 is fine  1 pod\n",
    );
    assert!(
        out.ends_with("check passed: 1 rule holds over 3 pods\n"),
        "{out}"
    );
}

#[test]
fn a_violating_recording_exits_1_and_names_exactly_the_violating_pods() {
    let (_dir, log, rules) = recording_and_rules("rules.yaml", SMALL_RULES);
    let (code, out, err) = check(&["--rules", &rules, "-f", &log]);
    assert_eq!(code, 1, "{out}{err}");
    // web-2 was bound 101 s after its create; web-3 was denied.
    let named: Vec<&str> = out
        .lines()
        .filter_map(|l| l.strip_prefix("  pod:       "))
        .collect();
    assert_eq!(
        named,
        ["apps/web-2 (uid u-2)", "apps/web-3 (denied create)"],
        "{out}"
    );
    assert!(out.contains("  log shows: bound 1m41.000s after creation\n  event:     binding at 2024-05-01T10:01:51.000000Z, auditID bind-1\n"), "{out}");
    assert!(!out.contains('\u{1b}') && !out.contains('\u{0}'), "{out}");
    assert!(
        err.contains("warning: rule \"nothing in kube-system\" matched no pod"),
        "{err}"
    );

    let (code, json, _) = check(&["--rules", &rules, "-f", &log, "-o", "json"]);
    assert_eq!(code, 1);
    let v: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["passed"], false);
    let statuses = crate::util::strs(&v["rules"], "status");
    assert_eq!(statuses, ["fail", "fail", "unmatched"]);
    let denied = &v["rules"][1]["pods"][2];
    assert_eq!(denied["name"], "web-3");
    assert_eq!(denied["denied"], true);
    let found = denied["violations"][0]["found"].as_str().unwrap();
    assert!(
        found.ends_with(HOSTILE),
        "JSON keeps the text as logged: {found:?}"
    );
    assert_eq!(denied["violations"][0]["event"]["auditID"], "denied-1");
}

#[test]
fn junit_parses_and_holds_one_failure_per_violating_pod() {
    let (_dir, log, rules) = recording_and_rules("rules.yaml", SMALL_RULES);
    let (code, xml, _) = check(&["--rules", &rules, "-f", &log, "-o", "junit"]);
    assert_eq!(code, 1);
    let j = parse_junit(&xml);
    assert_eq!(
        j.suites,
        [
            "apps bind fast",
            "no denials <here> & \"there\"",
            "nothing in kube-system"
        ]
    );
    assert_eq!(j.cases.len(), 3 + 3 + 1);
    let failed: Vec<(&str, &str)> = j
        .failures
        .iter()
        .map(|(s, c, _)| (s.as_str(), c.as_str()))
        .collect();
    assert_eq!(
        failed,
        [
            ("apps bind fast", "apps/web-2 (uid u-2)"),
            (
                "no denials <here> & \"there\"",
                "apps/web-3 (denied create)"
            ),
        ]
    );
    assert_eq!(j.skipped, 1);
    let text = &j.failures[1].2;
    assert!(text.contains("check: forbid.denied"), "{text}");
    assert!(
        text.contains("\\u{0}\\u{1b}[2J\\u{7}\\u{b}\\u{fffe} <script>&amp; ]]>"),
        "{text}"
    );
    assert!(
        text.contains("event: create at 2024-05-01T10:00:30.000000Z, auditID denied-1"),
        "{text}"
    );

    // With --require-match the rule that matched nothing is a failure too.
    let (code, xml, _) = check(&[
        "--rules",
        &rules,
        "-f",
        &log,
        "-o",
        "junit",
        "--require-match",
    ]);
    assert_eq!(code, 1);
    let j = parse_junit(&xml);
    assert_eq!(j.failures.len(), 3);
    assert_eq!(j.skipped, 0);
}

#[test]
fn markdown_is_a_pull_request_comment() {
    let (_dir, log, rules) = recording_and_rules("rules.yaml", SMALL_RULES);
    let (code, md, _) = check(&["--rules", &rules, "-f", &log, "-o", "markdown"]);
    assert_eq!(code, 1);
    assert!(md.starts_with("### ktrail check failed\n"), "{md}");
    assert!(
        md.contains("| no denials &lt;here&gt; &amp; \"there\" | ❌ fail | 3 | 1 |"),
        "{md}"
    );
    assert!(!md.contains("<script>") && !md.contains('\u{1b}'), "{md}");
}

#[test]
fn require_match_turns_an_unmatched_rule_into_a_failure() {
    let (_dir, log, rules) = recording_and_rules(
        "r.yaml",
        "rules:\n  - name: ghost\n    pods: {namespace: nowhere}\n    expect: {scheduler: x}\n",
    );
    // (extra arguments, exit code, how the report begins, what stderr says)
    let cases: [(&[&str], i32, &str, &str); 2] = [
        (
            &[],
            0,
            "WARN  ghost  no pod matched\n",
            "ktrail: warning: rule \"ghost\" matched no pod",
        ),
        (
            &["--require-match"],
            1,
            "FAIL  ghost  no pod matched\n",
            "ktrail: error: rule \"ghost\" matched no pod",
        ),
    ];
    for (extra, code, report_start, said) in cases {
        let mut args = vec!["--rules", &rules, "-f", &log];
        args.extend(extra);
        let (_, err) = check_exits(&args, code, report_start);
        assert!(err.contains(said), "{err}");
    }
}

#[test]
fn malformed_rules_files_exit_2_naming_file_line_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let log = write(dir.path(), "audit.jsonl", &recording());
    for (text, wanted) in [
        (
            "rules:\n  - name: r\n    expect:\n      schedular: fargate-scheduler\n",
            ":4:7: rules[0].expect: unknown field `schedular`",
        ),
        (
            "rules:\n  - name: r\n    forbid:\n      mutations:\n        - paths: [\"/spec/{a,b\"]\n",
            ":5:19: rules[0].forbid.mutations[0].paths[0]: invalid glob",
        ),
        (
            "rules:\n  - name: r\n    expect:\n      node: \"(\"\n",
            ":4:13: rules[0].expect.node: invalid regex",
        ),
        (
            "rules:\n  - name: r\n    expect:\n      boundWithin: 2 minutes\n",
            ":4:20: rules[0].expect.boundWithin: invalid duration \"2 minutes\"",
        ),
        (
            "rules:\n  - name: r\n    pods: {namespace: apps}\n",
            ":2:5: rules[0]: rule \"r\" checks nothing",
        ),
        ("rules:\n  - name: [r\n", ":"),
    ] {
        let rules = write(dir.path(), "bad.yaml", text);
        let (code, out, err) = check(&["--rules", &rules, "-f", &log]);
        assert_eq!(code, 2, "{text}: {err}");
        assert!(out.is_empty(), "no report from a bad rules file: {out}");
        assert!(err.starts_with(&format!("ktrail: {rules}{wanted}")), "{text}: {err}");
    }
}

/// `ktrail check … | head` under `pipefail`: the reader stops, the verdict still decides the exit
/// code (a broken rule is 1, not the 0 of a closed pipe), without a panic.
#[test]
fn a_reader_that_stops_early_does_not_hide_a_broken_rule() {
    use std::process::{Command, Stdio};
    // Enough failing rules that the report outgrows a pipe's buffer: the writes past it meet the
    // closed pipe whenever the reader closes it.
    let mut text = String::from("rules:\n");
    for i in 0..300 {
        text.push_str(&format!(
            "  - name: rule {i}\n    pods: {{namespace: \"*\"}}\n    expect:\n      scheduler: no-such-scheduler\n"
        ));
    }
    let (_dir, rules) = rules_file(&text);
    for format in ["table", "json", "junit", "markdown"] {
        let (code, out, _) = check(&["--rules", &rules, "--sample", "eks-fargate", "-o", format]);
        assert_eq!(code, 1, "{format}");
        assert!(out.len() > 1 << 17, "{format}: {} bytes", out.len());
        let mut child = Command::new(assert_cmd::cargo::cargo_bin("ktrail"))
            .args([
                "check",
                "--rules",
                &rules,
                "--sample",
                "eks-fargate",
                "-o",
                format,
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{format}: {err}");
        assert!(!err.contains("panicked"), "{format}: {err}");
    }
}

#[test]
fn usage_and_input_errors_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let rules = write(dir.path(), "r.yaml", SMALL_RULES);
    let (code, _, err) = check(&["-f", "x"]);
    assert_eq!(code, 2, "--rules is required: {err}");
    assert!(err.contains("--rules"), "{err}");
    let (code, _, err) = check(&["--rules", "/no/such/rules.yaml", "-f", "x"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("cannot read the rules file /no/such/rules.yaml"),
        "{err}"
    );
    let (code, _, err) = check(&["--rules", &rules, "-f", "/no/such/audit.log"]);
    assert_eq!(code, 2);
    assert!(err.contains("/no/such/audit.log"), "{err}");
    let (code, _, err) = check(&["--rules", &rules]);
    assert_eq!(code, 2);
    assert!(err.contains("no input"), "{err}");
    let (code, _, _) = check(&["--rules", &rules, "-f", "x", "-o", "xml"]);
    assert_eq!(code, 2);
    // A bad line is skipped with a diagnostic; with --strict it stops the check.
    let log = write(
        dir.path(),
        "bad.jsonl",
        &format!("{}not json\n", recording()),
    );
    let (code, _, err) = check(&["--rules", &rules, "-f", &log]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains(":6: not JSON"), "{err}");
    let (code, _, _) = check(&["--rules", &rules, "-f", &log, "--strict"]);
    assert_eq!(code, 2);
    ktrail()
        .args(["check", "--help"])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("--require-match").and(predicate::str::contains("--cluster")),
        );
}

// ------------------------------------------------------------------------------------------------
// The project's samples.

fn sample(name: &str) -> String {
    root()
        .join("samples")
        .join(format!("{name}.jsonl"))
        .to_str()
        .unwrap()
        .to_owned()
}

#[test]
fn every_committed_rules_file_holds_over_its_sample() {
    let dir = root().join("samples/rules");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    assert!(files.len() >= 9, "rules files missing: {files:?}");
    for rules in &files {
        let name = rules.file_stem().unwrap().to_str().unwrap();
        let log = sample(name);
        assert!(
            Path::new(&log).exists(),
            "{} has no sample {log}",
            rules.display()
        );
        // The built-in sample, as `ktrail check --sample NAME` reads it.
        let (code, out, err) = check(&[
            "--rules",
            rules.to_str().unwrap(),
            "--sample",
            name,
            "--require-match",
            "--strict",
        ]);
        assert_eq!(code, 0, "{name}:\n{out}{err}");
        assert!(err.is_empty(), "{name}: {err}");
        assert!(
            out.lines()
                .take_while(|l| !l.is_empty())
                .all(|l| l.starts_with("PASS  ")),
            "{name}:\n{out}"
        );
    }
}

/// One violating pod: (rule, pod, the checks it breaks).
type ExpectedRow = (&'static str, &'static str, Vec<&'static str>);

/// Per sample, the violations its rules file under `tests/fixtures/check/violating/` must report:
/// (rule, pod, checks broken). Read off the facts reviewed in `samples/README.md`.
fn expected_violations() -> Vec<(&'static str, Vec<ExpectedRow>)> {
    const FARGATE: &str = "fargate-ns/nginx (uid 2e004861-21f4-4c9f-be77-29db01bcd89c)";
    const DEFAULT: &str = "default/nginx (uid f79aeb48-c28e-4a70-88af-2ed03e1a2635)";
    const CART: &str = "shop/cart-6d8f9c7b5d-x7k2p (uid 937cc92e-9bcf-49f9-a6a3-75588ff58b0e)";
    const DEBUG: &str = "payments/debug (denied create)";
    const LEDGER_DENIED: &str = "payments/ledger-migrate (denied create)";
    const LEDGER: &str = "payments/ledger-migrate (uid 9c94603f-7a72-460a-8b51-ed10be90ef96)";
    vec![
        (
            "eks-fargate",
            vec![
                ("every pod runs on Fargate", DEFAULT, vec!["expect.scheduler", "expect.node"]),
                ("scheduling is fast everywhere", FARGATE, vec!["expect.boundWithin"]),
                ("nothing labels or annotates pods", DEFAULT, vec!["forbid.builtinChanges"]),
                (
                    "nothing labels or annotates pods",
                    FARGATE,
                    vec!["forbid.mutations", "forbid.builtinChanges"],
                ),
            ],
        ),
        (
            "istio-irsa",
            vec![
                ("only istio adds containers", CART, vec!["forbid.mutations", "forbid.builtinChanges"]),
                ("cart is Ready within 5s", CART, vec!["expect.readyWithin"]),
            ],
        ),
        (
            "failed-open",
            vec![
                (
                    "no webhook fails open",
                    "reports/nightly-rollup-28604280-7tq5v (uid d2429e97-a907-45ee-b6eb-12de0b3d6c06)",
                    vec!["forbid.failedOpen", "forbid.failedOpen"],
                ),
                (
                    "kyverno labels the sandbox",
                    "sandbox/scratch (uid 9dd9acfb-8cf0-4a0d-99e8-71ea61e1cbf4)",
                    vec!["expect.mutatedBy"],
                ),
            ],
        ),
        (
            "denied",
            vec![
                ("no create is denied", DEBUG, vec!["forbid.denied"]),
                ("no create is denied", LEDGER_DENIED, vec!["forbid.denied"]),
                ("bob creates the payments pods", DEBUG, vec!["expect.createdBy"]),
                ("bob creates the payments pods", LEDGER_DENIED, vec!["expect.createdBy"]),
                ("bob creates the payments pods", LEDGER, vec!["expect.createdBy"]),
            ],
        ),
        (
            "statefulset-recreate",
            vec![(
                "web-0 is Ready within 35s",
                "db/web-0 (uid eab3d387-8e8a-40ef-b02d-f61d51446067)",
                vec!["expect.readyWithin"],
            )],
        ),
        (
            "eviction",
            vec![(
                "the ReplicaSet controller creates every pod",
                "ops/toolbox (uid not in the log)",
                vec!["expect.createdBy"],
            )],
        ),
        (
            "reinvocation",
            vec![(
                "gatekeeper never mutates",
                "payments/payments-api-6b8f7d9c4-k2xvn (uid 96748aa8-3a7b-4bb7-9e99-3c4f018eff26)",
                vec!["expect.notMutatedBy", "expect.notMutatedBy"],
            )],
        ),
        (
            "replicaset-generatename",
            vec![
                (
                    "built-in admission leaves resources alone",
                    "catalog/catalog-api-7b9d6c5f4-2kqzm (uid 964d139d-d424-4c33-b5cf-b949f971488e)",
                    vec!["forbid.builtinChanges"],
                ),
                (
                    "built-in admission leaves resources alone",
                    "catalog/catalog-api-7b9d6c5f4-9wlr8 (uid bb868351-10ae-414f-bd70-037f4770c8ca)",
                    vec!["forbid.builtinChanges"],
                ),
            ],
        ),
        (
            "graceful-delete",
            vec![(
                "report-generator is Ready within 2s",
                "team-a/report-generator (uid e4838dc7-9760-45a4-bc06-f31b54d53a3d)",
                vec!["expect.readyWithin"],
            )],
        ),
        (
            "gke-webhook",
            vec![
                (
                    "no webhook touches the readiness gates",
                    "shop/web (uid 5b7e3c1a-9f42-4d8e-b6a1-2c3d4e5f6a7b)",
                    vec!["forbid.mutations"],
                ),
                (
                    "web is Ready within 5s",
                    "shop/web (uid 5b7e3c1a-9f42-4d8e-b6a1-2c3d4e5f6a7b)",
                    vec!["expect.readyWithin"],
                ),
            ],
        ),
        (
            "aks-policy",
            vec![
                ("no create is denied", "orders/web (denied create)", vec!["forbid.denied"]),
                (
                    "only Gatekeeper touches containers",
                    "orders/api (uid c3d4e5f6-a7b8-4c9d-8e0f-1a2b3c4d5e6f)",
                    vec!["forbid.mutations"],
                ),
            ],
        ),
    ]
}

/// A pod entry of the JSON report as the table and JUnit name it.
fn title(p: &Value) -> String {
    let t = format!(
        "{}/{}",
        p["namespace"].as_str().unwrap(),
        p["name"].as_str().unwrap()
    );
    match (p["uid"].as_str(), p["denied"].as_bool().unwrap()) {
        (Some(u), _) => format!("{t} (uid {u})"),
        (None, true) => format!("{t} (denied create)"),
        (None, false) => format!("{t} (uid not in the log)"),
    }
}

#[test]
fn violating_rules_exit_1_and_name_exactly_the_violating_pods() {
    for (name, expected) in expected_violations() {
        let rules = &fixture(&format!("violating/{name}.yaml"));
        let log = sample(name);
        let (code, json, err) = check(&[
            "--rules",
            rules,
            "-f",
            &log,
            "-o",
            "json",
            "--require-match",
        ]);
        assert_eq!(code, 1, "{name}: {err}");
        let v: Value = serde_json::from_str(&json).unwrap();
        let mut got: Vec<(String, String, Vec<String>)> = Vec::new();
        for r in v["rules"].as_array().unwrap() {
            for p in r["pods"].as_array().unwrap() {
                let checks: Vec<String> = p["violations"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|x| x["check"].as_str().unwrap().to_owned())
                    .collect();
                if !checks.is_empty() {
                    got.push((r["name"].as_str().unwrap().to_owned(), title(p), checks));
                }
                for x in p["violations"].as_array().unwrap() {
                    let ev = &x["event"];
                    assert!(
                        ev["time"].is_string() && ev["auditID"].is_string(),
                        "{name}: {x}"
                    );
                }
            }
        }
        let want: Vec<(String, String, Vec<String>)> = expected
            .iter()
            .map(|(r, p, c)| {
                (
                    r.to_string(),
                    p.to_string(),
                    c.iter().map(|c| c.to_string()).collect(),
                )
            })
            .collect();
        assert_eq!(got, want, "{name}");

        // The table names the same pods, and no other.
        let (code, table, _) = check(&["--rules", rules, "-f", &log]);
        assert_eq!(code, 1);
        let named: BTreeSet<&str> = table
            .lines()
            .filter_map(|l| l.strip_prefix("  pod:       "))
            .collect();
        let wanted: BTreeSet<&str> = expected.iter().map(|(_, p, _)| *p).collect();
        assert_eq!(named, wanted, "{name}:\n{table}");

        // JUnit: one failure per violating (rule, pod).
        let (code, xml, _) = check(&["--rules", rules, "-f", &log, "-o", "junit"]);
        assert_eq!(code, 1);
        let j = parse_junit(&xml);
        let failed: Vec<(String, String)> = j
            .failures
            .iter()
            .map(|(s, c, _)| (s.clone(), c.clone()))
            .collect();
        let want: Vec<(String, String)> = expected
            .iter()
            .map(|(r, p, _)| (r.to_string(), p.to_string()))
            .collect();
        assert_eq!(failed, want, "{name}");
        let cases: usize = v["rules"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["pods"].as_array().unwrap().len())
            .sum();
        assert_eq!(j.cases.len(), cases, "{name}: a testcase per matched pod");
    }
}

/// A real capture from a public project, when the shared folder is next to the project.
#[test]
fn realworld_capture() {
    let falco = root().join("../shared/realworld/falco_k8s_audit_minikube_2018.jsonl");
    if !falco.exists() {
        eprintln!("skipped: {} is absent", falco.display());
        return;
    }
    let (_dir, rules) = rules_file(
        r#"
rules:
  - name: deployments create their pods, and admission sets no security context
    pods: {name: "nginx-deployment-*"}
    expect:
      createdBy: "system:serviceaccount:kube-system:replicaset-controller"
    forbid:
      builtinChanges: ["/spec/containers/*/securityContext*", "/spec/securityContext*"]
"#,
    );
    let falco = falco.to_str().unwrap();
    let (code, json, err) = check(&["--rules", &rules, "-f", falco, "-o", "json", "--strict"]);
    assert_eq!(code, 1, "{err}");
    let v: Value = serde_json::from_str(&json).unwrap();
    let pods = v["rules"][0]["pods"].as_array().unwrap();
    assert_eq!(pods.len(), 10);
    let bad: Vec<(String, Vec<&str>)> = pods
        .iter()
        .filter(|p| !p["violations"].as_array().unwrap().is_empty())
        .map(|p| {
            let checks = crate::util::strs(&p["violations"], "check");
            (title(p), checks)
        })
        .collect();
    assert_eq!(
        bad,
        [
            // Built-in admission (a PodSecurityPolicy) set a container's securityContext.
            (
                "default/nginx-deployment-544b59f8b8-ffkxm (uid d40dfcd7-d87e-11e8-a473-080027728ac4)".to_owned(),
                vec!["forbid.builtinChanges"]
            ),
            // Only exec'd into: its create is not in the capture.
            (
                "default/nginx-deployment-7998647bdf-phvq7 (uid not in the log)".to_owned(),
                vec!["expect.createdBy"]
            ),
        ]
    );
    let (_, xml, _) = check(&["--rules", &rules, "-f", falco, "-o", "junit"]);
    let j = parse_junit(&xml);
    assert_eq!((j.cases.len(), j.failures.len()), (10, 2));
}

/// `check --cluster` against the CloudWatch Logs emulator that `scripts/test.sh` starts and loads:
/// the same verdict as `check -f` over the same events. Without KTRAIL_TEST_MOTO_PORT it returns.
#[test]
fn cloudwatch_source_gives_the_verdict_of_the_same_events_offline() {
    let Some(m) = crate::util::moto() else { return };
    let (_dir, rules) = rules_file(
        r#"
rules:
  - name: fargate-ns runs on Fargate
    pods: {namespace: fargate-ns}
    expect: {scheduler: fargate-scheduler, node: "^fargate-ip-", boundWithin: 5m}
  - name: no create is denied, no webhook fails open
    forbid: {denied: true, failedOpen: true}
  - name: default pods bind fast
    pods: {namespace: default}
    expect: {boundWithin: 10s}
"#,
    );
    let run = |source: &[&str]| {
        let out = m
            .ktrail()
            .args(["check", "--rules", &rules, "-o", "json"])
            .args(m.window())
            .args(source)
            .output()
            .unwrap();
        let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!("{source:?}: {e}: {}", String::from_utf8_lossy(&out.stderr))
        });
        (out.status.code(), v)
    };
    let (code, offline) = run(&["-f", m.file()]);
    assert_eq!(
        code,
        Some(1),
        "the emulator's log holds a denied create: {offline}"
    );
    assert!(
        offline["summary"]["podsChecked"].as_u64().unwrap() > 3,
        "{offline}"
    );
    for engine in ["insights", "filter"] {
        let cloud = run(&["--cluster", "ironman-2022", "--engine", engine]);
        assert_eq!(cloud, (code, offline.clone()), "{engine}");
    }
}

// ------------------------------------------------------------------------------------------------
// A generated corpus: its answer (what each pod incarnation shows) is known from how it was
// written, so which pods break a rule can be worked out here without ktrail's evaluation.

use ktrail_corpus::{Expected, ExpectedCall, ExpectedPod, Spec};

const RS: &str = "system:serviceaccount:kube-system:replicaset-controller";

fn is_call(c: &ExpectedCall, name: &str) -> bool {
    c.webhook == name || c.configuration == name
}

fn seconds(from: &Option<String>, to: &Option<String>) -> Option<f64> {
    let t = |s: &Option<String>| {
        chrono::DateTime::parse_from_rfc3339(s.as_deref()?)
            .ok()
            .map(|t| t.timestamp_micros())
    };
    Some((t(to)? - t(from)?) as f64 / 1e6)
}

/// The checks a pod breaks under one rule, worked out from its expected facts.
type Broken<'a> = dyn Fn(&ExpectedPod) -> Vec<&'static str> + 'a;

/// A (rule, pod, checks broken) row, the pod as (namespace, name, uid, denied).
type Row = (String, (String, String, Option<String>, bool), Vec<String>);

/// The rules of the corpus test, chosen from what the corpus holds, and the violations each pod
/// must show under the documented semantics.
fn corpus_rules(exp: &Expected) -> (String, Vec<Row>) {
    // The webhook that mutated most pods, and the path it patched on most of them.
    let mut hooks: Vec<_> = exp.webhooks.iter().filter(|w| w.mutated_pods > 0).collect();
    hooks.sort_by_key(|w| std::cmp::Reverse(w.mutated_pods));
    assert!(
        hooks.len() >= 3,
        "the corpus has few mutating webhooks: {hooks:?}"
    );
    let w = hooks[0];
    let (path, _) = w.paths.iter().max_by_key(|(_, n)| **n).unwrap();
    // Another mutating webhook, named by its configuration.
    let other = hooks[1].configuration.clone();
    // The webhook that patches containers on most pods may; the others may not.
    let containers = exp
        .webhooks
        .iter()
        .max_by_key(|w| {
            w.paths
                .iter()
                .filter(|(p, _)| p.starts_with("/spec/containers"))
                .map(|(_, n)| *n)
                .sum::<u64>()
        })
        .unwrap()
        .configuration
        .clone();
    let rules = format!(
        r#"rules:
  - name: default scheduler
    expect: {{scheduler: default-scheduler}}
  - name: EC2 nodes
    expect: {{node: "^ip-"}}
  - name: the ReplicaSet controller creates
    expect: {{createdBy: "{RS}"}}
  - name: the busiest webhook patches its usual path
    expect:
      mutatedBy: [{{webhook: "{}", paths: ["{path}"]}}]
  - name: another webhook never mutates
    expect: {{notMutatedBy: ["{other}"]}}
  - name: fast
    expect: {{boundWithin: 2s, readyWithin: 10s}}
  - name: prohibitions
    forbid:
      denied: true
      failedOpen: true
      builtinChanges: ["/spec/tolerations*"]
      mutations:
        - paths: ["/spec/containers*"]
          unlessWebhook: ["{containers}"]
"#,
        w.webhook
    );
    let mut rows = Vec::new();
    let per_rule: [(&str, &Broken); 7] = [
        ("default scheduler", &|p| {
            let bad = !p.denied && p.scheduler.as_deref() != Some("default-scheduler");
            if bad {
                vec!["expect.scheduler"]
            } else {
                vec![]
            }
        }),
        ("EC2 nodes", &|p| {
            let bad = !p.denied && !p.node.as_deref().is_some_and(|n| n.starts_with("ip-"));
            if bad {
                vec!["expect.node"]
            } else {
                vec![]
            }
        }),
        ("the ReplicaSet controller creates", &|p| {
            if p.created_by.as_deref() != Some(RS) {
                vec!["expect.createdBy"]
            } else {
                vec![]
            }
        }),
        ("the busiest webhook patches its usual path", &|p| {
            if p.denied {
                return vec![];
            }
            let calls: Vec<&ExpectedCall> = p
                .webhooks
                .iter()
                .filter(|c| is_call(c, &w.webhook))
                .collect();
            let shown = p.created_at.is_some()
                && calls.iter().any(|c| c.mutated)
                && calls
                    .iter()
                    .filter_map(|c| c.paths.as_ref())
                    .flatten()
                    .any(|q| q == path);
            if shown {
                vec![]
            } else {
                vec!["expect.mutatedBy"]
            }
        }),
        ("another webhook never mutates", &|p| {
            p.webhooks
                .iter()
                .filter(|c| c.mutated && is_call(c, &other))
                .map(|_| "expect.notMutatedBy")
                .collect()
        }),
        ("fast", &|p| {
            let mut v = vec![];
            if !p.denied {
                if seconds(&p.created_at, &p.bound_at).is_none_or(|s| s > 2.0) {
                    v.push("expect.boundWithin");
                }
                if seconds(&p.created_at, &p.ready_at).is_none_or(|s| s > 10.0) {
                    v.push("expect.readyWithin");
                }
            }
            v
        }),
        ("prohibitions", &|p| {
            let mut v = vec![];
            for c in &p.webhooks {
                if !is_call(c, &containers)
                    && c.paths
                        .iter()
                        .flatten()
                        .any(|q| q.starts_with("/spec/containers"))
                {
                    v.push("forbid.mutations");
                }
            }
            v.extend(
                p.webhooks
                    .iter()
                    .filter(|c| c.failed_open)
                    .map(|_| "forbid.failedOpen"),
            );
            if p.denied {
                v.push("forbid.denied");
            }
            if p.builtin_changes
                .iter()
                .any(|b| b.starts_with("/spec/tolerations"))
            {
                v.push("forbid.builtinChanges");
            }
            v
        }),
    ];
    for (rule, broken) in per_rule {
        for p in &exp.pods {
            let mut checks: Vec<String> = broken(p).into_iter().map(str::to_owned).collect();
            if !checks.is_empty() {
                checks.sort();
                let pod = (p.namespace.clone(), p.name.clone(), p.uid.clone(), p.denied);
                rows.push((rule.to_owned(), pod, checks));
            }
        }
    }
    rows.sort();
    (rules, rows)
}

#[test]
fn a_generated_corpus_breaks_exactly_the_rules_its_answer_says() {
    let dir = tempfile::tempdir().unwrap();
    let spec = Spec::stories(7, 150, 5);
    let (log, exp) = crate::util::write_corpus(dir.path(), &spec);
    let (rules_text, want) = corpus_rules(&exp);
    let rules = write(dir.path(), "rules.yaml", &rules_text);
    let log = log.to_str().unwrap();

    // Every rule is broken by some pods and kept by others, or the test would prove little.
    for name in [
        "default scheduler",
        "EC2 nodes",
        "the ReplicaSet controller creates",
        "fast",
        "prohibitions",
    ] {
        let n = want.iter().filter(|r| r.0 == name).count();
        assert!(
            n > 0 && n < exp.pods.len(),
            "{name}: {n} of {} pods",
            exp.pods.len()
        );
    }

    let (code, json, err) = check(&[
        "--rules",
        &rules,
        "-f",
        log,
        "-o",
        "json",
        "--require-match",
    ]);
    assert_eq!(code, 1, "{err}");
    let v: Value = serde_json::from_str(&json).unwrap();
    let mut got: Vec<Row> = Vec::new();
    for r in v["rules"].as_array().unwrap() {
        assert_eq!(
            r["pods"].as_array().unwrap().len(),
            exp.pods.len(),
            "every rule matches every pod"
        );
        for p in r["pods"].as_array().unwrap() {
            let mut checks: Vec<String> = p["violations"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x["check"].as_str().unwrap().to_owned())
                .collect();
            if checks.is_empty() {
                continue;
            }
            checks.sort();
            let pod = (
                p["namespace"].as_str().unwrap().to_owned(),
                p["name"].as_str().unwrap().to_owned(),
                p["uid"].as_str().map(str::to_owned),
                p["denied"].as_bool().unwrap(),
            );
            got.push((r["name"].as_str().unwrap().to_owned(), pod, checks));
        }
    }
    got.sort();
    let missing: Vec<&Row> = want.iter().filter(|r| !got.contains(r)).collect();
    let extra: Vec<&Row> = got.iter().filter(|r| !want.contains(r)).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "{} rows expected, {} reported\nmissing: {missing:#?}\nextra: {extra:#?}",
        want.len(),
        got.len()
    );

    // JUnit over the same: one failure per violating (rule, pod).
    let (code, xml, _) = check(&["--rules", &rules, "-f", log, "-o", "junit"]);
    assert_eq!(code, 1);
    let j = parse_junit(&xml);
    assert_eq!(j.cases.len(), 7 * exp.pods.len());
    assert_eq!(j.failures.len(), want.len());
}
