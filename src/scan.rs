//! Reads inputs line by line into the engine, skipping unread the lines that cannot concern the
//! selection, and reporting every bad line as `FILE:LINE: reason`.
//!
//! The prefilter is a necessary condition only (a line about a pod contains `pods`; a line about the
//! pod `nginx` contains `nginx`): the parse decides. A line the prefilter passes over is still checked
//! for the shape of a JSON object, so damaged lines are reported even when they are not about pods.

use std::fmt;
use std::io::{self, Read};

use memchr::memmem;

use crate::decode::{self, Problem};
use crate::engine::Engine;
use crate::sanitize;
use crate::source::{self, Input, SourceError};

/// A bad line: where, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub origin: String,
    pub line: u64,
    pub problem: Problem,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = format!("{}:{}: {}", self.origin, self.line, self.problem);
        f.write_str(&sanitize::escape(&text))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error("{origin}: {source}")]
    Read {
        origin: String,
        #[source]
        source: io::Error,
    },
    #[error("{0} (--strict)")]
    Strict(Diagnostic),
}

#[derive(Debug, Clone)]
pub struct ScanOptions {
    /// Stop at the first bad line.
    pub strict: bool,
    /// Lines longer than this are skipped without being held in memory.
    pub max_line: usize,
}

impl Default for ScanOptions {
    fn default() -> Self {
        ScanOptions {
            strict: false,
            max_line: 256 << 20,
        }
    }
}

/// The literal prefilter: a line is decoded when it contains all of `all`, or any of `any`.
pub struct Prefilter {
    all: Vec<memmem::Finder<'static>>,
    any: Vec<memmem::Finder<'static>>,
}

impl Prefilter {
    pub fn for_engine(engine: &Engine) -> Prefilter {
        Prefilter {
            all: engine
                .selection()
                .pod_literals()
                .into_iter()
                .map(|l| memmem::Finder::new(&l).into_owned())
                .collect(),
            any: vec![memmem::Finder::new(b"webhookconfigurations").into_owned()],
        }
    }

    pub fn wants(&self, line: &[u8]) -> bool {
        self.all.iter().all(|f| f.find(line).is_some())
            || self.any.iter().any(|f| f.find(line).is_some())
    }
}

/// The shape every JSON object line has; a line without it is decoded to say what is wrong.
pub fn looks_like_object(line: &[u8]) -> bool {
    let t = decode::trim(line);
    t.is_empty() || (t[0] == b'{' && t[t.len() - 1] == b'}')
}

/// Reads every input into the engine. Bad lines go to `on_bad`; with `strict` the first one ends
/// the scan with an error.
pub fn scan_inputs(
    inputs: &[Input],
    engine: &mut Engine,
    opts: &ScanOptions,
    on_bad: &mut dyn FnMut(&Diagnostic),
) -> Result<(), ScanError> {
    let pre = Prefilter::for_engine(engine);
    for input in inputs {
        let origin = input.name();
        let (reader, _) = source::open(input)?;
        scan_reader(reader, &origin, engine, &pre, opts, on_bad)?;
    }
    Ok(())
}

/// Reads one stream. A stream whose first character is `[`, or whose first line is a lone `{`, is a
/// JSON document (what the AWS CLI prints) and is decoded whole; anything else line by line.
pub fn scan_reader(
    mut reader: Box<dyn Read + Send>,
    origin: &str,
    engine: &mut Engine,
    pre: &Prefilter,
    opts: &ScanOptions,
    on_bad: &mut dyn FnMut(&Diagnostic),
) -> Result<(), ScanError> {
    let read_err = |e| ScanError::Read {
        origin: origin.to_owned(),
        source: e,
    };
    const CHUNK: usize = 1 << 20;
    let mut buf: Vec<u8> = Vec::with_capacity(CHUNK);
    let mut line_no: u64 = 0;
    let mut first = true;
    // True while skipping the rest of an over-long line.
    let mut skipping = false;
    let mut report = |line_no: u64, p: Option<Problem>| {
        if let Some(problem) = p {
            let d = Diagnostic {
                origin: origin.to_owned(),
                line: line_no,
                problem,
            };
            if opts.strict {
                return Err(ScanError::Strict(d));
            }
            on_bad(&d);
        }
        Ok(())
    };
    loop {
        let start = buf.len();
        buf.resize(start + CHUNK, 0);
        let n = loop {
            match reader.read(&mut buf[start..]) {
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(read_err(e)),
            }
        };
        buf.truncate(start + n);
        if first && !buf.is_empty() {
            if let Some(doc) = document_start(&buf) {
                if doc {
                    reader.read_to_end(&mut buf).map_err(read_err)?;
                    let p = engine.feed_line(&buf);
                    return report(1, p);
                }
                first = false;
            } else if n != 0 && buf.len() < (64 << 10) {
                continue; // not enough bytes to tell yet
            } else {
                first = false;
            }
        }
        let eof = n == 0;
        let mut pos = 0;
        while let Some(nl) = memchr::memchr(b'\n', &buf[pos..]) {
            let line = &buf[pos..pos + nl];
            pos += nl + 1;
            line_no += 1;
            if skipping {
                skipping = false;
                continue;
            }
            handle_line(line, line_no, engine, pre, &mut report)?;
        }
        buf.drain(..pos);
        if eof {
            if !buf.is_empty() && !skipping {
                line_no += 1;
                let line = std::mem::take(&mut buf);
                handle_line(&line, line_no, engine, pre, &mut report)?;
            }
            return Ok(());
        }
        if buf.len() > opts.max_line && !skipping {
            line_no += 1;
            let p = engine.reject(Problem::TooLong {
                limit: opts.max_line,
            });
            report(line_no, p)?;
            skipping = true;
            line_no -= 1; // counted again when its newline arrives
        }
        if skipping {
            buf.clear();
        }
    }
}

fn handle_line(
    line: &[u8],
    line_no: u64,
    engine: &mut Engine,
    pre: &Prefilter,
    report: &mut dyn FnMut(u64, Option<Problem>) -> Result<(), ScanError>,
) -> Result<(), ScanError> {
    if !pre.wants(line) && looks_like_object(line) {
        engine.skip_unread();
        return Ok(());
    }
    let p = engine.feed_line(line);
    report(line_no, p)
}

/// `Some(true)` for a JSON document, `Some(false)` for lines, `None` when the bytes so far do not tell.
/// A document opens with a lone `[` or `{` on its first line (as the AWS CLI and `jq` print them); a
/// first line such as `[1,2]` or `[INFO] …` starts a file of lines, which one bad line must not spoil.
fn document_start(buf: &[u8]) -> Option<bool> {
    let i = buf.iter().position(|b| !b.is_ascii_whitespace())?;
    match buf[i] {
        b'[' | b'{' => {
            let rest = &buf[i + 1..];
            let nl = memchr::memchr(b'\n', rest)?;
            Some(rest[..nl].iter().all(u8::is_ascii_whitespace))
        }
        _ => Some(false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::Selection;

    fn scan_text(text: &str, opts: &ScanOptions) -> (Engine, Vec<String>, Result<(), ScanError>) {
        let mut e = Engine::new(Selection::default());
        let pre = Prefilter::for_engine(&e);
        let mut bad = Vec::new();
        let r = scan_reader(
            Box::new(io::Cursor::new(text.as_bytes().to_vec())),
            "t.jsonl",
            &mut e,
            &pre,
            opts,
            &mut |d| bad.push(d.to_string()),
        );
        (e, bad, r)
    }

    #[test]
    fn bad_lines_are_numbered_and_skipped() {
        let text = "{\"kind\":\"Event\",\"auditID\":\"1\",\"stage\":\"ResponseComplete\",\"verb\":\"get\"}\r\nnot json\n\n{\"x\":\"pods\"}\n{\"cut\":";
        let (e, bad, r) = scan_text(text, &ScanOptions::default());
        r.unwrap();
        assert_eq!(bad.len(), 3, "{bad:?}");
        assert!(bad[0].starts_with("t.jsonl:2: not JSON"), "{}", bad[0]);
        assert!(
            bad[1].starts_with("t.jsonl:4: not an audit event"),
            "{}",
            bad[1]
        );
        assert!(
            bad[2].starts_with("t.jsonl:5: not JSON (cut short"),
            "{}",
            bad[2]
        );
        let rep = e.finish();
        assert_eq!(rep.summary.lines_read, 5);
        assert_eq!(rep.summary.lines_skipped, 3);
    }

    #[test]
    fn strict_stops_at_the_first_bad_line() {
        let (_, bad, r) = scan_text(
            "{}\n\u{1b}[31mred\n",
            &ScanOptions {
                strict: true,
                ..Default::default()
            },
        );
        assert!(bad.is_empty());
        let err = r.unwrap_err().to_string();
        assert!(err.starts_with("t.jsonl:2: not JSON"), "{err}");
        assert!(!err.contains('\u{1b}'));
    }

    #[test]
    fn over_long_lines_are_skipped_without_holding_them() {
        let long = format!("{{\"pods\":\"{}\"}}", "x".repeat(5 << 20));
        let text = format!("{long}\nnot json\n");
        let opts = ScanOptions {
            strict: false,
            max_line: 1 << 20,
        };
        let (_, bad, r) = scan_text(&text, &opts);
        r.unwrap();
        assert_eq!(bad.len(), 2, "{bad:?}");
        assert!(
            bad[0].starts_with("t.jsonl:1: line longer than 1 MiB"),
            "{}",
            bad[0]
        );
        assert!(bad[1].starts_with("t.jsonl:2: not JSON"), "{}", bad[1]);
    }

    #[test]
    fn documents_are_detected() {
        assert_eq!(document_start(b"  [ \n {}"), Some(true));
        assert_eq!(document_start(b"  [ {}"), None);
        assert_eq!(document_start(b"[1,2,3]\n{}"), Some(false));
        assert_eq!(document_start(b"[INFO] started\n"), Some(false));
        assert_eq!(document_start(b"{\n  \"events\": ["), Some(true));
        assert_eq!(document_start(b"{\"a\":1}\n"), Some(false));
        assert_eq!(document_start(b"{\"a\":"), None);
        assert_eq!(document_start(b"garbage"), Some(false));
    }
}
