//! Text from a log is untrusted: a user agent, a label or a status message can carry terminal
//! escape sequences or bidirectional overrides. Everything ktrail prints outside JSON goes through
//! here (JSON output escapes control characters by itself).

use std::borrow::Cow;

/// Characters that must not reach a terminal or a document raw: C0 and C1 controls, DEL, the
/// bidirectional formatting characters that can reorder what a reader sees (including the Arabic
/// letter mark), and the Unicode line and paragraph separators that some viewers break lines at.
pub fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061C}'
                | '\u{200E}'
                | '\u{200F}'
                | '\u{2028}'
                | '\u{2029}'
                | '\u{202A}'..='\u{202E}'
                | '\u{2066}'..='\u{2069}'
        )
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
/// so that log text cannot break the table or inject HTML, and `&` written as `&amp;` so that a
/// character reference such as `&#x202E;` in a log cannot become the character it names.
pub fn markdown_cell(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in escape(s).chars() {
        match c {
            '|' => out.push_str("\\|"),
            '`' => out.push_str("\\`"),
            '&' => out.push_str("&amp;"),
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
        assert_eq!(escape("a\u{2028}b\u{61c}"), "a\\u{2028}b\\u{61c}");
    }

    #[test]
    fn every_unsafe_character_is_escaped() {
        for c in (0u32..0x3000).filter_map(char::from_u32) {
            let s = format!("x{c}y");
            let e = escape(&s);
            assert!(!e.chars().any(is_unsafe), "{:x}", c as u32);
            assert_eq!(e == s, !is_unsafe(c), "{:x}", c as u32);
            assert!(!markdown_cell(&s).chars().any(is_unsafe), "{:x}", c as u32);
        }
    }

    #[test]
    fn markdown_cells_cannot_break_tables() {
        assert_eq!(
            markdown_cell("a|b`c<d>\u{1b}"),
            "a\\|b\\`c&lt;d&gt;\\\\u{1b}"
        );
        assert_eq!(markdown_cell("&#x202E;&amp;"), "&amp;#x202E;&amp;amp;");
    }
}
