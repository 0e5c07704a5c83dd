//! `ktrail timeline`: the story of one pod or of every pod, written pod by pod as it is derived.

use std::io::{self, Write};

use anyhow::{bail, Context, Result};

use super::{exit, follow, load_pending, nomatch};
use crate::cli::UsageError;
use crate::options::Timeline;
use crate::render::{self, Format};

pub fn run(args: Timeline) -> Result<u8> {
    let sel = args.selection.clone();
    if let Some(follow) = &args.follow {
        if !args.inputs.cloudwatch.is_set() {
            bail!(UsageError(
                "--follow needs a CloudWatch source (--cluster or --log-group)".into()
            ));
        }
        return follow::run(&args, follow, sel);
    }
    let pending = load_pending(&args.inputs, sel)?;
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    let style = args.style;
    let found = if args.format == Format::Mermaid {
        // A diagram's layout depends on the number of pods: the whole report first.
        let report = pending.into_report()?;
        render::timeline(&report, args.format, style, &mut out).map(|_| !report.pods.is_empty())
    } else {
        let found = render::timeline_stream(&pending, args.format, style, &mut out);
        // The process ends right after: freeing every record piece by piece is wasted time.
        std::mem::forget(pending);
        found
    }
    .and_then(|found| out.flush().map(|_| found))
    .context("writing the timeline")?;
    if !found {
        return nomatch::explain(&args.inputs, &args.selection);
    }
    Ok(exit::OK)
}
