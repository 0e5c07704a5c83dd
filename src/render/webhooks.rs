//! `ktrail webhooks` rendered: one row per webhook with its calls, pods, paths and installs (table,
//! Markdown), or the view itself (JSON).

use std::io::{self, Write};

use ktrail_core::escape::{escape, markdown_cell};
use ktrail_core::text::{first_few, short_agent};
use ktrail_core::views::webhooks::{display_name, WebhookReport, WebhookRow};

use super::fit::{self, Column};
use super::{cell, plain_table, write_table, Style, ViewFormat};
use crate::render;

/// At most this many paths, namespaces or installs in one table cell.
const CELL_ITEMS: usize = 8;

fn path_list(r: &WebhookRow) -> Vec<String> {
    // Most-patched first, then by path.
    let mut v: Vec<(&String, &u64)> = r.paths.iter().collect();
    v.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    v.into_iter().map(|(p, n)| format!("{p} ({n})")).collect()
}

fn install_list(r: &WebhookRow) -> Vec<String> {
    r.installed
        .iter()
        .map(|i| {
            let ua = i.user_agent.as_deref().map(short_agent).unwrap_or("");
            let ua = if ua.is_empty() {
                String::new()
            } else {
                format!(" [{ua}]")
            };
            format!("{} by {}{ua} at {}", i.verb, i.user, i.time)
        })
        .collect()
}

fn rounds(r: &WebhookRow) -> String {
    r.rounds
        .iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

fn seen(r: &WebhookRow) -> String {
    match (&r.first_seen, &r.last_seen) {
        (Some(f), Some(l)) if f == l => f.clone(),
        (Some(f), Some(l)) => format!("{f} .. {l}"),
        _ => "-".into(),
    }
}

/// The report in the format asked for.
pub fn render(
    view: &WebhookReport,
    format: ViewFormat,
    style: Style,
    w: &mut dyn Write,
) -> io::Result<()> {
    match format {
        ViewFormat::Json => render::json(view, w),
        ViewFormat::Table => table(view, style, w),
        ViewFormat::Markdown => markdown(view, w),
    }
}

/// The webhook report's columns on a terminal, by how much a reader needs them when the width runs
/// short; `--wide` shows them all.
const COLUMNS: [Column; 10] = [
    Column {
        header: "WEBHOOK",
        rank: 0,
        cap: 44,
    },
    Column {
        header: "TYPE",
        rank: 5,
        cap: 10,
    },
    Column {
        header: "CALLS",
        rank: 1,
        cap: 7,
    },
    Column {
        header: "MUTATED PODS",
        rank: 2,
        cap: 12,
    },
    Column {
        header: "FAILED OPEN",
        rank: 3,
        cap: 11,
    },
    Column {
        header: "ROUNDS",
        rank: 8,
        cap: 8,
    },
    Column {
        header: "NAMESPACES",
        rank: 7,
        cap: 24,
    },
    Column {
        header: "PATHS (PODS)",
        rank: 4,
        cap: 40,
    },
    Column {
        header: "INSTALLED",
        rank: 6,
        cap: 48,
    },
    Column {
        header: "SEEN",
        rank: 9,
        cap: 56,
    },
];

fn table(view: &WebhookReport, style: Style, w: &mut dyn Write) -> io::Result<()> {
    if let Some(width) = style.width {
        let rows: Vec<Vec<String>> = view.webhooks.iter().map(row).collect();
        return fit::table(&COLUMNS, &rows, usize::from(width), style.wide, w);
    }
    let mut t = plain_table();
    t.set_header(vec![
        "WEBHOOK",
        "TYPE",
        "CALLS",
        "MUTATED PODS",
        "FAILED OPEN",
        "ROUNDS",
        "NAMESPACES",
        "PATHS (PODS)",
        "INSTALLED",
        "SEEN",
    ]);
    for r in &view.webhooks {
        t.add_row(row(r));
    }
    write_table(&t, w)
}

/// One row's cells, escaped; a cell of several items holds one per line.
fn row(r: &WebhookRow) -> Vec<String> {
    vec![
        cell(escape(&display_name(r)).into_owned()),
        r.kind.to_owned(),
        r.calls.to_string(),
        r.mutated_pods.to_string(),
        r.failed_open.to_string(),
        rounds(r),
        cell(lines(&r.namespaces)),
        cell(lines(&path_list(r))),
        cell(lines(&install_list(r))),
        cell(seen(r)),
    ]
}

/// Items as lines of one table cell. Each item is escaped first, so the only line breaks in the
/// cell are the ones put here between items.
fn lines(items: &[String]) -> String {
    let escaped: Vec<String> = items.iter().map(|s| escape(s).into_owned()).collect();
    first_few(&escaped, CELL_ITEMS, "\n")
}

fn md_list(items: &[String]) -> String {
    let cells: Vec<String> = items.iter().map(|s| markdown_cell(s)).collect();
    first_few(&cells, CELL_ITEMS, "<br>")
}

fn markdown(view: &WebhookReport, w: &mut dyn Write) -> io::Result<()> {
    writeln!(
        w,
        "| webhook | type | calls | mutated pods | failed open | rounds | namespaces | paths (pods) | installed | seen |"
    )?;
    writeln!(w, "|---|---|---:|---:|---:|---|---|---|---|---|")?;
    for r in &view.webhooks {
        writeln!(
            w,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            markdown_cell(&display_name(r)),
            r.kind,
            r.calls,
            r.mutated_pods,
            r.failed_open,
            rounds(r),
            md_list(&r.namespaces),
            md_list(&path_list(r)),
            md_list(&install_list(r)),
            markdown_cell(&seen(r)),
        )?;
    }
    Ok(())
}
