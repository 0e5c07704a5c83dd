//! The plainest possible scan: the whole input in memory, split at newlines, one line after the
//! other on one thread, every literal looked for with a byte-window comparison, no shortcut.
//!
//! It is the oracle the fast path is tested against (see `tests/scan_equivalence.rs`): it applies
//! the same rule (see the `scan` module) with nothing clever in the way. It holds the whole
//! input, so it is for tests and small inputs, never for real logs.

use std::io::Read;

use super::{config_literal, Feed, Literal, ScanError, ScanOptions, HEAD_LIMIT};
use crate::collect::Collector;
use crate::decode::{self, Problem};
use crate::formats::documents::{self, Shape};
use crate::record::Selection;

/// What one scan made of an input: the engine, the bad lines' messages, and the outcome.
pub type Scanned = (Collector, Vec<String>, Result<(), ScanError>);

/// One input, named `origin`, scanned for `sel` into a fresh engine by `scan` (this module's
/// [`scan_reader`], or the fast path's) with the bad lines' messages kept: the one way the tests
/// run either scan, so that they compare like with like.
pub fn scanned(
    sel: &Selection,
    opts: &ScanOptions,
    origin: &str,
    scan: impl FnOnce(&mut Feed<'_>) -> Result<(), ScanError>,
) -> Scanned {
    let mut engine = Collector::new(sel.clone());
    let mut bad = Vec::new();
    let r = scan(&mut Feed {
        origin,
        engine: &mut engine,
        opts,
        on_bad: &mut |d| bad.push(d.to_string()),
    });
    (engine, bad, r)
}

/// Reads one stream, like [`super::scan_reader`].
pub fn scan_reader(mut reader: impl Read, feed: &mut Feed<'_>) -> Result<(), ScanError> {
    let read_err = super::read_error(feed.origin);
    let max_line = feed.opts.max_line;
    let mut data = Vec::new();
    reader.read_to_end(&mut data).map_err(read_err)?;
    if data.starts_with(super::BOM) {
        data.drain(..super::BOM.len());
    }
    if documents::shape(&data[..data.len().min(HEAD_LIMIT)]) == Shape::Documents {
        if data.trim_ascii_start().first() == Some(&b'[') {
            return super::array::feed(feed, &data, &mut std::io::empty());
        }
        let mut split = Vec::new();
        documents::Splitter::new(&data[..])
            .read_to_end(&mut split)
            .map_err(read_err)?;
        data = split;
    }
    let literals = super::pod_literals(feed.engine.selection());
    let reads = feed.engine.selection().reads;
    let config = config_literal();
    let mut lines: Vec<&[u8]> = data.split(|&b| b == b'\n').collect();
    // The piece after a final newline is not a line.
    if lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    for (i, line) in lines.into_iter().enumerate() {
        let n = i as u64 + 1;
        if line.len() > max_line {
            let p = feed.engine.reject(Problem::TooLong { limit: max_line });
            feed.report(n, p)?;
            continue;
        }
        let t = crate::formats::cwexport::strip(decode::trim(line));
        let shaped = t.is_empty() || (t.first() == Some(&b'{') && t.last() == Some(&b'}'));
        let relevant = literals.iter().all(|l| has_literal(line, l)) || has_literal(line, &config);
        let unused_read = shaped && !reads && super::is_plain_read(t);
        if shaped && (!relevant || unused_read) {
            feed.engine.skip_unread();
            continue;
        }
        let p = feed.engine.feed_line(line);
        feed.report(n, p)?;
    }
    Ok(())
}

/// Whether `line` holds the literal, tried at every position.
fn has_literal(line: &[u8], l: &Literal) -> bool {
    (0..line.len()).any(|i| line[i..].starts_with(&l.bytes) && l.at.counts(line, i, l.bytes.len()))
}
