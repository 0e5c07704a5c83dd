//! The events of a pod after its create (writes, binding, kubelet status, deletes, evictions,
//! execs), each written as audit lines and applied to the expected answer by the contract's
//! rules: first binding, first Ready, last phase, first successful delete or eviction.

use serde_json::{json, Value};

use super::line::{Ev, ObjRef};
use super::objects::{self, Report};
use super::rng::{time, time_secs, Micros, MILLI, SECOND};
use super::story::{auth, Inc, Story};
use super::world::{CONTROL_PLANE_IP, FARGATE_KUBELET, KUBELET};

/// A request on the pod of `inc` (on its `subresource` when set) by `who` (user, agent, source
/// IP), allowed with `code`, complete and logged at `RequestResponse` without bodies; the caller
/// changes what differs, and [`Story::emit_request`] gives it its auditID and times.
fn pod_request<'a>(
    inc: &'a Inc,
    uri: &'a str,
    verb: &'a str,
    (user, agent, ip): (&'a str, &'a str, &'a str),
    (subresource, code): (Option<&'a str>, i64),
) -> Ev<'a> {
    Ev {
        level: "RequestResponse",
        audit_id: "",
        stage: "ResponseComplete",
        uri,
        verb,
        user,
        source_ip: ip,
        user_agent: agent,
        object_ref: ObjRef {
            resource: "pods",
            namespace: Some(&inc.ns),
            name: Some(&inc.name),
            api_version: "v1",
            subresource,
            ..Default::default()
        },
        code,
        failure: None,
        request: None,
        response: None,
        received: 0,
        at: 0,
        annotations: auth(""),
    }
}

impl Story<'_> {
    /// Emits `ev` under auditID `id`, at stage time `t`, received a random time within `lag`
    /// before `t`.
    fn emit_request<'a>(
        &mut self,
        ev: Ev<'a>,
        id: &'a str,
        t: Micros,
        (lo, hi): (Micros, Micros),
        variants: bool,
    ) {
        let ev = Ev {
            audit_id: id,
            received: t - self.rng.range(lo, hi),
            at: t,
            ..ev
        };
        self.emit(&ev, variants);
    }

    /// A plain write to the pod (verb `update` with the whole object, or a merge `patch`), by a
    /// user or controller; `change` edits the stored object.
    pub fn write(
        &mut self,
        inc: &mut Inc,
        t: Micros,
        (user, agent, ip): (&str, &str, &str),
        verb: &str,
        change: impl Fn(&mut Value),
    ) {
        let old_rv = inc.state.pointer("/metadata/resourceVersion").cloned();
        let mut new = inc.state.clone();
        change(&mut new);
        let body = if verb == "update" {
            new.clone()
        } else {
            let mut d = json!({"metadata": {}});
            for k in ["labels", "annotations", "finalizers"] {
                if new["metadata"].get(k) != inc.state["metadata"].get(k) {
                    d["metadata"][k] = new["metadata"].get(k).cloned().unwrap_or(Value::Null);
                }
            }
            d
        };
        new["metadata"]["resourceVersion"] = json!(self.world.next_rv().to_string());
        let uri = format!("/api/v1/namespaces/{}/pods/{}", inc.ns, inc.name);
        let rv = old_rv.as_ref().and_then(Value::as_str).map(str::to_owned);
        let id = self.rng.uuid();
        let mut ev = pod_request(inc, &uri, verb, (user, agent, ip), (None, 200));
        // An update names the pod's uid and the resourceVersion it replaces.
        ev.object_ref.uid = (verb == "update").then_some(inc.uid.as_str());
        ev.object_ref.resource_version = (verb == "update").then_some(()).and(rv.as_deref());
        ev.request = Some(&body);
        ev.response = Some(&new);
        self.emit_request(ev, &id, t, (3 * MILLI, 12 * MILLI), true);
        inc.state = new;
        let node = inc.state.pointer("/spec/nodeName").and_then(Value::as_str);
        if inc.object_node.is_none() {
            inc.object_node = node.map(str::to_owned);
        }
        let sched = inc
            .state
            .pointer("/spec/schedulerName")
            .and_then(Value::as_str)
            .map(str::to_owned);
        let e = self.exp(inc);
        e.event_kinds.push(verb.into());
        if e.scheduler.is_none() {
            e.scheduler = sched;
        }
    }

    /// The scheduler's Binding to `node` (a pod IP is chosen with it).
    pub fn bind(&mut self, inc: &mut Inc, t: Micros, user: &str, agent: &str, node: &str) {
        let uri = format!("/api/v1/namespaces/{}/pods/{}/binding", inc.ns, inc.name);
        let body = json!({"kind": "Binding", "apiVersion": "v1", "metadata": {"name": inc.name, "namespace": inc.ns, "uid": inc.uid, "creationTimestamp": null}, "target": {"kind": "Node", "name": node}});
        let ok = json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201});
        let id = self.rng.uuid();
        let who = (user, agent, CONTROL_PLANE_IP);
        let mut ev = pod_request(inc, &uri, "create", who, (Some("binding"), 201));
        ev.object_ref.uid = Some(&inc.uid);
        (ev.request, ev.response) = (Some(&body), Some(&ok));
        self.emit_request(ev, &id, t, (2 * MILLI, 9 * MILLI), true);
        inc.state["spec"]["nodeName"] = json!(node);
        inc.node = Some(node.to_owned());
        inc.ip = match node.strip_prefix("fargate-ip-") {
            Some(rest) => rest.split('.').next().unwrap_or("").replace('-', "."),
            None => format!("10.0.{}.{}", self.rng.range(16, 96), self.rng.range(2, 254)),
        };
        let first = inc.bound_node.is_none();
        if first {
            inc.bound_node = Some(node.to_owned());
        }
        let e = self.exp(inc);
        e.event_kinds.push("binding".into());
        if first {
            e.bound_at = Some(time(t));
            e.bound_by = Some(user.into());
        }
        // The scheduler's "Scheduled" event and the kubelet's first read of its new pod.
        let ev_line = super::requests::scheduled_event(&mut self.rng, inc, node, user, agent, t);
        self.emit_other(t + 2 * MILLI, ev_line);
        let get =
            super::requests::kubelet_get(&mut self.rng, &inc.ns, &inc.name, node, t + 9 * MILLI);
        self.emit_other(t + 9 * MILLI, get);
    }

    /// A kubelet status patch (logged at `Request`: the patch body, no response).
    pub fn status(&mut self, inc: &mut Inc, t: Micros, report: Report) {
        let node = inc.node.clone().unwrap_or_default();
        let user = format!("system:node:{node}");
        let body = objects::status_patch(&inc.uid, report, &inc.containers, &inc.ip, t);
        let uri = format!("/api/v1/namespaces/{}/pods/{}/status", inc.ns, inc.name);
        let fargate = node.starts_with("fargate-");
        let id = self.rng.uuid();
        let agent = if fargate { FARGATE_KUBELET } else { KUBELET };
        let mut ev = pod_request(
            inc,
            &uri,
            "patch",
            (&user, agent, &inc.ip),
            (Some("status"), 200),
        );
        ev.level = "Request";
        ev.request = Some(&body);
        self.emit_request(ev, &id, t, (2 * MILLI, 7 * MILLI), true);
        if inc.kubelet_node.is_none() {
            inc.kubelet_node = Some(node);
        }
        let e = self.exp(inc);
        e.event_kinds.push("status".into());
        if report == Report::Ready && e.ready_at.is_none() {
            e.ready_at = Some(time(t));
        }
        if let Some(p) = body.pointer("/status/phase").and_then(Value::as_str) {
            e.phase = Some(p.to_owned());
        }
    }

    /// A delete. `grace` goes into DeleteOptions when set; `precondition` adds the uid
    /// precondition (StatefulSet controller, kubelet). The response is the pod marked for deletion.
    pub fn delete(
        &mut self,
        inc: &mut Inc,
        t: Micros,
        (user, agent, ip): (&str, &str, &str),
        grace: Option<i64>,
        precondition: bool,
    ) {
        let mut body = json!({"kind": "DeleteOptions", "apiVersion": "v1"});
        if let Some(g) = grace {
            body["gracePeriodSeconds"] = json!(g);
        }
        if precondition {
            body["preconditions"] = json!({"uid": inc.uid});
        }
        if inc.state.pointer("/metadata/deletionTimestamp").is_none() {
            let g = grace.unwrap_or(30);
            inc.state["metadata"]["deletionTimestamp"] = json!(time_secs(t + g * SECOND));
            inc.state["metadata"]["deletionGracePeriodSeconds"] = json!(g);
        }
        inc.state["metadata"]["resourceVersion"] = json!(self.world.next_rv().to_string());
        let uri = format!("/api/v1/namespaces/{}/pods/{}", inc.ns, inc.name);
        let id = self.rng.uuid();
        let mut ev = pod_request(inc, &uri, "delete", (user, agent, ip), (None, 200));
        (ev.request, ev.response) = (Some(&body), Some(&inc.state));
        self.emit_request(ev, &id, t, (4 * MILLI, 12 * MILLI), true);
        if grace == Some(0) {
            self.world.ended(&inc.uid, t);
        }
        self.removed(inc, t, user, "delete");
    }

    /// An eviction (`pods/eviction` create), as `kubectl drain` or an autoscaler sends it.
    pub fn evict(&mut self, inc: &mut Inc, t: Micros, (user, agent, ip): (&str, &str, &str)) {
        let uri = format!("/api/v1/namespaces/{}/pods/{}/eviction", inc.ns, inc.name);
        let body = json!({"kind": "Eviction", "apiVersion": "policy/v1", "metadata": {"name": inc.name, "namespace": inc.ns, "creationTimestamp": null}, "deleteOptions": {}});
        let ok = json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201});
        let id = self.rng.uuid();
        let who = (user, agent, ip);
        let mut ev = pod_request(inc, &uri, "create", who, (Some("eviction"), 201));
        (ev.request, ev.response) = (Some(&body), Some(&ok));
        self.emit_request(ev, &id, t, (5 * MILLI, 20 * MILLI), true);
        inc.state["metadata"]["deletionTimestamp"] = json!(time_secs(t + 30 * SECOND));
        inc.state["metadata"]["deletionGracePeriodSeconds"] = json!(30);
        self.removed(inc, t, user, "eviction");
    }

    fn removed(&mut self, inc: &Inc, t: Micros, user: &str, via: &str) {
        let e = self.exp(inc);
        e.event_kinds.push(via.into());
        if e.deleted_at.is_none() {
            e.deleted_at = Some(time(t));
            e.deleted_by = Some(user.into());
            e.deleted_via = Some(via.into());
        }
    }

    /// `kubectl exec`: a long-running request, logged at `ResponseStarted` only (101).
    pub fn exec(&mut self, inc: &Inc, t: Micros, (user, ip): (&str, &str), command: &[&str]) {
        let container = inc.containers.first().map_or("app", |c| c.0.as_str());
        let mut uri = format!("/api/v1/namespaces/{}/pods/{}/exec?", inc.ns, inc.name);
        for c in command {
            uri.push_str(&format!("command={}&", c.replace(' ', "+")));
        }
        uri.push_str(&format!(
            "container={container}&stdin=true&stdout=true&tty=true"
        ));
        let id = self.rng.uuid();
        let verb = if self.rng.chance(500) {
            "get"
        } else {
            "create"
        };
        let who = (user, super::world::KUBECTL, ip);
        let mut ev = pod_request(inc, &uri, verb, who, (Some("exec"), 101));
        ev.stage = "ResponseStarted";
        self.emit_request(ev, &id, t, (20 * MILLI, 90 * MILLI), false);
        self.exp(inc).event_kinds.push("exec".into());
    }
}
