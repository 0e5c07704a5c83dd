//! `ktrail pods`: every pod incarnation on one line, then latency percentiles per scheduler.

use std::io::{self, Write};

use anyhow::{Context, Result};

use ktrail_core::views::pods;

use super::{exit, load};
use crate::options::Pods;
use crate::render;

pub fn run(args: Pods) -> Result<u8> {
    let report = load(&args.inputs, args.selection)?;
    let view = pods::build(&report, args.sort);
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    render::pods::render(&view, args.format, args.style, &mut out)
        .and_then(|_| out.flush())
        .context("writing the pod list")?;
    if view.rows.is_empty() {
        eprintln!("ktrail: no pod matched");
        return Ok(exit::PROBLEM);
    }
    Ok(exit::OK)
}
