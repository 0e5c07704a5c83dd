//! The damaged-input corpus: every kind of broken, doubled or foreign line that real exports carry,
//! each with the exact diagnostics it must give and the story the valid lines must still tell.
//!
//! Case files live in `tests/damaged/`: `<case>.jsonl` (made by `generate.py`),
//! `<case>.expected-stderr` (the exact standard error) and `<case>.expected-story` (the story in the
//! compact form of [`story`]). Cases too big to commit (a line of several MB, nesting thousands
//! deep) are written at run time. After a deliberate change, `KTRAIL_BLESS=1 cargo test --test
//! damaged` rewrites the expected files; review the diff before committing it.

use std::path::{Path, PathBuf};

use serde_json::Value;

const CASES: &[&str] = &[
    "blank",
    "crlf",
    "duplicate",
    "eventlist",
    "invalid-utf8",
    "klog",
    "missing-fields",
    "no-apiversion",
    "not-events",
    "out-of-order",
    "truncated-cloudwatch",
    "truncated-json",
    "v1beta1",
];

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/damaged")
}

fn s(v: &Value) -> String {
    match v {
        Value::Null => "-".into(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// `template` with each `{key}` replaced by `s(&v[key])` and each `{=key}` by `v[key]` as JSON.
fn fill(template: &str, v: &Value) -> String {
    let mut out = String::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let close = open + rest[open..].find('}').expect("a closed {key}");
        let key = &rest[open + 1..close];
        match key.strip_prefix('=') {
            Some(key) => out.push_str(&v[key].to_string()),
            None => out.push_str(&s(&v[key])),
        }
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
    out
}

/// The story of a `timeline -o json` report in a compact, reviewable form: per pod its facts,
/// webhook calls and built-in changes, then one line per event; then the summary counts.
fn story(report: &Value) -> String {
    let mut lines = Vec::new();
    for p in report["pods"].as_array().expect("pods") {
        lines.push(fill("pod {namespace}/{name} uid={uid} denied={=denied}", p));
        lines.push(fill(
            "  created {createdAt} by {createdBy}; scheduler {scheduler}; node {node}",
            p,
        ));
        lines.push(fill(
            "  bound {boundAt} by {boundBy}; ready {readyAt}; phase {phase}; deleted {deletedAt} by {deletedBy} via {deletedVia}",
            p,
        ));
        for w in p["webhooks"].as_array().expect("webhooks") {
            let paths: Vec<String> = w["paths"]
                .as_array()
                .map(|a| a.iter().map(s).collect())
                .unwrap_or_default();
            lines.push(fill(
                "  webhook {type} {=round}/{=index} {webhook} mutated={mutated} failedOpen={=failedOpen} paths=",
                w,
            ) + &paths.join(","));
        }
        let builtin: Vec<String> = p["builtinChanges"]
            .as_array()
            .expect("builtinChanges")
            .iter()
            .map(s)
            .collect();
        lines.push(format!("  builtin {}", builtin.join(",")));
        for e in p["events"].as_array().expect("events") {
            lines.push(fill(
                "  {time} {kind} {auditID} {stage} {user} | {summary}",
                e,
            ));
        }
    }
    lines.push(fill(
        "summary linesRead={=linesRead} linesSkipped={=linesSkipped} events={=events} podEvents={=podEvents} stagesCollapsed={=stagesCollapsed} duplicates={=duplicates}",
        &report["summary"],
    ));
    lines.iter().map(|l| format!("{l}\n")).collect()
}

struct Run {
    code: i32,
    stdout: Vec<u8>,
    stderr: String,
}

fn ktrail(cwd: &Path, args: &[&str]) -> Run {
    let (code, stdout, stderr) = crate::util::run_raw(
        crate::util::ktrail()
            .current_dir(cwd)
            .env_remove("NO_COLOR")
            .args(args),
    );
    Run {
        code,
        stdout,
        stderr,
    }
}

fn bless() -> bool {
    std::env::var_os("KTRAIL_BLESS").is_some()
}

fn expect_file(path: &Path, got: &str) {
    if bless() {
        std::fs::write(path, got).unwrap();
        return;
    }
    let want = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e} (KTRAIL_BLESS=1 writes it)", path.display()));
    assert_eq!(got, want, "{} differs", path.display());
}

/// What `--strict` must print for a run whose normal standard error is `stderr`: the first
/// diagnostic as an error, or nothing when no line was bad.
fn strict_stderr(stderr: &str) -> Option<String> {
    let first = stderr.lines().next()?;
    if first.starts_with("ktrail: ") {
        return None;
    }
    Some(format!("ktrail: {first} (--strict)\n"))
}

/// Runs one case file normally and with `--strict`, and checks both against expectations.
fn check_case(cwd: &Path, file: &str, want_stderr: &str, want_story: Option<&str>) -> String {
    let run = ktrail(cwd, &["timeline", "-f", file, "-o", "json"]);
    assert_eq!(run.stderr, want_stderr, "{file}: standard error");
    assert_eq!(run.code, 0, "{file}: exit code");
    let report: Value = serde_json::from_slice(&run.stdout).expect("JSON output");
    let got = story(&report);
    if let Some(want) = want_story {
        assert_eq!(got, want, "{file}: story");
    }

    let strict = ktrail(cwd, &["timeline", "--strict", "-f", file, "-o", "json"]);
    match strict_stderr(want_stderr) {
        Some(err) => {
            assert_eq!(strict.code, 2, "{file}: --strict exit code");
            assert_eq!(strict.stderr, err, "{file}: --strict standard error");
            assert!(strict.stdout.is_empty(), "{file}: --strict printed a story");
        }
        None => {
            assert_eq!(strict.code, 0, "{file}: --strict exit code");
            assert_eq!(strict.stdout, run.stdout, "{file}: --strict output");
        }
    }
    // The human formats must read the same input without trouble.
    for fmt in ["table", "markdown"] {
        let r = ktrail(cwd, &["timeline", "-f", file, "-o", fmt]);
        assert_eq!(r.code, 0, "{file}: -o {fmt}");
    }
    got
}

#[test]
fn every_case_file_is_listed() {
    let mut on_disk: Vec<String> = std::fs::read_dir(dir())
        .unwrap()
        .filter_map(|e| {
            let name = e.unwrap().file_name().into_string().unwrap();
            name.strip_suffix(".jsonl").map(str::to_owned)
        })
        .collect();
    on_disk.sort();
    assert_eq!(on_disk, CASES);
}

#[test]
fn damaged_corpus_gives_the_documented_diagnostics_and_stories() {
    let d = dir();
    for case in CASES {
        let file = format!("{case}.jsonl");
        let stderr_path = d.join(format!("{case}.expected-stderr"));
        let story_path = d.join(format!("{case}.expected-story"));
        let want_stderr = if bless() {
            ktrail(&d, &["timeline", "-f", &file, "-o", "json"]).stderr
        } else {
            std::fs::read_to_string(&stderr_path).unwrap()
        };
        let want_story = (!bless()).then(|| std::fs::read_to_string(&story_path).unwrap());
        let got = check_case(&d, &file, &want_stderr, want_story.as_deref());
        if bless() {
            expect_file(&stderr_path, &want_stderr);
            expect_file(&story_path, &got);
        }
    }
}

/// The valid story every case is built around, as `blank` tells it, without its summary line.
fn reference_story() -> String {
    let all = std::fs::read_to_string(dir().join("blank.expected-story")).unwrap();
    all.lines()
        .filter(|l| !l.starts_with("summary "))
        .map(|l| format!("{l}\n"))
        .collect()
}

#[test]
fn the_valid_lines_of_each_case_tell_the_reference_story() {
    // Cases whose damage removes or adds an event of the story tell a different one (their
    // expected-story says which); all others must tell exactly the reference story.
    let reference = reference_story();
    for case in CASES {
        let got = std::fs::read_to_string(dir().join(format!("{case}.expected-story"))).unwrap();
        let body: String = got
            .lines()
            .filter(|l| !l.starts_with("summary "))
            .map(|l| format!("{l}\n"))
            .collect();
        if *case == "truncated-cloudwatch" {
            // The create was cut by CloudWatch: the pod was created before what can be read,
            // and the create's webhook calls and built-in changes are unknown.
            assert!(!body.contains(" create "), "{body}");
            assert!(body.contains("  created - by -;"), "{body}");
            assert!(!body.contains("  webhook "), "{body}");
            let rest = |s: &str| {
                s.lines()
                    .filter(|l| l.starts_with("  20"))
                    .collect::<Vec<_>>()
                    .join("\n")
            };
            let reference_without_create = reference
                .lines()
                .filter(|l| !l.contains(" create a0000001-create "))
                .map(|l| format!("{l}\n"))
                .collect::<String>();
            assert_eq!(rest(&body), rest(&reference_without_create));
            continue;
        }
        assert_eq!(body, reference, "{case} tells another story");
    }
}

fn base_lines() -> Vec<String> {
    std::fs::read_to_string(dir().join("blank.jsonl"))
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_owned)
        .collect()
}

#[test]
fn a_line_of_several_megabytes() {
    let tmp = tempfile::tempdir().unwrap();
    let lines = base_lines();
    // A valid event made huge by one annotation: it still counts.
    let mut create: Value = serde_json::from_str(&lines[0]).unwrap();
    create["annotations"]["example.com/blob"] = Value::String("x".repeat(6 << 20));
    let huge_event = serde_json::to_string(&create).unwrap();
    assert!(huge_event.len() > 6 << 20);
    // Several MB of something else, and an event CloudWatch cut.
    let huge_junk = format!("I0501 10:00:00.000000 1 dump.go:1] {}", "y".repeat(5 << 20));
    let huge_cut = format!(
        "{}[Truncated...]",
        &huge_event[..huge_event.len() - (1 << 20)]
    );
    let text = [
        huge_event.as_str(),
        &huge_junk,
        &huge_cut,
        &lines[1],
        &lines[2],
        &lines[3],
        &lines[4],
    ]
    .join("\n");
    std::fs::write(tmp.path().join("long.jsonl"), text).unwrap();
    let want_stderr = "long.jsonl:2: not JSON (expected value at column 1); skipped\n\
         long.jsonl:3: event a0000001-create was truncated by CloudWatch Logs (over 256 KB); skipped\n\
         ktrail: skipped 2 of 7 lines\n";
    let got = check_case(tmp.path(), "long.jsonl", want_stderr, None);
    let summary =
        "summary linesRead=7 linesSkipped=2 events=4 podEvents=4 stagesCollapsed=0 duplicates=0\n";
    assert_eq!(got, format!("{}{summary}", reference_story()));
}

#[test]
fn json_nested_thousands_deep() {
    let tmp = tempfile::tempdir().unwrap();
    let lines = base_lines();
    let n = 20_000;
    let arrays = format!("{}{}", "[".repeat(n), "]".repeat(n));
    let objects = format!("{}\"pods\"{}", r#"{"a":"#.repeat(n), "}".repeat(n));
    // An event of the story whose body is too deep to read: the event is kept, its body is not.
    let mut update: Value = serde_json::from_str(&lines[3]).unwrap();
    update["auditID"] = "a0000013-deep".into();
    update["verb"] = "update".into();
    update["objectRef"]["subresource"] = Value::Null;
    update["stageTimestamp"] = "2024-05-01T10:00:03.000000Z".into();
    let update = serde_json::to_string(&update).unwrap().replace(
        r#""requestObject":{"#,
        &format!(
            r#""requestObject":{{"deep":{}1{},"#,
            "[".repeat(n),
            "]".repeat(n)
        ),
    );
    let text = [
        arrays.as_str(),
        &lines[0],
        &objects,
        &lines[1],
        &lines[2],
        &lines[3],
        &update,
        &lines[4],
    ]
    .join("\n");
    std::fs::write(tmp.path().join("deep.jsonl"), text).unwrap();
    let want_stderr = "deep.jsonl:1: array element 0: array element 0: array element 0: not an audit event (wrapped too deep); 1 of 1 items skipped\n\
        deep.jsonl:3: not an audit event (no auditID); skipped\n\
        ktrail: skipped 2 of 8 lines\n";
    let got = check_case(tmp.path(), "deep.jsonl", want_stderr, None);
    let deep_event = "  2024-05-01T10:00:03.000000Z update a0000013-deep ResponseComplete system:node:node-a | updated (request body not in the log)\n";
    let reference = reference_story();
    let (head, delete) = reference
        .rsplit_once("  2024-05-01T10:05:00")
        .expect("the delete is last");
    let want = format!(
        "{head}{deep_event}  2024-05-01T10:05:00{delete}summary linesRead=8 linesSkipped=2 events=5 podEvents=5 stagesCollapsed=0 duplicates=0\n"
    );
    assert_eq!(got, want);
}
