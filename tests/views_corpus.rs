//! The cluster-wide views on a generated corpus, whose answer the generator works out from the
//! stories it wrote (not by running the engine): `ktrail webhooks` must give each webhook's
//! `mutatedPods` and `paths` (and its calls, failures, rounds, namespaces and installs) as
//! `Expected.webhooks` says, and `ktrail pods` one row per expected incarnation.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use ktrail_corpus::{Expected, Spec};

use crate::util::{installs, pod_ids};

fn write_corpus(dir: &Path, seed: u64) -> (PathBuf, Expected) {
    let spec = Spec::stories(seed, 200, 20);
    crate::util::write_corpus(dir, &spec)
}

fn json_of(args: &[&str]) -> Value {
    crate::util::json_of(crate::util::ktrail().args(args))
}

#[test]
fn webhook_report_equals_the_corpus_answer() {
    let dir = tempfile::tempdir().unwrap();
    for seed in [7, 1234] {
        let (file, expected) = write_corpus(dir.path(), seed);
        assert!(
            expected.webhooks.len() >= 3,
            "{seed}: {:?}",
            expected.webhooks
        );
        let rep = json_of(&["webhooks", "-f", file.to_str().unwrap(), "-o", "json"]);
        let rows = rep["webhooks"].as_array().unwrap();
        for want in &expected.webhooks {
            let what = format!("seed {seed}: {} / {}", want.configuration, want.webhook);
            let got = rows
                .iter()
                .find(|r| {
                    r["type"] == "mutating"
                        && r["configuration"] == want.configuration.as_str()
                        && r["webhook"] == want.webhook.as_str()
                })
                .unwrap_or_else(|| panic!("{what}: no row in {rep:#}"));
            assert_eq!(got["mutatedPods"], want.mutated_pods, "{what}");
            assert_eq!(got["paths"], json!(want.paths), "{what}");
            assert_eq!(got["calls"], want.calls, "{what}");
            assert_eq!(got["failedOpen"], want.failed_open, "{what}");
            assert_eq!(got["rounds"], json!(want.rounds), "{what}");
            assert_eq!(got["namespaces"], json!(want.namespaces), "{what}");
            let installed = installs(got);
            let want_installed: Vec<(String, String)> = want
                .installed
                .iter()
                .map(|i| (i.verb.clone(), i.user.clone()))
                .collect();
            assert_eq!(installed, want_installed, "{what}");
        }
        // And no mutating webhook was seen called that the corpus did not call.
        let called: BTreeSet<(String, String)> = rows
            .iter()
            .filter(|r| r["type"] == "mutating" && r["calls"].as_u64() > Some(0))
            .map(|r| {
                (
                    r["configuration"].as_str().unwrap_or("").to_owned(),
                    r["webhook"].as_str().unwrap_or("").to_owned(),
                )
            })
            .collect();
        let expected_called: BTreeSet<(String, String)> = expected
            .webhooks
            .iter()
            .filter(|w| w.calls > 0)
            .map(|w| (w.configuration.clone(), w.webhook.clone()))
            .collect();
        assert_eq!(called, expected_called, "seed {seed}");
    }
}

#[test]
fn pods_has_one_row_per_expected_incarnation() {
    let dir = tempfile::tempdir().unwrap();
    let (file, expected) = write_corpus(dir.path(), 99);
    let view = json_of(&["pods", "-f", file.to_str().unwrap(), "-o", "json"]);
    let got = pod_ids(&view);
    let want: Vec<(String, String, Value)> = expected
        .pods
        .iter()
        .map(|p| (p.namespace.clone(), p.name.clone(), json!(p.uid)))
        .collect();
    assert_eq!(got.len(), expected.pods.len());
    assert_eq!(got, want);
    // The CSV and the latency summary cover the same incarnations.
    let out = crate::util::ktrail()
        .args(["pods", "-f", file.to_str().unwrap(), "-o", "csv"])
        .output()
        .unwrap();
    let csv = String::from_utf8(out.stdout).unwrap();
    assert_eq!(csv.matches("\r\n").count(), 1 + expected.pods.len());
    let counted: u64 = view["latency"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["pods"].as_u64().unwrap())
        .sum();
    let not_denied = expected.pods.iter().filter(|p| !p.denied).count() as u64;
    assert_eq!(counted, not_denied);
}
