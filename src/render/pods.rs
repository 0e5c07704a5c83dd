//! `ktrail pods` rendered: one line per pod incarnation (table, Markdown, CSV) or the timeline's
//! pod objects without their events (JSON), then the latency percentiles per scheduler.

use std::io::{self, Write};

use serde_json::Value;
use unicode_width::UnicodeWidthStr;

use ktrail_core::audit::format_time;
use ktrail_core::escape::{escape, markdown_cell};
use ktrail_core::text::{first_few, opt_duration};
use ktrail_core::timeline::Pod;
use ktrail_core::views::pods::{end, mutated_by, Latency, Sample, SchedulerLatency, SortKey};

use super::fit::{self, Column};
use super::{cell, csv, plain_table, write_table, PodsFormat, Style};
use crate::render;

/// The pod's JSON object without its events, plus `mutatedBy`.
///
/// Built from the pod's own serialization so that a field added to the timeline's contract shows
/// up here too, without a second list of fields to keep in step.
fn pod_json(pod: &Pod) -> Result<Value, serde_json::Error> {
    let mut v = serde_json::to_value(pod)?;
    if let Value::Object(m) = &mut v {
        m.remove("events");
        m.insert(
            "mutatedBy".into(),
            Value::Array(mutated_by(pod).into_iter().map(Value::String).collect()),
        );
    }
    Ok(v)
}

/// One pod's row in a format, rendered on any thread while the stories are derived.
pub enum Row {
    /// The row's bytes as they are written (JSON, CSV, Markdown).
    Text(Vec<u8>),
    /// The table's cells, escaped; a table is laid out once every row is known.
    Cells(Vec<String>),
}

/// The pod's row in `format`.
pub fn row(pod: &Pod, format: PodsFormat) -> io::Result<Row> {
    let mut out = Vec::new();
    match format {
        // An element of the view's `pods` array: two levels deep.
        PodsFormat::Json => render::json_at(&pod_json(pod)?, 2, &mut out)?,
        PodsFormat::Csv => csv_row(pod, &mut out)?,
        PodsFormat::Markdown => {
            let cells: Vec<String> = cells(pod).iter().map(|c| markdown_cell(c)).collect();
            writeln!(out, "| {} |", cells.join(" | "))?;
        }
        PodsFormat::Table => {
            return Ok(Row::Cells(
                cells(pod)
                    .iter()
                    .map(|c| cell(escape(c).into_owned()))
                    .collect(),
            ))
        }
    }
    Ok(Row::Text(out))
}

/// Writes the view row by row, as the stories are derived: rows go out as they come, unless they
/// must be ordered (`--sort`) or laid out together (a table); then only the rows are kept, never
/// the stories. The latency summary comes last.
pub struct Writer<'w> {
    format: PodsFormat,
    style: Style,
    sorted: bool,
    w: &'w mut dyn Write,
    kept: Vec<(Option<SortKey>, Row)>,
    latency: Latency,
    rows: usize,
    /// Rows written so far (a JSON row after the first takes a comma).
    emitted: usize,
}

impl<'w> Writer<'w> {
    pub fn new(
        format: PodsFormat,
        style: Style,
        sorted: bool,
        w: &'w mut dyn Write,
    ) -> io::Result<Writer<'w>> {
        match format {
            PodsFormat::Json => w.write_all(b"{\n  \"pods\": [")?,
            PodsFormat::Csv => {
                let header: Vec<String> = CSV_HEADER.iter().map(|h| csv::plain(h)).collect();
                csv::row(&header, w)?;
            }
            PodsFormat::Markdown => {
                writeln!(w, "| {} |", HEADER.join(" | ").to_lowercase())?;
                writeln!(w, "|{}", "---|".repeat(HEADER.len()))?;
            }
            PodsFormat::Table => {}
        }
        Ok(Writer {
            format,
            style,
            sorted,
            w,
            kept: Vec::new(),
            latency: Latency::default(),
            rows: 0,
            emitted: 0,
        })
    }

    /// One pod: its row, its place in `--sort`'s order, and what the latency summary needs.
    pub fn push(&mut self, key: Option<SortKey>, row: Row, sample: Sample) -> io::Result<()> {
        self.latency.add(sample);
        self.rows += 1;
        if self.sorted || matches!(row, Row::Cells(_)) {
            self.kept.push((key, row));
            return Ok(());
        }
        self.emit(&row)
    }

    fn emit(&mut self, row: &Row) -> io::Result<()> {
        if let Row::Text(bytes) = row {
            if self.format == PodsFormat::Json {
                self.w.write_all(if self.emitted > 0 {
                    b",\n    "
                } else {
                    b"\n    "
                })?;
            }
            self.w.write_all(bytes)?;
            self.emitted += 1;
        }
        Ok(())
    }

    /// The rows kept, in order, and the latency summary. Returns how many rows there were.
    pub fn finish(mut self) -> io::Result<usize> {
        let mut kept = std::mem::take(&mut self.kept);
        if self.sorted {
            // Stable: ties keep the stories' (namespace, name, creation) order.
            kept.sort_by(|a, b| match (&a.0, &b.0) {
                (Some(x), Some(y)) => x.compare(y),
                _ => std::cmp::Ordering::Equal,
            });
        }
        let latency = std::mem::take(&mut self.latency).finish();
        let total = self.rows;
        if self.format == PodsFormat::Table {
            let rows: Vec<Vec<String>> = kept
                .into_iter()
                .filter_map(|(_, r)| match r {
                    Row::Cells(c) => Some(c),
                    Row::Text(_) => None,
                })
                .collect();
            table(&rows, &latency, self.style, self.w)?;
            return Ok(total);
        }
        for (_, row) in &kept {
            self.emit(row)?;
        }
        match self.format {
            PodsFormat::Json => {
                self.w.write_all(if total > 0 {
                    b"\n  ],\n  \"latency\": "
                } else {
                    b"],\n  \"latency\": "
                })?;
                let mut out = Vec::new();
                render::json_at(&latency, 1, &mut out)?;
                self.w.write_all(&out)?;
                self.w.write_all(b"\n}\n")?;
            }
            PodsFormat::Markdown => markdown_latency(&latency, self.w)?,
            PodsFormat::Csv | PodsFormat::Table => {}
        }
        Ok(total)
    }
}

fn opt(s: &Option<String>) -> &str {
    s.as_deref().unwrap_or("-")
}

fn created(pod: &Pod) -> String {
    match &pod.created_at {
        Some(at) => at.clone(),
        None if pod.denied => pod
            .times
            .first
            .as_ref()
            .map(format_time)
            .unwrap_or_default(),
        None => "before the log".into(),
    }
}

/// The cells every human format shows, unescaped.
fn cells(pod: &Pod) -> [String; 10] {
    [
        format!("{}/{}", pod.namespace, pod.name),
        opt(&pod.uid).to_owned(),
        created(pod),
        opt(&pod.created_by).to_owned(),
        opt(&pod.scheduler).to_owned(),
        opt(&pod.node).to_owned(),
        opt_duration(pod.latencies.created_to_bound),
        opt_duration(pod.latencies.bound_to_ready),
        first_few(&mutated_by(pod), 4, ", "),
        end(pod),
    ]
}

const HEADER: [&str; 10] = [
    "POD",
    "UID",
    "CREATED",
    "CREATED BY",
    "SCHEDULER",
    "NODE",
    "CREATED→BOUND",
    "BOUND→READY",
    "MUTATED BY",
    "END",
];

const LATENCY_HEADER: [&str; 12] = [
    "SCHEDULER",
    "PODS",
    "BOUND n",
    "BOUND p50",
    "p90",
    "p99",
    "max",
    "READY n",
    "READY p50",
    "p90",
    "p99",
    "max",
];

fn latency_cells(l: &SchedulerLatency) -> Vec<String> {
    let b = &l.created_to_bound;
    let r = &l.created_to_ready;
    vec![
        l.scheduler.clone().unwrap_or_else(|| "(unknown)".into()),
        l.pods.to_string(),
        b.count.to_string(),
        opt_duration(b.p50),
        opt_duration(b.p90),
        opt_duration(b.p99),
        opt_duration(b.max),
        r.count.to_string(),
        opt_duration(r.p50),
        opt_duration(r.p90),
        opt_duration(r.p99),
        opt_duration(r.max),
    ]
}

/// The pod list's columns on a terminal, by how much a reader needs them when the width runs short:
/// the pod and how it ended first, then scheduling and who changed it; `--wide` shows them all.
const COLUMNS: [Column; 10] = [
    Column {
        header: "POD",
        rank: 0,
        cap: 48,
    },
    Column {
        header: "UID",
        rank: 9,
        cap: 36,
    },
    Column {
        header: "CREATED",
        rank: 8,
        cap: 27,
    },
    Column {
        header: "CREATED BY",
        rank: 7,
        cap: 24,
    },
    Column {
        header: "SCHEDULER",
        rank: 2,
        cap: 20,
    },
    Column {
        header: "NODE",
        rank: 6,
        cap: 32,
    },
    Column {
        header: "CREATED→BOUND",
        rank: 3,
        cap: 13,
    },
    Column {
        header: "BOUND→READY",
        rank: 5,
        cap: 11,
    },
    Column {
        header: "MUTATED BY",
        rank: 4,
        cap: 32,
    },
    Column {
        header: "END",
        rank: 1,
        cap: 32,
    },
];

/// The latency table's columns on a terminal, each header whole (a column may be left out).
const LATENCY_COLUMNS: [Column; 12] = [
    Column {
        header: "SCHEDULER",
        rank: 0,
        cap: 24,
    },
    Column {
        header: "PODS",
        rank: 1,
        cap: 6,
    },
    Column {
        header: "BOUND n",
        rank: 8,
        cap: 8,
    },
    Column {
        header: "BOUND p50",
        rank: 2,
        cap: 10,
    },
    Column {
        header: "BOUND p90",
        rank: 4,
        cap: 10,
    },
    Column {
        header: "BOUND p99",
        rank: 10,
        cap: 10,
    },
    Column {
        header: "BOUND max",
        rank: 6,
        cap: 10,
    },
    Column {
        header: "READY n",
        rank: 9,
        cap: 8,
    },
    Column {
        header: "READY p50",
        rank: 3,
        cap: 10,
    },
    Column {
        header: "READY p90",
        rank: 5,
        cap: 10,
    },
    Column {
        header: "READY p99",
        rank: 11,
        cap: 10,
    },
    Column {
        header: "READY max",
        rank: 7,
        cap: 10,
    },
];

fn table(
    rows: &[Vec<String>],
    latency: &[SchedulerLatency],
    style: Style,
    w: &mut dyn Write,
) -> io::Result<()> {
    if let Some(width) = style.width {
        fit::table(&COLUMNS, rows, usize::from(width), style.wide, w)?;
        if !latency.is_empty() {
            writeln!(
                w,
                "\n{}",
                style.bold("Latency from creation, per scheduler")
            )?;
            let rows: Vec<Vec<String>> = latency
                .iter()
                .map(|l| {
                    latency_cells(l)
                        .iter()
                        .map(|c| escape(c).into_owned())
                        .collect()
                })
                .collect();
            fit::table(&LATENCY_COLUMNS, &rows, usize::from(width), style.wide, w)?;
        }
        return Ok(());
    }
    plain_rows(&HEADER, rows, w)?;
    if !latency.is_empty() {
        writeln!(
            w,
            "\n{}",
            style.bold("Latency from creation, per scheduler")
        )?;
        let mut t = plain_table();
        t.set_header(LATENCY_HEADER.to_vec());
        for l in latency {
            t.add_row(
                latency_cells(l)
                    .iter()
                    .map(|c| cell(escape(c).into_owned()))
                    .collect::<Vec<_>>(),
            );
        }
        write_table(&t, w)?;
    }
    Ok(())
}

/// Rows of a plain table laid out a chunk at a time: the table's layout holds several copies of
/// every cell, which for a day of a busy cluster is far more than the rows themselves. Each chunk
/// gets a first row as wide as the widest cell of each column, so every chunk has the columns of
/// the whole table; that row is not printed, nor the header after the first chunk.
fn plain_rows(header: &[&str], rows: &[Vec<String>], w: &mut dyn Write) -> io::Result<()> {
    const CHUNK: usize = 1024;
    if rows.is_empty() {
        let mut t = plain_table();
        t.set_header(header.to_vec());
        return write_table(&t, w);
    }
    let widest = |c: usize| {
        rows.iter()
            .flat_map(|r| r[c].split('\n'))
            .map(UnicodeWidthStr::width)
            .max()
            .unwrap_or(0)
    };
    let filler: Vec<String> = (0..header.len()).map(|c| "x".repeat(widest(c))).collect();
    for (k, chunk) in rows.chunks(CHUNK).enumerate() {
        let mut t = plain_table();
        t.set_header(header.to_vec());
        t.add_row(filler.clone());
        for r in chunk {
            t.add_row(r.clone());
        }
        for (i, line) in t.to_string().lines().enumerate() {
            if i == 1 || (i == 0 && k > 0) {
                continue;
            }
            writeln!(w, "{}", line.trim_end())?;
        }
    }
    Ok(())
}

fn markdown_latency(latency: &[SchedulerLatency], w: &mut dyn Write) -> io::Result<()> {
    if !latency.is_empty() {
        writeln!(w, "\n**Latency from creation, per scheduler**\n")?;
        writeln!(w, "| {} |", LATENCY_HEADER.join(" | "))?;
        writeln!(w, "|---|{}", "---:|".repeat(LATENCY_HEADER.len() - 1))?;
        for l in latency {
            let cells: Vec<String> = latency_cells(l).iter().map(|c| markdown_cell(c)).collect();
            writeln!(w, "| {} |", cells.join(" | "))?;
        }
    }
    Ok(())
}

const CSV_HEADER: [&str; 20] = [
    "namespace",
    "name",
    "uid",
    "denied",
    "deniedBy",
    "createdAt",
    "createdBy",
    "scheduler",
    "node",
    "boundAt",
    "boundBy",
    "readyAt",
    "createdToBound",
    "boundToReady",
    "createdToReady",
    "mutatedBy",
    "phase",
    "deletedAt",
    "deletedBy",
    "deletedVia",
];

/// One CSV line; no summary follows the rows: CSV is for spreadsheets and scripts, which
/// compute their own.
fn csv_row(p: &Pod, w: &mut dyn Write) -> io::Result<()> {
    let text = |s: &Option<String>| s.as_deref().map(csv::text).unwrap_or_default();
    let num = |v: Option<f64>| v.map(|v| csv::plain(&v.to_string())).unwrap_or_default();
    let l = &p.latencies;
    csv::row(
        &[
            csv::text(&p.namespace),
            csv::text(&p.name),
            text(&p.uid),
            csv::plain(if p.denied { "true" } else { "false" }),
            text(&p.denied_by),
            text(&p.created_at),
            text(&p.created_by),
            text(&p.scheduler),
            text(&p.node),
            text(&p.bound_at),
            text(&p.bound_by),
            text(&p.ready_at),
            num(l.created_to_bound),
            num(l.bound_to_ready),
            num(l.created_to_ready),
            csv::text(&mutated_by(p).join("; ")),
            text(&p.phase),
            text(&p.deleted_at),
            text(&p.deleted_by),
            p.deleted_via
                .as_ref()
                .map(|k| csv::text(k.as_str()))
                .unwrap_or_default(),
        ],
        w,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_table_laid_out_in_chunks_is_the_table_laid_out_whole() {
        let header = ["A", "B", "WIDE HEADER"];
        for n in [0, 1, 1023, 1024, 1025, 3000] {
            // Widths that peak in a late chunk; wide characters; a cell of two lines.
            let rows: Vec<Vec<String>> = (0..n)
                .map(|i| {
                    vec![
                        "x".repeat(i % 37 + usize::from(i == n - 1) * 40),
                        if i % 500 == 7 {
                            "漢字\nz".into()
                        } else {
                            i.to_string()
                        },
                        "-".into(),
                    ]
                })
                .collect();
            let mut whole = plain_table();
            whole.set_header(header.to_vec());
            for r in &rows {
                whole.add_row(r.clone());
            }
            let (mut a, mut b) = (Vec::new(), Vec::new());
            write_table(&whole, &mut a).unwrap();
            plain_rows(&header, &rows, &mut b).unwrap();
            assert!(a == b, "{n} rows");
        }
    }
}
