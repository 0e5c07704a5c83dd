//! Blame over hand-made records: each write kind, patch type and attribution rule, and the
//! rebuilt-state check.

use chrono::{Duration, TimeZone, Utc};
use serde_json::{json, Value};

use super::*;
use crate::audit::Stage;
use crate::record::Record;
use crate::timeline::Incarnation;

const USER: &str = "alice";

fn rec(seq: u64, secs: i64, verb: &str, sub: Option<&str>, user: &str) -> Record {
    Record {
        seq,
        audit_id: Some(format!("id-{seq}")),
        stage: Stage::ResponseComplete,
        time: Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap() + Duration::seconds(secs),
        verb: verb.into(),
        subresource: sub.map(Into::into),
        namespace: "ns".into(),
        name: "p".into(),
        uid: Some("U".into()),
        user: user.into(),
        impersonated: None,
        user_agent: Some("kubectl/v1.30.0 (linux/amd64)".into()),
        code: Some(200),
        message: None,
        level: Some("RequestResponse".into()),
        request_uri: None,
        webhook_annotations: Vec::new(),
        request: None,
        response: None,
        source: Default::default(),
    }
}

fn req(mut r: Record, v: Value) -> Record {
    r.request = Some(v.into());
    r
}

fn resp(mut r: Record, v: Value) -> Record {
    r.response = Some(v.into());
    r
}

/// A mutating webhook call at (round, index) with its JSON Patch.
fn webhook(mut r: Record, round: u32, index: u32, name: &str, patch: Value) -> Record {
    let key = format!("round_{round}_index_{index}");
    r.webhook_annotations.push((
        format!("mutation.webhook.admission.k8s.io/{key}"),
        json!({"configuration": name, "webhook": name, "mutated": true}).to_string(),
    ));
    r.webhook_annotations.push((
        format!("patch.webhook.admission.k8s.io/{key}"),
        json!({"configuration": name, "webhook": name, "patch": patch, "patchType": "JSONPatch"})
            .to_string(),
    ));
    r
}

fn pod(labels: Value, containers: Value) -> Value {
    json!({
        "kind": "Pod",
        "apiVersion": "v1",
        "metadata": {"name": "p", "namespace": "ns", "labels": labels},
        "spec": {"containers": containers}
    })
}

/// A pod of one container, `app`, running `app:1`.
fn app_pod(labels: Value) -> Value {
    pod(labels, json!([{"name": "app", "image": "app:1"}]))
}

/// The stored object of a create: `v` with the API server's fields.
fn stored(mut v: Value, rv: &str) -> Value {
    let m = v["metadata"].as_object_mut().unwrap();
    m.insert("uid".into(), json!("U"));
    m.insert("resourceVersion".into(), json!(rv));
    m.insert("creationTimestamp".into(), json!("2024-01-01T00:00:00Z"));
    m.insert(
        "managedFields".into(),
        json!([{"manager": "kubectl", "operation": "Update"}]),
    );
    v
}

fn run(records: &[Record], opts: &Options) -> PodBlame {
    let inc = Incarnation {
        uid: Some("U".into()),
        denied: false,
        records: records.iter().collect(),
    };
    blame(&inc, opts).expect("a pod")
}

fn blamed(records: &[Record]) -> PodBlame {
    run(records, &Options::default())
}

fn field<'a>(b: &'a PodBlame, path: &str) -> &'a Field {
    b.fields
        .iter()
        .find(|f| f.path == path)
        .unwrap_or_else(|| panic!("no field {path} in {:#?}", paths(b)))
}

fn paths(b: &PodBlame) -> Vec<&str> {
    b.fields.iter().map(|f| f.path.as_str()).collect()
}

fn by<'a>(b: &'a PodBlame, path: &str) -> (Kind, Option<&'a str>, Option<&'a str>) {
    let f = field(b, path);
    (
        f.set_by.kind,
        f.set_by.name.as_deref(),
        f.set_by.event.as_deref(),
    )
}

/// A create by alice, the webhook `inject` adding a label and a sidecar, built-in admission
/// adding the service-account volume.
fn create() -> Record {
    let request = app_pod(json!({"app": "web"}));
    let mut response = pod(
        json!({"app": "web", "injected": "yes"}),
        json!([{"name": "app", "image": "app:1"}, {"name": "proxy", "image": "proxy:1"}]),
    );
    response["spec"]["volumes"] = json!([{"name": "kube-api-access-x", "projected": {}}]);
    let r = req(rec(1, 0, "create", None, USER), request);
    let r = resp(r, stored(response, "1"));
    webhook(
        r,
        0,
        0,
        "inject",
        json!([
            {"op": "add", "path": "/metadata/labels/injected", "value": "yes"},
            {"op": "add", "path": "/spec/containers/-", "value": {"name": "proxy", "image": "proxy:1"}}
        ]),
    )
}

#[test]
fn a_create_is_split_between_user_webhook_builtin_and_apiserver() {
    let b = blamed(&[create()]);
    assert_eq!(
        by(&b, "/metadata/labels/app"),
        (Kind::User, Some(USER), Some("create"))
    );
    assert_eq!(
        by(&b, "/metadata/labels/injected"),
        (Kind::Webhook, Some("inject"), Some("create"))
    );
    assert_eq!(
        field(&b, "/metadata/labels/injected").set_by.detail.call,
        Some((0, 0))
    );
    assert_eq!(by(&b, "/spec/containers/1/image").1, Some("inject"));
    assert_eq!(by(&b, "/spec/containers/0/image").1, Some(USER));
    assert_eq!(
        by(&b, "/spec/volumes/0/name"),
        (
            Kind::Builtin,
            Some(crate::timeline::BUILTIN),
            Some("create")
        )
    );
    assert_eq!(
        by(&b, "/metadata/uid"),
        (Kind::Builtin, Some(APISERVER), Some("create"))
    );
    assert!(
        !paths(&b).iter().any(|p| p.contains("managedFields")),
        "{:?}",
        paths(&b)
    );
    assert!(b.notes.is_empty(), "{:?}", b.notes);
    let f = field(&b, "/metadata/labels/app");
    assert_eq!(f.set_by.audit_id.as_deref(), Some("id-1"));
    assert_eq!(
        f.set_by.time.as_deref(),
        Some("2024-01-01T00:00:00.000000Z")
    );
}

#[test]
fn a_field_a_webhook_removed_is_gone_and_its_neighbours_keep_their_authors() {
    let request = pod(
        json!({"app": "web", "debug": "true"}),
        json!([{"name": "debugger", "image": "dbg:1"}, {"name": "app", "image": "app:1"}]),
    );
    let response = app_pod(json!({"app": "web"}));
    let r = req(rec(1, 0, "create", None, USER), request);
    let r = resp(r, stored(response, "1"));
    let r = webhook(
        r,
        0,
        0,
        "strip",
        json!([
            {"op": "remove", "path": "/metadata/labels/debug"},
            {"op": "remove", "path": "/spec/containers/0"}
        ]),
    );
    let b = blamed(&[r]);
    assert!(
        !paths(&b).iter().any(|p| p.contains("debug")),
        "{:?}",
        paths(&b)
    );
    // The app container moved from index 1 to 0: still alice's, not the webhook's.
    assert_eq!(by(&b, "/spec/containers/0/name").1, Some(USER));
    assert_eq!(by(&b, "/spec/containers/0/image").1, Some(USER));
    assert_eq!(field(&b, "/spec/containers/0/image").value, json!("app:1"));
    assert!(b.notes.is_empty(), "{:?}", b.notes);
}

#[test]
fn a_user_value_overwritten_by_a_webhook_on_a_later_update_is_the_webhook_s_with_history() {
    let created = stored(app_pod(json!({"tier": "gold"})), "1");
    let c = resp(
        req(
            rec(1, 0, "create", None, USER),
            app_pod(json!({"tier": "gold"})),
        ),
        created.clone(),
    );
    // bob updates the tier; the webhook `tiers` sets it back to bronze on the same update.
    let mut sent = created.clone();
    sent["metadata"]["labels"]["tier"] = json!("silver");
    let mut after = created.clone();
    after["metadata"]["labels"]["tier"] = json!("bronze");
    after["metadata"]["resourceVersion"] = json!("2");
    let u = webhook(
        resp(req(rec(2, 10, "update", None, "bob"), sent), after),
        0,
        3,
        "tiers",
        json!([{"op": "replace", "path": "/metadata/labels/tier", "value": "bronze"}]),
    );
    let opts = Options {
        history: true,
        ..Default::default()
    };
    let b = run(&[c.clone(), u.clone()], &opts);
    let f = field(&b, "/metadata/labels/tier");
    assert_eq!(f.value, json!("bronze"));
    assert_eq!(
        (f.set_by.kind, f.set_by.name.as_deref()),
        (Kind::Webhook, Some("tiers"))
    );
    assert_eq!(f.set_by.event.as_deref(), Some("update"));
    let earlier: Vec<(Value, Option<&str>)> = f
        .history
        .iter()
        .map(|e| (e.value.clone(), e.set_by.name.as_deref()))
        .collect();
    assert_eq!(
        earlier,
        vec![(json!("gold"), Some(USER)), (json!("silver"), Some("bob"))]
    );
    assert_eq!(by(&b, "/metadata/resourceVersion").1, Some("bob"));
    assert!(b.notes.is_empty(), "{:?}", b.notes);
    // Without --history, no history; at a time before the update, alice's value.
    let b = run(&[c.clone(), u.clone()], &Options::default());
    assert!(field(&b, "/metadata/labels/tier").history.is_empty());
    let at = Options {
        at: Some(c.time + Duration::seconds(5)),
        ..Default::default()
    };
    let b = run(&[c, u], &at);
    assert_eq!(field(&b, "/metadata/labels/tier").value, json!("gold"));
    assert_eq!(b.at.as_deref(), Some("2024-01-01T00:00:05.000000Z"));
}

#[test]
fn a_reinvoked_webhook_is_credited_with_its_second_round() {
    let request = app_pod(json!({}));
    let response = pod(
        json!({}),
        json!([
            {"name": "app", "image": "app:1", "securityContext": {"runAsNonRoot": true}},
            {"name": "sidecar", "image": "side:1", "securityContext": {"runAsNonRoot": true}}
        ]),
    );
    let r = resp(
        req(rec(1, 0, "create", None, USER), request),
        stored(response, "1"),
    );
    let r = webhook(
        r,
        0,
        0,
        "policy",
        json!([{"op": "add", "path": "/spec/containers/0/securityContext", "value": {"runAsNonRoot": true}}]),
    );
    let r = webhook(
        r,
        0,
        1,
        "injector",
        json!([{"op": "add", "path": "/spec/containers/-", "value": {"name": "sidecar", "image": "side:1"}}]),
    );
    // Reinvoked because the injector changed the object: the policy now covers the sidecar.
    let r = webhook(
        r,
        1,
        0,
        "policy",
        json!([{"op": "add", "path": "/spec/containers/1/securityContext", "value": {"runAsNonRoot": true}}]),
    );
    let b = blamed(&[r]);
    let f = field(&b, "/spec/containers/1/securityContext/runAsNonRoot");
    assert_eq!(f.set_by.name.as_deref(), Some("policy"));
    assert_eq!(f.set_by.detail.call, Some((1, 0)));
    let f = field(&b, "/spec/containers/0/securityContext/runAsNonRoot");
    assert_eq!(f.set_by.detail.call, Some((0, 0)));
    assert_eq!(
        field(&b, "/spec/containers/1/image").set_by.detail.call,
        Some((0, 1))
    );
    assert!(b.notes.is_empty(), "{:?}", b.notes);
}

fn created_pod() -> (Record, Value) {
    let v = stored(
        pod(
            json!({"app": "web"}),
            json!([{"name": "app", "image": "app:1", "env": [{"name": "A", "value": "1"}]}]),
        ),
        "1",
    );
    let r = resp(
        req(
            rec(1, 0, "create", None, USER),
            pod(
                json!({"app": "web"}),
                json!([{"name": "app", "image": "app:1", "env": [{"name": "A", "value": "1"}]}]),
            ),
        ),
        v.clone(),
    );
    (r, v)
}

#[test]
fn a_json_patch_is_applied_and_credited_to_its_sender() {
    let (c, _) = created_pod();
    let p = req(
        rec(2, 3, "patch", None, "bob"),
        json!([{"op": "add", "path": "/metadata/labels/owner", "value": "bob"}, {"op": "replace", "path": "/spec/containers/0/image", "value": "app:2"}]),
    );
    let b = blamed(&[c, p]);
    assert_eq!(
        by(&b, "/metadata/labels/owner"),
        (Kind::User, Some("bob"), Some("patch"))
    );
    assert_eq!(field(&b, "/spec/containers/0/image").value, json!("app:2"));
    assert_eq!(by(&b, "/spec/containers/0/image").1, Some("bob"));
    assert_eq!(by(&b, "/metadata/labels/app").1, Some(USER));
}

#[test]
fn a_merge_patch_replaces_lists_when_the_response_says_so() {
    let (c, v) = created_pod();
    // A JSON merge patch replaces the env list whole; a strategic one would merge it by name.
    let body = json!({"spec": {"containers": [{"name": "app", "image": "app:1", "env": [{"name": "B", "value": "2"}]}]}});
    let mut after = v.clone();
    after["spec"]["containers"][0]["env"] = json!([{"name": "B", "value": "2"}]);
    after["metadata"]["resourceVersion"] = json!("2");
    let p = resp(req(rec(2, 3, "patch", None, "bob"), body.clone()), after);
    let b = blamed(&[c.clone(), p]);
    assert!(b.notes.is_empty(), "{:?}", b.notes);
    assert_eq!(field(&b, "/spec/containers/0/env/0/name").value, json!("B"));
    assert!(!paths(&b).contains(&"/spec/containers/0/env/1/name"));
    // Without a response, strategic (what kubectl and the kubelet send).
    let p = req(rec(2, 3, "patch", None, "bob"), body);
    let b = blamed(&[c, p]);
    assert_eq!(field(&b, "/spec/containers/0/env/0/name").value, json!("A"));
    assert_eq!(by(&b, "/spec/containers/0/env/0/value").1, Some(USER));
    assert_eq!(field(&b, "/spec/containers/0/env/1/name").value, json!("B"));
    assert_eq!(by(&b, "/spec/containers/0/env/1/value").1, Some("bob"));
}

#[test]
fn strategic_merge_patch_directives_through_blame() {
    let (c, _) = created_pod();
    let p = req(
        rec(2, 3, "patch", None, "bob"),
        json!({
            "metadata": {"labels": {"app": null, "team": "x"}, "finalizers": ["f1"]},
            "spec": {
                "$setElementOrder/containers": [{"name": "side"}, {"name": "app"}],
                "containers": [{"name": "side", "image": "side:1"}, {"name": "app", "env": [{"name": "A", "$patch": "delete"}]}]
            }
        }),
    );
    let q = req(
        rec(3, 4, "patch", None, "carol"),
        json!({"metadata": {"$deleteFromPrimitiveList/finalizers": ["f1"]}, "spec": {"containers": [{"name": "side", "$retainKeys": ["name"], "image": null}]}}),
    );
    let b = blamed(&[c, p, q]);
    assert!(!paths(&b).contains(&"/metadata/labels/app"));
    assert_eq!(by(&b, "/metadata/labels/team").1, Some("bob"));
    assert_eq!(field(&b, "/spec/containers/0/name").value, json!("side"));
    assert_eq!(by(&b, "/spec/containers/0/name").1, Some("bob"));
    assert!(!paths(&b).iter().any(|p| p.contains("finalizers")));
    assert!(!paths(&b).contains(&"/spec/containers/0/image"));
    assert_eq!(by(&b, "/spec/containers/1/image").1, Some(USER));
    assert!(!paths(&b).iter().any(|p| p.contains("/env")));
}

#[test]
fn status_writes_are_the_kubelet_s_and_bindings_the_scheduler_s() {
    let (c, _) = created_pod();
    let node = "system:node:n1";
    let bind = req(
        rec(2, 1, "create", Some("binding"), "system:kube-scheduler"),
        json!({"kind": "Binding", "target": {"kind": "Node", "name": "n1"}}),
    );
    let s1 = req(
        rec(3, 2, "patch", Some("status"), node),
        json!({"status": {"$setElementOrder/conditions": [{"type": "Ready"}, {"type": "PodScheduled"}], "conditions": [{"type": "Ready", "status": "False", "lastProbeTime": null}], "phase": "Pending"}}),
    );
    let s2 = req(
        rec(4, 5, "patch", Some("status"), node),
        json!({"status": {"$setElementOrder/conditions": [{"type": "Ready"}, {"type": "PodScheduled"}], "conditions": [{"type": "Ready", "status": "True"}], "phase": "Running"}}),
    );
    let b = blamed(&[c, bind, s1, s2]);
    assert_eq!(
        by(&b, "/spec/nodeName"),
        (
            Kind::Scheduler,
            Some("system:kube-scheduler"),
            Some("binding")
        )
    );
    assert_eq!(field(&b, "/status/conditions/0/type").value, json!("Ready"));
    assert_eq!(
        by(&b, "/status/conditions/0/status"),
        (Kind::Kubelet, Some(node), Some("status"))
    );
    assert_eq!(
        field(&b, "/status/conditions/0/status")
            .set_by
            .audit_id
            .as_deref(),
        Some("id-4")
    );
    assert_eq!(
        field(&b, "/status/conditions/0/type")
            .set_by
            .audit_id
            .as_deref(),
        Some("id-3")
    );
    assert_eq!(
        field(&b, "/status/conditions/1/type").value,
        json!("PodScheduled")
    );
    assert_eq!(by(&b, "/status/conditions/1/status").0, Kind::Scheduler);
}

#[test]
fn the_rebuilt_state_check_reports_a_mismatch_and_keeps_the_logged_value() {
    let (c, v) = created_pod();
    // The response shows a label the patch did not set: something the log does not show wrote it.
    let mut after = v.clone();
    after["metadata"]["labels"]["owner"] = json!("bob");
    after["metadata"]["labels"]["surprise"] = json!("!");
    after["metadata"]["resourceVersion"] = json!("2");
    let p = resp(
        req(
            rec(2, 3, "patch", None, "bob"),
            json!({"metadata": {"labels": {"owner": "bob"}}}),
        ),
        after,
    );
    let b = blamed(&[c, p]);
    assert_eq!(b.notes.len(), 1, "{:?}", b.notes);
    assert!(
        b.notes[0].text.contains("/metadata/labels/surprise"),
        "{:?}",
        b.notes
    );
    assert_eq!(b.notes[0].audit_id.as_deref(), Some("id-2"));
    let f = field(&b, "/metadata/labels/surprise");
    assert_eq!(f.value, json!("!"));
    assert_eq!(
        (f.set_by.kind, f.set_by.name.as_deref()),
        (Kind::Unknown, None)
    );
    assert_eq!(f.set_by.detail.why, Some(WHY_MISMATCH));
    assert_eq!(f.set_by.audit_id.as_deref(), Some("id-2"));
    assert_eq!(by(&b, "/metadata/labels/owner").1, Some("bob"));
    assert_eq!(by(&b, "/metadata/resourceVersion").1, Some("bob"));
}

#[test]
fn what_the_log_cannot_account_for_is_unknown_never_guessed() {
    // No create in the log: a patch with its response is the first thing seen.
    let v = stored(app_pod(json!({"app": "web"})), "7");
    let mut after = v.clone();
    after["metadata"]["labels"]["owner"] = json!("bob");
    let p = resp(
        req(
            rec(2, 3, "patch", None, "bob"),
            json!({"metadata": {"labels": {"owner": "bob"}}}),
        ),
        after,
    );
    let b = blamed(&[p]);
    assert_eq!(by(&b, "/metadata/labels/owner").1, Some("bob"));
    let f = field(&b, "/metadata/labels/app");
    assert_eq!(
        (f.set_by.kind, f.set_by.detail.why),
        (Kind::Unknown, Some(WHY_BEFORE_LOG))
    );
    assert_eq!(f.set_by.time, None);
    assert!(b
        .notes
        .iter()
        .any(|n| n.text.contains("does not show the pod's create")));

    // A patch logged at Metadata level, then an update whose response shows what it did.
    let (c, v) = created_pod();
    let mut unlogged = rec(2, 3, "patch", None, "mallory");
    unlogged.level = Some("Metadata".into());
    let mut after = v.clone();
    after["metadata"]["labels"]["x"] = json!("1");
    let s = resp(
        req(
            rec(3, 4, "patch", Some("status"), "system:node:n1"),
            json!({"status": {"phase": "Running"}}),
        ),
        {
            let mut a = after.clone();
            a["status"] = json!({"phase": "Running"});
            a
        },
    );
    let b = blamed(&[c, unlogged, s]);
    let f = field(&b, "/metadata/labels/x");
    assert_eq!(
        (f.set_by.kind, f.set_by.detail.why),
        (Kind::Unknown, Some(WHY_UNLOGGED))
    );
    assert_eq!(f.set_by.audit_id.as_deref(), Some("id-2"));
    assert_eq!(by(&b, "/status/phase").0, Kind::Kubelet);
    assert!(b
        .notes
        .iter()
        .any(|n| n.text.contains("logged without its body")));
    assert!(
        !b.notes.iter().any(|n| n.text.contains("differs")),
        "{:?}",
        b.notes
    );
}

#[test]
fn a_graceful_delete_sets_the_deletion_fields() {
    let (c, v) = created_pod();
    let mut after = v.clone();
    after["metadata"]["deletionTimestamp"] = json!("2024-01-01T00:01:00Z");
    after["metadata"]["deletionGracePeriodSeconds"] = json!(30);
    let d = resp(
        req(
            rec(2, 30, "delete", None, "bob"),
            json!({"kind": "DeleteOptions"}),
        ),
        after,
    );
    let b = blamed(&[c, d]);
    assert_eq!(
        by(&b, "/metadata/deletionTimestamp"),
        (Kind::User, Some("bob"), Some("delete"))
    );
    assert!(b.notes.is_empty(), "{:?}", b.notes);
}

#[test]
fn path_globs() {
    assert!(path_matches("/metadata/labels", "/metadata/labels/app"));
    assert!(path_matches("/metadata/labels/", "/metadata/labels/app"));
    assert!(!path_matches("/metadata/labels", "/metadata/labelsx"));
    assert!(path_matches(
        "/spec/containers/*/image",
        "/spec/containers/3/image"
    ));
    assert!(!path_matches(
        "/spec/containers/*/image",
        "/spec/containers/3/imagePullPolicy"
    ));
    assert!(path_matches(
        "/spec/containers/*/image*",
        "/spec/containers/3/imagePullPolicy"
    ));
    assert!(path_matches("/**/image", "/spec/initContainers/0/image"));
    assert!(path_matches("/", "/anything"));
    let b = run(
        &[create()],
        &Options {
            paths: vec!["/metadata/labels".into()],
            ..Default::default()
        },
    );
    assert_eq!(
        paths(&b),
        vec!["/metadata/labels/app", "/metadata/labels/injected"]
    );
}

#[test]
fn a_denied_create_or_a_time_before_the_pod_blames_nothing() {
    let mut r = create();
    r.code = Some(403);
    let inc = Incarnation {
        uid: None,
        denied: true,
        records: vec![&r],
    };
    assert!(blame(&inc, &Options::default()).is_none());
    let r = create();
    let inc = Incarnation {
        uid: Some("U".into()),
        denied: false,
        records: vec![&r],
    };
    let before = Options {
        at: Some(r.time - Duration::seconds(1)),
        ..Default::default()
    };
    assert!(blame(&inc, &before).is_none());
}

#[test]
fn hostile_bodies_do_not_panic() {
    // Records of an incarnation with no uid, as when the log holds no create: whatever they are,
    // blame answers.
    let blame_without_uid = |records: &[Record]| {
        let inc = Incarnation {
            uid: None,
            denied: false,
            records: records.iter().collect(),
        };
        let _ = blame(&inc, &Options::default());
    };
    let bodies = [
        json!(null),
        json!([]),
        json!("text"),
        json!([{"op": "move", "from": "/", "path": "/a"}, {"op": "add", "path": "", "value": 1}]),
        json!({"metadata": 5, "spec": {"containers": "x"}}),
        json!({"spec": {"containers": [{"$patch": "delete"}, 7, {"name": {"x": 1}}]}}),
        json!({"$patch": "delete"}),
        json!({"status": {"$setElementOrder/conditions": 5, "$retainKeys": "x"}}),
    ];
    for (i, body) in bodies.iter().enumerate() {
        let (c, _) = created_pod();
        for verb in ["patch", "update"] {
            for sub in [None, Some("status"), Some("ephemeralcontainers")] {
                let r = req(rec(2, 1, verb, sub, "bob"), body.clone());
                let r = resp(r, body.clone());
                let inc_records = [c.clone(), r.clone()];
                let _ = run(
                    &inc_records,
                    &Options {
                        history: true,
                        ..Default::default()
                    },
                );
                blame_without_uid(&[r]);
                let _ = i;
            }
        }
        let r = req(rec(1, 0, "create", None, USER), body.clone());
        let r = webhook(r, 0, 0, "w", body.clone());
        blame_without_uid(&[r]);
    }
}

#[test]
fn diff_reports_each_side_with_its_author() {
    let (c, _) = created_pod();
    let a = blamed(std::slice::from_ref(&c));
    let p = req(
        rec(2, 3, "patch", None, "bob"),
        json!({"metadata": {"labels": {"app": null, "owner": "bob"}}, "spec": {"containers": [{"name": "app", "image": "app:2"}]}}),
    );
    let b = blamed(&[c, p]);
    let d = diff::diff(&a, &b);
    let got: Vec<(&str, Option<&str>, Option<&str>)> = d
        .fields
        .iter()
        .map(|f| {
            (
                f.path.as_str(),
                f.from.as_ref().and_then(|v| v.set_by.name.as_deref()),
                f.to.as_ref().and_then(|v| v.set_by.name.as_deref()),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            ("/metadata/labels/app", Some(USER), None),
            ("/spec/containers/0/image", Some(USER), Some("bob")),
            ("/metadata/labels/owner", None, Some("bob")),
        ]
    );
}
