//! The admission annotation parser and what is built on it: the input is `key\nvalue\n…` pairs of
//! audit annotations. Merging by round and index, patch paths and ops, JSON Pointer matching, the
//! object diff (with a patch applied as the "after" object) and denial-message parsing must never
//! panic, whatever the annotations hold.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;

use ktrail::admission;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let fields: Vec<&str> = text.split('\n').collect();
    let pairs: Vec<(&str, &str)> = fields.chunks(2).map(|c| (c[0], c.get(1).copied().unwrap_or(""))).collect();
    let (calls, bad) = admission::webhook_calls(pairs.iter().copied());
    assert!(bad <= pairs.len());
    for call in &calls {
        let _ = call.name();
        let _ = call.fields_unknown();
        if let Some(patch) = &call.patch {
            let paths = admission::patch_paths(patch);
            let ops = admission::patch_ops(patch);
            for (_, p, v) in &ops {
                for q in &paths {
                    let _ = admission::explains(q, p);
                }
                let _ = admission::pointer_tokens(p);
                if let Some(v) = v {
                    let _ = admission::diff(patch, v, admission::SERVER_FIELDS);
                    let _ = admission::merge_patch_paths(v, &["/metadata/uid"]);
                }
            }
        }
    }
    for (k, v) in &pairs {
        let _ = admission::denied_by(v);
        let _ = admission::explains(k, v);
        if let Ok(a) = serde_json::from_str::<Value>(k) {
            if let Ok(b) = serde_json::from_str::<Value>(v) {
                let _ = admission::diff(&a, &b, admission::SERVER_FIELDS);
                let _ = admission::merge_patch_paths(&b, &[]);
            }
        }
    }
});
