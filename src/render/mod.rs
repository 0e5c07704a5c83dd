//! Output formats. Every renderer writes to any `io::Write`, so tests render into a `Vec<u8>`.
//! Table and Markdown escape log text (see `sanitize`); JSON is the versioned contract.

pub mod markdown;
pub mod table;

use std::io::{self, IsTerminal, Write};

use serde::Serialize;

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
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Style {
            color: tty && !no_color,
            width: if tty {
                comfy_table::Table::new().width().or(Some(120))
            } else {
                None
            },
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

/// Writes any serializable value as pretty JSON with a final newline.
pub fn json<T: Serialize>(value: &T, w: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *w, value)?;
    writeln!(w)
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
    }
}

/// The formats of `timeline`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Table,
    Json,
    Markdown,
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
    fn offsets_read_naturally() {
        assert_eq!(offset(0.0), "+0.000s");
        assert_eq!(offset(58.7049), "+58.705s");
        assert_eq!(offset(65.7126), "+1m05.713s");
        assert_eq!(offset(3725.0), "+1h02m05s");
        assert_eq!(offset(-2.5), "-2.500s");
    }
}
