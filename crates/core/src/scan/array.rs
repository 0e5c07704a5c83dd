//! A JSON array document (what `gcloud logging read --format=json` and `jq -s` print, pretty over
//! many lines) read an element at a time from a stream, so that memory holds one element, not the
//! document, and every element is reported at the line it starts on.
//!
//! The split follows JSON's lexical rules only (strings and their escapes, brackets): each
//! element's text is handed to the engine as a line of its own, which decides whether it is JSON
//! and what it holds. So a damaged element is a diagnostic at its own line and the elements after
//! it are still read; a document cut short ends with its last, partial element.

use std::io::{self, Read};

use super::{Feed, ScanError};
use crate::decode::Problem;
use crate::json::read::StringState;

/// Where the splitter stands.
#[derive(Default)]
struct Splitter {
    /// Containers open: 0 before the array (and after it), 1 between its elements.
    depth: u32,
    string: StringState,
    /// The array was closed.
    closed: bool,
    /// The current line (1-based).
    line: u64,
    /// The element being read, its first line, and whether it outgrew the line limit (then its
    /// bytes are dropped as they come).
    elem: Vec<u8>,
    elem_line: u64,
    in_elem: bool,
    oversize: bool,
}

/// Feeds the elements of the array that `head` starts (its first non-blank byte is `[`) and
/// `rest` continues to the engine; elements longer than the line limit are reported and dropped.
pub fn feed(feed: &mut Feed<'_>, head: &[u8], rest: &mut dyn Read) -> Result<(), ScanError> {
    let mut s = Splitter {
        line: 1,
        ..Splitter::default()
    };
    s.bytes(feed, head)?;
    let mut buf = vec![0u8; 64 << 10];
    loop {
        let n = match rest.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(super::read_error(feed.origin)(e)),
        };
        s.bytes(feed, &buf[..n])?;
    }
    s.end(feed)
}

impl Splitter {
    fn bytes(&mut self, feed: &mut Feed<'_>, bytes: &[u8]) -> Result<(), ScanError> {
        let max_line = feed.opts.max_line;
        for &b in bytes {
            if self.in_elem {
                if self.string.inside() {
                    self.push(b, max_line);
                    self.string.step(b);
                } else if self.depth == 1 {
                    // A scalar element (a number, a literal) ends at a delimiter.
                    if b == b',' || b == b']' || b.is_ascii_whitespace() {
                        self.flush(feed)?;
                        self.between(b);
                    } else {
                        self.push(b, max_line);
                        if b == b'"' {
                            self.string.open();
                        }
                    }
                } else {
                    self.push(b, max_line);
                    match b {
                        b'"' => self.string.open(),
                        b'{' | b'[' => self.depth = self.depth.saturating_add(1),
                        b'}' | b']' => {
                            self.depth -= 1;
                            if self.depth == 1 {
                                self.flush(feed)?;
                            }
                        }
                        _ => {}
                    }
                }
            } else if self.depth == 0 {
                if b == b'[' && !self.closed {
                    self.depth = 1;
                } else if !b.is_ascii_whitespace() {
                    // Text after the array (or before it, which `document_start` rules out) is
                    // read as an element of its own, to say what it is.
                    self.start(b);
                    self.depth = 1;
                    if b == b'{' || b == b'[' {
                        self.depth = 2;
                    }
                }
            } else {
                self.between(b);
            }
            if b == b'\n' {
                self.line += 1;
            }
        }
        Ok(())
    }

    /// A byte between elements of the open array.
    fn between(&mut self, b: u8) {
        match b {
            b']' => {
                self.depth = 0;
                self.closed = true;
            }
            b',' => {}
            b if b.is_ascii_whitespace() => {}
            b => {
                self.start(b);
                match b {
                    b'{' | b'[' => self.depth = 2,
                    b'"' => self.string.open(),
                    _ => {}
                }
            }
        }
    }

    fn start(&mut self, b: u8) {
        self.in_elem = true;
        self.elem_line = self.line;
        self.elem.clear();
        self.oversize = false;
        self.elem.push(b);
    }

    fn push(&mut self, b: u8, max_line: usize) {
        if self.oversize {
            return;
        }
        if self.elem.len() >= max_line {
            self.oversize = true;
            self.elem = Vec::new();
            return;
        }
        self.elem.push(b);
    }

    /// Hands the element read to the engine.
    fn flush(&mut self, feed: &mut Feed<'_>) -> Result<(), ScanError> {
        self.in_elem = false;
        self.string = StringState::default();
        let problem = if self.oversize {
            feed.engine.reject(Problem::TooLong {
                limit: feed.opts.max_line,
            })
        } else {
            feed.engine.feed_line(&self.elem)
        };
        self.elem.clear();
        feed.report(self.elem_line, problem)
    }

    /// The end of the input: a partial element is fed as it is (its decoding says it was cut
    /// short), an array left open is a problem of its own.
    fn end(&mut self, feed: &mut Feed<'_>) -> Result<(), ScanError> {
        if self.in_elem {
            // What was open is cut short, whatever the depth.
            self.depth = 1;
            return self.flush(feed);
        }
        if self.depth > 0 && !self.closed {
            let p = feed.engine.reject(Problem::NotJson(
                "cut short: the array is not closed".into(),
            ));
            return feed.report(self.line, p);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collect::Collector;
    use crate::record::Selection;
    use crate::scan::{Diagnostic, ScanOptions};

    /// The diagnostics (line, reason) and the number of lines (elements) read.
    fn run(text: &str, max_line: usize) -> (Vec<(u64, String)>, u64) {
        let mut engine = Collector::new(Selection::default());
        let mut got = Vec::new();
        // Fed in small pieces, so that elements straddle reads.
        struct Trickle<'a>(&'a [u8]);
        impl Read for Trickle<'_> {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                let n = self.0.len().min(buf.len()).min(7);
                buf[..n].copy_from_slice(&self.0[..n]);
                self.0 = &self.0[n..];
                Ok(n)
            }
        }
        let bytes = text.as_bytes();
        let split = bytes.len().min(5);
        let opts = ScanOptions {
            max_line,
            ..ScanOptions::default()
        };
        let mut on_bad = |d: &Diagnostic| got.push((d.line, d.problem.to_string()));
        let mut to = Feed {
            origin: "t.json",
            engine: &mut engine,
            opts: &opts,
            on_bad: &mut on_bad,
        };
        feed(&mut to, &bytes[..split], &mut Trickle(&bytes[split..])).unwrap();
        (got, engine.finish().unwrap().summary.lines_read)
    }

    const EV: &str = r#"{"kind":"Event","auditID":"a\"]}[","stage":"ResponseComplete","verb":"get","objectRef":{"resource":"pods","namespace":"a","name":"b"},"stageTimestamp":"2024-05-01T10:00:00Z"}"#;

    #[test]
    fn elements_are_read_one_at_a_time_with_their_lines() {
        let text = format!(
            "[\n  {EV},\n  {{\n    \"kind\": \"Pod\"\n  }},\n  42,\n  \"x\",\n  [],\n  {EV}\n]\n"
        );
        let (bad, lines) = run(&text, 1 << 20);
        assert_eq!(
            bad,
            [
                (3, "not an audit event (kind Pod); skipped".to_owned()),
                (6, "not an audit event (a number); skipped".to_owned()),
                (7, "not an audit event (a string); skipped".to_owned()),
            ]
        );
        assert_eq!(lines, 6);
        assert_eq!(run("[\n]\n", 1 << 20), (vec![], 0));
    }

    #[test]
    fn damage_is_reported_where_it_is() {
        // An element cut short in the middle of the document: its brackets never balance, so
        // the rest is read as its continuation and the end says it was cut short.
        let (bad, _) = run(&format!("[\n  {EV},\n  {{\"kind\": \n"), 1 << 20);
        assert_eq!(bad.len(), 1, "{bad:?}");
        assert!(
            bad[0].0 == 3 && bad[0].1.starts_with("not JSON (cut short"),
            "{bad:?}"
        );
        // An array never closed.
        let (bad, lines) = run(&format!("[\n  {EV},\n"), 1 << 20);
        assert_eq!(
            bad,
            [(
                3,
                "not JSON (cut short: the array is not closed); skipped".to_owned()
            )]
        );
        assert_eq!(lines, 2);
        // Text after the array, and an element over the line limit.
        let (bad, _) = run(&format!("[\n  {EV}\n]\ntrailing\n"), 1 << 20);
        assert_eq!(bad.len(), 1);
        assert_eq!(bad[0].0, 4);
        let (bad, lines) = run(&format!("[\n  {EV},\n  {EV}\n]"), 100);
        assert_eq!(
            bad,
            [
                (2, "line longer than 0 MiB; skipped".to_owned()),
                (3, "line longer than 0 MiB; skipped".to_owned()),
            ]
        );
        assert_eq!(lines, 2);
        // Hostile nesting costs no recursion here.
        let deep = format!("[\n{}{}\n]", "[".repeat(100_000), "]".repeat(100_000));
        let (bad, _) = run(&deep, 1 << 20);
        assert_eq!(bad.len(), 1);
    }
}
