//! Where audit lines come from: files, directories (every file below, recursively, in name order),
//! standard input, and the samples compiled into the binary. Compression is recognised from the
//! first bytes, never from the name: gzip (also multi-member, as `cat a.gz b.gz` makes) and zstd.
//!
//! A directory often holds more than logs (a README, rules files): a file found in one whose first
//! byte after decompression, blanks aside, cannot start JSON is passed over as a whole and named
//! once, instead of every line of it being reported. A file named on its own is always read.

use std::fs::File;
use std::io::{self, Cursor, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use thiserror::Error;

use crate::samples;

#[derive(Debug, Error)]
pub enum SourceError {
    #[error("{path}")]
    Io {
        path: String,
        #[source]
        source: io::Error,
    },
    #[error("unknown sample {0:?}; `ktrail samples` lists them")]
    UnknownSample(String),
    #[error("{0}: no such file; did you mean --sample {0}?")]
    SampleNotFile(String),
    #[error("{0}: an empty directory: no audit log below it")]
    EmptyDir(String),
}

/// A file found in a directory that is not an audit log, passed over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotALog {
    pub path: PathBuf,
    /// The first byte that is not blank, after decompression.
    pub first: u8,
}

impl std::fmt::Display for NotALog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let first = if self.first.is_ascii_graphic() {
            format!("{:?}", char::from(self.first))
        } else {
            format!("byte 0x{:02x}", self.first)
        };
        write!(
            f,
            "{}: not an audit log (it starts with {first}); skipped",
            self.path.display()
        )
    }
}

/// The inputs of a command line, and the files of its directories that were passed over.
#[derive(Debug, Default)]
pub struct Expanded {
    pub inputs: Vec<Input>,
    pub not_logs: Vec<NotALog>,
}

/// One input, before it is opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    Path(PathBuf),
    Stdin,
    Sample(&'static samples::Sample),
}

impl Input {
    /// The name diagnostics use.
    pub fn name(&self) -> String {
        match self {
            Input::Path(p) => p.display().to_string(),
            Input::Stdin => "-".into(),
            Input::Sample(s) => format!("sample:{}", s.name),
        }
    }
}

/// Expands `-f` arguments and `--sample` names into inputs: directories become the audit logs below
/// them (see [`Expanded::not_logs`] for the other files).
pub fn expand(files: &[String], sample_names: &[String]) -> Result<Expanded, SourceError> {
    let mut out = Expanded::default();
    for s in sample_names {
        out.inputs.push(Input::Sample(
            samples::find(s).ok_or_else(|| SourceError::UnknownSample(s.clone()))?,
        ));
    }
    for f in files {
        if f == "-" {
            out.inputs.push(Input::Stdin);
            continue;
        }
        let p = PathBuf::from(f);
        let meta = std::fs::metadata(&p).map_err(|e| {
            if e.kind() == io::ErrorKind::NotFound && samples::find(f).is_some() {
                SourceError::SampleNotFile(f.clone())
            } else {
                SourceError::Io {
                    path: f.clone(),
                    source: e,
                }
            }
        })?;
        if meta.is_dir() {
            let mut found = Vec::new();
            walk(&p, &p, &mut found)?;
            if found.is_empty() {
                return Err(SourceError::EmptyDir(f.clone()));
            }
            for input in found {
                match &input {
                    Input::Path(path) => match first_byte(path) {
                        Some(first) if !matches!(first, b'{' | b'[') => {
                            out.not_logs.push(NotALog {
                                path: path.clone(),
                                first,
                            });
                        }
                        _ => out.inputs.push(input),
                    },
                    _ => out.inputs.push(input),
                }
            }
        } else {
            out.inputs.push(Input::Path(p));
        }
    }
    Ok(out)
}

/// How far into a file its first byte that is not blank is looked for.
const SNIFF_LIMIT: usize = 64 << 10;

/// The first byte of a file after decompression that is not blank (ASCII whitespace or a UTF-8
/// byte order mark), within [`SNIFF_LIMIT`]. `None` when there is none, or the file cannot be
/// read: then the scan reads it and reports what is wrong, line by line.
fn first_byte(path: &Path) -> Option<u8> {
    let file = File::open(path).ok()?;
    let (reader, _) = decompress(Box::new(file)).ok()?;
    let mut reader = reader.take(SNIFF_LIMIT as u64);
    let mut buf = [0u8; 4096];
    let mut at_start = true;
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) | Err(_) => return None,
            Ok(n) => n,
        };
        let mut chunk = &buf[..n];
        if at_start {
            chunk = chunk
                .strip_prefix(b"\xef\xbb\xbf".as_slice())
                .unwrap_or(chunk);
            at_start = false;
        }
        if let Some(at) = chunk.iter().position(|b| !b.is_ascii_whitespace()) {
            // A CloudWatch export's line starts with its time: the message after it decides.
            let line = &chunk[at..];
            let line = &line[..line.iter().position(|&b| b == b'\n').unwrap_or(line.len())];
            return crate::formats::cwexport::strip(line).first().copied();
        }
    }
}

/// The files below `dir`, but in a CloudWatch export tree only its audit streams (see
/// `formats::cwexport::keep`); `root` is where the walk started.
fn walk(root: &Path, dir: &Path, out: &mut Vec<Input>) -> Result<(), SourceError> {
    let err = |e| SourceError::Io {
        path: dir.display().to_string(),
        source: e,
    };
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(err)?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()
        .map_err(err)?;
    entries.sort();
    for p in entries {
        // Follows links to files; a link to a directory is followed too, once per visit.
        let meta = std::fs::metadata(&p).map_err(|e| SourceError::Io {
            path: p.display().to_string(),
            source: e,
        })?;
        if meta.is_dir() {
            walk(root, &p, out)?;
        } else if meta.is_file() {
            let rel = p.strip_prefix(root).unwrap_or(&p).to_string_lossy();
            if crate::formats::cwexport::keep(&rel.replace('\\', "/")) {
                out.push(Input::Path(p));
            }
        }
    }
    Ok(())
}

/// The compression of a stream, from its magic bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Zstd,
}

pub fn sniff(head: &[u8]) -> Compression {
    if head.starts_with(&[0x1f, 0x8b]) {
        Compression::Gzip
    } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Compression::Zstd
    } else {
        Compression::None
    }
}

/// Opens an input and returns a reader of its decompressed bytes.
pub fn open(input: &Input) -> Result<(Box<dyn Read + Send>, Compression), SourceError> {
    let (raw, name) = open_raw(input)?;
    decompress(raw).map_err(|e| SourceError::Io {
        path: name,
        source: e,
    })
}

/// The input's bytes as stored, and its name for errors.
fn open_raw(input: &Input) -> Result<(Box<dyn Read + Send>, String), SourceError> {
    let name = input.name();
    let raw: Box<dyn Read + Send> = match input {
        Input::Path(p) => Box::new(File::open(p).map_err(|e| SourceError::Io {
            path: name.clone(),
            source: e,
        })?),
        Input::Stdin => Box::new(io::stdin()),
        Input::Sample(s) => Box::new(s.data.as_bytes()),
    };
    Ok((raw, name))
}

/// Wraps a reader in the decompressor its first bytes call for.
pub fn decompress(
    mut raw: Box<dyn Read + Send>,
) -> io::Result<(Box<dyn Read + Send>, Compression)> {
    let mut head = [0u8; 4];
    let mut n = 0;
    while n < head.len() {
        match raw.read(&mut head[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    let c = sniff(&head[..n]);
    let whole = Box::new(Cursor::new(head[..n].to_vec()).chain(raw));
    Ok(match c {
        Compression::None => (whole, c),
        Compression::Gzip => (Box::new(flate2::read::MultiGzDecoder::new(whole)), c),
        Compression::Zstd => (Box::new(zstd::stream::read::Decoder::new(whole)?), c),
    })
}

/// What a decompressor met: where in the compressed bytes it stopped, and why. Shared between the
/// reader that notices and the scan that reports it once the input is read.
#[derive(Debug, Clone, Default)]
pub struct Damage(Arc<Mutex<Option<(u64, String)>>>);

impl Damage {
    /// The damage, once.
    pub fn take(&self) -> Option<(u64, String)> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).take()
    }

    fn set(&self, offset: u64, reason: String) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get_or_insert((offset, reason));
    }
}

/// Counts the compressed bytes a decompressor takes, and keeps the source's own errors apart from
/// the decompressor's.
struct Counting {
    inner: Box<dyn Read + Send>,
    read: Arc<AtomicU64>,
    failed: Arc<AtomicBool>,
}

impl Read for Counting {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.inner.read(buf) {
            Ok(n) => {
                self.read.fetch_add(n as u64, Ordering::Relaxed);
                Ok(n)
            }
            Err(e) => {
                if e.kind() != io::ErrorKind::Interrupted {
                    self.failed.store(true, Ordering::Relaxed);
                }
                Err(e)
            }
        }
    }
}

/// A decompressor whose errors end the stream: the bytes before the damage are read, and the
/// damage is kept in a [`Damage`]. An error of the source underneath (a disk, a connection) is
/// still an error.
struct Tolerant {
    inner: Box<dyn Read + Send>,
    read: Arc<AtomicU64>,
    failed: Arc<AtomicBool>,
    damage: Damage,
    ended: bool,
}

impl Read for Tolerant {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.ended {
            return Ok(0);
        }
        match self.inner.read(buf) {
            Err(e)
                if e.kind() != io::ErrorKind::Interrupted
                    && !self.failed.load(Ordering::Relaxed) =>
            {
                self.ended = true;
                self.damage
                    .set(self.read.load(Ordering::Relaxed), e.to_string());
                Ok(0)
            }
            r => r,
        }
    }
}

/// Opens an input like [`open`], with a decompressor that stops at damage instead of failing.
pub fn open_tolerant(
    input: &Input,
) -> Result<(Box<dyn Read + Send>, Compression, Damage), SourceError> {
    let (raw, name) = open_raw(input)?;
    decompress_tolerant(raw).map_err(|e| SourceError::Io {
        path: name,
        source: e,
    })
}

/// [`decompress`], with a decompressor that stops at damage and says where (see [`Damage`]).
pub fn decompress_tolerant(
    raw: Box<dyn Read + Send>,
) -> io::Result<(Box<dyn Read + Send>, Compression, Damage)> {
    let read = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicBool::new(false));
    let counting = Counting {
        inner: raw,
        read: read.clone(),
        failed: failed.clone(),
    };
    let damage = Damage::default();
    let (inner, c) = decompress(Box::new(counting))?;
    if c == Compression::None {
        return Ok((inner, c, damage));
    }
    let tolerant = Tolerant {
        inner,
        read,
        failed,
        damage: damage.clone(),
        ended: false,
    };
    Ok((Box::new(tolerant), c, damage))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn read_all(bytes: Vec<u8>) -> (String, Compression) {
        let (mut r, c) = decompress(Box::new(Cursor::new(bytes))).unwrap();
        let mut s = String::new();
        r.read_to_string(&mut s).unwrap();
        (s, c)
    }

    #[test]
    fn compression_is_sniffed_from_bytes() {
        let text = "{\"a\":1}\n{\"b\":2}\n";
        assert_eq!(
            read_all(text.as_bytes().to_vec()),
            (text.into(), Compression::None)
        );
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(text.as_bytes()).unwrap();
        let mut two = gz.finish().unwrap();
        two.extend(two.clone());
        assert_eq!(read_all(two), (format!("{text}{text}"), Compression::Gzip));
        let zs = zstd::encode_all(text.as_bytes(), 3).unwrap();
        assert_eq!(read_all(zs), (text.into(), Compression::Zstd));
        assert_eq!(read_all(b"{".to_vec()), ("{".into(), Compression::None));
        assert_eq!(read_all(Vec::new()), (String::new(), Compression::None));
    }

    #[test]
    fn directories_expand_recursively_in_order() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir(d.path().join("sub")).unwrap();
        std::fs::write(d.path().join("b.jsonl"), "").unwrap();
        std::fs::write(d.path().join("sub/a.jsonl"), "").unwrap();
        std::fs::write(d.path().join("a.jsonl"), "").unwrap();
        let got = expand(&[d.path().display().to_string()], &[])
            .unwrap()
            .inputs;
        let names: Vec<String> = got
            .iter()
            .map(|i| i.name().rsplit('/').next().unwrap().to_owned())
            .collect();
        assert_eq!(names, ["a.jsonl", "b.jsonl", "a.jsonl"]);
        assert!(matches!(
            expand(&["/nonexistent/x".into()], &[]),
            Err(SourceError::Io { .. })
        ));
    }

    #[test]
    fn a_directory_passes_over_what_is_not_an_audit_log_once_per_file() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("README.md"), "# rules\n\nmany lines\n").unwrap();
        std::fs::write(d.path().join("rules.yaml"), "\u{feff}  rules:\n- x\n").unwrap();
        std::fs::write(d.path().join("a.jsonl"), "\n  {\"kind\":\"Event\"}\n").unwrap();
        std::fs::write(d.path().join("b.json"), "[\n]").unwrap();
        std::fs::write(d.path().join("empty.log"), "").unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(b"not json").unwrap();
        std::fs::write(d.path().join("c.gz"), gz.finish().unwrap()).unwrap();
        let dir = d.path().display().to_string();
        let got = expand(std::slice::from_ref(&dir), &[]).unwrap();
        let names = |v: Vec<&Path>| -> Vec<String> {
            v.iter()
                .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
                .collect()
        };
        let kept: Vec<&Path> = got
            .inputs
            .iter()
            .map(|i| match i {
                Input::Path(p) => p.as_path(),
                _ => unreachable!(),
            })
            .collect();
        assert_eq!(names(kept), ["a.jsonl", "b.json", "empty.log"]);
        assert_eq!(
            names(got.not_logs.iter().map(|n| n.path.as_path()).collect()),
            ["README.md", "c.gz", "rules.yaml"]
        );
        assert!(got.not_logs[0]
            .to_string()
            .ends_with("README.md: not an audit log (it starts with '#'); skipped"));
        // Named on its own, a file is read whatever it holds.
        let readme = d.path().join("README.md").display().to_string();
        assert_eq!(expand(&[readme], &[]).unwrap().inputs.len(), 1);
        let empty = tempfile::tempdir().unwrap();
        std::fs::create_dir(empty.path().join("sub")).unwrap();
        assert!(matches!(
            expand(&[empty.path().display().to_string()], &[]),
            Err(SourceError::EmptyDir(_))
        ));
    }

    #[test]
    fn a_sample_name_given_as_a_file_gets_a_hint() {
        let e = expand(&["eks-fargate".into()], &[]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "eks-fargate: no such file; did you mean --sample eks-fargate?"
        );
    }
}
