//! `ktrail webhooks`: what each admission webhook did to pods, and who installed it.

use std::io::{self, Write};

use anyhow::{Context, Result};

use ktrail_core::views::webhooks;

use super::{exit, load};
use crate::options::Webhooks;
use crate::render;

pub fn run(args: Webhooks) -> Result<u8> {
    let report = load(&args.inputs, args.selection)?;
    let view = webhooks::build(&report);
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    render::webhooks::render(&view, args.format, args.style, &mut out)
        .and_then(|_| out.flush())
        .context("writing the webhook report")?;
    if view.webhooks.is_empty() {
        eprintln!("ktrail: no webhook call or webhook configuration found");
        return Ok(exit::PROBLEM);
    }
    Ok(exit::OK)
}
