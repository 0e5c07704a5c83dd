//! `redact` over lines of any bytes. Nothing may panic; what it writes is one line of valid JSON;
//! redacting is stable (the same line twice gives the same output within one run).
#![no_main]

use libfuzzer_sys::fuzz_target;

use ktrail::redact::{redact_line, Redactor};

fuzz_target!(|data: &[u8]| {
    let mut r = Redactor::new();
    for line in data.split(|b| *b == b'\n') {
        let out = redact_line(&mut r, line);
        if out.is_empty() {
            continue;
        }
        assert!(!out.contains(&b'\n'), "one line in, one line out");
        serde_json::from_slice::<serde_json::Value>(&out).expect("redacted output is JSON");
        assert_eq!(redact_line(&mut r, line), out, "same line, same masks");
    }
});
