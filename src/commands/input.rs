//! Reading every input of a command into the engine: files, directories, standard input and
//! built-in samples through the scan, S3 locations through the same scan (`s3`), CloudWatch Logs
//! through its own source. All feed the same collector line by line, so a story is the same
//! whichever way its lines arrived.

use anyhow::{bail, Result};

use ktrail_core::collect::Collector;
use ktrail_core::escape::escape;
use ktrail_core::record::Selection;
use ktrail_core::scan::{self, Diagnostic, ScanOptions};
use ktrail_core::source;
use ktrail_core::suggest::Census;
use ktrail_core::timeline::{Pending, Report};

use ktrail_core::source::Input;
use ktrail_s3::S3Url;

use super::cloudwatch;
use super::s3::S3Reader;
use crate::cli::UsageError;
use crate::options::Inputs;

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

/// Inputs read one after the other: local files, directories and samples, or an S3 location.
enum Group<'a> {
    Local(Vec<Input>),
    S3(&'a str),
}

/// Reads every input of `input` for `sel` and builds the report. Bad lines are printed to stderr;
/// with `--strict` the first one is an error.
pub fn load(input: &Inputs, sel: Selection) -> Result<Report> {
    Ok(load_pending(input, sel)?.into_report()?)
}

/// [`load`] up to the stories: the records grouped per pod, for output written pod by pod.
pub fn load_pending(input: &Inputs, sel: Selection) -> Result<Pending> {
    let uid = sel.uid.clone();
    let pending = if input.cloudwatch.is_set() {
        cloudwatch::load(input, sel)?
    } else {
        load_files(input, sel)?
    };
    if !pending.ambiguous_uid.is_empty() {
        let pods: Vec<String> = pending
            .ambiguous_uid
            .iter()
            .map(|(u, ns, n)| format!("{u} ({ns}/{n})"))
            .collect();
        bail!(UsageError(format!(
            "--uid {} matches {} pods: {}; give more of it",
            uid.unwrap_or_default(),
            pods.len(),
            pods.join(", ")
        )));
    }
    Ok(pending)
}

fn load_files(input: &Inputs, sel: Selection) -> Result<Pending> {
    if input.files.is_empty() && input.samples.is_empty() {
        bail!(UsageError(
            "no input: give -f FILE (or -f - for standard input, -f s3://BUCKET/PREFIX), --sample NAME, or --cluster NAME"
                .into()
        ));
    }
    // Samples first, then every -f in the order given; local paths are checked before anything
    // is read.
    let mut groups = vec![Group::Local(expand_local(&[], &input.samples)?)];
    for f in &input.files {
        if S3Url::is_s3(f) {
            groups.push(Group::S3(f));
        } else {
            groups.push(Group::Local(expand_local(std::slice::from_ref(f), &[])?));
        }
    }
    let mut collector = Collector::new(sel).with_memory(input.memory);
    let mut printer = DiagnosticPrinter::default();
    let opts = ScanOptions {
        strict: input.strict,
        ..Default::default()
    };
    let mut s3 = S3Reader::default();
    for g in groups {
        match g {
            Group::Local(inputs) => {
                scan::scan_inputs(&inputs, &mut collector, &opts, &mut |d| printer.print(d))?
            }
            Group::S3(location) => s3.read(location, input, &mut collector, &opts, &mut printer)?,
        }
    }
    finish(collector, "lines")
}

/// Files, directories and samples, checked before anything is read; a file of a directory that
/// is not an audit log is named once and passed over.
fn expand_local(files: &[String], samples: &[String]) -> Result<Vec<Input>> {
    let expanded = source::expand(files, samples)?;
    for n in &expanded.not_logs {
        eprintln!("{}", escape(&format!("ktrail: {n}")));
    }
    Ok(expanded.inputs)
}

/// The collected story, after saying how many of the `units` read (lines, events) were skipped.
pub(super) fn finish(collector: Collector, units: &str) -> Result<Pending> {
    let pending = collector.finish_pending()?;
    if pending.summary.lines_skipped > 0 {
        eprintln!(
            "ktrail: skipped {} of {} {units}",
            pending.summary.lines_skipped, pending.summary.lines_read
        );
    }
    Ok(pending)
}

/// Which pods the files and samples of `input` hold, whatever `sel` asks for (see
/// `ktrail_core::suggest`): the second pass after a run that matched nothing. Quiet: the first
/// pass reported what was wrong with the inputs.
pub fn census(input: &Inputs, sel: &Selection) -> Result<Census> {
    // S3 objects are not read a second time, as standard input is not.
    let files: Vec<String> = input
        .files
        .iter()
        .filter(|f| !S3Url::is_s3(f))
        .cloned()
        .collect();
    let inputs = source::expand(&files, &input.samples)?.inputs;
    let broad = Selection {
        reads: sel.reads,
        ..Selection::default()
    };
    let mut collector = Collector::census(broad);
    scan::scan_inputs(
        &inputs,
        &mut collector,
        &ScanOptions::default(),
        &mut |_| {},
    )?;
    Ok(collector.finish_census())
}
