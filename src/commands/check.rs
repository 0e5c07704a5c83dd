//! `ktrail check`: hold the pod stories of a recording to a rules file, as a CI gate. Exit codes:
//! 0 every rule holds, 1 a rule is broken (or, with `--require-match`, matches no pod), 2 usage
//! error, unreadable input or malformed rules.

use std::io::{self, Write};

use anyhow::{Context, Result};

use ktrail_core::check::eval::{self, judge, Evaluator};
use ktrail_core::check::rules;
use ktrail_core::escape::escape;
use ktrail_core::record::Selection;

use super::{exit, load_pending};
use crate::options::Check;
use crate::render;

pub fn run(args: Check) -> Result<u8> {
    // The rules first: a broken rules file is an error before any log is read.
    let rules = rules::load(&args.rules)?;
    // Every pod is read: rules select pods by glob after the stories are built.
    let sel = Selection {
        since: args.since,
        until: args.until,
        ..Selection::default()
    };
    let pending = load_pending(&args.inputs, sel)?;
    // Each story is judged as it is derived (on every core): the verdict keeps results, not
    // stories, and a quarter of the budget of them in memory (the records being read back take
    // at most half of it).
    let mut judged = Evaluator::new(&rules, args.require_match).with_memory(args.inputs.memory / 4);
    pending.stream(
        |pods| pods.iter().map(|p| judge(&rules, p)).collect::<Vec<_>>(),
        |pods| -> io::Result<()> {
            for p in pods {
                judged.push(p)?;
            }
            Ok(())
        },
    )?;
    let verdict = judged.finish();
    for r in verdict
        .rules
        .iter()
        .filter(|r| r.status == eval::Status::Unmatched)
    {
        let level = if args.require_match {
            "error"
        } else {
            "warning"
        };
        eprintln!(
            "ktrail: {level}: rule \"{}\" matched no pod",
            escape(&r.name)
        );
    }
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    // A reader that stops early (`ktrail check … | head`) changes nothing of the verdict: a CI
    // gate with `pipefail` still sees a broken rule in the exit code.
    match render::check::render(&verdict, args.format, args.style, &mut out)
        .and_then(|_| out.flush())
    {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => {
            return Err(e).context("writing the check report")
        }
        _ => {}
    }
    Ok(if verdict.passed {
        exit::OK
    } else {
        exit::PROBLEM
    })
}
