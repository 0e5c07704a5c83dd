//! `ktrail redact`: a copy of an audit log with what must not leave a company masked.

use std::io;

use anyhow::Result;

use ktrail_core::redact;

use super::exit;
use crate::options::Redact;

pub fn run(args: &Redact) -> Result<u8> {
    let sum = redact::run(&args.input, args.output.as_deref(), &mut io::stderr())?;
    if sum.dropped > 0 {
        eprintln!("ktrail: dropped {} of {} lines", sum.dropped, sum.lines);
    }
    Ok(exit::OK)
}
