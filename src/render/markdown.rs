//! The story as Markdown, fit for a pull-request comment: every cell escaped.

use std::io::{self, Write};

use ktrail_core::escape::markdown_cell as cell;
use ktrail_core::text::short_agent;
use ktrail_core::timeline::{Pod, Report};

pub fn timeline(report: &Report, w: &mut dyn Write) -> io::Result<()> {
    for pod in &report.pods {
        pod_story(pod, w)?;
    }
    Ok(())
}

/// One pod's section: facts, webhook calls, events.
pub fn pod_story(pod: &Pod, w: &mut dyn Write) -> io::Result<()> {
    {
        writeln!(w, "### {}/{}\n", cell(&pod.namespace), cell(&pod.name))?;
        writeln!(w, "| fact | value |\n|---|---|")?;
        let facts: [(&str, &Option<String>); 12] = [
            ("uid", &pod.uid),
            ("created", &pod.created_at),
            ("created by", &pod.created_by),
            ("scheduler", &pod.scheduler),
            ("node", &pod.node),
            ("bound", &pod.bound_at),
            ("bound by", &pod.bound_by),
            ("ready", &pod.ready_at),
            ("phase", &pod.phase),
            ("deleted", &pod.deleted_at),
            ("deleted by", &pod.deleted_by),
            ("denied by", &pod.denied_by),
        ];
        for (k, v) in facts {
            if let Some(v) = v {
                writeln!(w, "| {k} | {} |", cell(v))?;
            }
        }
        // Only when a cloud's export told the story, so that a plain file's report is unchanged.
        let clouds = pod.clouds();
        if !clouds.is_empty() {
            writeln!(w, "| cloud | {} |", clouds.join(", "))?;
        }
        if pod.denied {
            writeln!(
                w,
                "| denied | {} |",
                cell(pod.message.as_deref().unwrap_or(""))
            )?;
        }
        if !pod.webhooks.is_empty() {
            writeln!(
                w,
                "\n| webhook | type | round | index | mutated | failed open | paths |"
            )?;
            writeln!(w, "|---|---|---|---|---|---|---|")?;
            for c in &pod.webhooks {
                let mutated = match (c.mutated, c.fields_unknown()) {
                    (Some(true), true) => "yes (fields not logged)",
                    (Some(true), false) => "yes",
                    (Some(false), _) => "no",
                    (None, _) => "",
                };
                writeln!(
                    w,
                    "| {} | {} | {} | {} | {} | {} | {} |",
                    cell(c.name()),
                    c.kind,
                    c.round,
                    c.index,
                    mutated,
                    if c.failed_open { "yes" } else { "" },
                    cell(&c.paths.as_deref().unwrap_or_default().join(", "))
                )?;
            }
        }
        if !pod.builtin_changes.is_empty() {
            writeln!(
                w,
                "\nBuilt-in admission changed: {}",
                cell(&pod.builtin_changes.join(", "))
            )?;
        }
        writeln!(w, "\n| time | offset | actor | what |\n|---|---|---|---|")?;
        for (ev, off) in super::with_offsets(pod) {
            let ua = ev.user_agent.as_deref().map(short_agent).unwrap_or("");
            let actor = if ua.is_empty() {
                ev.user.clone()
            } else {
                format!("{} ({ua})", ev.user)
            };
            writeln!(
                w,
                "| {} | {} | {} | {} |",
                cell(&ev.time),
                off,
                cell(&actor),
                cell(&ev.summary)
            )?;
        }
        writeln!(w)?;
    }
    Ok(())
}
