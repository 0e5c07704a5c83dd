//! Reads inputs line by line into the engine, skipping unread the lines that cannot concern the
//! selection, and reporting every bad line as `FILE:LINE: reason`.
//!
//! Which lines are decoded is a rule, the same for every way of scanning (the parallel fast path
//! in `pipeline`, the plain one in [`reference`]):
//! - a line longer than `max_line` is reported and dropped unread;
//! - a line that does not have the shape of a JSON object (first byte `{`, last byte `}`, blanks
//!   aside) is decoded, so damaged lines (cut short, glued to garbage, not JSON) are reported
//!   whatever they are about;
//! - an object line is decoded only when it contains the selection's literals (`pods`, and the
//!   pod's name when one is asked for) or `webhookconfigurations`; the others are counted as read.
//!   The literals are a necessary condition only: the parse decides.
//! - unless reads are selected, an object line whose top-level `verb` is `get`, `list` or `watch`,
//!   on no subresource, as [`is_plain_read`] tells from the raw bytes, is counted as read without
//!   being decoded: such reads enter no story (unlike a streaming `exec`, `attach` or
//!   `portforward`), and they are most of the lines that mention pods.
//!
//! The fast path adds one exact shortcut: a line the [`skim`] proves to be a single audit event the
//! selection ignores (a node status write that mentions pods, a read the byte test above leaves
//! to the decoder) is counted as one event without being parsed; the result is what decoding it
//! would have given.

use std::fmt;
use std::io::{self, Read};
use std::sync::LazyLock;

use memchr::memmem;

use crate::collect::Collector;
use crate::decode::{self, Problem};
use crate::escape;
use crate::formats::documents::{self, Shape};
use crate::json::read;
use crate::record::Selection;
use crate::source::{self, Input, SourceError};

mod ahead;
mod array;
mod pipeline;
pub mod reference;
pub mod skim;

/// Every line about a webhook configuration (kept for provenance) contains this.
pub const CONFIG_LITERAL: &[u8] = b"webhookconfigurations";

/// A stream's shape (lines or JSON documents, see `formats::documents`) is judged on at most this
/// many bytes.
pub const HEAD_LIMIT: usize = 64 << 10;

/// The UTF-8 byte order mark some Windows tools write at the start of a file.
pub const BOM: &[u8] = b"\xef\xbb\xbf";

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
        f.write_str(&escape::escape(&text))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error("{origin}")]
    Read {
        origin: String,
        #[source]
        source: io::Error,
    },
    #[error("{0} (--strict)")]
    Strict(Diagnostic),
    #[error("{origin}: internal error while reading near line {line}")]
    Internal { origin: String, line: u64 },
}

#[derive(Debug, Clone)]
pub struct ScanOptions {
    /// Stop at the first bad line.
    pub strict: bool,
    /// Lines longer than this are skipped without being held in memory.
    pub max_line: usize,
    /// Worker threads; 0 for one per available core.
    pub threads: usize,
    /// Bytes read at a time and handed to a worker (whole lines; a longer line grows its buffer),
    /// from a mapped file and from a stream alike (see `pipeline`).
    pub chunk_size: usize,
    /// Compressed files decompressed ahead of the input being scanned, each on a thread of its
    /// own (see `ahead`); 0 for none. The answer is the same either way.
    pub read_ahead: usize,
}

impl Default for ScanOptions {
    fn default() -> Self {
        ScanOptions {
            strict: false,
            max_line: 256 << 20,
            threads: 0,
            // Large enough that per-chunk costs vanish, small enough that the chunks in flight
            // (a few per worker) stay a few MiB and warm in the caches.
            chunk_size: 1 << 20,
            // One file per core (the cores the scan of one compressed stream leaves idle), but
            // never so many that the queues' memory grows with the machine.
            read_ahead: std::thread::available_parallelism()
                .map_or(2, usize::from)
                .min(ahead::MAX_FILES),
        }
    }
}

/// A literal of the prefilter.
struct Literal {
    /// The bytes looked for.
    bytes: Vec<u8>,
    /// Where a hit counts.
    at: At,
}

/// Where a hit of a literal counts.
#[derive(Clone, Copy, PartialEq, Eq)]
enum At {
    /// Anywhere.
    Anywhere,
    /// A pod's name: as a whole JSON string (a quote right before the bytes, and the string
    /// closes right after them, at a quote after any number of backslashes: the string may stand
    /// escaped inside another, as when a CloudWatch export wraps each event in `message`, or an
    /// AKS record in `properties.log`), or as the name of a GKE `resourceName`
    /// (`core/v1/namespaces/NS/pods/NAME`, or `…/pods/NAME/SUBRESOURCE`), which is where a GKE
    /// entry logged without bodies names its pod.
    PodName,
}

impl At {
    /// Whether the hit of a literal `len` bytes long at `at` in `line` counts.
    fn counts(self, line: &[u8], at: usize, len: usize) -> bool {
        let after = &line[at + len..];
        let quoted = at > 0 && line[at - 1] == b'"';
        match self {
            At::Anywhere => true,
            At::PodName => {
                (quoted && read::closes_string(after))
                    || (line[..at].ends_with(b"/pods/")
                        && (after.first() == Some(&b'/') || read::closes_string(after)))
            }
        }
    }
}

/// The literals that every line about the selected pods must contain, used to skip lines unread.
/// Only a necessary condition: the parse decides.
///
/// `pods` is bare: a line that mentions pods anywhere (a pod object's `selfLink`, a `requestURI`,
/// a GKE `methodName`) is decoded, so that what is not an audit event is reported. The pod's name
/// is a whole JSON string or ends a GKE `resourceName` path ([`At::PodName`]): it stands whole as
/// `objectRef.name`, as a body's `metadata.name`, or (a denied `generateName` create) as its
/// `generateName`, so the lines that mention it only inside a longer string (an image, a longer
/// pod name) are skipped, which is most of the lines that hold the name (bench/README.md). A name
/// written with `\u` escapes for plain letters is missed, as it was before.
fn pod_literals(sel: &Selection) -> Vec<Literal> {
    let mut v = vec![Literal {
        bytes: b"pods".to_vec(),
        at: At::Anywhere,
    }];
    if let Some(n) = &sel.name {
        v.push(Literal {
            bytes: n.as_bytes().to_vec(),
            at: At::PodName,
        });
    }
    v
}

/// The literal of every line about a webhook configuration (kept for provenance), whatever the
/// selection.
fn config_literal() -> Literal {
    Literal {
        bytes: CONFIG_LITERAL.to_vec(),
        at: At::Anywhere,
    }
}

/// A literal ready to search for.
#[derive(Clone)]
struct Needle {
    finder: memmem::Finder<'static>,
    at: At,
}

impl Needle {
    fn new(l: &Literal) -> Needle {
        Needle {
            finder: memmem::Finder::new(&l.bytes).into_owned(),
            at: l.at,
        }
    }

    fn len(&self) -> usize {
        self.finder.needle().len()
    }

    /// Whether a hit at `at` in `hay` (which starts where the line does) counts.
    fn counts(&self, hay: &[u8], at: usize) -> bool {
        self.at.counts(hay, at, self.len())
    }

    /// Where the first hit in `hay` starts.
    fn find(&self, hay: &[u8]) -> Option<usize> {
        let mut from = 0;
        while let Some(i) = self.finder.find(&hay[from..]) {
            let at = from + i;
            if self.counts(hay, at) {
                return Some(at);
            }
            from = at + 1;
        }
        None
    }
}

/// The literal prefilter: a line is decoded when it contains all of `all`, or any of `any`.
#[derive(Clone)]
pub struct Prefilter {
    /// The longest literal first: the chunk scan searches for it across the whole chunk.
    all: Vec<Needle>,
    any: Vec<Needle>,
}

impl Prefilter {
    pub fn for_engine(engine: &Collector) -> Prefilter {
        Prefilter::for_selection(engine.selection())
    }

    pub fn for_selection(sel: &Selection) -> Prefilter {
        let mut all = pod_literals(sel);
        all.sort_by_key(|l| std::cmp::Reverse(l.bytes.len()));
        Prefilter {
            all: all.iter().map(Needle::new).collect(),
            any: vec![Needle::new(&config_literal())],
        }
    }

    pub fn wants(&self, line: &[u8]) -> bool {
        self.all.iter().all(|f| f.find(line).is_some())
            || self.any.iter().any(|f| f.find(line).is_some())
    }
}

/// Whether an object line (trimmed: first byte `{`, last byte `}`) is a read that no story uses: its
/// top-level `verb` is `get`, `list` or `watch`, on no subresource (so not a streaming `exec`,
/// `attach` or `portforward`, which stories show).
///
/// Told from the bytes, without parsing, and only when that is sure for valid JSON: the first
/// `"verb":"` must stand before any nested object or array (so at the top level; audit events log
/// `verb` before `user`) and not follow a backslash (so it is a key, not text inside a string),
/// and its value must end right after the verb. A line with a `"subresource"` key anywhere is
/// left to the decoder. Anything else answers false, and the line goes on to be decoded.
pub fn is_plain_read(t: &[u8]) -> bool {
    struct Finders {
        verb: memmem::Finder<'static>,
        subresource: memmem::Finder<'static>,
    }
    static FIND: LazyLock<Finders> = LazyLock::new(|| Finders {
        verb: memmem::Finder::new(b"\"verb\":\""),
        subresource: memmem::Finder::new(b"\"subresource\""),
    });
    let Some(body) = t.get(1..) else {
        return false;
    };
    let Some(at) = read::head_key(body, &FIND.verb) else {
        return false;
    };
    let verb = read::plain_string(&body[at..]);
    matches!(verb, Some(b"get" | b"list" | b"watch")) && FIND.subresource.find(t).is_none()
}

/// The shape every JSON object line has; a line without it is decoded to say what is wrong.
pub fn looks_like_object(line: &[u8]) -> bool {
    let t = decode::trim(line);
    t.is_empty() || (t[0] == b'{' && t[t.len() - 1] == b'}')
}

/// One input on its way into the engine: its name (which its bad lines are reported under), the
/// engine, the scan's options, and where bad lines go. Every way of scanning one input (the fast
/// path, the reference scan, an array document) reads through one of these, so a bad line is
/// reported, and `--strict` stops, the same way everywhere.
pub struct Feed<'a> {
    pub origin: &'a str,
    pub engine: &'a mut Collector,
    pub opts: &'a ScanOptions,
    pub on_bad: &'a mut dyn FnMut(&Diagnostic),
}

impl Feed<'_> {
    /// What became of line `line`: nothing to say for a good one; a bad one is the scan's error
    /// with `strict`, otherwise handed to `on_bad`.
    fn report(&mut self, line: u64, problem: Option<Problem>) -> Result<(), ScanError> {
        let Some(problem) = problem else {
            return Ok(());
        };
        let d = Diagnostic {
            origin: self.origin.to_owned(),
            line,
            problem,
        };
        if self.opts.strict {
            return Err(ScanError::Strict(d));
        }
        (self.on_bad)(&d);
        Ok(())
    }
}

/// Reads every input into the engine, in order. Bad lines go to `on_bad`; with `strict` the first
/// one ends the scan with an error. The next compressed files are decompressed ahead while one is
/// scanned (`ScanOptions::read_ahead`).
pub fn scan_inputs(
    inputs: &[Input],
    engine: &mut Collector,
    opts: &ScanOptions,
    on_bad: &mut dyn FnMut(&Diagnostic),
) -> Result<(), ScanError> {
    let pre = Prefilter::for_engine(engine);
    let mut ahead = ahead::ReadAhead::new(inputs, opts.read_ahead);
    for (index, input) in inputs.iter().enumerate() {
        let origin = input.name();
        let feed = &mut Feed {
            origin: &origin,
            engine,
            opts,
            on_bad,
        };
        if let Some(started) = ahead.take(index) {
            let (reader, damage) = started.into_parts();
            scan_damaged(Box::new(reader), &damage, &pre, feed)?;
            continue;
        }
        if let Input::Path(path) = input {
            if let Some((file, len)) = mappable(path) {
                scan_file(file, len, &pre, feed)?;
                continue;
            }
        }
        let (reader, _, damage) = source::open_tolerant(input)?;
        scan_damaged(reader, &damage, &pre, feed)?;
    }
    Ok(())
}

/// A regular, uncompressed, non-empty file, opened, with its length: it is read by mapping it.
/// Anything else (or any error here) goes the stream way, which reports errors properly.
fn mappable(path: &std::path::Path) -> Option<(std::fs::File, u64)> {
    let mut file = std::fs::File::open(path).ok()?;
    let meta = file.metadata().ok()?;
    if !meta.is_file() || meta.len() == 0 {
        return None;
    }
    let mut magic = [0u8; 4];
    let n = file.read(&mut magic).ok()?;
    (source::sniff(&magic[..n]) == source::Compression::None).then_some((file, meta.len()))
}

/// Reads one regular file (see [`mappable`]), like [`scan_reader`].
fn scan_file(
    mut file: std::fs::File,
    len: u64,
    pre: &Prefilter,
    feed: &mut Feed<'_>,
) -> Result<(), ScanError> {
    let read_err = read_error(feed.origin);
    // The head decides between a document and lines, as for a stream.
    use std::io::Seek;
    file.rewind().map_err(read_err)?;
    let (head, eof) = read_head(&mut file).map_err(read_err)?;
    if head.starts_with(BOM)
        || documents::shape(&head) == Shape::Documents
        || (eof && head.len() <= feed.opts.chunk_size)
    {
        file.rewind().map_err(read_err)?;
        return scan_reader(Box::new(file), pre, feed);
    }
    pipeline::run(pipeline::Source::Mapped { file, len }, pre, feed)
}

/// Reads one stream of lines, or of JSON documents (see [`documents::shape`]: pretty-printed or
/// back to back), which are split one per line first; a JSON array (what `gcloud logging read
/// --format=json` and `jq -s` print) is read an element at a time ([`array`]). A UTF-8 byte order
/// mark at the start is skipped. The lines are read in parallel (see `pipeline`).
pub fn scan_reader(
    mut reader: Box<dyn Read + Send>,
    pre: &Prefilter,
    feed: &mut Feed<'_>,
) -> Result<(), ScanError> {
    let read_err = read_error(feed.origin);
    let (mut head, mut eof) = read_head(&mut reader).map_err(read_err)?;
    if head.starts_with(BOM) {
        head.drain(..BOM.len());
    }
    if documents::shape(&head) == Shape::Documents {
        if head.trim_ascii_start().first() == Some(&b'[') {
            return array::feed(feed, &head, &mut reader);
        }
        let whole = io::Cursor::new(std::mem::take(&mut head)).chain(reader);
        reader = Box::new(documents::Splitter::new(whole));
        (head, eof) = read_head(&mut reader).map_err(read_err)?;
    }
    pipeline::run(pipeline::Source::Stream { reader, head, eof }, pre, feed)
}

/// Reads one input's raw bytes (compressed or not) like [`scan_reader`], for sources other than
/// files (an S3 object): compression is recognised from the first bytes, and a compressed stream
/// that ends early or breaks keeps what was read before the damage, which is reported as a bad
/// line (an error with `strict`).
pub fn scan_raw(raw: Box<dyn Read + Send>, feed: &mut Feed<'_>) -> Result<(), ScanError> {
    let pre = Prefilter::for_engine(feed.engine);
    let (reader, _, damage) = source::decompress_tolerant(raw).map_err(read_error(feed.origin))?;
    scan_damaged(reader, &damage, &pre, feed)
}

/// [`scan_reader`], then the report of any damage the decompressor met.
fn scan_damaged(
    reader: Box<dyn Read + Send>,
    damage: &source::Damage,
    pre: &Prefilter,
    feed: &mut Feed<'_>,
) -> Result<(), ScanError> {
    let before = feed.engine.lines_read();
    scan_reader(reader, pre, feed)?;
    let Some((offset, reason)) = damage.take() else {
        return Ok(());
    };
    // What the damage took is counted as one more line, skipped, after the lines read before it.
    let line = feed.engine.lines_read() - before + 1;
    let problem = feed.engine.reject(Problem::Damaged { offset, reason });
    feed.report(line, problem)
}

/// Turns an I/O error while reading `origin` into a scan error naming it.
fn read_error(origin: &str) -> impl Fn(io::Error) -> ScanError + Copy + '_ {
    move |source| ScanError::Read {
        origin: origin.to_owned(),
        source,
    }
}

/// Reads [`HEAD_LIMIT`] bytes, or up to the end. Returns the bytes and whether the end was reached
/// (a small input is then scanned without threads).
fn read_head(reader: &mut dyn Read) -> io::Result<(Vec<u8>, bool)> {
    let mut head = vec![0; HEAD_LIMIT];
    let mut n = 0;
    while n < HEAD_LIMIT {
        match reader.read(&mut head[n..]) {
            Ok(0) => {
                head.truncate(n);
                return Ok((head, true));
            }
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    head.truncate(n);
    Ok((head, false))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::Selection;
    use reference::{scanned, Scanned};

    #[cfg(target_os = "linux")]
    #[test]
    fn a_worker_yields_to_the_reader_alone() {
        // SAFETY: getpriority(2) reads the calling thread's nice value.
        let nice = || unsafe { libc::getpriority(libc::PRIO_PROCESS, 0) };
        let before = nice();
        let (spawned, lowered) = std::thread::spawn(move || {
            let spawned = nice();
            pipeline::yield_to_reader();
            (spawned, nice())
        })
        .join()
        .expect("thread");
        assert_eq!(spawned, before);
        assert_eq!(lowered, (before + 5).min(19));
        assert_eq!(nice(), before, "the other threads keep their priority");
    }

    #[test]
    fn the_prefilter_wants_the_pod_name_as_a_whole_string() {
        let pre = Prefilter::for_selection(&Selection {
            name: Some("nginx".into()),
            ..Selection::default()
        });
        let pod = |name: &str, rest: &str| {
            format!(
                r#"{{"verb":"patch","objectRef":{{"resource":"pods","namespace":"a","name":"{name}"}}{rest}}}"#
            )
        };
        assert!(pre.wants(pod("nginx", "").as_bytes()));
        // A generateName create: the name only in the stored object.
        assert!(pre.wants(
            br#"{"verb":"create","objectRef":{"resource":"pods"},"responseObject":{"metadata":{"name":"nginx"}}}"#
        ));
        // The event as a string in another (a CloudWatch export's `message`), once or twice.
        let wrapped = serde_json::json!({ "message": pod("nginx", "") }).to_string();
        assert!(wrapped.contains(r#"\"nginx\""#), "{wrapped}");
        assert!(pre.wants(wrapped.as_bytes()));
        let twice = serde_json::json!({ "message": wrapped }).to_string();
        assert!(pre.wants(twice.as_bytes()));
        let other_wrapped = serde_json::json!({ "message": pod("nginx-7d9f", "") }).to_string();
        assert!(!pre.wants(other_wrapped.as_bytes()));
        // The name inside longer strings only: another pod, an image, a URI.
        let other = pod(
            "nginx-7d9f",
            r#","requestURI":"/api/v1/namespaces/a/pods/nginx-7d9f","image":"nginx:1.25""#,
        );
        assert!(!pre.wants(other.as_bytes()));
        // The name, but nothing about pods.
        assert!(!pre.wants(br#"{"objectRef":{"resource":"services","name":"nginx"}}"#));
        // A GKE entry names its pod in `resourceName`, a path, also before a subresource.
        let gke = |name: &str| {
            format!(
                r#"{{"protoPayload":{{"methodName":"io.k8s.core.v1.pods.exec.create","resourceName":"{name}"}}}}"#
            )
        };
        assert!(pre.wants(gke("core/v1/namespaces/a/pods/nginx").as_bytes()));
        assert!(pre.wants(gke("core/v1/namespaces/a/pods/nginx/exec").as_bytes()));
        assert!(!pre.wants(gke("core/v1/namespaces/a/pods/nginx-7d9f").as_bytes()));
        assert!(!pre.wants(gke("core/v1/namespaces/a/pods/my-nginx").as_bytes()));
        assert!(!pre.wants(gke("core/v1/namespaces/a/services/nginx").as_bytes()));
        // An AKS record: the event as a string in `properties.log`.
        let aks =
            serde_json::json!({"category": "kube-audit", "properties": {"log": pod("nginx", "")}})
                .to_string();
        assert!(pre.wants(aks.as_bytes()));
        // Webhook configurations are always wanted, for provenance.
        assert!(pre.wants(br#"{"objectRef":{"resource":"mutatingwebhookconfigurations"}}"#));
    }

    fn scan_text(text: &str, opts: &ScanOptions) -> Scanned {
        scan_selected(text, opts, &Selection::default())
    }

    /// `text` scanned for `sel` by the fast scan.
    fn scan_selected(text: &str, opts: &ScanOptions, sel: &Selection) -> Scanned {
        scanned(sel, opts, "t.jsonl", |feed| {
            let pre = Prefilter::for_engine(feed.engine);
            scan_reader(
                Box::new(io::Cursor::new(text.as_bytes().to_vec())),
                &pre,
                feed,
            )
        })
    }

    /// A scan's report as JSON, its bad lines and its outcome as text: what two scans must agree on.
    fn compared((e, bad, r): Scanned) -> (String, Vec<String>, Result<(), String>) {
        let json = serde_json::to_string(&e.finish().unwrap()).unwrap();
        (json, bad, r.map_err(|e| e.to_string()))
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
        let rep = e.finish().unwrap();
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
            max_line: 1 << 20,
            ..Default::default()
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

    /// A log of every kind of line, with `n` lines about pods.
    fn mixed_log(n: usize) -> String {
        let mut s = String::new();
        for i in 0..n {
            let t = format!("2024-01-01T00:{:02}:{:02}.{:06}Z", i / 60 % 60, i % 60, i);
            let ev = |verb: &str, objref: &str, extra: &str| {
                format!(
                    r#"{{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Request","auditID":"id-{i}-{verb}","stage":"ResponseComplete","requestURI":"/x","verb":"{verb}","user":{{"username":"system:node:n1"}},"objectRef":{objref},"responseStatus":{{"code":200}},"stageTimestamp":"{t}"{extra}}}"#
                )
            };
            let pod = format!(
                r#"{{"resource":"pods","namespace":"ns","name":"p{}"}}"#,
                i % 7
            );
            let status = format!(
                r#"{{"resource":"pods","namespace":"ns","name":"p{}","subresource":"status"}}"#,
                i % 7
            );
            match i % 11 {
                0 => {
                    s += &ev(
                        "create",
                        &pod,
                        &format!(
                            r#","responseObject":{{"kind":"Pod","metadata":{{"name":"p{}","uid":"u{i}"}},"spec":{{"schedulerName":"s"}}}}"#,
                            i % 7
                        ),
                    )
                }
                1 => s += &ev("get", &pod, ""),
                2 => s += &ev("watch", r#"{"resource":"pods"}"#, ""),
                3 => {
                    s += &ev(
                        "update",
                        r#"{"resource":"leases","namespace":"kube-node-lease","name":"n1","apiGroup":"coordination.k8s.io"}"#,
                        "",
                    )
                }
                4 => {
                    s += &ev(
                        "patch",
                        &status,
                        r#","requestObject":{"status":{"phase":"Running"}}"#,
                    )
                }
                5 => {
                    s += &ev(
                        "patch",
                        r#"{"resource":"nodes","name":"n1","subresource":"status"}"#,
                        r#","requestObject":{"status":{"capacity":{"pods":"110"}}}"#,
                    )
                }
                6 => s += "   ",
                7 => s += &ev("get", &pod, "")[..90],
                8 => s += &format!("{}\r", ev("delete", &pod, "")),
                9 => {
                    s += &format!(
                        r#"{{"message":{}}}"#,
                        serde_json::to_string(&ev("patch", &status, "")).unwrap()
                    )
                }
                _ => s += "plain text, not json",
            }
            s.push('\n');
        }
        s
    }

    fn run_fast(
        text: &str,
        opts: &ScanOptions,
        sel: &Selection,
    ) -> (String, Vec<String>, Result<(), String>) {
        compared(scan_selected(text, opts, sel))
    }

    fn run_reference(
        text: &str,
        opts: &ScanOptions,
        sel: &Selection,
    ) -> (String, Vec<String>, Result<(), String>) {
        compared(scanned(sel, opts, "t.jsonl", |feed| {
            reference::scan_reader(text.as_bytes(), feed)
        }))
    }

    #[test]
    fn chunk_size_and_threads_do_not_change_the_answer() {
        let text = mixed_log(3000);
        assert!(
            text.len() > 4 * HEAD_LIMIT,
            "big enough to leave the first read"
        );
        for sel in [
            Selection::default(),
            Selection {
                name: Some("p3".into()),
                namespace: Some("ns".into()),
                ..Default::default()
            },
            Selection {
                reads: true,
                ..Default::default()
            },
        ] {
            let want = run_reference(&text, &ScanOptions::default(), &sel);
            assert!(want.1.len() > 500, "the log has bad lines");
            assert!(want.0.contains("\"podEvents\""));
            for (threads, chunk_size) in [(1, 1), (2, 7), (3, 100), (2, 4096), (0, 1 << 20)] {
                let opts = ScanOptions {
                    threads,
                    chunk_size,
                    ..Default::default()
                };
                let got = run_fast(&text, &opts, &sel);
                assert!(
                    got == want,
                    "threads {threads}, chunk {chunk_size}, {sel:?}"
                );
            }
        }
    }

    #[test]
    fn strict_stops_at_the_first_bad_line_in_line_order() {
        // The first bad line is far into the input, after many chunks; later chunks hold many more.
        let mut text = mixed_log(3000).replace("plain text, not json\n", "");
        text = text.replace("   \n", "");
        let good_prefix: String = text
            .lines()
            .filter(|l| !l.ends_with('\r') && l.ends_with('}'))
            .take(2000)
            .map(|l| format!("{l}\n"))
            .collect();
        let text = format!("{good_prefix}{}", mixed_log(2000));
        let opts = ScanOptions {
            strict: true,
            threads: 2,
            chunk_size: 512,
            ..Default::default()
        };
        let sel = Selection::default();
        let want = run_reference(&text, &opts, &sel);
        let err = want.2.clone().unwrap_err();
        assert!(err.starts_with("t.jsonl:2008: not JSON"), "{err}");
        for _ in 0..5 {
            let got = run_fast(&text, &opts, &sel);
            assert_eq!(got.2, want.2);
            assert!(got.1.is_empty());
        }
    }

    #[test]
    fn over_long_lines_between_chunks() {
        // Over-long lines caught by the reader (longer than a chunk) and by a worker (inside one).
        let mut text = mixed_log(400);
        let long = format!("{{\"pods\":\"{}\"}}\n", "y".repeat(3000));
        let mid = text.len() / 2;
        let cut = text[mid..].find('\n').unwrap() + mid + 1;
        text.insert_str(cut, &long);
        text.insert_str(0, &long);
        text.push_str(long.trim_end());
        for _ in 0..3 {
            text.push_str(&mixed_log(400));
        }
        let opts = ScanOptions {
            max_line: 2000,
            threads: 2,
            chunk_size: 256,
            ..Default::default()
        };
        let sel = Selection::default();
        let want = run_reference(&text, &opts, &sel);
        let too_long: Vec<_> = want
            .1
            .iter()
            .filter(|d| d.contains("line longer"))
            .collect();
        assert_eq!(too_long.len(), 3, "{too_long:?}");
        for chunk_size in [256, 1500, 2500, 64 << 10] {
            let got = run_fast(
                &text,
                &ScanOptions {
                    chunk_size,
                    ..opts.clone()
                },
                &sel,
            );
            assert!(got == want, "chunk {chunk_size}");
        }
    }

    /// Scans `text` from a file, so through the mapped path.
    fn run_file(
        text: &str,
        opts: &ScanOptions,
        sel: &Selection,
    ) -> (String, Vec<String>, Result<(), String>) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.jsonl");
        std::fs::write(&path, text).unwrap();
        let mut e = Collector::new(sel.clone());
        let mut bad = Vec::new();
        let r = scan_inputs(&[Input::Path(path)], &mut e, opts, &mut |d| {
            bad.push(
                d.to_string()
                    .replacen(&*dir.path().to_string_lossy(), "", 1),
            )
        });
        let json = serde_json::to_string(&e.finish().unwrap()).unwrap();
        (
            json,
            bad.into_iter()
                .map(|b| b.trim_start_matches('/').to_owned())
                .collect(),
            r.map_err(|e| e.to_string()),
        )
    }

    #[test]
    fn mapped_files_give_the_same_answer() {
        let mut text = mixed_log(1500);
        // Over-long lines, some crossing the mapped windows, one at the very end.
        let long = format!("{{\"pods\":\"{}\"}}\n", "z".repeat(5000));
        for at in [0, text.len() / 3, text.len() / 2] {
            let cut = text[at..].find('\n').map_or(0, |i| at + i + 1);
            text.insert_str(if at == 0 { 0 } else { cut }, &long);
        }
        text.push_str(long.trim_end());
        let sel = Selection::default();
        for (max_line, chunk_size) in [
            (4000, 1),
            (4000, 100),
            (4000, 333),
            (6000, 4096),
            (1 << 20, 1 << 20),
        ] {
            let opts = ScanOptions {
                max_line,
                chunk_size,
                threads: 2,
                ..Default::default()
            };
            let want = run_reference(&text, &opts, &sel);
            let got = run_file(&text, &opts, &sel);
            assert!(
                got == want,
                "max_line {max_line}, chunk {chunk_size}: {:?} vs {:?}",
                &got.1[..3],
                &want.1[..3]
            );
        }
        // Without a final newline, and a last line crossing into the final window.
        let text = mixed_log(700);
        let text = text.trim_end();
        let opts = ScanOptions {
            chunk_size: 50,
            ..Default::default()
        };
        assert!(run_file(text, &opts, &sel) == run_reference(text, &opts, &sel));
    }

    #[test]
    fn read_errors_come_after_the_lines_before_them() {
        struct Failing(io::Cursor<Vec<u8>>);
        impl Read for Failing {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                match self.0.read(buf)? {
                    0 => Err(io::Error::other("disk on fire")),
                    n => Ok(n),
                }
            }
        }
        let text = mixed_log(2000);
        let mut e = Collector::new(Selection::default());
        let pre = Prefilter::for_engine(&e);
        let mut bad = 0;
        let r = scan_reader(
            Box::new(Failing(io::Cursor::new(text.into_bytes()))),
            &pre,
            &mut Feed {
                origin: "t.jsonl",
                engine: &mut e,
                opts: &ScanOptions::default(),
                on_bad: &mut |_| bad += 1,
            },
        );
        let err = r.unwrap_err();
        // The input is named once; the cause comes from the error chain.
        assert_eq!(err.to_string(), "t.jsonl");
        let cause = std::error::Error::source(&err).map(|c| c.to_string());
        assert_eq!(cause.as_deref(), Some("disk on fire"));
        assert!(bad > 300);
        assert_eq!(e.finish().unwrap().summary.lines_read, 2000);
    }

    #[test]
    fn plain_reads_are_told_from_the_bytes() {
        let read = |verb: &str| {
            format!(
                "{{\"kind\":\"Event\",\"level\":\"Request\",\"auditID\":\"a\",\"stage\":\"ResponseComplete\",\"requestURI\":\"/api/v1/namespaces/n/pods/p\",\"verb\":\"{verb}\",\"user\":{{\"username\":\"u\"}},\"objectRef\":{{\"resource\":\"pods\",\"namespace\":\"n\",\"name\":\"p\"}}}}"
            )
        };
        for verb in ["get", "list", "watch"] {
            assert!(is_plain_read(read(verb).as_bytes()), "{verb}");
        }
        for verb in ["create", "patch", "update", "delete", "getx", "", "GET"] {
            assert!(!is_plain_read(read(verb).as_bytes()), "{verb}");
        }
        let no = [
            // A subresource (streaming or not) is left to the decoder.
            read("get").replace("\"name\":\"p\"", "\"name\":\"p\",\"subresource\":\"exec\""),
            read("get").replace("\"name\":\"p\"", "\"name\":\"p\",\"subresource\":\"log\""),
            // Not at the top level: after a nested object, or inside an array.
            "{\"user\":{\"username\":\"u\"},\"verb\":\"get\"}".into(),
            "{\"items\":[{\"verb\":\"get\"}]}".into(),
            // Inside a string (valid JSON escapes the quotes), or after a stray backslash.
            "{\"requestURI\":\"\\\"verb\\\":\\\"get\\\"\",\"verb\":\"create\"}".into(),
            "{\"a\":\"\\\"verb\":\"get\"}".into(),
            // Spellings the byte test does not follow: decoded, never guessed.
            "{\"verb\" : \"get\"}".into(),
            "{\"verb\":\"g\\u0065t\"}".into(),
            "{}".into(),
            "{".into(),
        ];
        for line in &no {
            assert!(!is_plain_read(line.as_bytes()), "{line}");
        }
    }

    /// On every line of generated corpora, and on each line altered where the byte test looks: a
    /// line called a plain read is, once parsed (when it parses), a get, list or watch on no
    /// subresource; and nearly every such read of the corpus is recognised, so the shortcut is
    /// taken where it matters.
    #[test]
    fn plain_reads_agree_with_the_parse() {
        for seed in [11, 12] {
            let spec = ktrail_corpus::Spec {
                seed,
                target_bytes: Some(2_000_000),
                ..Default::default()
            };
            let mut data = Vec::new();
            ktrail_corpus::generate(&spec, &mut data).expect("generate");
            let (mut reads, mut told) = (0, 0);
            for line in data.split(|&b| b == b'\n') {
                let t = decode::trim(line);
                let plain = looks_like_object(t) && !t.is_empty() && is_plain_read(t);
                // The same line altered where the byte test looks: the verb moved after a nested
                // value (and followed by an array), a subresource added.
                let moved = String::from_utf8_lossy(t)
                    .replacen("\"verb\":", "\"x\":{},\"verb\":", 1)
                    .replacen("\"verb\":\"get\"", "\"verb\":\"get\",\"y\":[]", 1);
                let sub = String::from_utf8_lossy(t).replacen(
                    "\"resource\":\"pods\"",
                    "\"resource\":\"pods\",\"subresource\":\"attach\"",
                    1,
                );
                for (text, said) in [
                    (t.to_vec(), plain),
                    (moved.clone().into_bytes(), is_plain_read(moved.as_bytes())),
                    (sub.clone().into_bytes(), is_plain_read(sub.as_bytes())),
                ] {
                    let Ok(v) = serde_json::from_slice::<serde_json::Value>(&text) else {
                        continue;
                    };
                    let verb = v["verb"].as_str().unwrap_or("");
                    let read = matches!(verb, "get" | "list" | "watch")
                        && v["objectRef"]["subresource"].is_null();
                    if said {
                        assert!(read, "not a plain read: {}", String::from_utf8_lossy(&text));
                    }
                }
                if let Ok(v) = serde_json::from_slice::<serde_json::Value>(t) {
                    if matches!(v["verb"].as_str(), Some("get" | "list" | "watch"))
                        && v["objectRef"]["subresource"].is_null()
                    {
                        reads += 1;
                        told += usize::from(plain);
                    }
                }
            }
            assert!(reads > 500, "seed {seed}: the corpus has reads ({reads})");
            assert!(
                told * 100 >= reads * 99,
                "seed {seed}: {told} of {reads} plain reads recognised"
            );
        }
    }
}
