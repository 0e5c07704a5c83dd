//! `ktrail report`: the HTML report of every selected pod, to standard output or a file.

use anyhow::{Context, Result};

use ktrail_core::views::{pods, webhooks};

use super::{exit, load};
use crate::options::{Inputs, Report};
use crate::output::Output;
use crate::render::html;

pub fn run(args: Report) -> Result<u8> {
    // An existing target is refused before the log is read, not after.
    let mut out = Output::create(&args.output.path, args.output.force, &[])?;
    let report = load(&args.inputs, args.selection)?;
    let latency = pods::build(&report, None).latency;
    let hooks = webhooks::build(&report);
    let sources = sources(&args.inputs);
    html::render(
        &html::Input {
            report: &report,
            latency: &latency,
            webhooks: &hooks,
            sources: &sources,
            max_stories: args.max_stories,
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
