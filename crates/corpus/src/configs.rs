//! The webhook configurations' own story, at the start of the log: EKS's bootstrap creates its
//! MutatingWebhookConfigurations (Fargate, pod identity, VPC resources), a Helm deploy creates the
//! others (and Kyverno's validating one), and istiod then patches its CA bundle into Istio's.

use serde_json::{json, Value};

use super::line::{Ev, ObjRef};
use super::rng::{time_secs, Micros, Rng, SECOND};
use super::webhooks::{FARGATE, HOOKS};

const EKS: &str = "eks:cluster-bootstrap";
const HELM: &str = "platform-ci";
const ISTIOD: &str = "system:serviceaccount:istio-system:istiod";

/// One write to a webhook configuration: (configuration, verb, user).
pub type Write = (String, &'static str, &'static str);

fn webhook_json(name: &str, pods: bool, reinvoke: bool) -> Value {
    let resources = if pods {
        json!(["pods"])
    } else if name.contains("ephemeral") {
        json!(["pods/ephemeralcontainers"])
    } else {
        json!(["services", "targetgroupbindings", "clusterpolicies"])
    };
    let ops = if name.contains("ephemeral") {
        json!(["UPDATE"])
    } else {
        json!(["CREATE"])
    };
    let service = name.split('.').next().unwrap_or(name);
    json!({
        "name": name,
        "clientConfig": {"service": {"namespace": "kube-system", "name": service, "path": "/mutate", "port": 443}, "caBundle": "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUM="},
        "rules": [{"operations": ops, "apiGroups": [""], "apiVersions": ["v1"], "resources": resources, "scope": "*"}],
        "failurePolicy": if name.ends_with("-fail") { "Fail" } else { "Ignore" },
        "matchPolicy": "Equivalent",
        "namespaceSelector": {},
        "objectSelector": {},
        "sideEffects": "None",
        "timeoutSeconds": 10,
        "admissionReviewVersions": ["v1", "v1beta1"],
        "reinvocationPolicy": if reinvoke { "IfNeeded" } else { "Never" }
    })
}

#[allow(clippy::too_many_arguments)]
fn line(
    rng: &mut Rng,
    resource: &str,
    name: &str,
    verb: &str,
    user: &str,
    agent: &str,
    body: &Value,
    response: &Value,
    t: Micros,
) -> String {
    let uri = if verb == "create" {
        format!(
            "/apis/admissionregistration.k8s.io/v1/{resource}?fieldManager={}",
            if user == EKS {
                "kubectl-create"
            } else {
                "helm"
            }
        )
    } else {
        format!("/apis/admissionregistration.k8s.io/v1/{resource}/{name}?fieldManager=istiod")
    };
    let code = if verb == "create" { 201 } else { 200 };
    Ev {
        level: "RequestResponse",
        audit_id: &rng.uuid(),
        stage: "ResponseComplete",
        uri: &uri,
        verb,
        user,
        source_ip: if user == EKS {
            "127.0.0.1"
        } else {
            "10.0.33.12"
        },
        user_agent: agent,
        object_ref: ObjRef {
            resource,
            name: Some(name),
            api_group: Some("admissionregistration.k8s.io"),
            api_version: "v1",
            ..Default::default()
        },
        code,
        failure: None,
        request: Some(body),
        response: Some(response),
        received: t - 9_000,
        at: t,
        annotations: vec![
            ("authorization.k8s.io/decision".into(), "allow".into()),
            ("authorization.k8s.io/reason".into(), String::new()),
        ],
    }
    .line()
}

/// The configuration writes, timed from `t0` (each line with its time), and what they were.
pub fn lines(rng: &mut Rng, t0: Micros) -> (Vec<(Micros, String)>, Vec<Write>) {
    let mut names: Vec<&str> = HOOKS.iter().map(|h| h.configuration).collect();
    names.dedup();
    // EKS bootstraps its own first; Helm installs the rest afterwards.
    let eks = |n: &str| {
        n == FARGATE || n == "pod-identity-webhook" || n == "vpc-resource-mutating-webhook"
    };
    names.sort_by_key(|n| !eks(n));
    let mut out = Vec::new();
    let mut writes = Vec::new();
    let mut t = t0;
    for name in names {
        let webhooks: Vec<Value> = HOOKS
            .iter()
            .filter(|h| h.configuration == name)
            .map(|h| webhook_json(h.webhook, h.pods, h.webhook == super::webhooks::GATEKEEPER))
            .collect();
        let (user, agent) = if eks(name) {
            (EKS, "kubectl/v1.29.3 (linux/amd64) kubernetes/6813625")
        } else {
            (HELM, "Helm/3.14.4")
        };
        let body = json!({"kind": "MutatingWebhookConfiguration", "apiVersion": "admissionregistration.k8s.io/v1", "metadata": {"name": name, "creationTimestamp": null}, "webhooks": webhooks});
        let mut resp = body.clone();
        resp["metadata"] = json!({"name": name, "uid": rng.uuid(), "resourceVersion": (48_000_000 + rng.below(100_000)).to_string(), "generation": 1, "creationTimestamp": time_secs(t)});
        out.push((
            t,
            line(
                rng,
                "mutatingwebhookconfigurations",
                name,
                "create",
                user,
                agent,
                &body,
                &resp,
                t,
            ),
        ));
        writes.push((name.to_owned(), "create", user));
        t += rng.range(SECOND, 4 * SECOND);
    }
    let validating = json!({"kind": "ValidatingWebhookConfiguration", "apiVersion": "admissionregistration.k8s.io/v1", "metadata": {"name": "kyverno-resource-validating-webhook-cfg", "creationTimestamp": null}, "webhooks": [webhook_json("validate.kyverno.svc-fail", true, false), webhook_json("validate.kyverno.svc-ign", true, false)]});
    out.push((
        t,
        line(
            rng,
            "validatingwebhookconfigurations",
            "kyverno-resource-validating-webhook-cfg",
            "create",
            HELM,
            "Helm/3.14.4",
            &validating,
            &validating,
            t,
        ),
    ));
    t += rng.range(20 * SECOND, 40 * SECOND);
    let patch = json!({"webhooks": [{"name": super::webhooks::ISTIO, "clientConfig": {"caBundle": "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSURJ"}}]});
    let ok = json!({"kind": "MutatingWebhookConfiguration", "apiVersion": "admissionregistration.k8s.io/v1", "metadata": {"name": "istio-sidecar-injector", "generation": 2}});
    out.push((
        t,
        line(
            rng,
            "mutatingwebhookconfigurations",
            "istio-sidecar-injector",
            "patch",
            ISTIOD,
            "pilot-discovery/1.21.2",
            &patch,
            &ok,
            t,
        ),
    ));
    writes.push(("istio-sidecar-injector".into(), "patch", ISTIOD));
    (out, writes)
}
