//! Pod records beyond the memory budget, kept in temporary files until the stories are derived.
//!
//! The collector keeps every pod write of the log until the end, because a pod's story needs all
//! of its writes and they can be hours apart. Past half the budget (`--memory`), the records in
//! memory are handed to a thread that sorts them into story order and writes them to an anonymous
//! temporary file, a *run* ([`Writer`]), and memory starts empty again; the other half is for the
//! records collected while it writes. At the end the runs are merged back in story order, one pod
//! name at a time, so deriving holds one group of records per story in flight, never the whole
//! log: an external merge sort whose key is the one [`crate::timeline::Pending`] sorts by.
//!
//! The file format is private to one process: a record is its length, then its fields in a fixed
//! order (see [`encode`]). Anonymous files leave nothing behind, whatever ends the process.

use std::cmp::Ordering;
use std::collections::{BinaryHeap, HashSet};
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::sync::mpsc;
use std::thread;

use chrono::DateTime;

use crate::audit::{Source, Stage};
use crate::record::{Body, Record};

/// The order of stories: namespace, name, time, input order (`seq` is unique among live records).
pub fn story_order(a: &Record, b: &Record) -> Ordering {
    (a.namespace.as_str(), a.name.as_str(), a.time, a.seq).cmp(&(
        b.namespace.as_str(),
        b.name.as_str(),
        b.time,
        b.seq,
    ))
}

/// About what a record takes in memory: the struct and the text it owns, each allocation with a
/// little of the allocator's own.
pub fn footprint(r: &Record) -> usize {
    const ALLOC: usize = 16;
    let texts = [
        r.audit_id.as_deref(),
        Some(r.verb.as_str()),
        r.subresource.as_deref(),
        Some(r.namespace.as_str()),
        Some(r.name.as_str()),
        r.uid.as_deref(),
        Some(r.user.as_str()),
        r.impersonated.as_deref(),
        r.user_agent.as_deref(),
        r.message.as_deref(),
        r.level.as_deref(),
        r.request_uri.as_deref(),
        r.request.as_ref().map(Body::text),
        r.response.as_ref().map(Body::text),
    ];
    let annotations: usize = r
        .webhook_annotations
        .iter()
        .map(|(k, v)| k.len() + v.len() + 2 * ALLOC + std::mem::size_of::<(String, String)>())
        .sum();
    std::mem::size_of::<Record>()
        + ALLOC
        + annotations
        + texts
            .iter()
            .flatten()
            .map(|t| t.len() + ALLOC)
            .sum::<usize>()
}

/// Runs open at once at the most: past it the smaller half are merged into one (so a record is
/// rewritten a few times at most, as in a size-tiered merge), and a small budget over a big log
/// needs neither thousands of open files nor a merge of thousands of ways.
const MAX_RUNS: usize = 64;

/// Records written out of memory, in runs, and the spilled records a later stage of the same
/// request replaced (by their ordinal, see [`Runs::write`]).
#[derive(Default)]
pub struct Runs {
    /// Each run and its size in bytes.
    files: Vec<(File, u64)>,
    dead: HashSet<u64>,
    /// Records written, over every run.
    pub records: u64,
}

/// Runs written on a thread of their own, so that the scan goes on while a batch is sorted and
/// written (the collector, which hands batches over, is the thread every scan worker waits on).
///
/// A batch is handed over only once the one before it is written, so at most two are held: the
/// one being written and the one being collected. The collector hands them over at half its
/// budget, so the two together take what one took when it wrote the runs itself.
///
/// A run that cannot be written (the temporary directory is full or unwritable) is the error of
/// [`Writer::finish`]; the batches after it are dropped, since the scan fails anyway.
#[derive(Default)]
pub struct Writer {
    state: WriterState,
    /// The spilled records a later stage replaced, noted here without waiting for the thread.
    dead: HashSet<u64>,
}

#[derive(Default)]
enum WriterState {
    #[default]
    Idle,
    Running(
        mpsc::SyncSender<Vec<(u64, Record)>>,
        thread::JoinHandle<io::Result<Runs>>,
    ),
    Failed(io::Error),
}

impl Writer {
    /// Hands `batch` (ordinals and records) to the writing thread, started on the first call.
    pub fn write(&mut self, batch: Vec<(u64, Record)>) {
        if let WriterState::Idle = self.state {
            let (tx, rx) = mpsc::sync_channel::<Vec<(u64, Record)>>(0);
            let started = thread::Builder::new().name("spill".into()).spawn(move || {
                let mut runs = Runs::default();
                let mut failed = None;
                for mut batch in rx {
                    if failed.is_none() {
                        failed = runs.write(&mut batch).err();
                    }
                }
                failed.map_or(Ok(runs), Err)
            });
            self.state = match started {
                Ok(handle) => WriterState::Running(tx, handle),
                Err(e) => WriterState::Failed(e),
            };
        }
        if let WriterState::Running(tx, _) = &self.state {
            // The thread only ends when told to; should it be gone, `finish` says why.
            let _ = tx.send(batch);
        }
    }

    /// Marks the spilled record with `ordinal` as replaced: the merge passes over it.
    pub fn kill(&mut self, ordinal: u64) {
        self.dead.insert(ordinal);
    }

    /// Every run, once the last batch is written; the first error of any.
    pub fn finish(self) -> io::Result<Runs> {
        let mut runs = match self.state {
            WriterState::Idle => Runs::default(),
            WriterState::Failed(e) => return Err(e),
            WriterState::Running(tx, handle) => {
                drop(tx);
                handle.join().map_err(|_| {
                    io::Error::other("the thread writing pod records to temporary files failed")
                })??
            }
        };
        for ordinal in self.dead {
            runs.kill(ordinal);
        }
        Ok(runs)
    }
}

impl Runs {
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// Writes `records` (sorted here into story order) as one run; the record at index `i` has
    /// the ordinal `first + i`, by which [`Runs::kill`] names it later.
    pub fn write(&mut self, records: &mut [(u64, Record)]) -> io::Result<()> {
        if self.files.len() >= MAX_RUNS {
            self.compact()?;
        }
        records.sort_unstable_by(|a, b| story_order(&a.1, &b.1));
        let mut run = RunWriter::new()?;
        for (ordinal, r) in records.iter() {
            run.push(*ordinal, r)?;
        }
        self.records += records.len() as u64;
        let bytes = run.bytes;
        self.files.push((run.finish()?, bytes));
        Ok(())
    }

    /// Merges the smaller half of the runs into one, leaving out the dead records.
    fn compact(&mut self) -> io::Result<()> {
        self.files
            .sort_by_key(|(_, bytes)| std::cmp::Reverse(*bytes));
        let small = self.files.split_off(self.files.len() / 2);
        let mut run = RunWriter::new()?;
        let mut merge = merge(&small, &self.dead)?;
        while let Some((ordinal, r)) = merge.pop()? {
            run.push(ordinal, &r)?;
        }
        drop(merge);
        let bytes = run.bytes;
        self.files.push((run.finish()?, bytes));
        Ok(())
    }

    /// Live records over every run.
    fn merge(&self) -> io::Result<Merge<'_>> {
        merge(&self.files, &self.dead)
    }

    /// Marks the spilled record with `ordinal` as replaced: the merge passes over it.
    pub fn kill(&mut self, ordinal: u64) {
        self.dead.insert(ordinal);
    }

    /// Every live record of every run, grouped by (namespace, name), each group in story order.
    /// Can be called again for another pass.
    pub fn groups(&self) -> io::Result<Groups<'_>> {
        Ok(Groups(self.merge()?))
    }
}

/// The runs `files` read side by side, the smallest head first, without the `dead`.
fn merge<'a>(files: &[(File, u64)], dead: &'a HashSet<u64>) -> io::Result<Merge<'a>> {
    let mut heap = BinaryHeap::with_capacity(files.len());
    let mut readers = Vec::with_capacity(files.len());
    for (i, (f, _)) in files.iter().enumerate() {
        let mut f = f.try_clone()?;
        f.seek(SeekFrom::Start(0))?;
        let mut r = RunReader {
            r: BufReader::with_capacity(256 << 10, f),
            buf: Vec::new(),
        };
        if let Some((ordinal, head)) = r.next_live(dead)? {
            heap.push(Head(head, i, ordinal));
        }
        readers.push(r);
    }
    Ok(Merge {
        heap,
        readers,
        dead,
    })
}

/// One run being written.
struct RunWriter {
    w: BufWriter<File>,
    buf: Vec<u8>,
    bytes: u64,
}

impl RunWriter {
    fn new() -> io::Result<RunWriter> {
        Ok(RunWriter {
            w: BufWriter::with_capacity(1 << 20, tempfile::tempfile()?),
            buf: Vec::with_capacity(4096),
            bytes: 0,
        })
    }

    fn push(&mut self, ordinal: u64, r: &Record) -> io::Result<()> {
        self.buf.clear();
        encode(ordinal, r, &mut self.buf);
        write_frame(&mut self.w, &self.buf)?;
        self.bytes += self.buf.len() as u64 + 4;
        Ok(())
    }

    fn finish(self) -> io::Result<File> {
        self.w.into_inner().map_err(|e| e.into_error())
    }
}

/// One run being read back.
struct RunReader {
    r: BufReader<File>,
    /// The bytes of the record being decoded, kept from one record to the next: a fresh buffer
    /// per record was an allocation and a zeroing of every byte spilled.
    buf: Vec<u8>,
}

impl RunReader {
    /// The next record of the run that no later stage replaced, with its ordinal.
    fn next_live(&mut self, dead: &HashSet<u64>) -> io::Result<Option<(u64, Record)>> {
        loop {
            if !read_frame(&mut self.r, &mut self.buf)? {
                return Ok(None);
            }
            let (ordinal, rec) = decode(&self.buf)?;
            if !dead.contains(&ordinal) {
                return Ok(Some((ordinal, rec)));
            }
        }
    }
}

/// The error of `what` that could not be written to the temporary directory past the budget,
/// saying where it was written.
pub fn past_budget(what: &str, e: io::Error) -> io::Error {
    io::Error::new(
        e.kind(),
        format!(
            "writing {what} past the memory budget to {}: {e}",
            std::env::temp_dir().display()
        ),
    )
}

/// Writes one frame of a spill file: its length, then its bytes.
pub(crate) fn write_frame(w: &mut impl Write, frame: &[u8]) -> io::Result<()> {
    w.write_all(&(frame.len() as u32).to_le_bytes())?;
    w.write_all(frame)
}

/// Reads the next frame [`write_frame`] wrote into `buf`; false at the end of the file.
pub(crate) fn read_frame(r: &mut impl Read, buf: &mut Vec<u8>) -> io::Result<bool> {
    let mut len = [0u8; 4];
    match r.read_exact(&mut len) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(false),
        Err(e) => return Err(e),
    }
    buf.resize(u32::from_le_bytes(len) as usize, 0);
    r.read_exact(buf)?;
    Ok(true)
}

/// A run's next record, the run's index and the record's ordinal. The smallest comes first out
/// of the (max-)heap.
struct Head(Record, usize, u64);

impl PartialEq for Head {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Head {}
impl PartialOrd for Head {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Head {
    fn cmp(&self, other: &Self) -> Ordering {
        story_order(&other.0, &self.0).then(other.1.cmp(&self.1))
    }
}

/// The runs' live records in story order.
struct Merge<'a> {
    heap: BinaryHeap<Head>,
    readers: Vec<RunReader>,
    dead: &'a HashSet<u64>,
}

impl Merge<'_> {
    fn pop(&mut self) -> io::Result<Option<(u64, Record)>> {
        let Some(Head(rec, i, ordinal)) = self.heap.pop() else {
            return Ok(None);
        };
        if let Some((o, next)) = self.readers[i].next_live(self.dead)? {
            self.heap.push(Head(next, i, o));
        }
        Ok(Some((ordinal, rec)))
    }
}

/// The merge of the runs, a (namespace, name) group at a time.
pub struct Groups<'a>(Merge<'a>);

impl Iterator for Groups<'_> {
    type Item = io::Result<Vec<Record>>;

    fn next(&mut self) -> Option<Self::Item> {
        let first = match self.0.pop() {
            Ok(Some((_, r))) => r,
            Ok(None) => return None,
            Err(e) => return Some(Err(e)),
        };
        let mut group = vec![first];
        loop {
            let same = self.0.heap.peek().is_some_and(|Head(r, _, _)| {
                r.namespace == group[0].namespace && r.name == group[0].name
            });
            if !same {
                return Some(Ok(group));
            }
            match self.0.pop() {
                Ok(Some((_, r))) => group.push(r),
                Ok(None) => return Some(Ok(group)),
                Err(e) => return Some(Err(e)),
            }
        }
    }
}

pub(crate) fn put_str(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&(s.len() as u32).to_le_bytes());
    out.extend_from_slice(s.as_bytes());
}

pub(crate) fn put_opt(out: &mut Vec<u8>, s: Option<&str>) {
    match s {
        None => out.push(0),
        Some(s) => {
            out.push(1);
            put_str(out, s);
        }
    }
}

/// A record as bytes: every field, in declaration order.
pub fn encode(ordinal: u64, r: &Record, out: &mut Vec<u8>) {
    out.extend_from_slice(&ordinal.to_le_bytes());
    out.extend_from_slice(&r.seq.to_le_bytes());
    put_opt(out, r.audit_id.as_deref());
    out.push(r.stage as u8);
    out.extend_from_slice(&r.time.timestamp().to_le_bytes());
    out.extend_from_slice(&r.time.timestamp_subsec_nanos().to_le_bytes());
    put_str(out, &r.verb);
    put_opt(out, r.subresource.as_deref());
    put_str(out, &r.namespace);
    put_str(out, &r.name);
    put_opt(out, r.uid.as_deref());
    put_str(out, &r.user);
    put_opt(out, r.impersonated.as_deref());
    put_opt(out, r.user_agent.as_deref());
    match r.code {
        None => out.push(0),
        Some(c) => {
            out.push(1);
            out.extend_from_slice(&c.to_le_bytes());
        }
    }
    put_opt(out, r.message.as_deref());
    put_opt(out, r.level.as_deref());
    put_opt(out, r.request_uri.as_deref());
    out.extend_from_slice(&(r.webhook_annotations.len() as u32).to_le_bytes());
    for (k, v) in &r.webhook_annotations {
        put_str(out, k);
        put_str(out, v);
    }
    put_opt(out, r.request.as_ref().map(Body::text));
    put_opt(out, r.response.as_ref().map(Body::text));
    out.push(r.source as u8);
}

/// Reads back the fields [`encode`] (and the other writers of spill files) put.
pub(crate) struct Cursor<'a>(&'a [u8]);

pub(crate) fn corrupt() -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, "a spilled record is damaged")
}

impl<'a> Cursor<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Cursor(bytes)
    }

    /// Fails unless every byte was read.
    pub(crate) fn end(&self) -> io::Result<()> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(corrupt())
        }
    }

    fn take(&mut self, n: usize) -> io::Result<&'a [u8]> {
        if self.0.len() < n {
            return Err(corrupt());
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    fn array<const N: usize>(&mut self) -> io::Result<[u8; N]> {
        self.take(N)?.try_into().map_err(|_| corrupt())
    }

    pub(crate) fn u8(&mut self) -> io::Result<u8> {
        Ok(self.array::<1>()?[0])
    }

    pub(crate) fn u32(&mut self) -> io::Result<u32> {
        Ok(u32::from_le_bytes(self.array()?))
    }

    pub(crate) fn u64(&mut self) -> io::Result<u64> {
        Ok(u64::from_le_bytes(self.array()?))
    }

    pub(crate) fn string(&mut self) -> io::Result<String> {
        let n = self.u32()? as usize;
        String::from_utf8(self.take(n)?.to_vec()).map_err(|_| corrupt())
    }

    pub(crate) fn opt(&mut self) -> io::Result<Option<String>> {
        match self.u8()? {
            0 => Ok(None),
            _ => self.string().map(Some),
        }
    }

    fn body(&mut self) -> io::Result<Option<Body>> {
        Ok(self.opt()?.map(Body::from_text))
    }
}

/// The stage `encode` wrote as `n`.
pub fn stage(n: u8) -> io::Result<Stage> {
    [
        Stage::Other,
        Stage::RequestReceived,
        Stage::ResponseStarted,
        Stage::ResponseComplete,
        Stage::Panic,
    ]
    .into_iter()
    .find(|s| *s as u8 == n)
    .ok_or_else(corrupt)
}

fn source(n: u8) -> io::Result<Source> {
    [Source::File, Source::Eks, Source::Gke, Source::Aks]
        .into_iter()
        .find(|s| *s as u8 == n)
        .ok_or_else(corrupt)
}

/// A record and its ordinal from the bytes [`encode`] wrote.
pub fn decode(bytes: &[u8]) -> io::Result<(u64, Record)> {
    let mut c = Cursor(bytes);
    let ordinal = c.u64()?;
    let seq = c.u64()?;
    let audit_id = c.opt()?;
    let stage = stage(c.u8()?)?;
    let secs = i64::from_le_bytes(c.array()?);
    let nanos = c.u32()?;
    let time = DateTime::from_timestamp(secs, nanos).ok_or_else(corrupt)?;
    let verb = c.string()?;
    let subresource = c.opt()?;
    let namespace = c.string()?;
    let name = c.string()?;
    let uid = c.opt()?;
    let user = c.string()?;
    let impersonated = c.opt()?;
    let user_agent = c.opt()?;
    let code = match c.u8()? {
        0 => None,
        _ => Some(i64::from_le_bytes(c.array()?)),
    };
    let message = c.opt()?;
    let level = c.opt()?;
    let request_uri = c.opt()?;
    let n = c.u32()? as usize;
    let mut webhook_annotations = Vec::with_capacity(n.min(1024));
    for _ in 0..n {
        webhook_annotations.push((c.string()?, c.string()?));
    }
    let request = c.body()?;
    let response = c.body()?;
    let source = source(c.u8()?)?;
    c.end()?;
    Ok((
        ordinal,
        Record {
            seq,
            audit_id,
            stage,
            time,
            verb,
            subresource,
            namespace,
            name,
            uid,
            user,
            impersonated,
            user_agent,
            code,
            message,
            level,
            request_uri,
            webhook_annotations,
            request,
            response,
            source,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode;
    use crate::record::{self, Extracted, Selection};

    /// The pod records of a log, numbered in input order.
    fn records(text: &str) -> Vec<Record> {
        let sel = Selection::default();
        let mut out = Vec::new();
        for l in text.lines() {
            decode::decode_line(l.as_bytes(), &mut |ev| {
                if let Ok(Extracted::Pod(r)) = record::extract(ev, &sel) {
                    out.push(*r);
                }
            });
        }
        for (i, r) in out.iter_mut().enumerate() {
            r.seq = i as u64 + 1;
        }
        out
    }

    #[test]
    fn a_record_comes_back_as_it_went() {
        let log = crate::samples::find("eks-fargate").expect("sample").data;
        let all = records(log);
        assert!(all.len() > 3);
        for (i, r) in all.iter().enumerate() {
            let mut buf = Vec::new();
            encode(i as u64 + 7, r, &mut buf);
            let (ordinal, back) = decode(&buf).expect("decodes");
            assert_eq!(ordinal, i as u64 + 7);
            assert_eq!(format!("{back:?}"), format!("{r:?}"));
            // Every cut of the bytes is an error, not a panic or a wrong record.
            for cut in [0, 1, 8, buf.len() / 2, buf.len() - 1] {
                assert!(decode(&buf[..cut]).is_err(), "cut at {cut}");
            }
        }
    }

    #[test]
    fn runs_merge_into_story_order_without_the_dead() {
        let log = crate::samples::find("eks-fargate").expect("sample").data;
        let all = records(log);
        // Three runs of interleaved records; one record replaced after it was spilled.
        let mut runs = Runs::default();
        let mut parts: Vec<Vec<(u64, Record)>> = vec![Vec::new(), Vec::new(), Vec::new()];
        for (i, r) in all.iter().enumerate() {
            parts[i % 3].push((i as u64, r.clone()));
        }
        for p in &mut parts {
            runs.write(p).expect("writes");
        }
        runs.kill(1);
        // More runs than are kept open: they are merged, the dead left out, the order kept.
        for (i, r) in all.iter().enumerate().skip(3).take(MAX_RUNS + 5) {
            let mut one = vec![(1000 + i as u64, r.clone())];
            runs.write(&mut one).expect("writes");
            runs.kill(1000 + i as u64);
        }
        assert!(runs.files.len() <= MAX_RUNS);
        holds_all_but_the_dead(&runs, &all);
    }

    #[test]
    fn the_writing_thread_writes_the_same_runs() {
        // As above, through the thread: a record is marked replaced before its batch is written,
        // and the runs are compacted there without knowing it.
        let log = crate::samples::find("eks-fargate").expect("sample").data;
        let all = records(log);
        let mut w = Writer::default();
        for part in 0..3 {
            let batch = (0..all.len())
                .filter(|i| i % 3 == part)
                .map(|i| (i as u64, all[i].clone()))
                .collect();
            w.write(batch);
            if part == 0 {
                w.kill(1);
            }
        }
        for (i, r) in all.iter().enumerate().skip(3).take(MAX_RUNS + 5) {
            w.kill(1000 + i as u64);
            w.write(vec![(1000 + i as u64, r.clone())]);
        }
        let runs = w.finish().expect("written");
        assert!(runs.files.len() <= MAX_RUNS);
        holds_all_but_the_dead(&runs, &all);
        assert!(Writer::default()
            .finish()
            .expect("nothing to write")
            .is_empty());
    }

    /// `runs` hold every record of `all` but the second, in story order, grouped by pod name, on
    /// every pass.
    fn holds_all_but_the_dead(runs: &Runs, all: &[Record]) {
        let mut sorted = all.to_vec();
        sorted.sort_by(story_order);
        let want: Vec<String> = sorted
            .iter()
            .filter(|r| r.seq != all[1].seq)
            .map(|r| format!("{r:?}"))
            .collect();
        for _pass in 0..2 {
            let groups: Vec<Vec<Record>> = runs.groups().unwrap().map(|g| g.unwrap()).collect();
            for g in &groups {
                assert!(g
                    .iter()
                    .all(|r| r.namespace == g[0].namespace && r.name == g[0].name));
            }
            let got: Vec<String> = groups.iter().flatten().map(|r| format!("{r:?}")).collect();
            assert_eq!(got, want);
        }
    }
}
