//! The story as a picture: a Mermaid `sequenceDiagram` per pod, which GitHub and GitLab render
//! inside Markdown. Participants are the users who acted on the pod (the requester, controllers,
//! the scheduler, the kubelet), the API server and each admission webhook; messages are the
//! requests, the webhook calls with the paths they patched, and what built-in admission set.
//!
//! Everything from the log is untrusted, and Mermaid's grammar is touchy: `;` and a newline end a
//! statement, `#` starts a comment, `%%{…}%%` anywhere is a configuration directive, `<`/`>` form
//! arrows and HTML. So participants get generated aliases (`U0`, `API`, `W0`) and every name and
//! text goes through [`text`], which turns those characters into Mermaid's `#NNN;` entity codes
//! and control characters into visible escapes.

use std::fmt::Write as _;
use std::io::{self, Write};

use ktrail_core::admission::WebhookCall;
use ktrail_core::escape::{self, markdown_cell};
use ktrail_core::text::short_agent;
use ktrail_core::text::shorten;
use ktrail_core::timeline::{EventKind, Pod, PodEvent, BUILTIN};

/// At most this many characters of log text in one message (before escaping).
const TEXT_CHARS: usize = 160;
/// At most this many paths listed in one message, each at most `PATH_CHARS` characters.
const PATHS_SHOWN: usize = 6;
const PATH_CHARS: usize = 80;

/// One diagram for one pod; for several, a Markdown document with a fenced diagram per pod.
pub fn timeline(report: &ktrail_core::timeline::Report, w: &mut dyn Write) -> io::Result<()> {
    match report.pods.as_slice() {
        [] => Ok(()),
        [pod] => diagram(pod, w),
        pods => {
            for (i, pod) in pods.iter().enumerate() {
                if i > 0 {
                    writeln!(w)?;
                }
                writeln!(w, "### {}\n", markdown_cell(&title(pod)))?;
                writeln!(w, "```mermaid")?;
                diagram(pod, w)?;
                writeln!(w, "```")?;
            }
            Ok(())
        }
    }
}

fn title(pod: &Pod) -> String {
    match &pod.uid {
        Some(uid) => format!("{}/{} (uid {uid})", pod.namespace, pod.name),
        None => format!("{}/{}", pod.namespace, pod.name),
    }
}

/// Text safe anywhere Mermaid takes free text (a message, a note, a participant's label, a
/// title): control characters escaped, then every character Mermaid's lexer or preprocessor gives
/// a meaning to replaced by its entity code, which Mermaid decodes when it draws.
pub fn text(s: &str) -> String {
    let s = escape::escape(s);
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '#' | ';' | '<' | '>' | '&' | '"' | '%' | '`' | '{' | '}' | '\u{2028}' | '\u{2029}' => {
                let _ = write!(out, "#{};", c as u32);
            }
            c => out.push(c),
        }
    }
    // A text starting with `wrap:`, `nowrap:` or `:` is read as a wrapping directive.
    let lower = out.trim_start().to_ascii_lowercase();
    if lower.starts_with(':') || lower.starts_with("wrap:") || lower.starts_with("nowrap:") {
        if let Some(i) = out.find(':') {
            out.replace_range(i..i + 1, "#58;");
        }
    }
    if out.trim().is_empty() {
        return "?".into();
    }
    out
}

/// Log text shortened for one message, then made safe.
fn msg(s: &str) -> String {
    text(&shorten(s, TEXT_CHARS))
}

/// The participants of one pod's story, with their generated aliases.
#[derive(Default)]
struct Cast {
    /// (alias, label)
    order: Vec<(String, String)>,
    users: Vec<(String, String)>,
    webhooks: Vec<(WebhookKey, String)>,
}

type WebhookKey = (&'static str, Option<String>, Option<String>);

fn webhook_key(c: &WebhookCall) -> WebhookKey {
    (c.kind, c.configuration.clone(), c.webhook.clone())
}

impl Cast {
    fn user(&mut self, name: &str) -> String {
        if let Some((_, a)) = self.users.iter().find(|(u, _)| u == name) {
            return a.clone();
        }
        let alias = format!("U{}", self.users.len());
        self.users.push((name.to_owned(), alias.clone()));
        let label = if name.is_empty() {
            "(unknown user)"
        } else {
            name
        };
        self.order.push((alias.clone(), label.to_owned()));
        alias
    }

    fn webhook(&mut self, c: &WebhookCall) -> String {
        let key = webhook_key(c);
        if let Some((_, a)) = self.webhooks.iter().find(|(k, _)| *k == key) {
            return a.clone();
        }
        let alias = format!("W{}", self.webhooks.len());
        self.webhooks.push((key, alias.clone()));
        let mut label = c.name().to_owned();
        if let (Some(conf), Some(wh)) = (&c.configuration, &c.webhook) {
            if conf != wh {
                label.push_str(&format!(" ({conf})"));
            }
        }
        if c.kind == "validating" {
            label.push_str(" [validating]");
        }
        self.order.push((alias.clone(), label));
        alias
    }

    /// Casts in reading order: the requester, the API server, the webhooks in call order, then
    /// everyone else in order of appearance (typically the scheduler, then the kubelet).
    fn of(pod: &Pod) -> Cast {
        let mut cast = Cast::default();
        let requester = pod
            .events
            .iter()
            .find(|e| e.kind == EventKind::Create)
            .or(pod.events.first());
        if let Some(e) = requester {
            cast.user(&e.user);
        }
        cast.order.push(("API".into(), "API server".into()));
        for c in pod
            .webhooks
            .iter()
            .chain(pod.events.iter().flat_map(|e| e.webhooks.iter()))
        {
            cast.webhook(c);
        }
        for e in &pod.events {
            cast.user(&e.user);
        }
        cast
    }
}

/// One pod's sequence diagram.
pub fn diagram(pod: &Pod, w: &mut dyn Write) -> io::Result<()> {
    let mut cast = Cast::of(pod);
    writeln!(w, "sequenceDiagram")?;
    writeln!(w, "    title {}", text(&title(pod)))?;
    for (alias, label) in &cast.order {
        writeln!(w, "    participant {alias} as {}", text(label))?;
    }
    if pod.created_at.is_none() && !pod.denied {
        writeln!(w, "    Note over API: created before the log begins")?;
    }
    for (ev, off) in super::with_offsets(pod) {
        let who = cast.user(&ev.user);
        let failed = ev.code.is_some_and(|c| c >= 400);
        if ev.kind == EventKind::Create {
            let agent = ev
                .user_agent
                .as_deref()
                .map(short_agent)
                .filter(|a| !a.is_empty())
                .map(|a| format!(" ({a})"))
                .unwrap_or_default();
            writeln!(
                w,
                "    {who}->>API: {}",
                msg(&format!(
                    "{off} create pod {}/{}{agent}",
                    pod.namespace, pod.name
                ))
            )?;
            webhook_calls(&pod.webhooks, &mut cast, w)?;
            builtin_note(ev, w)?;
            let code = ev.code.map(|c| format!("{c} ")).unwrap_or_default();
            if failed {
                let why = match (&pod.denied_by, &pod.message) {
                    (Some(by), Some(m)) => format!("denied by {by}: {m}"),
                    (Some(by), None) => format!("denied by {by}"),
                    (None, Some(m)) => m.clone(),
                    (None, None) => "failed".into(),
                };
                writeln!(w, "    API--x{who}: {}", msg(&format!("{code}{why}")))?;
            } else {
                let uid = pod
                    .uid
                    .as_deref()
                    .map(|u| format!(", uid {u}"))
                    .unwrap_or_default();
                writeln!(
                    w,
                    "    API-->>{who}: {}",
                    msg(&format!("{code}created{uid}"))
                )?;
            }
            continue;
        }
        let arrow = if failed { "-x" } else { "->>" };
        writeln!(
            w,
            "    {who}{arrow}API: {}",
            msg(&format!("{off} {}", ev.summary))
        )?;
        webhook_calls(&ev.webhooks, &mut cast, w)?;
        builtin_note(ev, w)?;
    }
    Ok(())
}

fn paths_text(paths: &[String]) -> String {
    let mut s = paths
        .iter()
        .take(PATHS_SHOWN)
        .map(|p| shorten(p, PATH_CHARS))
        .collect::<Vec<_>>()
        .join(", ");
    if paths.len() > PATHS_SHOWN {
        s.push_str(&format!(", +{} more", paths.len() - PATHS_SHOWN));
    }
    s
}

/// The API server's calls to the webhooks of one request, and their answers.
fn webhook_calls(calls: &[WebhookCall], cast: &mut Cast, w: &mut dyn Write) -> io::Result<()> {
    for c in calls {
        let hook = cast.webhook(c);
        let call = if c.round == 0 {
            format!("{} admission review", c.kind)
        } else {
            format!(
                "{} admission review, reinvocation round {}",
                c.kind, c.round
            )
        };
        if c.failed_open {
            writeln!(
                w,
                "    API-x{hook}: {}",
                msg(&format!("{call}: call failed, ignored (failed open)"))
            )?;
            continue;
        }
        writeln!(w, "    API->>{hook}: {}", msg(&call))?;
        let answer = match (c.mutated, &c.paths) {
            (Some(true), Some(paths)) if !paths.is_empty() => {
                // Not `msg`: the path list is bounded already and reads best whole.
                text(&format!("patched {}", paths_text(paths)))
            }
            (Some(true), _) => text("mutated (patch not logged at this audit level)"),
            (Some(false), _) => text("no change"),
            (None, _) => text("answered"),
        };
        writeln!(w, "    {hook}-->>API: {answer}")?;
    }
    Ok(())
}

/// What built-in admission and defaulting changed on this request, as a note on the API server.
fn builtin_note(ev: &PodEvent, w: &mut dyn Write) -> io::Result<()> {
    let mut paths: Vec<String> = Vec::new();
    for c in ev.changes.iter().filter(|c| c.by == BUILTIN) {
        if !paths.contains(&c.path) {
            paths.push(c.path.clone());
        }
    }
    if paths.is_empty() {
        return Ok(());
    }
    writeln!(
        w,
        "    Note over API: {}",
        text(&format!("{BUILTIN} set {}", paths_text(&paths)))
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_cannot_end_a_statement_or_start_a_comment() {
        let t = text("a;b#c\nd%%{init: {}}%%e<br>f-->>g\u{1b}h\"i`j&k");
        // Entity codes are `#NNN;`: strip them, then nothing special may remain.
        let stripped = regex::Regex::new("#[0-9]+;").unwrap().replace_all(&t, "");
        for bad in [";", "\n", "%%", "<", ">", "\u{1b}", "\"", "`"] {
            assert!(!stripped.contains(bad), "{bad:?} survived in {t:?}");
            assert!(!stripped.contains('#'), "a bare # survived in {t:?}");
        }
        assert_eq!(text("a;b"), "a#59;b");
        assert_eq!(text("x->>y"), "x-#62;#62;y");
        assert_eq!(text("esc\u{1b}"), "esc\\u#123;1b#125;");
    }

    #[test]
    fn text_cannot_become_a_directive_or_vanish() {
        assert_eq!(text("wrap:me"), "wrap#58;me");
        assert_eq!(text("NoWrap:me"), "NoWrap#58;me");
        assert_eq!(text(":x"), "#58;x");
        assert_eq!(text("wrapper"), "wrapper");
        assert_eq!(text("system:node:a"), "system:node:a");
        assert_eq!(text("  "), "?");
        assert_eq!(text(""), "?");
    }
}
