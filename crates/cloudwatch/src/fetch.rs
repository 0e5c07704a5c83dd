//! The `fetch` recorder: raw audit events, one per line, in time order, each (auditID, stage)
//! once, so a story read from CloudWatch can be analysed offline or kept as a CI sample.
//!
//! [`FetchWriter`] writes to any `io::Write` (the command line's safe output file: temporary,
//! compressed by extension, renamed into place on success). [`write_fetch`] writes a file
//! directly, compressed by the file's extension: `.gz` (gzip) or `.zst` (zstd); `-` is stdout.

use std::collections::HashSet;
use std::fs::File;
use std::io::{self, BufWriter, Write};

use super::peek::{peek, EventKey};
use super::{CwError, CwEvent};

enum Sink {
    Plain(BufWriter<Box<dyn Write + Send>>),
    Gzip(flate2::write::GzEncoder<BufWriter<File>>),
    Zstd(zstd::stream::write::Encoder<'static, BufWriter<File>>),
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Sink::Plain(w) => w.write(buf),
            Sink::Gzip(w) => w.write(buf),
            Sink::Zstd(w) => w.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Sink::Plain(w) => w.flush(),
            Sink::Gzip(w) => w.flush(),
            Sink::Zstd(w) => w.flush(),
        }
    }
}

impl Sink {
    fn finish(self) -> io::Result<()> {
        match self {
            Sink::Plain(mut w) => w.flush(),
            Sink::Gzip(w) => w.finish()?.flush(),
            Sink::Zstd(w) => w.finish()?.flush(),
        }
    }
}

/// What was written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FetchStats {
    /// Lines written.
    pub written: u64,
    /// Events dropped as repeats of an (auditID, stage) already written.
    pub duplicates: u64,
    /// Blank messages dropped.
    pub skipped: u64,
    /// Messages written that are not readable audit events (e.g. truncated by CloudWatch).
    pub unreadable: u64,
    /// Uncompressed bytes written.
    pub bytes: u64,
}

/// Writes events as they come (they must come in time order, as `collect` hands them on).
pub struct FetchWriter<W: Write> {
    out: W,
    path: String,
    seen: HashSet<EventKey>,
    stats: FetchStats,
}

impl FetchWriter<Sink> {
    /// Opens `path` (`-` for stdout); `.gz` and `.zst` files are compressed.
    fn create(path: &str) -> Result<Self, CwError> {
        let err = |source| CwError::Write {
            path: path.to_string(),
            source,
        };
        let sink = if path == "-" {
            Sink::Plain(BufWriter::new(Box::new(io::stdout())))
        } else {
            let file = File::create(path).map_err(err)?;
            let lower = path.to_ascii_lowercase();
            if lower.ends_with(".gz") {
                Sink::Gzip(flate2::write::GzEncoder::new(
                    BufWriter::new(file),
                    flate2::Compression::default(),
                ))
            } else if lower.ends_with(".zst") || lower.ends_with(".zstd") {
                Sink::Zstd(zstd::stream::write::Encoder::new(BufWriter::new(file), 3).map_err(err)?)
            } else {
                Sink::Plain(BufWriter::new(Box::new(file)))
            }
        };
        Ok(FetchWriter::new(sink, path))
    }
}

impl<W: Write> FetchWriter<W> {
    /// Writes to `out`; `name` is what write errors call it.
    pub fn new(out: W, name: &str) -> Self {
        FetchWriter {
            out,
            path: name.to_string(),
            seen: HashSet::new(),
            stats: FetchStats::default(),
        }
    }

    /// Writes one event unless its (auditID, stage) was written already; returns whether it was.
    /// A blank message is skipped; a message that is not a readable audit event (e.g. truncated
    /// by CloudWatch) is recorded as logged, so the offline reader reports it too.
    pub fn write(&mut self, e: &CwEvent) -> Result<bool, CwError> {
        if e.message.trim().is_empty() {
            self.stats.skipped += 1;
            return Ok(false);
        }
        let key = peek(&e.message).or_else(|| {
            ktrail_core::audit::peek(e.message.as_bytes()).map(|p| EventKey {
                audit_id: p.audit_id,
                stage: p.stage,
            })
        });
        if let Some(key) = key {
            if !self.seen.insert(key) {
                self.stats.duplicates += 1;
                return Ok(false);
            }
        } else {
            self.stats.unreadable += 1;
        }
        let line = one_line(&e.message);
        let w = &mut self.out;
        let r = w
            .write_all(line.as_bytes())
            .and_then(|()| w.write_all(b"\n"));
        r.map_err(|source| CwError::Write {
            path: self.path.clone(),
            source,
        })?;
        self.stats.written += 1;
        self.stats.bytes += line.len() as u64 + 1;
        Ok(true)
    }

    /// Flushes the output and hands it back, with what was written.
    pub fn finish(mut self) -> Result<(FetchStats, W), CwError> {
        let path = self.path;
        self.out
            .flush()
            .map_err(|source| CwError::Write { path, source })?;
        Ok((self.stats, self.out))
    }
}

/// Writes `events` to `path` (`-` for stdout) in time order, each (auditID, stage) once.
pub fn write_fetch<I>(events: I, path: &str) -> Result<FetchStats, CwError>
where
    I: IntoIterator<Item = CwEvent>,
{
    let mut events: Vec<CwEvent> = events.into_iter().collect();
    // Stable: events of the same millisecond keep the order they came in.
    events.sort_by_key(|e| e.timestamp_ms);
    let mut w = FetchWriter::create(path)?;
    for e in &events {
        w.write(e)?;
    }
    let (stats, sink) = w.finish()?;
    sink.finish().map_err(|source| CwError::Write {
        path: path.to_string(),
        source,
    })?;
    Ok(stats)
}

/// The message on one line: trailing whitespace trimmed, and a JSON document that spans lines
/// compacted (whitespace outside strings removed).
fn one_line(message: &str) -> std::borrow::Cow<'_, str> {
    let m = message.trim();
    if !m.contains(['\n', '\r']) {
        return m.into();
    }
    let mut out = String::with_capacity(m.len());
    let mut in_str = false;
    let mut escaped = false;
    for c in m.chars() {
        if in_str {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_str = false;
            }
            // A raw line break inside a string is not JSON; escape it rather than break the line.
            match c {
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                _ => out.push(c),
            }
        } else if c == '"' {
            in_str = true;
            out.push(c);
        } else if !c.is_whitespace() {
            out.push(c);
        }
    }
    out.into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn ev(ts: i64, id: &str, stage: &str) -> CwEvent {
        CwEvent {
            timestamp_ms: ts,
            stream: "kube-apiserver-audit-1".into(),
            message: format!(
                r#"{{"kind":"Event","auditID":"{id}","stage":"{stage}","verb":"get"}}"#
            ),
        }
    }

    fn sample() -> Vec<CwEvent> {
        vec![
            ev(2, "b", "ResponseComplete"),
            ev(1, "a", "RequestReceived"),
            ev(1, "a", "ResponseComplete"),
            ev(3, "a", "ResponseComplete"),
            CwEvent {
                timestamp_ms: 4,
                stream: "kube-apiserver-audit-1".into(),
                message: "I0920 klog line".into(),
            },
        ]
    }

    fn expected() -> String {
        [
            r#"{"kind":"Event","auditID":"a","stage":"RequestReceived","verb":"get"}"#,
            r#"{"kind":"Event","auditID":"a","stage":"ResponseComplete","verb":"get"}"#,
            r#"{"kind":"Event","auditID":"b","stage":"ResponseComplete","verb":"get"}"#,
            "I0920 klog line",
        ]
        .iter()
        .map(|l| format!("{l}\n"))
        .collect()
    }

    #[test]
    fn plain_gzip_and_zstd() {
        let dir = tempfile::tempdir().expect("tempdir");
        for name in ["out.jsonl", "out.jsonl.gz", "out.jsonl.zst"] {
            let p = dir.path().join(name);
            let path = p.to_str().expect("utf-8 path");
            let st = write_fetch(sample(), path).expect("write");
            assert_eq!(st.written, 4, "{name}");
            assert_eq!(st.duplicates, 1, "{name}");
            assert_eq!(st.unreadable, 1, "{name}");
            let raw = std::fs::read(&p).expect("read");
            let text = if name.ends_with(".gz") {
                assert_eq!(&raw[..2], &[0x1f, 0x8b]);
                let mut s = String::new();
                flate2::read::GzDecoder::new(&raw[..])
                    .read_to_string(&mut s)
                    .expect("gunzip");
                s
            } else if name.ends_with(".zst") {
                assert_eq!(&raw[..4], &[0x28, 0xb5, 0x2f, 0xfd]);
                String::from_utf8(zstd::decode_all(&raw[..]).expect("unzstd")).expect("utf-8")
            } else {
                String::from_utf8(raw).expect("utf-8")
            };
            assert_eq!(text, expected(), "{name}");
        }
    }

    #[test]
    fn multi_line_json_becomes_one_line() {
        let m = "{\n  \"kind\": \"Event\",\n  \"auditID\": \"a b\",\n  \"x\": \"l1\nl2\"\n}\n";
        assert_eq!(
            one_line(m),
            "{\"kind\":\"Event\",\"auditID\":\"a b\",\"x\":\"l1\\nl2\"}"
        );
        assert_eq!(one_line("{\"a\":1}  \n"), "{\"a\":1}");
    }

    #[test]
    fn unwritable_path_is_a_clear_error() {
        let e = FetchWriter::create("/nonexistent-dir/x.jsonl")
            .err()
            .expect("error");
        assert!(
            e.to_string()
                .starts_with("cannot write /nonexistent-dir/x.jsonl: "),
            "{e}"
        );
    }
}
