//! `ktrail timeline --follow`: the story so far from CloudWatch Logs, then each new event as it
//! arrives, until Ctrl-C.

use std::collections::HashSet;
use std::io::{self, Write};

use anyhow::{bail, Context, Result};
use serde::Serialize;

use ktrail_cloudwatch::{follow, Cancel, FollowOptions};
use ktrail_core::collect::Collector;
use ktrail_core::escape::escape;
use ktrail_core::record;
use ktrail_core::timeline::{PodEvent, Report};

use super::cloudwatch::{one_kind_of_input, print_stats, runtime, selection, source};
use super::exit;
use crate::cli::UsageError;
use crate::options::{Follow, Timeline};
use crate::render;

/// One new event of `timeline --follow -o json`: a JSON line.
#[derive(Serialize)]
struct FollowLine<'a> {
    namespace: &'a str,
    name: &'a str,
    uid: Option<&'a str>,
    event: &'a PodEvent,
}

/// `timeline --follow`: the story so far, then each new event as it arrives, until Ctrl-C.
pub fn run(args: &Timeline, follow_opts: &Follow, sel: record::Selection) -> Result<u8> {
    one_kind_of_input(&args.inputs)?;
    if sel.until.is_some() {
        bail!(UsageError(
            "--follow reads up to now and keeps going: leave out --until".into()
        ));
    }
    let mut src = source(&args.inputs.cloudwatch, &sel);
    src.progress = false;
    let cw = selection(&sel, false);
    let opts = FollowOptions {
        interval: follow_opts.interval,
        max_polls: follow_opts.max_polls,
        ..FollowOptions::default()
    };
    let mut messages: Vec<String> = Vec::new();
    let mut printed: HashSet<(String, String, String)> = HashSet::new();
    let mut first = true;
    let style = args.style;
    let mut failed: Option<anyhow::Error> = None;
    let rt = runtime()?;
    let stats = rt.block_on(async {
        let client = src.client().await?;
        let cancel = Cancel::new();
        let r = follow(&client, &src, &cw, &opts, &cancel, |batch| {
            if failed.is_some() || (batch.is_empty() && !first) {
                return;
            }
            messages.extend(batch.into_iter().map(|e| e.message));
            let mut collector = Collector::new(sel.clone());
            for m in &messages {
                collector.feed_line(m.as_bytes());
            }
            let report = collector.finish();
            let r = print_new(&report, args.format, style, first, &mut printed);
            first = false;
            if let Err(e) = r {
                failed = Some(e);
                cancel.cancel();
            }
        })
        .await;
        Ok::<_, anyhow::Error>(r?)
    })?;
    if let Some(e) = failed {
        return Err(e);
    }
    print_stats(&stats);
    Ok(exit::OK)
}

/// Prints the events not printed yet: the whole story the first time (table, Markdown), then one
/// line per new event; with JSON, one JSON line per event throughout.
fn print_new(
    report: &Report,
    format: render::Format,
    style: render::Style,
    first: bool,
    printed: &mut HashSet<(String, String, String)>,
) -> Result<()> {
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    let whole = first && format != render::Format::Json;
    if whole && !report.pods.is_empty() {
        render::timeline(report, format, style, &mut out).context("writing the timeline")?;
    }
    for pod in &report.pods {
        for ev in &pod.events {
            let key = (
                format!("{}/{}", pod.namespace, pod.name),
                pod.uid.clone().unwrap_or_default(),
                ev.audit_id.clone().unwrap_or_else(|| ev.time.clone()),
            );
            if !printed.insert(key) || whole {
                continue;
            }
            if format == render::Format::Json {
                let line = FollowLine {
                    namespace: &pod.namespace,
                    name: &pod.name,
                    uid: pod.uid.as_deref(),
                    event: ev,
                };
                serde_json::to_writer(&mut out, &line).context("writing an event")?;
                writeln!(out).context("writing an event")?;
            } else {
                writeln!(
                    out,
                    "{}  {}/{}  {}  {}",
                    escape(&ev.time),
                    escape(&pod.namespace),
                    escape(&pod.name),
                    render::table::actor(ev),
                    escape(&ev.summary)
                )
                .context("writing an event")?;
            }
        }
    }
    out.flush().context("writing the timeline")?;
    Ok(())
}
