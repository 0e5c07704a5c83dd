//! The CloudWatch Logs source on the command line: the arguments of `--cluster`/`--log-group`
//! turned into a [`CwSource`] and a CloudWatch [`Selection`], and the events it yields fed to the
//! same collector that reads files, so a story from CloudWatch is the story the same events give
//! offline. `query`, `fetch` and `timeline --follow` build on these.

use anyhow::{bail, Result};
use chrono::Utc;

use ktrail_cloudwatch::{
    cancel_on_ctrl_c, collect_with, Cancel, CwError, CwEvent, CwSource, Selection, Stats,
};
use ktrail_core::collect::Collector;
use ktrail_core::record;
use ktrail_core::scan::Diagnostic;
use ktrail_core::timeline::Pending;

use super::DiagnosticPrinter;
use crate::cli::UsageError;
use crate::options::{CloudWatch, Inputs};

/// The source of the CloudWatch arguments over the selection's window (default: the last hour).
pub fn source(args: &CloudWatch, sel: &record::Selection) -> CwSource {
    let until = sel.until.unwrap_or_else(Utc::now);
    let since = sel
        .since
        .unwrap_or_else(|| until - chrono::Duration::hours(1));
    let mut s = CwSource::new(since, until);
    s.cluster = args.cluster.clone();
    s.log_group = args.log_group.clone();
    s.region = args.region.clone();
    s.profile = args.profile.clone();
    s.endpoint_url = args.endpoint_url.clone();
    s.engine = args.api;
    s.concurrency = args.concurrency;
    s.limit = args.query_limit;
    if !args.timeout.is_zero() {
        s.timeout = args.timeout;
    }
    if let Some(p) = args.query_poll {
        s.tuning.poll_initial = p;
        s.tuning.poll_max = s.tuning.poll_max.max(p);
    }
    s
}

/// What to read for a selection. The timeline also reads writes to webhook configurations (the
/// engine keeps them for provenance); `fetch` without a pod reads every audit event.
pub fn selection(sel: &record::Selection, fetch: bool) -> Selection {
    if fetch && sel.namespace.is_none() && sel.name.is_none() && sel.uid.is_none() {
        return Selection::everything();
    }
    Selection {
        namespace: sel.namespace.clone(),
        name: sel.name.clone(),
        uid: sel.uid.clone(),
        all_resources: false,
        reads: sel.reads,
        configs: true,
    }
}

pub(super) fn runtime() -> Result<tokio::runtime::Runtime, CwError> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(CwError::Runtime)
}

/// Fails with a usage error when files or samples are mixed with a CloudWatch source.
pub(super) fn one_kind_of_input(input: &Inputs) -> Result<()> {
    if !input.files.is_empty() || !input.samples.is_empty() {
        bail!(UsageError(
            "give either files and samples (-f, --sample) or a CloudWatch source (--cluster, --log-group), not both"
                .into()
        ));
    }
    Ok(())
}

pub(super) fn print_stats(stats: &Stats) {
    eprintln!("ktrail: {}", stats.summary());
}

/// Collects `sel` from `src` and calls `on_event` for each event; `on_event` returns an error to
/// stop the collection (the first error wins).
pub(super) fn collect_events(
    src: &CwSource,
    sel: &Selection,
    mut on_event: impl FnMut(&CwEvent) -> Result<()>,
) -> Result<Stats> {
    let rt = runtime()?;
    rt.block_on(async {
        let client = src.client().await?;
        let cancel = Cancel::new();
        let ctrl_c = cancel_on_ctrl_c(&cancel);
        let mut failed: Option<anyhow::Error> = None;
        let r = collect_with(&client, src, sel, &cancel, |e| {
            if failed.is_none() {
                if let Err(err) = on_event(&e) {
                    failed = Some(err);
                    cancel.cancel();
                }
            }
        })
        .await;
        ctrl_c.abort();
        if let Some(e) = failed {
            return Err(e);
        }
        Ok(r?)
    })
}

/// Feeds one event to the collector; a bad one is printed, or with `--strict` is an error.
fn feed(
    collector: &mut Collector,
    printer: &mut DiagnosticPrinter,
    strict: bool,
    n: u64,
    e: &CwEvent,
) -> Result<()> {
    if let Some(problem) = collector.feed_line(e.message.as_bytes()) {
        let d = Diagnostic {
            origin: format!("cloudwatch:{}", e.stream),
            line: n,
            problem,
        };
        if strict {
            bail!("{d} (--strict)");
        }
        printer.print(&d);
    }
    Ok(())
}

/// `timeline` over CloudWatch Logs: the same engine as files.
pub fn load(input: &Inputs, sel: record::Selection) -> Result<Pending> {
    one_kind_of_input(input)?;
    let src = source(&input.cloudwatch, &sel);
    let cw = selection(&sel, false);
    let mut collector = Collector::new(sel).with_memory(input.memory);
    let mut printer = DiagnosticPrinter::default();
    let mut n = 0u64;
    let stats = collect_events(&src, &cw, |e| {
        n += 1;
        feed(&mut collector, &mut printer, input.strict, n, e)
    })?;
    print_stats(&stats);
    super::input::finish(collector, "events")
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn the_query_poll_sets_the_first_wait_and_never_lowers_the_longest() {
        let tuning = |query_poll| {
            let args = CloudWatch {
                cluster: Some("c".into()),
                query_poll,
                ..Default::default()
            };
            source(&args, &record::Selection::default()).tuning
        };
        let default = ktrail_cloudwatch::Tuning::default();
        let t = tuning(None);
        assert_eq!(
            (t.poll_initial, t.poll_max),
            (default.poll_initial, default.poll_max)
        );
        let t = tuning(Some(Duration::from_millis(10)));
        assert_eq!(
            (t.poll_initial, t.poll_max),
            (Duration::from_millis(10), default.poll_max)
        );
        let t = tuning(Some(Duration::from_secs(60)));
        assert_eq!(
            (t.poll_initial, t.poll_max),
            (Duration::from_secs(60), Duration::from_secs(60))
        );
    }
}
