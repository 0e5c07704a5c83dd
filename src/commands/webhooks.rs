//! `ktrail webhooks`: what each admission webhook did to pods, and who installed it.
//!
//! Each story is counted into the rows as it is derived (on every core), so the command holds the
//! records and the counts, never every story.

use anyhow::Result;

use ktrail_core::views::webhooks::Builder;

use super::{load_pending, nomatch, print_view};
use crate::options::Webhooks;
use crate::render;

pub fn run(args: Webhooks) -> Result<u8> {
    let sel = &args.selection;
    let narrowed = sel.namespace.is_some()
        || sel.name.is_some()
        || sel.uid.is_some()
        || sel.since.is_some()
        || sel.until.is_some();
    let pending = load_pending(&args.inputs, sel.clone())?;
    let mut rows = Builder::default();
    let mut pods = 0usize;
    pending.stream(
        |group| (Builder::of(&group), group.len()),
        |(b, n): (Builder, usize)| -> std::io::Result<()> {
            rows.append(b);
            pods += n;
            Ok(())
        },
    )?;
    // Asked about some pods and none matched: rows of the configurations' webhooks, each with no
    // call, would read as an answer.
    let matched_none = narrowed && pods == 0;
    let configs = if matched_none {
        &[][..]
    } else {
        &pending.configs
    };
    let view = rows.finish(configs);
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
