//! `ktrail pods`: every pod incarnation on one line, then latency percentiles per scheduler.

use std::io::{self, Write};

use anyhow::{Context, Result};

use ktrail_core::views::pods;

use super::{exit, load, nomatch};
use crate::options::Pods;
use crate::render::{self, Style};

pub fn run(args: Pods) -> Result<u8> {
    let report = load(&args.inputs, args.selection.clone())?;
    let view = pods::build(&report, args.sort);
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    render::pods::render(&view, args.format, Style::detect(), &mut out)
        .and_then(|_| out.flush())
        .context("writing the pod list")?;
    if view.rows.is_empty() {
        return nomatch::explain(&args.inputs, &args.selection);
    }
    Ok(exit::OK)
}
