//! The plainest possible scan: the whole input in memory, split at newlines, one line after the
//! other on one thread, every literal looked for with a byte-window comparison, no shortcut.
//!
//! It is the oracle the fast path is tested against (see `tests/scan_equivalence.rs`): it applies
//! the same rule (see the `scan` module) with nothing clever in the way. It holds the whole
//! input, so it is for tests and small inputs, never for real logs.

use std::io::Read;

use super::{config_literal, Diagnostic, Literal, ScanError, ScanOptions, HEAD_LIMIT};
use crate::collect::Collector;
use crate::decode::{self, Problem};
use crate::formats::documents::{self, Shape};
use crate::source::{self, Input};

/// Reads every input into the engine, like [`super::scan_inputs`].
pub fn scan_inputs(
    inputs: &[Input],
    engine: &mut Collector,
    opts: &ScanOptions,
    on_bad: &mut dyn FnMut(&Diagnostic),
) -> Result<(), ScanError> {
    for input in inputs {
        let origin = input.name();
        let (reader, _) = source::open(input)?;
        scan_reader(reader, &origin, engine, opts, on_bad)?;
    }
    Ok(())
}

/// Reads one stream, like [`super::scan_reader`].
pub fn scan_reader(
    mut reader: impl Read,
    origin: &str,
    engine: &mut Collector,
    opts: &ScanOptions,
    on_bad: &mut dyn FnMut(&Diagnostic),
) -> Result<(), ScanError> {
    let mut data = Vec::new();
    reader
        .read_to_end(&mut data)
        .map_err(super::read_error(origin))?;
    let mut report = |line: u64, p: Option<Problem>| match p {
        Some(problem) => super::report_bad(origin, line, problem, opts.strict, on_bad),
        None => Ok(()),
    };
    if data.starts_with(super::BOM) {
        data.drain(..super::BOM.len());
    }
    if documents::shape(&data[..data.len().min(HEAD_LIMIT)]) == Shape::Documents {
        if data.trim_ascii_start().first() == Some(&b'[') {
            return super::array::feed(
                engine,
                &data,
                &mut std::io::empty(),
                opts.max_line,
                &mut |line, p| report(line, Some(p)),
                &super::read_error(origin),
            );
        }
        let mut split = Vec::new();
        documents::Splitter::new(&data[..])
            .read_to_end(&mut split)
            .map_err(super::read_error(origin))?;
        data = split;
    }
    let literals = super::pod_literals(engine.selection());
    let config = config_literal();
    let mut lines: Vec<&[u8]> = data.split(|&b| b == b'\n').collect();
    // The piece after a final newline is not a line.
    if lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    for (i, line) in lines.into_iter().enumerate() {
        let n = i as u64 + 1;
        if line.len() > opts.max_line {
            let p = engine.reject(Problem::TooLong {
                limit: opts.max_line,
            });
            report(n, p)?;
            continue;
        }
        let t = crate::formats::cwexport::strip(decode::trim(line));
        let shaped = t.is_empty() || (t.first() == Some(&b'{') && t.last() == Some(&b'}'));
        let relevant = literals.iter().all(|l| has_literal(line, l)) || has_literal(line, &config);
        let unused_read = shaped && !engine.selection().reads && super::is_plain_read(t);
        if shaped && (!relevant || unused_read) {
            engine.skip_unread();
            continue;
        }
        let p = engine.feed_line(line);
        report(n, p)?;
    }
    Ok(())
}

/// Whether `line` holds the literal, tried at every position.
fn has_literal(line: &[u8], l: &Literal) -> bool {
    (0..line.len()).any(|i| line[i..].starts_with(&l.bytes) && l.at.counts(line, i, l.bytes.len()))
}
