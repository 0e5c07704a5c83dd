//! The cluster-wide views (`ktrail webhooks`, `ktrail pods`) through the real binary: on a log
//! written for them (`views_fixture`), and on the recorded seed story.

use crate::views_fixture;

use std::collections::BTreeSet;
use std::io::Write;

use serde_json::{json, Value};
use views_fixture::*;

use crate::util::{installs, pod_ids};

fn fixture_file() -> tempfile::NamedTempFile {
    crate::util::temp_file(&log())
}

fn ktrail(args: &[&str]) -> (i32, String, String) {
    crate::util::run(crate::util::ktrail().env("NO_COLOR", "1").args(args))
}

fn json_of(args: &[&str]) -> Value {
    crate::util::json_of(crate::util::ktrail().env("NO_COLOR", "1").args(args))
}

/// The timeline and the `view` of the fixture, as JSON.
fn timeline_and_view(view: &str) -> (Value, Value) {
    let f = fixture_file();
    let p = f.path().to_str().unwrap();
    (
        json_of(&["timeline", "-f", p, "-o", "json"]),
        json_of(&[view, "-f", p, "-o", "json"]),
    )
}

fn row<'v>(report: &'v Value, kind: &str, conf: Option<&str>, hook: Option<&str>) -> &'v Value {
    report["webhooks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| {
            r["type"] == kind && r["configuration"] == json!(conf) && r["webhook"] == json!(hook)
        })
        .unwrap_or_else(|| panic!("no row {kind} {conf:?} {hook:?} in {report:#}"))
}

fn pair(verb: &str, user: &str) -> (String, String) {
    (verb.to_owned(), user.to_owned())
}

#[test]
fn webhook_rows_count_calls_pods_paths_and_installs() {
    let f = fixture_file();
    let rep = json_of(&["webhooks", "-f", f.path().to_str().unwrap(), "-o", "json"]);

    let inj = row(&rep, "mutating", Some(INJECTOR), Some(INJECT));
    assert_eq!(inj["calls"], 4, "three creates, one of them reinvoked");
    assert_eq!(
        inj["mutatedPods"], 3,
        "both incarnations and the denied create"
    );
    assert_eq!(inj["failedOpen"], 0);
    assert_eq!(inj["rounds"], json!([0, 1]));
    assert_eq!(inj["namespaces"], json!(["shop"]));
    assert_eq!(
        inj["paths"],
        json!({"/metadata/labels": 2, "/spec/containers/1": 3})
    );
    assert_eq!(
        installs(inj),
        [pair("create", "alice"), pair("update", "bob")]
    );
    assert_eq!(inj["firstSeen"], at(20_000));
    assert_eq!(inj["lastSeen"], at(40_000));

    // Installed but never called, body not logged: one row for the configuration.
    let unused = row(&rep, "mutating", Some("unused"), None);
    assert_eq!(unused["calls"], 0);
    assert_eq!(unused["firstSeen"], Value::Null);
    assert_eq!(
        installs(unused),
        [pair("create", "carol"), pair("delete", "carol")]
    );

    // Only known from a failed-open annotation, and no configuration names it.
    let flaky = row(&rep, "mutating", None, Some(FLAKY));
    assert_eq!(
        (flaky["calls"].as_u64(), flaky["failedOpen"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(flaky["mutatedPods"], 0);
    assert_eq!(flaky["installed"], json!([]));

    // A validating webhook failed open; its configuration is found from the configuration's body.
    let check = row(&rep, "validating", Some(POLICY), Some(CHECK));
    assert_eq!(
        (check["calls"].as_u64(), check["failedOpen"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(installs(check), [pair("create", "alice")]);

    // Names from the log are kept as they are in JSON.
    let weird = row(&rep, "mutating", Some(WEIRD_CONF), Some(WEIRD_HOOK));
    assert_eq!(weird["paths"], json!({"/metadata/annotations/a;b#c": 1}));
    assert_eq!(weird["installed"], json!([]));

    let builtin = row(&rep, "builtin", None, Some("built-in admission"));
    assert_eq!(builtin["mutatedPods"], 3);
    assert_eq!(
        builtin["paths"],
        json!({"/spec/schedulerName": 3, "/spec/serviceAccountName": 3})
    );

    // A configuration write that failed installed nothing.
    assert!(!rep.to_string().contains("evil"), "{rep:#}");
    assert_eq!(rep["webhooks"].as_array().unwrap().len(), 6, "{rep:#}");
    let keys: BTreeSet<&str> = [
        "configuration",
        "webhook",
        "type",
        "calls",
        "mutatedPods",
        "failedOpen",
        "rounds",
        "namespaces",
        "paths",
        "installed",
        "firstSeen",
        "lastSeen",
    ]
    .into();
    for r in rep["webhooks"].as_array().unwrap() {
        let have: BTreeSet<&str> = r.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(have, keys);
    }
}

/// `mutatedPods` and `paths` recomputed from the timeline's own JSON, independently of the view.
#[test]
fn webhook_counts_agree_with_the_timeline() {
    let (tl, rep) = timeline_and_view("webhooks");
    for r in rep["webhooks"].as_array().unwrap() {
        if r["type"] == "builtin" || r["calls"] == 0 {
            continue;
        }
        let mut mutated = 0;
        let mut paths: std::collections::BTreeMap<String, u64> = Default::default();
        for pod in tl["pods"].as_array().unwrap() {
            let calls = pod["webhooks"]
                .as_array()
                .unwrap()
                .iter()
                .chain(
                    pod["events"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .flat_map(|e| e["webhooks"].as_array().into_iter().flatten()),
                )
                .filter(|c| c["webhook"] == r["webhook"] && c["type"] == r["type"])
                .collect::<Vec<_>>();
            if calls.iter().any(|c| c["mutated"] == true) {
                mutated += 1;
            }
            let mine: BTreeSet<&str> = calls
                .iter()
                .flat_map(|c| c["paths"].as_array().into_iter().flatten())
                .filter_map(Value::as_str)
                .collect();
            for path in mine {
                *paths.entry(path.to_owned()).or_default() += 1;
            }
        }
        assert_eq!(r["mutatedPods"], mutated, "{r:#}");
        assert_eq!(r["paths"], json!(paths), "{r:#}");
    }
}

#[test]
fn webhook_table_and_markdown_escape_log_text() {
    let f = fixture_file();
    let p = f.path().to_str().unwrap();
    for fmt in ["table", "markdown"] {
        let (code, out, _) = ktrail(&["webhooks", "-f", p, "-o", fmt]);
        assert_eq!(code, 0);
        assert!(!out.contains('\u{1b}'), "{fmt}: raw escape in {out}");
        assert!(out.contains("\\u{1b}"), "{fmt}: escape not shown in {out}");
        assert!(out.contains("create by alice"), "{out}");
    }
    let (_, md, _) = ktrail(&["webhooks", "-f", p, "-o", "markdown"]);
    // Header, separator, six rows; no row broken by a pipe or a newline from the log.
    let rows: Vec<&str> = md.lines().collect();
    assert_eq!(rows.len(), 8, "{md}");
    assert!(rows.iter().all(|l| l.starts_with('|') && l.ends_with('|')));
}

#[test]
fn an_empty_log_has_no_webhooks_and_says_so() {
    let f = tempfile::NamedTempFile::new().unwrap();
    let (code, out, err) = ktrail(&["webhooks", "-f", f.path().to_str().unwrap(), "-o", "json"]);
    assert_eq!(code, 1, "{err}");
    assert_eq!(
        serde_json::from_str::<Value>(&out).unwrap(),
        json!({"webhooks": []})
    );
    assert!(err.contains("no webhook"), "{err}");
}

#[test]
fn pods_has_one_row_per_incarnation() {
    let (tl, view) = timeline_and_view("pods");
    assert_eq!(pod_ids(&view), pod_ids(&tl));
    assert_eq!(
        pod_ids(&view).len(),
        4,
        "two incarnations of web-1, a denied create, batch-1"
    );
    for (row, pod) in view["pods"]
        .as_array()
        .unwrap()
        .iter()
        .zip(tl["pods"].as_array().unwrap())
    {
        assert!(row.get("events").is_none());
        // Every other field of the timeline's pod is there, unchanged.
        for (k, v) in pod.as_object().unwrap() {
            if k != "events" {
                assert_eq!(&row[k], v, "field {k}");
            }
        }
    }
    let web_a = &view["pods"][2];
    assert_eq!(web_a["uid"], "uid-web-1-a");
    assert_eq!(web_a["mutatedBy"], json!([INJECT, "built-in admission"]));

    // The other formats: one line per incarnation too.
    let f = fixture_file();
    let p = f.path().to_str().unwrap();
    let (_, csv, _) = ktrail(&["pods", "-f", p, "-o", "csv"]);
    assert_eq!(csv.split("\r\n").filter(|l| !l.is_empty()).count(), 1 + 4);
    let (_, md, _) = ktrail(&["pods", "-f", p, "-o", "markdown"]);
    let table: Vec<&str> = md.lines().take_while(|l| l.starts_with('|')).collect();
    assert_eq!(table.len(), 2 + 4, "{md}");
    let (_, table, _) = ktrail(&["pods", "-f", p]);
    let lines: Vec<&str> = table.lines().take_while(|l| !l.is_empty()).collect();
    assert_eq!(lines.len(), 1 + 4, "{table}");
}

#[test]
fn pods_latency_summary_per_scheduler() {
    let f = fixture_file();
    let view = json_of(&["pods", "-f", f.path().to_str().unwrap(), "-o", "json"]);
    let lat = view["latency"].as_array().unwrap();
    assert_eq!(lat.len(), 1, "{lat:#?}");
    let l = &lat[0];
    assert_eq!(l["scheduler"], "default-scheduler");
    assert_eq!(l["pods"], 3, "the denied create is not a pod");
    // Bound after 0.5 s, 2 s and 30 s: nearest-rank percentiles.
    assert_eq!(
        l["createdToBound"],
        json!({"count": 3, "p50": 2.0, "p90": 30.0, "p99": 30.0, "max": 30.0})
    );
    assert_eq!(
        l["createdToReady"],
        json!({"count": 1, "p50": 4.0, "p90": 4.0, "p99": 4.0, "max": 4.0})
    );
    let (_, table, _) = ktrail(&["pods", "-f", f.path().to_str().unwrap()]);
    assert!(
        table.contains("Latency from creation, per scheduler"),
        "{table}"
    );
    assert!(table.contains("30.000s"), "{table}");
}

#[test]
fn pods_sort_by_latency_puts_the_slowest_first() {
    let f = fixture_file();
    let p = f.path().to_str().unwrap();
    let uids = |sort: &str| -> Vec<Value> {
        json_of(&["pods", "-f", p, "-o", "json", "--sort", sort])["pods"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["uid"].clone())
            .collect()
    };
    assert_eq!(
        uids("created-to-bound"),
        [
            json!("uid-batch-1"),
            json!("uid-web-1-b"),
            json!("uid-web-1-a"),
            Value::Null
        ]
    );
    assert_eq!(uids("created-to-ready")[0], "uid-web-1-a");
    assert_eq!(
        uids("created"),
        [
            json!("uid-web-1-a"),
            json!("uid-web-1-b"),
            Value::Null,
            json!("uid-batch-1")
        ]
    );
}

#[test]
fn pods_csv_is_quoted_escaped_and_defused() {
    let f = fixture_file();
    let (code, csv, _) = ktrail(&["pods", "-f", f.path().to_str().unwrap(), "-o", "csv"]);
    assert_eq!(code, 0);
    assert!(csv.starts_with("namespace,name,uid,denied,"), "{csv}");
    assert!(!csv.contains('\u{1b}'), "{csv}");
    let batch = csv
        .lines()
        .find(|l| l.starts_with("other,batch-1,"))
        .unwrap();
    // The creator's name would be a formula in a spreadsheet; the node name has no comma.
    assert!(batch.contains(",'=cmd|' /C calc'!A0,"), "{batch}");
    assert!(
        batch.contains("w-->>x<br>y\\u{1b}[31m; built-in admission"),
        "{batch}"
    );
    // Every data row has as many cells as the header (no cell contains a comma here).
    let cells = |l: &str| l.split(',').count();
    let header = csv.lines().next().unwrap();
    for l in csv.lines() {
        assert_eq!(cells(l.trim_end_matches('\r')), cells(header), "{l}");
    }
}

#[test]
fn pods_with_no_match_exit_1() {
    let f = fixture_file();
    let (code, _, err) = ktrail(&["pods", "-f", f.path().to_str().unwrap(), "nowhere/nothing"]);
    assert_eq!(code, 1);
    assert!(err.contains("no pod matched"), "{err}");
}

#[test]
fn a_webhook_name_two_configurations_claim_stays_unattributed() {
    let config = |id: &str, name: &str| {
        json!({"kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": "Request", "auditID": id,
               "stage": "ResponseComplete", "verb": "create", "user": {"username": "ops"},
               "objectRef": {"resource": "mutatingwebhookconfigurations", "name": name,
                             "apiGroup": "admissionregistration.k8s.io"},
               "responseStatus": {"code": 201},
               "requestObject": {"metadata": {"name": name}, "webhooks": [{"name": "dup.example.com"}]},
               "stageTimestamp": at(0)})
        .to_string()
    };
    let create = json!({"kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": "Metadata",
        "auditID": "p", "stage": "ResponseComplete", "verb": "create", "user": {"username": "u"},
        "objectRef": {"resource": "pods", "namespace": "ns", "name": "p", "apiVersion": "v1"},
        "responseStatus": {"code": 201}, "stageTimestamp": at(1_000),
        "annotations": {"failed-open.mutation.webhook.admission.k8s.io/round_0_index_0": "dup.example.com"}})
    .to_string();
    let mut f = tempfile::NamedTempFile::new().unwrap();
    writeln!(
        f,
        "{}\n{}\n{create}",
        config("a", "conf-a"),
        config("b", "conf-b")
    )
    .unwrap();
    let rep = json_of(&["webhooks", "-f", f.path().to_str().unwrap(), "-o", "json"]);
    let called = row(&rep, "mutating", None, Some("dup.example.com"));
    assert_eq!(
        (called["calls"].as_u64(), called["failedOpen"].as_u64()),
        (Some(1), Some(1))
    );
    // Both configurations are listed as installed but never seen called.
    for conf in ["conf-a", "conf-b"] {
        let r = row(&rep, "mutating", Some(conf), Some("dup.example.com"));
        assert_eq!(r["calls"], 0);
        assert_eq!(installs(r), [pair("create", "ops")]);
    }
}

fn sample_names() -> Vec<String> {
    let (code, out, err) = ktrail(&["samples"]);
    assert_eq!(code, 0, "{err}");
    out.lines()
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_owned)
        .collect()
}

#[test]
fn seed_story_names_the_fargate_webhook_installer() {
    let rep = json_of(&["webhooks", "--sample", "eks-fargate", "-o", "json"]);
    let conf = "0500-amazon-eks-fargate-mutation.amazonaws.com";
    let fargate = row(&rep, "mutating", Some(conf), Some(conf));
    assert_eq!(installs(fargate), [pair("create", "eks:cluster-bootstrap")]);
    let install = &fargate["installed"][0];
    assert_eq!(install["time"], "2022-09-20T20:09:59.446214Z");
    assert!(
        install["userAgent"]
            .as_str()
            .unwrap()
            .starts_with("kubectl/"),
        "{install}"
    );
    // It mutated the Fargate pod only, and set its scheduler.
    assert_eq!(fargate["mutatedPods"], 1);
    assert_eq!(fargate["calls"], 2);
    assert_eq!(fargate["paths"]["/spec/schedulerName"], 1);
    // The other webhooks of the story were installed before the log began.
    let irsa = row(
        &rep,
        "mutating",
        Some("pod-identity-webhook"),
        Some("iam-for-pods.amazonaws.com"),
    );
    assert_eq!(irsa["installed"], json!([]));
    assert_eq!(irsa["mutatedPods"], 0);

    let (code, table, _) = ktrail(&["webhooks", "--sample", "eks-fargate"]);
    assert_eq!(code, 0);
    assert!(table.contains("create by eks:cluster-bootstrap"), "{table}");
}

#[test]
fn pods_match_the_timeline_on_every_sample() {
    let names = sample_names();
    assert!(names.iter().any(|n| n == "eks-fargate"), "{names:?}");
    for name in &names {
        let tl = json_of(&["timeline", "--sample", name, "-o", "json"]);
        let view = json_of(&["pods", "--sample", name, "-o", "json"]);
        let (tp, vp) = (
            tl["pods"].as_array().unwrap(),
            view["pods"].as_array().unwrap(),
        );
        assert_eq!(vp.len(), tp.len(), "{name}");
        for (v, t) in vp.iter().zip(tp) {
            for k in ["namespace", "name", "uid", "createdAt", "latencies"] {
                assert_eq!(v[k], t[k], "{name}: {k}");
            }
        }
        let (_, csv, _) = ktrail(&["pods", "--sample", name, "-o", "csv"]);
        assert_eq!(csv.matches("\r\n").count(), 1 + tp.len(), "{name}: {csv}");
    }
}

#[test]
fn seed_story_latency_shows_fargate_is_slow_to_bind() {
    let view = json_of(&[
        "pods",
        "--sample",
        "eks-fargate",
        "-o",
        "json",
        "--sort",
        "created-to-bound",
    ]);
    assert_eq!(view["pods"][0]["namespace"], "fargate-ns");
    let fargate = view["latency"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["scheduler"] == "fargate-scheduler")
        .unwrap();
    assert_eq!(fargate["createdToBound"]["max"], 58.704597);
}

/// The views read CloudWatch Logs like the timeline does: against the emulator that
/// `scripts/test.sh` starts, they equal the views of the same events read from a file.
#[test]
fn views_from_cloudwatch_equal_the_offline_views() {
    let Some(m) = crate::util::moto() else { return };
    let run = |args: &[&str]| -> Value {
        crate::util::json_of(m.ktrail().args(args).args(["-o", "json"]).args(m.window()))
    };
    for view in ["webhooks", "pods"] {
        let offline = run(&[view, "-f", m.file()]);
        let cloud = run(&[view, "--cluster", "ironman-2022"]);
        assert_eq!(cloud, offline, "{view}");
        let rows = &offline[view];
        assert!(
            rows.as_array().is_some_and(|r| !r.is_empty()),
            "{view}: {offline:#}"
        );
    }
}
