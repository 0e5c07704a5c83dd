//! `ktrail redact`: a copy of an audit log with what must not leave a company masked.

use std::fs::File;
use std::io::{self, Read, Seek};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use ktrail_core::redact::{self, RedactError, RunOptions};
use ktrail_core::source::{self, Input};

use super::exit;
use crate::cli::UsageError;
use crate::options::{OutputFile, Redact};
use crate::output::Output;

pub fn run(args: &Redact) -> Result<u8> {
    args.output.note_deprecated("redact");
    let path = (args.input != "-").then(|| PathBuf::from(&args.input));
    if let Some(p) = &path {
        if p.is_dir() {
            bail!(UsageError(format!(
                "{} is a directory; redact reads one file",
                args.input
            )));
        }
    }
    // The input is read twice (accounts first, then the lines): standard input is held in an
    // unnamed temporary file, gone when the process ends however it ends.
    let spool = match &path {
        Some(_) => None,
        None => Some(spool_stdin()?),
    };
    let mut reopen = reopener(path.as_deref(), spool.as_ref());
    // A missing or unreadable input fails before any output file is made.
    drop(reopen()?);
    let inputs: Vec<&Path> = path.iter().map(PathBuf::as_path).collect();
    let mut out = Output::create(&args.output.path, args.output.force, &inputs)?;
    let out_name = out.name();
    let opts = RunOptions {
        accounts: args.accounts.clone(),
        ..RunOptions::default()
    };
    let sum = redact::run(
        &mut reopen,
        &args.input,
        &mut out,
        &out_name,
        &mut io::stderr(),
        &opts,
    )?;
    out.commit()?;
    if sum.dropped > 0 {
        eprintln!("ktrail: dropped {} of {} lines", sum.dropped, sum.lines);
    }
    Ok(exit::OK)
}

/// Standard input copied into an unnamed temporary file.
pub(super) fn spool_stdin() -> Result<File> {
    let mut f =
        tempfile::tempfile().context("cannot create a temporary file for standard input")?;
    io::copy(&mut io::stdin().lock(), &mut f).context("reading standard input")?;
    Ok(f)
}

/// Opens the input from its start, decompressed: the file by its path, or the spooled copy.
pub(super) fn reopener<'a>(
    path: Option<&'a Path>,
    spool: Option<&'a File>,
) -> impl FnMut() -> Result<Box<dyn Read + Send>, RedactError> + 'a {
    move || {
        if let Some(p) = path {
            return Ok(source::open(&Input::Path(p.to_path_buf()))?.0);
        }
        let io_err = |e| RedactError::Io("-".into(), e);
        let mut f = spool
            .expect("a path or a spooled input")
            .try_clone()
            .map_err(io_err)?;
        f.rewind().map_err(io_err)?;
        Ok(source::decompress(Box::new(f)).map_err(io_err)?.0)
    }
}

impl OutputFile {
    /// The one-line note for the hidden former spelling `-o/--output FILE`.
    pub fn note_deprecated(&self, command: &str) {
        if self.deprecated_flag {
            eprintln!(
                "ktrail: {command} -o/--output FILE is deprecated; use -O/--output-file FILE"
            );
        }
    }
}
