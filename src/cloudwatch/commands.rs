//! The command-line side of the CloudWatch source: `timeline --cluster`, `timeline --follow`,
//! `query` and `fetch`. Turns parsed arguments into a [`CwSource`] and a [`Selection`], and hands
//! every event to the same engine that reads files, so a story from CloudWatch is the story the
//! same events give offline.

use std::collections::HashSet;
use std::io::{self, Write};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use chrono::Utc;
use serde::Serialize;

use super::{
    build_created_query, build_filter_pattern, build_query, cancel_on_ctrl_c, collect_with, follow,
    Cancel, CwError, CwEvent, CwSource, Engine, FetchWriter, FollowOptions, Selection, Stats,
};
use crate::cli::{self, CloudWatchArgs, FetchArgs, InputArgs, QueryArgs, TimelineArgs, UsageError};
use crate::engine;
use crate::record;
use crate::render;
use crate::sanitize::escape;
use crate::scan::Diagnostic;
use crate::timeline::{Pending, PodEvent, Report};
use crate::{exit, DiagnosticPrinter};

/// The source of the CloudWatch arguments over the selection's window (default: the last hour).
pub fn source(args: &CloudWatchArgs, sel: &record::Selection) -> CwSource {
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
    s.engine = match args.engine {
        cli::Engine::Insights => Engine::Insights,
        cli::Engine::Filter => Engine::Filter,
    };
    s.concurrency = usize::from(args.concurrency);
    s.limit = usize::from(args.query_limit);
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

fn runtime() -> Result<tokio::runtime::Runtime, CwError> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(CwError::Runtime)
}

/// Fails with a usage error when files or samples are mixed with a CloudWatch source.
fn one_kind_of_input(input: &InputArgs) -> Result<()> {
    if !input.files.is_empty() || !input.samples.is_empty() {
        bail!(UsageError(
            "give either files and samples (-f, --sample) or a CloudWatch source (--cluster, --log-group), not both"
                .into()
        ));
    }
    Ok(())
}

fn print_stats(stats: &Stats) {
    eprintln!("ktrail: {}", stats.summary());
}

/// Collects `sel` from `src` and calls `on_event` for each event; `on_event` returns an error to
/// stop the collection (the first error wins).
fn collect_events(
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

/// Feeds one event to the engine; a bad one is printed, or with `--strict` is an error.
fn feed(
    engine: &mut engine::Engine,
    printer: &mut DiagnosticPrinter,
    strict: bool,
    n: u64,
    e: &CwEvent,
) -> Result<()> {
    if let Some(problem) = engine.feed_line(e.message.as_bytes()) {
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
pub fn load(input: &InputArgs, sel: record::Selection) -> Result<Pending> {
    one_kind_of_input(input)?;
    let src = source(&input.cloudwatch, &sel);
    let cw = selection(&sel, false);
    let mut engine = engine::Engine::new(sel);
    let mut printer = DiagnosticPrinter::default();
    let mut n = 0u64;
    let stats = collect_events(&src, &cw, |e| {
        n += 1;
        feed(&mut engine, &mut printer, input.strict, n, e)
    })?;
    print_stats(&stats);
    let pending = engine.finish_pending();
    if pending.summary.lines_skipped > 0 {
        eprintln!(
            "ktrail: skipped {} of {} events",
            pending.summary.lines_skipped, pending.summary.lines_read
        );
    }
    Ok(pending)
}

/// `query`: the Logs Insights query (or FilterLogEvents pattern) for the selection.
pub fn query_cmd(args: &QueryArgs) -> Result<u8> {
    let sel = args.pod.selection()?;
    let src = source(&args.cloudwatch, &sel);
    let group = if args.cloudwatch.is_set() {
        Some(src.log_group_name()?)
    } else {
        None
    };
    let limit = usize::from(args.cloudwatch.query_limit);
    let text = match (&args.created, src.engine) {
        (Some(name), _) => build_created_query(name, limit)?,
        (None, Engine::Insights) => build_query(&selection(&sel, false).without_configs(), limit)?,
        (None, Engine::Filter) => {
            let mut p = build_filter_pattern(&selection(&sel, false).without_configs())?
                .unwrap_or_default();
            p.push('\n');
            p
        }
    };
    let mut out = io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .context("writing the query")?;
    if let Some(g) = group {
        let what = match src.engine {
            Engine::Insights => "in CloudWatch Logs Insights on log group",
            Engine::Filter => "as the filter pattern of `aws logs filter-log-events` on log group",
        };
        eprintln!("ktrail: run it {what} {g}");
    }
    Ok(exit::OK)
}

/// `fetch`: raw audit events to a file or standard output.
pub fn fetch_cmd(args: &FetchArgs) -> Result<u8> {
    if !args.cloudwatch.is_set() {
        bail!(UsageError(
            "fetch reads CloudWatch Logs: give --cluster NAME or --log-group NAME".into()
        ));
    }
    let sel = args.pod.selection()?;
    let src = source(&args.cloudwatch, &sel);
    let cw = selection(&sel, true);
    // Validate everything before the output file is created.
    src.validate()?;
    cw.validate()?;
    let mut writer = FetchWriter::create(&args.output)?;
    let stats = collect_events(&src, &cw, |e| {
        writer.write(e)?;
        Ok(())
    })?;
    let written = writer.finish()?;
    print_stats(&stats);
    let to = if args.output == "-" {
        "standard output".to_string()
    } else {
        args.output.clone()
    };
    eprintln!("ktrail: wrote {} audit events to {to}", written.written);
    if written.written == 0 {
        eprintln!("ktrail: no audit event matched");
        return Ok(exit::PROBLEM);
    }
    Ok(exit::OK)
}

/// One new event of `timeline --follow -o json`: a JSON line.
#[derive(Serialize)]
struct FollowLine<'a> {
    namespace: &'a str,
    name: &'a str,
    uid: Option<&'a str>,
    event: &'a PodEvent,
}

/// `timeline --follow`: the story so far, then each new event as it arrives, until Ctrl-C.
pub fn follow_cmd(args: &TimelineArgs, sel: record::Selection) -> Result<u8> {
    one_kind_of_input(&args.input)?;
    if sel.until.is_some() {
        bail!(UsageError(
            "--follow reads up to now and keeps going: leave out --until".into()
        ));
    }
    let mut src = source(&args.input.cloudwatch, &sel);
    src.progress = false;
    let cw = selection(&sel, false);
    let opts = FollowOptions {
        interval: args.poll_interval.unwrap_or(Duration::from_secs(10)),
        max_polls: args.max_polls,
        ..FollowOptions::default()
    };
    let mut messages: Vec<String> = Vec::new();
    let mut printed: HashSet<(String, String, String)> = HashSet::new();
    let mut first = true;
    let style = render::Style::detect();
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
            let mut engine = engine::Engine::new(sel.clone());
            for m in &messages {
                engine.feed_line(m.as_bytes());
            }
            let report = engine.finish();
            let r = print_new(&report, args.output, style, first, &mut printed);
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
