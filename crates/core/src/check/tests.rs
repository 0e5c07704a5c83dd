//! Evaluation over a small cluster story fed through the engine.

use super::eval::{evaluate, judge, CheckReport, Evaluator, Status};
use super::fixture::{cluster, RULES};
use super::rules::parse;

/// The verdict of the rules in `yaml` over the cluster story.
fn verdict(yaml: &str, require_match: bool) -> CheckReport {
    evaluate(&parse("r.yaml", yaml).unwrap(), &cluster(), require_match)
}

fn checks(v: &[super::eval::Violation]) -> Vec<&str> {
    v.iter().map(|v| v.check.as_str()).collect()
}

#[test]
fn each_rule_names_exactly_the_violating_pods() {
    let report = cluster();
    assert_eq!(report.pods.len(), 5);
    let v = verdict(RULES, false);

    let fargate = &v.rules[0];
    let fargate_pods = fargate.pods.to_vec().unwrap();
    assert_eq!(fargate.status, Status::Fail);
    let names: Vec<&str> = fargate_pods.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["api-1", "api-2", "api-3"]);
    assert!(
        fargate_pods[0].violations.is_empty(),
        "{:?}",
        fargate_pods[0].violations
    );
    assert_eq!(
        checks(&fargate_pods[1].violations),
        [
            "expect.scheduler",
            "expect.node",
            "expect.createdBy",
            "expect.mutatedBy",
            "expect.readyWithin"
        ]
    );
    let ready = &fargate_pods[1].violations[4];
    assert_eq!(ready.found, "Ready 4m59.000s after creation");
    let ev = ready.event.as_ref().unwrap();
    assert_eq!(
        (ev.kind.as_str(), ev.audit_id.as_deref()),
        ("status", Some("r2"))
    );
    let mutated = &fargate_pods[1].violations[3];
    assert!(
        mutated.found.contains("was not called"),
        "{}",
        mutated.found
    );
    // Never bound: the node, the binding and Ready are all missing from the log.
    assert_eq!(
        checks(&fargate_pods[2].violations),
        ["expect.node", "expect.boundWithin", "expect.readyWithin"]
    );
    assert!(fargate_pods[2].violations[1]
        .found
        .starts_with("never bound in the log"));

    let istio = &v.rules[1];
    let istio_pods = istio.pods.to_vec().unwrap();
    let bad: Vec<(&str, Vec<&str>)> = istio_pods
        .iter()
        .filter(|p| !p.violations.is_empty())
        .map(|p| (p.name.as_str(), checks(&p.violations)))
        .collect();
    assert_eq!(
        bad,
        [
            ("blocked", vec!["forbid.denied"]),
            ("web", vec!["forbid.mutations", "forbid.failedOpen"]),
        ]
    );
    let web = istio_pods.iter().find(|p| p.name == "web").unwrap();
    assert_eq!(
        web.violations[0].found,
        "iam-for-pods.amazonaws.com (round 0 index 2) patched /spec/containers on the create"
    );
    assert_eq!(
        web.violations[0]
            .event
            .as_ref()
            .unwrap()
            .audit_id
            .as_deref(),
        Some("c3")
    );
    let blocked = istio_pods.iter().find(|p| p.name == "blocked").unwrap();
    assert!(blocked.denied && blocked.uid.is_none());
    assert!(blocked.violations[0]
        .found
        .starts_with("create denied by validate.kyverno.svc-fail"));

    let tol = &v.rules[2];
    let tol_pods = tol.pods.to_vec().unwrap();
    assert_eq!(tol.failed_pods(), 3);
    assert_eq!(
        tol_pods[0].violations[0].found,
        "built-in admission changed /spec/tolerations"
    );

    // By configuration name as well as webhook name.
    let iam = &v.rules[3];
    let iam_pods = iam.pods.to_vec().unwrap();
    let bad: Vec<&str> = iam_pods
        .iter()
        .filter(|p| !p.violations.is_empty())
        .map(|p| p.name.as_str())
        .collect();
    assert_eq!(bad, ["web"]);

    assert_eq!(v.rules[4].status, Status::Unmatched);
    assert!(!v.passed);
    assert_eq!(v.summary.violations, 5 + 3 + 1 + 2 + 3 + 1);
}

#[test]
fn denied_creates_are_held_only_to_what_a_request_can_show() {
    let v = verdict(
        "rules:\n  - name: r\n    pods: {name: blocked}\n    expect:\n      scheduler: x\n      node: x\n      boundWithin: 1s\n      readyWithin: 1s\n      mutatedBy: [{webhook: x}]\n      createdBy: bob\n",
        false,
    );
    assert_eq!(v.rules[0].pods.len(), 1);
    assert!(v.rules[0].pods.to_vec().unwrap()[0].violations.is_empty());
    assert!(v.passed);
}

#[test]
fn compliant_rules_pass_and_unmatched_rules_fail_only_when_required() {
    let rules = "rules:\n  - name: a\n    pods: {name: api-1}\n    expect: {scheduler: fargate-scheduler, boundWithin: 50s, readyWithin: 1m}\n  - name: b\n    pods: {namespace: nowhere}\n    forbid: {denied: true}\n";
    let v = verdict(rules, false);
    assert!(v.passed);
    assert_eq!(v.rules[0].status, Status::Pass);
    assert_eq!(v.rules[1].status, Status::Unmatched);
    assert!(!verdict(rules, true).passed);
}

#[test]
fn results_past_the_budget_give_the_same_verdict() {
    let rules = parse("r.yaml", RULES).unwrap();
    let report = cluster();
    let in_memory = evaluate(&rules, &report, false);
    let mut e = Evaluator::new(&rules, false).with_memory(0);
    for p in &report.pods {
        e.push(judge(&rules, p)).unwrap();
    }
    let written = e.finish();
    assert!(written.rules.iter().any(|r| r.pods.len() > 1));
    for (w, m) in written.rules.iter().zip(&in_memory.rules) {
        assert_eq!(w.pods.written(), w.pods.len(), "{}", w.name);
        assert_eq!(m.pods.written(), 0);
        assert_eq!(
            (w.status, w.failed_pods(), w.violations()),
            (m.status, m.failed_pods(), m.violations())
        );
    }
    assert_eq!(
        serde_json::to_string(&written).unwrap(),
        serde_json::to_string(&in_memory).unwrap()
    );
    assert_eq!(written.summary.pods_failed, in_memory.summary.pods_failed);
}
