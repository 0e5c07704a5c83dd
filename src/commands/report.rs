//! `ktrail report`: the HTML report of every selected pod, to standard output or a file.

use anyhow::{Context, Result};

use ktrail_core::timeline::{self, Pod};
use ktrail_core::views::{pods, webhooks};

use super::{exit, load_pending};
use crate::options::{Inputs, Report};
use crate::output::Output;
use crate::render::html;

pub fn run(args: Report) -> Result<u8> {
    // An existing target is refused before the log is read, not after.
    let mut out = Output::create(&args.output.path, args.output.force, &[])?;
    let pending = load_pending(&args.inputs, args.selection)?;
    // First pass: the outline of every story and the webhook counts; the stories shown are
    // derived again as they are written (see `html::outline`).
    let mut hooks = webhooks::Builder::default();
    let mut outlines: Vec<Pod> = Vec::new();
    pending.stream(
        |group| {
            let outlines = group.iter().map(html::outline).collect::<Vec<_>>();
            (webhooks::Builder::of(&group), outlines)
        },
        |(b, o): (webhooks::Builder, Vec<Pod>)| -> std::io::Result<()> {
            hooks.append(b);
            outlines.extend(o);
            Ok(())
        },
    )?;
    let report = timeline::Report {
        schema_version: timeline::SCHEMA_VERSION,
        pods: outlines,
        summary: pending.summary.clone(),
        configs: pending.configs.clone(),
    };
    let latency = pods::Latency::of(&report.pods);
    let hooks = hooks.finish(&report.configs);
    let sources = sources(&args.inputs);
    html::render(
        &html::Input {
            report: &report,
            latency: &latency,
            webhooks: &hooks,
            sources: &sources,
            max_stories: args.max_stories,
            stories_from: Some(&pending),
        },
        &mut out,
    )
    .context("writing the report")?;
    out.commit()?;
    if report.pods.is_empty() {
        eprintln!("ktrail: no pod matched");
        return Ok(exit::PROBLEM);
    }
    Ok(exit::OK)
}

/// The inputs as the user named them.
fn sources(inputs: &Inputs) -> Vec<String> {
    let mut out: Vec<String> = inputs
        .files
        .iter()
        .map(|f| {
            if f == "-" {
                "standard input".into()
            } else {
                f.clone()
            }
        })
        .collect();
    out.extend(inputs.samples.iter().map(|s| format!("sample {s}")));
    let cw = &inputs.cloudwatch;
    if let Some(g) = &cw.log_group {
        out.push(format!("CloudWatch Logs {g}"));
    } else if let Some(c) = &cw.cluster {
        out.push(format!("CloudWatch Logs of cluster {c}"));
    }
    out
}
