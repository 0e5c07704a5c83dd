//! Evaluation and rendering over a small cluster story fed through the engine.

use serde_json::{json, Value};

use super::eval::{evaluate, Status};
use super::render::{self, xml, Format};
use super::rules::parse;
use crate::engine::Engine;
use crate::record::Selection;
use crate::render::Style;
use crate::timeline::Report;

fn at(secs: u32) -> String {
    let (m, s) = (secs / 60, secs % 60);
    format!("2024-05-01T10:{m:02}:{s:02}.000000Z")
}

fn event(id: &str, verb: &str, t: u32, user: &str, object: Value) -> Value {
    json!({
        "kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": "RequestResponse",
        "auditID": id, "stage": "ResponseComplete", "verb": verb,
        "user": {"username": user}, "objectRef": object,
        "responseStatus": {"metadata": {}, "code": 200},
        "requestReceivedTimestamp": at(t), "stageTimestamp": at(t),
    })
}

fn pod_obj(ns: &str, name: &str, uid: Option<&str>, scheduler: &str, extra: Value) -> Value {
    let mut spec =
        json!({"containers": [{"name": "app", "image": "app:1"}], "schedulerName": scheduler});
    if let (Value::Object(s), Value::Object(x)) = (&mut spec, extra) {
        s.extend(x);
    }
    let mut meta = json!({"name": name, "namespace": ns});
    if let Some(u) = uid {
        meta["uid"] = json!(u);
    }
    json!({"kind": "Pod", "apiVersion": "v1", "metadata": meta, "spec": spec})
}

/// A create with webhook calls: (configuration, webhook, mutated, patch paths or None).
#[allow(clippy::too_many_arguments)] // a fixture: one call per pod reads best flat
fn create(
    id: &str,
    ns: &str,
    name: &str,
    uid: &str,
    t: u32,
    user: &str,
    calls: &[(&str, &str, bool, Option<&[&str]>)],
    scheduler_after: &str,
    builtin: Value,
) -> Value {
    let mut ev = event(
        id,
        "create",
        t,
        user,
        json!({"resource": "pods", "namespace": ns, "name": name, "apiVersion": "v1"}),
    );
    ev["responseStatus"]["code"] = json!(201);
    ev["requestObject"] = pod_obj(ns, name, None, "default-scheduler", json!({}));
    let mut resp = pod_obj(ns, name, Some(uid), scheduler_after, builtin);
    let mut ann = serde_json::Map::new();
    for (i, (conf, hook, mutated, paths)) in calls.iter().enumerate() {
        ann.insert(
            format!("mutation.webhook.admission.k8s.io/round_0_index_{i}"),
            json!(json!({"configuration": conf, "webhook": hook, "mutated": mutated}).to_string()),
        );
        if let Some(paths) = paths {
            let ops: Vec<Value> = paths
                .iter()
                .map(|p| json!({"op": "add", "path": p, "value": "x"}))
                .collect();
            ann.insert(
                format!("patch.webhook.admission.k8s.io/round_0_index_{i}"),
                json!(json!({"configuration": conf, "webhook": hook, "patch": ops, "patchType": "JSONPatch"}).to_string()),
            );
            for p in paths.iter() {
                if let Some(rest) = p.strip_prefix("/metadata/labels/") {
                    resp["metadata"]["labels"][rest] = json!("x");
                }
            }
        }
    }
    ev["annotations"] = Value::Object(ann);
    ev["responseObject"] = resp;
    ev
}

fn binding(id: &str, ns: &str, name: &str, uid: &str, t: u32, node: &str, user: &str) -> Value {
    let mut ev = event(
        id,
        "create",
        t,
        user,
        json!({"resource": "pods", "namespace": ns, "name": name, "subresource": "binding", "apiVersion": "v1"}),
    );
    ev["responseStatus"]["code"] = json!(201);
    ev["requestObject"] = json!({"kind": "Binding", "apiVersion": "v1", "metadata": {"name": name, "namespace": ns, "uid": uid}, "target": {"kind": "Node", "name": node}});
    ev
}

fn ready(id: &str, ns: &str, name: &str, uid: &str, t: u32, node: &str) -> Value {
    let mut ev = event(
        id,
        "patch",
        t,
        &format!("system:node:{node}"),
        json!({"resource": "pods", "namespace": ns, "name": name, "subresource": "status", "apiVersion": "v1"}),
    );
    ev["requestObject"] = json!({"metadata": {"uid": uid}, "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}});
    ev
}

fn failed_open(ev: &mut Value, index: u32, webhook: &str) {
    ev["annotations"]
        [format!("failed-open.mutation.webhook.admission.k8s.io/round_0_index_{index}")] =
        json!(webhook);
}

const RS: &str = "system:serviceaccount:kube-system:replicaset-controller";
const FARGATE: &str = "0500-amazon-eks-fargate-mutation.amazonaws.com";

/// Five pods: one compliant Fargate pod, one that missed the Fargate webhook and was slow to be
/// Ready, one with a sidecar injector and an IRSA webhook touching containers and a webhook that
/// failed open, one denied create, and one never bound.
fn cluster() -> Report {
    let tol =
        json!({"tolerations": [{"key": "node.kubernetes.io/not-ready", "operator": "Exists"}]});
    let mut lines = vec![
        create(
            "c1",
            "fargate-ns",
            "api-1",
            "u1",
            0,
            RS,
            &[
                (
                    FARGATE,
                    FARGATE,
                    true,
                    Some(&[
                        "/spec/schedulerName",
                        "/metadata/labels/eks.amazonaws.com~1fargate-profile",
                    ]),
                ),
                (
                    "pod-identity-webhook",
                    "iam-for-pods.amazonaws.com",
                    false,
                    None,
                ),
            ],
            "fargate-scheduler",
            tol.clone(),
        ),
        binding(
            "b1",
            "fargate-ns",
            "api-1",
            "u1",
            50,
            "fargate-ip-10-0-0-1",
            "eks:fargate-scheduler",
        ),
        ready("r1", "fargate-ns", "api-1", "u1", 60, "fargate-ip-10-0-0-1"),
        create(
            "c2",
            "fargate-ns",
            "api-2",
            "u2",
            1,
            "alice",
            &[(
                "pod-identity-webhook",
                "iam-for-pods.amazonaws.com",
                false,
                None,
            )],
            "default-scheduler",
            tol.clone(),
        ),
        binding(
            "b2",
            "fargate-ns",
            "api-2",
            "u2",
            2,
            "ip-10-0-0-2",
            "system:kube-scheduler",
        ),
        ready("r2", "fargate-ns", "api-2", "u2", 300, "ip-10-0-0-2"),
        create(
            "c3",
            "default",
            "web",
            "u3",
            5,
            RS,
            &[
                (
                    "istio-sidecar-injector",
                    "namespace.sidecar-injector.istio.io",
                    true,
                    Some(&["/spec/containers/1", "/spec/initContainers"]),
                ),
                ("kyverno", "mutate.kyverno.svc-ign", false, None),
                (
                    "pod-identity-webhook",
                    "iam-for-pods.amazonaws.com",
                    true,
                    Some(&["/spec/containers"]),
                ),
            ],
            "default-scheduler",
            json!({}),
        ),
        binding(
            "b3",
            "default",
            "web",
            "u3",
            6,
            "ip-10-0-0-3",
            "system:kube-scheduler",
        ),
        ready("r3", "default", "web", "u3", 9, "ip-10-0-0-3"),
        create(
            "c5",
            "fargate-ns",
            "api-3",
            "u5",
            10,
            RS,
            &[(FARGATE, FARGATE, true, Some(&["/spec/schedulerName"]))],
            "fargate-scheduler",
            tol,
        ),
    ];
    failed_open(&mut lines[6], 1, "mutate.kyverno.svc-ign");
    let mut denied = event(
        "c4",
        "create",
        20,
        "bob",
        json!({"resource": "pods", "namespace": "default", "name": "blocked", "apiVersion": "v1"}),
    );
    denied["responseStatus"] = json!({"metadata": {}, "status": "Failure", "code": 400,
        "message": "admission webhook \"validate.kyverno.svc-fail\" denied the request: \u{1b}[31mno\u{1b}[0m <b>&"});
    denied["requestObject"] = pod_obj("default", "blocked", None, "default-scheduler", json!({}));
    lines.push(denied);
    let mut e = Engine::new(Selection::default());
    for l in &lines {
        assert!(e.feed_line(l.to_string().as_bytes()).is_none());
    }
    e.finish()
}

const RULES: &str = r#"
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
      boundWithin: 120s
      readyWithin: 180s
  - name: only istio adds containers
    forbid:
      mutations:
        - paths: ["/spec/containers*", "/spec/initContainers*"]
          unlessWebhook: [istio-sidecar-injector]
      failedOpen: true
      denied: true
  - name: no built-in tolerations
    pods: {namespace: fargate-ns}
    forbid:
      builtinChanges: ["/spec/tolerations*"]
  - name: iam never mutates
    expect:
      notMutatedBy: [pod-identity-webhook]
  - name: nobody in kube-system
    pods: {namespace: kube-system}
    forbid: {denied: true}
"#;

fn checks(v: &[super::eval::Violation]) -> Vec<&str> {
    v.iter().map(|v| v.check.as_str()).collect()
}

#[test]
fn each_rule_names_exactly_the_violating_pods() {
    let report = cluster();
    assert_eq!(report.pods.len(), 5);
    let rules = parse("r.yaml", RULES).unwrap();
    let v = evaluate(&rules, &report, false);

    let fargate = &v.rules[0];
    assert_eq!(fargate.status, Status::Fail);
    let names: Vec<&str> = fargate.pods.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["api-1", "api-2", "api-3"]);
    assert!(
        fargate.pods[0].violations.is_empty(),
        "{:?}",
        fargate.pods[0].violations
    );
    assert_eq!(
        checks(&fargate.pods[1].violations),
        [
            "expect.scheduler",
            "expect.node",
            "expect.createdBy",
            "expect.mutatedBy",
            "expect.readyWithin"
        ]
    );
    let ready = &fargate.pods[1].violations[4];
    assert_eq!(ready.found, "Ready 4m59.000s after creation");
    let ev = ready.event.as_ref().unwrap();
    assert_eq!(
        (ev.kind.as_str(), ev.audit_id.as_deref()),
        ("status", Some("r2"))
    );
    let mutated = &fargate.pods[1].violations[3];
    assert!(
        mutated.found.contains("was not called"),
        "{}",
        mutated.found
    );
    // Never bound: the node, the binding and Ready are all missing from the log.
    assert_eq!(
        checks(&fargate.pods[2].violations),
        ["expect.node", "expect.boundWithin", "expect.readyWithin"]
    );
    assert!(fargate.pods[2].violations[1]
        .found
        .starts_with("never bound in the log"));

    let istio = &v.rules[1];
    let bad: Vec<(&str, Vec<&str>)> = istio
        .pods
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
    let web = istio.pods.iter().find(|p| p.name == "web").unwrap();
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
    let blocked = istio.pods.iter().find(|p| p.name == "blocked").unwrap();
    assert!(blocked.denied && blocked.uid.is_none());
    assert!(blocked.violations[0]
        .found
        .starts_with("create denied by validate.kyverno.svc-fail"));

    let tol = &v.rules[2];
    assert_eq!(tol.failed_pods(), 3);
    assert_eq!(
        tol.pods[0].violations[0].found,
        "built-in admission changed /spec/tolerations"
    );

    // By configuration name as well as webhook name.
    let iam = &v.rules[3];
    let bad: Vec<&str> = iam
        .pods
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
    let report = cluster();
    let rules = parse(
        "r.yaml",
        "rules:\n  - name: r\n    pods: {name: blocked}\n    expect:\n      scheduler: x\n      node: x\n      boundWithin: 1s\n      readyWithin: 1s\n      mutatedBy: [{webhook: x}]\n      createdBy: bob\n",
    )
    .unwrap();
    let v = evaluate(&rules, &report, false);
    assert_eq!(v.rules[0].pods.len(), 1);
    assert!(v.rules[0].pods[0].violations.is_empty());
    assert!(v.passed);
}

#[test]
fn compliant_rules_pass_and_unmatched_rules_fail_only_when_required() {
    let report = cluster();
    let rules = parse(
        "r.yaml",
        "rules:\n  - name: a\n    pods: {name: api-1}\n    expect: {scheduler: fargate-scheduler, boundWithin: 50s, readyWithin: 1m}\n  - name: b\n    pods: {namespace: nowhere}\n    forbid: {denied: true}\n",
    )
    .unwrap();
    let v = evaluate(&rules, &report, false);
    assert!(v.passed);
    assert_eq!(v.rules[0].status, Status::Pass);
    assert_eq!(v.rules[1].status, Status::Unmatched);
    assert!(!evaluate(&rules, &report, true).passed);
}

fn rendered(format: Format, require_match: bool) -> String {
    let report = cluster();
    let rules = parse("r.yaml", RULES).unwrap();
    let v = evaluate(&rules, &report, require_match);
    let mut out = Vec::new();
    render::render(&v, format, Style::default(), &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

#[test]
fn the_table_names_rule_pod_expectation_evidence_and_event() {
    let t = rendered(Format::Table, false);
    assert!(
        t.starts_with("FAIL  fargate-ns pods run on Fargate  2 of 3 pods, 8 violations\n"),
        "{t}"
    );
    assert!(
        t.contains("\nWARN  nobody in kube-system           no pod matched\n"),
        "{t}"
    );
    assert!(t.contains(
        "VIOLATION only istio adds containers\n  pod:       default/web (uid u3)\n  check:     forbid.mutations\n  expected:  only istio-sidecar-injector patch /spec/containers*, /spec/initContainers*\n  log shows: iam-for-pods.amazonaws.com (round 0 index 2) patched /spec/containers on the create\n  event:     create at 2024-05-01T10:00:05.000000Z, auditID c3\n"
    ), "{t}");
    // The denial message carried terminal escapes: they are shown, not sent.
    assert!(!t.contains('\u{1b}'));
    assert!(t.contains("\\u{1b}[31mno"));
    assert!(
        t.ends_with(
            "check failed: 4 of 5 rules broken, 15 violations in 5 pods; 1 rule matched no pod\n"
        ),
        "{t}"
    );
}

#[test]
fn markdown_cells_are_escaped() {
    let m = rendered(Format::Markdown, false);
    assert!(m.starts_with("### ktrail check failed\n"));
    assert!(
        m.contains("| only istio adds containers | ❌ fail | 5 | 3 |"),
        "{m}"
    );
    assert!(m.contains("&lt;b&gt;"), "{m}");
    assert!(!m.contains("<b>") && !m.contains('\u{1b}'));
}

#[test]
fn json_is_the_whole_verdict() {
    let j: Value = serde_json::from_str(&rendered(Format::Json, true)).unwrap();
    assert_eq!(j["schemaVersion"], 1);
    assert_eq!(j["passed"], false);
    assert_eq!(j["requireMatch"], true);
    assert_eq!(j["rules"][4]["status"], "unmatched");
    assert_eq!(j["rules"][1]["pods"][0]["name"], "blocked");
    assert_eq!(j["rules"][1]["pods"][0]["uid"], Value::Null);
    assert_eq!(
        j["rules"][1]["pods"][0]["violations"][0]["event"]["auditID"],
        "c4"
    );
    assert_eq!(j["summary"]["violations"], 15);
}

#[test]
fn xml_text_is_escaped_and_valid() {
    assert_eq!(xml("a<b>&\"c'"), "a&lt;b&gt;&amp;&quot;c&apos;");
    assert_eq!(
        xml("x\u{0}y\u{1b}z\u{b}\u{fffe}"),
        "x\\u{0}y\\u{1b}z\\u{b}\\u{fffe}"
    );
    assert_eq!(xml("line\nbreak\ttab"), "line\\u{a}break\\u{9}tab");
}

#[test]
fn junit_has_a_suite_per_rule_and_a_failure_per_violating_pod() {
    let x = rendered(Format::Junit, false);
    assert!(x.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"ktrail check\" tests=\"17\" failures=\"8\" errors=\"0\" skipped=\"1\">"), "{x}");
    assert_eq!(x.matches("<testsuite ").count(), 5);
    assert_eq!(x.matches("<failure ").count(), 8);
    assert_eq!(x.matches("<skipped ").count(), 1);
    assert!(!x.contains('\u{1b}'));
    assert!(x.contains("&lt;b&gt;&amp;"), "{x}");
    let x = rendered(Format::Junit, true);
    assert_eq!(x.matches("<failure ").count(), 9);
    assert!(x.contains("type=\"requireMatch\""));
}
