//! Every file ktrail writes (`fetch -O FILE`, `redact -O FILE`) goes through [`Output`], so that
//! no run destroys data or leaves a file that passes for complete:
//!
//! - the bytes go to `FILE.partial` beside the target and are renamed to `FILE` only by
//!   [`Output::commit`], after the compressed stream is finished and the file synced; a run that
//!   fails or is interrupted removes the partial file, a killed one leaves at most `FILE.partial`
//!   (never a `FILE` that a reader would take for the whole recording);
//! - an existing `FILE` is refused unless `--force`, before anything is read or fetched;
//! - an input that is the target (the same device and inode: a hard link, a symbolic link or
//!   another spelling of the path) is refused, since replacing it would lose the input;
//! - the extension picks the compression: `.gz` (gzip), `.zst` or `.zstd` (zstd), else plain.
//!
//! `-` is standard output, written as it comes and never compressed.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

/// Why an output could not be opened or completed; each is one sentence for the user.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    #[error("{0} exists; give --force to replace it")]
    Exists(String),
    #[error("the output {0} is the input {1}; write to another file")]
    IsInput(String, String),
    #[error("cannot write {0}: {1}")]
    Io(String, #[source] io::Error),
}

enum Sink {
    Stdout(BufWriter<io::Stdout>),
    Plain(BufWriter<File>),
    Gzip(flate2::write::GzEncoder<BufWriter<File>>),
    Zstd(zstd::stream::write::Encoder<'static, BufWriter<File>>),
}

/// A file being written (or standard output): see the module documentation.
pub struct Output {
    sink: Option<Sink>,
    /// `None` for standard output.
    file: Option<Target>,
    bytes: u64,
}

struct Target {
    path: PathBuf,
    partial: PathBuf,
    force: bool,
    committed: bool,
}

/// The identity of a file: device and inode where the platform has them.
#[cfg(unix)]
fn identity(p: &Path) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    fs::metadata(p).ok().map(|m| (m.dev(), m.ino()))
}

#[cfg(not(unix))]
fn identity(p: &Path) -> Option<PathBuf> {
    p.canonicalize().ok()
}

/// `NAME.partial` beside `NAME`.
pub fn partial_path(target: &Path) -> PathBuf {
    let mut name = target.file_name().unwrap_or_default().to_os_string();
    name.push(".partial");
    target.with_file_name(name)
}

impl Output {
    /// Opens `dest` (`-`: standard output). `inputs` are files the run reads: none may be the
    /// target. An existing target is refused unless `force`.
    pub fn create(dest: &str, force: bool, inputs: &[&Path]) -> Result<Output, OutputError> {
        if dest == "-" {
            return Ok(Output {
                sink: Some(Sink::Stdout(BufWriter::with_capacity(
                    1 << 16,
                    io::stdout(),
                ))),
                file: None,
                bytes: 0,
            });
        }
        let path = PathBuf::from(dest);
        if let Some(id) = identity(&path) {
            for input in inputs {
                if identity(input).as_ref() == Some(&id) {
                    return Err(OutputError::IsInput(
                        dest.to_owned(),
                        input.display().to_string(),
                    ));
                }
            }
        }
        if !force && fs::symlink_metadata(&path).is_ok() {
            return Err(OutputError::Exists(dest.to_owned()));
        }
        if path.is_dir() {
            return Err(OutputError::Io(
                dest.to_owned(),
                io::Error::other("it is a directory"),
            ));
        }
        let partial = partial_path(&path);
        let err = |e| OutputError::Io(dest.to_owned(), e);
        // A partial file is what an earlier, killed run left: never a result, so replaced.
        let file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&partial)
            .map_err(err)?;
        let w = BufWriter::with_capacity(1 << 16, file);
        let lower = dest.to_ascii_lowercase();
        let sink = if lower.ends_with(".gz") {
            Sink::Gzip(flate2::write::GzEncoder::new(
                w,
                flate2::Compression::default(),
            ))
        } else if lower.ends_with(".zst") || lower.ends_with(".zstd") {
            match zstd::stream::write::Encoder::new(w, 3) {
                Ok(e) => Sink::Zstd(e),
                Err(e) => {
                    let _ = fs::remove_file(&partial);
                    return Err(err(e));
                }
            }
        } else {
            Sink::Plain(w)
        };
        Ok(Output {
            sink: Some(sink),
            file: Some(Target {
                path,
                partial,
                force,
                committed: false,
            }),
            bytes: 0,
        })
    }

    /// What messages call this output: the file's name, or `standard output`.
    pub fn name(&self) -> String {
        match &self.file {
            Some(t) => t.path.display().to_string(),
            None => "standard output".into(),
        }
    }

    /// Uncompressed bytes written so far.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Finishes the output: the compressed stream ended, the file synced and renamed into place.
    pub fn commit(mut self) -> Result<(), OutputError> {
        let name = self.name();
        let err = |e| OutputError::Io(name.clone(), e);
        let file = match self.sink.take().expect("an output is committed once") {
            Sink::Stdout(mut w) => return w.flush().map_err(err),
            Sink::Plain(w) => w.into_inner().map_err(|e| e.into_error()),
            Sink::Gzip(w) => w
                .finish()
                .and_then(|w| w.into_inner().map_err(|e| e.into_error())),
            Sink::Zstd(w) => w
                .finish()
                .and_then(|w| w.into_inner().map_err(|e| e.into_error())),
        }
        .map_err(err)?;
        file.sync_all().map_err(err)?;
        drop(file);
        let t = self.file.as_mut().expect("a file output");
        if t.force {
            fs::rename(&t.partial, &t.path).map_err(err)?;
        } else {
            // A link fails when the target appeared meanwhile, where a rename would replace it.
            match fs::hard_link(&t.partial, &t.path) {
                Ok(()) => {
                    let _ = fs::remove_file(&t.partial);
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                    return Err(OutputError::Exists(name));
                }
                Err(_) => {
                    if fs::symlink_metadata(&t.path).is_ok() {
                        return Err(OutputError::Exists(name));
                    }
                    fs::rename(&t.partial, &t.path).map_err(err)?;
                }
            }
        }
        t.committed = true;
        Ok(())
    }

    fn writer(&mut self) -> &mut dyn Write {
        match self.sink.as_mut().expect("an output not yet committed") {
            Sink::Stdout(w) => w,
            Sink::Plain(w) => w,
            Sink::Gzip(w) => w,
            Sink::Zstd(w) => w,
        }
    }
}

impl Write for Output {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.writer().write(buf)?;
        self.bytes += n as u64;
        Ok(n)
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.writer().write_all(buf)?;
        self.bytes += buf.len() as u64;
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.writer().flush()
    }
}

impl Drop for Output {
    fn drop(&mut self) {
        if let Some(t) = &self.file {
            if !t.committed {
                // Whatever the encoder still writes on drop goes to a file no longer named.
                let _ = fs::remove_file(&t.partial);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_only_on_commit_and_never_over_an_existing_file() {
        let d = tempfile::tempdir().unwrap();
        let target = d.path().join("out.jsonl");
        let t = target.to_str().unwrap();
        let mut o = Output::create(t, false, &[]).unwrap();
        o.write_all(b"line\n").unwrap();
        assert!(
            !target.exists(),
            "nothing under the target's name before commit"
        );
        assert!(partial_path(&target).exists());
        o.commit().unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"line\n");
        assert!(!partial_path(&target).exists());

        let e = Output::create(t, false, &[]).err().unwrap();
        assert_eq!(
            e.to_string(),
            format!("{t} exists; give --force to replace it")
        );
        let mut o = Output::create(t, true, &[]).unwrap();
        o.write_all(b"new\n").unwrap();
        drop(o);
        assert_eq!(
            fs::read(&target).unwrap(),
            b"line\n",
            "a dropped output changes nothing"
        );
        assert!(
            !partial_path(&target).exists(),
            "and leaves no partial file"
        );
        let mut o = Output::create(t, true, &[]).unwrap();
        o.write_all(b"new\n").unwrap();
        o.commit().unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"new\n");
    }

    #[test]
    fn a_hard_link_of_the_input_is_the_input() {
        let d = tempfile::tempdir().unwrap();
        let input = d.path().join("in.jsonl");
        fs::write(&input, "x\n").unwrap();
        let link = d.path().join("h.jsonl");
        fs::hard_link(&input, &link).unwrap();
        for force in [false, true] {
            let e = Output::create(link.to_str().unwrap(), force, &[&input])
                .err()
                .unwrap();
            assert!(matches!(e, OutputError::IsInput(..)), "{e}");
        }
        assert_eq!(fs::read(&input).unwrap(), b"x\n");
    }

    #[test]
    fn compression_follows_the_extension() {
        let d = tempfile::tempdir().unwrap();
        for (name, magic) in [
            ("a.jsonl.gz", &[0x1f, 0x8b][..]),
            ("a.jsonl.zst", &[0x28, 0xb5, 0x2f, 0xfd][..]),
            ("a.jsonl", &b"hello"[..]),
        ] {
            let p = d.path().join(name);
            let mut o = Output::create(p.to_str().unwrap(), false, &[]).unwrap();
            o.write_all(b"hello\n").unwrap();
            o.commit().unwrap();
            assert!(fs::read(&p).unwrap().starts_with(magic), "{name}");
        }
    }
}
