//! `ktrail samples`: the recorded stories built into the binary.

use std::io::{self, Write};

use anyhow::Result;

use ktrail_core::samples::SAMPLES;

use super::exit;

pub fn run() -> Result<u8> {
    let mut out = io::stdout().lock();
    for s in SAMPLES {
        writeln!(out, "{:<24} {}", s.name, s.about)?;
    }
    Ok(exit::OK)
}
