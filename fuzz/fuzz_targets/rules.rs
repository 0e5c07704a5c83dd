//! The rules file parser (YAML) and what runs on a parsed rules file: evaluation over a recorded
//! story and the four report formats. Nothing may panic; text from the rules file must reach the
//! human and CI formats escaped.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

use ktrail::check::{self, rules};
use ktrail::engine::Engine;
use ktrail::record::Selection;
use ktrail::render::Style;
use ktrail::timeline::Report;

/// The pods of every built-in sample, built once.
fn report() -> &'static Report {
    static R: OnceLock<Report> = OnceLock::new();
    R.get_or_init(|| {
        let mut e = Engine::new(Selection::default());
        for s in ktrail::samples::SAMPLES {
            for line in s.data.lines() {
                e.feed_line(line.as_bytes());
            }
        }
        e.finish()
    })
}

fuzz_target!(|data: &[u8]| {
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
        let verdict = check::evaluate(&parsed, report(), require_match);
        for format in [
            check::Format::Table,
            check::Format::Json,
            check::Format::Junit,
            check::Format::Markdown,
        ] {
            let mut out = Vec::new();
            check::render::render(&verdict, format, Style::default(), &mut out).unwrap();
            let out = String::from_utf8(out).expect("UTF-8 output");
            if format == check::Format::Json {
                serde_json::from_str::<serde_json::Value>(&out).expect("valid JSON");
            }
            assert!(
                !out.chars().any(|c| c != '\n' && ktrail::sanitize::is_unsafe(c)),
                "raw control character in {format:?} output"
            );
        }
    }
});
