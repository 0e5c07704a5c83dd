//! A small cluster story fed through the engine, and rules over it: the fixture of the check
//! tests here and of the check report's renderers in the application.

use serde_json::{json, Value};

use crate::collect::Collector;
use crate::record::Selection;
use crate::timeline::Report;

pub fn at(secs: u32) -> String {
    let (m, s) = (secs / 60, secs % 60);
    format!("2024-05-01T10:{m:02}:{s:02}.000000Z")
}

pub fn event(id: &str, verb: &str, t: u32, user: &str, object: Value) -> Value {
    json!({
        "kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": "RequestResponse",
        "auditID": id, "stage": "ResponseComplete", "verb": verb,
        "user": {"username": user}, "objectRef": object,
        "responseStatus": {"metadata": {}, "code": 200},
        "requestReceivedTimestamp": at(t), "stageTimestamp": at(t),
    })
}

pub fn pod_obj(ns: &str, name: &str, uid: Option<&str>, scheduler: &str, extra: Value) -> Value {
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
pub fn create(
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

pub fn binding(id: &str, ns: &str, name: &str, uid: &str, t: u32, node: &str, user: &str) -> Value {
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

pub fn ready(id: &str, ns: &str, name: &str, uid: &str, t: u32, node: &str) -> Value {
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

pub fn failed_open(ev: &mut Value, index: u32, webhook: &str) {
    ev["annotations"]
        [format!("failed-open.mutation.webhook.admission.k8s.io/round_0_index_{index}")] =
        json!(webhook);
}

const RS: &str = "system:serviceaccount:kube-system:replicaset-controller";
const FARGATE: &str = "0500-amazon-eks-fargate-mutation.amazonaws.com";

/// Five pods: one compliant Fargate pod, one that missed the Fargate webhook and was slow to be
/// Ready, one with a sidecar injector and an IRSA webhook touching containers and a webhook that
/// failed open, one denied create, and one never bound.
pub fn cluster() -> Report {
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
    let mut e = Collector::new(Selection::default());
    for l in &lines {
        assert!(e.feed_line(l.to_string().as_bytes()).is_none());
    }
    e.finish().expect("in memory")
}

pub const RULES: &str = r#"
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
