//! `ktrail pods`: every pod incarnation on one line, then latency percentiles per scheduler.

use anyhow::Result;

use ktrail_core::views::pods;

use super::{load, print_view};
use crate::options::Pods;
use crate::render;

pub fn run(args: Pods) -> Result<u8> {
    let report = load(&args.inputs, args.selection)?;
    let view = pods::build(&report, args.sort);
    let empty = view.rows.is_empty().then_some("no pod matched");
    print_view("writing the pod list", empty, |out| {
        render::pods::render(&view, args.format, args.style, out)
    })
}
