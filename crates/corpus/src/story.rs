//! A pod story being written: its create (built-in admission, webhooks, denial) and the
//! bookkeeping shared by every event. Each event is written as audit lines and, at the same time,
//! applied to the expected answer by the engine contract's rules (`events.rs` has the events after
//! the create). Story scripts (`pods.rs`, `lifecycles.rs`) call them in time order.

use serde_json::{json, Value};

use super::line::{Ev, ObjRef};
use super::mutators::Admission;
use super::objects::{self, Template};
use super::rng::{time, Micros, Rng, MILLI, SECOND};
use super::webhooks::{self, explains};
use super::world::World;
use super::{ExpectedCall, ExpectedPod};

/// A story being written: its lines (with the time each is to be emitted) and its incarnations.
pub struct Story<'w> {
    pub rng: Rng,
    pub world: &'w mut World,
    pub lines: Vec<(Micros, String)>,
    pub pods: Vec<ExpectedPod>,
}

/// One incarnation being told.
pub struct Inc {
    pub(super) exp: usize,
    pub ns: String,
    pub name: String,
    pub uid: String,
    /// The stored object as last written.
    pub state: Value,
    pub node: Option<String>,
    pub ip: String,
    pub(super) containers: Vec<(String, String)>,
    pub(super) bound_node: Option<String>,
    pub(super) object_node: Option<String>,
    pub(super) kubelet_node: Option<String>,
}

/// How a create is sent.
pub struct Client<'a> {
    pub user: &'a str,
    pub agent: &'a str,
    pub ip: &'a str,
    /// `?fieldManager=…` and the like.
    pub query: &'a str,
    /// Logged at `Metadata`: no bodies, no patch annotations.
    pub metadata_only: bool,
}

fn blank(ns: &str, name: &str, t: Micros) -> ExpectedPod {
    ExpectedPod {
        namespace: ns.into(),
        name: name.into(),
        uid: None,
        denied: false,
        denied_by: None,
        created_at: None,
        created_by: None,
        scheduler: None,
        node: None,
        bound_at: None,
        bound_by: None,
        ready_at: None,
        phase: None,
        deleted_at: None,
        deleted_by: None,
        deleted_via: None,
        webhooks: Vec::new(),
        builtin_changes: Vec::new(),
        event_kinds: Vec::new(),
        first_at: t,
    }
}

pub(super) fn auth(reason: &str) -> Vec<(String, String)> {
    vec![
        ("authorization.k8s.io/decision".into(), "allow".into()),
        ("authorization.k8s.io/reason".into(), reason.into()),
    ]
}

impl Story<'_> {
    /// Queues a line, sometimes with what real logs add: the request's `ResponseStarted` stage,
    /// a verbatim duplicate (overlapping exports), or a late arrival (out of time order).
    pub(super) fn emit(&mut self, ev: &Ev, variants: bool) {
        let text = ev.line();
        if variants && self.rng.chance(40) {
            let mut started = ev.clone();
            started.stage = "ResponseStarted";
            started.response = None;
            started.at = (ev.at - self.rng.range(MILLI, 3 * MILLI)).max(ev.received);
            self.lines.push((started.at, started.line()));
        }
        let mut at = ev.at;
        if self.rng.chance(10) {
            at += self.rng.range(300 * MILLI, 3 * SECOND);
        }
        if self.rng.chance(15) {
            let later = at + self.rng.range(0, 2 * SECOND);
            self.lines.push((later, text.clone()));
        }
        self.lines.push((at, text));
    }

    /// A line that is not a pod event (reads, events, …), queued as is.
    pub fn emit_other(&mut self, at: Micros, line: String) {
        self.lines.push((at, line));
    }

    pub(super) fn exp(&mut self, inc: &Inc) -> &mut ExpectedPod {
        &mut self.pods[inc.exp]
    }

    /// Creates a pod from `tpl` in namespace `ns`, running the built-in admission plugins and the
    /// webhooks. Returns the incarnation, or `None` when `deny` refuses it (the denied create is
    /// logged and recorded): `deny` sees the admitted object and answers (code, reason, message).
    pub fn create(
        &mut self,
        ns: usize,
        tpl: &Template,
        adm: &Admission,
        client: &Client,
        t: Micros,
        deny: impl Fn(&Value) -> Option<(i64, String, String)>,
    ) -> Option<Inc> {
        let nsv = self.world.namespaces[ns].clone();
        let req = tpl.request();
        let name = if tpl.generate {
            self.world.fresh(ns, &tpl.name, &mut self.rng)
        } else {
            tpl.name.clone()
        };
        let defaults = objects::builtin(&nsv, &req, &mut self.rng);
        let mut obj = req.clone();
        for (path, value) in &defaults {
            webhooks::apply(
                &mut obj,
                &json!([{"op": "add", "path": path, "value": value}]),
            );
        }
        let calls = webhooks::admit(&nsv, adm, &mut obj, &mut self.rng);
        let full = !client.metadata_only;
        let all_paths: Vec<String> = calls.iter().filter_map(|c| c.paths()).flatten().collect();
        let mut builtin: Vec<String> = defaults
            .iter()
            .map(|(p, _)| p.clone())
            .filter(|p| !all_paths.iter().any(|q| explains(q, p)))
            .collect();
        builtin.sort();
        builtin.dedup();
        let mut annotations = auth("");
        annotations.extend(webhooks::annotations(&calls, full));
        let enforce = if nsv.restricted {
            "restricted"
        } else {
            "privileged"
        };
        annotations.push((
            "pod-security.kubernetes.io/enforce-policy".into(),
            format!("{enforce}:latest"),
        ));
        let timeout = calls.iter().filter(|c| c.failed_open).count() as i64 * 10 * SECOND;
        let received = t - timeout - self.rng.range(8 * MILLI, 45 * MILLI);
        let uri = format!("/api/v1/namespaces/{}/pods{}", nsv.name, client.query);
        let denial = deny(&obj);
        let uid = self.rng.uuid();
        let rv = self.world.next_rv();
        let stored = objects::stored(&obj, &name, &nsv.name, &uid, rv, t);
        let status_body = denial.as_ref().map(|(code, reason, message)| {
            json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": message, "reason": reason, "code": code})
        });
        let ev = Ev {
            level: if full { "RequestResponse" } else { "Metadata" },
            audit_id: &self.rng.uuid(),
            stage: "ResponseComplete",
            uri: &uri,
            verb: "create",
            user: client.user,
            source_ip: client.ip,
            user_agent: client.agent,
            object_ref: ObjRef {
                resource: "pods",
                namespace: Some(&nsv.name),
                name: (!tpl.generate).then_some(name.as_str()),
                api_version: "v1",
                ..Default::default()
            },
            code: denial.as_ref().map_or(201, |d| d.0),
            failure: denial.as_ref().map(|(_, r, m)| (m.as_str(), r.as_str())),
            request: full.then_some(&req),
            response: if !full {
                None
            } else if denial.is_some() {
                status_body.as_ref()
            } else {
                Some(&stored)
            },
            received,
            at: t,
            annotations,
        };
        self.emit(&ev, false);
        let mut e = blank(&nsv.name, &name, t);
        e.created_at = Some(time(t));
        e.created_by = Some(client.user.into());
        e.event_kinds.push("create".into());
        e.webhooks = calls
            .iter()
            .map(|c| ExpectedCall {
                round: c.round,
                index: c.hook.index,
                configuration: c.hook.configuration.into(),
                webhook: c.hook.webhook.into(),
                mutated: c.mutated(),
                failed_open: c.failed_open,
                paths: if full { c.paths() } else { None },
            })
            .collect();
        if let Some((_, _, message)) = &denial {
            e.denied = true;
            e.denied_by = denied_by(message);
            self.pods.push(e);
            return None;
        }
        e.uid = Some(uid.clone());
        if full {
            e.builtin_changes = builtin;
            e.scheduler = stored
                .pointer("/spec/schedulerName")
                .and_then(Value::as_str)
                .map(str::to_owned);
        }
        self.pods.push(e);
        let containers = tpl
            .containers
            .iter()
            .map(|c| (c.name.clone(), c.image.clone()))
            .collect();
        Some(Inc {
            exp: self.pods.len() - 1,
            ns: nsv.name,
            name,
            uid,
            state: stored,
            node: None,
            ip: String::new(),
            containers,
            bound_node: None,
            object_node: None,
            kubelet_node: None,
        })
    }

    /// Settles the facts that depend on the whole story (the node's fallbacks).
    pub fn finish(&mut self, inc: Inc) {
        let node = inc.bound_node.or(inc.object_node).or(inc
            .kubelet_node
            .filter(|_| self.pods[inc.exp].bound_at.is_none()));
        self.pods[inc.exp].node = node;
    }
}

/// What denied a create, read from the message as the contract describes.
fn denied_by(message: &str) -> Option<String> {
    if let Some(rest) = message.strip_prefix("admission webhook \"") {
        return rest.split('"').next().map(str::to_owned);
    }
    message
        .contains("violates PodSecurity")
        .then(|| "PodSecurity".to_owned())
}
