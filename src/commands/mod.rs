//! One module per subcommand: each turns its validated arguments into a source and a selection,
//! runs the engine, writes the output and picks the exit code. Nothing else in the program prints
//! to standard output or decides how the process ends.

mod blame;
mod check;
mod cloudwatch;
mod completions;
mod diff;
mod fetch;
mod follow;
mod input;
mod nomatch;
mod pods;
mod query;
mod redact;
mod report;
mod s3;
mod samples;
mod timeline;
mod webhooks;

use std::io::{self, Write};

use anyhow::{Context, Result};

use crate::cli::Cli;
use crate::options::Invocation;

pub use input::{load, load_pending, DiagnosticPrinter};

/// Exit codes: 0 ok, 1 "found a problem" (a check failed, nothing matched), 2 usage or input error.
pub mod exit {
    pub const OK: u8 = 0;
    pub const PROBLEM: u8 = 1;
    pub const USAGE: u8 = 2;
}

/// Runs a parsed command line and returns the exit code.
pub fn run(cli: Cli) -> Result<u8> {
    match cli.validate()? {
        Invocation::Timeline(o) => timeline::run(o),
        Invocation::Webhooks(o) => webhooks::run(o),
        Invocation::Pods(o) => pods::run(o),
        Invocation::Report(o) => report::run(o),
        Invocation::Query(o) => query::run(&o),
        Invocation::Fetch(o) => fetch::run(&o),
        Invocation::Blame(o) => blame::run(o),
        Invocation::Diff(o) => diff::run(o),
        Invocation::Check(o) => check::run(o),
        Invocation::Redact(o) => redact::run(&o),
        Invocation::Samples => samples::run(),
        Invocation::Completions(shell) => completions::run(shell),
    }
}

/// Writes a cluster-wide view to standard output with `render` (`what` names the writing in an
/// error); when the view is `empty`, says so on stderr and exits with [`exit::PROBLEM`].
fn print_view(
    what: &'static str,
    empty: Option<&str>,
    render: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> Result<u8> {
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    render(&mut out).and_then(|_| out.flush()).context(what)?;
    if let Some(empty) = empty {
        eprintln!("ktrail: {empty}");
        return Ok(exit::PROBLEM);
    }
    Ok(exit::OK)
}

/// Whether an error is a closed pipe (e.g. `ktrail … | head`), which is not a failure.
pub fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<io::Error>()
            .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
    })
}
