//! Audit-log lines of any bytes, through the whole offline pipeline: decode (every wrapper),
//! record extraction, the timeline builder and all three renderers. Nothing may panic, JSON output
//! must stay valid JSON, and the human formats must carry no raw control character from the input.
#![no_main]

use libfuzzer_sys::fuzz_target;

use ktrail::engine::Engine;
use ktrail::record::Selection;
use ktrail::render::{self, Format, Style};

fuzz_target!(|data: &[u8]| {
    for reads in [false, true] {
        let mut engine = Engine::new(Selection {
            reads,
            ..Default::default()
        });
        for line in data.split(|b| *b == b'\n') {
            let mut n = 0;
            ktrail::decode::decode_line(line, &mut |_| n += 1);
            // Diagnostics are printed through sanitize; make sure they render.
            if let Some(p) = engine.feed_line(line) {
                let text = p.to_string();
                let shown = ktrail::sanitize::escape(&text);
                assert!(!shown.chars().any(ktrail::sanitize::is_unsafe));
            }
        }
        let report = engine.finish();
        let mut json = Vec::new();
        render::timeline(&report, Format::Json, Style::default(), &mut json).unwrap();
        serde_json::from_slice::<serde_json::Value>(&json).expect("JSON output is valid JSON");
        for format in [Format::Table, Format::Markdown] {
            let mut out = Vec::new();
            render::timeline(&report, format, Style::default(), &mut out).unwrap();
            let text = String::from_utf8(out).expect("UTF-8 output");
            assert!(
                !text
                    .chars()
                    .any(|c| c != '\n' && ktrail::sanitize::is_unsafe(c)),
                "raw control character in {format:?} output"
            );
        }
    }
});
