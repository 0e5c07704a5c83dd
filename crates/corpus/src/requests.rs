//! The request shapes shared by the noise and the stories: the common head and tail of an
//! audit event, reads of one pod (the kubelet's, or a person's 404 before `kubectl apply`), and
//! `events.k8s.io` creates about a pod. Written with string pushes, not serde (hot path).

use std::fmt::Write as _;

use super::line::{push_str, push_user};
use super::rng::{push_time, Micros, Rng, MILLI};
use super::story::Inc;
use super::world::{CONTROL_PLANE_IP, KUBELET};

/// (level, stage) of a complete request logged at `Metadata`.
pub(super) const METADATA: (&str, &str) = ("Metadata", "ResponseComplete");
/// (level, stage) of a complete request logged at `Request`.
pub(super) const REQUEST: (&str, &str) = ("Request", "ResponseComplete");
/// (level, stage) of a complete request logged at `RequestResponse`.
pub(super) const REQUEST_RESPONSE: (&str, &str) = ("RequestResponse", "ResponseComplete");

/// The beginning of every event, up to and including `"userAgent":…,`.
pub(super) fn head(
    out: &mut String,
    rng: &mut Rng,
    (level, stage): (&str, &str),
    (verb, uri): (&str, &str),
    (user, ip, agent): (&str, &str, &str),
) {
    out.push_str("{\"kind\":\"Event\",\"apiVersion\":\"audit.k8s.io/v1\",\"level\":\"");
    out.push_str(level);
    out.push_str("\",\"auditID\":\"");
    rng.push_uuid(out);
    out.push_str("\",\"stage\":\"");
    out.push_str(stage);
    out.push_str("\",\"requestURI\":");
    push_str(out, uri);
    out.push_str(",\"verb\":\"");
    out.push_str(verb);
    out.push_str("\",\"user\":");
    push_user(out, user);
    out.push_str(",\"sourceIPs\":[\"");
    out.push_str(ip);
    out.push_str("\"],\"userAgent\":");
    push_str(out, agent);
    out.push(',');
}

/// The end of every event: timestamps and the authorization annotations.
pub(super) fn tail(out: &mut String, rng: &mut Rng, t: Micros, reason: &str) {
    out.push_str("\"requestReceivedTimestamp\":\"");
    push_time(out, t - rng.range(MILLI, 6 * MILLI));
    out.push_str("\",\"stageTimestamp\":\"");
    push_time(out, t);
    out.push_str("\",\"annotations\":{\"authorization.k8s.io/decision\":\"allow\",\"authorization.k8s.io/reason\":");
    push_str(out, reason);
    out.push_str("}}");
}

pub(super) fn hex64(rng: &mut Rng) -> String {
    format!(
        "{:016x}{:016x}{:016x}{:016x}",
        rng.next_u64(),
        rng.next_u64(),
        rng.next_u64(),
        rng.next_u64()
    )
}

pub(super) fn node_ip(node: &str) -> String {
    let n = node
        .strip_prefix("fargate-ip-")
        .or(node.strip_prefix("ip-"));
    n.and_then(|n| n.split('.').next())
        .unwrap_or("10.0.0.1")
        .replace('-', ".")
}

/// An `events.k8s.io/v1` create about a pod (carries the pod's uid in `regarding`).
#[allow(clippy::too_many_arguments)]
pub(super) fn event_line(
    out: &mut String,
    rng: &mut Rng,
    ns: &str,
    pod: &str,
    uid: &str,
    user: &str,
    ip: &str,
    agent: &str,
    reason: &str,
    note: &str,
    t: Micros,
) {
    let name = format!("{pod}.{:016x}", rng.next_u64());
    let uri = format!("/apis/events.k8s.io/v1/namespaces/{ns}/events");
    head(
        out,
        rng,
        REQUEST_RESPONSE,
        ("create", &uri),
        (user, ip, agent),
    );
    let mut when = String::new();
    push_time(&mut when, t - 3 * MILLI);
    let controller = if user.starts_with("system:node:") {
        "kubelet"
    } else {
        "default-scheduler"
    };
    let body = format!("\"eventTime\":\"{when}\",\"reportingController\":\"{controller}\",\"reportingInstance\":\"{}\",\"action\":\"{reason}\",\"reason\":\"{reason}\",\"regarding\":{{\"kind\":\"Pod\",\"namespace\":\"{ns}\",\"name\":\"{pod}\",\"uid\":\"{uid}\",\"apiVersion\":\"v1\"}},\"note\":\"{note}\",\"type\":\"Normal\",\"deprecatedSource\":{{}},\"deprecatedFirstTimestamp\":null,\"deprecatedLastTimestamp\":null,\"deprecatedCount\":0}}", user.trim_start_matches("system:node:"));
    let _ = write!(out, "\"objectRef\":{{\"resource\":\"events\",\"namespace\":\"{ns}\",\"name\":\"{name}\",\"apiGroup\":\"events.k8s.io\",\"apiVersion\":\"v1\"}},\"responseStatus\":{{\"metadata\":{{}},\"code\":201}},\"requestObject\":{{\"kind\":\"Event\",\"apiVersion\":\"events.k8s.io/v1\",\"metadata\":{{\"name\":\"{name}\",\"namespace\":\"{ns}\",\"creationTimestamp\":null}},{body},\"responseObject\":{{\"kind\":\"Event\",\"apiVersion\":\"events.k8s.io/v1\",\"metadata\":{{\"name\":\"{name}\",\"namespace\":\"{ns}\",\"uid\":\"");
    rng.push_uuid(out);
    let _ = write!(
        out,
        "\",\"resourceVersion\":\"{}\",\"creationTimestamp\":\"{}Z\"}},{body},",
        50_000_000 + rng.below(9_000_000),
        &when[..19]
    );
    tail(out, rng, t, "");
}

/// The scheduler's `Scheduled` event for a pod just bound.
pub fn scheduled_event(
    rng: &mut Rng,
    inc: &Inc,
    node: &str,
    user: &str,
    agent: &str,
    t: Micros,
) -> String {
    let mut out = String::with_capacity(2600);
    let note = format!("Successfully assigned {}/{} to {node}", inc.ns, inc.name);
    event_line(
        &mut out,
        rng,
        &inc.ns,
        &inc.name,
        &inc.uid,
        user,
        CONTROL_PLANE_IP,
        agent,
        "Scheduled",
        &note,
        t,
    );
    out
}

/// A kubelet's read of a pod it runs (a read: never a pod event without `--reads`).
pub fn kubelet_get(rng: &mut Rng, ns: &str, pod: &str, node: &str, t: Micros) -> String {
    let user = format!("system:node:{node}");
    pod_get(rng, ns, pod, (&user, &node_ip(node), KUBELET), false, t)
}

/// A read of one pod by `(user, ip, agent)`, answered 200 or (`missing`) 404.
pub fn pod_get(
    rng: &mut Rng,
    ns: &str,
    pod: &str,
    (user, ip, agent): (&str, &str, &str),
    missing: bool,
    t: Micros,
) -> String {
    let mut out = String::with_capacity(1200);
    let uri = format!("/api/v1/namespaces/{ns}/pods/{pod}");
    head(&mut out, rng, REQUEST, ("get", &uri), (user, ip, agent));
    let _ = write!(out, "\"objectRef\":{{\"resource\":\"pods\",\"namespace\":\"{ns}\",\"name\":\"{pod}\",\"apiVersion\":\"v1\"}},\"responseStatus\":{{\"metadata\":{{}},");
    if missing {
        let _ = write!(out, "\"status\":\"Failure\",\"message\":\"pods \\\"{pod}\\\" not found\",\"reason\":\"NotFound\",\"details\":{{\"name\":\"{pod}\",\"kind\":\"pods\"}},\"code\":404}},");
    } else {
        out.push_str("\"code\":200},");
    }
    tail(&mut out, rng, t, "");
    out
}
