//! Failure paths of the CloudWatch source against the SDK's mock client: throttling, Failed and
//! Timeout queries, access denied, a window over the row limit, a missing log group, no audit
//! streams, FilterLogEvents paging, and Ctrl-C stopping running queries.
//!
//! A tiny fake of Logs Insights (`Fake`) answers StartQuery / GetQueryResults / FilterLogEvents
//! from a list of events, with the emulator's inclusive whole-second time range and row limit.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_cloudwatchlogs::config::retry::RetryConfig;
use aws_sdk_cloudwatchlogs::error::ErrorMetadata;
use aws_sdk_cloudwatchlogs::operation::describe_log_groups::DescribeLogGroupsOutput;
use aws_sdk_cloudwatchlogs::operation::describe_log_streams::DescribeLogStreamsOutput;
use aws_sdk_cloudwatchlogs::operation::filter_log_events::{
    FilterLogEventsInput, FilterLogEventsOutput,
};
use aws_sdk_cloudwatchlogs::operation::get_query_results::{
    GetQueryResultsError, GetQueryResultsOutput,
};
use aws_sdk_cloudwatchlogs::operation::start_query::{
    StartQueryError, StartQueryInput, StartQueryOutput,
};
use aws_sdk_cloudwatchlogs::operation::stop_query::StopQueryError;
use aws_sdk_cloudwatchlogs::types::{
    FilteredLogEvent, LogGroup, LogStream, QueryStatistics, QueryStatus, ResultField,
};
use aws_sdk_cloudwatchlogs::Client;
use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};
use chrono::{TimeZone, Utc};
use ktrail_cloudwatch::{
    collect_with, Api, Cancel, CwError, CwEvent, CwSource, Selection, Stats, Tuning,
};

const T0: i64 = 1_663_704_000; // 2022-09-20T20:00:00Z, in seconds

fn audit(id: usize, ts_ms: i64) -> String {
    format!(
        r#"{{"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"id-{id}","stage":"ResponseComplete","verb":"patch","objectRef":{{"resource":"pods","namespace":"default","name":"p{}"}},"stageTimestamp":"{}"}}"#,
        id % 3,
        Utc.timestamp_millis_opt(ts_ms)
            .single()
            .expect("valid time")
            .format("%Y-%m-%dT%H:%M:%S%.6fZ")
    )
}

/// Events at the given (second offset, millisecond) positions, in an audit stream.
fn events(at: &[(i64, i64)]) -> Vec<CwEvent> {
    at.iter()
        .enumerate()
        .map(|(i, (s, ms))| {
            let ts = (T0 + s) * 1000 + ms;
            CwEvent {
                timestamp_ms: ts,
                stream: format!("kube-apiserver-audit-{}", i % 2),
                message: audit(i, ts),
            }
        })
        .collect()
}

/// A fake Logs Insights: queries are named by their time range; results honour the limit.
#[derive(Clone, Default)]
struct Fake {
    events: Arc<Vec<CwEvent>>,
    polls: Arc<Mutex<HashMap<String, u32>>>,
    /// Query ids (start:end) whose status is forced.
    forced: Arc<HashMap<String, QueryStatus>>,
    /// Polls answered Running before Complete.
    running_polls: u32,
}

impl Fake {
    fn new(events: Vec<CwEvent>) -> Self {
        Fake {
            events: Arc::new(events),
            ..Fake::default()
        }
    }

    fn start(&self, req: &StartQueryInput) -> StartQueryOutput {
        let id = format!(
            "{}:{}:{}",
            req.start_time().unwrap_or(0),
            req.end_time().unwrap_or(0),
            req.limit().unwrap_or(10_000)
        );
        StartQueryOutput::builder().query_id(id).build()
    }

    fn results(&self, id: &str) -> GetQueryResultsOutput {
        let parts: Vec<i64> = id.split(':').filter_map(|p| p.parse().ok()).collect();
        let (start, end, limit) = (parts[0], parts[1], parts[2] as usize);
        let key = format!("{start}:{end}");
        if let Some(st) = self.forced.get(&key) {
            return GetQueryResultsOutput::builder().status(st.clone()).build();
        }
        let n = {
            let mut polls = self.polls.lock().expect("lock");
            let n = polls.entry(id.to_string()).or_insert(0);
            *n += 1;
            *n
        };
        if n <= self.running_polls {
            return GetQueryResultsOutput::builder()
                .status(QueryStatus::Running)
                .build();
        }
        let mut rows: Vec<&CwEvent> = self
            .events
            .iter()
            .filter(|e| e.timestamp_ms >= start * 1000 && e.timestamp_ms <= end * 1000)
            .collect();
        rows.sort_by_key(|e| e.timestamp_ms);
        rows.truncate(limit);
        let mut out = GetQueryResultsOutput::builder()
            .status(QueryStatus::Complete)
            .statistics(
                QueryStatistics::builder()
                    .bytes_scanned(1024.0 * 1024.0)
                    .records_scanned(self.events.len() as f64)
                    .build(),
            );
        for e in rows {
            out = out.results(vec![
                field("@timestamp", &e.timestamp_ms.to_string()),
                field("@message", &e.message),
                field("@logStream", &e.stream),
                field("@ptr", "x"),
            ]);
        }
        out.build()
    }

    /// FilterLogEvents in pages of two events.
    fn filter(&self, req: &FilterLogEventsInput) -> FilterLogEventsOutput {
        let start = req.start_time().unwrap_or(i64::MIN);
        let end = req.end_time().unwrap_or(i64::MAX);
        let from: usize = req.next_token().and_then(|t| t.parse().ok()).unwrap_or(0);
        let matching: Vec<&CwEvent> = self
            .events
            .iter()
            .filter(|e| e.timestamp_ms >= start && e.timestamp_ms <= end)
            .collect();
        let mut out = FilterLogEventsOutput::builder();
        for e in matching.iter().skip(from).take(2) {
            out = out.events(
                FilteredLogEvent::builder()
                    .timestamp(e.timestamp_ms)
                    .message(e.message.clone())
                    .log_stream_name(e.stream.clone())
                    .build(),
            );
        }
        if from + 2 < matching.len() {
            out = out.next_token((from + 2).to_string());
        }
        out.build()
    }
}

fn field(name: &str, value: &str) -> ResultField {
    ResultField::builder().field(name).value(value).build()
}

fn rules(fake: &Fake) -> Vec<Rule> {
    let f1 = fake.clone();
    let f2 = fake.clone();
    let f3 = fake.clone();
    vec![
        mock!(Client::start_query).then_compute_output(move |req| f1.start(req)),
        mock!(Client::get_query_results)
            .then_compute_output(move |req| f2.results(req.query_id().unwrap_or_default())),
        mock!(Client::filter_log_events).then_compute_output(move |req| f3.filter(req)),
        mock!(Client::stop_query).then_error(|| {
            StopQueryError::generic(ErrorMetadata::builder().code("InternalFailure").build())
        }),
    ]
}

fn client(rules: &[Rule]) -> Client {
    let refs: Vec<&Rule> = rules.iter().collect();
    mock_client!(aws_sdk_cloudwatchlogs, RuleMode::MatchAny, refs, |c| c
        .retry_config(RetryConfig::disabled()))
}

fn source(seconds: i64) -> CwSource {
    let since = Utc.timestamp_opt(T0, 0).single().expect("time");
    let until = Utc.timestamp_opt(T0 + seconds, 0).single().expect("time");
    let mut s = CwSource::new(since, until);
    s.cluster = Some("ironman-2022".into());
    s.progress = false;
    s.handle_ctrl_c = false;
    s.preflight = false;
    s.tuning = Tuning::fast();
    s
}

/// A fake over `evs` whose query of the whole window of `seconds` ends with `status`.
fn forcing(seconds: i64, status: QueryStatus, evs: Vec<CwEvent>) -> Fake {
    Fake {
        forced: Arc::new(HashMap::from([(
            format!("{}:{}", T0, T0 + seconds),
            status,
        )])),
        ..Fake::new(evs)
    }
}

/// Everything of a window of `seconds` collected against `rules`, one query at a time.
async fn one_at_a_time(rules: &[Rule], seconds: i64) -> (Result<Stats, CwError>, Vec<CwEvent>) {
    let c = client(rules);
    let mut src = source(seconds);
    src.concurrency = 1;
    run(&c, &src, &everything()).await
}

fn everything() -> Selection {
    Selection::everything()
}

async fn run(
    client: &Client,
    src: &CwSource,
    sel: &Selection,
) -> (Result<Stats, CwError>, Vec<CwEvent>) {
    let mut out = Vec::new();
    let r = collect_with(client, src, sel, &Cancel::new(), |e| out.push(e)).await;
    (r, out)
}

fn ids(events: &[CwEvent]) -> Vec<i64> {
    events.iter().map(|e| e.timestamp_ms).collect()
}

#[tokio::test]
async fn throttling_then_success() {
    let fake = Fake {
        running_polls: 2,
        ..Fake::new(events(&[(0, 10), (1, 20), (2, 30)]))
    };
    let throttle = mock!(Client::start_query)
        .sequence()
        .error(|| {
            StartQueryError::generic(
                ErrorMetadata::builder()
                    .code("ThrottlingException")
                    .message("Rate exceeded")
                    .build(),
            )
        })
        .times(2)
        .error(|| {
            StartQueryError::LimitExceededException(
                aws_sdk_cloudwatchlogs::types::error::LimitExceededException::builder()
                    .message("too many concurrent queries")
                    .meta(
                        ErrorMetadata::builder()
                            .code("LimitExceededException")
                            .build(),
                    )
                    .build(),
            )
        })
        .build();
    let poll_throttle = mock!(Client::get_query_results)
        .sequence()
        .error(|| {
            GetQueryResultsError::generic(
                ErrorMetadata::builder().code("ThrottlingException").build(),
            )
        })
        .build();
    let mut all = vec![throttle.clone(), poll_throttle.clone()];
    all.extend(rules(&fake));
    let (r, out) = one_at_a_time(&all, 3).await;
    let stats = r.expect("collect succeeds after throttling");
    assert_eq!(out.len(), 3);
    assert_eq!(throttle.num_calls(), 3);
    assert_eq!(poll_throttle.num_calls(), 1);
    assert_eq!(stats.retries, 4);
    assert_eq!(stats.queries, 1);
    assert_eq!(stats.events, 3);
    assert_eq!(stats.bytes_scanned, Some(1024.0 * 1024.0));
}

#[tokio::test]
async fn throttling_forever_gives_up_with_a_clear_error() {
    let throttle = mock!(Client::start_query).then_error(|| {
        StartQueryError::generic(ErrorMetadata::builder().code("ThrottlingException").build())
    });
    let (r, _) = one_at_a_time(std::slice::from_ref(&throttle), 3).await;
    let e = r.expect_err("gives up");
    assert!(matches!(e, CwError::Throttled { .. }), "{e:?}");
    assert!(e.to_string().contains("lower --concurrency"), "{e}");
    assert_eq!(throttle.num_calls() as u32, Tuning::fast().max_attempts);
}

#[tokio::test]
async fn failed_query_is_retried_then_reported() {
    let fake = forcing(3, QueryStatus::Failed, events(&[(0, 10)]));
    let all = rules(&fake);
    let (r, out) = one_at_a_time(&all, 3).await;
    let e = r.expect_err("a Failed query is an error");
    assert!(out.is_empty());
    match &e {
        CwError::QueryFailed { status, .. } => assert_eq!(status, "Failed"),
        other => panic!("unexpected {other:?}"),
    }
    assert!(e.to_string().contains("ended with status Failed"), "{e}");
    // Started once, then once more (failed_query_retries = 1).
    assert_eq!(all[0].num_calls(), 2);
}

#[tokio::test]
async fn timed_out_query_is_split() {
    let evs = events(&[(0, 1), (1, 2), (2, 3), (3, 4)]);
    let fake = forcing(4, QueryStatus::Timeout, evs.clone());
    let all = rules(&fake);
    let (r, out) = one_at_a_time(&all, 4).await;
    let stats = r.expect("split after timeout");
    assert_eq!(ids(&out), ids(&evs));
    assert_eq!(stats.splits, 1);
    assert_eq!(stats.queries, 3);
}

#[tokio::test]
async fn access_denied_names_the_iam_actions() {
    let denied = mock!(Client::start_query).then_error(|| {
        StartQueryError::generic(
            ErrorMetadata::builder()
                .code("AccessDeniedException")
                .message("User is not authorized to perform: logs:StartQuery")
                .build(),
        )
    });
    let c = client(&[denied]);
    let (r, _) = run(&c, &source(3), &everything()).await;
    let e = r.expect_err("denied");
    let msg = e.to_string();
    for action in [
        "logs:StartQuery",
        "logs:GetQueryResults",
        "logs:StopQuery",
        "logs:FilterLogEvents",
        "logs:DescribeLogGroups",
    ] {
        assert!(msg.contains(action), "{msg}");
    }
    assert!(msg.contains("/aws/eks/ironman-2022/cluster"), "{msg}");
    assert!(!msg.contains('\n'));
    assert_eq!(e.exit_code(), 2);
}

#[tokio::test]
async fn window_over_the_limit_is_split_and_complete() {
    // 2 events a second for 16 seconds, plus one second with 7 events: limit 3 forces splits
    // down to single seconds, and the crowded second is read with FilterLogEvents.
    let mut at: Vec<(i64, i64)> = (0..16).flat_map(|s| [(s, 100), (s, 600)]).collect();
    at.extend((0..7).map(|i| (9, 700 + i * 10)));
    let evs = events(&at);
    let fake = Fake::new(evs.clone());
    let all = rules(&fake);
    let c = client(&all);
    let mut src = source(16);
    src.limit = 3;
    src.concurrency = 3;
    let (r, out) = run(&c, &src, &everything()).await;
    let stats = r.expect("complete");
    let mut want = ids(&evs);
    want.sort();
    assert_eq!(ids(&out), want, "every event once, in time order");
    assert!(stats.splits >= 8, "{stats:?}");
    assert_eq!(stats.fallbacks, 1, "{stats:?}");
    assert!(stats.filter_requests >= 4, "{stats:?}");
    assert_eq!(stats.events, evs.len() as u64);
    assert_eq!(stats.duplicates, 0);
}

#[tokio::test]
async fn selection_is_applied_on_the_client() {
    let evs = events(&[(0, 1), (0, 2), (1, 3), (1, 4), (2, 5), (2, 6)]);
    let mut noisy = evs.clone();
    noisy.push(CwEvent {
        timestamp_ms: (T0 + 1) * 1000,
        stream: "kube-apiserver-0123".into(),
        message: audit(0, (T0 + 1) * 1000).replace("id-0", "id-klog"),
    });
    noisy.push(CwEvent {
        timestamp_ms: (T0 + 1) * 1000 + 1,
        stream: "kube-apiserver-audit-0".into(),
        message: "not json".into(),
    });
    // An exact duplicate in the other stream.
    noisy.push(CwEvent {
        stream: "kube-apiserver-audit-1".into(),
        ..evs[0].clone()
    });
    let fake = Fake::new(noisy);
    let all = rules(&fake);
    let c = client(&all);
    let sel = Selection::pod("default", "p1").expect("selection");
    let (r, out) = run(&c, &source(3), &sel).await;
    let stats = r.expect("ok");
    // ids 1 and 4 are p1 (id % 3 == 1); the unreadable line of an audit stream is handed on
    // for the reader to report, whatever the selection.
    let readable: Vec<&CwEvent> = out.iter().filter(|e| e.message != "not json").collect();
    assert_eq!(readable.len(), 2, "{out:?}");
    assert!(readable
        .iter()
        .all(|e| e.message.contains("\"name\":\"p1\"")));
    assert_eq!(out.len(), 3);
    assert_eq!(stats.unreadable, 1);
    assert_eq!(stats.duplicates, 0);
    let (r, out) = run(&c, &source(3), &everything()).await;
    let stats = r.expect("ok");
    assert_eq!(out.len(), 7);
    assert_eq!(stats.duplicates, 1);
    // The klog line of a kube-apiserver stream.
    assert_eq!(stats.skipped, 1);
    assert_eq!(stats.unreadable, 1);
}

#[tokio::test]
async fn filter_engine_pages_and_keeps_audit_streams_only() {
    let evs = events(&[(0, 1), (0, 2), (1, 3), (5, 4), (6, 5), (7, 6), (9, 7)]);
    let mut noisy = evs.clone();
    noisy.push(CwEvent {
        timestamp_ms: (T0 + 2) * 1000,
        stream: "authenticator-abc".into(),
        message: "time=\"x\" level=info msg=\"access granted\"".into(),
    });
    let fake = Fake::new(noisy);
    let all = rules(&fake);
    let c = client(&all);
    let mut src = source(10);
    src.engine = Api::Filter;
    src.concurrency = 2;
    let (r, out) = run(&c, &src, &everything()).await;
    let stats = r.expect("ok");
    assert_eq!(ids(&out), ids(&evs));
    assert_eq!(stats.queries, 0);
    assert!(stats.filter_requests >= 4, "{stats:?}");
    assert_eq!(stats.skipped, 1);
    assert!(stats.bytes_scanned.is_none());
}

/// The log group of the cluster `source` names.
const CLUSTER_GROUP: &str = "/aws/eks/ironman-2022/cluster";

/// DescribeLogGroups answering with the one group `name`.
fn log_group(name: &'static str) -> Rule {
    mock!(Client::describe_log_groups).then_output(move || {
        DescribeLogGroupsOutput::builder()
            .log_groups(LogGroup::builder().log_group_name(name).build())
            .build()
    })
}

/// DescribeLogStreams answering with one audit stream: its first and last event, and its last
/// ingestion, in seconds.
fn audit_stream(first: i64, last: i64, ingested: i64) -> Rule {
    mock!(Client::describe_log_streams).then_output(move || {
        DescribeLogStreamsOutput::builder()
            .log_streams(
                LogStream::builder()
                    .log_stream_name("kube-apiserver-audit-0")
                    .first_event_timestamp(first * 1000)
                    .last_event_timestamp(last * 1000)
                    .last_ingestion_time(ingested * 1000)
                    .build(),
            )
            .build()
    })
}

/// A three-second collection of everything, with the preflight checks, against `rules`.
async fn preflight(rules: &[Rule]) -> (Result<Stats, CwError>, Vec<CwEvent>) {
    let c = client(rules);
    let mut src = source(3);
    src.preflight = true;
    run(&c, &src, &everything()).await
}

#[tokio::test]
async fn missing_log_group_says_how_to_enable_audit_logging() {
    let (r, _) = preflight(&[log_group("/aws/eks/ironman-2022/cluster-other")]).await;
    let e = r.expect_err("missing");
    let msg = e.to_string();
    assert!(matches!(e, CwError::LogGroupMissing { .. }));
    assert!(
        msg.contains(
            "aws eks update-cluster-config --name ironman-2022 --logging '{\"clusterLogging\":[{\"types\":[\"audit\"],\"enabled\":true}]}'"
        ),
        "{msg}"
    );
}

#[tokio::test]
async fn no_audit_streams_in_the_window() {
    // One audit stream, whose events ended a day before the window.
    let streams = audit_stream(T0 - 90_000, T0 - 86_400, T0 - 86_400);
    let (r, _) = preflight(&[log_group(CLUSTER_GROUP), streams]).await;
    let e = r.expect_err("no streams");
    assert!(matches!(e, CwError::NoAuditStreams { .. }), "{e:?}");
    assert!(
        e.to_string().contains("no kube-apiserver-audit streams"),
        "{e}"
    );
}

#[tokio::test]
async fn preflight_passes_with_an_audit_stream_in_the_window() {
    // Ingested after the window started: lastEventTimestamp lags.
    let streams = audit_stream(T0 - 10, T0 - 5, T0 + 1);
    let fake = Fake::new(events(&[(0, 1)]));
    let mut all = vec![log_group(CLUSTER_GROUP), streams];
    all.extend(rules(&fake));
    let (r, out) = preflight(&all).await;
    r.expect("ok");
    assert_eq!(out.len(), 1);
}

#[tokio::test]
async fn cancel_stops_running_queries() {
    let running = mock!(Client::get_query_results).then_output(|| {
        GetQueryResultsOutput::builder()
            .status(QueryStatus::Running)
            .build()
    });
    let start = mock!(Client::start_query)
        .then_output(|| StartQueryOutput::builder().query_id("q").build());
    let stop = mock!(Client::stop_query).then_error(|| {
        StopQueryError::generic(ErrorMetadata::builder().code("InternalFailure").build())
    });
    let c = client(&[start, running, stop.clone()]);
    let mut src = source(60);
    src.concurrency = 2;
    let cancel = Cancel::new();
    let c2 = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(100)).await;
        c2.cancel();
    });
    let r = tokio::time::timeout(
        Duration::from_secs(10),
        collect_with(&c, &src, &everything(), &cancel, |_| {}),
    )
    .await
    .expect("returns promptly");
    let e = r.expect_err("interrupted");
    assert!(matches!(e, CwError::Interrupted), "{e:?}");
    assert_eq!(e.exit_code(), 130);
    // Both running queries were stopped, and StopQuery's failure was tolerated.
    assert_eq!(stop.num_calls(), 2);
}

#[tokio::test]
async fn invalid_names_never_reach_the_service() {
    let c = client(&[]);
    for bad in ["ngi'nx", "a|b", "a/b", "a\nb", "a.*"] {
        let sel = Selection {
            namespace: Some("default".into()),
            name: Some(bad.into()),
            ..Selection::default()
        };
        let (r, _) = run(&c, &source(3), &sel).await;
        let e = r.expect_err("refused");
        assert!(matches!(e, CwError::InvalidName { .. }), "{e:?}");
        assert_eq!(e.exit_code(), 2);
    }
}
