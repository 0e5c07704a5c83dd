//! `ktrail webhooks`: what each admission webhook did to pods, and who installed it.

use anyhow::Result;

use ktrail_core::views::webhooks;

use super::{load, nomatch, print_view};
use crate::options::Webhooks;
use crate::render;

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
    // A narrowed question that matched nothing is answered by the no-match help, not by the
    // bare "nothing found".
    let empty = (!matched_none && view.webhooks.is_empty())
        .then_some("no webhook call or webhook configuration found");
    let code = print_view("writing the webhook report", empty, |out| {
        render::webhooks::render(&view, args.format, args.style, out)
    })?;
    if matched_none {
        return nomatch::explain(&args.inputs, sel);
    }
    Ok(code)
}
