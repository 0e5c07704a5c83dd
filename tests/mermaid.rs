//! `timeline -o mermaid` through the real Mermaid parser: npm `mermaid@11` under Node 20, with
//! jsdom standing in for the browser (`tests/mermaid/parse.mjs`).
//!
//! Needs `npm ci` in `tests/mermaid` first, so it runs only when `KTRAIL_TEST_MERMAID=1` (the
//! test script sets it after installing); otherwise each test says it was skipped and passes.
//! Once enabled, a missing Node or missing packages is a failure, not a skip.

use crate::views_fixture;

use std::io::Write;
use std::path::{Path, PathBuf};

fn enabled(test: &str) -> bool {
    let on = std::env::var("KTRAIL_TEST_MERMAID").is_ok_and(|v| v == "1");
    if !on {
        eprintln!("{test}: skipped (set KTRAIL_TEST_MERMAID=1 after `npm ci` in tests/mermaid)");
    }
    on
}

fn checker_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/mermaid")
}

/// Runs the parser over `text` (a diagram, or Markdown with ```mermaid fences); returns whether
/// it accepted every diagram, and what it said.
fn mermaid_parse(text: &str) -> (bool, String) {
    mermaid_parse_all(&[text])
}

/// The same over several texts in one run (the parser takes seconds to load).
fn mermaid_parse_all(texts: &[&str]) -> (bool, String) {
    let dir = checker_dir();
    assert!(
        dir.join("node_modules/mermaid").is_dir() && dir.join("node_modules/jsdom").is_dir(),
        "KTRAIL_TEST_MERMAID=1 but the packages are not installed: run `npm ci` in {}",
        dir.display()
    );
    let files: Vec<tempfile::NamedTempFile> = texts
        .iter()
        .map(|t| {
            let mut f = tempfile::Builder::new().suffix(".md").tempfile().unwrap();
            f.write_all(t.as_bytes()).unwrap();
            f
        })
        .collect();
    let paths = files.iter().map(|f| f.path());
    let (status, said) = crate::util::node(&dir, "parse.mjs", paths, "KTRAIL_TEST_MERMAID");
    assert!(
        matches!(status.code(), Some(0 | 1)),
        "the checker itself failed: {said}"
    );
    (status.success(), said)
}

fn mermaid_of(args: &[&str]) -> String {
    let out = crate::util::success(
        crate::util::ktrail()
            .arg("timeline")
            .args(args)
            .args(["-o", "mermaid"]),
    );
    String::from_utf8(out).unwrap()
}

fn fixture_file() -> tempfile::NamedTempFile {
    crate::util::temp_file(&views_fixture::log())
}

fn assert_parses(text: &str, diagrams: usize) {
    let (ok, said) = mermaid_parse(text);
    assert!(
        ok,
        "Mermaid rejected the diagram:\n{said}\n--- diagram ---\n{text}"
    );
    assert_eq!(
        said.matches(": ok (sequence)").count(),
        diagrams,
        "expected {diagrams} diagrams: {said}"
    );
}

#[test]
fn seed_story_parses() {
    if !enabled("seed_story_parses") {
        return;
    }
    let one = mermaid_of(&["fargate-ns/nginx", "--sample", "eks-fargate"]);
    assert!(one.starts_with("sequenceDiagram\n"), "{one}");
    assert!(one.contains("0500-amazon-eks-fargate-mutation.amazonaws.com"));
    assert!(one.contains("patched /spec/schedulerName"), "{one}");
    assert_parses(&one, 1);
    let all = mermaid_of(&["--sample", "eks-fargate"]);
    assert_parses(&all, all.matches("```mermaid").count());
}

#[test]
fn every_sample_parses() {
    if !enabled("every_sample_parses") {
        return;
    }
    let out = crate::util::ktrail().arg("samples").output().unwrap();
    let names: Vec<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
        .collect();
    assert!(names.len() > 1, "{names:?}");
    let texts: Vec<String> = names.iter().map(|n| mermaid_of(&["--sample", n])).collect();
    let diagrams: usize = texts
        .iter()
        .map(|t| t.matches("```mermaid").count().max(1))
        .sum();
    let (ok, said) = mermaid_parse_all(&texts.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(ok, "{said}");
    assert_eq!(said.matches(": ok (sequence)").count(), diagrams, "{said}");
}

#[test]
fn hostile_names_still_parse() {
    if !enabled("hostile_names_still_parse") {
        return;
    }
    let f = fixture_file();
    let p = f.path().to_str().unwrap();
    let one = mermaid_of(&["other/batch-1", "-f", p]);
    assert_parses(&one, 1);
    let all = mermaid_of(&["-f", p]);
    assert_eq!(all.matches("```mermaid").count(), 4);
    assert_parses(&all, 4);
}

#[test]
fn broken_diagrams_are_rejected() {
    if !enabled("broken_diagrams_are_rejected") {
        return;
    }
    // A broken arrow.
    let (ok, said) = mermaid_parse("sequenceDiagram\n    A->>B: fine\n    A-->>>B: broken\n");
    assert!(!ok, "a broken arrow was accepted: {said}");
    assert!(said.contains("Parse error"), "{said}");

    // Our own diagram with one arrow broken.
    let f = fixture_file();
    let p = f.path().to_str().unwrap();
    let good = mermaid_of(&["other/batch-1", "-f", p]);
    assert_parses(&good, 1);
    let broken = good.replacen("API->>W0", "API-->>>W0", 1);
    assert_ne!(broken, good);
    assert!(!mermaid_parse(&broken).0, "{broken}");

    // The same diagram without the escaping: raw `;` and `#` from the log break it.
    let raw = good.replace("#59;", ";").replace("#35;", "#");
    assert_ne!(raw, good);
    assert!(
        !mermaid_parse(&raw).0,
        "unescaped log text was accepted:\n{raw}"
    );

    // One bad diagram among good ones fails the document.
    let all = mermaid_of(&["-f", p]);
    let one_bad = all.replacen("API-->>U0", "API-->>>U0", 1);
    assert_ne!(one_bad, all);
    assert!(!mermaid_parse(&one_bad).0);
}
