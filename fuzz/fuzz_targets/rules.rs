//! Fuzz target `rules`: see `fuzz/checks.rs` for what it feeds and the properties it checks.
#![no_main]

#[path = "../checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::rules(data));
