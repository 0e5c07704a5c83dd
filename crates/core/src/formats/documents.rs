//! JSON documents that are not one per line: pretty-printed (`jq .`, the AWS CLI) or back to back
//! with nothing between them (a Firehose object of gzip members holding subscription records).
//!
//! [`shape`] tells from the first bytes of a stream whether it is such a stream, and [`Splitter`]
//! turns it into the one-document-per-line stream the scan reads: it tracks strings, escapes and
//! bracket depth, writes each document on one line (a line break between tokens is whitespace in
//! JSON, so it becomes a space) and ends the line where the document closes. Newline-delimited
//! input never comes here: it keeps the line scan's fast path.
//!
//! Damage: a line break inside a string cannot be JSON, so a document cut inside a string ends
//! there and the next line starts afresh; bytes between documents that open none are passed on as
//! a line of their own, for the decoder to report. Diagnostics number the documents as lines.

use std::io::{self, Read};

use crate::json::read::StringState;

/// How a stream is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// One JSON value per line (or lines of anything else): the line scan.
    Lines,
    /// Documents to split with [`Splitter`].
    Documents,
}

/// The shape of a stream from its first bytes (up to the scan's head limit).
///
/// Documents: the first line is a lone `{` or `[` (how pretty printers open a document); or the
/// first value is an object followed on the same line by another `{` (documents back to back); or
/// the stream opens with `{` and its first bytes hold no line break at all (a first document too
/// long to judge is split, which reads one long line the same way). Anything else is lines: a first
/// line such as `[INFO] …` or an object cut short must not change how the lines after it are read.
pub fn shape(head: &[u8]) -> Shape {
    let Some(i) = head.iter().position(|b| !b.is_ascii_whitespace()) else {
        return Shape::Lines;
    };
    let rest = &head[i..];
    let first_line = match memchr::memchr(b'\n', rest) {
        Some(nl) => &rest[..nl],
        None if rest[0] == b'{' => return Shape::Documents,
        None => rest,
    };
    if matches!(rest[0], b'{' | b'[') && first_line[1..].iter().all(u8::is_ascii_whitespace) {
        return Shape::Documents;
    }
    if rest[0] == b'{' {
        if let Some(end) = value_end(first_line) {
            let after = &first_line[end..];
            let next = after.iter().position(|b| !b.is_ascii_whitespace());
            if next.is_some_and(|n| after[n] == b'{') {
                return Shape::Documents;
            }
        }
    }
    Shape::Lines
}

/// Where the JSON value that `s` opens with (`{` or `[`) ends, if it ends in `s`.
fn value_end(s: &[u8]) -> Option<usize> {
    let mut st = State::default();
    for (i, &b) in s.iter().enumerate() {
        if st.step(b) == Step::Closed {
            return Some(i + 1);
        }
    }
    None
}

#[derive(Debug, Default)]
struct State {
    depth: u32,
    string: StringState,
}

#[derive(Debug, PartialEq, Eq)]
enum Step {
    /// Inside the document.
    Inside,
    /// This byte closed the document.
    Closed,
    /// A line break inside a string: the document is damaged.
    Broken,
}

impl State {
    /// One byte of a document that has been opened (or is opened by this byte).
    fn step(&mut self, b: u8) -> Step {
        if self.string.inside() {
            if self.string.step(b) && b == b'\n' {
                return Step::Broken;
            }
            return Step::Inside;
        }
        match b {
            b'"' => self.string.open(),
            b'{' | b'[' => self.depth += 1,
            b'}' | b']' => {
                self.depth = self.depth.saturating_sub(1);
                if self.depth == 0 {
                    return Step::Closed;
                }
            }
            _ => {}
        }
        Step::Inside
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Between documents: whitespace is dropped.
    Between,
    /// In a document.
    Document,
    /// In bytes that open no document, up to the end of their line.
    Other,
}

/// A reader of one document per line, over a stream of documents (see the module's header).
pub struct Splitter<R> {
    inner: R,
    mode: Mode,
    state: State,
    input: Vec<u8>,
    out: Vec<u8>,
    at: usize,
    done: bool,
}

impl<R: Read> Splitter<R> {
    pub fn new(inner: R) -> Self {
        Splitter {
            inner,
            mode: Mode::Between,
            state: State::default(),
            input: vec![0; 64 << 10],
            out: Vec::with_capacity(64 << 10),
            at: 0,
            done: false,
        }
    }

    fn transform(&mut self, n: usize) {
        self.out.clear();
        self.at = 0;
        for &b in &self.input[..n] {
            match self.mode {
                Mode::Between => {
                    if b.is_ascii_whitespace() {
                        continue;
                    }
                    if b == b'{' || b == b'[' {
                        self.mode = Mode::Document;
                        self.state = State::default();
                        self.state.step(b);
                    } else {
                        self.mode = Mode::Other;
                    }
                    self.out.push(b);
                }
                Mode::Other => {
                    self.out.push(b);
                    if b == b'\n' {
                        self.mode = Mode::Between;
                    }
                }
                Mode::Document => match self.state.step(b) {
                    Step::Inside => self.out.push(
                        if matches!(b, b'\n' | b'\r') && !self.state.string.inside() {
                            b' '
                        } else {
                            b
                        },
                    ),
                    Step::Closed => {
                        self.out.push(b);
                        self.out.push(b'\n');
                        self.mode = Mode::Between;
                    }
                    Step::Broken => {
                        self.out.push(b'\n');
                        self.mode = Mode::Between;
                    }
                },
            }
        }
    }
}

impl<R: Read> Read for Splitter<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.at == self.out.len() {
            if self.done {
                return Ok(0);
            }
            let n = loop {
                match self.inner.read(&mut self.input) {
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    r => break r?,
                }
            };
            if n == 0 {
                self.done = true;
                self.out.clear();
                self.at = 0;
                if self.mode != Mode::Between {
                    // The last document (or other line) ends with the stream.
                    self.out.push(b'\n');
                }
                continue;
            }
            self.transform(n);
        }
        let k = buf.len().min(self.out.len() - self.at);
        buf[..k].copy_from_slice(&self.out[self.at..self.at + k]);
        self.at += k;
        Ok(k)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(s: &str) -> String {
        let mut out = String::new();
        // One byte at a time, so that state carries across reads.
        struct Slow<'a>(&'a [u8]);
        impl Read for Slow<'_> {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                let Some((&b, rest)) = self.0.split_first() else {
                    return Ok(0);
                };
                buf[0] = b;
                self.0 = rest;
                Ok(1)
            }
        }
        Splitter::new(Slow(s.as_bytes()))
            .read_to_string(&mut out)
            .unwrap();
        out
    }

    /// Each input split, against the lines it must become.
    fn splits(cases: &[(&str, &str)]) {
        for &(input, lines) in cases {
            assert_eq!(split(input), lines, "{input:?}");
        }
    }

    #[test]
    fn documents_become_lines() {
        splits(&[
            (
                "{\n  \"a\": \"x}\\\"{\",\n  \"b\": [\n    1\n  ]\n}\n{\n  \"c\": {}\n}\n",
                "{   \"a\": \"x}\\\"{\",   \"b\": [     1   ] }\n{   \"c\": {} }\n",
            ),
            ("{\"a\":1}{\"b\":2}{}", "{\"a\":1}\n{\"b\":2}\n{}\n"),
            ("[1,\n2]\n\n[3]", "[1, 2]\n[3]\n"),
            ("", ""),
        ]);
    }

    #[test]
    fn damage_stays_on_its_line() {
        splits(&[
            // Cut inside a string: the next document is read.
            ("{\"a\":\"cut\n{\"b\":1}\n", "{\"a\":\"cut\n{\"b\":1}\n"),
            // Bytes that open no document are a line of their own.
            ("junk here\n{\"b\":1}", "junk here\n{\"b\":1}\n"),
            // Cut at the end.
            ("{\"a\":{\"b\"", "{\"a\":{\"b\"\n"),
            ("}}]]{}", "}}]]{}\n"),
        ]);
    }

    #[test]
    fn the_shape_is_told_from_the_first_bytes() {
        use Shape::{Documents, Lines};
        let cases: [(&[u8], Shape); 20] = [
            (b"{\n  \"a\": 1\n}\n", Documents),
            (b"  [\n1]", Documents),
            (b"{\"a\":1}{\"b\":2}", Documents),
            (b"{\"a\":\"}\"} {\"b\":2}\n", Documents),
            (b"{\"a\":1", Documents),
            (b"{\"a\":1}\n{\"b\":2}\n", Lines),
            (b"{\"a\":\n{\"b\":2}\n", Lines),
            (b"[INFO] {x} {y}\n", Lines),
            (b"[1,2]\n", Lines),
            (b"2024-05-01T00:00:00Z {}\n", Lines),
            (b"", Lines),
            (b"  \n ", Lines),
            (b"  [ \n {}", Documents),
            (b"  [ {}", Lines),
            (b"[1,2,3]\n{}", Lines),
            (b"[INFO] started\n", Lines),
            (b"{\n  \"events\": [", Documents),
            (b"{\"a\":1}\n", Lines),
            (b"{\"a\":", Documents),
            (b"garbage", Lines),
        ];
        for (head, want) in cases {
            assert_eq!(shape(head), want, "{}", String::from_utf8_lossy(head));
        }
    }
}
