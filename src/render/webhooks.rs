//! `ktrail webhooks` rendered: one row per webhook with its calls, pods, paths and installs (table,
//! Markdown), or the view itself (JSON).

use std::io::{self, Write};

use ktrail_core::escape::{escape, markdown_cell};
use ktrail_core::text::{first_few, short_agent};
use ktrail_core::views::webhooks::{display_name, WebhookReport, WebhookRow};

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

fn table(view: &WebhookReport, style: Style, w: &mut dyn Write) -> io::Result<()> {
    let mut t = plain_table(style);
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
        t.add_row(vec![
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
        ]);
    }
    write_table(&t, w)
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
