//! `blame` and `diff` output. The table reads like `git blame`: a gutter (auditID, author, offset
//! from creation, request kind), then the object as YAML. Every string from the log is written as
//! a double-quoted scalar (JSON's escapes are YAML's), and keys that are not plain words are
//! quoted the same way, so no value can break the layout; lines are escaped for the terminal.

use std::collections::HashMap;
use std::io::{self, Write};

use chrono::{DateTime, Utc};
use serde_json::Value;

use ktrail_core::blame::{
    diff, Field, Kind, PodBlame, Report, SetBy, WHY_BEFORE_LOG, WHY_MISMATCH, WHY_UNLOGGED,
};
use ktrail_core::escape::{escape, markdown_cell};
use ktrail_core::text::{offset, short_agent, shorten};

use super::{json, Style, ViewFormat};

/// At most this many characters of an author in the gutter.
const AUTHOR_CHARS: usize = 64;
/// At most this many characters of a value in a diff or Markdown cell.
const VALUE_CHARS: usize = 120;

pub fn blame(
    report: &Report,
    format: ViewFormat,
    style: Style,
    w: &mut dyn Write,
) -> io::Result<()> {
    match format {
        ViewFormat::Json => json(report, w),
        ViewFormat::Table => {
            for (i, p) in report.pods.iter().enumerate() {
                if i > 0 {
                    writeln!(w)?;
                }
                table(p, style, w)?;
            }
            Ok(())
        }
        ViewFormat::Markdown => {
            for (i, p) in report.pods.iter().enumerate() {
                if i > 0 {
                    writeln!(w)?;
                }
                markdown(p, w)?;
            }
            Ok(())
        }
    }
}

/// The notes of every pod, for outputs that have no place for them.
pub fn notes_to_stderr(pods: &[PodBlame]) {
    for p in pods {
        for n in &p.notes {
            eprintln!(
                "{}",
                escape(&format!(
                    "ktrail: {}/{}: {}",
                    p.namespace,
                    p.name,
                    note_text(p, n)
                ))
            );
        }
    }
}

fn note_text(p: &PodBlame, n: &ktrail_core::blame::Note) -> String {
    let mut s = n.text.clone();
    if let Some(t) = n.time {
        s.push_str(&format!(" ({}", off(p.created, Some(t))));
        if let Some(id) = &n.audit_id {
            s.push_str(&format!(", auditID {id}"));
        }
        s.push(')');
    }
    s
}

fn off(created: Option<DateTime<Utc>>, at: Option<DateTime<Utc>>) -> String {
    match (created, at) {
        (Some(c), Some(t)) => {
            let us = (t - c).num_microseconds().unwrap_or(0);
            offset(us as f64 / 1e6)
        }
        _ => String::new(),
    }
}

/// Who, for people: the user with their agent, the webhook with its round and index, or why
/// nobody can be named.
pub fn author(s: &SetBy) -> String {
    let name = s.name.as_deref().unwrap_or("?");
    match s.kind {
        Kind::Webhook => match s.detail.call {
            Some((r, i)) => format!("{name} [webhook r{r} i{i}]"),
            None => format!("{name} [webhook]"),
        },
        Kind::Builtin => name.to_owned(),
        Kind::Unknown => match s.detail.why {
            Some(WHY_BEFORE_LOG) => "? (before the log)".into(),
            Some(WHY_UNLOGGED) => "? (unlogged write)".into(),
            Some(WHY_MISMATCH) => "? (response differs)".into(),
            _ => "?".into(),
        },
        Kind::User | Kind::Scheduler | Kind::Kubelet | Kind::Controller => {
            match s.detail.user_agent.as_deref().map(short_agent) {
                Some(a) if !a.is_empty() => format!("{name} [{a}]"),
                _ => name.to_owned(),
            }
        }
    }
}

/// One line of the YAML and the field it shows, if it shows one.
struct Line<'a> {
    text: String,
    field: Option<&'a Field>,
    /// An earlier value of the field above.
    earlier: Option<&'a SetBy>,
}

fn short_id(s: &SetBy) -> String {
    s.audit_id
        .as_deref()
        .map(|id| id.chars().take(8).collect())
        .unwrap_or_default()
}

fn table(p: &PodBlame, style: Style, w: &mut dyn Write) -> io::Result<()> {
    let mut head = format!("{}/{}", p.namespace, p.name);
    if let Some(u) = &p.uid {
        head.push_str(&format!("  uid {u}"));
    }
    if let Some(at) = &p.at {
        head.push_str(&format!("  as of {at}"));
    }
    writeln!(w, "{}", style.bold(&escape(&head)))?;
    for n in &p.notes {
        writeln!(w, "  ! {}", escape(&note_text(p, n)))?;
    }
    let by_path: HashMap<&str, &Field> = p.fields.iter().map(|f| (f.path.as_str(), f)).collect();
    let mut lines = Vec::new();
    if let Some(obj) = &p.object {
        yaml(obj, &mut String::new(), 0, &by_path, &mut lines);
    }
    let gutter = |s: &SetBy| {
        (
            short_id(s),
            shorten(&author(s), AUTHOR_CHARS),
            off(p.created, s.detail.at),
            s.event.clone().unwrap_or_default(),
        )
    };
    let cols: Vec<Option<(String, String, String, String)>> = lines
        .iter()
        .map(|l| l.earlier.or(l.field.map(|f| &f.set_by)).map(gutter))
        .collect();
    let width = |f: fn(&(String, String, String, String)) -> &String| {
        cols.iter()
            .flatten()
            .map(|c| f(c).chars().count())
            .max()
            .unwrap_or(0)
    };
    let (wi, wa, wo, we) = (
        width(|c| &c.0),
        width(|c| &c.1),
        width(|c| &c.2),
        width(|c| &c.3),
    );
    for (l, c) in lines.iter().zip(&cols) {
        let (id, a, o, e) = c.clone().unwrap_or_default();
        let g = format!("{id:<wi$}  {a:<wa$}  {o:>wo$}  {e:<we$}");
        writeln!(w, "{}  {}", style.dim(&escape(&g)), escape(&l.text))?;
    }
    Ok(())
}

/// A key as YAML: plain when it is a word no YAML reader takes for anything else, else quoted.
fn yaml_key(k: &str) -> String {
    let plain = k
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '/'))
        && !matches!(
            k.to_ascii_lowercase().as_str(),
            "true" | "false" | "null" | "yes" | "no" | "on" | "off" | "y" | "n" | "~"
        );
    if plain {
        k.to_owned()
    } else {
        quoted(k)
    }
}

fn quoted(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

/// A scalar (or empty collection) as YAML on one line.
fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => quoted(s),
        Value::Object(_) => "{}".into(),
        Value::Array(_) => "[]".into(),
        other => other.to_string(),
    }
}

/// Appends the lines of `v` at `indent`, keeping only the leaves in `shown` (and the parents of
/// those).
fn yaml<'a>(
    v: &Value,
    path: &mut String,
    indent: usize,
    shown: &HashMap<&str, &'a Field>,
    out: &mut Vec<Line<'a>>,
) {
    let len = path.len();
    let pad = " ".repeat(indent);
    match v {
        Value::Object(m) => {
            for (k, child) in m {
                path.push('/');
                path.push_str(&ktrail_core::admission::escape_token(k));
                let key = yaml_key(k);
                match child {
                    Value::Object(cm) if !cm.is_empty() => {
                        let head = format!("{pad}{key}:");
                        under(head, child, path, indent + 2, shown, out);
                    }
                    Value::Array(a) if !a.is_empty() => {
                        under(format!("{pad}{key}:"), child, path, indent, shown, out);
                    }
                    leaf => leaf_lines(format!("{pad}{key}: "), leaf, path, indent, shown, out),
                }
                path.truncate(len);
            }
        }
        Value::Array(a) => {
            for (i, item) in a.iter().enumerate() {
                path.push('/');
                path.push_str(&i.to_string());
                match item {
                    Value::Object(m) if !m.is_empty() => {
                        let mut sub = Vec::new();
                        yaml(item, path, indent + 2, shown, &mut sub);
                        if let Some(first) = sub.first_mut() {
                            first.text = format!("{pad}- {}", &first.text[indent + 2..]);
                        }
                        out.extend(sub);
                    }
                    Value::Array(x) if !x.is_empty() => {
                        under(format!("{pad}-"), item, path, indent + 2, shown, out);
                    }
                    leaf => leaf_lines(format!("{pad}- "), leaf, path, indent, shown, out),
                }
                path.truncate(len);
            }
        }
        leaf => leaf_lines(pad.clone(), leaf, path, indent, shown, out),
    }
}

/// The lines of `v` at `indent` below the line `head`; neither when no leaf of `v` is shown.
fn under<'a>(
    head: String,
    v: &Value,
    path: &mut String,
    indent: usize,
    shown: &HashMap<&str, &'a Field>,
    out: &mut Vec<Line<'a>>,
) {
    let mut sub = Vec::new();
    yaml(v, path, indent, shown, &mut sub);
    if !sub.is_empty() {
        out.push(plain(head));
        out.extend(sub);
    }
}

fn plain<'a>(text: String) -> Line<'a> {
    Line {
        text,
        field: None,
        earlier: None,
    }
}

fn leaf_lines<'a>(
    prefix: String,
    v: &Value,
    path: &str,
    indent: usize,
    shown: &HashMap<&str, &'a Field>,
    out: &mut Vec<Line<'a>>,
) {
    let Some(f) = shown.get(path) else { return };
    out.push(Line {
        text: format!("{prefix}{}", scalar(v)),
        field: Some(f),
        earlier: None,
    });
    let pad = " ".repeat(indent + 2);
    for e in &f.history {
        out.push(Line {
            text: format!("{pad}# earlier: {}", scalar(&e.value)),
            field: Some(f),
            earlier: Some(&e.set_by),
        });
    }
}

fn markdown(p: &PodBlame, w: &mut dyn Write) -> io::Result<()> {
    let mut head = format!("{}/{}", p.namespace, p.name);
    if let Some(u) = &p.uid {
        head.push_str(&format!(" (uid {u})"));
    }
    writeln!(w, "### {}", markdown_cell(&head))?;
    writeln!(w)?;
    if let Some(at) = &p.at {
        writeln!(w, "As of {}.", markdown_cell(at))?;
        writeln!(w)?;
    }
    for n in &p.notes {
        writeln!(w, "- **Note:** {}", markdown_cell(&note_text(p, n)))?;
    }
    if !p.notes.is_empty() {
        writeln!(w)?;
    }
    writeln!(
        w,
        "| path | value | set by | kind | offset | event | auditID |"
    )?;
    writeln!(w, "|---|---|---|---|---|---|---|")?;
    for f in &p.fields {
        row(p, &f.path, &f.value, &f.set_by, w)?;
        for e in &f.history {
            row(p, &format!("{} (earlier)", f.path), &e.value, &e.set_by, w)?;
        }
    }
    Ok(())
}

fn kind(k: Kind) -> &'static str {
    match k {
        Kind::User => "user",
        Kind::Webhook => "webhook",
        Kind::Builtin => "builtin",
        Kind::Scheduler => "scheduler",
        Kind::Kubelet => "kubelet",
        Kind::Controller => "controller",
        Kind::Unknown => "unknown",
    }
}

fn row(p: &PodBlame, path: &str, v: &Value, s: &SetBy, w: &mut dyn Write) -> io::Result<()> {
    writeln!(
        w,
        "| {} | {} | {} | {} | {} | {} | {} |",
        markdown_cell(path),
        markdown_cell(&shorten(&scalar(v), VALUE_CHARS)),
        markdown_cell(&author(s)),
        kind(s.kind),
        markdown_cell(&off(p.created, s.detail.at)),
        markdown_cell(s.event.as_deref().unwrap_or("")),
        markdown_cell(s.audit_id.as_deref().unwrap_or("")),
    )
}

pub fn diff(
    report: &diff::Report,
    format: ViewFormat,
    style: Style,
    w: &mut dyn Write,
) -> io::Result<()> {
    if format == ViewFormat::Json {
        return json(report, w);
    }
    for d in &report.diffs {
        let side = |s: &diff::Side| {
            format!(
                "uid {} as of {}",
                s.uid.as_deref().unwrap_or("?"),
                s.at.as_deref().unwrap_or("?")
            )
        };
        let head = format!(
            "{}/{}: {} → {}",
            d.namespace,
            d.name,
            side(&d.from),
            side(&d.to)
        );
        if format == ViewFormat::Markdown {
            writeln!(w, "### {}", markdown_cell(&head))?;
            writeln!(w)?;
            writeln!(w, "| path | from | set by | to | set by |")?;
            writeln!(w, "|---|---|---|---|---|")?;
            for f in &d.fields {
                let cell = |v: &Option<diff::Valued>| match v {
                    Some(v) => (
                        markdown_cell(&shorten(&scalar(&v.value), VALUE_CHARS)),
                        markdown_cell(&author(&v.set_by)),
                    ),
                    None => ("(absent)".into(), String::new()),
                };
                let ((fv, fb), (tv, tb)) = (cell(&f.from), cell(&f.to));
                writeln!(
                    w,
                    "| {} | {fv} | {fb} | {tv} | {tb} |",
                    markdown_cell(&f.path)
                )?;
            }
            continue;
        }
        writeln!(w, "{}", style.bold(&escape(&head)))?;
        if d.fields.is_empty() {
            writeln!(w, "  no field differs")?;
        }
        for f in &d.fields {
            writeln!(w, "{}", escape(&f.path))?;
            for (sign, v) in [("-", &f.from), ("+", &f.to)] {
                match v {
                    Some(v) => writeln!(
                        w,
                        "  {sign} {}  {}",
                        escape(&shorten(&scalar(&v.value), VALUE_CHARS)),
                        style.dim(&escape(&format!(
                            "set by {} {}",
                            author(&v.set_by),
                            v.set_by.time.as_deref().unwrap_or("")
                        )))
                    )?,
                    None => writeln!(w, "  {sign} (absent)")?,
                }
            }
        }
    }
    Ok(())
}
