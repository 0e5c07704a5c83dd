//! `ktrail blame` and `ktrail diff` through the real binary: the facts of the EKS Fargate sample,
//! every sample against its reviewed blame (`samples/NAME.blame.expected.json`; after a reviewed
//! change, `KTRAIL_BLESS=1 cargo test --test integration blame` rewrites them), hostile values in
//! the table and Markdown, exit codes and help.

use std::path::PathBuf;

use serde_json::Value;

use crate::util::{every_sample_matches, ktrail, samples_dir, words};

fn run(args: &[&str]) -> (i32, String, String) {
    let out = ktrail().args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn json(args: &[&str]) -> Value {
    let (code, out, err) = run(args);
    assert_eq!(code, 0, "ktrail {args:?}: {err}");
    serde_json::from_str(&out).unwrap()
}

fn field<'a>(pod: &'a Value, path: &str) -> &'a Value {
    pod["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] == path)
        .unwrap_or_else(|| panic!("no field {path}"))
}

/// The one line of the table that shows `path`: with `--path` the others are parents.
fn table_line(pod: &str, sample: &str, path: &str) -> String {
    let (code, out, err) = run(&["blame", pod, "--sample", sample, "--path", path]);
    assert_eq!(code, 0, "{err}");
    let leaf = path.rsplit('/').next().unwrap();
    out.lines()
        .filter(|l| {
            l.trim_start()
                .trim_start_matches("- ")
                .contains(&format!("{leaf}:"))
        })
        .find(|l| l.split_whitespace().count() > 3)
        .unwrap_or_else(|| panic!("no line for {path} in\n{out}"))
        .to_owned()
}

#[test]
fn blame_eks_fargate_shows_who_set_each_field() {
    let report = json(&words(
        "blame fargate-ns/nginx --sample eks-fargate -o json",
    ));
    assert_eq!(report["schemaVersion"], 1);
    let pods = report["pods"].as_array().unwrap();
    assert_eq!(pods.len(), 1);
    let pod = &pods[0];
    assert_eq!(pod["uid"], "2e004861-21f4-4c9f-be77-29db01bcd89c");
    assert_eq!(pod["at"], "2022-09-20T20:18:23.041304Z");

    let f = field(pod, "/spec/schedulerName");
    assert_eq!(f["value"], "fargate-scheduler");
    assert_eq!(f["setBy"]["kind"], "webhook");
    assert_eq!(
        f["setBy"]["name"],
        "0500-amazon-eks-fargate-mutation.amazonaws.com"
    );
    assert_eq!(f["setBy"]["event"], "create");
    assert_eq!(f["setBy"]["time"], "2022-09-20T20:17:17.328703Z");

    let f = field(pod, "/metadata/annotations/CapacityProvisioned");
    assert_eq!(f["value"], "0.25vCPU 0.5GB");
    assert_eq!(f["setBy"]["name"], "eks:fargate-scheduler");
    assert_eq!(f["setBy"]["event"], "update");
    let line = table_line(
        "fargate-ns/nginx",
        "eks-fargate",
        "/metadata/annotations/CapacityProvisioned",
    );
    assert!(
        line.contains("eks:fargate-scheduler") && line.contains("+1.175s"),
        "{line}"
    );

    let f = field(pod, "/spec/nodeName");
    assert_eq!(f["setBy"]["kind"], "scheduler");
    assert_eq!(f["setBy"]["event"], "binding");
    let line = table_line("fargate-ns/nginx", "eks-fargate", "/spec/nodeName");
    assert!(
        line.contains("+58.705s") && line.contains("binding"),
        "{line}"
    );

    let conditions = pod["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| {
            f["path"]
                .as_str()
                .unwrap()
                .starts_with("/status/conditions/")
                && f["path"].as_str().unwrap().ends_with("/type")
                && f["value"] == "Ready"
        })
        .unwrap();
    let ready = conditions["path"]
        .as_str()
        .unwrap()
        .replace("/type", "/status");
    let f = field(pod, &ready);
    assert_eq!(f["value"], "True");
    assert_eq!(f["setBy"]["kind"], "kubelet");
    assert_eq!(f["setBy"]["time"], "2022-09-20T20:18:23.041304Z");
    let line = table_line("fargate-ns/nginx", "eks-fargate", &ready);
    assert!(
        line.contains("+1m05.713s") && line.contains("status"),
        "{line}"
    );

    let volumes: Vec<&Value> = pod["fields"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["path"].as_str().unwrap().starts_with("/spec/volumes/"))
        .collect();
    assert!(!volumes.is_empty());
    let name = volumes
        .iter()
        .find(|f| f["path"] == "/spec/volumes/0/name")
        .unwrap();
    assert!(name["value"]
        .as_str()
        .unwrap()
        .starts_with("kube-api-access-"));
    for f in volumes {
        assert_eq!(f["setBy"]["kind"], "builtin", "{f}");
        assert_eq!(f["setBy"]["name"], "built-in admission", "{f}");
    }
}

#[test]
fn every_sample_s_blame_matches_its_reviewed_expected_file() {
    every_sample_matches("blame.expected.json", |name| {
        json(&["blame", "--sample", name, "--history", "-o", "json"])
    });
}

/// The EKS Fargate sample with hostile text in a label of the creates (request and response);
/// `default/nginx` is not updated after its create, so the label stays.
fn hostile_log(dir: &std::path::Path) -> PathBuf {
    let text = std::fs::read_to_string(samples_dir().join("eks-fargate.jsonl")).unwrap();
    let mut out = String::new();
    for line in text.lines() {
        let mut e: Value = serde_json::from_str(line).unwrap();
        if e["verb"] == "create" && e["objectRef"]["resource"] == "pods" {
            for body in ["requestObject", "responseObject"] {
                if let Some(labels) = e[body]["metadata"]["labels"].as_object_mut() {
                    labels.insert(
                        "evil\nkey: \"x\"".into(),
                        Value::String("v\u{1b}[2J\nkind: Fake | `x` \u{202e}<b>".into()),
                    );
                }
            }
        }
        out.push_str(&serde_json::to_string(&e).unwrap());
        out.push('\n');
    }
    let p = dir.join("hostile.jsonl");
    std::fs::write(&p, out).unwrap();
    p
}

#[test]
fn log_values_cannot_break_the_table_or_the_markdown() {
    let d = tempfile::tempdir().unwrap();
    let p = hostile_log(d.path());
    let file = p.to_str().unwrap();
    for format in ["table", "markdown"] {
        let (code, clean, _) = run(&[
            "blame",
            "default/nginx",
            "--sample",
            "eks-fargate",
            "-o",
            format,
        ]);
        assert_eq!(code, 0);
        let (code, out, err) = run(&["blame", "default/nginx", "-f", file, "-o", format]);
        assert_eq!(code, 0, "{err}");
        assert!(
            !out.contains('\u{1b}') && !out.contains('\u{202e}'),
            "{out}"
        );
        // One more line (the hostile label) and no line broken in two.
        assert_eq!(
            out.lines().count(),
            clean.lines().count() + 1,
            "{format}:\n{out}"
        );
        if format == "table" {
            let line = out.lines().find(|l| l.contains("evil")).unwrap();
            assert!(
                line.contains(r#""evil\nkey: \"x\"": "v\u001b[2J\nkind: Fake"#),
                "{line}"
            );
        } else {
            assert!(!out.contains("<b>") && !out.contains("| `x`"), "{out}");
            for l in out.lines().filter(|l| l.starts_with("| /")) {
                assert_eq!(l.matches(" | ").count(), 6, "{l}");
            }
        }
    }
}

#[test]
fn exit_codes_and_usage_errors() {
    // (arguments, exit code, what stderr says)
    let cases = [
        (
            "blame nowhere/none --sample eks-fargate",
            1,
            "no pod matched",
        ),
        (
            "blame fargate-ns/nginx --sample eks-fargate --path spec",
            2,
            "JSON Pointer",
        ),
        (
            "blame fargate-ns/nginx --sample eks-fargate --at yesterday-ish",
            2,
            "",
        ),
        // Before the pod existed: nothing to blame.
        (
            "blame fargate-ns/nginx --sample eks-fargate --at 2022-09-20T20:00:00Z",
            1,
            "",
        ),
        (
            "diff fargate-ns/nginx --sample eks-fargate",
            1,
            "only one incarnation",
        ),
        ("diff nginx --sample eks-fargate", 2, ""),
        ("diff db/web-0 --sample statefulset-recreate --uid a", 2, ""),
        (
            "diff db/web-0 --sample statefulset-recreate \
             --from 2024-05-24T12:00:00Z --to 2024-05-24T11:00:00Z",
            2,
            "",
        ),
    ];
    for (args, want, says) in cases {
        let args = words(args);
        let (code, _, err) = run(&args);
        assert_eq!(code, want, "{args:?}: {err}");
        assert!(err.contains(says), "{args:?}: {err}");
    }
}

#[test]
fn at_shows_the_object_as_it_stood() {
    let report = json(&words(
        "blame fargate-ns/nginx --sample eks-fargate --at 2022-09-20T20:17:18Z -o json",
    ));
    let pod = &report["pods"][0];
    assert_eq!(pod["at"], "2022-09-20T20:17:18.000000Z");
    let paths: Vec<&str> = pod["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert!(!paths.contains(&"/metadata/annotations/CapacityProvisioned"));
    assert!(!paths.contains(&"/spec/nodeName"));
    assert!(paths.contains(&"/spec/schedulerName"));
}

#[test]
fn diff_of_a_recreated_statefulset_pod_names_both_authors() {
    let report = json(&words(
        "diff db/web-0 --sample statefulset-recreate -o json",
    ));
    assert_eq!(report["schemaVersion"], 1);
    let d = &report["diffs"][0];
    assert_eq!(d["from"]["uid"], "241986bb-96f4-4c71-a037-34c98d614244");
    assert_eq!(d["to"]["uid"], "eab3d387-8e8a-40ef-b02d-f61d51446067");
    let image = field(d, "/spec/containers/0/image");
    assert_eq!(image["from"]["value"], "postgres:16.2");
    assert_eq!(image["to"]["value"], "postgres:16.3");
    for side in ["from", "to"] {
        assert_eq!(
            image[side]["setBy"]["name"],
            "system:serviceaccount:kube-system:statefulset-controller"
        );
        assert_eq!(image[side]["setBy"]["kind"], "controller");
    }
    assert!(!d["fields"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["path"] == "/metadata/uid"));
    // The same, by uid, in the table.
    let (code, out, err) = run(&words(
        "diff db/web-0 --sample statefulset-recreate \
         --uid 241986bb-96f4-4c71-a037-34c98d614244 --uid eab3d387-8e8a-40ef-b02d-f61d51446067",
    ));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("/spec/containers/0/image\n  - \"postgres:16.2\"  set by system:serviceaccount:kube-system:statefulset-controller"), "{out}");
}

#[test]
fn diff_of_one_incarnation_at_two_times() {
    let report = json(&words(
        "diff fargate-ns/nginx --sample eks-fargate --to 2022-09-20T20:17:20Z -o json",
    ));
    let fields = report["diffs"][0]["fields"].as_array().unwrap();
    let paths: Vec<&str> = fields.iter().map(|f| f["path"].as_str().unwrap()).collect();
    assert_eq!(
        paths,
        [
            "/metadata/annotations/CapacityProvisioned",
            "/metadata/annotations/Logging"
        ]
    );
    assert!(fields[0]["from"].is_null());
    assert_eq!(fields[0]["to"]["setBy"]["name"], "eks:fargate-scheduler");
}

#[test]
fn help_shows_examples() {
    for cmd in ["blame", "diff"] {
        let (code, out, _) = run(&[cmd, "--help"]);
        assert_eq!(code, 0);
        assert!(out.contains("Examples:"), "{out}");
        assert!(out.contains(&format!("ktrail {cmd} ")), "{out}");
        // The examples that read a built-in sample work as written.
        for example in out
            .lines()
            .map(str::trim)
            .filter(|l| l.starts_with("ktrail ") && l.contains("--sample"))
        {
            let args: Vec<&str> = example.split_whitespace().skip(1).collect();
            let (code, _, err) = run(&args);
            assert_eq!(code, 0, "{example}: {err}");
        }
    }
}

/// Whether `path` is `prefix` or below it, token by token.
fn at_or_below(path: &str, prefix: &str) -> bool {
    path == prefix || (path.starts_with(prefix) && path.as_bytes().get(prefix.len()) == Some(&b'/'))
}

#[test]
fn over_the_generated_corpus_webhook_paths_nobody_wrote_again_are_the_webhook_s() {
    use ktrail_corpus::Spec;
    use std::collections::HashMap;

    let d = tempfile::tempdir().unwrap();
    let spec = Spec::stories(42, 270, 30);
    let (path, expected) = crate::util::write_corpus(d.path(), &spec);
    let report = json(&["blame", "-f", path.to_str().unwrap(), "-o", "json"]);
    let by_uid: HashMap<&str, &Value> = report["pods"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| Some((p["uid"].as_str()?, p)))
        .collect();

    let (mut leaves, mut subtrees, mut pods) = (0, 0, 0);
    let mut wrong = Vec::new();
    for pod in &expected.pods {
        // Only the create and writes that cannot touch a webhook's paths (status, binding,
        // delete, exec) follow: nobody wrote those paths afterwards.
        let later_writes = pod
            .event_kinds
            .iter()
            .any(|k| matches!(k.as_str(), "update" | "patch"));
        let Some(uid) = pod.uid.as_deref() else {
            continue;
        };
        if pod.denied
            || later_writes
            || pod.event_kinds.first().map(String::as_str) != Some("create")
        {
            continue;
        }
        let calls: Vec<_> = pod
            .webhooks
            .iter()
            .filter(|c| c.mutated && c.paths.is_some())
            .collect();
        if calls.is_empty() {
            continue;
        }
        let got = by_uid
            .get(uid)
            .unwrap_or_else(|| panic!("{}/{} ({uid}) not blamed", pod.namespace, pod.name));
        pods += 1;
        let fields = got["fields"].as_array().unwrap();
        for (i, call) in calls.iter().enumerate() {
            for p in call.paths.as_ref().unwrap() {
                // An append's index is not in the expected answer; a later call that patched
                // the same place is that place's author, and one that inserted into a list
                // above it moved it to another index.
                if p.split('/').any(|t| t == "-")
                    || calls[i + 1..].iter().any(|later| {
                        later.paths.as_ref().unwrap().iter().any(|q| {
                            let (list, last) = q.rsplit_once('/').unwrap_or(("", q));
                            at_or_below(q, p)
                                || at_or_below(p, q)
                                || (last.bytes().all(|b| b.is_ascii_digit())
                                    && at_or_below(p, list))
                        })
                    })
                {
                    continue;
                }
                let under: Vec<&Value> = fields
                    .iter()
                    .filter(|f| at_or_below(f["path"].as_str().unwrap(), p))
                    .collect();
                let mine = |f: &&Value| {
                    f["setBy"]["kind"] == "webhook" && f["setBy"]["name"] == call.webhook.as_str()
                };
                match under.as_slice() {
                    // A removal: nothing left to blame.
                    [] => {}
                    [leaf] if leaf["path"] == p.as_str() => {
                        leaves += 1;
                        if !mine(leaf) {
                            wrong.push(format!(
                                "{}/{} {p}: {}",
                                pod.namespace, pod.name, leaf["setBy"]
                            ));
                        }
                    }
                    // A subtree the patch set: the values it changed are the webhook's, the
                    // ones it sent unchanged keep their author.
                    many => {
                        subtrees += 1;
                        if !many.iter().any(mine) {
                            wrong.push(format!(
                                "{}/{} {p}: no field below is {}",
                                pod.namespace, pod.name, call.webhook
                            ));
                        }
                    }
                }
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{} wrong, e.g. {:#?}",
        wrong.len(),
        &wrong[..wrong.len().min(10)]
    );
    assert!(
        pods > 50 && leaves > 100 && subtrees > 20,
        "{pods} pods, {leaves} leaves, {subtrees} subtrees"
    );
}

#[test]
fn blame_json_has_exactly_the_contract_s_keys() {
    let keys = |v: &Value| -> Vec<String> {
        let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    };
    let report = json(&words("blame --sample eks-fargate --history -o json"));
    assert_eq!(keys(&report), ["pods", "schemaVersion"]);
    let mut histories = 0;
    for pod in report["pods"].as_array().unwrap() {
        assert_eq!(keys(pod), ["at", "fields", "name", "namespace", "uid"]);
        for f in pod["fields"].as_array().unwrap() {
            assert_eq!(keys(f), ["history", "path", "setBy", "value"]);
            assert_eq!(
                keys(&f["setBy"]),
                ["auditID", "event", "kind", "name", "time"]
            );
            for h in f["history"].as_array().unwrap() {
                histories += 1;
                assert_eq!(keys(h), ["setBy", "value"]);
                assert_eq!(
                    keys(&h["setBy"]),
                    ["auditID", "event", "kind", "name", "time"]
                );
            }
        }
    }
    assert!(histories > 0);
}

#[test]
fn diff_markdown_keeps_its_columns() {
    let (code, out, err) = run(&words(
        "diff db/web-0 --sample statefulset-recreate -o markdown",
    ));
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("### db/web-0: uid 241986bb"), "{out}");
    let rows: Vec<&str> = out.lines().filter(|l| l.starts_with("| /")).collect();
    assert!(
        rows.iter()
            .any(|l| l.starts_with("| /spec/containers/0/image | \"postgres:16.2\" |")),
        "{out}"
    );
    for l in rows {
        assert_eq!(l.matches(" | ").count(), 4, "{l}");
    }
}
