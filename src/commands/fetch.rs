//! `ktrail fetch`: raw audit events from CloudWatch Logs to a file or standard output, for offline
//! analysis or a CI sample.

use std::io::{self, BufWriter, Seek};

use anyhow::{Context, Result};

use ktrail_cloudwatch::FetchWriter;
use ktrail_core::redact::{self, RunOptions};

use super::cloudwatch::{collect_events, print_stats, selection, source};
use super::exit;
use crate::options::Fetch;
use crate::output::Output;

/// `fetch`: raw audit events to a file or standard output.
pub fn run(args: &Fetch) -> Result<u8> {
    args.output.note_deprecated("fetch");
    let sel = &args.selection;
    let src = source(&args.cloudwatch, sel);
    let cw = selection(sel, true);
    // Validate everything before the output file is created.
    src.validate()?;
    cw.validate()?;
    let mut out = Output::create(&args.output.path, args.output.force, &[])?;
    let name = out.name();
    let (written, stats) = if args.redact {
        // Redaction learns every account id of the whole recording before it writes a line: the
        // raw events wait in an unnamed temporary file, gone when the process ends.
        let raw = tempfile::tempfile().context("cannot create a temporary file")?;
        let mut writer = FetchWriter::new(BufWriter::new(raw), "a temporary file");
        let stats = collect_events(&src, &cw, |e| {
            writer.write(e)?;
            Ok(())
        })?;
        let (written, buf) = writer.finish()?;
        let raw = buf.into_inner().map_err(|e| e.into_error())?;
        let mut reopen = || {
            let io_err = |e| redact::RedactError::Io("the fetched events".into(), e);
            let mut f = raw.try_clone().map_err(io_err)?;
            f.rewind().map_err(io_err)?;
            Ok(Box::new(f) as Box<dyn io::Read + Send>)
        };
        let opts = RunOptions {
            accounts: args.accounts.clone(),
            ..RunOptions::default()
        };
        let sum = redact::run(
            &mut reopen,
            "fetch",
            &mut out,
            &name,
            &mut io::stderr(),
            &opts,
        )?;
        if sum.dropped > 0 {
            eprintln!(
                "ktrail: redaction dropped {} of {} lines",
                sum.dropped, sum.lines
            );
        }
        (written, stats)
    } else {
        let mut writer = FetchWriter::new(&mut out, &name);
        let stats = collect_events(&src, &cw, |e| {
            writer.write(e)?;
            Ok(())
        })?;
        (writer.finish()?.0, stats)
    };
    out.commit()?;
    print_stats(&stats);
    eprintln!("ktrail: wrote {} audit events to {name}", written.written);
    if written.written == 0 {
        eprintln!("ktrail: no audit event matched");
        return Ok(exit::PROBLEM);
    }
    Ok(exit::OK)
}
