//! `ktrail pods`: every pod incarnation on one line, then latency percentiles per scheduler.

use anyhow::Result;

use ktrail_core::views::pods;

use super::{load, nomatch, print_view};
use crate::options::Pods;
use crate::render;

pub fn run(args: Pods) -> Result<u8> {
    let report = load(&args.inputs, args.selection.clone())?;
    let view = pods::build(&report, args.sort);
    let code = print_view("writing the pod list", None, |out| {
        render::pods::render(&view, args.format, args.style, out)
    })?;
    if view.rows.is_empty() {
        return nomatch::explain(&args.inputs, &args.selection);
    }
    Ok(code)
}
