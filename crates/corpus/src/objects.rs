//! Pod bodies as the API server logs them: the create's `requestObject` (the client's pod after
//! scheme defaulting), the changes of the built-in admission plugins that run before the webhooks
//! (ServiceAccount, Priority, DefaultTolerationSeconds, LimitRanger), the stored object, and the
//! kubelet's status patches.

use serde_json::{json, Value};

use super::rng::{time_secs, Micros, Rng};
use super::webhooks::{esc, Ns};

/// One container of a pod template.
#[derive(Debug, Clone)]
pub struct Container {
    pub name: String,
    pub image: String,
    pub port: Option<u16>,
    pub env: Vec<(String, String)>,
    /// `resources` as sent (`{}` when the workload sets none).
    pub resources: Value,
    pub probe: bool,
    /// A volume mount of the template's own (`data` for StatefulSets).
    pub data_mount: bool,
}

impl Container {
    pub fn new(name: &str, image: &str) -> Container {
        Container {
            name: name.into(),
            image: image.into(),
            port: None,
            env: Vec::new(),
            resources: json!({}),
            probe: false,
            data_mount: false,
        }
    }

    fn to_json(&self) -> Value {
        let mut c = json!({"name": self.name, "image": self.image});
        if let Some(p) = self.port {
            c["ports"] = json!([{"name": "http", "containerPort": p, "protocol": "TCP"}]);
        }
        if !self.env.is_empty() {
            c["env"] = self
                .env
                .iter()
                .map(|(k, v)| json!({"name": k, "value": v}))
                .collect();
        }
        c["resources"] = self.resources.clone();
        if self.data_mount {
            c["volumeMounts"] = json!([{"name": "data", "mountPath": "/var/lib/data"}]);
        }
        if let (true, Some(p)) = (self.probe, self.port) {
            c["readinessProbe"] = json!({"httpGet": {"path": "/healthz", "port": p, "scheme": "HTTP"}, "initialDelaySeconds": 3, "timeoutSeconds": 1, "periodSeconds": 10, "successThreshold": 1, "failureThreshold": 3});
        }
        c["terminationMessagePath"] = json!("/dev/termination-log");
        c["terminationMessagePolicy"] = json!("File");
        c["imagePullPolicy"] = json!("IfNotPresent");
        c
    }
}

/// What a client sends to create a pod.
#[derive(Debug, Clone, Default)]
pub struct Template {
    /// A fixed name, or (with `generate`) the `generateName` prefix.
    pub name: String,
    pub generate: bool,
    pub labels: Vec<(String, String)>,
    pub annotations: Vec<(String, String)>,
    /// `(kind, name, uid)` of the controller.
    pub owner: Option<(&'static str, String, String)>,
    pub service_account: Option<String>,
    pub containers: Vec<Container>,
    pub restart: &'static str,
    /// A `data` PersistentVolumeClaim volume (StatefulSets).
    pub claim: Option<String>,
    pub finalizers: Vec<&'static str>,
    /// The pod's `securityContext` (`{}` when unset).
    pub security: Option<Value>,
}

fn pairs(v: &[(String, String)]) -> Value {
    Value::Object(v.iter().map(|(k, v)| (k.clone(), json!(v))).collect())
}

impl Template {
    /// The create's `requestObject`.
    pub fn request(&self) -> Value {
        let mut meta = json!({});
        meta[if self.generate {
            "generateName"
        } else {
            "name"
        }] = json!(self.name);
        meta["creationTimestamp"] = Value::Null;
        meta["labels"] = pairs(&self.labels);
        if !self.annotations.is_empty() {
            meta["annotations"] = pairs(&self.annotations);
        }
        if let Some((kind, name, uid)) = &self.owner {
            let api = if *kind == "Job" {
                "batch/v1"
            } else {
                "apps/v1"
            };
            meta["ownerReferences"] = json!([{"apiVersion": api, "kind": kind, "name": name, "uid": uid, "controller": true, "blockOwnerDeletion": true}]);
        }
        if !self.finalizers.is_empty() {
            meta["finalizers"] = json!(self.finalizers);
        }
        let mut spec = json!({});
        if let Some(c) = &self.claim {
            spec["volumes"] = json!([{"name": "data", "persistentVolumeClaim": {"claimName": c}}]);
        }
        spec["containers"] = self.containers.iter().map(Container::to_json).collect();
        spec["restartPolicy"] = json!(self.restart);
        spec["terminationGracePeriodSeconds"] = json!(30);
        spec["dnsPolicy"] = json!("ClusterFirst");
        if let Some(sa) = &self.service_account {
            spec["serviceAccountName"] = json!(sa);
            spec["serviceAccount"] = json!(sa);
        }
        spec["securityContext"] = self.security.clone().unwrap_or(json!({}));
        spec["schedulerName"] = json!("default-scheduler");
        spec["enableServiceLinks"] = json!(true);
        json!({"kind": "Pod", "apiVersion": "v1", "metadata": meta, "spec": spec, "status": {}})
    }
}

/// The changes of the built-in admission plugins to `req`, as (JSON Pointer, value): every path
/// is absent from `req` and its parent present, so an object diff reports exactly these paths.
pub fn builtin(ns: &Ns, req: &Value, rng: &mut Rng) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    let token = format!("kube-api-access-{}", rng.suffix(5));
    if req.pointer("/spec/serviceAccountName").is_none() {
        out.push(("/spec/serviceAccountName".into(), json!("default")));
        out.push(("/spec/serviceAccount".into(), json!("default")));
    }
    let volume = json!({"name": token, "projected": {"sources": [{"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}}, {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}}, {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}}], "defaultMode": 420}});
    match req.pointer("/spec/volumes").and_then(Value::as_array) {
        Some(v) => out.push((format!("/spec/volumes/{}", v.len()), volume)),
        None => out.push(("/spec/volumes".into(), json!([volume]))),
    }
    let mount = json!({"name": token, "readOnly": true, "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount"});
    let containers = req
        .pointer("/spec/containers")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for (i, c) in containers.iter().enumerate() {
        match c.get("volumeMounts").and_then(Value::as_array) {
            Some(m) => out.push((
                format!("/spec/containers/{i}/volumeMounts/{}", m.len()),
                mount.clone(),
            )),
            None => out.push((
                format!("/spec/containers/{i}/volumeMounts"),
                json!([mount.clone()]),
            )),
        }
    }
    out.push(("/spec/priority".into(), json!(0)));
    out.push((
        "/spec/preemptionPolicy".into(),
        json!("PreemptLowerPriority"),
    ));
    out.push(("/spec/tolerations".into(), json!([
        {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
        {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}
    ])));
    if ns.limit_range {
        let mut set = Vec::new();
        for (i, c) in containers.iter().enumerate() {
            if c.get("resources") == Some(&json!({})) {
                let base = format!("/spec/containers/{i}/resources");
                out.push((
                    format!("{base}/limits"),
                    json!({"cpu": "500m", "memory": "512Mi"}),
                ));
                out.push((
                    format!("{base}/requests"),
                    json!({"cpu": "100m", "memory": "128Mi"}),
                ));
                if let Some(n) = c.get("name").and_then(Value::as_str) {
                    set.push(n.to_owned());
                }
            }
        }
        if !set.is_empty() {
            let note = format!(
                "LimitRanger plugin set: cpu, memory request for container {0}; cpu, memory limit for container {0}",
                set.join(", ")
            );
            let key = "kubernetes.io/limit-ranger";
            match req.pointer("/metadata/annotations") {
                Some(_) => out.push((format!("/metadata/annotations/{}", esc(key)), json!(note))),
                None => {
                    let mut m = serde_json::Map::new();
                    m.insert(key.into(), json!(note));
                    out.push(("/metadata/annotations".into(), Value::Object(m)));
                }
            }
        }
    }
    out
}

/// The stored pod: `obj` (after admission) with the server's metadata and initial status.
pub fn stored(obj: &Value, name: &str, ns: &str, uid: &str, rv: u64, t: Micros) -> Value {
    let mut s = obj.clone();
    let when = time_secs(t);
    if let Some(m) = s.get_mut("metadata").and_then(Value::as_object_mut) {
        m.insert("name".into(), json!(name));
        m.insert("namespace".into(), json!(ns));
        m.insert("uid".into(), json!(uid));
        m.insert("resourceVersion".into(), json!(rv.to_string()));
        m.insert("creationTimestamp".into(), json!(when));
        m.insert("managedFields".into(), json!([{"manager": "kube-controller-manager", "operation": "Update", "apiVersion": "v1", "time": when, "fieldsType": "FieldsV1", "fieldsV1": {"f:metadata": {"f:labels": {".": {}}}, "f:spec": {"f:containers": {}, "f:dnsPolicy": {}, "f:enableServiceLinks": {}, "f:restartPolicy": {}, "f:schedulerName": {}, "f:securityContext": {}, "f:terminationGracePeriodSeconds": {}}}}]));
    }
    let qos = if s.pointer("/spec/containers/0/resources/limits").is_some() {
        "Burstable"
    } else {
        "BestEffort"
    };
    s["status"] = json!({"phase": "Pending", "qosClass": qos});
    s
}

/// What the kubelet reports in a status patch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Report {
    /// Containers being created: Ready=False, no phase.
    Starting,
    /// Ready=True, phase Running.
    Ready,
    /// Containers exited: Ready=False, phase Succeeded (exit 0) or Failed.
    Finished { ok: bool },
}

/// The kubelet's strategic merge patch of `pods/status`.
/// `containers` are (name, image).
pub fn status_patch(
    uid: &str,
    report: Report,
    containers: &[(String, String)],
    ip: &str,
    t: Micros,
) -> Value {
    let when = time_secs(t);
    let cond = |ty: &str, status: &str, reason: Option<&str>| {
        let mut c = json!({"lastProbeTime": null, "lastTransitionTime": when, "status": status, "type": ty});
        if let Some(r) = reason {
            c["reason"] = json!(r);
        }
        c
    };
    let order = json!([{"type": "PodReadyToStartContainers"}, {"type": "Initialized"}, {"type": "Ready"}, {"type": "ContainersReady"}, {"type": "PodScheduled"}]);
    let (conditions, state, ready, phase) = match report {
        Report::Starting => (
            vec![
                cond("PodReadyToStartContainers", "False", None),
                cond("Initialized", "True", None),
                cond("Ready", "False", Some("ContainersNotReady")),
                cond("ContainersReady", "False", Some("ContainersNotReady")),
            ],
            json!({"waiting": {"reason": "ContainerCreating"}}),
            false,
            None,
        ),
        Report::Ready => (
            vec![
                cond("PodReadyToStartContainers", "True", None),
                cond("Ready", "True", None),
                cond("ContainersReady", "True", None),
            ],
            json!({"running": {"startedAt": when}}),
            true,
            Some("Running"),
        ),
        Report::Finished { ok } => (
            vec![
                cond("PodReadyToStartContainers", "False", None),
                cond("Ready", "False", Some("PodCompleted")),
                cond("ContainersReady", "False", Some("PodCompleted")),
            ],
            json!({"terminated": {"exitCode": if ok { 0 } else { 137 }, "finishedAt": when, "reason": if ok { "Completed" } else { "Error" }}}),
            false,
            Some(if ok { "Succeeded" } else { "Failed" }),
        ),
    };
    let statuses: Vec<Value> = containers
        .iter()
        .map(|(name, image)| json!({"image": image, "imageID": "", "lastState": {}, "name": name, "ready": ready, "restartCount": 0, "started": ready, "state": state}))
        .collect();
    let mut st = json!({"$setElementOrder/conditions": order, "conditions": conditions, "containerStatuses": statuses});
    if report == Report::Starting {
        st["hostIP"] = json!(ip);
        st["podIP"] = json!(ip);
        st["podIPs"] = json!([{ "ip": ip }]);
        st["startTime"] = json!(when);
    }
    if let Some(p) = phase {
        st["phase"] = json!(p);
    }
    json!({"metadata": {"uid": uid}, "status": st})
}
