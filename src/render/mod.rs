//! Output formats. Every renderer writes to any `io::Write`, so tests render into a `Vec<u8>`.
//! Table and Markdown escape log text (see `sanitize`); JSON is the versioned contract.

pub mod markdown;
pub mod mermaid;
pub mod table;

use std::io::{self, IsTerminal, Write};

use serde::Serialize;

use crate::sanitize::is_unsafe;
use crate::timeline::Report;

/// How output should look on this terminal.
#[derive(Debug, Clone, Copy, Default)]
pub struct Style {
    /// ANSI colours (only on a terminal, never with NO_COLOR).
    pub color: bool,
    /// Wrap tables to this width; `None` leaves lines whole (pipes, files).
    pub width: Option<u16>,
}

impl Style {
    /// The style for standard output, from the environment.
    pub fn detect() -> Style {
        let tty = io::stdout().is_terminal();
        let mut style = Style::for_output(tty, std::env::var_os("NO_COLOR").as_deref());
        if tty {
            style.width = comfy_table::Table::new().width().or(Some(120));
        }
        style
    }

    /// The style for an output that is (or is not) a terminal, given `NO_COLOR`: colours only on a
    /// terminal, and never when `NO_COLOR` is set to anything but the empty string (no-color.org).
    pub fn for_output(tty: bool, no_color: Option<&std::ffi::OsStr>) -> Style {
        let no_color = no_color.is_some_and(|v| !v.is_empty());
        Style {
            color: tty && !no_color,
            width: None,
        }
    }

    pub fn bold(&self, s: &str) -> String {
        if self.color {
            format!("\x1b[1m{s}\x1b[0m")
        } else {
            s.to_owned()
        }
    }

    pub fn dim(&self, s: &str) -> String {
        if self.color {
            format!("\x1b[2m{s}\x1b[0m")
        } else {
            s.to_owned()
        }
    }
}

/// Writes any serializable value as pretty JSON with a final newline. Besides the C0 controls JSON
/// must escape, DEL, C1 controls and bidirectional overrides from the log are written as `\uXXXX`
/// too: the same JSON value, but safe to print to a terminal.
pub fn json<T: Serialize>(value: &T, w: &mut dyn Write) -> io::Result<()> {
    // serde_json writes many small pieces; a buffer of a concrete type here takes them without a
    // dynamic call each (the report of a busy log is tens of MB of JSON).
    let mut buf = io::BufWriter::with_capacity(64 << 10, w);
    let mut ser = serde_json::Serializer::with_formatter(&mut buf, SafeJson::default());
    value.serialize(&mut ser)?;
    writeln!(buf)?;
    buf.flush()
}

/// serde_json's pretty formatter, with every character `sanitize::is_unsafe` finds escaped.
#[derive(Default)]
struct SafeJson(serde_json::ser::PrettyFormatter<'static>);

impl serde_json::ser::Formatter for SafeJson {
    fn write_string_fragment<W: ?Sized + Write>(
        &mut self,
        w: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        // Printable ASCII is never unsafe: most fragments need no character-by-character look.
        if fragment.bytes().all(|b| (0x20..0x7f).contains(&b)) {
            return w.write_all(fragment.as_bytes());
        }
        let mut rest = fragment;
        while let Some((i, c)) = rest.char_indices().find(|(_, c)| is_unsafe(*c)) {
            w.write_all(&rest.as_bytes()[..i])?;
            // Every unsafe character is in the Basic Multilingual Plane: one \u escape.
            write!(w, "\\u{:04x}", c as u32)?;
            rest = &rest[i + c.len_utf8()..];
        }
        w.write_all(rest.as_bytes())
    }
    fn begin_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.begin_array(w)
    }
    fn end_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_array(w)
    }
    fn begin_array_value<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        self.0.begin_array_value(w, first)
    }
    fn end_array_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_array_value(w)
    }
    fn begin_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.begin_object(w)
    }
    fn end_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_object(w)
    }
    fn begin_object_key<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        self.0.begin_object_key(w, first)
    }
    fn begin_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.begin_object_value(w)
    }
    fn end_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_object_value(w)
    }
}

/// The timeline in the format asked for.
pub fn timeline(
    report: &Report,
    format: Format,
    style: Style,
    w: &mut dyn Write,
) -> io::Result<()> {
    match format {
        Format::Table => table::timeline(report, style, w),
        Format::Json => json(report, w),
        Format::Markdown => markdown::timeline(report, w),
        Format::Mermaid => mermaid::timeline(report, w),
    }
}

/// The formats of `timeline`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Table,
    Json,
    Markdown,
    /// A Mermaid sequence diagram per pod (several pods: Markdown with one diagram each).
    Mermaid,
}

/// `+1m02.5s` style offsets from a pod's creation.
pub fn offset(secs: f64) -> String {
    let sign = if secs < 0.0 { "-" } else { "+" };
    let s = secs.abs();
    if s < 60.0 {
        format!("{sign}{s:.3}s")
    } else if s < 3600.0 {
        format!("{sign}{}m{:06.3}s", (s / 60.0).floor() as u64, s % 60.0)
    } else {
        let h = (s / 3600.0).floor() as u64;
        let m = ((s % 3600.0) / 60.0).floor() as u64;
        format!("{sign}{h}h{m:02}m{:02}s", (s % 60.0).floor() as u64)
    }
}

/// The first word of a user agent (`kubectl/v1.22.12`), which is what tells a reader most.
pub fn short_agent(ua: &str) -> &str {
    ua.split_whitespace().next().unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_only_on_a_terminal_without_no_color() {
        use std::ffi::OsStr;
        assert!(Style::for_output(true, None).color);
        assert!(Style::for_output(true, Some(OsStr::new(""))).color);
        assert!(!Style::for_output(true, Some(OsStr::new("1"))).color);
        assert!(!Style::for_output(false, None).color);
        assert!(!Style::for_output(false, Some(OsStr::new("1"))).color);
        let plain = Style::for_output(false, None);
        assert_eq!(plain.bold("x"), "x");
        assert_eq!(plain.dim("x"), "x");
        assert_eq!(Style::for_output(true, None).bold("x"), "\x1b[1mx\x1b[0m");
    }

    #[test]
    fn json_escapes_what_a_terminal_would_obey_and_round_trips() {
        let v =
            serde_json::json!({"ua\u{9b}": "a\u{1b}[2J\u{7}\u{7f}\u{9b}31m\u{202e}\u{2028}é\"\\/"});
        let mut out = Vec::new();
        json(&v, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(!text.chars().any(|c| c != '\n' && is_unsafe(c)), "{text:?}");
        assert!(
            text.contains(r#""a\u001b[2J\u0007\u007f\u009b31m\u202e\u2028é\"\\/""#),
            "{text}"
        );
        let back: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back, v);
        let mut plain = Vec::new();
        json(&serde_json::json!({"a": [1, "b"], "c": {}}), &mut plain).unwrap();
        assert_eq!(
            String::from_utf8(plain).unwrap(),
            "{\n  \"a\": [\n    1,\n    \"b\"\n  ],\n  \"c\": {}\n}\n"
        );
    }

    #[test]
    fn offsets_read_naturally() {
        assert_eq!(offset(0.0), "+0.000s");
        assert_eq!(offset(58.7049), "+58.705s");
        assert_eq!(offset(65.7126), "+1m05.713s");
        assert_eq!(offset(3725.0), "+1h02m05s");
        assert_eq!(offset(-2.5), "-2.500s");
    }
}
