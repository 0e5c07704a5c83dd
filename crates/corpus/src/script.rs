//! How stories are chosen and the steps they share: templates for controllers' pods, creates by
//! controllers, scheduling and start on EC2 or Fargate, and the kubelet's side of a deletion.
//! The story kinds themselves are in `pods.rs` and `lifecycles.rs`.

use serde_json::{json, Value};

use super::lifecycles;
use super::mutators::Admission;
use super::objects::{Container, Report, Template};
use super::pods;
use super::rng::{Micros, Rng, MILLI, SECOND};
use super::story::{Client, Inc, Story};
use super::webhooks::KYVERNO_IGN;
use super::world::{self, controller, Live, World, HUMANS, KUBECTL, SCHEDULER, SCHEDULER_AGENT};
use super::world::{CONTROL_PLANE_IP, FARGATE_SCHEDULER, FARGATE_SCHEDULER_AGENT};
use super::ExpectedPod;

pub(super) const MINUTE: Micros = 60 * SECOND;

/// Story kinds after the first, with their weights.
const KINDS: &[u64] = &[12, 14, 18, 6, 8, 6, 6, 10, 8, 6];

/// Tells story number `index` starting at `t0`: its lines (with emit times) and incarnations.
pub fn tell(
    world: &mut World,
    rng: Rng,
    index: usize,
    t0: Micros,
) -> (Vec<(Micros, String)>, Vec<ExpectedPod>) {
    let mut s = Story {
        rng,
        world,
        lines: Vec::new(),
        pods: Vec::new(),
    };
    let kind = if index == 0 {
        usize::MAX
    } else {
        s.rng.weighted(KINDS)
    };
    match kind {
        usize::MAX => pods::seed(&mut s, t0),
        0 => pods::fargate_deployment(&mut s, t0),
        1 => pods::mesh(&mut s, t0),
        2 => pods::deployment(&mut s, t0),
        3 => pods::reinvocation(&mut s, t0),
        4 => pods::job(&mut s, t0),
        5 => lifecycles::denied(&mut s, t0),
        6 => lifecycles::statefulset(&mut s, t0),
        7 => lifecycles::graceful(&mut s, t0),
        8 => lifecycles::eviction(&mut s, t0),
        _ => lifecycles::sandbox(&mut s, t0),
    }
    (s.lines, s.pods)
}

pub(super) fn human(rng: &mut Rng) -> (&'static str, &'static str) {
    *rng.pick(HUMANS)
}

pub(super) fn kubectl<'a>(user: &'a str, ip: &'a str, query: &'a str) -> Client<'a> {
    Client {
        user,
        agent: KUBECTL,
        ip,
        query,
        metadata_only: false,
    }
}

pub(super) fn labels(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// A ReplicaSet's pod template in namespace `ns`.
pub(super) fn rs_template(s: &mut Story, app: &str, sa: Option<String>) -> Template {
    let hash = s.rng.suffix(10);
    let image = *s.rng.pick(world::IMAGES);
    let mut c = Container::new(app, image);
    c.port = Some(8080);
    c.probe = s.rng.chance(600);
    if s.rng.chance(500) {
        c.resources = json!({"requests": {"cpu": "250m", "memory": "256Mi"}});
    }
    if s.rng.chance(400) {
        c.env = vec![("LOG_LEVEL".into(), "info".into())];
    }
    Template {
        name: format!("{app}-{hash}-"),
        generate: true,
        labels: labels(&[("app", app), ("pod-template-hash", &hash)]),
        owner: Some(("ReplicaSet", format!("{app}-{hash}"), s.rng.uuid())),
        service_account: sa,
        containers: vec![c],
        restart: "Always",
        ..Default::default()
    }
}

pub(super) fn no_denial(_: &Value) -> Option<(i64, String, String)> {
    None
}

pub(super) fn adm(s: &mut Story, app: &str) -> Admission {
    let mut failing = Vec::new();
    if s.rng.chance(20) {
        failing.push(KYVERNO_IGN);
    }
    Admission {
        failing,
        irsa_role: None,
        app: app.into(),
    }
}

fn rs_client(name: &str) -> (String, String) {
    controller(name)
}

/// Creates through a controller (no query string, RequestResponse).
pub(super) fn create_by(
    s: &mut Story,
    ns: usize,
    tpl: &Template,
    a: &Admission,
    ctl: &str,
    t: Micros,
) -> Option<Inc> {
    let (user, agent) = rs_client(ctl);
    let client = Client {
        user: &user,
        agent: &agent,
        ip: CONTROL_PLANE_IP,
        query: "",
        metadata_only: false,
    };
    s.create(ns, tpl, a, &client, t, no_denial)
}

/// Scheduling and start on an EC2 node: binding, a first status patch, Ready. Returns the time.
pub(super) fn run_ec2(
    s: &mut Story,
    inc: &mut Inc,
    t: Micros,
    ready_after: (Micros, Micros),
) -> Micros {
    let node = s.rng.pick(&s.world.nodes).clone();
    let mut t = t + s.rng.range(12 * MILLI, 40 * MILLI);
    s.bind(inc, t, SCHEDULER, SCHEDULER_AGENT, &node);
    started(s, inc, &node, t);
    t += s.rng.range(40 * MILLI, 900 * MILLI);
    s.status(inc, t, Report::Starting);
    t += s.rng.range(ready_after.0, ready_after.1);
    s.status(inc, t, Report::Ready);
    t
}

pub(super) fn started(s: &mut Story, inc: &Inc, node: &str, t: Micros) {
    s.world.started(Live {
        namespace: inc.ns.clone(),
        name: inc.name.clone(),
        uid: inc.uid.clone(),
        node: node.to_owned(),
        from: t,
        until: Micros::MAX,
    });
}

/// Fargate: the scheduler's annotation update, a binding a minute later, the kubelet's reports.
pub(super) fn run_fargate(s: &mut Story, inc: &mut Inc, t: Micros) -> Micros {
    let mut t = t + s.rng.range(800 * MILLI, 1500 * MILLI);
    let fs = (FARGATE_SCHEDULER, FARGATE_SCHEDULER_AGENT, "127.0.0.1");
    s.write(inc, t, fs, "update", |p| {
        let notes = &mut p["metadata"]["annotations"];
        if !notes.is_object() {
            *notes = json!({});
        }
        notes["CapacityProvisioned"] = json!("0.25vCPU 0.5GB");
        notes["Logging"] = json!("LoggingDisabled: LOGGING_CONFIGMAP_NOT_FOUND");
    });
    t += s.rng.range(45 * SECOND, 75 * SECOND);
    let node = format!(
        "fargate-ip-192-168-{}-{}.us-west-2.compute.internal",
        s.rng.range(64, 250),
        s.rng.range(2, 254)
    );
    s.bind(inc, t, FARGATE_SCHEDULER, FARGATE_SCHEDULER_AGENT, &node);
    started(s, inc, &node, t);
    t += s.rng.range(15 * MILLI, 40 * MILLI);
    s.status(inc, t, Report::Starting);
    t += s.rng.range(4 * SECOND, 9 * SECOND);
    s.status(inc, t, Report::Ready);
    t
}

/// The kubelet's side of a deletion: containers stopped, then the final delete.
pub(super) fn terminate(s: &mut Story, inc: &mut Inc, t: Micros, ok: bool) -> Micros {
    let node = inc.node.clone().unwrap_or_default();
    let kubelet = format!("system:node:{node}");
    let mut t = t + s.rng.range(500 * MILLI, 25 * SECOND);
    s.status(inc, t, Report::Finished { ok });
    t += s.rng.range(5 * MILLI, 60 * MILLI);
    let ip = inc.ip.clone();
    let agent = if node.starts_with("fargate-") {
        world::FARGATE_KUBELET
    } else {
        world::KUBELET
    };
    s.delete(inc, t, (&kubelet, agent, &ip), Some(0), true);
    t
}
