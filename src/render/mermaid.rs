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

use ktrail_core::escape::{self, markdown_cell};
use ktrail_core::timeline::Pod;

use super::sequence::{self, Step};

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
                writeln!(w, "### {}\n", markdown_cell(&sequence::title(pod)))?;
                writeln!(w, "```mermaid")?;
                diagram(pod, w)?;
                writeln!(w, "```")?;
            }
            Ok(())
        }
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

/// Mermaid's arrow for each kind of message.
const ARROWS: [&str; 4] = ["->>", "-->>", "-x", "--x"];

/// One pod's sequence diagram. Participants are written with their generated aliases (`U0`,
/// `API`, `W0`), so no log text is ever an identifier.
pub fn diagram(pod: &Pod, w: &mut dyn Write) -> io::Result<()> {
    let seq = sequence::of(pod);
    writeln!(w, "sequenceDiagram")?;
    writeln!(w, "    title {}", text(&seq.title))?;
    for (alias, label) in &seq.participants {
        writeln!(w, "    participant {alias} as {}", text(label))?;
    }
    for step in &seq.steps {
        match step {
            Step::Message(m) => {
                let arrow = m.arrow.named(ARROWS);
                writeln!(w, "    {}{arrow}{}: {}", m.from, m.to, text(&m.text))?;
            }
            Step::Note { over, text: t } => writeln!(w, "    Note over {over}: {}", text(t))?,
        }
    }
    Ok(())
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
