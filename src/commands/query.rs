//! `ktrail query`: the CloudWatch Logs Insights query (or FilterLogEvents pattern) ktrail runs for
//! a selection, to paste into the console.

use std::io::{self, Write};

use anyhow::{Context, Result};

use ktrail_cloudwatch::{build_created_query, build_filter_pattern, build_query, Api};

use super::cloudwatch::{selection, source};
use super::exit;
use crate::options::Query;

/// `query`: the Logs Insights query (or FilterLogEvents pattern) for the selection.
pub fn run(args: &Query) -> Result<u8> {
    let sel = &args.selection;
    let src = source(&args.cloudwatch, sel);
    let group = if args.cloudwatch.is_set() {
        Some(src.log_group_name()?)
    } else {
        None
    };
    let limit = args.cloudwatch.query_limit;
    let text = match (&args.created, src.engine) {
        (Some(name), _) => build_created_query(name, limit)?,
        (None, Api::Insights) => build_query(&selection(sel, false).without_configs(), limit)?,
        (None, Api::Filter) => {
            let mut p =
                build_filter_pattern(&selection(sel, false).without_configs())?.unwrap_or_default();
            p.push('\n');
            p
        }
    };
    let mut out = io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .context("writing the query")?;
    if let Some(g) = group {
        let what = match src.engine {
            Api::Insights => "in CloudWatch Logs Insights on log group",
            Api::Filter => "as the filter pattern of `aws logs filter-log-events` on log group",
        };
        eprintln!("ktrail: run it {what} {g}");
    }
    Ok(exit::OK)
}
