//! Where audit lines come from: files, directories (every file below, recursively, in name order),
//! standard input, and the samples compiled into the binary. Compression is recognised from the
//! first bytes, never from the name: gzip (also multi-member, as `cat a.gz b.gz` makes) and zstd.

use std::fs::File;
use std::io::{self, Cursor, Read};
use std::path::{Path, PathBuf};

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

/// Expands `-f` arguments and `--sample` names into inputs: directories become the files below them.
pub fn expand(files: &[String], sample_names: &[String]) -> Result<Vec<Input>, SourceError> {
    let mut out = Vec::new();
    for s in sample_names {
        out.push(Input::Sample(
            samples::find(s).ok_or_else(|| SourceError::UnknownSample(s.clone()))?,
        ));
    }
    for f in files {
        if f == "-" {
            out.push(Input::Stdin);
            continue;
        }
        let p = PathBuf::from(f);
        let meta = std::fs::metadata(&p).map_err(|e| SourceError::Io {
            path: f.clone(),
            source: e,
        })?;
        if meta.is_dir() {
            walk(&p, &mut out)?;
        } else {
            out.push(Input::Path(p));
        }
    }
    Ok(out)
}

fn walk(dir: &Path, out: &mut Vec<Input>) -> Result<(), SourceError> {
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
            walk(&p, out)?;
        } else if meta.is_file() {
            out.push(Input::Path(p));
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
    let name = input.name();
    let raw: Box<dyn Read + Send> = match input {
        Input::Path(p) => Box::new(File::open(p).map_err(|e| SourceError::Io {
            path: name.clone(),
            source: e,
        })?),
        Input::Stdin => Box::new(io::stdin()),
        Input::Sample(s) => Box::new(s.data.as_bytes()),
    };
    decompress(raw).map_err(|e| SourceError::Io {
        path: name,
        source: e,
    })
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
        let got = expand(&[d.path().display().to_string()], &[]).unwrap();
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
}
