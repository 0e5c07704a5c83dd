//! Every example in README.md and docs/*.md that shows a command and its output is run, and what
//! the program prints must be what the page shows, so the documentation cannot drift from the
//! program.
//!
//! An example is a fenced block whose first line is `$ ktrail ARGS` (the rest of the block is the
//! output), or any fenced block right after a comment line `<!-- $ ktrail ARGS -->` (the whole
//! block is the output; a `$ ktrail` line opening the block is then only for the reader, and the
//! comment's command is the one run, e.g. with `--width 80` for a terminal's layout). A line `…`
//! alone in the output stands for lines left out: the parts between such lines must appear in that
//! order. Trailing spaces and trailing blank lines do not count.

use std::path::Path;

use crate::util::{ktrail, root};

struct Example {
    page: String,
    line: usize,
    args: Vec<String>,
    output: Vec<String>,
}

fn examples_in(page: &Path) -> Vec<Example> {
    let text = std::fs::read_to_string(page).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let name = page.strip_prefix(root()).unwrap().display().to_string();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        if !lines[i].starts_with("```") {
            i += 1;
            continue;
        }
        let start = i;
        let end = (start + 1..lines.len())
            .find(|&j| lines[j].starts_with("```"))
            .unwrap_or_else(|| panic!("{name}:{}: unclosed code block", start + 1));
        let mut body: Vec<String> = lines[start + 1..end]
            .iter()
            .map(|l| l.to_string())
            .collect();
        let comment = start
            .checked_sub(1)
            .and_then(|p| lines[p].strip_prefix("<!-- $ ktrail "))
            .and_then(|c| c.strip_suffix(" -->"));
        let args = match comment {
            Some(c) => {
                if body.first().is_some_and(|l| l.starts_with("$ ktrail ")) {
                    body.remove(0);
                }
                Some(c.to_owned())
            }
            None => match body.first().and_then(|l| l.strip_prefix("$ ktrail ")) {
                Some(c) => {
                    let c = c.to_owned();
                    body.remove(0);
                    Some(c)
                }
                None => None,
            },
        };
        if let Some(args) = args {
            out.push(Example {
                page: name.clone(),
                line: start + 1,
                args: args.split_whitespace().map(str::to_owned).collect(),
                output: body,
            });
        }
        i = end + 1;
    }
    out
}

fn pages() -> Vec<std::path::PathBuf> {
    let mut pages = vec![root().join("README.md")];
    let mut docs: Vec<_> = std::fs::read_dir(root().join("docs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    docs.sort();
    pages.extend(docs);
    pages
}

fn trimmed(lines: &[String]) -> Vec<String> {
    let mut v: Vec<String> = lines.iter().map(|l| l.trim_end().to_owned()).collect();
    while v.last().is_some_and(|l| l.is_empty()) {
        v.pop();
    }
    v
}

/// Whether `actual` shows `expected`: equal, or with `…` lines standing for lines left out.
fn shows(expected: &[String], actual: &[String]) -> bool {
    let parts: Vec<&[String]> = expected.split(|l| l.trim() == "…").collect();
    if parts.len() == 1 {
        return expected == actual;
    }
    let mut at = 0;
    for (k, part) in parts.iter().enumerate() {
        if part.is_empty() {
            continue;
        }
        let found = (at..=actual.len().saturating_sub(part.len()))
            .find(|&i| actual[i..].starts_with(part) && (k > 0 || i == 0));
        match found {
            Some(i) => at = i + part.len(),
            None => return false,
        }
    }
    parts.last().is_some_and(|p| p.is_empty()) || at == actual.len()
}

#[test]
fn every_documented_example_prints_what_the_page_shows() {
    let mut run = 0;
    for page in pages() {
        for ex in examples_in(&page) {
            let out = ktrail()
                .current_dir(root())
                .env("NO_COLOR", "1")
                .args(&ex.args)
                .output()
                .unwrap();
            assert!(
                matches!(out.status.code(), Some(0 | 1)),
                "{}:{}: ktrail {}: {}",
                ex.page,
                ex.line,
                ex.args.join(" "),
                String::from_utf8_lossy(&out.stderr)
            );
            let actual: Vec<String> = String::from_utf8(out.stdout)
                .unwrap()
                .lines()
                .map(str::to_owned)
                .collect();
            let (expected, actual) = (trimmed(&ex.output), trimmed(&actual));
            assert!(
                shows(&expected, &actual),
                "{}:{}: `ktrail {}` prints\n{}\n\nbut the page shows\n{}",
                ex.page,
                ex.line,
                ex.args.join(" "),
                actual.join("\n"),
                expected.join("\n")
            );
            run += 1;
        }
    }
    assert!(run >= 5, "only {run} examples found");
}

#[test]
fn excerpts_match_in_order_only() {
    let s = |v: &[&str]| v.iter().map(|l| l.to_string()).collect::<Vec<_>>();
    let actual = s(&["a", "b", "c", "d"]);
    assert!(shows(&s(&["a", "…", "d"]), &actual));
    assert!(shows(&s(&["a", "b", "…"]), &actual));
    assert!(!shows(&s(&["b", "…"]), &actual));
    assert!(!shows(&s(&["a", "…", "c"]), &actual));
    assert!(!shows(&s(&["d", "…", "a"]), &actual));
    assert!(shows(&s(&["a", "b", "c", "d"]), &actual));
    assert!(!shows(&s(&["a", "b", "c"]), &actual));
}
