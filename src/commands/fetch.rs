//! `ktrail fetch`: raw audit events from CloudWatch Logs to a file or standard output, for offline
//! analysis or a CI sample.

use anyhow::Result;

use ktrail_cloudwatch::FetchWriter;

use super::cloudwatch::{collect_events, print_stats, selection, source};
use super::exit;
use crate::options::Fetch;

/// `fetch`: raw audit events to a file or standard output.
pub fn run(args: &Fetch) -> Result<u8> {
    let sel = &args.selection;
    let src = source(&args.cloudwatch, sel);
    let cw = selection(sel, true);
    // Validate everything before the output file is created.
    src.validate()?;
    cw.validate()?;
    let mut writer = FetchWriter::create(&args.output)?;
    let stats = collect_events(&src, &cw, |e| {
        writer.write(e)?;
        Ok(())
    })?;
    let written = writer.finish()?;
    print_stats(&stats);
    let to = if args.output == "-" {
        "standard output".to_string()
    } else {
        args.output.clone()
    };
    eprintln!("ktrail: wrote {} audit events to {to}", written.written);
    if written.written == 0 {
        eprintln!("ktrail: no audit event matched");
        return Ok(exit::PROBLEM);
    }
    Ok(exit::OK)
}
