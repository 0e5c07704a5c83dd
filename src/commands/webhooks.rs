//! `ktrail webhooks`: what each admission webhook did to pods, and who installed it.

use std::io::{self, Write};

use anyhow::{Context, Result};

use ktrail_core::views::webhooks;

use super::{exit, load, nomatch};
use crate::options::Webhooks;
use crate::render::{self, Style};

pub fn run(args: Webhooks) -> Result<u8> {
    let sel = &args.selection;
    let narrowed = sel.namespace.is_some()
        || sel.name.is_some()
        || sel.uid.is_some()
        || sel.since.is_some()
        || sel.until.is_some();
    let mut report = load(&args.inputs, sel.clone())?;
    // Asked about some pods and none matched: rows of the configurations' webhooks, each with no
    // call, would read as an answer.
    let matched_none = narrowed && report.pods.is_empty();
    if matched_none {
        report.configs.clear();
    }
    let view = webhooks::build(&report);
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    render::webhooks::render(&view, args.format, Style::detect(), &mut out)
        .and_then(|_| out.flush())
        .context("writing the webhook report")?;
    if matched_none {
        return nomatch::explain(&args.inputs, sel);
    }
    if view.webhooks.is_empty() {
        eprintln!("ktrail: no webhook call or webhook configuration found");
        return Ok(exit::PROBLEM);
    }
    Ok(exit::OK)
}
