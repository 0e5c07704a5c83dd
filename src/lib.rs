//! ktrail: who changed this pod? The library behind the `ktrail` command.
//!
//! The data's way through the program: `source` (files, stdin, samples, CloudWatch) → `scan`
//! (lines, prefilter) → `decode` (wrappers to audit events) → `record` (the pod events kept) →
//! `engine` (stage collapse, duplicates) → `timeline` (incarnations, attribution, facts) → `render`.

pub mod admission;
pub mod audit;
pub mod check;
pub mod cli;
pub mod cloudwatch;
pub mod corpus;
pub mod decode;
pub mod doc;
pub mod engine;
pub mod record;
pub mod redact;
pub mod render;
pub mod samples;
pub mod sanitize;
pub mod scan;
pub mod source;
pub mod timeline;
pub mod views;

use std::io::{self, IsTerminal, Write};

use anyhow::{bail, Context, Result};

use cli::{Cli, Command, InputArgs, TimelineArgs};
use engine::Engine;
use record::Selection;
use scan::{Diagnostic, ScanOptions};
use timeline::{Pending, Report};

/// Exit codes: 0 ok, 1 "found a problem" (a check failed, nothing matched), 2 usage or input error.
pub mod exit {
    pub const OK: u8 = 0;
    pub const PROBLEM: u8 = 1;
    pub const USAGE: u8 = 2;
}

/// At most this many bad-line diagnostics are printed; the summary counts them all.
const MAX_DIAGNOSTICS: u64 = 1000;

/// Prints diagnostics to stderr, escaped, up to a limit.
#[derive(Default)]
pub struct DiagnosticPrinter {
    pub count: u64,
}

impl DiagnosticPrinter {
    pub fn print(&mut self, d: &Diagnostic) {
        self.count += 1;
        if self.count <= MAX_DIAGNOSTICS {
            eprintln!("{d}");
        } else if self.count == MAX_DIAGNOSTICS + 1 {
            eprintln!("ktrail: more bad lines follow; only the first {MAX_DIAGNOSTICS} are shown");
        }
    }
}

/// Runs a parsed command line and returns the exit code.
pub fn run(cli: Cli) -> Result<u8> {
    match cli.command {
        Command::Timeline(args) => timeline_cmd(*args),
        Command::Webhooks(args) => views::webhooks_cmd(*args),
        Command::Pods(args) => views::pods_cmd(*args),
        Command::Query(args) => cloudwatch::commands::query_cmd(&args),
        Command::Fetch(args) => cloudwatch::commands::fetch_cmd(&args),
        Command::Check(args) => check::run(*args),
        Command::Redact(args) => {
            let sum = redact::run(&args.file, args.output.as_deref(), &mut io::stderr())?;
            if sum.dropped > 0 {
                eprintln!("ktrail: dropped {} of {} lines", sum.dropped, sum.lines);
            }
            Ok(exit::OK)
        }
        Command::Samples => {
            let mut out = io::stdout().lock();
            for s in samples::SAMPLES {
                writeln!(out, "{:<24} {}", s.name, s.about)?;
            }
            Ok(exit::OK)
        }
        Command::Completions { shell } => {
            use clap::CommandFactory;
            clap_complete::generate(shell, &mut Cli::command(), "ktrail", &mut io::stdout());
            Ok(exit::OK)
        }
    }
}

/// Reads every input of `input` for `sel` and builds the report. Bad lines are printed to stderr;
/// with `--strict` the first one is an error.
pub fn load(input: &InputArgs, sel: Selection) -> Result<Report> {
    Ok(load_pending(input, sel)?.into_report())
}

/// [`load`] up to the stories: the records grouped per pod, for output written pod by pod.
pub fn load_pending(input: &InputArgs, sel: Selection) -> Result<Pending> {
    if input.cloudwatch.is_set() {
        return cloudwatch::commands::load(input, sel);
    }
    if input.files.is_empty() && input.samples.is_empty() {
        bail!(cli::UsageError(
            "no input: give -f FILE (or -f - for standard input), --sample NAME, or --cluster NAME"
                .into()
        ));
    }
    let inputs = source::expand(&input.files, &input.samples)?;
    let mut engine = Engine::new(sel);
    let mut printer = DiagnosticPrinter::default();
    let opts = ScanOptions {
        strict: input.strict,
        ..Default::default()
    };
    scan::scan_inputs(&inputs, &mut engine, &opts, &mut |d| printer.print(d))?;
    let pending = engine.finish_pending();
    if pending.summary.lines_skipped > 0 {
        eprintln!(
            "ktrail: skipped {} of {} lines",
            pending.summary.lines_skipped, pending.summary.lines_read
        );
    }
    Ok(pending)
}

fn timeline_cmd(args: TimelineArgs) -> Result<u8> {
    let sel = args.pod.selection()?;
    if args.follow {
        if !args.input.cloudwatch.is_set() {
            bail!(cli::UsageError(
                "--follow needs a CloudWatch source (--cluster or --log-group)".into()
            ));
        }
        return cloudwatch::commands::follow_cmd(&args, sel);
    }
    let pending = load_pending(&args.input, sel)?;
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    let style = render::Style::detect();
    let found = if args.output == render::Format::Mermaid {
        // A diagram's layout depends on the number of pods: the whole report first.
        let report = pending.into_report();
        render::timeline(&report, args.output, style, &mut out).map(|_| !report.pods.is_empty())
    } else {
        let found = render::timeline_stream(&pending, args.output, style, &mut out);
        // The process ends right after: freeing every record piece by piece is wasted time.
        std::mem::forget(pending);
        found
    }
    .and_then(|found| out.flush().map(|_| found))
    .context("writing the timeline")?;
    if !found {
        eprintln!("ktrail: no pod matched");
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

/// True when standard error is a terminal (progress bars and colours go there only then).
pub fn stderr_is_terminal() -> bool {
    io::stderr().is_terminal()
}
