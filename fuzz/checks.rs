//! The properties each fuzz target checks, shared with `tests/fuzz_regressions.rs`, which replays
//! the inputs kept under `fuzz/regressions/<target>/` through the same functions as plain tests.
//! Every function must never panic on any input; the assertions are the properties.
#![allow(dead_code)] // each fuzz target uses one of these functions

use std::sync::OnceLock;

use serde_json::Value;

use ktrail::render::{self, Format, Style};
use ktrail_core::admission;
use ktrail_core::check::{self, rules};
use ktrail_core::collect::Collector;
use ktrail_core::escape::is_unsafe;
use ktrail_core::json::tree::Tree;
use ktrail_core::record::Selection;
use ktrail_core::redact::{redact_line as redact, Redactor};
use ktrail_core::scan::skim;
use ktrail_core::timeline::Report;

fn assert_printable(text: &str, what: &str) {
    assert!(
        !text.chars().any(|c| c != '\n' && is_unsafe(c)),
        "raw control character in {what}"
    );
}

/// Audit-log lines of any bytes through the whole offline pipeline: decode (every wrapper), record
/// extraction, the timeline builder and all three renderers. JSON output must stay valid JSON, and
/// no format may carry a raw control character from the input.
pub fn decode_line(data: &[u8]) {
    for reads in [false, true] {
        let mut engine = Collector::new(Selection {
            reads,
            ..Default::default()
        });
        for line in data.split(|b| *b == b'\n') {
            let mut n = 0;
            let outcome = ktrail_core::decode::decode_line(line, &mut |_| n += 1);
            assert_eq!(outcome.events, n);
            // The scan's skim keeps its promise (see `skim::verify`).
            if let Err(e) = skim::verify(line, engine.selection()) {
                panic!("the skim broke its promise: {e}");
            }
            if let Some(p) = engine.feed_line(line) {
                // Diagnostics are printed escaped.
                assert_printable(&ktrail_core::escape::escape(&p.to_string()), "a diagnostic");
            }
        }
        let report = engine.finish().expect("in memory");
        for format in [Format::Json, Format::Table, Format::Markdown] {
            let mut out = Vec::new();
            render::timeline(&report, format, Style::default(), &mut out).unwrap();
            let text = String::from_utf8(out).expect("UTF-8 output");
            if format == Format::Json {
                serde_json::from_str::<Value>(&text).expect("JSON output is valid JSON");
            }
            assert_printable(&text, "timeline output");
        }
    }
}

/// The admission annotation parser and what is built on it. The input is `key\nvalue\n…` pairs of
/// audit annotations: merging by round and index, patch paths and ops, JSON Pointer matching, the
/// object diff and denial-message parsing.
pub fn webhook_annotations(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let fields: Vec<&str> = text.split('\n').collect();
    let pairs: Vec<(&str, &str)> = fields
        .chunks(2)
        .map(|c| (c[0], c.get(1).copied().unwrap_or("")))
        .collect();
    let (calls, bad) = admission::webhook_calls(pairs.iter().copied());
    assert!(bad <= pairs.len());
    assert!(calls.len() <= pairs.len());
    for call in &calls {
        let _ = (call.name(), call.fields_unknown());
        if let Some(patch) = &call.patch {
            let paths = admission::patch_paths(patch);
            for (_, p, v) in admission::patch_ops(patch) {
                for q in &paths {
                    let _ = admission::explains(q, &p);
                }
                let _ = admission::pointer_tokens(&p);
                if let Some(v) = v {
                    let (pt, vt) = (patch.to_string(), v.to_string());
                    if let (Some(pd), Some(vd)) = (Tree::parse(&pt), Tree::parse(&vt)) {
                        let _ = admission::diff(&pd, &vd, admission::SERVER_FIELDS);
                        let _ = admission::merge_patch_paths(&vd, &["/metadata/uid"]);
                    }
                }
            }
        }
    }
    for (k, v) in &pairs {
        let _ = admission::denied_by(v);
        let _ = admission::explains(k, v);
        // A document read in place is the value serde_json reads.
        assert_eq!(
            Tree::parse(v).map(|d| d.to_value()),
            serde_json::from_str::<Value>(v).ok()
        );
        if let (Some(a), Some(b)) = (Tree::parse(k), Tree::parse(v)) {
            let _ = admission::diff(&a, &b, admission::SERVER_FIELDS);
            let _ = admission::merge_patch_paths(&b, &[]);
            let _ = (a == b, a.to_value(), b.pointer(k));
        }
    }
}

/// The pods of every built-in sample, built once.
fn sample_report() -> &'static Report {
    static R: OnceLock<Report> = OnceLock::new();
    R.get_or_init(|| {
        let mut e = Collector::new(Selection::default());
        for s in ktrail_core::samples::SAMPLES {
            for line in s.data.lines() {
                e.feed_line(line.as_bytes());
            }
        }
        e.finish().expect("in memory")
    })
}

/// The rules file parser (YAML) and what runs on a parsed rules file: evaluation over the recorded
/// samples and the four report formats, text from the rules file escaped in each.
pub fn rules(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let parsed = match rules::parse("rules.yaml", text) {
        Ok(r) => r,
        Err(e) => {
            let _ = e.to_string();
            return;
        }
    };
    for require_match in [false, true] {
        let verdict = check::evaluate(&parsed, sample_report(), require_match);
        for format in [
            ktrail::render::check::Format::Table,
            ktrail::render::check::Format::Json,
            ktrail::render::check::Format::Junit,
            ktrail::render::check::Format::Markdown,
        ] {
            let mut out = Vec::new();
            ktrail::render::check::render(&verdict, format, Style::default(), &mut out).unwrap();
            let out = String::from_utf8(out).expect("UTF-8 output");
            if format == ktrail::render::check::Format::Json {
                serde_json::from_str::<Value>(&out).expect("valid JSON");
            }
            assert_printable(&out, "check output");
        }
    }
}

/// `redact` over lines of any bytes: what it writes is one line of valid JSON, and the same line
/// twice gives the same output within one run.
pub fn redact_line(data: &[u8]) {
    let mut r = Redactor::new();
    for line in data.split(|b| *b == b'\n') {
        let out = redact(&mut r, line);
        if out.is_empty() {
            continue;
        }
        assert!(!out.contains(&b'\n'), "one line in, one line out");
        serde_json::from_slice::<Value>(&out).expect("redacted output is JSON");
        assert_eq!(redact(&mut r, line), out, "same line, same masks");
    }
}
