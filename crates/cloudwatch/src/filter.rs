//! The FilterLogEvents engine: pages through a window with a JSON filter pattern, at most five
//! requests per second (the API's quota), over the audit streams only.
//!
//! Also reads the one-second windows that are still too full for a Logs Insights query.

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use super::collect::{Ctx, Window};
use super::{CwError, CwEvent, AUDIT_STREAM_PREFIX};

/// Spaces requests at least `interval` apart, across every task of a collection.
pub(crate) struct RateLimiter {
    interval: Duration,
    next: Mutex<Option<Instant>>,
}

impl RateLimiter {
    pub fn new(interval: Duration) -> Self {
        RateLimiter {
            interval,
            next: Mutex::new(None),
        }
    }

    /// How long to wait for the next slot, and takes it.
    fn reserve(&self) -> Duration {
        let mut next = self.next.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        let slot = match *next {
            Some(n) if n > now => n,
            _ => now,
        };
        *next = Some(slot + self.interval);
        slot - now
    }
}

/// Every event of the window from the audit streams (unfiltered by selection, unsorted).
pub(crate) async fn read(ctx: &Ctx, w: Window) -> Result<Vec<CwEvent>, CwError> {
    let mut events = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let wait = ctx.rate.reserve();
        if !wait.is_zero() {
            ctx.sleep(wait).await?;
        }
        let t = token.clone();
        let out = ctx
            .call("FilterLogEvents", true, || {
                ctx.client
                    .filter_log_events()
                    .log_group_name(ctx.group.clone())
                    .log_stream_name_prefix(AUDIT_STREAM_PREFIX)
                    .start_time(w.start_ms)
                    // endTime is inclusive.
                    .end_time(w.end_ms - 1)
                    .set_filter_pattern(ctx.pattern.clone())
                    .set_next_token(t.clone())
                    .set_limit(ctx.tuning.filter_page_size)
                    .send()
            })
            .await?;
        let mut rows = 0u64;
        let mut skipped = 0u64;
        for e in out.events.unwrap_or_default() {
            let (Some(ts), Some(message)) = (e.timestamp, e.message) else {
                skipped += 1;
                continue;
            };
            if !w.contains(ts) {
                continue;
            }
            rows += 1;
            events.push(CwEvent {
                timestamp_ms: ts,
                stream: e.log_stream_name.unwrap_or_default(),
                message,
            });
        }
        ctx.stat(|s| {
            s.filter_requests += 1;
            s.rows += rows;
            s.skipped += skipped;
        });
        ctx.refresh_progress();
        match out.next_token {
            Some(n) if !n.is_empty() && Some(&n) != token.as_ref() => token = Some(n),
            _ => break,
        }
    }
    Ok(events)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn rate_limiter_spaces_slots() {
        let r = RateLimiter::new(Duration::from_millis(200));
        assert!(r.reserve().is_zero());
        let second = r.reserve();
        assert!(second > Duration::from_millis(150), "{second:?}");
        let third = r.reserve();
        assert!(third > Duration::from_millis(350), "{third:?}");
    }
}
