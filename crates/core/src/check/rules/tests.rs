use super::*;

fn err(text: &str) -> String {
    parse("rules.yaml", text).unwrap_err().to_string()
}

const FULL: &str = r#"
rules:
  - name: fargate-ns pods run on Fargate
    pods: {namespace: fargate-ns, name: "api-*"}
    expect:
      scheduler: fargate-scheduler
      node: "^fargate-ip-"
      createdBy: "system:serviceaccount:kube-system:replicaset-controller"
      mutatedBy:
        - webhook: 0500-amazon-eks-fargate-mutation.amazonaws.com
          paths: [/spec/schedulerName]
      notMutatedBy: [mutation.gatekeeper.sh]
      boundWithin: 120s
      readyWithin: 1h30m
  - name: only istio adds containers
    pods: {namespace: "*"}
    forbid:
      mutations:
        - paths: ["/spec/containers*", "/spec/initContainers*"]
          unlessWebhook: [namespace.sidecar-injector.istio.io]
      failedOpen: true
      denied: true
      builtinChanges: ["/spec/tolerations*"]
"#;

#[test]
fn the_issue_example_reads() {
    let r = parse("rules.yaml", FULL).unwrap();
    assert_eq!(r.rules.len(), 2);
    let a = &r.rules[0];
    assert_eq!(a.name, "fargate-ns pods run on Fargate");
    assert!(a.pods.matches("fargate-ns", "api-7d9"));
    assert!(!a.pods.matches("fargate-ns", "web-1"));
    assert!(!a.pods.matches("default", "api-1"));
    assert_eq!(
        a.expect.scheduler.as_ref().unwrap().as_str(),
        "fargate-scheduler"
    );
    assert!(a.expect.node.as_ref().unwrap().0.is_match("fargate-ip-1-2"));
    assert_eq!(
        a.expect.mutated_by[0].paths[0].as_str(),
        "/spec/schedulerName"
    );
    assert_eq!(a.expect.bound_within.as_ref().unwrap().seconds(), 120.0);
    assert_eq!(a.expect.ready_within.as_ref().unwrap().seconds(), 5400.0);
    let b = &r.rules[1];
    assert!(b.pods.matches("anything", "at-all"));
    assert!(b.forbid.failed_open && b.forbid.denied);
    let m = &b.forbid.mutations[0];
    // `*` crosses `/`: a glob over JSON Pointer paths covers everything below.
    assert!(m.paths[0].is_match("/spec/containers/1/image"));
    assert!(m.paths[0].is_match("/spec/containers"));
    assert!(!m.paths[0].is_match("/spec/volumes/0"));
    assert!(b.forbid.builtin_changes[0].is_match("/spec/tolerations/0/key"));
}

#[test]
fn a_missing_pods_key_matches_every_pod() {
    let r = parse("r", "rules:\n  - name: x\n    forbid: {denied: true}\n").unwrap();
    assert!(r.rules[0].pods.matches("kube-system", "coredns-1"));
}

#[test]
fn a_typo_is_named_with_its_line() {
    let e = err(
        "rules:\n  - name: x\n    expect:\n      node: a\n      schedular: fargate-scheduler\n",
    );
    assert!(
        e.starts_with("rules.yaml:5:7: rules[0].expect: unknown field `schedular`"),
        "{e}"
    );
}

#[test]
fn unknown_keys_are_refused_at_every_level() {
    for (text, key, line) in [
        ("rulez: []\n", "rulez", 1),
        ("rules:\n  - name: x\n    forbid: {denied: true}\n    expekt: {}\n", "expekt", 4),
        ("rules:\n  - name: x\n    pods: {namespace: a, nmae: b}\n    forbid: {denied: true}\n", "nmae", 3),
        ("rules:\n  - name: x\n    expect:\n      mutatedBy:\n        - webhook: a\n          path: [/x]\n", "path", 6),
        ("rules:\n  - name: x\n    forbid:\n      mutations:\n        - paths: [/x]\n          unlessWebhooks: [a]\n", "unlessWebhooks", 6),
        ("rules:\n  - name: x\n    forbid:\n      failedopen: true\n", "failedopen", 4),
    ] {
        let e = err(text);
        assert!(e.contains(&format!("unknown field `{key}`")), "{e}");
        assert!(e.starts_with(&format!("rules.yaml:{line}:")), "{e}");
    }
}

#[test]
fn bad_values_are_named_by_key_and_line() {
    let e =
        err("rules:\n  - name: x\n    forbid:\n      builtinChanges: [\"/ok*\", \"/spec/[a\"]\n");
    assert!(e.starts_with("rules.yaml:4:"), "{e}");
    assert!(
        e.contains("rules[0].forbid.builtinChanges[1]: invalid glob \"/spec/[a\""),
        "{e}"
    );

    let e = err("rules:\n  - name: x\n    expect:\n      node: \"^fargate-(ip\"\n");
    assert!(
        e.starts_with("rules.yaml:4:13: rules[0].expect.node: invalid regex"),
        "{e}"
    );
    assert!(!e.contains('\n'), "one line: {e}");

    for bad in ["120", "2 minutes", "-5s", "1h30", "s"] {
        let e = err(&format!(
            "rules:\n  - name: x\n    expect:\n      readyWithin: \"{bad}\"\n"
        ));
        assert!(e.starts_with("rules.yaml:4:"), "{e}");
        assert!(
            e.contains("rules[0].expect.readyWithin: invalid duration"),
            "{e}"
        );
    }

    let e = err("rules:\n  - name: x\n    pods: {namespace: \"\"}\n    forbid: {denied: true}\n");
    assert!(e.contains("rules[0].pods.namespace: empty glob"), "{e}");

    let e = err("rules:\n  - name: x\n    forbid: {denied: maybe}\n");
    assert!(e.contains("rules[0].forbid.denied: invalid type"), "{e}");

    let e = err("rules:\n  - name: x\n    expect: {notMutatedBy: [\"\"]}\n");
    assert!(
        e.contains("rules[0].expect.notMutatedBy[0]: empty string"),
        "{e}"
    );
}

#[test]
fn rules_that_check_nothing_or_share_a_name_are_refused() {
    let e = err(
        "rules:\n  - name: x\n    forbid: {denied: true}\n  - name: y\n    pods: {namespace: a}\n",
    );
    assert!(e.starts_with("rules.yaml:4:"), "{e}");
    assert!(e.contains("rule \"y\" checks nothing"), "{e}");

    let e = err("rules:\n  - name: x\n    forbid: {denied: true}\n  - name: x\n    forbid: {failedOpen: true}\n");
    assert!(e.starts_with("rules.yaml:4:11: rules[1].name:"), "{e}");
    assert!(e.contains("must be unique"), "{e}");

    // The names seen by one parse do not leak into the next.
    parse("r", "rules:\n  - name: x\n    forbid: {denied: true}\n").unwrap();
    parse("r", "rules:\n  - name: x\n    forbid: {denied: true}\n").unwrap();

    assert!(err("rules: []\n").contains("`rules` is empty"));
    assert!(err("  \n").contains("the file is empty"));
    assert!(err("rules:\n  - name: \" \"\n    forbid: {denied: true}\n").contains("blank"));
}

#[test]
fn yaml_syntax_errors_carry_a_position() {
    let e = err("rules:\n  - name: x\n    forbid: {denied: true\n");
    assert!(e.starts_with("rules.yaml:"), "{e}");
    let e = err("rules:\n  - name: x\n    pods: {namespace: *}\n");
    assert!(e.starts_with("rules.yaml:3:"), "{e}");
}

#[test]
fn an_unreadable_file_is_an_error() {
    let e = load(Path::new("/no/such/rules.yaml")).unwrap_err();
    assert!(matches!(e, RulesError::Io { .. }));
}
