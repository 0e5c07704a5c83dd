//! `ktrail pods`: every pod incarnation on one line, then latency percentiles per scheduler.

use anyhow::Result;

use ktrail_core::views::pods;

use super::{load, print_view};
use crate::cli::PodsArgs;
use crate::render::{self, Style};

pub fn run(args: PodsArgs) -> Result<u8> {
    let sel = args.pod.selection()?;
    let report = load(&args.input, sel)?;
    let view = pods::build(&report, args.sort);
    let empty = view.rows.is_empty().then_some("no pod matched");
    print_view("writing the pod list", empty, |out| {
        render::pods::render(&view, args.output, Style::detect(), out)
    })
}
