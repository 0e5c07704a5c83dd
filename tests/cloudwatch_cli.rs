//! The CloudWatch commands as users run them, against the moto server that `scripts/test.sh`
//! starts and loads: `timeline --cluster` gives exactly the timeline the offline engine gives on
//! the same events (both engines, also with queries split at a small row limit), `fetch` writes
//! each event once and analyses offline to the same story, `query` prints a runnable query and
//! refuses names that could inject, `--follow` ends by itself with its test-only poll limit, and
//! the user's errors (missing log group, no credentials) are one sentence and exit 2.
//!
//! Without KTRAIL_TEST_MOTO_PORT these tests print a note and return.

use std::collections::BTreeSet;

use assert_cmd::Command;
use ktrail_cloudwatch::peek;
use predicates::prelude::*;
use serde_json::Value;

use crate::decompress::decompress;
use crate::util::{moto, success, Moto};

impl Moto {
    fn json(&self, args: &[&str]) -> Value {
        let out = self.ktrail().args(args).output().expect("runs");
        assert!(
            out.status.code() == Some(0) || out.status.code() == Some(1),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("JSON output")
    }

    fn offline(&self, pod: &[&str], file: &str) -> Value {
        let mut args = vec!["timeline"];
        args.extend_from_slice(pod);
        args.extend(["-f", file, "-o", "json"]);
        args.extend(self.window());
        self.json(&args)
    }

    fn cloud(&self, pod: &[&str], extra: &[&str]) -> Value {
        let mut args = vec!["timeline"];
        args.extend_from_slice(pod);
        args.extend(["--cluster", "ironman-2022", "-o", "json"]);
        args.extend(self.window());
        args.extend_from_slice(extra);
        self.json(&args)
    }
}

#[test]
fn timeline_from_cloudwatch_equals_the_offline_timeline() {
    let Some(m) = moto() else { return };
    let file = m.file();
    let cases: [&[&str]; 6] = [
        &["fargate-ns/nginx"],
        &["default/nginx"],
        &["default/job-runner"],
        &["team-a/bad-pod"],
        &["-n", "team-a"],
        &[],
    ];
    for pod in cases {
        let offline = m.offline(pod, file);
        let pods = offline["pods"].as_array().expect("pods");
        assert!(!pods.is_empty(), "{pod:?} has pods offline");
        for extra in [&["--engine", "insights"][..], &["--engine", "filter"][..]] {
            let cloud = m.cloud(pod, extra);
            assert_eq!(cloud["pods"], offline["pods"], "{pod:?} {extra:?}");
        }
    }
    // Two incarnations of job-runner, a denied create, generateName pods.
    let jr = m.offline(&["default/job-runner"], file);
    assert_eq!(jr["pods"].as_array().map(Vec::len), Some(2));
    let bad = m.offline(&["team-a/bad-pod"], file);
    assert_eq!(bad["pods"][0]["denied"], Value::Bool(true));
}

#[test]
fn a_small_query_limit_splits_and_gives_the_same_timeline() {
    let Some(m) = moto() else { return };
    let offline = m.offline(&["-n", "team-a"], m.file());
    let cloud = m.cloud(
        &["-n", "team-a"],
        &["--query-limit", "400", "--concurrency", "2"],
    );
    assert_eq!(cloud["pods"], offline["pods"]);
}

#[test]
fn fetch_records_each_event_once_and_analyses_the_same() {
    let Some(m) = moto() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let local: Vec<String> = std::fs::read_to_string(&m.jsonl)
        .expect("jsonl")
        .lines()
        .map(str::to_string)
        .collect();
    let want: BTreeSet<_> = local.iter().filter_map(|l| peek(l)).collect();
    assert!(want.len() > 10_000);
    for (name, engine) in [("all.jsonl.zst", "insights"), ("all.jsonl.gz", "filter")] {
        let path = dir.path().join(name);
        let mut args = vec![
            "fetch",
            "--cluster",
            "ironman-2022",
            "--engine",
            engine,
            "-O",
        ];
        let p = path.to_str().expect("utf-8").to_string();
        args.push(&p);
        args.extend(m.window());
        m.ktrail()
            .args(&args)
            .assert()
            .success()
            .stdout(predicate::str::is_empty())
            .stderr(predicate::str::contains("wrote"));
        let text = decompress(&path);
        let keys: Vec<_> = text.lines().filter_map(peek).collect();
        let got: BTreeSet<_> = keys.iter().cloned().collect();
        assert_eq!(keys.len(), got.len(), "{name}: an event written twice");
        assert_eq!(
            got, want,
            "{name}: the recorded events differ from the loaded ones"
        );
        // Every line of the audit streams once; the two damaged lines are recorded as logged.
        assert_eq!(text.lines().count(), want.len() + 2, "{name}");
        // The recorded file tells the same stories as the loaded one.
        let a = m.offline(&[], p.as_str());
        let b = m.offline(&[], m.jsonl.to_str().expect("utf-8"));
        assert_eq!(a["pods"], b["pods"], "{name}");
    }
}

#[test]
fn fetch_of_one_pod_to_stdout() {
    let Some(m) = moto() else { return };
    let mut args = vec![
        "fetch",
        "fargate-ns/nginx",
        "--cluster",
        "ironman-2022",
        "-O",
        "-",
    ];
    args.extend(m.window());
    let text = String::from_utf8(success(m.ktrail().args(&args))).expect("utf-8");
    let events: Vec<Value> = text
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    // create, update, binding, two status patches: two stages each.
    assert_eq!(events.len(), 10, "{text}");
    assert!(events
        .iter()
        .all(|e| e["objectRef"]["name"] == "nginx" && e["objectRef"]["namespace"] == "fargate-ns"));
}

/// Asserts that `ktrail query ARGS` succeeds, for more assertions on what it wrote.
fn query_succeeds(m: &Moto, args: &[&str]) -> assert_cmd::assert::Assert {
    m.ktrail().arg("query").args(args).assert().success()
}

#[test]
fn query_prints_a_runnable_query_and_refuses_injection() {
    let Some(m) = moto() else { return };
    query_succeeds(&m, &["fargate-ns/nginx", "--cluster", "ironman-2022"])
        .stdout(predicate::str::starts_with(
            "filter @logStream like /^kube-apiserver-audit/\n",
        ))
        .stdout(predicate::str::contains(
            " | filter objectRef.name == 'nginx' or @message like /\"name\":\"nginx\"/\n",
        ))
        .stdout(predicate::str::ends_with(" | limit 10000\n"))
        .stderr(predicate::str::contains("/aws/eks/ironman-2022/cluster"));
    for bad in [
        "fargate-ns/ngi'nx",
        "fargate-ns/a|b",
        "x\"y/nginx",
        "fargate-ns/a\nb",
    ] {
        m.ktrail()
            .args(["query", bad, "--cluster", "ironman-2022"])
            .assert()
            .code(2)
            .stdout(predicate::str::is_empty())
            .stderr(predicate::str::contains("invalid"));
    }
    query_succeeds(
        &m,
        &[
            "--created",
            "0500-amazon-eks-fargate-mutation.amazonaws.com",
        ],
    )
    .stdout(predicate::str::contains(
        "objectRef.name == '0500-amazon-eks-fargate-mutation.amazonaws.com' and verb == 'create'",
    ));
    query_succeeds(&m, &["fargate-ns/nginx", "--engine", "filter"]).stdout(
        predicate::str::starts_with("{ ($.objectRef.resource = \"pods\")"),
    );
    assert_refused(
        m.ktrail()
            .args(["timeline", "default/x'", "--cluster", "ironman-2022"]),
        "invalid pod name",
    );
    assert_refused(
        m.ktrail()
            .args(["timeline", "default/x", "--cluster", "bad'cluster"]),
        "invalid cluster name",
    );
}

/// Asserts that `cmd` exits 2 saying `wanted` on stderr.
fn assert_refused(cmd: &mut Command, wanted: &str) {
    cmd.assert()
        .code(2)
        .stderr(predicate::str::contains(wanted));
}

#[test]
fn errors_a_user_meets_are_one_sentence_and_exit_2() {
    let Some(m) = moto() else { return };
    let mut args = vec!["timeline", "default/nginx", "--cluster", "no-such-cluster"];
    args.extend(m.window());
    // No kube-apiserver-audit stream has events a week before the load.
    let long_ago = [
        "timeline",
        "default/nginx",
        "--cluster",
        "ironman-2022",
        "--since",
        "2000-01-01T00:00:00Z",
        "--until",
        "2000-01-01T01:00:00Z",
    ];
    let both = [
        "timeline",
        "default/nginx",
        "--cluster",
        "ironman-2022",
        "-f",
        "x.log",
    ];
    // (arguments, without credentials, what stderr says)
    let cases: [(&[&str], bool, &str); 5] = [
        (
            &args,
            false,
            "audit logging must be enabled on the cluster, for example `aws eks update-cluster-config --name no-such-cluster",
        ),
        (&long_ago, false, "no kube-apiserver-audit streams"),
        (&args, true, "no AWS credentials found"),
        (
            &["fetch", "default/nginx", "-O", "-"],
            false,
            "--cluster NAME or --log-group NAME",
        ),
        (&both, false, "not both"),
    ];
    for (args, no_credentials, wanted) in cases {
        let mut cmd = m.ktrail();
        if no_credentials {
            cmd.env_remove("AWS_ACCESS_KEY_ID")
                .env_remove("AWS_SECRET_ACCESS_KEY");
        }
        assert_refused(cmd.args(args), wanted);
    }
}

#[test]
fn follow_prints_the_story_then_stops_by_itself() {
    let Some(m) = moto() else { return };
    let offline = m.offline(&["fargate-ns/nginx"], m.file());
    let events = offline["pods"][0]["events"]
        .as_array()
        .expect("events")
        .len();
    let mut follow = m.ktrail();
    follow
        .args([
            "timeline",
            "fargate-ns/nginx",
            "--cluster",
            "ironman-2022",
            "--since",
            &m.since,
            "--follow",
            "--poll-interval",
            "100ms",
            "--max-polls",
            "2",
            "-o",
            "json",
        ])
        .timeout(std::time::Duration::from_secs(60));
    let lines: Vec<Value> = String::from_utf8(success(&mut follow))
        .expect("utf-8")
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line per event"))
        .collect();
    assert_eq!(lines.len(), events);
    assert!(lines
        .iter()
        .all(|l| l["namespace"] == "fargate-ns" && l["name"] == "nginx"));
    assert_eq!(lines[0]["event"]["kind"], "create");
}

/// Audit events of pod follow-ns/p for the follow-restart test: `id-N` at `ms`.
fn follow_event(id: &str, verb: &str, ms: i64) -> String {
    let t = chrono::DateTime::from_timestamp_millis(ms)
        .expect("a time")
        .format("%Y-%m-%dT%H:%M:%S%.6fZ")
        .to_string();
    serde_json::json!({"kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": "Request",
        "auditID": id, "stage": "ResponseComplete", "verb": verb,
        "requestURI": "/api/v1/namespaces/follow-ns/pods/p", "user": {"username": "alice"},
        "sourceIPs": ["192.0.2.1"],
        "objectRef": {"resource": "pods", "namespace": "follow-ns", "name": "p", "apiVersion": "v1"},
        "responseStatus": {"metadata": {}, "code": 200},
        "requestObject": if verb == "create" {
            serde_json::json!({"kind": "Pod", "metadata": {"name": "p", "namespace": "follow-ns", "uid": "u-1"}})
        } else {
            serde_json::json!({"metadata": {"labels": {"n": id}}})
        },
        "requestReceivedTimestamp": t, "stageTimestamp": t})
    .to_string()
}

/// Puts events into `group` (created with its audit stream when missing) on the moto server.
fn put_events(port: &str, group: &str, events: &[(i64, String)]) {
    use aws_sdk_cloudwatchlogs::config::{BehaviorVersion, Credentials, Region};
    use aws_sdk_cloudwatchlogs::types::InputLogEvent;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let conf = aws_sdk_cloudwatchlogs::Config::builder()
            .http_client(ktrail_cloudwatch::aws::https_client())
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new("testing", "testing", None, None, "moto"))
            .endpoint_url(format!("http://127.0.0.1:{port}"))
            .build();
        let client = aws_sdk_cloudwatchlogs::Client::from_conf(conf);
        let stream = "kube-apiserver-audit-follow";
        let _ = client.create_log_group().log_group_name(group).send().await;
        let _ = client
            .create_log_stream()
            .log_group_name(group)
            .log_stream_name(stream)
            .send()
            .await;
        let mut req = client
            .put_log_events()
            .log_group_name(group)
            .log_stream_name(stream);
        for (ms, m) in events {
            req = req.log_events(
                InputLogEvent::builder()
                    .timestamp(*ms)
                    .message(m)
                    .build()
                    .expect("event"),
            );
        }
        req.send().await.expect("put_log_events");
    });
}

/// A follow stopped and started again with `--checkpoint` continues where it stopped: every event
/// once over both runs, also the events that share the last millisecond of the first run and
/// arrive after it stopped.
#[test]
fn follow_with_a_checkpoint_continues_without_gap_or_repeat() {
    let Some(m) = moto() else { return };
    for engine in ["insights", "filter"] {
        let cluster = format!("follow-restart-{engine}");
        let group = format!("/aws/eks/{cluster}/cluster");
        let dir = tempfile::tempdir().expect("tempdir");
        let checkpoint = dir.path().join("follow.json");
        let now = chrono::Utc::now().timestamp_millis();
        let last = now - 30_000;
        // The first run sees a create, two patches and three patches in the same millisecond.
        let mut first = vec![(now - 60_000, follow_event("id-00", "create", now - 60_000))];
        for (i, ms) in [
            (1, now - 50_000),
            (2, now - 40_000),
            (3, last),
            (4, last),
            (5, last),
        ] {
            first.push((ms, follow_event(&format!("id-{i:02}"), "patch", ms)));
        }
        put_events(&m.port, &group, &first);
        let run = || {
            let out = m
                .ktrail()
                .args([
                    "timeline",
                    "follow-ns/p",
                    "--cluster",
                    &cluster,
                    "--engine",
                    engine,
                    "--follow",
                    "--poll-interval",
                    "100ms",
                    "--max-polls",
                    "1",
                    "--checkpoint",
                    checkpoint.to_str().expect("utf-8"),
                    "-o",
                    "json",
                ])
                .timeout(std::time::Duration::from_secs(60))
                .output()
                .expect("runs");
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            String::from_utf8(out.stdout)
                .expect("utf-8")
                .lines()
                .map(|l| {
                    let v: Value = serde_json::from_str(l).expect("a JSON line per event");
                    v["event"]["auditID"].as_str().expect("auditID").to_string()
                })
                .collect::<Vec<_>>()
        };
        let a = run();
        assert_eq!(
            a,
            ["id-00", "id-01", "id-02", "id-03", "id-04", "id-05"],
            "{engine}"
        );
        assert!(checkpoint.exists(), "{engine}");
        // Arriving after the first run stopped: two more in the last millisecond it saw, and later.
        let mut second = Vec::new();
        for (i, ms) in [(6, last), (7, last), (8, last + 1), (9, now - 10_000)] {
            second.push((ms, follow_event(&format!("id-{i:02}"), "patch", ms)));
        }
        put_events(&m.port, &group, &second);
        let b = run();
        assert_eq!(b, ["id-06", "id-07", "id-08", "id-09"], "{engine}");
        // Started again with nothing new: nothing is printed twice.
        assert!(run().is_empty(), "{engine}");
    }
}

/// `fetch --redact` writes the events `fetch` writes, masked as `redact` masks them.
#[test]
fn fetch_redact_masks_the_recording() {
    let Some(m) = moto() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let fetch = |extra: &[&str], name: &str| {
        let path = dir.path().join(name);
        let p = path.to_str().expect("utf-8").to_string();
        let mut args = vec![
            "fetch",
            "-n",
            "default",
            "--cluster",
            "ironman-2022",
            "-O",
            &p,
        ];
        args.extend_from_slice(extra);
        args.extend(m.window());
        m.ktrail().args(&args).assert().success();
        decompress(&path)
    };
    let raw = fetch(&[], "raw.jsonl");
    let red = fetch(&["--redact"], "red.jsonl.gz");
    let addresses: BTreeSet<String> = raw
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .flat_map(|v| {
            v["sourceIPs"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .filter_map(|ip| ip.as_str().map(str::to_string))
        })
        .filter(|ip| {
            !ip.starts_with("127.") && !ip.starts_with("192.0.2.") && !ip.starts_with("::1")
        })
        .collect();
    assert!(!addresses.is_empty());
    for ip in &addresses {
        assert!(
            !red.contains(&format!("\"{ip}\"")),
            "{ip} left in the recording"
        );
    }
    // The same stories: pods, uids and events.
    let a = m.offline(&[], dir.path().join("raw.jsonl").to_str().expect("utf-8"));
    let b = m.offline(
        &[],
        dir.path().join("red.jsonl.gz").to_str().expect("utf-8"),
    );
    let shape = |r: &Value| -> Vec<(Value, Value, usize)> {
        r["pods"]
            .as_array()
            .expect("pods")
            .iter()
            .map(|p| {
                (
                    p["name"].clone(),
                    p["uid"].clone(),
                    p["events"].as_array().map_or(0, Vec::len),
                )
            })
            .collect()
    };
    assert_eq!(shape(&a), shape(&b));
}
