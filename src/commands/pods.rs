//! `ktrail pods`: every pod incarnation on one line, then latency percentiles per scheduler.
//!
//! Each story is folded into its row as it is derived (on every core), so the command holds the
//! records and the rows, never every story.

use std::io::{self, Write};

use anyhow::{Context, Result};

use ktrail_core::views::pods::{Sample, SortKey};

use super::{exit, load_pending, nomatch};
use crate::options::Pods;
use crate::render::pods::{row, Writer};

pub fn run(args: Pods) -> Result<u8> {
    let pending = load_pending(&args.inputs, args.selection.clone())?;
    let (format, sort) = (args.format, args.sort);
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    let rows = (|| -> io::Result<usize> {
        let mut view = Writer::new(format, args.style, sort.is_some(), &mut out)?;
        pending.stream(
            |pods| {
                pods.iter()
                    .map(|p| {
                        let key = sort.map(|s| SortKey::of(p, s));
                        Ok((key, row(p, format)?, Sample::of(p)))
                    })
                    .collect::<io::Result<Vec<_>>>()
            },
            |rows| -> io::Result<()> {
                for (key, row, sample) in rows? {
                    view.push(key, row, sample)?;
                }
                Ok(())
            },
        )?;
        view.finish()
    })()
    .and_then(|rows| out.flush().map(|_| rows))
    .context("writing the pod list")?;
    // The process ends right after: freeing every record piece by piece is wasted time.
    std::mem::forget(pending);
    if rows == 0 {
        return nomatch::explain(&args.inputs, &args.selection);
    }
    Ok(exit::OK)
}
