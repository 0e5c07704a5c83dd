//! Output formats. Every renderer writes to any `io::Write`, so tests render into a `Vec<u8>`.
//! Table and Markdown escape log text (see `ktrail_core::escape`); JSON is the versioned contract.
//! One module per report: the timeline (`table`, `markdown`, `mermaid`, JSON here), the views
//! (`pods`, `webhooks`, with `csv`), the check's verdict (`check`) and the HTML report (`html`).

pub mod blame;
pub mod check;
pub mod csv;
pub mod fit;
pub mod html;
pub mod kinds;
pub mod markdown;
pub mod mermaid;
pub mod pods;
pub mod sequence;
pub mod table;
pub mod webhooks;

use std::io::{self, IsTerminal, Write};

use serde::Serialize;

use ktrail_core::escape::is_unsafe;
use ktrail_core::text::offset;
use ktrail_core::timeline::{Pending, Pod, PodEvent, Report, SCHEMA_VERSION};

/// Whether to colour output: on a terminal without `NO_COLOR` (auto), always, or never.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ColorChoice {
    #[default]
    Auto,
    Always,
    Never,
}

/// How output should look: colours, and the width of the terminal it is laid out for.
#[derive(Debug, Clone, Copy, Default)]
pub struct Style {
    /// ANSI colours (only on a terminal, never with NO_COLOR, unless asked for).
    pub color: bool,
    /// The terminal's width: stories and tables are laid out for it and long values shortened
    /// with `…`. `None` (pipes, files) leaves every line whole.
    pub width: Option<u16>,
    /// On a terminal, show every value whole (`--wide`): the terminal layout, nothing shortened.
    pub wide: bool,
}

/// What a piece of text means, and so its colour on a terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Paint {
    Plain,
    Bold,
    /// Secondary: offsets, round and index, "not mutated".
    Dim,
    /// Failures: denied, failed open, a broken rule.
    Bad,
    /// A webhook's name.
    Webhook,
    /// A change made: "mutated".
    Changed,
    Good,
}

impl Style {
    /// The style for standard output, from the environment.
    pub fn detect() -> Style {
        Style::choose(ColorChoice::Auto, None, false)
    }

    /// The style for standard output: colours as chosen, and a terminal layout when standard
    /// output is a terminal (of its width) or when `width` asks for one.
    pub fn choose(color: ColorChoice, width: Option<u16>, wide: bool) -> Style {
        let tty = io::stdout().is_terminal();
        let mut style = Style::for_output(tty, std::env::var_os("NO_COLOR").as_deref());
        style.color = match color {
            ColorChoice::Auto => style.color,
            ColorChoice::Always => true,
            ColorChoice::Never => false,
        };
        style.width = width.or_else(|| {
            tty.then(|| comfy_table::Table::new().width().unwrap_or(120))
                .filter(|w| *w > 0)
        });
        style.wide = wide;
        style
    }

    /// The style for an output that is (or is not) a terminal, given `NO_COLOR`: colours only on a
    /// terminal, and never when `NO_COLOR` is set to anything but the empty string (no-color.org).
    pub fn for_output(tty: bool, no_color: Option<&std::ffi::OsStr>) -> Style {
        let no_color = no_color.is_some_and(|v| !v.is_empty());
        Style {
            color: tty && !no_color,
            width: None,
            wide: false,
        }
    }

    /// The width lines are shortened to: the terminal's, unless `--wide` or not a terminal.
    pub fn fit_width(&self) -> Option<usize> {
        self.width.filter(|_| !self.wide).map(usize::from)
    }

    /// `s` in the colour of what it means (no colour: `s` as it is).
    pub fn paint(&self, p: Paint, s: &str) -> String {
        let code = match p {
            _ if !self.color || s.is_empty() => return s.to_owned(),
            Paint::Plain => return s.to_owned(),
            Paint::Bold => "1",
            Paint::Dim => "2",
            Paint::Bad => "1;31",
            Paint::Webhook => "36",
            Paint::Changed => "33",
            Paint::Good => "32",
        };
        format!("\x1b[{code}m{s}\x1b[0m")
    }

    pub fn bold(&self, s: &str) -> String {
        self.paint(Paint::Bold, s)
    }

    pub fn dim(&self, s: &str) -> String {
        self.paint(Paint::Dim, s)
    }

    /// Writes a line of painted pieces (already escaped), shortened to the terminal's width when
    /// there is one: the cut falls where [`fit::cut`] puts it, and colours stop there too.
    pub fn line(&self, w: &mut dyn Write, pieces: &[(Paint, &str)]) -> io::Result<()> {
        let plain: String = pieces.iter().map(|(_, s)| *s).collect();
        let (keep, tail) = match self.fit_width().and_then(|m| fit::cut(&plain, m)) {
            Some((keep, tail)) => (keep, tail),
            None => (plain.len(), ""),
        };
        let mut out = String::with_capacity(plain.len() + 16);
        let mut at = 0;
        for (p, s) in pieces {
            if at >= keep {
                break;
            }
            let take = s.len().min(keep - at);
            out.push_str(&self.paint(*p, &s[..take]));
            at += take;
        }
        out.push_str(tail);
        writeln!(w, "{}", out.trim_end())
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

/// serde_json's pretty formatter (two spaces, `": "`), starting at any depth, with every character
/// `ktrail_core::escape::is_unsafe` finds escaped.
#[derive(Default)]
struct SafeJson {
    indent: usize,
    has_value: bool,
}

impl SafeJson {
    /// For a value nested `depth` levels deep in a document: its lines are indented to match.
    fn at_depth(depth: usize) -> SafeJson {
        SafeJson {
            indent: depth,
            has_value: false,
        }
    }

    fn newline<W: ?Sized + Write>(&self, w: &mut W) -> io::Result<()> {
        const SPACES: &[u8] = &[b' '; 64];
        w.write_all(b"\n")?;
        let mut n = self.indent * 2;
        while n > 0 {
            let k = n.min(SPACES.len());
            w.write_all(&SPACES[..k])?;
            n -= k;
        }
        Ok(())
    }

    fn open<W: ?Sized + Write>(&mut self, w: &mut W, c: &[u8]) -> io::Result<()> {
        self.indent += 1;
        self.has_value = false;
        w.write_all(c)
    }

    fn close<W: ?Sized + Write>(&mut self, w: &mut W, c: &[u8]) -> io::Result<()> {
        self.indent -= 1;
        if self.has_value {
            self.newline(w)?;
        }
        w.write_all(c)
    }

    fn item<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        if !first {
            w.write_all(b",")?;
        }
        self.newline(w)
    }
}

impl serde_json::ser::Formatter for SafeJson {
    fn write_string_fragment<W: ?Sized + Write>(
        &mut self,
        w: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        // Printable ASCII is never unsafe: most fragments need no character-by-character look.
        // Folded without stopping early, so that the compiler checks many bytes at a time.
        if !fragment
            .bytes()
            .fold(false, |odd, b| odd | !(0x20..0x7f).contains(&b))
        {
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
        self.open(w, b"[")
    }
    fn end_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.close(w, b"]")
    }
    fn begin_array_value<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        self.item(w, first)
    }
    fn end_array_value<W: ?Sized + Write>(&mut self, _: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }
    fn begin_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.open(w, b"{")
    }
    fn end_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.close(w, b"}")
    }
    fn begin_object_key<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        self.item(w, first)
    }
    fn begin_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        w.write_all(b": ")
    }
    fn end_object_value<W: ?Sized + Write>(&mut self, _: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }
}

/// Serializes `value` into `out` as it would appear `depth` levels deep in a pretty document.
pub(crate) fn json_at<T: Serialize>(value: &T, depth: usize, out: &mut Vec<u8>) -> io::Result<()> {
    let mut ser = serde_json::Serializer::with_formatter(out, SafeJson::at_depth(depth));
    value.serialize(&mut ser).map_err(io::Error::from)
}

/// The timeline written pod by pod as the stories are derived (see [`Pending::stream`]): the same
/// bytes [`timeline`] writes for the whole report, without holding every story. Says whether any
/// pod was written. Not for Mermaid, whose layout depends on the number of pods: use [`timeline`].
pub fn timeline_stream(
    pending: &Pending,
    format: Format,
    style: Style,
    w: &mut dyn Write,
) -> io::Result<bool> {
    if format == Format::Mermaid {
        return Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "Mermaid output needs the whole report",
        ));
    }
    // Each pod rendered on its own (on any thread); the separators are written here, in order.
    let render = |pods: Vec<Pod>| -> io::Result<Vec<Vec<u8>>> {
        pods.iter()
            .map(|pod| {
                // About what a story takes (a few KiB per event): growing a buffer from empty
                // copied it over and over.
                let mut out = Vec::with_capacity(1024 + 4096 * pod.events.len());
                match format {
                    // An element of the report's `pods` array: two levels deep.
                    Format::Json => json_at(pod, 2, &mut out)?,
                    Format::Table => table::pod_story(pod, style, &mut out)?,
                    Format::Markdown => markdown::pod_story(pod, &mut out)?,
                    Format::Mermaid => {}
                }
                Ok(out)
            })
            .collect()
    };
    let mut written = 0usize;
    if format == Format::Json {
        write!(
            w,
            "{{\n  \"schemaVersion\": {SCHEMA_VERSION},\n  \"pods\": ["
        )?;
    }
    pending.stream(render, |done| -> io::Result<()> {
        for pod in done? {
            match format {
                Format::Json if written > 0 => w.write_all(b",\n    ")?,
                Format::Json => w.write_all(b"\n    ")?,
                Format::Table if written > 0 => w.write_all(b"\n")?,
                _ => {}
            }
            w.write_all(&pod)?;
            written += 1;
        }
        Ok(())
    })?;
    if format == Format::Json {
        w.write_all(if written > 0 {
            b"\n  ],\n  \"summary\": "
        } else {
            b"],\n  \"summary\": "
        })?;
        let mut out = Vec::new();
        json_at(&pending.summary, 1, &mut out)?;
        w.write_all(&out)?;
        w.write_all(b"\n}\n")?;
    }
    Ok(written > 0)
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
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Table,
    Json,
    Markdown,
    /// A Mermaid sequence diagram per pod (several pods: Markdown with one diagram each).
    Mermaid,
}

/// The formats of `webhooks`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ViewFormat {
    Table,
    Json,
    Markdown,
}

/// The formats of `pods`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PodsFormat {
    Table,
    Json,
    Markdown,
    Csv,
}

/// Each event of `pod` with its offset (`+1.234s`) from the pod's create or, for a pod created
/// before the log begins, from its first event.
pub fn with_offsets(pod: &Pod) -> impl Iterator<Item = (&PodEvent, String)> {
    let base = pod.times.created.or(pod.times.first);
    pod.events.iter().map(move |ev| {
        let off = base
            .and_then(|b| (ev.at - b).num_microseconds())
            .map(|us| offset(us as f64 / 1e6))
            .unwrap_or_default();
        (ev, off)
    })
}

/// A borderless comfy-table for output that is not a terminal: every line whole, never wrapped
/// (terminals get [`fit::table`]).
pub fn plain_table() -> comfy_table::Table {
    let mut t = comfy_table::Table::new();
    t.load_preset(comfy_table::presets::NOTHING);
    t.set_content_arrangement(comfy_table::ContentArrangement::Disabled);
    t
}

/// The most characters a line of a table cell holds. The table's layout takes more than linear
/// time in a cell's length, so a longer line (only a hostile log has one) is cut before layout,
/// with `…`; JSON and Markdown keep the whole value.
pub const MAX_CELL_CHARS: usize = 4096;

/// A table cell, each of its lines cut to [`MAX_CELL_CHARS`]; shorter cells are returned as
/// they are.
pub fn cell(s: String) -> String {
    if s.len() <= MAX_CELL_CHARS {
        return s;
    }
    s.split('\n')
        .map(|line| match line.char_indices().nth(MAX_CELL_CHARS - 1) {
            Some((cut, _)) if line[cut..].chars().nth(1).is_some() => format!("{}…", &line[..cut]),
            _ => line.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("\n")
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
    fn long_cells_are_cut_per_line() {
        let short = "a\nb".to_owned();
        assert_eq!(cell(short.clone()), short);
        let exact = "x".repeat(MAX_CELL_CHARS);
        assert_eq!(cell(exact.clone()), exact);
        let long = format!("{}\nok", "é".repeat(MAX_CELL_CHARS + 5));
        let cut = cell(long);
        let first = cut.lines().next().unwrap();
        assert_eq!(first.chars().count(), MAX_CELL_CHARS);
        assert!(first.ends_with("é…"));
        assert!(cut.ends_with("\nok"));
    }
    use ktrail_core::collect::Collector;
    use ktrail_core::record::Selection;

    fn engine_over(log: &[u8], sel: Selection) -> Collector {
        let mut e = Collector::new(sel);
        for line in log.split(|&b| b == b'\n') {
            e.feed_line(line);
        }
        e
    }

    /// Writing pod by pod gives the bytes the whole report gives, in every format that streams:
    /// on every sample, and on a corpus with enough pods for many batches and several
    /// incarnations per name, for every pod and for one uid.
    #[test]
    fn streamed_timeline_is_the_whole_report_timeline() {
        let spec = ktrail_corpus::Spec::stories(9, 400, 5);
        let mut corpus = Vec::new();
        let expected = ktrail_corpus::generate(&spec, &mut corpus).unwrap();
        let uid = expected.pods.iter().find_map(|p| p.uid.clone()).unwrap();
        let mut logs: Vec<(String, &[u8], Selection)> = ktrail_core::samples::SAMPLES
            .iter()
            .map(|s| (s.name.to_owned(), s.data.as_bytes(), Selection::default()))
            .collect();
        logs.push(("corpus".into(), &corpus, Selection::default()));
        let by_uid = Selection {
            uid: Some(uid),
            ..Default::default()
        };
        logs.push(("corpus, one uid".into(), &corpus, by_uid));
        logs.push((
            "corpus, no pod".into(),
            &corpus,
            Selection {
                name: Some("no-such-pod".into()),
                ..Default::default()
            },
        ));
        let style = Style::default();
        for (what, log, sel) in logs {
            for format in [Format::Json, Format::Table, Format::Markdown] {
                let report = engine_over(log, sel.clone()).finish().unwrap();
                let mut whole = Vec::new();
                timeline(&report, format, style, &mut whole).unwrap();
                let pending = engine_over(log, sel.clone()).finish_pending().unwrap();
                let mut streamed = Vec::new();
                let found = timeline_stream(&pending, format, style, &mut streamed).unwrap();
                assert_eq!(found, !report.pods.is_empty(), "{what} {format:?}");
                assert!(
                    whole == streamed,
                    "{what} {format:?}: streamed output differs\n{}\n---\n{}",
                    String::from_utf8_lossy(&whole),
                    String::from_utf8_lossy(&streamed)
                );
            }
        }
    }

    #[test]
    fn mermaid_is_not_streamed() {
        let pending = engine_over(b"", Selection::default())
            .finish_pending()
            .unwrap();
        let err = timeline_stream(&pending, Format::Mermaid, Style::default(), &mut Vec::new());
        assert_eq!(err.unwrap_err().kind(), io::ErrorKind::Unsupported);
    }

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
}
