//! `--memory`: with a budget far below what a generated log's pod writes take, every command
//! spills them to temporary files and gives the answer it gives with the default budget, byte
//! for byte, exit code and diagnostics included.

use std::path::Path;

use ktrail_corpus::Spec;

use crate::util::{ktrail, run_raw, write_corpus};

/// Stdout, stderr and exit code of one run.
fn outcome(args: &[&str], dir: &Path) -> (i32, Vec<u8>, String) {
    run_raw(ktrail().args(args).env("TMPDIR", dir))
}

#[test]
fn a_tiny_budget_gives_every_command_the_same_answer() {
    let dir = tempfile::tempdir().unwrap();
    let (file, expected) = write_corpus(dir.path(), &Spec::stories(5, 150, 10));
    let log = file.to_str().unwrap();
    let pod = &expected.pods[expected.pods.len() / 3];
    let one = format!("{}/{}", pod.namespace, pod.name);
    let rules = dir.path().join("rules.yaml");
    std::fs::write(
        &rules,
        "rules:\n  - name: every pod is scheduled\n    pods: {namespace: \"*\"}\n    expect:\n      scheduler: default-scheduler\n  - name: every pod on Fargate\n    pods: {namespace: \"*\"}\n    expect:\n      node: \"^fargate-\"\n      boundWithin: 1ms\n",
    )
    .unwrap();
    let rules = rules.to_str().unwrap();
    let commands: Vec<Vec<&str>> = vec![
        vec!["timeline", "-f", log, "-o", "json"],
        vec!["timeline", "-f", log],
        vec!["timeline", &one, "-f", log, "-o", "markdown"],
        vec!["timeline", "-f", log, "-o", "mermaid"],
        vec!["pods", "-f", log, "-o", "json"],
        vec!["pods", "-f", log, "--sort", "created-to-ready"],
        vec!["pods", "-f", log, "-o", "csv"],
        vec!["webhooks", "-f", log, "-o", "json"],
        vec!["check", "--rules", rules, "-f", log, "-o", "json"],
        vec!["check", "--rules", rules, "-f", log],
        vec!["check", "--rules", rules, "-f", log, "-o", "junit"],
        vec!["check", "--rules", rules, "-f", log, "-o", "markdown"],
        vec!["report", "-f", log, "--max-stories", "20"],
        vec!["blame", &one, "-f", log, "-o", "json"],
        vec!["diff", &one, "-f", log],
    ];
    for args in commands {
        let whole = outcome(&args, dir.path());
        assert!(
            whole.0 == 0 || args[0] == "check" || args[0] == "diff",
            "{args:?}: {}",
            whole.2
        );
        assert!(
            !whole.1.is_empty() || !whole.2.is_empty(),
            "{args:?} said nothing"
        );
        let tiny = [args.as_slice(), &["--memory", "16K"]].concat();
        let small = outcome(&tiny, dir.path());
        assert!(small == whole, "{args:?} with --memory 16K: {}", small.2);
        // The budget did send records to temporary files: where none can be written, the run
        // fails and says why, where the default budget needs none.
        let nowhere = dir.path().join("missing");
        let (code, _, err) = outcome(&tiny, &nowhere);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(err.contains("past the memory budget"), "{args:?}: {err}");
        assert_eq!(outcome(&args, &nowhere), whole, "{args:?}");
    }
}

#[test]
fn a_budget_is_a_size() {
    for (given, ok) in [
        ("512M", true),
        ("2G", true),
        ("64KiB", true),
        ("1.5GB", true),
        ("0", true),
        ("lots", false),
        ("12Q", false),
        ("1M2", false),
    ] {
        let (code, _, err) =
            run_raw(ktrail().args(["pods", "--sample", "eks-fargate", "--memory", given]));
        assert_eq!(code == 0, ok, "{given}: {err}");
        if !ok {
            assert_eq!(code, 2, "{given}");
            assert!(err.contains("not a size"), "{given}: {err}");
        }
    }
}

/// The check's results have a share of the budget of their own (the verdict lists every pod a
/// rule selects): past it they go to temporary files, with the same report in every format, while
/// the pod records of a small sample stay in memory; where nothing can be written, the run says
/// that it was the results.
#[test]
fn the_checks_results_past_their_share_give_the_same_verdict() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from("rules:\n");
    for i in 0..200 {
        text.push_str(&format!(
            "  - name: rule {i}\n    pods: {{namespace: \"*\"}}\n    expect:\n      scheduler: no-such-scheduler\n"
        ));
    }
    let rules = dir.path().join("rules.yaml");
    std::fs::write(&rules, text).unwrap();
    let rules = rules.to_str().unwrap();
    for format in ["json", "table", "junit", "markdown"] {
        let args = [
            "check",
            "--rules",
            rules,
            "--sample",
            "eks-fargate",
            "-o",
            format,
        ];
        let whole = outcome(&args, dir.path());
        assert_eq!(whole.0, 1, "{format}: {}", whole.2);
        let tiny = [args.as_slice(), &["--memory", "128K"]].concat();
        assert!(
            outcome(&tiny, dir.path()) == whole,
            "{format} with --memory 128K"
        );
        let (code, _, err) = outcome(&tiny, &dir.path().join("missing"));
        assert_eq!(code, 2, "{format}: {err}");
        assert!(
            err.contains("writing the check's results past the memory budget"),
            "{format}: {err}"
        );
    }
}
