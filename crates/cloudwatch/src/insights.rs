//! The Logs Insights engine: one query per window, polled to completion, split when full.
//!
//! Logs Insights returns at most `limit` rows per query and says nothing when it stops there, so
//! a query that returns exactly `limit` rows is treated as incomplete: its window is split in
//! halves (the caller queues them), down to one second; a second that is still full, or a query
//! that timed out on one second, is read with FilterLogEvents instead. Nothing is dropped silently.

use std::time::{Duration, Instant};

use aws_sdk_cloudwatchlogs::operation::get_query_results::GetQueryResultsOutput;
use aws_sdk_cloudwatchlogs::types::{QueryStatus, ResultField};
use chrono::{DateTime, NaiveDateTime};

use super::collect::{Ctx, Outcome, Window};
use super::{filter, CwError, CwEvent};

/// How long a query may stay Scheduled/Running before it is treated as timed out (the service
/// itself times queries out after 60 minutes).
const QUERY_DEADLINE: Duration = Duration::from_secs(65 * 60);

enum Polled {
    Complete(GetQueryResultsOutput),
    Timeout,
    Failed(String),
}

/// Runs one window.
pub(crate) async fn run(ctx: &Ctx, w: Window) -> Result<Outcome, CwError> {
    let mut failures = 0u32;
    loop {
        let id = start(ctx, w).await?;
        match poll(ctx, &id).await? {
            Polled::Complete(out) => {
                if let Some(st) = out.statistics() {
                    ctx.stat(|s| s.add_scanned(st.bytes_scanned(), st.records_scanned()));
                }
                let rows = out.results.unwrap_or_default();
                if rows.len() >= ctx.limit {
                    return split_or_read(ctx, w).await;
                }
                let events = rows_to_events(ctx, w, rows);
                return Ok(Outcome::Done(w, events));
            }
            Polled::Timeout => return split_or_read(ctx, w).await,
            Polled::Failed(status) => {
                failures += 1;
                if failures > ctx.tuning.failed_query_retries {
                    return Err(CwError::QueryFailed {
                        window: w.label(),
                        status,
                        query_id: id,
                    });
                }
                ctx.sleep(ctx.backoff(failures)).await?;
            }
        }
    }
}

async fn split_or_read(ctx: &Ctx, w: Window) -> Result<Outcome, CwError> {
    if w.can_split() {
        return Ok(Outcome::Split(w));
    }
    ctx.stat(|s| s.fallbacks += 1);
    let events = filter::read(ctx, w).await?;
    Ok(Outcome::Done(w, events))
}

async fn start(ctx: &Ctx, w: Window) -> Result<String, CwError> {
    // Not abortable: a query whose start is in flight could not be stopped.
    let out = ctx
        .call("StartQuery", false, || {
            ctx.client
                .start_query()
                .log_group_name(ctx.group.clone())
                .start_time(w.start_s())
                .end_time(w.end_s())
                .query_string(ctx.query.clone())
                .limit(ctx.limit as i32)
                .send()
        })
        .await?;
    ctx.stat(|s| s.queries += 1);
    match out.query_id {
        Some(id) if !id.is_empty() => Ok(id),
        _ => Err(CwError::Aws {
            operation: "StartQuery",
            message: "the response carried no query id".into(),
        }),
    }
}

/// Stops a query, tolerating any failure (emulators do not implement StopQuery).
async fn stop(ctx: &Ctx, id: &str) {
    let fut = ctx.client.stop_query().query_id(id).send();
    let _ = tokio::time::timeout(Duration::from_secs(5), fut).await;
}

async fn poll(ctx: &Ctx, id: &str) -> Result<Polled, CwError> {
    let begun = Instant::now();
    let mut delay = ctx.tuning.poll_initial;
    loop {
        let res = match ctx.sleep(delay).await {
            Ok(()) => {
                ctx.call("GetQueryResults", true, || {
                    ctx.client.get_query_results().query_id(id).send()
                })
                .await
            }
            Err(e) => Err(e),
        };
        let out = match res {
            Ok(o) => o,
            Err(e) => {
                stop(ctx, id).await;
                return Err(e);
            }
        };
        match out.status() {
            Some(QueryStatus::Complete) => return Ok(Polled::Complete(out)),
            Some(QueryStatus::Timeout) => return Ok(Polled::Timeout),
            Some(QueryStatus::Failed) => return Ok(Polled::Failed("Failed".into())),
            Some(QueryStatus::Cancelled) => return Ok(Polled::Failed("Cancelled".into())),
            _ => {}
        }
        if begun.elapsed() > QUERY_DEADLINE {
            stop(ctx, id).await;
            return Ok(Polled::Timeout);
        }
        delay = (delay * 3 / 2).min(ctx.tuning.poll_max);
    }
}

/// Parses `@timestamp`: epoch milliseconds (emulators) or `YYYY-MM-DD HH:MM:SS.mmm` (AWS).
pub(crate) fn parse_timestamp(s: &str) -> Option<i64> {
    let s = s.trim();
    if let Ok(ms) = s.parse::<i64>() {
        return Some(ms);
    }
    if let Ok(t) = NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f") {
        return Some(t.and_utc().timestamp_millis());
    }
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.timestamp_millis())
}

/// The time of an audit event from its own fields, when a row has no usable `@timestamp`.
fn event_time(message: &str) -> Option<i64> {
    #[derive(serde::Deserialize)]
    struct Times<'a> {
        #[serde(rename = "stageTimestamp", borrow, default)]
        stage: Option<std::borrow::Cow<'a, str>>,
        #[serde(rename = "requestReceivedTimestamp", borrow, default)]
        received: Option<std::borrow::Cow<'a, str>>,
    }
    let t: Times<'_> = serde_json::from_str(message.trim()).ok()?;
    let s = t.stage.or(t.received)?;
    DateTime::parse_from_rfc3339(&s)
        .ok()
        .map(|t| t.timestamp_millis())
}

/// The events of the rows that fall in the window; rows of neighbouring windows (Logs
/// Insights' time range is inclusive on whole seconds) are left to them.
fn rows_to_events(ctx: &Ctx, w: Window, rows: Vec<Vec<ResultField>>) -> Vec<CwEvent> {
    let mut events = Vec::with_capacity(rows.len());
    let mut skipped = 0u64;
    for row in rows {
        let mut ts = None;
        let mut message = None;
        let mut stream = String::new();
        for f in row {
            match (f.field.as_deref(), f.value) {
                (Some("@timestamp"), Some(v)) => ts = parse_timestamp(&v),
                (Some("@message"), Some(v)) => message = Some(v),
                (Some("@logStream"), Some(v)) => stream = v,
                _ => {}
            }
        }
        let Some(message) = message else {
            skipped += 1;
            continue;
        };
        let Some(ts) = ts.or_else(|| event_time(&message)) else {
            skipped += 1;
            continue;
        };
        if !w.contains(ts) {
            continue;
        }
        events.push(CwEvent {
            timestamp_ms: ts,
            stream,
            message,
        });
    }
    let n = events.len() as u64;
    ctx.stat(|s| {
        s.rows += n;
        s.skipped += skipped;
    });
    events
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_in_both_formats() {
        assert_eq!(parse_timestamp("1663705037328"), Some(1_663_705_037_328));
        assert_eq!(
            parse_timestamp("2022-09-20 20:17:17.328"),
            Some(1_663_705_037_328)
        );
        assert_eq!(
            parse_timestamp("2022-09-20T20:17:17.328Z"),
            Some(1_663_705_037_328)
        );
        assert_eq!(parse_timestamp("yesterday"), None);
        assert_eq!(parse_timestamp(""), None);
    }

    #[test]
    fn event_time_falls_back_to_stage_timestamp() {
        let m = r#"{"kind":"Event","stageTimestamp":"2022-09-20T20:17:17.328703Z"}"#;
        assert_eq!(event_time(m), Some(1_663_705_037_328));
        assert_eq!(event_time("{}"), None);
        assert_eq!(event_time("nope"), None);
    }
}
