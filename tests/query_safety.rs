//! Names given on the command line are spliced into Logs Insights queries and FilterLogEvents
//! patterns. Anything that is not a valid Kubernetes name, uid, EKS cluster name or log group
//! name is refused with exit code 2 before a query is built, whatever the command; the refusal
//! itself prints the value escaped. `ktrail query` needs no AWS access, so this runs offline.

fn ktrail(args: &[&str]) -> (i32, String, String) {
    crate::util::run(
        crate::util::ktrail()
            .args(args)
            // Never reach a real endpoint, whatever a test gets wrong.
            .env("AWS_ENDPOINT_URL_CLOUDWATCH_LOGS", "http://127.0.0.1:9")
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .timeout(std::time::Duration::from_secs(60)),
    )
}

/// Values that must never reach a query: quotes, pipes, slashes, regex metacharacters, newlines,
/// terminal escapes, spaces, uppercase and non-ASCII letters, empty and over-long names.
fn hostile() -> Vec<String> {
    let mut v: Vec<String> = [
        "ngi\"nx",
        "ngi'nx",
        "ngi`nx",
        "a|b",
        "a | filter 1 == 1",
        "x' or '1' == '1",
        "x\" || $.verb = \"*",
        "a\nb",
        "a\r\n| stats count(*)",
        "a\\b",
        "a*",
        ".*",
        "a+b",
        "a?",
        "^a$",
        "(a)",
        "[a-z]",
        "{a}",
        "a b",
        "a\tb",
        "A",
        "ngïnx",
        "a\u{1b}[2Jb",
        "a\u{202e}b",
        "-a",
        "a-",
        "",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    v.push("a".repeat(300));
    v
}

fn assert_refused(args: &[&str], what: &str) {
    let (code, out, err) = ktrail(args);
    assert_eq!(code, 2, "{what}: {args:?} was accepted:\n{out}{err}");
    assert!(out.is_empty(), "{what}: {args:?} printed a query:\n{out}");
    assert!(
        err.starts_with("ktrail: invalid ") && err.ends_with('\n') && err.lines().count() == 1,
        "{what}: one line on stderr: {err:?}"
    );
    assert!(
        !err.trim_end().chars().any(ktrail_core::escape::is_unsafe),
        "{what}: raw control character on stderr: {err:?}"
    );
}

#[test]
fn the_example_from_the_issue_exits_2() {
    assert_refused(
        &["query", "fargate-ns/ngi\"nx", "--cluster", "x"],
        "issue example",
    );
    // And a valid one is printed, with the names where they belong.
    let (code, out, _) = ktrail(&["query", "fargate-ns/nginx", "--cluster", "x"]);
    assert_eq!(code, 0);
    assert!(out.contains("objectRef.namespace == 'fargate-ns'"), "{out}");
    assert!(out.contains("objectRef.name == 'nginx'"), "{out}");
}

#[test]
fn hostile_pod_names_and_namespaces_are_refused_for_both_engines() {
    for engine in ["insights", "filter"] {
        for bad in hostile() {
            // A slash splits POD into namespace and name; one more is refused too.
            // `--` and `--opt=VALUE`: a value starting with '-' reaches the validation.
            let pod = format!("fargate-ns/{bad}");
            assert_refused(
                &["query", "--cluster=x", "--engine", engine, "--", &pod],
                "name",
            );
            let pod = format!("{bad}/nginx");
            assert_refused(
                &["query", "--cluster=x", "--engine", engine, "--", &pod],
                "namespace",
            );
            let ns = format!("--namespace={bad}");
            assert_refused(&["query", "--engine", engine, &ns, "nginx"], "--namespace");
        }
        for bad in ["a/b/c", "a.b/nginx", "fargate-ns/a/b", "/nginx"] {
            let (code, out, err) = ktrail(&["query", bad, "--engine", engine]);
            assert_eq!(code, 2, "{bad}: {out}{err}");
            assert!(out.is_empty() && err.contains("invalid"), "{bad}: {err}");
        }
    }
}

#[test]
fn hostile_uids_cluster_names_log_groups_and_created_names_are_refused() {
    for bad in hostile() {
        let uid = format!("--uid=3f2b6c1e-9d4a-4b8e-a1c2-0e5f7a9b1c3d{bad}");
        if !bad.is_empty() {
            assert_refused(&["query", "a/b", &uid], "--uid");
        }
        assert_refused(&["query", "a/b", &format!("--uid={bad}")], "--uid");
        assert_refused(&["query", &format!("--created={bad}")], "--created");
        if !["A", "a-"].contains(&bad.as_str()) {
            // Uppercase and a trailing '-' are valid in an EKS cluster name.
            assert_refused(&["query", "a/b", &format!("--cluster={bad}")], "--cluster");
        }
    }
    for bad in [
        "/aws/eks/x\"y/cluster",
        "/aws/eks/x'y/cluster",
        "/aws/eks/x|y/cluster",
        "/aws/eks/x y/cluster",
        "/aws/eks/x\ny/cluster",
        "/aws/eks/x*/cluster",
        "",
    ] {
        assert_refused(
            &["query", "a/b", &format!("--log-group={bad}")],
            "--log-group",
        );
    }
}

#[test]
fn every_cloudwatch_command_validates_before_it_connects() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules.yaml");
    std::fs::write(&rules, "rules:\n  - name: x\n    forbid: {denied: true}\n").unwrap();
    let rules = rules.to_str().unwrap();
    let out_file = dir.path().join("fetched.jsonl");
    let out_file = out_file.to_str().unwrap();
    let mut cases: Vec<Vec<&str>> = Vec::new();
    for cmd in ["timeline", "fetch"] {
        for pod in ["default/x'", "default/a|b", "a\nb/x", "default/.*"] {
            cases.push(vec![cmd, pod, "--cluster", "c"]);
        }
        cases.push(vec![cmd, "default/x", "--cluster", "bad'c"]);
        cases.push(vec![
            cmd,
            "default/x",
            "--log-group",
            "/aws/eks/c|x/cluster",
        ]);
    }
    for c in cases.iter_mut().filter(|c| c[0] == "fetch") {
        c.extend(["-o", out_file]);
    }
    for cmd in [&["webhooks"][..], &["pods"], &["check", "--rules", rules]] {
        let mut a = cmd.to_vec();
        a.extend(["--cluster", "bad\"c"]);
        cases.push(a);
    }
    for a in cases {
        let (code, out, err) = ktrail(&a);
        assert_eq!(code, 2, "{a:?}: {out}{err}");
        assert!(err.contains("invalid"), "{a:?}: {err}");
        assert!(out.is_empty(), "{a:?}: {out}");
    }
    assert!(
        !dir.path().join("fetched.jsonl").exists(),
        "fetch wrote before validating"
    );
}

#[test]
fn valid_names_are_quoted_as_given() {
    for (pod, name) in [
        ("default/web-1", "web-1"),
        (
            "kube-system/coredns-5d78c9869d-abcde",
            "coredns-5d78c9869d-abcde",
        ),
        ("a/my.dotted.name", "my.dotted.name"),
        ("a/0", "0"),
    ] {
        let (code, out, err) = ktrail(&["query", pod, "--cluster", "my_cluster-1"]);
        assert_eq!(code, 0, "{pod}: {err}");
        assert!(
            out.contains(&format!("objectRef.name == '{name}'")),
            "{out}"
        );
        assert!(err.contains("/aws/eks/my_cluster-1/cluster"), "{err}");
        let (code, out, _) = ktrail(&["query", pod, "--engine", "filter"]);
        assert_eq!(code, 0);
        assert!(
            out.contains(&format!("$.objectRef.name = \"{name}\"")),
            "{out}"
        );
    }
    let (code, out, _) = ktrail(&[
        "query",
        "a/b",
        "--uid",
        "3f2b6c1e-9d4a-4b8e-a1c2-0e5f7a9b1c3d",
    ]);
    assert_eq!(code, 0, "a valid uid is accepted: {out}");
}
