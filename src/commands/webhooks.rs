//! `ktrail webhooks`: what each admission webhook did to pods, and who installed it.

use anyhow::Result;

use ktrail_core::views::webhooks;

use super::{load, print_view};
use crate::cli::WebhooksArgs;
use crate::render::{self, Style};

pub fn run(args: WebhooksArgs) -> Result<u8> {
    let sel = args.pod.selection()?;
    let report = load(&args.input, sel)?;
    let view = webhooks::build(&report);
    let empty = view
        .webhooks
        .is_empty()
        .then_some("no webhook call or webhook configuration found");
    print_view("writing the webhook report", empty, |out| {
        render::webhooks::render(&view, args.output, Style::detect(), out)
    })
}
