//! Inputs the fuzzers found (or that were found by hand and would have been), replayed as plain
//! tests through the same property checks the fuzz targets run (`fuzz/checks.rs`). Add a crasher
//! by copying it to `fuzz/regressions/<target>/`.

#[path = "../fuzz/checks.rs"]
mod checks;

use std::path::Path;

fn replay(target: &str, check: fn(&[u8])) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/regressions")
        .join(target);
    let mut n = 0;
    for e in std::fs::read_dir(&dir).unwrap() {
        let path = e.unwrap().path();
        let data = std::fs::read(&path).unwrap();
        eprintln!("{target}: {}", path.display());
        check(&data);
        n += 1;
    }
    assert!(n > 0, "no inputs in {}", dir.display());
}

#[test]
fn decode_line() {
    replay("decode_line", checks::decode_line);
}

#[test]
fn webhook_annotations() {
    replay("webhook_annotations", checks::webhook_annotations);
}

#[test]
fn rules() {
    replay("rules", checks::rules);
}

#[test]
fn redact_line() {
    replay("redact_line", checks::redact_line);
}
