//! The human view: per pod a header with the facts, the webhook calls, then one row per event.

use std::io::{self, Write};

use comfy_table::{presets, ContentArrangement, Table};

use super::{cell, Style};
use ktrail_core::escape::escape;
use ktrail_core::text::{offset, short_agent};
use ktrail_core::timeline::{Pod, PodEvent, Report};

pub fn timeline(report: &Report, style: Style, w: &mut dyn Write) -> io::Result<()> {
    for (i, pod) in report.pods.iter().enumerate() {
        if i > 0 {
            writeln!(w)?;
        }
        pod_story(pod, style, w)?;
    }
    Ok(())
}

/// At most this many paths in a header line; JSON has them all.
const PATHS_SHOWN: usize = 8;

fn list(paths: &[String]) -> String {
    let mut s = paths
        .iter()
        .take(PATHS_SHOWN)
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(", ");
    if paths.len() > PATHS_SHOWN {
        s.push_str(&format!(", +{} more", paths.len() - PATHS_SHOWN));
    }
    s
}

fn opt(s: &Option<String>) -> String {
    escape(s.as_deref().unwrap_or("-")).into_owned()
}

/// The actor column: user, what they impersonated, and the program they used.
pub fn actor(ev: &PodEvent) -> String {
    let mut s = ev.user.clone();
    if let Some(by) = &ev.impersonated_by {
        s = format!("{s} (impersonated by {by})");
    }
    if let Some(ua) = ev
        .user_agent
        .as_deref()
        .map(short_agent)
        .filter(|a| !a.is_empty())
    {
        s = format!("{s} [{ua}]");
    }
    escape(&s).into_owned()
}

pub fn pod_story(pod: &Pod, style: Style, w: &mut dyn Write) -> io::Result<()> {
    let title = format!("{}/{}", pod.namespace, pod.name);
    writeln!(
        w,
        "{}  uid {}  node {}  scheduler {}",
        style.bold(&escape(&title)),
        opt(&pod.uid),
        opt(&pod.node),
        opt(&pod.scheduler)
    )?;
    if pod.denied {
        writeln!(
            w,
            "  DENIED by {}: {}",
            opt(&pod.denied_by),
            opt(&pod.message)
        )?;
    }
    let mut facts = vec![match (&pod.created_at, pod.denied) {
        (at, true) => format!("asked for {} by {}", opt(at), opt(&pod.created_by)),
        (Some(at), false) => format!("created {} by {}", escape(at), opt(&pod.created_by)),
        (None, false) => "created before the log begins".to_owned(),
    }];
    let l = &pod.latencies;
    if let (Some(s), Some(by)) = (l.created_to_bound, &pod.bound_by) {
        facts.push(format!("bound {} by {}", offset(s), escape(by)));
    } else if pod.bound_by.is_some() {
        facts.push(format!("bound by {}", opt(&pod.bound_by)));
    }
    if let Some(s) = l.created_to_ready {
        facts.push(format!("ready {}", offset(s)));
    } else if pod.ready_at.is_some() {
        facts.push(format!("ready at {}", opt(&pod.ready_at)));
    }
    if let Some(p) = &pod.phase {
        facts.push(format!("phase {}", escape(p)));
    }
    if let Some(at) = &pod.deleted_at {
        facts.push(format!(
            "{} {} by {}",
            if pod.deleted_via.as_deref() == Some("eviction") {
                "evicted"
            } else {
                "deleted"
            },
            escape(at),
            opt(&pod.deleted_by)
        ));
    }
    writeln!(w, "  {}", facts.join(" · "))?;
    for call in &pod.webhooks {
        let what = if call.failed_open {
            "FAILED OPEN".to_owned()
        } else if call.fields_unknown() {
            "mutated (fields not logged)".to_owned()
        } else {
            match call.mutated {
                Some(true) => format!(
                    "mutated {}",
                    list(call.paths.as_deref().unwrap_or_default())
                ),
                Some(false) => "not mutated".to_owned(),
                None => String::new(),
            }
        };
        let config = match (&call.configuration, &call.webhook) {
            (Some(c), Some(wh)) if c != wh => format!(" ({c})"),
            _ => String::new(),
        };
        writeln!(
            w,
            "  {} round {} index {}  {}{}  {}",
            style.dim(call.kind),
            call.round,
            call.index,
            escape(call.name()),
            escape(&config),
            escape(&what)
        )?;
    }
    if !pod.builtin_changes.is_empty() {
        writeln!(
            w,
            "  built-in admission: {}",
            escape(&list(&pod.builtin_changes))
        )?;
    }
    let mut t = Table::new();
    t.load_preset(presets::NOTHING);
    match style.width {
        Some(width) => {
            t.set_content_arrangement(ContentArrangement::Dynamic);
            t.set_width(width.saturating_sub(2));
        }
        None => {
            t.set_content_arrangement(ContentArrangement::Disabled);
        }
    }
    t.set_header(vec!["TIME", "OFFSET", "ACTOR", "WHAT"]);
    let base = pod.times.created.or(pod.times.first);
    for ev in &pod.events {
        let off = base
            .and_then(|b| (ev.at - b).num_microseconds())
            .map(|us| offset(us as f64 / 1e6))
            .unwrap_or_default();
        t.add_row(vec![
            cell(escape(&ev.time).into_owned()),
            off,
            cell(actor(ev)),
            cell(escape(&ev.summary).into_owned()),
        ]);
    }
    for line in t.to_string().lines() {
        writeln!(w, " {}", line.trim_end())?;
    }
    Ok(())
}
