//! The human view: per pod a header with the facts, the webhook calls, then one row per event.

use std::io::{self, Write};

use comfy_table::{presets, ContentArrangement, Table};

use super::{cell, Paint, Style};
use ktrail_core::admission::WebhookCall;
use ktrail_core::escape::escape;
use ktrail_core::text::{offset, short_agent};
use ktrail_core::timeline::{EventKind, Pod, PodEvent, Report};

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

/// One pod's story: on a terminal, laid out for its width ([`terminal_story`]); elsewhere (a
/// pipe, a file), a header and one aligned row per event, every value whole, for `grep` and `awk`.
pub fn pod_story(pod: &Pod, style: Style, w: &mut dyn Write) -> io::Result<()> {
    if style.width.is_some() {
        return terminal_story(pod, style, w);
    }
    let title = format!("{}/{}", pod.namespace, pod.name);
    write!(
        w,
        "{}  uid {}  node {}  scheduler {}",
        style.bold(&escape(&title)),
        opt(&pod.uid),
        opt(&pod.node),
        opt(&pod.scheduler)
    )?;
    // Only when a cloud's export told the story, so that the header of a plain file is unchanged.
    let clouds = pod.clouds();
    if !clouds.is_empty() {
        write!(w, "  cloud {}", clouds.join(","))?;
    }
    writeln!(w)?;
    if pod.denied {
        let mut message = message_lines(pod);
        let first = message.next().unwrap_or_else(|| "-".to_owned());
        let denied = style.paint(Paint::Bad, "DENIED");
        writeln!(w, "  {denied} by {}: {first}", opt(&pod.denied_by))?;
        for line in message {
            writeln!(w, "    {line}")?;
        }
    }
    writeln!(w, "  {}", facts(pod).join(" · "))?;
    for call in &pod.webhooks {
        let (paint, what) = call_outcome(call);
        writeln!(
            w,
            "  {} round {} index {}  {}{}  {}",
            style.dim(call.kind),
            call.round,
            call.index,
            escape(call.name()),
            escape(&configuration(call)),
            style.paint(paint, &escape(&what))
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
    t.set_content_arrangement(ContentArrangement::Disabled);
    t.set_header(vec!["TIME", "OFFSET", "ACTOR", "WHAT"]);
    for (ev, off) in super::with_offsets(pod) {
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

/// The denial message, a line at a time, each escaped (a message of several lines is printed as
/// several indented lines, not as escaped newlines); blank lines are left out.
fn message_lines(pod: &Pod) -> impl Iterator<Item = String> + '_ {
    pod.message
        .as_deref()
        .unwrap_or("")
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| escape(l.trim_end()).into_owned())
}

/// The pod's facts, each escaped: created, bound, ready, phase, deleted.
fn facts(pod: &Pod) -> Vec<String> {
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
            if pod.deleted_via == Some(EventKind::Eviction) {
                "evicted"
            } else {
                "deleted"
            },
            escape(at),
            opt(&pod.deleted_by)
        ));
    }
    facts
}

/// What a webhook call did, and how important that is to a reader.
fn call_outcome(call: &WebhookCall) -> (Paint, String) {
    if call.failed_open {
        (Paint::Bad, "FAILED OPEN".to_owned())
    } else if call.fields_unknown() {
        (Paint::Changed, "mutated (fields not logged)".to_owned())
    } else {
        match call.mutated {
            Some(true) => (
                Paint::Changed,
                format!(
                    "mutated {}",
                    list(call.paths.as_deref().unwrap_or_default())
                ),
            ),
            Some(false) => (Paint::Dim, "not mutated".to_owned()),
            None => (Paint::Plain, String::new()),
        }
    }
}

/// ` (configuration)` when it names more than the webhook does.
fn configuration(call: &WebhookCall) -> String {
    match (&call.configuration, &call.webhook) {
        (Some(c), Some(wh)) if c != wh => format!(" ({c})"),
        _ => String::new(),
    }
}

/// The story laid out for a terminal, in the spirit of `kubectl describe` and `git log`: a header
/// block of facts, the webhook calls, then each event as a line of time, offset and actor with what
/// happened indented under it. Lines break only at separators, never inside a timestamp, uid, path
/// or name; what still does not fit is shortened with `…` (`--wide` keeps every value whole).
pub fn terminal_story(pod: &Pod, style: Style, w: &mut dyn Write) -> io::Result<()> {
    let title = escape(&format!("{}/{}", pod.namespace, pod.name)).into_owned();
    block(w, style, "", Paint::Bold, &title, 1)?;
    let mut ids = Vec::new();
    if let Some(uid) = &pod.uid {
        ids.push(format!("uid {}", escape(uid)));
    }
    if let Some(s) = &pod.scheduler {
        ids.push(format!("scheduler {}", escape(s)));
    }
    if let Some(n) = &pod.node {
        ids.push(format!("node {}", escape(n)));
    }
    let clouds = pod.clouds();
    if !clouds.is_empty() {
        ids.push(format!("cloud {}", clouds.join(",")));
    }
    block(w, style, "  ", Paint::Plain, &ids.join(" · "), usize::MAX)?;
    if pod.denied {
        let by = format!(" by {}", opt(&pod.denied_by));
        style.line(
            w,
            &[
                (Paint::Plain, "  "),
                (Paint::Bad, "DENIED"),
                (Paint::Plain, &by),
            ],
        )?;
        for line in message_lines(pod) {
            block(w, style, "    ", Paint::Plain, &line, usize::MAX)?;
        }
    }
    block(
        w,
        style,
        "  ",
        Paint::Plain,
        &facts(pod).join(" · "),
        usize::MAX,
    )?;
    for call in &pod.webhooks {
        let (paint, what) = call_outcome(call);
        let head = format!(
            "  {} round {} index {}  ",
            call.kind, call.round, call.index
        );
        let name = escape(call.name()).into_owned();
        let config = escape(&configuration(call)).into_owned();
        let what = escape(&what).into_owned();
        let one_line = format!("{head}{name}{config}  {what}");
        let fits = style
            .fit_width()
            .is_none_or(|max| super::fit::width(&one_line) <= max);
        if fits {
            style.line(
                w,
                &[
                    (Paint::Dim, &head),
                    (Paint::Webhook, &name),
                    (Paint::Plain, &config),
                    (Paint::Plain, "  "),
                    (paint, &what),
                ],
            )?;
        } else {
            style.line(
                w,
                &[
                    (Paint::Dim, &head),
                    (Paint::Webhook, &name),
                    (Paint::Plain, &config),
                ],
            )?;
            block(w, style, "      ", paint, &what, usize::MAX)?;
        }
    }
    if !pod.builtin_changes.is_empty() {
        style.line(w, &[(Paint::Plain, "  built-in admission")])?;
        let paths = shown(&pod.builtin_changes).join(", ");
        block(w, style, "      ", Paint::Plain, &paths, usize::MAX)?;
    }
    let events: Vec<(&PodEvent, String)> = super::with_offsets(pod).collect();
    let pad = events.iter().map(|(_, o)| o.len()).max().unwrap_or(0);
    for (ev, off) in events {
        let time = escape(&ev.time).into_owned();
        let off = format!("{off:<pad$}");
        let room = style
            .fit_width()
            .map(|max| max.saturating_sub(2 + time.len() + 2 + pad + 2));
        let who = fitted_actor(ev, room);
        let paint = if ev.code.is_some_and(|c| c >= 400) {
            Paint::Bad
        } else {
            Paint::Plain
        };
        style.line(
            w,
            &[
                (Paint::Plain, "  "),
                (Paint::Plain, &time),
                (Paint::Plain, "  "),
                (Paint::Dim, &off),
                (Paint::Plain, "  "),
                (Paint::Plain, &who),
            ],
        )?;
        let what = escape(&ev.summary).into_owned();
        block(w, style, "      ", paint, &what, EVENT_LINES)?;
    }
    Ok(())
}

/// The most lines one event's summary takes on a terminal; `--wide` shows it whole.
const EVENT_LINES: usize = 4;

/// The actor in `room` columns: whole, or without the user agent, or the user shortened.
fn fitted_actor(ev: &PodEvent, room: Option<usize>) -> String {
    let whole = actor(ev);
    let Some(room) = room else { return whole };
    if super::fit::width(&whole) <= room {
        return whole;
    }
    let mut user = ev.user.clone();
    if let Some(by) = &ev.impersonated_by {
        user = format!("{user} (impersonated by {by})");
    }
    super::fit::shorten(&escape(&user), room)
}

/// `text` (escaped) under `indent`, in `paint`: on a terminal broken at its separators into lines
/// of the terminal's width (at most `most`), elsewhere or with `--wide` one whole line.
fn block(
    w: &mut dyn Write,
    style: Style,
    indent: &str,
    paint: Paint,
    text: &str,
    most: usize,
) -> io::Result<()> {
    if text.is_empty() {
        return Ok(());
    }
    // Laying out costs time in the text's length: a hostile log's megabyte value is cut first.
    let text = &cell(text.to_owned());
    match style.fit_width() {
        None => style.line(w, &[(Paint::Plain, indent), (paint, text)]),
        Some(max) => {
            let room = max.saturating_sub(super::fit::width(indent)).max(1);
            let lines = if indent.len() <= 2 {
                super::fit::wrap_at(text, &[" · "], room, most)
            } else {
                super::fit::wrap(text, room, most)
            };
            for l in lines {
                style.line(w, &[(Paint::Plain, indent), (paint, &l)])?;
            }
            Ok(())
        }
    }
}

/// At most [`PATHS_SHOWN`] items, escaped, then `+N more`.
fn shown(items: &[String]) -> Vec<String> {
    let mut v: Vec<String> = items
        .iter()
        .take(PATHS_SHOWN)
        .map(|p| escape(p).into_owned())
        .collect();
    if items.len() > PATHS_SHOWN {
        v.push(format!("+{} more", items.len() - PATHS_SHOWN));
    }
    v
}
