//! Text from a log is untrusted: a user agent, a label or a status message can carry terminal
//! escape sequences or bidirectional overrides. Everything ktrail prints outside JSON goes through
//! here (JSON output escapes control characters by itself).

use std::borrow::Cow;

/// Characters that must not reach a terminal or a document raw: C0 and C1 controls, DEL, and the
/// bidirectional formatting characters that can reorder what a reader sees.
pub fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Replaces every unsafe character with a visible escape such as `\u{1b}`.
pub fn escape(s: &str) -> Cow<'_, str> {
    if !s.chars().any(is_unsafe) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if is_unsafe(c) {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Text for one cell of a Markdown table: escaped, with pipes, backticks and angle brackets defused
/// so that log text cannot break the table or inject HTML.
pub fn markdown_cell(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in escape(s).chars() {
        match c {
            '|' => out.push_str("\\|"),
            '`' => out.push_str("\\`"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '*' | '_' | '[' | ']' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_terminal_sequences() {
        assert_eq!(escape("kubectl\u{1b}[2J\u{7}x"), "kubectl\\u{1b}[2J\\u{7}x");
        assert_eq!(escape("a\r\nb\u{9b}c"), "a\\u{d}\\u{a}b\\u{9b}c");
        assert_eq!(escape("evil\u{202e}txt"), "evil\\u{202e}txt");
        assert!(matches!(escape("plain ünïcode"), Cow::Borrowed(_)));
    }

    #[test]
    fn markdown_cells_cannot_break_tables() {
        assert_eq!(
            markdown_cell("a|b`c<d>\u{1b}"),
            "a\\|b\\`c&lt;d&gt;\\\\u{1b}"
        );
    }
}
