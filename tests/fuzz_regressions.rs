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

/// One test a fuzz target, named after it, replaying its regressions through its check.
macro_rules! replay_tests {
    ($($target:ident),* $(,)?) => {
        $(
            #[test]
            fn $target() {
                replay(stringify!($target), checks::$target);
            }
        )*
    };
}

replay_tests!(decode_line, webhook_annotations, rules, redact_line);
