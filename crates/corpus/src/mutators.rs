//! What each mutating webhook of the generated cluster does to a pod: the JSON Patch it answers,
//! built from the object it is shown (the request after the built-in admission plugins and the
//! webhooks before it), following what the real webhooks send.

use serde_json::{json, Value};

use super::rng::Rng;
use super::webhooks::{esc, Ns};

fn add(path: impl Into<String>, value: Value) -> Value {
    json!({"op": "add", "path": path.into(), "value": value})
}

fn containers(obj: &Value) -> &[Value] {
    obj.pointer("/spec/containers")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

/// The per-create facts the webhooks look at beyond the namespace.
#[derive(Debug, Clone, Default)]
pub struct Admission {
    /// Webhooks that time out on this create (`failurePolicy: Ignore`).
    pub failing: Vec<&'static str>,
    /// The IAM role of the pod's service account, for the pod identity webhook.
    pub irsa_role: Option<String>,
    /// The workload name (`app` label), for Istio and the load balancer controller.
    pub app: String,
}

pub fn fargate(ns: &Ns, obj: &Value) -> Option<Vec<Value>> {
    let profile = ns.fargate_profile?;
    let mut labels = obj
        .pointer("/metadata/labels")
        .cloned()
        .unwrap_or(json!({}));
    labels["eks.amazonaws.com/fargate-profile"] = json!(profile);
    Some(vec![
        add("/spec/schedulerName", json!("fargate-scheduler")),
        add("/spec/priorityClassName", json!("system-node-critical")),
        add("/spec/priority", json!(2_000_001_000)),
        add("/metadata/labels", labels),
    ])
}

pub fn elbv2(ns: &Ns, a: &Admission, obj: &Value, rng: &mut Rng) -> Option<Vec<Value>> {
    if !ns.elbv2 || obj.pointer("/spec/readinessGates").is_some() {
        return None;
    }
    let gate = format!(
        "target-health.elbv2.k8s.aws/k8s-{}-{}-{}",
        &ns.name[..ns.name.len().min(7)],
        &a.app[..a.app.len().min(7)],
        rng.hex(10)
    );
    Some(vec![add(
        "/spec/readinessGates",
        json!([{ "conditionType": gate }]),
    )])
}

pub fn datadog(obj: &Value) -> Option<Vec<Value>> {
    let on =
        obj.pointer("/metadata/labels/admission.datadoghq.com~1enabled") == Some(&json!("true"));
    if !on || containers(obj).is_empty() {
        return None;
    }
    let vars = [
        json!({"name": "DD_AGENT_HOST", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "status.hostIP"}}}),
        json!({"name": "DD_ENTITY_ID", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.uid"}}}),
    ];
    Some(match obj.pointer("/spec/containers/0/env") {
        Some(_) => vars
            .into_iter()
            .map(|v| add("/spec/containers/0/env/-", v))
            .collect(),
        None => vec![add("/spec/containers/0/env", Value::Array(vars.to_vec()))],
    })
}

pub fn gatekeeper(ns: &Ns, obj: &Value) -> Option<Vec<Value>> {
    if !ns.gatekeeper {
        return None;
    }
    let mut ops = Vec::new();
    for (i, c) in containers(obj).iter().enumerate() {
        match c.pointer("/resources/limits") {
            None => ops.push(add(
                format!("/spec/containers/{i}/resources/limits"),
                json!({"memory": "512Mi"}),
            )),
            Some(l) if l.get("memory").is_none() => ops.push(add(
                format!("/spec/containers/{i}/resources/limits/memory"),
                json!("512Mi"),
            )),
            Some(_) => {}
        }
    }
    (!ops.is_empty()).then_some(ops)
}

pub fn istio(ns: &Ns, a: &Admission, obj: &Value) -> Option<Vec<Value>> {
    if !ns.istio {
        return None;
    }
    let app = &a.app;
    let mut ops = vec![
        add(
            "/metadata/labels/security.istio.io~1tlsMode",
            json!("istio"),
        ),
        add(
            "/metadata/labels/service.istio.io~1canonical-name",
            json!(app),
        ),
        add(
            "/metadata/labels/service.istio.io~1canonical-revision",
            json!("latest"),
        ),
    ];
    let notes = [
        ("istio.io/rev", "default".to_owned()),
        ("kubectl.kubernetes.io/default-container", app.clone()),
        ("kubectl.kubernetes.io/default-logs-container", app.clone()),
        ("prometheus.io/path", "/stats/prometheus".into()),
        ("prometheus.io/port", "15020".into()),
        ("prometheus.io/scrape", "true".into()),
        ("sidecar.istio.io/status", "{\"initContainers\":[\"istio-init\"],\"containers\":[\"istio-proxy\"],\"volumes\":[\"workload-socket\",\"istio-envoy\",\"istio-data\",\"istio-podinfo\",\"istio-token\",\"istiod-ca-cert\"],\"imagePullSecrets\":null,\"revision\":\"default\"}".into()),
    ];
    match obj.pointer("/metadata/annotations") {
        Some(_) => ops.extend(
            notes
                .iter()
                .map(|(k, v)| add(format!("/metadata/annotations/{}", esc(k)), json!(v))),
        ),
        None => ops.push(add(
            "/metadata/annotations",
            Value::Object(
                notes
                    .iter()
                    .map(|(k, v)| (k.to_string(), json!(v)))
                    .collect(),
            ),
        )),
    }
    let volumes = [
        json!({"name": "workload-socket", "emptyDir": {}}),
        json!({"name": "istio-envoy", "emptyDir": {"medium": "Memory"}}),
        json!({"name": "istio-data", "emptyDir": {}}),
        json!({"name": "istio-podinfo", "downwardAPI": {"items": [{"path": "labels", "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.labels"}}, {"path": "annotations", "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.annotations"}}]}}),
        json!({"name": "istio-token", "projected": {"sources": [{"serviceAccountToken": {"audience": "istio-ca", "expirationSeconds": 43200, "path": "istio-token"}}]}}),
        json!({"name": "istiod-ca-cert", "configMap": {"name": "istio-ca-root-cert"}}),
    ];
    match obj.pointer("/spec/volumes").and_then(Value::as_array) {
        Some(v) => {
            let n = v.len();
            ops.extend(
                volumes
                    .iter()
                    .enumerate()
                    .map(|(i, vol)| add(format!("/spec/volumes/{}", n + i), vol.clone())),
            );
        }
        None => ops.push(add("/spec/volumes", Value::Array(volumes.to_vec()))),
    }
    let image = "docker.io/istio/proxyv2:1.21.2";
    if obj.pointer("/spec/initContainers").is_none() {
        ops.push(add(
            "/spec/initContainers",
            json!([{
                "name": "istio-init",
                "image": image,
                "args": ["istio-iptables", "-p", "15001", "-z", "15006", "-u", "1337", "-m", "REDIRECT",
                    "-i", "*", "-x", "", "-b", "*", "-d", "15090,15021,15020",
                    "--log_output_level=default:info"],
                "resources": {"limits": {"cpu": "2", "memory": "1Gi"},
                    "requests": {"cpu": "100m", "memory": "128Mi"}},
                "imagePullPolicy": "IfNotPresent",
                "securityContext": {"capabilities": {"add": ["NET_ADMIN", "NET_RAW"], "drop": ["ALL"]},
                    "privileged": false, "runAsUser": 0, "runAsGroup": 0, "runAsNonRoot": false,
                    "readOnlyRootFilesystem": false, "allowPrivilegeEscalation": false}
            }]),
        ));
    }
    // Where Gatekeeper enforces limits the mesh leaves them to it (so it mutates again in round 1).
    let resources = if ns.gatekeeper {
        json!({"requests": {"cpu": "100m", "memory": "128Mi"}})
    } else {
        json!({"limits": {"cpu": "2", "memory": "1Gi"}, "requests": {"cpu": "100m", "memory": "128Mi"}})
    };
    let n = containers(obj).len();
    let mount = |name: &str, path: &str| json!({"name": name, "mountPath": path});
    let from = |path: &str| json!({"fieldRef": {"apiVersion": "v1", "fieldPath": path}});
    ops.push(add(
        format!("/spec/containers/{n}"),
        json!({
            "name": "istio-proxy",
            "image": image,
            "args": ["proxy", "sidecar", "--domain", "$(POD_NAMESPACE).svc.cluster.local",
                "--proxyLogLevel=warning", "--proxyComponentLogLevel=misc:error",
                "--log_output_level=default:info"],
            "ports": [{"name": "http-envoy-prom", "containerPort": 15090, "protocol": "TCP"}],
            "env": [
                {"name": "PILOT_CERT_PROVIDER", "value": "istiod"},
                {"name": "CA_ADDR", "value": "istiod.istio-system.svc:15012"},
                {"name": "POD_NAME", "valueFrom": from("metadata.name")},
                {"name": "POD_NAMESPACE", "valueFrom": from("metadata.namespace")},
                {"name": "INSTANCE_IP", "valueFrom": from("status.podIP")},
                {"name": "ISTIO_META_WORKLOAD_NAME", "value": app}
            ],
            "resources": resources,
            "volumeMounts": [
                mount("workload-socket", "/var/run/secrets/workload-spiffe-uds"),
                mount("istiod-ca-cert", "/var/run/secrets/istio"),
                mount("istio-data", "/var/lib/istio/data"),
                mount("istio-envoy", "/etc/istio/proxy"),
                mount("istio-token", "/var/run/secrets/tokens"),
                mount("istio-podinfo", "/etc/istio/pod")
            ],
            "readinessProbe": {"httpGet": {"path": "/healthz/ready", "port": 15021, "scheme": "HTTP"},
                "initialDelaySeconds": 1, "timeoutSeconds": 3, "periodSeconds": 15,
                "successThreshold": 1, "failureThreshold": 4},
            "imagePullPolicy": "IfNotPresent",
            "securityContext": {"capabilities": {"drop": ["ALL"]}, "privileged": false,
                "runAsUser": 1337, "runAsGroup": 1337, "runAsNonRoot": true,
                "readOnlyRootFilesystem": true, "allowPrivilegeEscalation": false}
        }),
    ));
    if obj
        .pointer("/spec/containers/0/readinessProbe/httpGet")
        .is_some()
    {
        ops.push(json!({"op": "replace", "path": "/spec/containers/0/readinessProbe/httpGet/path", "value": format!("/app-health/{app}/readyz")}));
        ops.push(json!({"op": "replace", "path": "/spec/containers/0/readinessProbe/httpGet/port", "value": 15020}));
    }
    Some(ops)
}

pub fn irsa(a: &Admission, obj: &Value) -> Option<Vec<Value>> {
    let role = a.irsa_role.as_deref()?;
    let env = [
        json!({"name": "AWS_STS_REGIONAL_ENDPOINTS", "value": "regional"}),
        json!({"name": "AWS_DEFAULT_REGION", "value": "us-west-2"}),
        json!({"name": "AWS_REGION", "value": "us-west-2"}),
        json!({"name": "AWS_ROLE_ARN", "value": format!("arn:aws:iam::111122223333:role/{role}")}),
        json!({"name": "AWS_WEB_IDENTITY_TOKEN_FILE", "value": "/var/run/secrets/eks.amazonaws.com/serviceaccount/token"}),
    ];
    let mount = json!({"name": "aws-iam-token", "readOnly": true, "mountPath": "/var/run/secrets/eks.amazonaws.com/serviceaccount"});
    let with_identity = |list: &Value| -> Value {
        let mut list = list.clone();
        for c in list.as_array_mut().into_iter().flatten() {
            let Some(c) = c.as_object_mut() else { continue };
            if let Some(e) = c.entry("env").or_insert_with(|| json!([])).as_array_mut() {
                e.extend(env.iter().cloned());
            }
            if let Some(m) = c
                .entry("volumeMounts")
                .or_insert_with(|| json!([]))
                .as_array_mut()
            {
                m.push(mount.clone());
            }
        }
        list
    };
    let mut ops = vec![
        add(
            "/spec/volumes/0",
            json!({"name": "aws-iam-token", "projected": {"sources": [{"serviceAccountToken": {"audience": "sts.amazonaws.com", "expirationSeconds": 86400, "path": "token"}}]}}),
        ),
        add(
            "/spec/containers",
            with_identity(obj.pointer("/spec/containers")?),
        ),
    ];
    if let Some(init) = obj.pointer("/spec/initContainers") {
        ops.push(add("/spec/initContainers", with_identity(init)));
    }
    Some(ops)
}

pub fn kyverno_fail(ns: &Ns, obj: &Value) -> Option<Vec<Value>> {
    let cc = ns.cost_center?;
    obj.pointer("/metadata/labels/cost-center")
        .is_none()
        .then(|| vec![add("/metadata/labels/cost-center", json!(cc))])
}

pub fn kyverno_ign(ns: &Ns, obj: &Value) -> Option<Vec<Value>> {
    (ns.sandbox && obj.pointer("/spec/automountServiceAccountToken").is_none())
        .then(|| vec![add("/spec/automountServiceAccountToken", json!(false))])
}
