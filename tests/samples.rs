//! Every recorded sample against its expected answer (`samples/NAME.expected.json`), through the
//! real binary. The expected answers are reviewed by hand against `samples/README.md`; to update
//! them deliberately after a reviewed change, run `KTRAIL_BLESS=1 cargo test --test integration samples` and
//! read the diff.

use serde_json::Value;

use crate::util::{every_sample_matches, ktrail, sample_names, samples_dir, timeline_json};

#[test]
fn every_sample_matches_its_expected_answer() {
    every_sample_matches("expected.json", |name| {
        timeline_json(&["--sample", name], None)
    });
}

#[test]
fn compiled_in_samples_equal_the_files() {
    // `--sample` reads the copy compiled into the binary; `-f` reads the file.
    for name in sample_names() {
        let path = samples_dir().join(format!("{name}.jsonl"));
        let a = timeline_json(&["--sample", &name], None);
        let b = timeline_json(&["-f", path.to_str().unwrap()], None);
        assert_eq!(a["pods"], b["pods"], "{name}");
    }
}

#[test]
fn same_answer_from_plain_gzip_zstd_and_stdin() {
    use std::io::Write;
    let plain = samples_dir().join("eks-fargate.jsonl");
    let bytes = std::fs::read(&plain).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let gz = dir.path().join("audit.log.1"); // no telling extension: sniffed from the bytes
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(&bytes).unwrap();
    std::fs::write(&gz, enc.finish().unwrap()).unwrap();
    let zst = dir.path().join("audit.zst");
    std::fs::write(&zst, zstd::encode_all(&bytes[..], 3).unwrap()).unwrap();

    let pod = ["fargate-ns/nginx"];
    let want = timeline_json(&[pod[0], "-f", plain.to_str().unwrap()], None);
    assert_eq!(want["pods"].as_array().unwrap().len(), 1);
    for f in [&gz, &zst] {
        let got = timeline_json(&[pod[0], "-f", f.to_str().unwrap()], None);
        assert_eq!(got, want, "{}", f.display());
    }
    let got = timeline_json(&[pod[0], "-f", "-"], Some(bytes));
    assert_eq!(got["pods"], want["pods"], "stdin");
}

#[test]
fn the_seed_story_reads_as_the_article_found_it() {
    let out = ktrail()
        .args(["timeline", "fargate-ns/nginx", "--sample", "eks-fargate"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let rows: Vec<&str> = text.lines().collect();
    let created = rows
        .iter()
        .find(|l| l.contains("created;"))
        .expect("a create row");
    assert!(created.contains("kubernetes-admin"), "{created}");
    for (path, value) in [
        ("/spec/schedulerName", "=fargate-scheduler"),
        ("/spec/priorityClassName", "=system-node-critical"),
        ("/spec/priority", "=2000001000"),
        ("/metadata/labels", "="),
    ] {
        assert!(
            created.contains(&format!("{path}{value}")),
            "create row lacks {path}: {created}"
        );
    }
    assert!(created.contains("0500-amazon-eks-fargate-mutation.amazonaws.com set"));
    let update = rows
        .iter()
        .find(|l| l.contains("eks:fargate-scheduler") && l.contains("updated"))
        .expect("the fargate-scheduler update");
    assert!(
        update.contains("/metadata/annotations/CapacityProvisioned=0.25vCPU 0.5GB"),
        "{update}"
    );
    let binding = rows
        .iter()
        .find(|l| l.contains("bound to node"))
        .expect("a binding row");
    assert!(binding.contains("eks:fargate-scheduler"));
    assert!(binding.contains("fargate-ip-192-168-185-38.eu-west-1.compute.internal"));
    let kubelet = rows
        .iter()
        .filter(|l| l.contains("system:node:fargate-ip-") && l.contains("status"))
        .count();
    assert_eq!(kubelet, 2, "{text}");
    assert!(text.contains("scheduler fargate-scheduler"));
}

#[test]
fn samples_command_lists_every_sample() {
    let out = ktrail().arg("samples").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    for name in sample_names() {
        assert!(text.lines().any(|l| l.starts_with(&name)), "{name} missing");
    }
}

#[test]
fn reads_add_events_but_never_pods() {
    for name in sample_names() {
        let plain = timeline_json(&["--sample", &name], None);
        let reads = timeline_json(&["--sample", &name, "--reads"], None);
        let (a, b) = (
            plain["pods"].as_array().unwrap(),
            reads["pods"].as_array().unwrap(),
        );
        assert_eq!(a.len(), b.len(), "{name}: --reads changed the pods");
        for (p, q) in a.iter().zip(b) {
            assert_eq!(p["uid"], q["uid"], "{name}");
            let writes = |p: &Value| {
                p["events"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|e| !matches!(e["verb"].as_str(), Some("get" | "list" | "watch")))
                    .count()
            };
            assert_eq!(writes(p), writes(q), "{name}");
        }
    }
    let with_reads = timeline_json(
        &["fargate-ns/nginx", "--sample", "eks-fargate", "--reads"],
        None,
    );
    let kinds = crate::util::strs(&with_reads["pods"][0]["events"], "kind");
    assert!(
        kinds.contains(&"get") || kinds.contains(&"watch"),
        "{kinds:?}"
    );
}

/// A webhook called twice (reinvocation) is named with what each call patched, once per call: the
/// create's summary lists each of its paths once, in the order the calls made them.
#[test]
fn a_reinvoked_webhook_is_summarised_per_call() {
    let report = timeline_json(&["--sample", "reinvocation"], None);
    let create = report["pods"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p["events"].as_array().unwrap())
        .find(|e| e["kind"] == "create" && e["webhooks"].as_array().is_some_and(|w| w.len() > 1))
        .or_else(|| {
            report["pods"]
                .as_array()
                .unwrap()
                .iter()
                .flat_map(|p| p["events"].as_array().unwrap())
                .find(|e| e["kind"] == "create")
        })
        .expect("a create");
    let summary = create["summary"].as_str().unwrap();
    for (by, path) in create["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["by"].as_str().unwrap(), c["path"].as_str().unwrap()))
        .filter(|(by, _)| *by == "mutation.gatekeeper.sh")
    {
        assert_eq!(
            summary.matches(&format!("{path}=")).count(),
            1,
            "{by} {path} in {summary}"
        );
    }
    let calls: Vec<usize> = summary
        .match_indices("mutation.gatekeeper.sh set")
        .map(|(i, _)| i)
        .collect();
    assert_eq!(calls.len(), 2, "{summary}");
    let vault = summary.find("vault.hashicorp.com set").expect("vault");
    assert!(calls[0] < vault && vault < calls[1], "{summary}");
}
