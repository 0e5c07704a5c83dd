//! Read-ahead of compressed files: while one input is scanned, the next compressed files are
//! decompressed on threads of their own, so that a directory of many `.gz` or `.zst` files (an S3
//! export, a Firehose delivery, a week of rotated logs) decompresses on every core, when a single
//! stream can only be decompressed on one.
//!
//! Each file read ahead fills a bounded queue: at most [`BUFFERS`] buffers of [`BUFFER`] bytes,
//! which come back to its thread once the scan has copied them out, so the memory in flight is
//! fixed whatever the file's size; a thread that is that far ahead waits. The scan still takes the
//! inputs strictly in order, one at a time, and reads a file read ahead through [`Queued`], which
//! yields exactly the bytes, the read error and the end the decompressor gave: its lines, their
//! numbers, its damage report and `--strict` are those of reading it in place.
//!
//! Only regular files are looked at ahead of their turn (never a pipe, standard input or a
//! sample), and only compressed ones of at least [`MIN_COMPRESSED`] bytes: a plain file is mapped,
//! which costs nothing ahead of time, and a small one costs less to decompress in turn than a
//! thread does. Whatever goes wrong while opening a file ahead (it cannot be opened, or its
//! decompressor refuses the first bytes) is left to its turn, which opens it again as if it had
//! never been looked at, and reports the error where it always did.
//!
//! When the scan stops early (`--strict`, an error), dropping the [`ReadAhead`] closes every
//! queue: each thread ends at its next step (it waits on nothing else), and the threads are not
//! joined, so that a slow disk does not hold the answer.

use std::fs::File;
use std::io::{self, Read, Seek};
use std::sync::mpsc::{self, Receiver, Sender, SyncSender};
use std::thread;

use crate::source::{self, Compression, Damage, Input};

/// Bytes of decompressed data per buffer of a queue.
pub(super) const BUFFER: usize = 1 << 20;

/// Buffers per file read ahead. A file can then run this many buffers ahead of the scan, which is
/// what lets the spare cores decompress it while the one before is scanned.
pub(super) const BUFFERS: usize = 8;

/// Files read ahead at most, whatever the number of cores: with [`BUFFERS`] of [`BUFFER`] bytes
/// each, the queues hold at most 40 MiB with the file being scanned.
pub(super) const MAX_FILES: usize = 4;

/// Compressed files smaller than this are decompressed in their turn.
pub(super) const MIN_COMPRESSED: u64 = 64 << 10;

/// What a decompressing thread hands on, in order.
enum Piece {
    /// A buffer and how many of its bytes are data.
    Data(Vec<u8>, usize),
    /// The decompressor's read error; nothing follows it.
    Failed(io::Error),
    /// The end of the decompressed stream.
    End,
}

/// A file being decompressed ahead of its turn.
pub(super) struct Started {
    reader: Queued,
    damage: Damage,
}

impl Started {
    /// The decompressed bytes, as a reader, and the damage the decompressor met (known once the
    /// reader has reached its end).
    pub(super) fn into_parts(self) -> (Queued, Damage) {
        (self.reader, self.damage)
    }
}

/// The read-ahead over a list of inputs: [`ReadAhead::take`] the input whose turn it is.
pub(super) struct ReadAhead<'a> {
    inputs: &'a [Input],
    /// How many files to decompress ahead of the one scanned.
    ahead: usize,
    /// Files read ahead, by index into `inputs`, in order.
    started: Vec<(usize, Started)>,
    /// The next input to look at.
    next: usize,
}

impl<'a> ReadAhead<'a> {
    /// `ahead`: how many compressed files may be decompressed ahead of the one scanned; 0 for
    /// none.
    pub(super) fn new(inputs: &'a [Input], ahead: usize) -> Self {
        ReadAhead {
            inputs,
            ahead,
            started: Vec::new(),
            next: 0,
        }
    }

    /// The input at `index` (whose turn it is, in order) if it was read ahead; then starts reading
    /// the next compressed files ahead, up to `ahead` of them.
    pub(super) fn take(&mut self, index: usize) -> Option<Started> {
        let mine = match self.started.first() {
            Some((i, _)) if *i == index => Some(self.started.remove(0).1),
            _ => None,
        };
        self.next = self.next.max(index + 1);
        while self.started.len() < self.ahead && self.next < self.inputs.len() {
            let i = self.next;
            self.next += 1;
            if let Some(s) = start(&self.inputs[i]) {
                self.started.push((i, s));
            }
        }
        mine
    }
}

/// Starts decompressing `input` on a thread of its own, when it is a compressed regular file
/// worth it (see the module's header).
fn start(input: &Input) -> Option<Started> {
    let Input::Path(path) = input else {
        return None;
    };
    // The type is asked of the path before opening it: opening a pipe would wait for its writer.
    let meta = std::fs::metadata(path).ok()?;
    if !meta.is_file() || meta.len() < MIN_COMPRESSED {
        return None;
    }
    let mut file = File::open(path).ok()?;
    let mut magic = [0u8; 4];
    file.read_exact(&mut magic).ok()?;
    if source::sniff(&magic) == Compression::None {
        return None;
    }
    file.rewind().ok()?;
    let (reader, _, damage) = source::decompress_tolerant(Box::new(file)).ok()?;
    let (full_tx, full_rx) = mpsc::sync_channel(BUFFERS + 1);
    let (empty_tx, empty_rx) = mpsc::channel();
    thread::Builder::new()
        .name("ktrail-read-ahead".into())
        .spawn(move || produce(reader, &full_tx, &empty_rx))
        .ok()?;
    Some(Started {
        reader: Queued {
            full: full_rx,
            empty: empty_tx,
            current: None,
            at: 0,
            ended: false,
        },
        damage,
    })
}

/// Decompresses into buffers and sends them on, until the end, a read error, or the scan is gone.
fn produce(mut reader: Box<dyn Read + Send>, full: &SyncSender<Piece>, empty: &Receiver<Vec<u8>>) {
    let mut made = 0;
    loop {
        let mut buf = match empty.try_recv() {
            Ok(b) => b,
            Err(_) if made < BUFFERS => {
                made += 1;
                vec![0; BUFFER]
            }
            // Every buffer is queued: wait for the scan to give one back (or to be gone).
            Err(_) => match empty.recv() {
                Ok(b) => b,
                Err(_) => return,
            },
        };
        let mut n = 0;
        let last = loop {
            match reader.read(&mut buf[n..]) {
                Ok(0) => break Some(Piece::End),
                Ok(k) => {
                    n += k;
                    if n == buf.len() {
                        break None;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => break Some(Piece::Failed(e)),
            }
        };
        if n > 0 && full.send(Piece::Data(buf, n)).is_err() {
            return;
        }
        if let Some(last) = last {
            let _ = full.send(last);
            return;
        }
    }
}

/// The reading end of a file read ahead: the decompressed bytes in order, then the decompressor's
/// error or end.
pub(super) struct Queued {
    full: Receiver<Piece>,
    /// Buffers given back to the decompressing thread.
    empty: Sender<Vec<u8>>,
    /// The buffer being read, and how many of its bytes are data.
    current: Option<(Vec<u8>, usize)>,
    /// How far into `current` the reading is.
    at: usize,
    ended: bool,
}

impl Read for Queued {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        loop {
            if let Some((buf, len)) = &self.current {
                if self.at < *len {
                    let n = out.len().min(len - self.at);
                    out[..n].copy_from_slice(&buf[self.at..self.at + n]);
                    self.at += n;
                    return Ok(n);
                }
                if let Some((buf, _)) = self.current.take() {
                    // The thread may be gone already (it ended); the buffer is then dropped.
                    let _ = self.empty.send(buf);
                }
            }
            if self.ended || out.is_empty() {
                return Ok(0);
            }
            match self.full.recv() {
                Ok(Piece::Data(buf, len)) => {
                    self.current = Some((buf, len));
                    self.at = 0;
                }
                Ok(Piece::Failed(e)) => {
                    self.ended = true;
                    return Err(e);
                }
                Ok(Piece::End) => {
                    self.ended = true;
                    return Ok(0);
                }
                // The thread is gone without a word: only a panic does that.
                Err(_) => {
                    self.ended = true;
                    return Err(io::Error::other("the decompressing thread failed"));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::path::PathBuf;

    fn gz(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    /// Pseudo-random text that does not compress away: it must be over the size threshold.
    fn text(lines: usize, seed: u64) -> Vec<u8> {
        let mut x = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
        let mut out = Vec::new();
        for i in 0..lines {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            writeln!(
                out,
                "{{\"n\":{i},\"x\":\"{x:016x}{:016x}\"}}",
                x.rotate_left(29)
            )
            .unwrap();
        }
        out
    }

    fn read_to_end(r: &mut dyn Read, step: usize) -> (Vec<u8>, Option<String>) {
        let mut got = Vec::new();
        let mut buf = vec![0; step];
        loop {
            match r.read(&mut buf) {
                Ok(0) => return (got, None),
                Ok(n) => got.extend_from_slice(&buf[..n]),
                Err(e) => return (got, Some(e.to_string())),
            }
        }
    }

    #[test]
    fn a_file_read_ahead_yields_what_reading_it_in_place_yields() {
        let dir = tempfile::tempdir().unwrap();
        let plain = text(200_000, 1);
        let whole = gz(&plain);
        assert!(whole.len() as u64 > MIN_COMPRESSED, "{}", whole.len());
        let zst = zstd::encode_all(&plain[..], 1).unwrap();
        // Cut short: the bytes before the cut, then the damage.
        let cut = whole[..whole.len() * 2 / 3].to_vec();
        // Garbled in the middle: the damage is met at the same compressed offset.
        let mut garbled = whole.clone();
        let mid = garbled.len() / 2;
        garbled[mid..mid + 64].fill(0xff);
        let zst_cut = zst[..zst.len() * 2 / 3].to_vec();
        let cases: Vec<(&str, Vec<u8>)> = vec![
            ("a.gz", whole),
            ("b.zst", zst),
            ("c.gz", cut),
            ("d.gz", garbled),
            ("e.zst", zst_cut),
        ];
        for (name, bytes) in cases {
            let path = dir.path().join(name);
            std::fs::write(&path, &bytes).unwrap();
            let input = Input::Path(path);
            let (mut direct, _, direct_damage) = source::open_tolerant(&input).unwrap();
            let want = read_to_end(&mut direct, 8192);
            let want_damage = direct_damage.take();
            for step in [1 << 10, 300_001, 3 << 20] {
                let (mut queued, damage) = start(&input).expect("read ahead").into_parts();
                let got = read_to_end(&mut queued, step);
                assert!(got == want, "{name}, reads of {step}");
                assert_eq!(damage.take(), want_damage, "{name}");
            }
            if name != "a.gz" && name != "b.zst" {
                // Damage after the first buffer: what came before it is kept.
                assert!(want_damage.is_some(), "{name}");
                assert!(want.0.len() > BUFFER, "{name}: {}", want.0.len());
            } else {
                assert_eq!(want.0, plain);
            }
        }
    }

    #[test]
    fn only_big_enough_compressed_regular_files_are_read_ahead() {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, bytes: &[u8]| -> Input {
            let p = dir.path().join(name);
            std::fs::write(&p, bytes).unwrap();
            Input::Path(p)
        };
        let big = text(50_000, 2);
        assert!(start(&write("big.gz", &gz(&big))).is_some());
        assert!(start(&write("small.gz", &gz(b"{}\n"))).is_none());
        assert!(start(&write("plain.jsonl", &big)).is_none());
        assert!(start(&Input::Path(PathBuf::from("/nonexistent/x.gz"))).is_none());
        assert!(start(&Input::Path(dir.path().to_path_buf())).is_none());
        assert!(start(&Input::Stdin).is_none());
        // A gzip header on garbage: left to its turn, which reports it.
        let mut bad = vec![0x1f, 0x8b];
        bad.extend(vec![0xa5u8; 100_000]);
        let bad = write("bad.gz", &bad);
        if let Some(s) = start(&bad) {
            let (mut r, damage) = s.into_parts();
            let (got, err) = read_to_end(&mut r, 4096);
            assert!(got.is_empty() && err.is_none());
            assert!(damage.take().is_some());
        }
    }

    #[test]
    fn the_read_ahead_keeps_its_window_and_order() {
        let dir = tempfile::tempdir().unwrap();
        let mut inputs = Vec::new();
        for i in 0..6 {
            let p = dir.path().join(format!("{i}.gz"));
            // Every other file plain: only the compressed ones are read ahead.
            let data = text(20_000, i);
            std::fs::write(&p, if i % 2 == 0 { gz(&data) } else { data }).unwrap();
            inputs.push(Input::Path(p));
        }
        let mut ra = ReadAhead::new(&inputs, 2);
        assert!(ra.take(0).is_none(), "the first input is read in place");
        assert_eq!(ra.started.iter().map(|s| s.0).collect::<Vec<_>>(), [2, 4]);
        assert!(ra.take(1).is_none());
        let (mut r, _) = ra.take(2).expect("read ahead").into_parts();
        assert_eq!(read_to_end(&mut r, 1 << 16).0, text(20_000, 2));
        assert!(ra.take(3).is_none());
        assert!(ra.take(4).is_some());
        assert!(ra.take(5).is_none());
        let mut off = ReadAhead::new(&inputs, 0);
        assert!((0..6).all(|i| off.take(i).is_none()));
    }

    #[test]
    fn dropping_a_queue_ends_its_thread() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.gz");
        // Much more than the queue holds, so the thread is waiting for a buffer.
        std::fs::write(&p, gz(&text(400_000, 3))).unwrap();
        let s = start(&Input::Path(p)).unwrap();
        let (mut r, _) = s.into_parts();
        let mut buf = [0u8; 10];
        r.read_exact(&mut buf).unwrap();
        // The thread holds the only sender of `full`; once it ends, the channel says so.
        let full = std::mem::replace(&mut r.full, mpsc::sync_channel(1).1);
        drop(r);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        loop {
            match full.try_recv() {
                Err(mpsc::TryRecvError::Disconnected) => break,
                _ => {
                    assert!(std::time::Instant::now() < deadline, "the thread lives on");
                    thread::sleep(std::time::Duration::from_millis(5));
                }
            }
        }
    }
}
