//! `ktrail timeline --follow`: the story so far from CloudWatch Logs, then each new event as it
//! arrives, until Ctrl-C.

use std::collections::HashSet;
use std::io::{self, Write};

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

use ktrail_cloudwatch::{follow, Cancel, EventKey, FollowOptions, FollowState};
use ktrail_core::collect::Collector;
use ktrail_core::escape::escape;
use ktrail_core::record;
use ktrail_core::timeline::{PodEvent, Report};

use super::cloudwatch::{one_kind_of_input, print_stats, runtime, selection, source};
use super::exit;
use crate::cli::UsageError;
use crate::options::{Follow, Timeline};
use crate::output::Output;
use crate::render;

/// The `--checkpoint` file: where a follow stopped (see [`FollowState`]).
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Checkpoint {
    schema_version: u32,
    log_group: String,
    from_ms: i64,
    seen: Vec<Seen>,
}

#[derive(Serialize, Deserialize)]
struct Seen {
    #[serde(rename = "auditID")]
    audit_id: String,
    stage: String,
    ms: i64,
}

impl Checkpoint {
    fn of(log_group: &str, state: &FollowState) -> Self {
        Checkpoint {
            schema_version: 1,
            log_group: log_group.to_owned(),
            from_ms: state.from_ms,
            seen: state
                .seen
                .iter()
                .map(|(k, ms)| Seen {
                    audit_id: k.audit_id.clone(),
                    stage: k.stage.clone(),
                    ms: *ms,
                })
                .collect(),
        }
    }

    fn state(&self) -> FollowState {
        FollowState {
            from_ms: self.from_ms,
            seen: self
                .seen
                .iter()
                .map(|s| {
                    (
                        EventKey {
                            audit_id: s.audit_id.clone(),
                            stage: s.stage.clone(),
                        },
                        s.ms,
                    )
                })
                .collect(),
        }
    }

    /// Reads `path`; a missing file is a first run.
    fn load(path: &str, log_group: &str) -> Result<Option<Checkpoint>> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e).with_context(|| format!("cannot read {path}")),
        };
        let cp: Checkpoint = serde_json::from_str(&text)
            .map_err(|e| UsageError(format!("{path} is not a ktrail follow checkpoint ({e})")))?;
        if cp.schema_version != 1 {
            bail!(UsageError(format!(
                "{path} is a checkpoint of schemaVersion {}; this ktrail reads 1",
                cp.schema_version
            )));
        }
        if cp.log_group != log_group {
            bail!(UsageError(format!(
                "{path} is the checkpoint of a follow of log group {}, not {log_group}",
                cp.log_group
            )));
        }
        Ok(Some(cp))
    }

    /// Written whole or not at all: a temporary file renamed over the previous checkpoint.
    fn save(&self, path: &str) -> Result<()> {
        let mut out = Output::create(path, true, &[])?;
        serde_json::to_writer(&mut out, self).context("writing the checkpoint")?;
        out.write_all(b"\n").context("writing the checkpoint")?;
        out.commit()?;
        Ok(())
    }
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
    let log_group = src.log_group_name()?;
    let resume = match &follow_opts.checkpoint {
        Some(p) => Checkpoint::load(p, &log_group)?.map(|c| c.state()),
        None => None,
    };
    // Resumed, the story so far was printed by the earlier follow: only new events are.
    let mut first = resume.is_none();
    let opts = FollowOptions {
        interval: follow_opts.interval,
        max_polls: follow_opts.max_polls,
        resume,
        ..FollowOptions::default()
    };
    let mut messages: Vec<String> = Vec::new();
    let mut printed: HashSet<(String, String, String)> = HashSet::new();
    let style = args.style;
    let mut failed: Option<anyhow::Error> = None;
    let rt = runtime()?;
    let stats = rt.block_on(async {
        let client = src.client().await?;
        let cancel = Cancel::new();
        let r = follow(&client, &src, &cw, &opts, &cancel, |batch, state| {
            if failed.is_some() {
                return;
            }
            let mut r = Ok(());
            if !batch.is_empty() || first {
                messages.extend(batch.into_iter().map(|e| e.message));
                let mut collector = Collector::new(sel.clone()).with_memory(args.inputs.memory);
                for m in &messages {
                    collector.feed_line(m.as_bytes());
                }
                r = match collector.finish() {
                    Ok(report) => print_new(&report, args.format, style, first, &mut printed),
                    Err(e) => Err(e.into()),
                };
                first = false;
            }
            // After the batch is printed: a run killed in between prints it again rather than
            // never.
            if let (Ok(()), Some(path)) = (&r, &follow_opts.checkpoint) {
                r = Checkpoint::of(&log_group, state).save(path);
            }
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
