//! The parallel line scan: one thread reads (and decompresses) the input in big chunks cut at line
//! ends, worker threads prefilter and decode the lines of a chunk, and the calling thread hands
//! the results to the engine in input order.
//!
//! The shape is the one the `hl` log viewer uses. Chunks carry sequence numbers, so workers may
//! finish in any order; the collector keeps early results aside until their turn comes. Results
//! name lines by their index in the chunk and say how many lines the chunk had, so the collector
//! can number them from the start of the input: diagnostics keep their `FILE:LINE`, and `--strict`
//! stops at the first bad line in line order, whichever worker found it first.
//!
//! Memory is bounded whatever the input size: a fixed number of chunk buffers circulate (reader →
//! worker → collector → reader), and a buffer returns to the reader only once the collector has
//! taken its chunk's results, so at most that many chunks (and their results) are ever in flight.
//! Only a line longer than a chunk makes a buffer grow, up to the over-long limit.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, Read};
use std::ops::Range;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;

use memmap2::{Mmap, MmapOptions};

use super::skim::{self, Skimmed};
use super::{Feed, Needle, Prefilter, ScanError, ScanOptions};
use crate::collect::{self, LineResult};
use crate::decode::{self, Problem};
use crate::record::Selection;

/// What the workers share: read-only.
pub(super) struct Work {
    pub sel: Selection,
    pub pre: Prefilter,
    pub max_line: usize,
}

/// What a worker made of one chunk.
pub(super) struct ChunkOut {
    /// Lines in the chunk (the last one may lack its newline at the end of the input).
    lines: u64,
    /// The lines that were not skipped unread, by index in the chunk, in order.
    items: Vec<(u64, Item)>,
}

enum Item {
    Line(LineResult),
    TooLong,
}

/// One chunk of whole lines, for a worker: `data[range]`.
struct Chunk {
    seq: u64,
    data: Data,
    range: Range<usize>,
}

/// Where a chunk's bytes are: a buffer the reader filled (it goes back to the reader's pool), or a
/// window of a mapped file (unmapped when its last chunk is done).
enum Data {
    Buf(Vec<u8>),
    Map(Arc<Mmap>),
}

impl Data {
    fn bytes(&self) -> &[u8] {
        match self {
            Data::Buf(b) => b,
            Data::Map(m) => m,
        }
    }
}

/// What the collector receives, by sequence number.
enum Done {
    /// A chunk's results, and its slot to give back to the reader (a buffer, or an empty token
    /// for a mapped chunk).
    Lines {
        out: ChunkOut,
        slot: Vec<u8>,
    },
    /// A line longer than `max_line`, dropped by the reader as it streamed past.
    TooLong,
    Failed(io::Error),
    Panicked,
    End,
}

/// What to scan.
pub(super) enum Source {
    /// A stream, whose first bytes were already read (`eof`: they are all of it).
    Stream {
        reader: Box<dyn Read + Send>,
        head: Vec<u8>,
        eof: bool,
    },
    /// A regular file of `len` bytes, read by mapping it (see [`map_loop`]).
    Mapped { file: File, len: u64 },
}

/// Scans the lines of `source` into the engine.
pub(super) fn run(source: Source, pre: &Prefilter, feed: &mut Feed<'_>) -> Result<(), ScanError> {
    let opts: &ScanOptions = feed.opts;
    let work = Arc::new(Work {
        sel: feed.engine.selection().clone(),
        pre: pre.clone(),
        max_line: opts.max_line,
    });
    let mut col = InOrder { feed, line: 0 };
    let chunk = opts.chunk_size.max(1);
    if let Source::Stream {
        head, eof: true, ..
    } = &source
    {
        if head.len() <= chunk {
            // The whole input is one chunk: no threads for a small file.
            if !head.is_empty() {
                col.apply(process_chunk(head, &work))?;
            }
            return Ok(());
        }
    }
    // A stream's chunks (copied by the reader, decompressed or read) are as big as a mapped
    // file's (views of the page cache). Smaller ones keep the reader's copies in the caches, but
    // each chunk is handed from thread to thread twice, and four times as many made the scan of
    // a compressed log slower (bench/README.md, "Stream chunks as big as a mapped file's").
    let workers = match opts.threads {
        0 => thread::available_parallelism().map_or(2, usize::from),
        n => n,
    };
    // Enough slots for every worker to have a chunk in hand and one queued, plus the one the
    // reader fills and one on its way back.
    let cfg = ReaderCfg {
        chunk,
        max_line: opts.max_line,
        slots: 2 * workers + 2,
    };
    let (pool_tx, pool_rx) = mpsc::channel::<Vec<u8>>();
    let (job_tx, job_rx) = mpsc::channel::<Chunk>();
    let (done_tx, done_rx) = mpsc::channel::<(u64, Done)>();
    let stop = Arc::new(AtomicBool::new(false));
    let job_rx = Arc::new(Mutex::new(job_rx));
    let stream = matches!(source, Source::Stream { .. });
    for _ in 0..workers {
        let (jobs, done, work) = (job_rx.clone(), done_tx.clone(), work.clone());
        thread::spawn(move || {
            if stream {
                yield_to_reader();
            }
            work_loop(&jobs, &done, &work)
        });
    }
    {
        let stop = stop.clone();
        let out = Out {
            pool: pool_rx,
            jobs: job_tx,
            done: done_tx,
            made: 0,
            slots: cfg.slots,
            seq: 0,
        };
        thread::spawn(move || match source {
            Source::Stream { reader, head, .. } => read_loop(reader, head, &cfg, out, &stop),
            Source::Mapped { file, len } => map_loop(&file, len, &cfg, out, &stop),
        });
    }
    // The threads are not joined: when this returns early (--strict, an error) the channels close
    // and they end on their next step, and a reader blocked on a slow stdin must not hold us.
    let r = collect(&mut col, &done_rx, &pool_tx, chunk);
    stop.store(true, Ordering::Relaxed);
    r
}

fn collect(
    col: &mut InOrder<'_, '_>,
    done_rx: &Receiver<(u64, Done)>,
    pool_tx: &Sender<Vec<u8>>,
    chunk: usize,
) -> Result<(), ScanError> {
    let mut pending: BTreeMap<u64, Done> = BTreeMap::new();
    let mut next = 0u64;
    loop {
        let done = match pending.remove(&next) {
            Some(d) => d,
            None => match done_rx.recv() {
                Ok((seq, d)) if seq == next => d,
                Ok((seq, d)) => {
                    pending.insert(seq, d);
                    continue;
                }
                // Every thread is gone without saying End: only a panic does that.
                Err(_) => return Err(col.internal()),
            },
        };
        next += 1;
        match done {
            Done::Lines { out, mut slot } => {
                col.apply(out)?;
                if slot.len() > 2 * chunk {
                    // A long line made this buffer grow; do not keep the memory.
                    slot = vec![0; chunk];
                }
                let _ = pool_tx.send(slot);
            }
            Done::TooLong => {
                col.line += 1;
                let p = col.feed.engine.reject(Problem::TooLong {
                    limit: col.feed.opts.max_line,
                });
                col.feed.report(col.line, p)?;
            }
            Done::Failed(e) => {
                return Err(ScanError::Read {
                    origin: col.feed.origin.to_owned(),
                    source: e,
                })
            }
            Done::Panicked => return Err(col.internal()),
            Done::End => return Ok(()),
        }
    }
}

/// The sequential end: numbers lines, feeds the engine, reports bad lines.
struct InOrder<'f, 'a> {
    feed: &'f mut Feed<'a>,
    /// Lines of the input seen so far.
    line: u64,
}

impl InOrder<'_, '_> {
    fn apply(&mut self, out: ChunkOut) -> Result<(), ScanError> {
        let base = self.line;
        let mut counted = 0;
        for (i, item) in out.items {
            for _ in counted..i {
                self.feed.engine.skip_unread();
            }
            counted = i + 1;
            let p = match item {
                Item::Line(r) => self.feed.engine.accept(r),
                Item::TooLong => self.feed.engine.reject(Problem::TooLong {
                    limit: self.feed.opts.max_line,
                }),
            };
            self.feed.report(base + i + 1, p)?;
        }
        for _ in counted..out.lines {
            self.feed.engine.skip_unread();
        }
        self.line = base + out.lines;
        Ok(())
    }

    fn internal(&self) -> ScanError {
        ScanError::Internal {
            origin: self.feed.origin.to_owned(),
            line: self.line + 1,
        }
    }
}

/// Lowers the calling worker thread's priority below the reader's, for a stream scan.
///
/// Decompressing is the critical path of such a scan, and with one worker per core the reader
/// shares a core with a worker; at equal priority the scheduler splits that core between them and
/// the reader waits behind work that could as well wait for it. Five steps of nice (about a third
/// of the weight) let the reader run whenever it can while the workers still take every spare
/// cycle, and keep them a fair share against other programs (measured in bench/README.md). A
/// mapped file's reader hardly works, so its workers are left alone.
///
/// On Linux a thread's nice value is its own (the kernel keeps it per thread); elsewhere this does
/// nothing, as it would lower the whole process. A refusal changes nothing either.
pub(super) fn yield_to_reader() {
    #[cfg(target_os = "linux")]
    // SAFETY: nice(2) only raises the calling thread's nice value; it touches no memory of ours.
    unsafe {
        libc::nice(WORKER_NICE);
    }
}

/// How much lower than the reader's the workers of a stream scan run (a nice increment).
#[cfg(target_os = "linux")]
const WORKER_NICE: i32 = 5;

fn work_loop(jobs: &Mutex<Receiver<Chunk>>, done: &Sender<(u64, Done)>, work: &Work) {
    loop {
        // The lock is held while waiting; the other workers wait on the lock instead.
        let job = jobs.lock().unwrap_or_else(PoisonError::into_inner).recv();
        let Ok(Chunk { seq, data, range }) = job else {
            return;
        };
        let lines = &data.bytes()[range];
        let d = match panic::catch_unwind(AssertUnwindSafe(|| process_chunk(lines, work))) {
            Ok(out) => Done::Lines {
                out,
                slot: match data {
                    Data::Buf(b) => b,
                    Data::Map(_) => Vec::new(),
                },
            },
            Err(_) => Done::Panicked,
        };
        if done.send((seq, d)).is_err() {
            return;
        }
    }
}

struct ReaderCfg {
    chunk: usize,
    max_line: usize,
    slots: usize,
}

/// The reader's side of the channels, and the sequence numbers it hands out.
struct Out {
    /// Slots coming back from the collector.
    pool: Receiver<Vec<u8>>,
    jobs: Sender<Chunk>,
    done: Sender<(u64, Done)>,
    /// Slots made so far (at most `slots`).
    made: usize,
    slots: usize,
    seq: u64,
}

impl Out {
    /// A free slot: one given back, else a new one while under the limit, else wait for one.
    /// `None` when the collector is gone.
    fn slot(&mut self, fresh: impl FnOnce() -> Vec<u8>) -> Option<Vec<u8>> {
        if let Ok(b) = self.pool.try_recv() {
            return Some(b);
        }
        if self.made < self.slots {
            self.made += 1;
            return Some(fresh());
        }
        self.pool.recv().ok()
    }

    /// Sends a chunk to the workers; false when they are gone.
    fn chunk(&mut self, data: Data, range: Range<usize>) -> bool {
        let seq = self.seq;
        self.seq += 1;
        self.jobs.send(Chunk { seq, data, range }).is_ok()
    }

    /// Sends a message straight to the collector; false when it is gone.
    fn tell(&mut self, d: Done) -> bool {
        let seq = self.seq;
        self.seq += 1;
        self.done.send((seq, d)).is_ok()
    }
}

/// Fills buffers from a stream and sends them on cut after their last newline; the partial line
/// after it starts the next buffer. A line that outgrows `max_line` is reported and streamed past.
fn read_loop(
    mut reader: Box<dyn Read + Send>,
    head: Vec<u8>,
    cfg: &ReaderCfg,
    mut out: Out,
    stop: &AtomicBool,
) {
    let fresh = || vec![0; cfg.chunk];
    let Some(mut buf) = out.slot(fresh) else {
        return;
    };
    if buf.len() < head.len() + cfg.chunk / 2 {
        buf.resize(head.len() + cfg.chunk, 0);
    }
    buf[..head.len()].copy_from_slice(&head);
    let mut filled = head.len();
    // True while dropping the rest of an over-long line.
    let mut skipping = false;
    loop {
        if stop.load(Ordering::Relaxed) {
            return;
        }
        if filled == buf.len() {
            match memchr::memrchr(b'\n', &buf[..filled]) {
                Some(nl) => {
                    let Some(mut next) = out.slot(fresh) else {
                        return;
                    };
                    let rest = filled - (nl + 1);
                    if next.len() < rest + cfg.chunk / 2 {
                        next.resize(rest + cfg.chunk, 0);
                    }
                    next[..rest].copy_from_slice(&buf[nl + 1..filled]);
                    let full = std::mem::replace(&mut buf, next);
                    if !out.chunk(Data::Buf(full), 0..nl + 1) {
                        return;
                    }
                    filled = rest;
                }
                None if filled > cfg.max_line => {
                    if !out.tell(Done::TooLong) {
                        return;
                    }
                    skipping = true;
                    filled = 0;
                }
                None => {
                    // One line fills the buffer: grow it, up to one byte over the limit.
                    let grown = (buf.len() * 2).min(cfg.max_line + 1).max(buf.len() + 1);
                    buf.resize(grown, 0);
                }
            }
            continue;
        }
        let n = match reader.read(&mut buf[filled..]) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                // The whole lines read before the error are scanned first.
                if let Some(nl) = memchr::memrchr(b'\n', &buf[..filled]) {
                    if !out.chunk(Data::Buf(buf), 0..nl + 1) {
                        return;
                    }
                }
                out.tell(Done::Failed(e));
                return;
            }
        };
        if n == 0 {
            if filled > 0 && !out.chunk(Data::Buf(buf), 0..filled) {
                return;
            }
            out.tell(Done::End);
            return;
        }
        if skipping {
            match memchr::memchr(b'\n', &buf[..n]) {
                Some(i) => {
                    buf.copy_within(i + 1..n, 0);
                    filled = n - (i + 1);
                    skipping = false;
                }
                None => filled = 0,
            }
            continue;
        }
        filled += n;
    }
}

/// Bytes of a file mapped at a time, in chunks: big enough that mapping costs little, small
/// enough that the mapped pages counted as resident stay a few dozen MiB.
const CHUNKS_PER_WINDOW: usize = 16;

/// Like [`read_loop`] for a regular file, without the copy: the file is mapped a window at a time
/// and chunks are slices of the window, which the workers read straight from the page cache (on
/// a `read` copies at a fraction of the speed of scanning). Only a line that
/// crosses from one window into the next is copied, into a buffer of its own.
///
/// The file's length is taken when it is opened: lines appended later are not read. A file
/// truncated while it is read makes the process fail on the missing pages (SIGBUS), as with any
/// program that maps files (ripgrep does the same).
fn map_loop(file: &File, len: u64, cfg: &ReaderCfg, mut out: Out, stop: &AtomicBool) {
    let window = cfg.chunk.saturating_mul(CHUNKS_PER_WINDOW) as u64;
    let mut off = 0u64;
    // The start of a line that crosses into the next window.
    let mut carry: Vec<u8> = Vec::new();
    // True while dropping the rest of an over-long line.
    let mut skipping = false;
    while off < len {
        if stop.load(Ordering::Relaxed) {
            return;
        }
        let wlen = window.min(len - off) as usize;
        // SAFETY: the map is read-only and private to this process; the file changing under it is
        // the documented limit above.
        let map = match unsafe { MmapOptions::new().offset(off).len(wlen).map(file) } {
            Ok(m) => Arc::new(m),
            Err(e) => {
                out.tell(Done::Failed(e));
                return;
            }
        };
        off += wlen as u64;
        let w: &[u8] = &map;
        let mut start = 0;
        if skipping || !carry.is_empty() {
            // The rest of a line begun in an earlier window.
            let Some(i) = memchr::memchr(b'\n', w) else {
                if !skipping {
                    carry.extend_from_slice(w);
                    if carry.len() > cfg.max_line {
                        carry = Vec::new();
                        skipping = true;
                        if !out.tell(Done::TooLong) {
                            return;
                        }
                    }
                }
                continue;
            };
            start = i + 1;
            if skipping {
                skipping = false;
            } else {
                let Some(mut buf) = out.slot(Vec::new) else {
                    return;
                };
                buf.clear();
                buf.extend_from_slice(&carry);
                buf.extend_from_slice(&w[..start]);
                carry.clear();
                let n = buf.len();
                if !out.chunk(Data::Buf(buf), 0..n) {
                    return;
                }
            }
        }
        // The whole lines of the window, in chunks of about `chunk` bytes cut after a newline.
        while start < w.len() {
            let want = (start + cfg.chunk).min(w.len());
            let cut = match memchr::memrchr(b'\n', &w[start..want]) {
                Some(i) => start + i + 1,
                // A line longer than a chunk: the chunk ends with it.
                None => match memchr::memchr(b'\n', &w[want..]) {
                    Some(i) => want + i + 1,
                    None => break,
                },
            };
            if out.slot(Vec::new).is_none() || !out.chunk(Data::Map(map.clone()), start..cut) {
                return;
            }
            start = cut;
        }
        if start < w.len() {
            carry.extend_from_slice(&w[start..]);
            if carry.len() > cfg.max_line {
                carry = Vec::new();
                skipping = true;
                if !out.tell(Done::TooLong) {
                    return;
                }
            }
        }
    }
    if !carry.is_empty() {
        let n = carry.len();
        if !out.chunk(Data::Buf(carry), 0..n) {
            return;
        }
    }
    out.tell(Done::End);
}

/// Sorts the lines of one chunk: skipped unread, counted as an ignored event, or decoded.
pub(super) fn process_chunk(data: &[u8], work: &Work) -> ChunkOut {
    let mut m = Matcher::new(&work.pre, data);
    let mut items = Vec::new();
    let mut index = 0u64;
    let mut start = 0;
    while start < data.len() {
        let end = memchr::memchr(b'\n', &data[start..]).map_or(data.len(), |i| start + i);
        let line = &data[start..end];
        if line.len() > work.max_line {
            items.push((index, Item::TooLong));
        } else {
            let t = crate::formats::cwexport::strip(decode::trim(line));
            let shaped = t.is_empty() || (t[0] == b'{' && t[t.len() - 1] == b'}');
            if !shaped {
                // Damaged or not JSON: decoding says what is wrong with it.
                items.push((index, Item::Line(collect::process_line(line, &work.sel))));
            } else if m.wants(start, end) && (work.sel.reads || !super::is_plain_read(t)) {
                let r = match skim::read(t, &work.sel) {
                    Skimmed::Ignored => LineResult {
                        events: 1,
                        ..Default::default()
                    },
                    Skimmed::Event(mut ev) => {
                        ev.source = decode::source_of(line, t);
                        collect::process_event(&ev, &work.sel)
                    }
                    Skimmed::Decode => collect::process_line(line, &work.sel),
                };
                items.push((index, Item::Line(r)));
            }
        }
        index += 1;
        start = end + 1;
    }
    ChunkOut {
        lines: index,
        items,
    }
}

/// The prefilter run over a whole chunk: each literal is searched once across the chunk (one long
/// SIMD scan instead of a fresh start per line), and each line asks where the next hit is.
struct Matcher<'a> {
    data: &'a [u8],
    /// The first `all` literal (the longest, so the rarest as a rule) and its next hit.
    lead: Option<Cursor<'a>>,
    /// The other `all` literals, looked for in the lines the lead literal is in.
    rest: &'a [Needle],
    any: Vec<Cursor<'a>>,
}

struct Cursor<'a> {
    finder: &'a Needle,
    /// Where the last search started, and the first hit at or after it.
    from: usize,
    hit: Option<usize>,
}

impl<'a> Cursor<'a> {
    fn new(finder: &'a Needle) -> Self {
        Cursor {
            finder,
            from: usize::MAX,
            hit: None,
        }
    }

    /// Whether the literal is in `data[start..end]`.
    fn within(&mut self, data: &[u8], start: usize, end: usize) -> bool {
        let fresh = self.from <= start && self.hit.is_none_or(|h| h >= start);
        // A hit found from an earlier line was judged with that line's bytes before it; whether
        // it counts must be judged from this line's own start, as the reference scan does.
        if !fresh
            || self
                .hit
                .is_some_and(|h| !self.finder.counts(&data[start..], h - start))
        {
            self.from = start;
            self.hit = self.finder.find(&data[start..]).map(|i| start + i);
        }
        self.hit.is_some_and(|h| h + self.finder.len() <= end)
    }
}

impl<'a> Matcher<'a> {
    fn new(pre: &'a Prefilter, data: &'a [u8]) -> Self {
        Matcher {
            data,
            lead: pre.all.first().map(Cursor::new),
            rest: pre.all.get(1..).unwrap_or(&[]),
            any: pre.any.iter().map(Cursor::new).collect(),
        }
    }

    /// The prefilter's answer for the line `data[start..end]`; lines must be asked in order.
    fn wants(&mut self, start: usize, end: usize) -> bool {
        let line = &self.data[start..end];
        let all = match &mut self.lead {
            None => true,
            Some(c) => {
                c.within(self.data, start, end) && self.rest.iter().all(|f| f.find(line).is_some())
            }
        };
        all || self.any.iter_mut().any(|c| c.within(self.data, start, end))
    }
}
