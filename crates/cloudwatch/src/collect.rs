//! The collection loop: windows in a bounded pool, results put back in time order, each
//! `(auditID, stage)` handed on once; plus `follow`, which polls with overlap.
//!
//! Windows complete out of order, so finished windows wait in a map keyed by their start until
//! every earlier window is done; a split window is replaced by its halves at the front of the
//! queue, so the earliest time is always worked on first and events flow out early.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_cloudwatchlogs::config::http::HttpResponse;
use aws_sdk_cloudwatchlogs::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_cloudwatchlogs::Client;
use chrono::{DateTime, TimeZone, Utc};
use tokio::task::JoinSet;

use super::error::{classify, Failure};
use super::peek::{AuditHead, EventKey};
use super::progress::Progress;
use super::{
    filter, insights, query, rfc3339, Api, Cancel, CwError, CwEvent, CwSource, Selection, Stats,
    Tuning, AUDIT_STREAM_PREFIX,
};

/// A half-open time window `[start_ms, end_ms)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Window {
    pub start_ms: i64,
    pub end_ms: i64,
}

impl Window {
    /// First second of the window (Logs Insights works in whole seconds).
    pub fn start_s(&self) -> i64 {
        self.start_ms.div_euclid(1000)
    }

    /// The second after the window's last millisecond.
    pub fn end_s(&self) -> i64 {
        (self.end_ms + 999).div_euclid(1000)
    }

    /// Whole seconds the window touches.
    pub fn seconds(&self) -> i64 {
        self.end_s() - self.start_s()
    }

    pub fn can_split(&self) -> bool {
        self.seconds() > 1
    }

    /// The two halves, cut on a whole second.
    pub fn halves(&self) -> (Window, Window) {
        let mid = (self.start_s() + self.seconds() / 2) * 1000;
        (
            Window {
                start_ms: self.start_ms,
                end_ms: mid,
            },
            Window {
                start_ms: mid,
                end_ms: self.end_ms,
            },
        )
    }

    /// Up to `n` windows of about equal length, cut on whole seconds.
    pub fn parts(&self, n: usize) -> Vec<Window> {
        let secs = self.seconds().max(1);
        let n = (n.max(1) as i64).min(secs);
        let mut out = Vec::with_capacity(n as usize);
        let mut start = self.start_ms;
        for i in 1..=n {
            let end = if i == n {
                self.end_ms
            } else {
                (self.start_s() + secs * i / n) * 1000
            };
            if end > start {
                out.push(Window {
                    start_ms: start,
                    end_ms: end,
                });
                start = end;
            }
        }
        out
    }

    pub fn contains(&self, ts: i64) -> bool {
        ts >= self.start_ms && ts < self.end_ms
    }

    pub fn label(&self) -> String {
        format!("{}..{}", ms_label(self.start_ms), ms_label(self.end_ms))
    }
}

/// Epoch milliseconds as RFC 3339.
pub(crate) fn ms_label(ms: i64) -> String {
    Utc.timestamp_millis_opt(ms)
        .single()
        .map(rfc3339)
        .unwrap_or_else(|| ms.to_string())
}

/// What a window's task produced.
pub(crate) enum Outcome {
    /// Every event of the window (unfiltered, unsorted).
    Done(Window, Vec<CwEvent>),
    /// The window's query was full or timed out: query its halves.
    Split(Window),
}

/// Everything the tasks of one collection share.
pub(crate) struct Ctx {
    pub client: Client,
    /// The endpoint, for messages.
    pub endpoint: String,
    pub timeout: Duration,
    pub group: String,
    pub cluster: String,
    pub engine: Api,
    pub query: String,
    pub limit: usize,
    pub pattern: Option<String>,
    pub tuning: Tuning,
    pub cancel: Cancel,
    pub stats: Mutex<Stats>,
    pub rate: filter::RateLimiter,
    pub progress: Progress,
}

impl Ctx {
    /// Updates the statistics.
    pub fn stat(&self, f: impl FnOnce(&mut Stats)) {
        let mut s = self.stats.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut s);
    }

    pub fn stats(&self) -> Stats {
        self.stats.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub fn refresh_progress(&self) {
        let s = self.stats();
        self.progress.update(&s);
    }

    /// Sleeps, or fails with Interrupted when cancelled first.
    pub async fn sleep(&self, d: Duration) -> Result<(), CwError> {
        tokio::select! {
            _ = tokio::time::sleep(d) => Ok(()),
            _ = self.cancel.cancelled() => Err(CwError::Interrupted),
        }
    }

    /// Backoff before attempt `attempt` (1-based), with jitter.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let base = self.tuning.retry_base.as_millis() as u64;
        let exp = base.saturating_mul(1u64 << attempt.saturating_sub(1).min(16));
        let capped = exp.min(self.tuning.retry_max.as_millis() as u64).max(1);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos() as u64)
            .unwrap_or(0);
        // Between half and all of the capped delay.
        Duration::from_millis(capped / 2 + nanos % (capped / 2 + 1))
    }

    /// Runs one AWS call, retrying throttling and transient errors with backoff. With
    /// `abortable`, an in-flight call is abandoned when the collection is cancelled.
    pub async fn call<T, E, F, Fut>(
        &self,
        op: &'static str,
        abortable: bool,
        mut f: F,
    ) -> Result<T, CwError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, SdkError<E, HttpResponse>>>,
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        let mut attempt = 0u32;
        loop {
            if abortable && self.cancel.is_cancelled() {
                return Err(CwError::Interrupted);
            }
            let res = if abortable {
                tokio::select! {
                    r = f() => r,
                    _ = self.cancel.cancelled() => return Err(CwError::Interrupted),
                }
            } else {
                f().await
            };
            match res {
                Ok(v) => return Ok(v),
                // The SDK has retried within the timeout already: an endpoint that does not
                // answer, or cannot be reached, is not retried again.
                Err(SdkError::TimeoutError(_)) => {
                    return Err(CwError::Stalled {
                        endpoint: self.endpoint.clone(),
                        operation: op,
                        timeout: crate::secs(self.timeout),
                    })
                }
                Err(SdkError::DispatchFailure(d)) if d.is_timeout() => {
                    return Err(CwError::Stalled {
                        endpoint: self.endpoint.clone(),
                        operation: op,
                        timeout: crate::secs(self.timeout),
                    })
                }
                Err(e @ SdkError::DispatchFailure(_)) => {
                    return Err(CwError::Unreachable {
                        endpoint: self.endpoint.clone(),
                        operation: op,
                        detail: connect_detail(&e),
                    })
                }
                Err(e) => match classify(&e, op, &self.group, &self.cluster) {
                    Failure::Fatal(err) => return Err(err),
                    Failure::Retry(code) => {
                        attempt += 1;
                        if attempt >= self.tuning.max_attempts {
                            return Err(CwError::Throttled {
                                operation: op,
                                code,
                                attempts: attempt,
                            });
                        }
                        self.stat(|s| s.retries += 1);
                        self.sleep(self.backoff(attempt)).await?;
                    }
                },
            }
        }
    }
}

/// Keeps the events of the selection from audit streams, once per (auditID, stage).
pub(crate) struct Emitter {
    sel: Selection,
    /// Keys handed on, with the CloudWatch time of the event (for pruning in `follow`).
    seen: HashMap<EventKey, i64>,
}

impl Emitter {
    pub fn new(sel: Selection) -> Self {
        Emitter {
            sel,
            seen: HashMap::new(),
        }
    }

    /// Sorts one window's events and hands on the new ones.
    ///
    /// A message of an audit stream that is not a readable audit event (CloudWatch truncates
    /// events over 256 KB) is handed on as well, so the reader reports it instead of it
    /// vanishing; it is deduplicated when its auditID and stage can still be read.
    pub fn emit(
        &mut self,
        mut events: Vec<CwEvent>,
        stats: &mut Stats,
        on_event: &mut dyn FnMut(CwEvent),
    ) {
        events.sort_by(|a, b| {
            a.timestamp_ms
                .cmp(&b.timestamp_ms)
                .then_with(|| a.stream.cmp(&b.stream))
                .then_with(|| a.message.cmp(&b.message))
        });
        for e in events {
            // An empty stream name comes from a Logs Insights row without @logStream: the query
            // itself only reads audit streams.
            if !e.stream.is_empty() && !e.stream.starts_with(AUDIT_STREAM_PREFIX) {
                stats.skipped += 1;
                continue;
            }
            let key = match AuditHead::parse(&e.message) {
                Some(h) if h.matches(&self.sel) => Some(h.key()),
                Some(_) => {
                    stats.skipped += 1;
                    continue;
                }
                None => {
                    stats.unreadable += 1;
                    ktrail_core::audit::peek(e.message.as_bytes()).map(|p| EventKey {
                        audit_id: p.audit_id,
                        stage: p.stage,
                    })
                }
            };
            if let Some(key) = key {
                if self.seen.contains_key(&key) {
                    stats.duplicates += 1;
                    continue;
                }
                self.seen.insert(key, e.timestamp_ms);
            }
            stats.events += 1;
            on_event(e);
        }
    }

    /// Forgets keys of events older than `before_ms` (they cannot come back in later polls).
    pub fn prune(&mut self, before_ms: i64) {
        self.seen.retain(|_, ts| *ts >= before_ms);
    }
}

/// The innermost cause of a failed connection (`Connection refused`, a DNS failure), without the
/// SDK's wrapping.
fn connect_detail<E, R>(e: &SdkError<E, R>) -> String
where
    E: std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let mut last = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        last = s.to_string();
        source = s.source();
    }
    last
}

/// Builds the shared context of one collection.
fn context(
    client: &Client,
    src: &CwSource,
    sel: &Selection,
    cancel: Cancel,
    total_windows: u64,
) -> Result<Ctx, CwError> {
    let limit = src.limit.clamp(1, query::MAX_LIMIT);
    Ok(Ctx {
        client: client.clone(),
        endpoint: src.endpoint_label(client),
        timeout: src.timeout,
        group: src.log_group_name()?,
        cluster: src.cluster_label(),
        engine: src.engine,
        query: query::build_query(sel, limit)?,
        limit,
        pattern: query::build_filter_pattern(sel)?,
        tuning: src.tuning.clone(),
        cancel,
        stats: Mutex::new(Stats::default()),
        rate: filter::RateLimiter::new(src.tuning.filter_interval),
        progress: Progress::new(src.progress, total_windows),
    })
}

fn to_ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

/// Checks that the log group exists and, with `streams`, that an audit stream has events in
/// the window.
async fn preflight(ctx: &Ctx, range: Window, streams: bool) -> Result<(), CwError> {
    let group = ctx.group.clone();
    let out = ctx
        .call("DescribeLogGroups", true, || {
            ctx.client
                .describe_log_groups()
                .log_group_name_prefix(group.clone())
                .send()
        })
        .await?;
    if !out
        .log_groups()
        .iter()
        .any(|g| g.log_group_name() == Some(group.as_str()))
    {
        return Err(CwError::LogGroupMissing {
            log_group: group,
            cluster: ctx.cluster.clone(),
        });
    }
    if !streams {
        return Ok(());
    }
    let mut token: Option<String> = None;
    for _ in 0..ctx.tuning.max_stream_pages.max(1) {
        let t = token.clone();
        let out = ctx
            .call("DescribeLogStreams", true, || {
                ctx.client
                    .describe_log_streams()
                    .log_group_name(group.clone())
                    .log_stream_name_prefix(AUDIT_STREAM_PREFIX)
                    .set_next_token(t.clone())
                    .send()
            })
            .await?;
        for s in out.log_streams() {
            let first = s.first_event_timestamp();
            // lastEventTimestamp is updated lazily by CloudWatch; ingestion time is current.
            let last = s.last_event_timestamp().max(s.last_ingestion_time());
            if first.is_some_and(|f| f < range.end_ms) && last.is_some_and(|l| l >= range.start_ms)
            {
                return Ok(());
            }
        }
        match out.next_token() {
            Some(n) if Some(n) != token.as_deref() => token = Some(n.to_string()),
            _ => {
                return Err(CwError::NoAuditStreams {
                    log_group: group,
                    since: ms_label(range.start_ms),
                    until: ms_label(range.end_ms),
                })
            }
        }
    }
    // Too many streams to list: assume one of them covers the window.
    Ok(())
}

/// Runs the windows of `range` through the pool and hands events on in time order.
async fn run_windows(
    ctx: Arc<Ctx>,
    concurrency: usize,
    range: Window,
    emitter: &mut Emitter,
    on_event: &mut dyn FnMut(CwEvent),
) -> Result<(), CwError> {
    let mut queue: VecDeque<Window> = range.parts(concurrency).into();
    let mut set: JoinSet<Result<Outcome, CwError>> = JoinSet::new();
    let mut done: BTreeMap<i64, (i64, Vec<CwEvent>)> = BTreeMap::new();
    let mut next = range.start_ms;
    let mut first_err: Option<CwError> = None;
    loop {
        while first_err.is_none() && set.len() < concurrency.max(1) {
            let Some(w) = queue.pop_front() else { break };
            let c = ctx.clone();
            set.spawn(async move {
                match c.engine {
                    Api::Insights => insights::run(&c, w).await,
                    Api::Filter => filter::read(&c, w).await.map(|ev| Outcome::Done(w, ev)),
                }
            });
        }
        let Some(joined) = set.join_next().await else {
            break;
        };
        match joined {
            Ok(Ok(Outcome::Done(w, events))) => {
                done.insert(w.start_ms, (w.end_ms, events));
                let mut stats = Stats::default();
                while let Some((end, events)) = done.remove(&next) {
                    emitter.emit(events, &mut stats, on_event);
                    next = end;
                }
                ctx.stat(|s| {
                    s.windows += 1;
                    s.events += stats.events;
                    s.duplicates += stats.duplicates;
                    s.skipped += stats.skipped;
                    s.unreadable += stats.unreadable;
                });
                ctx.refresh_progress();
            }
            Ok(Ok(Outcome::Split(w))) => {
                let (a, b) = w.halves();
                queue.push_front(b);
                queue.push_front(a);
                ctx.stat(|s| s.splits += 1);
                ctx.progress.add_window();
                ctx.refresh_progress();
            }
            Ok(Err(e)) => {
                if first_err.is_none() {
                    first_err = Some(e);
                    ctx.cancel.cancel();
                }
            }
            Err(join) => {
                if first_err.is_none() {
                    first_err = Some(CwError::Aws {
                        operation: "collect",
                        message: format!("a window task ended abnormally: {join}"),
                    });
                    ctx.cancel.cancel();
                }
            }
        }
    }
    if let Some(e) = first_err {
        return Err(e);
    }
    if ctx.cancel.is_cancelled() {
        return Err(CwError::Interrupted);
    }
    // Every window is done, so nothing is left; hand on whatever is, in order, regardless.
    let mut stats = Stats::default();
    for (_, (_, events)) in std::mem::take(&mut done) {
        emitter.emit(events, &mut stats, on_event);
    }
    ctx.stat(|s| {
        s.events += stats.events;
        s.duplicates += stats.duplicates;
        s.skipped += stats.skipped;
        s.unreadable += stats.unreadable;
    });
    Ok(())
}

/// Sets `cancel` when Ctrl-C (SIGINT) arrives; abort the returned task to stop listening.
/// Must be called inside a Tokio runtime.
pub fn cancel_on_ctrl_c(cancel: &Cancel) -> tokio::task::JoinHandle<()> {
    let c = cancel.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            c.cancel();
        }
    })
}

/// One run over a source: what every window it reads is queried with (the client, the source, the
/// selection, the caller's cancellation flag), and the emitter that hands each event on once over
/// the whole run, so that a poll of a follow drops what an earlier poll handed on.
struct Run<'a> {
    client: &'a Client,
    src: &'a CwSource,
    sel: &'a Selection,
    cancel: &'a Cancel,
    emitter: Emitter,
}

impl<'a> Run<'a> {
    fn new(client: &'a Client, src: &'a CwSource, sel: &'a Selection, cancel: &'a Cancel) -> Self {
        Run {
            client,
            src,
            sel,
            cancel,
            emitter: Emitter::new(sel.clone()),
        }
    }

    /// Reads `range`, handing its new events to `on_event`; with `preflight_streams`, the log
    /// group is checked first (see [`preflight`]).
    async fn read(
        &mut self,
        range: Window,
        preflight_streams: Option<bool>,
        on_event: &mut dyn FnMut(CwEvent),
    ) -> Result<Stats, CwError> {
        let (run_cancel, link) = self.cancel.child();
        let parts = range.parts(self.src.concurrency).len() as u64;
        let ctx = Arc::new(context(self.client, self.src, self.sel, run_cancel, parts)?);
        let result = async {
            if let Some(streams) = preflight_streams {
                preflight(&ctx, range, streams).await?;
            }
            let concurrency = self.src.concurrency;
            run_windows(ctx.clone(), concurrency, range, &mut self.emitter, on_event).await
        }
        .await;
        link.abort();
        ctx.progress.finish();
        result.map(|()| ctx.stats())
    }
}

/// Every audit event of the selection in the source's window, in time order, each
/// (auditID, stage) once, through a client of the given configuration and a cancellation flag
/// the caller controls (e.g. set from its own Ctrl-C handler).
pub async fn collect_with(
    client: &Client,
    src: &CwSource,
    sel: &Selection,
    cancel: &Cancel,
    mut on_event: impl FnMut(CwEvent),
) -> Result<Stats, CwError> {
    src.validate()?;
    sel.validate()?;
    let range = Window {
        start_ms: to_ms(src.since),
        end_ms: to_ms(src.until),
    };
    let preflight = src.preflight.then_some(true);
    Run::new(client, src, sel, cancel)
        .read(range, preflight, &mut on_event)
        .await
}

/// Every audit event of the selection in the source's window, in time order, each
/// (auditID, stage) once. Builds the client from the standard AWS chain and, with
/// `src.handle_ctrl_c`, stops running queries on Ctrl-C (then fails with `Interrupted`).
pub async fn collect(
    src: &CwSource,
    sel: &Selection,
    on_event: impl FnMut(CwEvent),
) -> Result<Stats, CwError> {
    src.validate()?;
    sel.validate()?;
    let client = src.client().await?;
    let cancel = Cancel::new();
    let listener = src.handle_ctrl_c.then(|| cancel_on_ctrl_c(&cancel));
    let r = collect_with(&client, src, sel, &cancel, on_event).await;
    if let Some(l) = listener {
        l.abort();
    }
    r
}

/// How [`follow`] polls.
#[derive(Debug, Clone)]
pub struct FollowOptions {
    /// Time between two polls.
    pub interval: Duration,
    /// How far back each poll reaches before the end of the previous one, for events that
    /// CloudWatch ingests late; duplicates are dropped.
    pub overlap: Duration,
    /// Stop after this many polls (`None`: until Ctrl-C or `cancel`).
    pub max_polls: Option<u64>,
    /// Where an earlier follow stopped: polling starts there and no event it handed on is handed
    /// on again.
    pub resume: Option<FollowState>,
}

/// Where a follow is: the start of its next poll and the events it handed on that a poll from
/// there can still return (by auditID and stage, so that events sharing the last millisecond are
/// told apart). Saved after each batch, it lets a follow stopped and started again continue with
/// no gap and no repeat.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FollowState {
    /// The start of the next poll, epoch milliseconds.
    pub from_ms: i64,
    /// Events handed on at or after `from_ms` less the overlap, with their CloudWatch time.
    pub seen: Vec<(EventKey, i64)>,
}

impl Default for FollowOptions {
    fn default() -> Self {
        FollowOptions {
            interval: Duration::from_secs(10),
            overlap: Duration::from_secs(300),
            max_polls: None,
            resume: None,
        }
    }
}

/// Reads the window from `src.since` to now, then keeps polling for new events until Ctrl-C
/// (with `src.handle_ctrl_c`), `cancel`, or `max_polls`. Each poll's new events (each
/// (auditID, stage) once over the whole run, in time order) are handed on as one batch, possibly
/// empty, with the state to resume from once the batch is dealt with. Ends cleanly (Ok) when
/// interrupted.
pub async fn follow(
    client: &Client,
    src: &CwSource,
    sel: &Selection,
    opts: &FollowOptions,
    cancel: &Cancel,
    mut on_batch: impl FnMut(Vec<CwEvent>, &FollowState),
) -> Result<Stats, CwError> {
    sel.validate()?;
    src.log_group_name()?;
    let listener = src.handle_ctrl_c.then(|| cancel_on_ctrl_c(cancel));
    let mut run = Run::new(client, src, sel, cancel);
    let mut total = Stats::default();
    let overlap_ms = opts.overlap.as_millis() as i64;
    let mut from = to_ms(src.since);
    // Resumed: from where the earlier follow stopped, even when that is before `since`.
    let mut floor = from;
    if let Some(state) = &opts.resume {
        from = state.from_ms;
        floor = floor.min(from);
        run.emitter.seen.extend(state.seen.iter().cloned());
    }
    let mut polls = 0u64;
    let mut first = true;
    let result = loop {
        let now = to_ms(Utc::now());
        if now > from {
            let range = Window {
                start_ms: from,
                end_ms: now,
            };
            // Only the first poll checks the group; an empty window is no error when following.
            let pre = (first && src.preflight).then_some(false);
            let mut batch = Vec::new();
            let r = run.read(range, pre, &mut |e| batch.push(e)).await;
            match r {
                Ok(s) => merge(&mut total, &s),
                Err(CwError::Interrupted) => break Ok(total),
                Err(e) => break Err(e),
            }
            first = false;
            from = (now - overlap_ms).max(floor);
            run.emitter.prune(from - overlap_ms);
            let mut seen: Vec<(EventKey, i64)> = run
                .emitter
                .seen
                .iter()
                .map(|(k, t)| (k.clone(), *t))
                .collect();
            seen.sort_by(|a, b| (a.1, &a.0).cmp(&(b.1, &b.0)));
            on_batch(
                batch,
                &FollowState {
                    from_ms: from,
                    seen,
                },
            );
        }
        polls += 1;
        if opts.max_polls.is_some_and(|m| polls >= m) {
            break Ok(total);
        }
        tokio::select! {
            _ = tokio::time::sleep(opts.interval) => {}
            _ = cancel.cancelled() => break Ok(total),
        }
    };
    if let Some(l) = listener {
        l.abort();
    }
    result
}

fn merge(total: &mut Stats, s: &Stats) {
    total.windows += s.windows;
    total.splits += s.splits;
    total.queries += s.queries;
    total.fallbacks += s.fallbacks;
    total.filter_requests += s.filter_requests;
    total.retries += s.retries;
    total.rows += s.rows;
    total.events += s.events;
    total.duplicates += s.duplicates;
    total.skipped += s.skipped;
    total.unreadable += s.unreadable;
    if let Some(b) = s.bytes_scanned {
        total.add_scanned(b, s.records_scanned.unwrap_or(0.0));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_split_on_seconds() {
        let w = Window {
            start_ms: 1_000_500,
            end_ms: 1_010_200,
        };
        assert_eq!(w.seconds(), 11);
        let (a, b) = w.halves();
        assert_eq!(a.start_ms, 1_000_500);
        assert_eq!(a.end_ms, 1_005_000);
        assert_eq!(b.start_ms, 1_005_000);
        assert_eq!(b.end_ms, 1_010_200);
        let one = Window {
            start_ms: 5_000,
            end_ms: 6_000,
        };
        assert!(!one.can_split());
        let parts = w.parts(4);
        assert_eq!(parts.len(), 4);
        assert_eq!(parts[0].start_ms, w.start_ms);
        assert_eq!(parts[3].end_ms, w.end_ms);
        for p in parts.windows(2) {
            assert_eq!(p[0].end_ms, p[1].start_ms);
            assert_eq!(p[0].end_ms % 1000, 0);
        }
        assert_eq!(one.parts(4), vec![one]);
    }

    #[test]
    fn emitter_orders_filters_and_dedupes() {
        let ev = |ts: i64, stream: &str, id: &str, stage: &str| CwEvent {
            timestamp_ms: ts,
            stream: stream.into(),
            message: format!(
                r#"{{"kind":"Event","auditID":"{id}","stage":"{stage}","verb":"create","objectRef":{{"resource":"pods","namespace":"d","name":"p"}}}}"#
            ),
        };
        let mut em = Emitter::new(Selection::default());
        let mut out = Vec::new();
        let mut stats = Stats::default();
        em.emit(
            vec![
                ev(3, "kube-apiserver-audit-a", "x", "ResponseComplete"),
                ev(1, "kube-apiserver-audit-b", "x", "RequestReceived"),
                ev(2, "kube-apiserver-audit-a", "x", "ResponseComplete"),
                ev(2, "kube-apiserver-1", "y", "ResponseComplete"),
                CwEvent {
                    timestamp_ms: 2,
                    stream: "kube-apiserver-audit-a".into(),
                    message: "E0920 klog".into(),
                },
            ],
            &mut stats,
            &mut |e| out.push(e),
        );
        // The klog line of an audit stream is handed on for the reader to report.
        assert_eq!(out.len(), 3);
        assert_eq!(out[0].timestamp_ms, 1);
        assert_eq!(out[1].timestamp_ms, 2);
        assert_eq!(out[2].timestamp_ms, 2);
        assert!(out.iter().any(|e| e.message == "E0920 klog"));
        assert_eq!(stats.duplicates, 1);
        assert_eq!(stats.skipped, 1);
        assert_eq!(stats.unreadable, 1);
        em.emit(
            vec![ev(9, "kube-apiserver-audit-a", "x", "ResponseComplete")],
            &mut stats,
            &mut |e| out.push(e),
        );
        assert_eq!(out.len(), 3);
        em.prune(100);
        em.emit(
            vec![ev(9, "kube-apiserver-audit-a", "x", "ResponseComplete")],
            &mut stats,
            &mut |e| out.push(e),
        );
        assert_eq!(out.len(), 4);
    }
}
