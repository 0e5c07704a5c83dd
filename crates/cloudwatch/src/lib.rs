//! Reading Kubernetes audit events straight from CloudWatch Logs (EKS control plane logging).
//!
//! EKS writes the kube-apiserver audit log to the log group `/aws/eks/<cluster>/cluster`, in
//! streams named `kube-apiserver-audit-*`. This module gets every audit event of a selection in a
//! time window out of it, completely, and hands the raw events (in time order, each
//! `(auditID, stage)` once) to the same code that reads audit files:
//!
//! - [`Api::Insights`] runs Logs Insights queries over windows of the time range. A query that
//!   returns as many rows as its limit is incomplete: its window is split in halves, recursively,
//!   down to one second; a second that is still full is read with FilterLogEvents. Windows run
//!   concurrently in a bounded pool.
//! - [`Api::Filter`] pages through FilterLogEvents with a JSON filter pattern, at most five
//!   requests per second.
//!
//! Server-side filters only save bytes: every message that comes back is read again on the
//! client ([`peek`]) and kept only if it is an audit event of the selection from an audit stream.

pub mod aws;
mod collect;
pub mod error;
pub mod fetch;
mod filter;
mod insights;
pub mod peek;
mod progress;
pub mod query;
pub mod validate;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::watch;

pub use collect::{cancel_on_ctrl_c, collect, collect_with, follow, FollowOptions, FollowState};
pub use error::{CwError, IAM_ACTIONS};
pub use fetch::{write_fetch, FetchStats, FetchWriter};
pub use peek::{peek, EventKey};
pub use query::{build_created_query, build_filter_pattern, build_query, MAX_LIMIT};
pub use validate::{validate_k8s_name, NameKind};

/// The prefix of the log streams that hold the kube-apiserver audit log.
pub const AUDIT_STREAM_PREFIX: &str = "kube-apiserver-audit";

/// How events are read from CloudWatch Logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Api {
    /// Logs Insights queries over split windows (StartQuery / GetQueryResults).
    #[default]
    Insights,
    /// FilterLogEvents pages with a JSON filter pattern.
    Filter,
}

impl std::str::FromStr for Api {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "insights" => Ok(Api::Insights),
            "filter" => Ok(Api::Filter),
            other => Err(format!(
                "unknown engine {other:?}: expected insights or filter"
            )),
        }
    }
}

impl std::fmt::Display for Api {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Api::Insights => "insights",
            Api::Filter => "filter",
        })
    }
}

/// Timings and retry budgets; the defaults suit a live account, tests shorten them.
#[derive(Debug, Clone)]
pub struct Tuning {
    /// First delay between GetQueryResults polls.
    pub poll_initial: Duration,
    /// Longest delay between GetQueryResults polls.
    pub poll_max: Duration,
    /// First backoff after throttling.
    pub retry_base: Duration,
    /// Longest backoff after throttling.
    pub retry_max: Duration,
    /// Attempts of one call before giving up on throttling.
    pub max_attempts: u32,
    /// How often a Failed or Cancelled query is started again before giving up.
    pub failed_query_retries: u32,
    /// Smallest interval between two FilterLogEvents requests (its quota is 5 per second).
    pub filter_interval: Duration,
    /// Pages of DescribeLogStreams read when looking for audit streams before assuming some.
    pub max_stream_pages: u32,
    /// Events per FilterLogEvents page (`None`: the service's default, up to 10,000).
    pub filter_page_size: Option<i32>,
}

impl Default for Tuning {
    fn default() -> Self {
        Tuning {
            poll_initial: Duration::from_millis(500),
            poll_max: Duration::from_secs(5),
            retry_base: Duration::from_millis(500),
            retry_max: Duration::from_secs(20),
            max_attempts: 8,
            failed_query_retries: 2,
            filter_interval: Duration::from_millis(200),
            max_stream_pages: 20,
            filter_page_size: None,
        }
    }
}

impl Tuning {
    /// Short delays for tests against emulators and mocks.
    pub fn fast() -> Self {
        Tuning {
            poll_initial: Duration::from_millis(5),
            poll_max: Duration::from_millis(50),
            retry_base: Duration::from_millis(2),
            retry_max: Duration::from_millis(20),
            max_attempts: 5,
            failed_query_retries: 1,
            filter_interval: Duration::from_millis(1),
            max_stream_pages: 20,
            filter_page_size: None,
        }
    }
}

/// Where and when to read: a CloudWatch Logs log group and a time window.
#[derive(Debug, Clone)]
pub struct CwSource {
    /// EKS cluster name; the log group is `/aws/eks/<cluster>/cluster`.
    pub cluster: Option<String>,
    /// Log group name (overrides `cluster`).
    pub log_group: Option<String>,
    /// AWS region (else the default chain: AWS_REGION, profile, ...).
    pub region: Option<String>,
    /// AWS profile (else AWS_PROFILE or default).
    pub profile: Option<String>,
    /// Endpoint URL (else AWS_ENDPOINT_URL_CLOUDWATCH_LOGS / AWS_ENDPOINT_URL or the real one).
    pub endpoint_url: Option<String>,
    /// Start of the window (inclusive).
    pub since: DateTime<Utc>,
    /// End of the window (exclusive).
    pub until: DateTime<Utc>,
    /// How to read.
    pub engine: Api,
    /// Logs Insights queries (or FilterLogEvents windows) running at once.
    pub concurrency: usize,
    /// Rows per Logs Insights query (at most 10,000); a query returning this many is split.
    pub limit: usize,
    /// Show progress on stderr when stderr is a terminal.
    pub progress: bool,
    /// Stop running queries on Ctrl-C ([`collect`] and [`follow`] listen for it).
    pub handle_ctrl_c: bool,
    /// Check with DescribeLogGroups / DescribeLogStreams that the group and audit streams exist.
    pub preflight: bool,
    /// Timings and retry budgets.
    pub tuning: Tuning,
    /// The bound on connecting, on waiting for a response, and on each call with the SDK's own
    /// retries: an endpoint that accepts and never answers is an error after this long.
    pub timeout: Duration,
}

/// The default of [`CwSource::timeout`].
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

impl CwSource {
    /// A source over `[since, until)` with the defaults: Insights, concurrency 4, limit 10,000.
    pub fn new(since: DateTime<Utc>, until: DateTime<Utc>) -> Self {
        CwSource {
            cluster: None,
            log_group: None,
            region: None,
            profile: None,
            endpoint_url: None,
            since,
            until,
            engine: Api::Insights,
            concurrency: 4,
            limit: MAX_LIMIT,
            progress: true,
            handle_ctrl_c: true,
            preflight: true,
            tuning: Tuning::default(),
            timeout: DEFAULT_TIMEOUT,
        }
    }

    /// A source over the last hour.
    pub fn last_hour() -> Self {
        let now = Utc::now();
        Self::new(now - chrono::Duration::hours(1), now)
    }

    /// The log group to read, validated: `log_group`, else `/aws/eks/<cluster>/cluster`.
    pub fn log_group_name(&self) -> Result<String, CwError> {
        if let Some(g) = &self.log_group {
            validate_k8s_name(NameKind::LogGroup, g)?;
            return Ok(g.clone());
        }
        match &self.cluster {
            Some(c) => {
                validate_k8s_name(NameKind::Cluster, c)?;
                Ok(format!("/aws/eks/{c}/cluster"))
            }
            None => Err(CwError::InvalidName {
                kind: "log group name",
                value: String::new(),
                reason: "pass --cluster NAME or --log-group NAME",
            }),
        }
    }

    /// The cluster name for messages, or a placeholder.
    pub(crate) fn cluster_label(&self) -> String {
        if let Some(c) = &self.cluster {
            return c.clone();
        }
        if let Some(g) = &self.log_group {
            if let Some(c) = g
                .strip_prefix("/aws/eks/")
                .and_then(|r| r.strip_suffix("/cluster"))
            {
                return c.to_string();
            }
        }
        "CLUSTER".to_string()
    }

    /// Checks names and the window before anything is sent.
    pub fn validate(&self) -> Result<(), CwError> {
        self.log_group_name()?;
        if self.since >= self.until {
            return Err(CwError::EmptyWindow {
                since: rfc3339(self.since),
                until: rfc3339(self.until),
            });
        }
        Ok(())
    }

    /// A CloudWatch Logs client from the standard AWS configuration chain, with the region,
    /// profile and endpoint of this source; fails early when no region or credentials resolve.
    pub async fn client(&self) -> Result<aws_sdk_cloudwatchlogs::Client, CwError> {
        use aws_config::BehaviorVersion;

        let mut loader =
            aws_config::defaults(BehaviorVersion::latest()).http_client(aws::https_client());
        if let Some(r) = &self.region {
            loader = loader.region(aws_config::Region::new(r.clone()));
        }
        if let Some(p) = &self.profile {
            loader = loader.profile_name(p);
        }
        if let Some(e) = &self.endpoint_url {
            loader = loader.endpoint_url(e);
        }
        loader = loader.timeout_config(
            aws_config::timeout::TimeoutConfig::builder()
                .connect_timeout(self.timeout)
                .read_timeout(self.timeout)
                .operation_attempt_timeout(self.timeout)
                .operation_timeout(self.timeout)
                .build(),
        );
        // Resolving credentials may itself call out (SSO, instance metadata): bounded too.
        let resolve = async {
            let conf = loader.load().await;
            aws::check(&conf).await.map_err(|u| match u {
                aws::Unresolved::Region => CwError::NoRegion,
                aws::Unresolved::Credentials(detail) => CwError::NoCredentials { detail },
            })?;
            Ok::<_, CwError>(conf)
        };
        let conf = tokio::time::timeout(self.timeout, resolve)
            .await
            .map_err(|_| CwError::NoCredentials {
                detail: format!(
                    "resolving the AWS configuration and credentials took longer than {} (--timeout)",
                    secs(self.timeout)
                ),
            })??;
        Ok(aws_sdk_cloudwatchlogs::Client::new(&conf))
    }

    /// The endpoint calls go to, for messages: the one given, the one of the environment, or
    /// AWS's for the region.
    pub fn endpoint_label(&self, client: &aws_sdk_cloudwatchlogs::Client) -> String {
        if let Some(e) = &self.endpoint_url {
            return e.clone();
        }
        for var in ["AWS_ENDPOINT_URL_CLOUDWATCH_LOGS", "AWS_ENDPOINT_URL"] {
            if let Ok(e) = std::env::var(var) {
                if !e.is_empty() {
                    return e;
                }
            }
        }
        match client.config().region() {
            Some(r) => format!("https://logs.{r}.amazonaws.com"),
            None => "the CloudWatch Logs endpoint".into(),
        }
    }
}

/// A duration for messages: `30s`, `1.5s`.
pub(crate) fn secs(d: Duration) -> String {
    let ms = d.as_millis();
    if ms % 1000 == 0 {
        format!("{}s", ms / 1000)
    } else {
        format!("{}s", ms as f64 / 1000.0)
    }
}

/// RFC 3339 UTC with milliseconds, for messages.
pub(crate) fn rfc3339(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// Which audit events to read.
///
/// The defaults select the writes (and exec/attach/portforward) of pods; `all_resources` and
/// `reads` widen that, for recording every audit event of a window.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selection {
    /// Only this namespace.
    pub namespace: Option<String>,
    /// Only objects of this name (including pods created with generateName whose response
    /// carries it).
    pub name: Option<String>,
    /// Only events carrying this uid (objectRef, request or response metadata, delete
    /// preconditions). Ignored when `name` is set: events of a named pod without a uid must reach
    /// the engine, which splits incarnations itself.
    pub uid: Option<String>,
    /// Every resource, not only pods.
    pub all_resources: bool,
    /// Also get, list and watch.
    pub reads: bool,
    /// Also writes to mutating and validating webhook configurations (any name), which the
    /// timeline keeps for provenance.
    pub configs: bool,
}

impl Selection {
    /// A pod by namespace and name.
    pub fn pod(namespace: &str, name: &str) -> Result<Self, CwError> {
        let s = Selection {
            namespace: Some(namespace.to_string()),
            name: Some(name.to_string()),
            ..Selection::default()
        };
        s.validate()?;
        Ok(s)
    }

    /// Every audit event.
    pub fn everything() -> Self {
        Selection {
            all_resources: true,
            reads: true,
            ..Selection::default()
        }
    }

    /// The same selection without webhook configurations (for the query people paste).
    pub fn without_configs(mut self) -> Self {
        self.configs = false;
        self
    }

    /// Validates every value that goes into a query.
    pub fn validate(&self) -> Result<(), CwError> {
        if let Some(ns) = &self.namespace {
            validate_k8s_name(NameKind::Namespace, ns)?;
        }
        if let Some(n) = &self.name {
            validate_k8s_name(NameKind::Pod, n)?;
        }
        if let Some(u) = &self.uid {
            validate_k8s_name(NameKind::Uid, u)?;
        }
        Ok(())
    }
}

/// One raw event as CloudWatch Logs returned it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CwEvent {
    /// The CloudWatch timestamp, epoch milliseconds.
    pub timestamp_ms: i64,
    /// The log stream.
    pub stream: String,
    /// The raw message: one audit event as JSON.
    pub message: String,
}

/// What a collection did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Stats {
    /// Windows completed.
    pub windows: u64,
    /// Windows split because their query was full (or timed out).
    pub splits: u64,
    /// Logs Insights queries started.
    pub queries: u64,
    /// One-second windows read with FilterLogEvents because they were still full.
    pub fallbacks: u64,
    /// FilterLogEvents requests.
    pub filter_requests: u64,
    /// Calls retried after throttling or a transient error.
    pub retries: u64,
    /// Rows or events returned by the server, in their windows.
    pub rows: u64,
    /// Audit events handed on.
    pub events: u64,
    /// Events dropped as repeats of an (auditID, stage) already handed on.
    pub duplicates: u64,
    /// Events dropped: not from an audit stream, or audit events outside the selection.
    pub skipped: u64,
    /// Messages of audit streams that are not readable audit events (e.g. truncated by
    /// CloudWatch), handed on for the reader to report.
    pub unreadable: u64,
    /// Bytes Logs Insights scanned, when it reported statistics.
    pub bytes_scanned: Option<f64>,
    /// Records Logs Insights scanned, when it reported statistics.
    pub records_scanned: Option<f64>,
}

/// Logs Insights price, USD per GB scanned.
pub const USD_PER_GB_SCANNED: f64 = 0.005;

impl Stats {
    /// Estimated Logs Insights cost in USD ($0.005 per GB scanned), when bytes are known.
    pub fn estimated_cost_usd(&self) -> Option<f64> {
        self.bytes_scanned
            .map(|b| b / (1024.0 * 1024.0 * 1024.0) * USD_PER_GB_SCANNED)
    }

    /// One line for stderr at the end: events, windows, bytes scanned and estimated cost.
    pub fn summary(&self) -> String {
        let mut s = format!(
            "{} audit events from {} windows ({} Logs Insights queries, {} FilterLogEvents requests)",
            self.events, self.windows, self.queries, self.filter_requests
        );
        match (self.bytes_scanned, self.estimated_cost_usd()) {
            (Some(b), Some(c)) => s.push_str(&format!(
                "; Logs Insights scanned {}, estimated cost ${c:.4}",
                human_bytes(b)
            )),
            _ if self.queries > 0 => s.push_str("; Logs Insights reported no bytes scanned"),
            _ => {}
        }
        s
    }

    pub(crate) fn add_scanned(&mut self, bytes: f64, records: f64) {
        *self.bytes_scanned.get_or_insert(0.0) += bytes;
        *self.records_scanned.get_or_insert(0.0) += records;
    }
}

/// Bytes as B, KB, MB or GB (powers of 1024).
pub(crate) fn human_bytes(b: f64) -> String {
    const UNITS: [&str; 5] = ["B", "KB", "MB", "GB", "TB"];
    let mut v = b;
    let mut i = 0;
    while v >= 1024.0 && i + 1 < UNITS.len() {
        v /= 1024.0;
        i += 1;
    }
    if i == 0 {
        format!("{v:.0} B")
    } else {
        format!("{v:.1} {}", UNITS[i])
    }
}

/// A cancellation flag shared by the tasks of a collection (Ctrl-C, or a fatal error).
#[derive(Debug, Clone)]
pub struct Cancel {
    tx: Arc<watch::Sender<bool>>,
}

impl Default for Cancel {
    fn default() -> Self {
        Self::new()
    }
}

impl Cancel {
    /// A flag that is not set.
    pub fn new() -> Self {
        Cancel {
            tx: Arc::new(watch::channel(false).0),
        }
    }

    /// Sets the flag; running queries are stopped. Callable from any thread, e.g. a signal
    /// handler thread.
    pub fn cancel(&self) {
        self.tx.send_replace(true);
    }

    /// Whether the flag is set.
    pub fn is_cancelled(&self) -> bool {
        *self.tx.borrow()
    }

    /// Resolves once the flag is set.
    pub async fn cancelled(&self) {
        let mut rx = self.tx.subscribe();
        // The sender lives in self, so wait_for cannot fail while we hold it.
        let _ = rx.wait_for(|v| *v).await;
    }

    /// A flag that is set when this one is (and can also be set on its own).
    pub(crate) fn child(&self) -> (Cancel, tokio::task::JoinHandle<()>) {
        let child = Cancel::new();
        let parent = self.clone();
        let c2 = child.clone();
        let h = tokio::spawn(async move {
            parent.cancelled().await;
            c2.cancel();
        });
        (child, h)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_group_from_cluster() {
        let mut s = CwSource::last_hour();
        s.cluster = Some("ironman-2022".into());
        assert_eq!(
            s.log_group_name().expect("g"),
            "/aws/eks/ironman-2022/cluster"
        );
        s.log_group = Some("/custom/group".into());
        assert_eq!(s.log_group_name().expect("g"), "/custom/group");
        s.log_group = Some("bad group".into());
        assert!(s.log_group_name().is_err());
        s.log_group = None;
        s.cluster = Some("bad'name".into());
        assert!(s.log_group_name().is_err());
        s.cluster = None;
        assert!(s.log_group_name().is_err());
    }

    #[test]
    fn empty_window_is_refused() {
        let now = Utc::now();
        let mut s = CwSource::new(now, now);
        s.cluster = Some("c".into());
        assert!(matches!(s.validate(), Err(CwError::EmptyWindow { .. })));
    }

    #[test]
    fn cost_and_summary() {
        let s = Stats {
            events: 3,
            windows: 2,
            queries: 2,
            bytes_scanned: Some(2.0 * 1024.0 * 1024.0 * 1024.0),
            ..Stats::default()
        };
        assert_eq!(s.estimated_cost_usd(), Some(0.01));
        let line = s.summary();
        assert!(line.contains("scanned 2.0 GB"), "{line}");
        assert!(line.contains("$0.0100"), "{line}");
        assert!(Stats::default().estimated_cost_usd().is_none());
        assert_eq!(human_bytes(512.0), "512 B");
    }

    #[test]
    fn engine_parses() {
        assert_eq!("insights".parse::<Api>(), Ok(Api::Insights));
        assert_eq!("filter".parse::<Api>(), Ok(Api::Filter));
        assert!("x".parse::<Api>().is_err());
    }
}
