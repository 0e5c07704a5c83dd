//! CSV cells for text that came from a log. Three dangers: a comma, quote or line break that
//! breaks the row (RFC 4180 quoting), a control character that reaches a terminal (escaped through
//! `ktrail_core::escape`), and a cell that a spreadsheet would run as a formula (CSV injection: a cell
//! starting with `=`, `+`, `-` or `@` gets a leading `'`, as OWASP recommends).

use std::io::{self, Write};

use ktrail_core::escape;

/// One cell of untrusted text.
pub fn text(s: &str) -> String {
    let escaped = escape::escape(s);
    let guarded = if escaped.starts_with(['=', '+', '-', '@']) {
        format!("'{escaped}")
    } else {
        escaped.into_owned()
    };
    quote(&guarded)
}

/// One cell of ktrail's own making (a number, a fixed word): quoted only if it needs it.
pub fn plain(s: &str) -> String {
    quote(s)
}

/// RFC 4180: a cell with a comma, quote, line break or edge space is quoted, quotes doubled.
fn quote(s: &str) -> String {
    let needs = s.contains([',', '"', '\n', '\r']) || s.starts_with(' ') || s.ends_with(' ');
    if needs {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

/// Writes one row of already-made cells, ending with CRLF as RFC 4180 asks.
pub fn row(cells: &[String], w: &mut dyn Write) -> io::Result<()> {
    write!(w, "{}\r\n", cells.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Asserts that `text` writes each input as the cell given with it.
    fn assert_cells(cases: &[(&str, &str)]) {
        for (input, cell) in cases {
            assert_eq!(text(input), *cell, "{input:?}");
        }
    }

    #[test]
    fn quotes_what_would_break_a_row() {
        assert_cells(&[
            ("plain", "plain"),
            ("a,b", "\"a,b\""),
            ("say \"hi\"", "\"say \"\"hi\"\"\""),
            (" padded", "\" padded\""),
        ]);
    }

    #[test]
    fn control_characters_are_escaped_not_kept() {
        assert_cells(&[
            ("a\nb", "a\\u{a}b"),
            ("x\u{1b}[2Jy", "x\\u{1b}[2Jy"),
            ("evil\u{202e}", "evil\\u{202e}"),
        ]);
    }

    #[test]
    fn formulas_are_defused() {
        assert_cells(&[
            ("=HYPERLINK(\"x\")", "\"'=HYPERLINK(\"\"x\"\")\""),
            ("+1", "'+1"),
            ("-cmd", "'-cmd"),
            ("@SUM(A1)", "'@SUM(A1)"),
        ]);
        assert_eq!(plain("-1.5"), "-1.5", "numbers of our own stay numbers");
    }

    #[test]
    fn rows_end_with_crlf() {
        let mut v = Vec::new();
        row(&["a".into(), "\"b,c\"".into()], &mut v).unwrap();
        assert_eq!(v, b"a,\"b,c\"\r\n");
    }
}
