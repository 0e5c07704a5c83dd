//! `ktrail webhooks`: what each admission webhook did to pods, and who installed it.

use anyhow::Result;

use ktrail_core::views::webhooks;

use super::{load, print_view};
use crate::options::Webhooks;
use crate::render;

pub fn run(args: Webhooks) -> Result<u8> {
    let report = load(&args.inputs, args.selection)?;
    let view = webhooks::build(&report);
    let empty = view
        .webhooks
        .is_empty()
        .then_some("no webhook call or webhook configuration found");
    print_view("writing the webhook report", empty, |out| {
        render::webhooks::render(&view, args.format, args.style, out)
    })
}
