//! A small audit log written for the cluster-wide views: two incarnations of one pod, a denied
//! create, a pod whose creator, user agent and webhook names are hostile, reinvocation, webhooks
//! that failed open, and the configuration writes that say who installed what.

// Each test file uses a part of it; the event builders take the fields one by one on purpose, so
// that every line of `log()` reads as the event it writes.
#![allow(dead_code, clippy::too_many_arguments)]

use serde_json::{json, Value};

const T0: i64 = 1_714_557_600; // 2024-05-01T10:00:00Z

/// `2024-05-01T10:00:00Z` plus `ms` milliseconds, the way audit logs write times.
pub fn at(ms: i64) -> String {
    let t = chrono::DateTime::from_timestamp(T0, 0).unwrap() + chrono::Duration::milliseconds(ms);
    t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

struct Ev {
    id: String,
    verb: &'static str,
    user: String,
    agent: String,
    object_ref: Value,
    code: i64,
    message: Option<String>,
    request: Option<Value>,
    response: Option<Value>,
    annotations: Vec<(String, String)>,
    time: String,
}

impl Ev {
    fn line(self) -> String {
        let mut annotations = serde_json::Map::new();
        annotations.insert("authorization.k8s.io/decision".into(), json!("allow"));
        for (k, v) in self.annotations {
            annotations.insert(k, Value::String(v));
        }
        let mut status = json!({"metadata": {}, "code": self.code});
        if let Some(m) = self.message {
            status["message"] = json!(m);
        }
        let mut ev = json!({
            "kind": "Event",
            "apiVersion": "audit.k8s.io/v1",
            "level": "RequestResponse",
            "auditID": self.id,
            "stage": "ResponseComplete",
            "requestURI": "/api/v1/x",
            "verb": self.verb,
            "user": {"username": self.user, "groups": ["system:authenticated"]},
            "userAgent": self.agent,
            "objectRef": self.object_ref,
            "responseStatus": status,
            "requestReceivedTimestamp": self.time,
            "stageTimestamp": self.time,
            "annotations": annotations,
        });
        if let Some(r) = self.request {
            ev["requestObject"] = r;
        }
        if let Some(r) = self.response {
            ev["responseObject"] = r;
        }
        ev.to_string()
    }
}

fn pod_ref(ns: &str, name: &str, uid: Option<&str>, sub: Option<&str>) -> Value {
    let mut r = json!({"resource": "pods", "namespace": ns, "name": name, "apiVersion": "v1"});
    if let Some(u) = uid {
        r["uid"] = json!(u);
    }
    if let Some(s) = sub {
        r["subresource"] = json!(s);
    }
    r
}

fn mutation(round: u32, index: u32, conf: &str, hook: &str, mutated: bool) -> (String, String) {
    (
        format!("mutation.webhook.admission.k8s.io/round_{round}_index_{index}"),
        json!({"configuration": conf, "webhook": hook, "mutated": mutated}).to_string(),
    )
}

fn patch(round: u32, index: u32, conf: &str, hook: &str, paths: &[&str]) -> (String, String) {
    let ops: Vec<Value> = paths
        .iter()
        .map(|p| json!({"op": "add", "path": p, "value": "x"}))
        .collect();
    (
        format!("patch.webhook.admission.k8s.io/round_{round}_index_{index}"),
        json!({"configuration": conf, "webhook": hook, "patch": ops, "patchType": "JSONPatch"})
            .to_string(),
    )
}

/// A create of an incarnation of shop/web-1 by deployer with kubectl: the injector mutated it
/// in round 0, patching `paths`, and then `last` was annotated.
fn web_1(id: &str, uid: &str, paths: &[&str], last: (String, String), ms: i64) -> String {
    let annotations = vec![
        mutation(0, 0, INJECTOR, INJECT, true),
        patch(0, 0, INJECTOR, INJECT, paths),
        last,
    ];
    create(
        id,
        "shop",
        "web-1",
        uid,
        "deployer",
        "kubectl/v1.29.0 (linux/amd64)",
        annotations,
        true,
        ms,
    )
}

fn pod_body(ns: &str, name: &str) -> Value {
    json!({"kind": "Pod", "apiVersion": "v1",
           "metadata": {"name": name, "namespace": ns},
           "spec": {"containers": [{"name": "app", "image": "nginx"}]}})
}

/// The stored pod: the request plus the webhook's changes plus built-in defaulting
/// (`/spec/serviceAccountName`, `/spec/schedulerName`).
fn stored(ns: &str, name: &str, uid: &str, injected: bool) -> Value {
    let mut p = pod_body(ns, name);
    p["metadata"]["uid"] = json!(uid);
    p["metadata"]["resourceVersion"] = json!("1");
    p["spec"]["serviceAccountName"] = json!("default");
    p["spec"]["schedulerName"] = json!("default-scheduler");
    if injected {
        p["spec"]["containers"]
            .as_array_mut()
            .unwrap()
            .push(json!({"name": "sidecar", "image": "proxy"}));
        p["metadata"]["labels"] = json!({"injected": "x"});
    }
    p
}

fn config(
    id: &str,
    kind: &str,
    verb: &'static str,
    name: &str,
    hooks: Option<&[&str]>,
    user: &str,
    code: i64,
    ms: i64,
) -> String {
    let resource = format!("{kind}webhookconfigurations");
    let request = hooks.map(|hs| {
        json!({"kind": "X", "metadata": {"name": name},
               "webhooks": hs.iter().map(|h| json!({"name": h})).collect::<Vec<_>>()})
    });
    Ev {
        id: id.into(),
        verb,
        user: user.into(),
        agent: "kubectl/v1.29.0 (linux/amd64) kubernetes/abc".into(),
        object_ref: json!({"resource": resource, "name": name,
                           "apiGroup": "admissionregistration.k8s.io", "apiVersion": "v1"}),
        code,
        message: None,
        request,
        response: None,
        annotations: vec![],
        time: at(ms),
    }
    .line()
}

fn create(
    id: &str,
    ns: &str,
    name: &str,
    uid: &str,
    user: &str,
    agent: &str,
    annotations: Vec<(String, String)>,
    injected: bool,
    ms: i64,
) -> String {
    Ev {
        id: id.into(),
        verb: "create",
        user: user.into(),
        agent: agent.into(),
        object_ref: pod_ref(ns, name, None, None),
        code: 201,
        message: None,
        request: Some(pod_body(ns, name)),
        response: Some(stored(ns, name, uid, injected)),
        annotations,
        time: at(ms),
    }
    .line()
}

fn simple(
    id: &str,
    verb: &'static str,
    ns: &str,
    name: &str,
    uid: &str,
    sub: Option<&str>,
    user: &str,
    request: Value,
    ms: i64,
) -> String {
    Ev {
        id: id.into(),
        verb,
        user: user.into(),
        agent: "agent/1.0".into(),
        object_ref: pod_ref(ns, name, Some(uid), sub),
        code: 200,
        message: None,
        request: Some(request),
        response: None,
        annotations: vec![],
        time: at(ms),
    }
    .line()
}

/// A kubelet's status patch saying the pod is Ready.
fn ready(uid: &str) -> Value {
    json!({"metadata": {"uid": uid}, "status": {"phase": "Running",
           "conditions": [{"type": "Ready", "status": "True"}]}})
}

fn binding(uid: &str, node: &str) -> Value {
    json!({"kind": "Binding", "apiVersion": "v1", "metadata": {"uid": uid},
           "target": {"kind": "Node", "name": node}})
}

pub const INJECTOR: &str = "sidecar-injector";
pub const INJECT: &str = "inject.example.com";
pub const POLICY: &str = "policy";
pub const CHECK: &str = "check.example.com";
pub const FLAKY: &str = "flaky.example.com";
pub const WEIRD_CONF: &str = "weird;conf#%%{init: {}}%%";
pub const WEIRD_HOOK: &str = "w-->>x<br>y\u{1b}[31m";
pub const HOSTILE_USER: &str = "=cmd|' /C calc'!A0";

/// The log, one audit event per line.
pub fn log() -> String {
    let hostile_agent = "evil;agent#1 \u{7}\n-->> %%{init: {\"theme\":\"dark\"}}%%";
    let lines = vec![
        // Who installed what.
        config(
            "c1",
            "mutating",
            "create",
            INJECTOR,
            Some(&[INJECT]),
            "alice",
            201,
            0,
        ),
        config(
            "c2",
            "validating",
            "create",
            POLICY,
            Some(&[CHECK]),
            "alice",
            201,
            1_000,
        ),
        config(
            "c3", "mutating", "create", "unused", None, "carol", 201, 2_000,
        ),
        config(
            "c4",
            "mutating",
            "create",
            "evil-hook",
            Some(&["evil.example.com"]),
            "mallory",
            403,
            3_000,
        ),
        config(
            "c5",
            "mutating",
            "update",
            INJECTOR,
            Some(&[INJECT]),
            "bob",
            200,
            10_000,
        ),
        // shop/web-1, first incarnation: injected, reinvoked, scheduled, ready, deleted.
        web_1(
            "p1",
            "uid-web-1-a",
            &["/metadata/labels", "/spec/containers/1"],
            mutation(1, 0, INJECTOR, INJECT, false),
            20_000,
        ),
        simple(
            "p2",
            "create",
            "shop",
            "web-1",
            "uid-web-1-a",
            Some("binding"),
            "system:kube-scheduler",
            binding("uid-web-1-a", "node-a"),
            20_500,
        ),
        simple(
            "p3",
            "patch",
            "shop",
            "web-1",
            "uid-web-1-a",
            Some("status"),
            "system:node:node-a",
            ready("uid-web-1-a"),
            24_000,
        ),
        simple(
            "p4",
            "delete",
            "shop",
            "web-1",
            "uid-web-1-a",
            None,
            "deployer",
            json!({"kind": "DeleteOptions", "apiVersion": "v1", "preconditions": {"uid": "uid-web-1-a"}}),
            30_000,
        ),
        // shop/web-1, second incarnation: injected; the validating policy failed open.
        web_1(
            "p5",
            "uid-web-1-b",
            &["/spec/containers/1", "/metadata/labels"],
            (
                "failed-open.validating.webhook.admission.k8s.io/round_0_index_0".into(),
                CHECK.into(),
            ),
            31_000,
        ),
        simple(
            "p6",
            "create",
            "shop",
            "web-1",
            "uid-web-1-b",
            Some("binding"),
            "system:kube-scheduler",
            binding("uid-web-1-b", "node-b"),
            33_000,
        ),
        // shop/denied: mutated, then denied by the policy.
        Ev {
            id: "p7".into(),
            verb: "create",
            user: "deployer".into(),
            agent: "kubectl/v1.29.0".into(),
            object_ref: pod_ref("shop", "denied", None, None),
            code: 403,
            message: Some(format!(
                "admission webhook \"{CHECK}\" denied the request: no latest tags"
            )),
            request: Some(pod_body("shop", "denied")),
            response: None,
            annotations: vec![
                mutation(0, 0, INJECTOR, INJECT, true),
                patch(0, 0, INJECTOR, INJECT, &["/spec/containers/1"]),
            ],
            time: at(40_000),
        }
        .line(),
        // other/batch-1: hostile names everywhere; a mutating webhook failed open.
        Ev {
            id: "p8".into(),
            verb: "create",
            user: HOSTILE_USER.into(),
            agent: hostile_agent.into(),
            object_ref: pod_ref("other", "batch-1", None, None),
            code: 201,
            message: None,
            request: Some(pod_body("other", "batch-1")),
            response: Some(stored("other", "batch-1", "uid-batch-1", false)),
            annotations: vec![
                mutation(0, 0, WEIRD_CONF, WEIRD_HOOK, true),
                patch(
                    0,
                    0,
                    WEIRD_CONF,
                    WEIRD_HOOK,
                    &["/metadata/annotations/a;b#c"],
                ),
                (
                    "failed-open.mutation.webhook.admission.k8s.io/round_0_index_1".into(),
                    FLAKY.into(),
                ),
            ],
            time: at(50_000),
        }
        .line(),
        simple(
            "p9",
            "create",
            "other",
            "batch-1",
            "uid-batch-1",
            Some("binding"),
            "weird;scheduler#x",
            binding("uid-batch-1", "node;#c"),
            80_000,
        ),
        config(
            "c6", "mutating", "delete", "unused", None, "carol", 200, 90_000,
        ),
    ];
    lines.join("\n") + "\n"
}
