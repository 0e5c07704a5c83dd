//! `ktrail report`: the HTML report of every selected pod, to standard output or a file.

use anyhow::{Context, Result};

use ktrail_core::views::pods::{Latency, Sample};
use ktrail_core::views::webhooks;

use super::{exit, load_pending};
use crate::options::{Inputs, Report};
use crate::output::Output;
use crate::render::html;

pub fn run(args: Report) -> Result<u8> {
    // An existing target is refused before the log is read, not after.
    let mut out = Output::create(&args.output.path, args.output.force, &[])?;
    let pending = load_pending(&args.inputs, args.selection)?;
    // First pass: the lane of every incarnation, the latencies and the webhook counts, each
    // made where its stories are derived (which frees them there); the stories shown are
    // derived again as they are written.
    let mut hooks = webhooks::Builder::default();
    let mut lanes = html::Lanes::default();
    let mut latency = Latency::default();
    pending.stream(
        |group| {
            let samples: Vec<Sample> = group.iter().map(Sample::of).collect();
            (
                webhooks::Builder::of(&group),
                html::Lanes::of(&group),
                samples,
            )
        },
        |(b, l, samples)| -> std::io::Result<()> {
            hooks.append(b);
            lanes.append(l);
            for s in samples {
                latency.add(s);
            }
            Ok(())
        },
    )?;
    let latency = latency.finish();
    let hooks = hooks.finish(&pending.configs);
    let sources = sources(&args.inputs);
    html::render(
        &html::Input {
            lanes: &lanes,
            summary: &pending.summary,
            latency: &latency,
            webhooks: &hooks,
            sources: &sources,
            max_stories: args.max_stories,
            stories_from: &pending,
        },
        &mut out,
    )
    .context("writing the report")?;
    out.commit()?;
    if lanes.is_empty() {
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
