//! The output file every writing command shares (`-O/--output-file`): standard output, or a file
//! written beside its target and renamed into place only when complete, so a failed or
//! interrupted run never leaves a half-written report where a good one was (or seemed to be).

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use crate::cli::UsageError;
use crate::options::OutputFile;

/// An open output; [`Output::finish`] completes it.
pub enum Output {
    Stdout(io::BufWriter<io::StdoutLock<'static>>),
    File {
        tmp: io::BufWriter<tempfile::NamedTempFile>,
        path: PathBuf,
        force: bool,
    },
}

/// Refuses an existing target unless `force`, before any work is done.
pub fn check(target: &OutputFile) -> Result<()> {
    if let OutputFile::File { path, force: false } = target {
        if fs::symlink_metadata(path).is_ok() {
            bail!(UsageError(format!(
                "{} exists: give --force to replace it",
                path.display()
            )));
        }
    }
    Ok(())
}

impl Output {
    pub fn open(target: &OutputFile) -> Result<Output> {
        check(target)?;
        Ok(match target {
            OutputFile::Stdout => Output::Stdout(io::BufWriter::new(io::stdout().lock())),
            OutputFile::File { path, force } => {
                let dir = match path.parent() {
                    Some(d) if !d.as_os_str().is_empty() => d,
                    _ => Path::new("."),
                };
                let name = path.file_name().map_or_else(
                    || ".ktrail".into(),
                    |n| format!(".{}.", n.to_string_lossy()),
                );
                let tmp = tempfile::Builder::new()
                    .prefix(&name)
                    .suffix(".tmp")
                    .tempfile_in(dir)
                    .with_context(|| format!("creating a file in {}", dir.display()))?;
                Output::File {
                    tmp: io::BufWriter::with_capacity(256 << 10, tmp),
                    path: path.clone(),
                    force: *force,
                }
            }
        })
    }

    pub fn writer(&mut self) -> &mut dyn Write {
        match self {
            Output::Stdout(w) => w,
            Output::File { tmp, .. } => tmp,
        }
    }

    /// Flushes, and for a file syncs it and renames it into place. Dropping an unfinished output
    /// removes its temporary file.
    pub fn finish(self) -> Result<()> {
        match self {
            Output::Stdout(mut w) => w.flush().context("writing standard output"),
            Output::File { tmp, path, force } => {
                let tmp = tmp
                    .into_inner()
                    .map_err(|e| e.into_error())
                    .with_context(|| format!("writing {}", path.display()))?;
                tmp.as_file()
                    .sync_all()
                    .with_context(|| format!("writing {}", path.display()))?;
                #[cfg(unix)]
                {
                    // A temporary file is private (0600); a report is a document like any other.
                    use std::os::unix::fs::PermissionsExt;
                    let _ = tmp
                        .as_file()
                        .set_permissions(fs::Permissions::from_mode(0o644));
                }
                let done = if force {
                    tmp.persist(&path).map(drop)
                } else {
                    tmp.persist_noclobber(&path).map(drop)
                };
                done.map_err(|e| e.error)
                    .with_context(|| format!("writing {}", path.display()))
            }
        }
    }
}
