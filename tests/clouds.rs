//! GKE and AKS exports: the same audit events, reshaped as each cloud exports them, must tell the
//! same stories as the bare events; a malformed entry of each shape is a numbered diagnostic.
//!
//! The events are those of two EKS samples (`denied`: webhook patches, denials, a binding, the
//! kubelet's status patches; `graceful-delete`: deletes, a watch in two stages), rewritten here
//! into Cloud Logging `LogEntry`s and Azure diagnostic records the way the clouds write them. The
//! only thing GKE loses is the query string of `requestURI` (Cloud Logging keeps `resourceName`),
//! so the reference answer is taken over the bare events with their query strings dropped.

use std::path::Path;

use serde_json::{json, Value};

use crate::util::{ktrail, root};

/// The bare events, in log order, their `requestURI`s without query strings.
fn events() -> Vec<Value> {
    let mut out = Vec::new();
    for name in ["denied", "graceful-delete"] {
        let text = std::fs::read_to_string(root().join(format!("samples/{name}.jsonl"))).unwrap();
        for line in text.lines() {
            let mut ev: Value = serde_json::from_str(line).unwrap();
            let uri = ev["requestURI"].as_str().unwrap();
            let path = uri.split('?').next().unwrap().to_owned();
            ev["requestURI"] = Value::String(path);
            out.push(ev);
        }
    }
    out
}

fn lines(values: &[Value]) -> String {
    values.iter().map(|v| format!("{v}\n")).collect()
}

/// The gRPC code Cloud Logging writes for an HTTP status.
fn grpc(http: i64) -> i64 {
    match http {
        100..=299 => 0,
        400 | 422 => 3,
        401 => 16,
        403 => 7,
        404 => 5,
        409 => 6,
        429 => 8,
        503 => 14,
        504 => 4,
        _ => 13,
    }
}

/// A bare audit event as GKE's Cloud Logging entry of it.
fn gke_entry(ev: &Value) -> Value {
    let o = &ev["objectRef"];
    let s = |v: &Value| v.as_str().unwrap_or("").to_owned();
    let group = match s(&o["apiGroup"]) {
        g if g.is_empty() => "core".to_owned(),
        g => g,
    };
    let version = s(&o["apiVersion"]);
    let mut resource_name = format!("{group}/{version}");
    if let Some(ns) = o["namespace"].as_str() {
        resource_name += &format!("/namespaces/{ns}");
    }
    resource_name += &format!("/{}", s(&o["resource"]));
    if let Some(n) = o["name"].as_str() {
        resource_name += &format!("/{n}");
    }
    let mut method = format!(
        "io.k8s.{}.{version}.{}",
        group.trim_end_matches(".k8s.io"),
        s(&o["resource"])
    );
    if let Some(sub) = o["subresource"].as_str() {
        resource_name += &format!("/{sub}");
        method += &format!(".{sub}");
    }
    method += &format!(".{}", s(&ev["verb"]));
    let code = ev["responseStatus"]["code"].as_i64().unwrap_or(200);
    let mut payload = json!({
        "@type": "type.googleapis.com/google.cloud.audit.AuditLog",
        "authenticationInfo": {"principalEmail": ev["user"]["username"]},
        "methodName": method,
        "resourceName": resource_name,
        "serviceName": "k8s.io",
        "requestMetadata": {
            "callerIp": ev["sourceIPs"][0],
            "callerSuppliedUserAgent": ev["userAgent"],
        },
    });
    if grpc(code) != 0 {
        payload["status"] = json!({"code": grpc(code), "message": ev["responseStatus"]["message"]});
    }
    for (from, to, kind) in [
        ("requestObject", "request", "Request"),
        ("responseObject", "response", "Response"),
    ] {
        if let Some(Value::Object(body)) = ev.get(from) {
            let mut typed = serde_json::Map::new();
            typed.insert("@type".into(), json!(format!("core.k8s.io/v1.{kind}")));
            typed.extend(body.clone());
            payload[to] = Value::Object(typed);
        }
    }
    let stage = s(&ev["stage"]);
    json!({
        "protoPayload": payload,
        "insertId": format!("{}-{stage}", s(&ev["auditID"])),
        "resource": {"type": "k8s_cluster", "labels": {"cluster_name": "c", "location": "europe-west1", "project_id": "p"}},
        "timestamp": ev["stageTimestamp"],
        "severity": if code >= 400 { "ERROR" } else { "NOTICE" },
        "labels": ev["annotations"],
        "logName": "projects/p/logs/cloudaudit.googleapis.com%2Factivity",
        "operation": {
            "id": ev["auditID"],
            "producer": "k8s.io",
            "first": stage != "ResponseComplete",
            "last": stage == "ResponseComplete",
        },
        "receiveTimestamp": ev["stageTimestamp"],
    })
}

/// A bare audit event as AKS's diagnostic record of it; `as_object` puts the event in
/// `properties.log` as an object instead of its line.
fn aks_record(ev: &Value, as_object: bool) -> Value {
    let log = if as_object {
        ev.clone()
    } else {
        Value::String(format!("{ev}\n"))
    };
    json!({
        "category": if ev["verb"] == "get" || ev["verb"] == "list" { "kube-audit" } else { "kube-audit-admin" },
        "operationName": "Microsoft.ContainerService/managedClusters/diagnosticLogs/Read",
        "properties": {"log": log, "pod": "kube-apiserver-6d9f7c8b5-k2xq7", "stream": "stdout"},
        "resourceId": "/SUBSCRIPTIONS/X/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.CONTAINERSERVICE/MANAGEDCLUSTERS/C",
        "time": ev["stageTimestamp"],
    })
}

struct Answer {
    /// The report, every event's `source` taken out.
    report: Value,
    /// Every event's `source`, in order (`file` when left out).
    sources: Vec<String>,
    stderr: String,
    code: i32,
}

fn timeline(args: &[&str]) -> Answer {
    let out = ktrail()
        .arg("timeline")
        .args(args)
        .args(["-o", "json"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let code = out.status.code().unwrap_or(-1);
    let mut report: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    let mut sources = Vec::new();
    if let Some(pods) = report["pods"].as_array_mut() {
        for p in pods {
            for e in p["events"].as_array_mut().unwrap() {
                let src = e.as_object_mut().unwrap().remove("source");
                sources.push(src.map_or("file".into(), |s| s.as_str().unwrap().to_owned()));
            }
        }
    }
    Answer {
        report,
        sources,
        stderr,
        code,
    }
}

/// The summary's counts that do not depend on how much the prefilter proved irrelevant unread
/// (`events` counts the events decoded: a read of pods in a bare line is skipped unread, the same
/// read inside a GKE entry or an AKS record is decoded and then dropped).
fn counts(report: &Value) -> Value {
    let mut s = report["summary"].clone();
    s.as_object_mut().unwrap().remove("events");
    s
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, text).unwrap();
    p.to_str().unwrap().to_owned()
}

/// The reference answer: the bare events as lines.
fn reference(dir: &Path) -> Answer {
    let a = timeline(&[
        "-f",
        &write(dir, "bare.jsonl", &lines(&events())),
        "--strict",
    ]);
    assert_eq!(a.code, 0, "{}", a.stderr);
    assert!(a.sources.iter().all(|s| s == "file"), "{:?}", a.sources);
    a
}

/// The facts the issue asks every cloud to show, read off an answer: pods created, patched by
/// webhooks (attributed per field), bound, status-patched by the kubelet, denied and deleted.
fn assert_the_stories(report: &Value) {
    let pods = report["pods"].as_array().unwrap();
    let pod = |name: &str, denied: bool| {
        pods.iter()
            .find(|p| p["name"] == name && p["denied"] == denied)
            .unwrap_or_else(|| panic!("no pod {name} denied={denied}"))
    };
    let ledger = pod("ledger-migrate", false);
    assert_eq!(ledger["createdBy"], "alice");
    assert_eq!(ledger["uid"], "9c94603f-7a72-460a-8b51-ed10be90ef96");
    let create = &ledger["events"][0];
    assert_eq!(create["kind"], "create");
    let by_webhook: Vec<(&str, &str)> = create["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["path"].as_str().unwrap(), c["by"].as_str().unwrap()))
        .filter(|(_, by)| *by == "mutate.kyverno.svc-fail")
        .collect();
    assert_eq!(
        by_webhook,
        [("/metadata/labels/cost-center", "mutate.kyverno.svc-fail")]
    );
    assert_eq!(ledger["boundBy"], "system:kube-scheduler");
    assert_eq!(ledger["node"], "ip-10-0-44-163.us-west-2.compute.internal");
    let kubelet = "system:node:ip-10-0-44-163.us-west-2.compute.internal";
    assert!(ledger["events"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["kind"] == "status" && e["user"] == kubelet));
    assert_eq!(ledger["phase"], "Succeeded");
    let denied = pod("ledger-migrate", true);
    assert_eq!(denied["deniedBy"], "validate.kyverno.svc-fail");
    assert_eq!(denied["events"][0]["code"], 400);
    assert_eq!(pod("debug", true)["deniedBy"], "PodSecurity");
    assert_eq!(pod("debug", true)["events"][0]["code"], 403);
    let report_gen = pod("report-generator", false);
    assert_eq!(report_gen["deletedVia"], "delete");
    assert!(report_gen["deletedBy"].is_string());
}

#[test]
fn gke_arrays_and_sink_lines_tell_the_same_stories() {
    let tmp = tempfile::tempdir().unwrap();
    let want = reference(tmp.path());
    assert_the_stories(&want.report);
    let entries: Vec<Value> = events().iter().map(gke_entry).collect();
    // As `gcloud logging read --format=json` prints them: one array, pretty over many lines.
    let array = serde_json::to_string_pretty(&entries).unwrap();
    assert!(array.starts_with("[\n  {\n"), "{}", &array[..20]);
    // As a Log Router sink writes them to Cloud Storage: one entry per line.
    let sink = lines(&entries);
    for (name, text) in [("gcloud.json", array), ("sink.json", sink)] {
        let got = timeline(&["-f", &write(tmp.path(), name, &text), "--strict"]);
        assert_eq!(got.code, 0, "{name}: {}", got.stderr);
        assert_eq!(got.report["pods"], want.report["pods"], "{name}");
        assert_eq!(counts(&got.report), counts(&want.report), "{name}");
        assert_eq!(got.sources.len(), want.sources.len());
        assert!(got.sources.iter().all(|s| s == "gke"), "{:?}", got.sources);
        assert_the_stories(&got.report);
    }
    // The same through standard input, which has no name to go by.
    let out = ktrail()
        .args(["timeline", "-f", "-", "-o", "json", "--strict"])
        .write_stdin(serde_json::to_string_pretty(&entries).unwrap())
        .output()
        .unwrap();
    assert!(out.status.success());
    let mut v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["pods"][0]["events"][0]["source"], "gke");
    for p in v["pods"].as_array_mut().unwrap() {
        for e in p["events"].as_array_mut().unwrap() {
            e.as_object_mut().unwrap().remove("source");
        }
    }
    assert_eq!(v["pods"], want.report["pods"]);
}

#[test]
fn aks_storage_lines_and_event_hub_batches_tell_the_same_stories() {
    let tmp = tempfile::tempdir().unwrap();
    let want = reference(tmp.path());
    let evs = events();
    let records: Vec<Value> = evs.iter().map(|e| aks_record(e, false)).collect();
    let objects: Vec<Value> = evs.iter().map(|e| aks_record(e, true)).collect();
    // Event Hubs: batches of records, several per message.
    let batches: String = records
        .chunks(4)
        .map(|c| format!("{}\n", json!({ "records": c })))
        .collect();
    for (name, text) in [
        (
            "insights-logs-kube-audit/resourceId=/x/y=2024/m=05/d=22/h=14/m=00/PT1H.json",
            lines(&records),
        ),
        ("objects.json", lines(&objects)),
        ("eventhub.json", batches),
    ] {
        let got = timeline(&["-f", &write(tmp.path(), name, &text), "--strict"]);
        assert_eq!(got.code, 0, "{name}: {}", got.stderr);
        assert_eq!(got.report["pods"], want.report["pods"], "{name}");
        if name != "eventhub.json" {
            assert_eq!(counts(&got.report), counts(&want.report), "{name}");
        }
        assert!(got.sources.iter().all(|s| s == "aks"), "{:?}", got.sources);
        assert_the_stories(&got.report);
    }
}

#[test]
fn a_directory_of_eks_gke_and_aks_files_gives_one_answer() {
    let tmp = tempfile::tempdir().unwrap();
    let want = reference(tmp.path());
    let evs = events();
    let dir = tmp.path().join("mixed");
    // Every third event in each shape, so that each story is told by all three.
    let pick = |k: usize| -> Vec<Value> {
        evs.iter()
            .enumerate()
            .filter(|(i, _)| i % 3 == k)
            .map(|(_, e)| e.clone())
            .collect()
    };
    write(&dir, "eks/audit.jsonl", &lines(&pick(0)));
    let gke: Vec<Value> = pick(1).iter().map(gke_entry).collect();
    write(
        &dir,
        "gke/entries.json",
        &serde_json::to_string_pretty(&gke).unwrap(),
    );
    let aks: Vec<Value> = pick(2).iter().map(|e| aks_record(e, false)).collect();
    write(&dir, "aks/PT1H.json", &lines(&aks));
    let got = timeline(&["-f", dir.to_str().unwrap(), "--strict"]);
    assert_eq!(got.code, 0, "{}", got.stderr);
    assert_eq!(got.report["pods"], want.report["pods"]);
    for cloud in ["file", "gke", "aks"] {
        assert!(
            got.sources.iter().any(|s| s == cloud),
            "{cloud}: {:?}",
            got.sources
        );
    }
    // The same events exported by two clouds' shapes at once are one request each: the second
    // copy of every (auditID, stage) is a duplicate, and the stories do not change.
    write(
        &dir,
        "gke/all.json",
        &lines(&evs.iter().map(gke_entry).collect::<Vec<_>>()),
    );
    let got = timeline(&["-f", dir.to_str().unwrap(), "--strict"]);
    assert_eq!(got.code, 0, "{}", got.stderr);
    assert_eq!(got.report["pods"], want.report["pods"]);
    assert!(got.report["summary"]["duplicates"].as_u64().unwrap() > 0);
}

#[test]
fn a_gke_entry_logged_without_bodies_is_found_by_the_pods_name() {
    // An exec at audit level Metadata names its pod only in `resourceName`: the prefilter must
    // not skip it when one pod is asked for.
    let tmp = tempfile::tempdir().unwrap();
    let exec = json!({
        "protoPayload": {
            "authenticationInfo": {"principalEmail": "alice@example.com"},
            "methodName": "io.k8s.core.v1.pods.exec.create",
            "resourceName": "core/v1/namespaces/payments/pods/ledger-migrate/exec",
            "serviceName": "k8s.io",
        },
        "timestamp": "2024-05-22T14:06:00.000000Z",
        "operation": {"id": "exec-1", "first": true, "last": false},
        "labels": {"authorization.k8s.io/decision": "allow"},
    });
    let mut text = lines(&events());
    text.push_str(&format!("{exec}\n"));
    let f = write(tmp.path(), "log.jsonl", &text);
    let got = timeline(&["payments/ledger-migrate", "-f", &f, "--strict"]);
    assert_eq!(got.code, 0, "{}", got.stderr);
    let admitted = got.report["pods"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["denied"] == false)
        .unwrap();
    let exec = admitted["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["auditID"] == "exec-1")
        .expect("the exec, found through resourceName");
    assert_eq!(exec["kind"], "exec");
    assert_eq!(exec["stage"], "ResponseStarted");
    assert_eq!(exec["user"], "alice@example.com");
}

#[test]
fn a_malformed_entry_of_each_shape_is_a_numbered_diagnostic() {
    let tmp = tempfile::tempdir().unwrap();
    let evs = events();
    let create = evs.iter().find(|e| e["verb"] == "create").unwrap();
    let good_gke = gke_entry(create);
    let mut no_method = good_gke.clone();
    no_method["protoPayload"]
        .as_object_mut()
        .unwrap()
        .remove("methodName");
    let good_aks = aks_record(create, false);
    let mut bad_log = good_aks.clone();
    // Cut short, as a record written by a crashing forwarder would be; it still mentions pods,
    // so the prefilter hands it to the decoder.
    bad_log["properties"]["log"] =
        json!("{\"kind\":\"Event\",\"objectRef\":{\"resource\":\"pods\",");
    let mut bad_category = good_aks.clone();
    bad_category["category"] = json!("kube-apiserver");
    let es = json!({"_index": "k8s-audit", "_source": {"@timestamp": "x", "kubernetes": {"audit": create}}});

    let cases: Vec<(&str, String, &str)> = vec![
        (
            "sink.json",
            format!("{good_gke}\n{no_method}\n"),
            "sink.json:2: not an audit event (GKE LogEntry without protoPayload.methodName); skipped",
        ),
        (
            // The bad element starts on the line after the first element's last.
            "gcloud.json",
            serde_json::to_string_pretty(&json!([good_gke, no_method])).unwrap(),
            "",
        ),
        (
            "PT1H.json",
            format!("{good_aks}\n\n{bad_log}\n{bad_category}\n"),
            "PT1H.json:3: not an audit event (AKS record's properties.log: not JSON (cut short: EOF while parsing a value at column 47)); skipped",
        ),
        (
            "eventhub.json",
            format!("{}\n", json!({"records": [good_aks, bad_log, good_aks]})),
            "eventhub.json:1: records item 1: not an audit event (AKS record's properties.log: not JSON (cut short: EOF while parsing a value at column 47)); 1 of 3 items skipped",
        ),
        (
            "es.json",
            format!("{es}\n"),
            "es.json:1: not an audit event (an Elasticsearch document with the audit event under kubernetes.audit, a shape ktrail does not read; export the events themselves (e.g. jq -c '._source.kubernetes.audit')); skipped",
        ),
    ];
    for (name, text, want) in cases {
        let f = write(tmp.path(), name, &text);
        let got = timeline(&["-f", &f]);
        // Exit code 1 when no pod is left: the Elasticsearch document is the file's only line.
        let code = if name == "es.json" { 1 } else { 0 };
        assert_eq!(got.code, code, "{name}: {}", got.stderr);
        let first = got.stderr.lines().next().unwrap_or("");
        let want = if name == "gcloud.json" {
            // The line the second element opens on.
            let line = text
                .lines()
                .enumerate()
                .filter(|(_, l)| *l == "  {")
                .nth(1)
                .unwrap()
                .0
                + 1;
            format!(
                "gcloud.json:{line}: not an audit event (GKE LogEntry without protoPayload.methodName); skipped"
            )
        } else {
            want.to_owned()
        };
        assert_eq!(first, format!("{}/{want}", tmp.path().display()), "{name}");
        // With --strict the first bad entry stops the run with exit code 2.
        let strict = timeline(&["-f", &f, "--strict"]);
        assert_eq!(strict.code, 2, "{name}: {}", strict.stderr);
    }
    // The other record of that AKS file, of another category, says so on its own line.
    let got = timeline(&["-f", &tmp.path().join("PT1H.json").display().to_string()]);
    assert!(
        got.stderr.contains(
            "PT1H.json:4: not an audit event (AKS record of category kube-apiserver, not kube-audit or kube-audit-admin); skipped"
        ),
        "{}",
        got.stderr
    );
}

#[test]
fn the_story_header_names_the_cloud() {
    let run = |args: &[&str]| {
        let out = ktrail().args(args).output().unwrap();
        assert!(out.status.success(), "{args:?}");
        String::from_utf8(out.stdout).unwrap()
    };
    let gke = run(&["timeline", "--sample", "gke-webhook"]);
    let first = gke.lines().next().unwrap();
    assert!(first.starts_with("shop/web  uid "), "{first}");
    assert!(first.ends_with("  cloud GKE"), "{first}");
    let aks = run(&["timeline", "--sample", "aks-policy", "--width", "100"]);
    assert!(aks.contains(" · cloud AKS"), "{aks}");
    let md = run(&["timeline", "--sample", "aks-policy", "-o", "markdown"]);
    assert!(md.contains("| cloud | AKS |"), "{md}");
    // A plain file's story names no cloud.
    for args in [
        &["timeline", "--sample", "denied"][..],
        &["timeline", "--sample", "denied", "-o", "markdown"],
    ] {
        assert!(!run(args).contains("cloud"), "{args:?}");
    }
}
