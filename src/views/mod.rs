//! Cluster-wide views over the same report the timeline uses: what each admission webhook did to
//! pods and who installed it (`ktrail webhooks`), and every pod incarnation on one line with its
//! scheduling and readiness latencies (`ktrail pods`).
//!
//! Both views read through [`crate::load`], so every source the timeline reads (files, samples,
//! CloudWatch) works here too. The functions named `*_cmd` are the command glue, at the same level
//! as the timeline's in `lib.rs`; everything else renders into any `io::Write`.

pub mod csv;
pub mod pods;
pub mod webhooks;

use std::io::{self, Write};

use anyhow::{Context, Result};

use crate::cli::{PodsArgs, WebhooksArgs};
use crate::exit;
use crate::render::Style;

/// The formats of `ktrail webhooks`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ViewFormat {
    Table,
    Json,
    Markdown,
}

/// The formats of `ktrail pods`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PodsFormat {
    Table,
    Json,
    Markdown,
    Csv,
}

/// The orders of `ktrail pods --sort`. Latencies sort slowest first, pods without the latency last.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PodSort {
    /// Slowest to schedule first.
    CreatedToBound,
    /// Slowest to start once bound first.
    BoundToReady,
    /// Slowest to become Ready first.
    CreatedToReady,
    /// Oldest first.
    Created,
}

/// `ktrail webhooks`.
pub fn webhooks_cmd(args: WebhooksArgs) -> Result<u8> {
    let sel = args.pod.selection()?;
    let report = crate::load(&args.input, sel)?;
    let view = webhooks::build(&report);
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    webhooks::render(&view, args.output, Style::detect(), &mut out)
        .and_then(|_| out.flush())
        .context("writing the webhook report")?;
    if view.webhooks.is_empty() {
        eprintln!("ktrail: no webhook call or webhook configuration found");
        return Ok(exit::PROBLEM);
    }
    Ok(exit::OK)
}

/// `ktrail pods`.
pub fn pods_cmd(args: PodsArgs) -> Result<u8> {
    let sel = args.pod.selection()?;
    let report = crate::load(&args.input, sel)?;
    let view = pods::build(&report, args.sort);
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    pods::render(&view, args.output, Style::detect(), &mut out)
        .and_then(|_| out.flush())
        .context("writing the pod list")?;
    if view.rows.is_empty() {
        eprintln!("ktrail: no pod matched");
        return Ok(exit::PROBLEM);
    }
    Ok(exit::OK)
}

/// A duration in seconds the way the timeline writes offsets, without the `+`: `58.705s`,
/// `1m05.713s`.
pub fn duration(secs: f64) -> String {
    let s = crate::render::offset(secs);
    match s.strip_prefix('+') {
        Some(rest) => rest.to_owned(),
        None => s,
    }
}

/// An optional duration, `-` when unknown.
pub fn opt_duration(secs: Option<f64>) -> String {
    secs.map(duration).unwrap_or_else(|| "-".into())
}

/// Shows at most `max` items, then `+N more`.
pub fn first_few(items: &[String], max: usize, sep: &str) -> String {
    let mut s = items
        .iter()
        .take(max)
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(sep);
    if items.len() > max {
        s.push_str(&format!("{sep}+{} more", items.len() - max));
    }
    s
}

/// A comfy-table set up like the timeline's: borderless, wrapped to the terminal or left whole.
pub fn plain_table(style: Style) -> comfy_table::Table {
    let mut t = comfy_table::Table::new();
    t.load_preset(comfy_table::presets::NOTHING);
    match style.width {
        Some(width) => {
            t.set_content_arrangement(comfy_table::ContentArrangement::Dynamic);
            t.set_width(width);
        }
        None => {
            t.set_content_arrangement(comfy_table::ContentArrangement::Disabled);
        }
    }
    t
}

/// Writes a table with trailing spaces removed from every line.
pub fn write_table(t: &comfy_table::Table, w: &mut dyn Write) -> io::Result<()> {
    for line in t.to_string().lines() {
        writeln!(w, "{}", line.trim_end())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_drop_the_sign() {
        assert_eq!(duration(58.705), "58.705s");
        assert_eq!(duration(65.7126), "1m05.713s");
        assert_eq!(duration(-1.5), "-1.500s");
        assert_eq!(opt_duration(None), "-");
    }

    #[test]
    fn few_items_are_counted() {
        let v: Vec<String> = ["a", "b", "c"].iter().map(|s| s.to_string()).collect();
        assert_eq!(first_few(&v, 2, ", "), "a, b, +1 more");
        assert_eq!(first_few(&v, 3, ", "), "a, b, c");
    }
}
