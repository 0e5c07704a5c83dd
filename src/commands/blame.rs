//! `ktrail blame`: every field of a pod's object with who set it last, rebuilt from the log.

use std::io::{self, Write};

use anyhow::{Context, Result};

use ktrail_core::blame::{self, PodBlame};

use super::{exit, load_pending};
use crate::options::Blame;
use crate::render::{self, ViewFormat};

pub fn run(args: Blame) -> Result<u8> {
    let pending = load_pending(&args.inputs, args.selection)?;
    let opts = blame::Options {
        at: args.at,
        history: args.history,
        paths: args.paths,
    };
    let pods: Vec<PodBlame> = pending
        .map_incarnations(|inc| blame::blame(inc, &opts))?
        .into_iter()
        .flatten()
        .collect();
    if args.format == ViewFormat::Json {
        // The JSON contract has no place for them; they must not go unsaid.
        render::blame::notes_to_stderr(&pods);
    }
    let report = blame::report(pods);
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    render::blame::blame(&report, args.format, args.style, &mut out)
        .and_then(|_| out.flush())
        .context("writing the blame")?;
    if report.pods.is_empty() {
        eprintln!("ktrail: no pod matched");
        return Ok(exit::PROBLEM);
    }
    Ok(exit::OK)
}
