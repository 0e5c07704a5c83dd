//! `ktrail check`: hold the pod stories of a recording to a rules file, as a CI gate.
//!
//! Teams record audit logs of their workloads and want the build to fail when a webhook starts
//! mutating what it should not, a pod stops landing where it should, or scheduling gets slow. The
//! rules are read and validated first (a broken rules file is exit 2 before any log is read), the
//! recording goes through the same engine as `timeline`, and every rule is evaluated over every
//! pod incarnation (`eval`). Exit codes: 0 every rule holds, 1 a rule is broken (or, with
//! `--require-match`, matches no pod), 2 usage error, unreadable input or malformed rules.

pub mod eval;
pub mod render;
pub mod rules;

use std::io::{self, Write};
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use chrono::{DateTime, Utc};
use clap::Args;

use crate::cli::{parse_when, InputArgs, UsageError};
use crate::record::Selection;
use crate::{exit, sanitize};

pub use eval::{evaluate, CheckReport};
pub use render::Format;
pub use rules::{Rule, Rules, RulesError};

#[cfg(test)]
mod tests;

/// `ktrail check` arguments.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The rules file (YAML): which pods must show what, and must not show what.
    #[arg(long, value_name = "FILE")]
    pub rules: PathBuf,
    #[command(flatten)]
    pub input: InputArgs,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = Format::Table)]
    pub output: Format,
    /// A rule that matches no pod fails the check (exit 1) instead of only warning.
    #[arg(long)]
    pub require_match: bool,
    /// Only events at or after this time: RFC 3339 (2022-09-20T20:00:00Z) or a duration ago (2h,
    /// 30m, 1d). With CloudWatch Logs the window is the last hour unless given.
    #[arg(long, value_parser = parse_when)]
    pub since: Option<DateTime<Utc>>,
    /// Only events at or before this time: RFC 3339 or a duration ago.
    #[arg(long, value_parser = parse_when)]
    pub until: Option<DateTime<Utc>>,
}

/// Runs `ktrail check` and returns the exit code.
pub fn run(args: CheckArgs) -> Result<u8> {
    if let (Some(s), Some(u)) = (args.since, args.until) {
        if s > u {
            bail!(UsageError("--since is after --until".into()));
        }
    }
    let rules = rules::load(&args.rules)?;
    // Every pod is read: rules select pods by glob after the stories are built.
    let sel = Selection {
        since: args.since,
        until: args.until,
        ..Selection::default()
    };
    let report = crate::load(&args.input, sel)?;
    let verdict = evaluate(&rules, &report, args.require_match);
    for r in verdict
        .rules
        .iter()
        .filter(|r| r.status == eval::Status::Unmatched)
    {
        let level = if args.require_match {
            "error"
        } else {
            "warning"
        };
        eprintln!(
            "ktrail: {level}: rule \"{}\" matched no pod",
            sanitize::escape(&r.name)
        );
    }
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    render::render(
        &verdict,
        args.output,
        crate::render::Style::detect(),
        &mut out,
    )
    .and_then(|_| out.flush())
    .context("writing the check report")?;
    Ok(if verdict.passed {
        exit::OK
    } else {
        exit::PROBLEM
    })
}
