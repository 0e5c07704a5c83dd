//! The terminal layout: every sample's story, pod list and webhook report laid out for terminals
//! 80, 120 and 200 columns wide (`--width`, as if standard output were such a terminal) fits the
//! width, and no timestamp, uid or JSON Pointer path is ever split across two lines.

use serde_json::Value;
use unicode_width::UnicodeWidthStr;

use crate::util::ktrail;

fn samples() -> Vec<String> {
    let out = ktrail().arg("samples").output().unwrap();
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
        .collect()
}

fn run(args: &[&str]) -> String {
    let out = ktrail().args(args).output().unwrap();
    assert!(
        out.status.success() || out.status.code() == Some(1),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The values a reader must never find cut in two: every time, uid, node and path the sample's
/// JSON story holds.
fn atoms(sample: &str) -> Vec<String> {
    let v: Value =
        serde_json::from_str(&run(&["timeline", "--sample", sample, "-o", "json"])).unwrap();
    let mut out = Vec::new();
    for pod in v["pods"].as_array().unwrap() {
        for key in [
            "uid",
            "node",
            "createdAt",
            "readyAt",
            "boundAt",
            "deletedAt",
        ] {
            if let Some(s) = pod[key].as_str() {
                out.push(s.to_owned());
            }
        }
        for p in pod["builtinChanges"].as_array().into_iter().flatten() {
            out.push(p.as_str().unwrap().to_owned());
        }
        for call in pod["webhooks"].as_array().into_iter().flatten() {
            for p in call["paths"].as_array().into_iter().flatten() {
                out.push(p.as_str().unwrap().to_owned());
            }
        }
        for ev in pod["events"].as_array().unwrap() {
            out.push(ev["time"].as_str().unwrap().to_owned());
            for c in ev["changes"].as_array().into_iter().flatten() {
                out.push(c["path"].as_str().unwrap().to_owned());
            }
        }
    }
    out.retain(|a| a.len() >= 4 && a.is_ascii());
    out.sort();
    out.dedup();
    out
}

/// Where `atom` is split across `line` and `next`: its start ends one line, its rest starts the
/// next.
fn split_across(atom: &str, line: &str, next: &str) -> Option<usize> {
    let (line, next) = (line.trim_end(), next.trim_start());
    (1..atom.len()).find(|&k| line.ends_with(&atom[..k]) && next.starts_with(&atom[k..]))
}

#[test]
fn every_sample_fits_80_120_and_200_columns_without_splitting_a_value() {
    let mut checked = 0;
    for sample in samples() {
        let atoms = atoms(&sample);
        assert!(!atoms.is_empty(), "{sample}: nothing to check");
        for width in [80usize, 120, 200] {
            let w = width.to_string();
            for cmd in ["timeline", "pods", "webhooks"] {
                let text = run(&[cmd, "--sample", &sample, "--width", &w]);
                let lines: Vec<&str> = text.lines().collect();
                for (i, line) in lines.iter().enumerate() {
                    assert!(
                        line.width() <= width,
                        "{cmd} {sample} at {width}: {} columns: {line:?}",
                        line.width()
                    );
                    if let Some(next) = lines.get(i + 1) {
                        for atom in &atoms {
                            if let Some(k) = split_across(atom, line, next) {
                                panic!(
                                    "{cmd} {sample} at {width}: {atom:?} split after {k} bytes:\n{line}\n{next}"
                                );
                            }
                        }
                    }
                    checked += 1;
                }
            }
        }
    }
    assert!(checked > 1000, "only {checked} lines checked");
}

#[test]
fn the_check_catches_a_split_value() {
    let t = "2022-09-20T20:17:17.328703Z";
    assert_eq!(
        split_across(t, "  created 2022-09-20T20:1", "7:17.328703Z by x"),
        Some(15)
    );
    assert_eq!(
        split_across(t, "  created", "2022-09-20T20:17:17.328703Z by x"),
        None
    );
}

#[test]
fn a_wide_terminal_shows_every_value_whole() {
    let narrow = run(&["timeline", "--sample", "istio-irsa", "--width", "80"]);
    let wide = run(&[
        "timeline",
        "--sample",
        "istio-irsa",
        "--width",
        "80",
        "--wide",
    ]);
    assert!(narrow.contains('…'), "{narrow}");
    assert!(!wide.contains(" …\n"), "{wide}");
    assert!(wide.lines().any(|l| l.width() > 80), "{wide}");
}

#[test]
fn pipes_are_never_shortened() {
    for sample in samples() {
        let text = run(&["timeline", "--sample", &sample]);
        let json: Value =
            serde_json::from_str(&run(&["timeline", "--sample", &sample, "-o", "json"])).unwrap();
        for pod in json["pods"].as_array().unwrap() {
            for ev in pod["events"].as_array().unwrap() {
                let time = ev["time"].as_str().unwrap();
                let row = text
                    .lines()
                    .find(|l| l.trim_start().starts_with(time))
                    .expect(time);
                let summary = ev["summary"].as_str().unwrap();
                if summary.is_ascii() && !summary.contains(['\n', '\u{1b}']) {
                    assert!(row.contains(summary), "{sample}: {row}");
                }
            }
        }
    }
}

#[test]
fn colours_follow_the_choice() {
    let always = run(&[
        "pods", "--sample", "denied", "--width", "80", "--color", "always",
    ]);
    assert!(always.contains("\u{1b}["), "{always}");
    let never = run(&[
        "timeline", "--sample", "denied", "--width", "80", "--color", "never",
    ]);
    assert!(!never.contains('\u{1b}'), "{never}");
    let piped = run(&["timeline", "--sample", "denied"]);
    assert!(!piped.contains('\u{1b}'), "{piped}");
    let story = run(&[
        "timeline",
        "--sample",
        "failed-open",
        "--width",
        "120",
        "--color",
        "always",
    ]);
    assert!(story.contains("\u{1b}[1;31mFAILED OPEN"), "{story}");
}
