//! The CloudWatch source against a moto server loaded by `tests/moto/load.py`: more than 10,000
//! audit events over two audit streams (plus non-audit streams) must come back complete through
//! both engines, none lost and none doubled, also when queries hit their row limit and split.
//!
//! `scripts/test.sh` starts moto, loads it and sets KTRAIL_TEST_MOTO_PORT and
//! KTRAIL_TEST_MOTO_DATA; without them these tests print a note and return.
//!
//! moto ignores Logs Insights `filter` clauses and JSON filter patterns, so these tests also
//! prove that ktrail filters on the client.

use std::collections::BTreeSet;
use std::path::PathBuf;

use aws_sdk_cloudwatchlogs::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_cloudwatchlogs::Client;
use chrono::{DateTime, Utc};
use ktrail_cloudwatch::peek::AuditHead;
use ktrail_cloudwatch::{
    collect, collect_with, peek, write_fetch, Api, Cancel, CwError, CwEvent, CwSource, EventKey,
    Selection, Stats, Tuning,
};
use serde_json::Value;

#[path = "support/decompress.rs"]
mod support;
use support::decompress;

struct Moto {
    port: u16,
    manifest: Value,
    lines: Vec<String>,
}

fn moto() -> Option<Moto> {
    let Ok(port) = std::env::var("KTRAIL_TEST_MOTO_PORT") else {
        eprintln!(
            "note: KTRAIL_TEST_MOTO_PORT is not set; run scripts/test.sh to run the moto tests"
        );
        return None;
    };
    let port: u16 = port
        .parse()
        .expect("KTRAIL_TEST_MOTO_PORT is a port number");
    let dir = PathBuf::from(
        std::env::var("KTRAIL_TEST_MOTO_DATA")
            .expect("KTRAIL_TEST_MOTO_DATA (the directory load.py wrote) is set with the port"),
    );
    let manifest: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("manifest.json")).expect("manifest.json"),
    )
    .expect("manifest is JSON");
    let lines = std::fs::read_to_string(dir.join("audit.jsonl"))
        .expect("audit.jsonl")
        .lines()
        .map(str::to_string)
        .collect();
    Some(Moto {
        port,
        manifest,
        lines,
    })
}

impl Moto {
    fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn client(&self) -> Client {
        let conf = aws_sdk_cloudwatchlogs::Config::builder()
            .http_client(ktrail_cloudwatch::aws::https_client())
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new("testing", "testing", None, None, "moto"))
            .endpoint_url(self.endpoint())
            .build();
        Client::from_conf(conf)
    }

    fn time(&self, key: &str) -> DateTime<Utc> {
        self.manifest[key]
            .as_str()
            .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
            .map(|t| t.with_timezone(&Utc))
            .expect("manifest time")
    }

    fn source(&self) -> CwSource {
        let mut s = CwSource::new(self.time("since"), self.time("until"));
        s.cluster = self.manifest["cluster"].as_str().map(str::to_string);
        s.region = Some("us-east-1".into());
        s.endpoint_url = Some(self.endpoint());
        s.progress = false;
        s.handle_ctrl_c = false;
        s.tuning = Tuning {
            poll_initial: std::time::Duration::from_millis(20),
            ..Tuning::default()
        };
        s
    }

    /// The (auditID, stage) keys of the local file that the selection keeps.
    fn expected(&self, sel: &Selection) -> BTreeSet<EventKey> {
        self.lines
            .iter()
            .filter_map(|l| AuditHead::parse(l))
            .filter(|h| h.matches(sel))
            .map(|h| h.key())
            .collect()
    }
}

async fn run(m: &Moto, src: &CwSource, sel: &Selection) -> (Stats, Vec<CwEvent>) {
    let mut out = Vec::new();
    let stats = collect_with(&m.client(), src, sel, &Cancel::new(), |e| out.push(e))
        .await
        .expect("collect");
    (stats, out)
}

/// None lost, none doubled, in time order, only from audit streams. The two damaged lines of
/// the load (not audit events) are handed on for the reader to report, and counted.
fn check_complete(m: &Moto, sel: &Selection, stats: &Stats, out: &[CwEvent]) {
    let want = m.expected(sel);
    let keys: Vec<EventKey> = out.iter().filter_map(|e| peek(&e.message)).collect();
    let damaged = out.len() - keys.len();
    assert!(damaged <= 2, "{damaged} events that are not audit events");
    assert_eq!(stats.unreadable as usize, damaged);
    let got: BTreeSet<EventKey> = keys.iter().cloned().collect();
    assert_eq!(got.len(), keys.len(), "an (auditID, stage) came back twice");
    let lost: Vec<_> = want.difference(&got).take(5).collect();
    let extra: Vec<_> = got.difference(&want).take(5).collect();
    assert!(
        lost.is_empty(),
        "{} lost, e.g. {lost:?}",
        want.len() - got.len().min(want.len())
    );
    assert!(extra.is_empty(), "unexpected events, e.g. {extra:?}");
    assert!(
        out.windows(2)
            .all(|w| w[0].timestamp_ms <= w[1].timestamp_ms),
        "not in time order"
    );
    assert!(out
        .iter()
        .all(|e| e.stream.starts_with("kube-apiserver-audit-")));
    assert_eq!(stats.events as usize, out.len());
}

/// Every audit event through the emulator's source as `tune` changes it, checked complete.
async fn everything_complete(m: &Moto, tune: impl FnOnce(&mut CwSource)) -> (Stats, Vec<CwEvent>) {
    let sel = Selection::everything();
    let mut src = m.source();
    tune(&mut src);
    let (stats, out) = run(m, &src, &sel).await;
    check_complete(m, &sel, &stats, &out);
    (stats, out)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn insights_returns_every_audit_event() {
    let Some(m) = moto() else { return };
    let sel = Selection::everything();
    let want = m.expected(&sel);
    assert!(
        want.len() > 10_000,
        "the load holds {} audit events",
        want.len()
    );
    let (stats, out) = run(&m, &m.source(), &sel).await;
    check_complete(&m, &sel, &stats, &out);
    assert_eq!(out.len(), want.len() + 2);
    assert_eq!(stats.unreadable, 2);
    // The load re-delivers 5 records in the other stream: dropped as duplicates.
    assert!(stats.duplicates >= 5, "{stats:?}");
    // The klog and authenticator streams come back too (moto ignores the filter): skipped.
    assert!(stats.skipped >= 700, "{stats:?}");
    assert!(stats.queries >= 4);
    eprintln!("insights: {}", stats.summary());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filter_engine_returns_every_audit_event() {
    let Some(m) = moto() else { return };
    let (stats, out) = everything_complete(&m, |src| src.engine = Api::Filter).await;
    assert!(out.len() > 10_000);
    assert_eq!(stats.queries, 0);
    assert!(stats.filter_requests >= 4);
    eprintln!("filter: {}", stats.summary());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn small_limit_splits_and_stays_complete() {
    let Some(m) = moto() else { return };
    let (stats, _) = everything_complete(&m, |src| src.limit = 500).await;
    assert!(stats.splits > 10, "{stats:?}");
    // The burst second holds more than 500 events: read with FilterLogEvents.
    assert!(stats.fallbacks >= 1, "{stats:?}");
    eprintln!("limit 500: {}", stats.summary());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_window_over_ten_thousand_rows_is_split() {
    let Some(m) = moto() else { return };
    let (stats, _) = everything_complete(&m, |src| src.concurrency = 1).await;
    assert!(stats.splits >= 1, "{stats:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pod_selection_matches_the_offline_filter() {
    let Some(m) = moto() else { return };
    for (ns, name) in [
        ("fargate-ns", "nginx"),
        ("default", "job-runner"),
        ("team-a", "bad-pod"),
    ] {
        let sel = Selection::pod(ns, name).expect("valid");
        assert!(!m.expected(&sel).is_empty(), "{ns}/{name} is in the load");
        for engine in [Api::Insights, Api::Filter] {
            let mut src = m.source();
            src.engine = engine;
            let (stats, out) = run(&m, &src, &sel).await;
            check_complete(&m, &sel, &stats, &out);
        }
    }
    // A generateName pod: its create has no objectRef.name.
    let web = m.manifest["pods"]
        .as_array()
        .and_then(|p| {
            p.iter()
                .find_map(|p| p["name"].as_str().filter(|n| n.starts_with("web-")))
        })
        .expect("a web pod")
        .to_string();
    let sel = Selection::pod("team-a", &web).expect("valid");
    let (stats, out) = run(&m, &m.source(), &sel).await;
    check_complete(&m, &sel, &stats, &out);
    assert!(out
        .iter()
        .any(|e| e.message.contains("\"verb\":\"create\"") && e.message.contains("generateName")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fetch_writes_each_event_once() {
    let Some(m) = moto() else { return };
    let sel = Selection::everything();
    let (_, out) = run(&m, &m.source(), &sel).await;
    let dir = tempfile::tempdir().expect("tempdir");
    for name in ["fetch.jsonl", "fetch.jsonl.gz", "fetch.jsonl.zst"] {
        let path = dir.path().join(name);
        let st = write_fetch(out.clone(), path.to_str().expect("utf-8")).expect("write");
        let text = decompress(&path);
        let keys: Vec<EventKey> = text.lines().filter_map(peek).collect();
        let set: BTreeSet<EventKey> = keys.iter().cloned().collect();
        assert_eq!(keys.len(), set.len(), "{name}: a line written twice");
        assert_eq!(set, m.expected(&sel), "{name}");
        // The two damaged lines are recorded as logged.
        assert_eq!(st.written as usize, keys.len() + 2);
        assert_eq!(st.unreadable, 2);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_log_group_and_client_from_the_environment() {
    let Some(m) = moto() else { return };
    let mut src = m.source();
    src.cluster = Some("no-such-cluster".into());
    let mut n = 0;
    let e = collect_with(
        &m.client(),
        &src,
        &Selection::everything(),
        &Cancel::new(),
        |_| n += 1,
    )
    .await
    .expect_err("missing group");
    assert!(matches!(e, CwError::LogGroupMissing { .. }), "{e:?}");
    assert!(e.to_string().contains("--name no-such-cluster"), "{e}");
    // The standard chain (credentials from the environment the test script exports).
    if std::env::var_os("AWS_ACCESS_KEY_ID").is_some() {
        let sel = Selection::pod("fargate-ns", "nginx").expect("valid");
        let mut out = Vec::new();
        let stats = collect(&m.source(), &sel, |e| out.push(e))
            .await
            .expect("collect");
        check_complete(&m, &sel, &stats, &out);
    }
}
