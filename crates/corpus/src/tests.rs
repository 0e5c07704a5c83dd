//! The generator's own promises: deterministic per seed, one valid audit event per line, the size
//! target met, every story kind present, and an expected answer consistent with the lines.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use serde_json::Value;

use super::{generate, Expected, Spec};

fn run(spec: &Spec) -> (Vec<u8>, Expected) {
    let mut out = Vec::new();
    let expected = generate(spec, &mut out).expect("writing to memory");
    (out, expected)
}

fn small(seed: u64, pods: usize) -> Spec {
    Spec {
        seed,
        pods,
        target_bytes: None,
        noise_per_pod: 8,
    }
}

fn events(bytes: &[u8]) -> Vec<Value> {
    bytes
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_slice(l).expect("a JSON line"))
        .collect()
}

#[test]
fn same_seed_same_bytes_other_seed_other_bytes() {
    let (a, ea) = run(&small(7, 40));
    let (b, eb) = run(&small(7, 40));
    assert_eq!(a, b);
    assert_eq!(ea, eb);
    let (c, _) = run(&small(8, 40));
    assert_ne!(a, c);
}

#[test]
fn every_line_is_one_audit_event() {
    let (bytes, expected) = run(&small(3, 60));
    assert_eq!(*bytes.last().unwrap(), b'\n');
    let evs = events(&bytes);
    assert_eq!(evs.len() as u64, expected.lines);
    for ev in &evs {
        assert_eq!(ev["kind"], "Event");
        assert_eq!(ev["apiVersion"], "audit.k8s.io/v1");
        assert!(
            ev["auditID"].as_str().is_some_and(|s| s.len() == 36),
            "{ev}"
        );
        assert!(ev["user"]["username"].is_string());
        for k in ["requestReceivedTimestamp", "stageTimestamp"] {
            let t = ev[k].as_str().unwrap();
            assert!(ktrail_core::audit::parse_time(t).is_some(), "{t}");
            assert_eq!(t.len(), 27, "{t}");
        }
    }
}

#[test]
fn size_target_is_met_within_two_percent() {
    for (pods, target) in [(0, 9_000_000u64), (25, 4_000_000)] {
        let spec = Spec {
            seed: 5,
            pods,
            target_bytes: Some(target),
            noise_per_pod: 0,
        };
        let (bytes, e) = run(&spec);
        let ratio = bytes.len() as f64 / target as f64;
        assert!((0.98..1.02).contains(&ratio), "{} of {target}", bytes.len());
        let lines = bytes.iter().filter(|&&b| b == b'\n').count() as f64;
        let avg = bytes.len() as f64 / lines;
        assert!((1200.0..1700.0).contains(&avg), "average line {avg}");
        if pods == 0 {
            let stories = e
                .pods
                .iter()
                .filter(|p| p.event_kinds[0] == "create")
                .count();
            assert!(stories >= (target / super::BYTES_PER_POD) as usize);
        }
    }
}

#[test]
fn the_first_story_is_the_seed_article() {
    let (bytes, e) = run(&small(11, 5));
    let first_create = events(&bytes)
        .into_iter()
        .find(|ev| ev["objectRef"]["resource"] == "pods" && ev["verb"] == "create")
        .unwrap();
    assert_eq!(first_create["objectRef"]["namespace"], "fargate-ns");
    assert_eq!(first_create["objectRef"]["name"], "nginx");
    assert_eq!(first_create["user"]["username"], "kubernetes-admin");
    let p = e
        .pods
        .iter()
        .find(|p| p.namespace == "fargate-ns" && p.name == "nginx")
        .unwrap();
    assert_eq!(p.scheduler.as_deref(), Some("fargate-scheduler"));
    assert_eq!(p.bound_by.as_deref(), Some("eks:fargate-scheduler"));
    assert!(p.node.as_deref().unwrap().starts_with("fargate-ip-"));
    assert_eq!(
        p.event_kinds,
        ["create", "update", "binding", "status", "status"]
    );
    let fargate = &p.webhooks[0];
    assert_eq!(
        (fargate.round, fargate.index, fargate.mutated),
        (0, 0, true)
    );
    assert_eq!(
        fargate.paths.as_deref().unwrap(),
        [
            "/spec/schedulerName",
            "/spec/priorityClassName",
            "/spec/priority",
            "/metadata/labels"
        ]
    );
    assert_eq!(p.phase.as_deref(), Some("Running"));
}

#[test]
fn every_story_kind_and_log_quirk_appears() {
    let (bytes, e) = run(&small(1, 300));
    let has = |f: &dyn Fn(&super::ExpectedPod) -> bool| e.pods.iter().filter(|p| f(p)).count();
    // How many incarnations had a webhook call that `f` holds for.
    let called = |f: &dyn Fn(&super::ExpectedCall) -> bool| has(&|p| p.webhooks.iter().any(f));
    assert!(has(&|p| p.denied_by.as_deref() == Some("PodSecurity")) > 0);
    assert!(has(&|p| p.denied_by.as_deref() == Some("validate.kyverno.svc-fail")) > 0);
    assert!(called(&|w| w.failed_open && !w.mutated) > 0);
    assert!(called(&|w| w.round == 1 && w.mutated) > 0);
    assert!(called(&|w| w.round == 1 && !w.mutated) > 0);
    assert!(called(&|w| w.mutated && w.paths.is_none()) > 0);
    assert!(called(&|w| w.webhook.contains("istio") && w.mutated) > 0);
    assert!(called(&|w| w.webhook.starts_with("iam-for-pods") && w.mutated) > 0);
    assert!(has(&|p| p.deleted_via.as_deref() == Some("eviction")) > 0);
    assert!(
        has(&|p| p
            .deleted_by
            .as_deref()
            .is_some_and(|u| !u.starts_with("system:")))
            > 0
    );
    assert!(has(&|p| p.event_kinds.contains(&"exec".into())) > 0);
    assert!(has(&|p| p.event_kinds.contains(&"patch".into())) > 0);
    assert!(has(&|p| p.deleted_at.is_some() && p.bound_at.is_none()) > 0);
    let mut uids: BTreeMap<(&str, &str), BTreeSet<&str>> = BTreeMap::new();
    for p in e.pods.iter().filter(|p| !p.denied) {
        uids.entry((&p.namespace, &p.name))
            .or_default()
            .insert(p.uid.as_deref().unwrap());
    }
    assert!(
        uids.values().any(|u| u.len() == 2),
        "a recreated StatefulSet pod"
    );
    assert!(
        e.pods
            .iter()
            .map(|p| &p.namespace)
            .collect::<HashSet<_>>()
            .len()
            >= 20
    );

    let evs = events(&bytes);
    let pods = |ev: &&Value| ev["objectRef"]["resource"] == "pods";
    assert!(evs.iter().filter(pods).any(|ev| ev["verb"] == "create"
        && ev["objectRef"].get("subresource").is_none()
        && ev["objectRef"].get("name").is_none()));
    assert!(evs
        .iter()
        .filter(pods)
        .any(|ev| ev["stage"] == "ResponseStarted" && ev["verb"] == "patch"));
    assert!(evs.iter().filter(pods).any(
        |ev| ev["verb"] != "create" && ev["requestObject"]["preconditions"]["uid"].is_string()
    ));
    let mut seen = HashSet::new();
    let dup = bytes
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .any(|l| !seen.insert(l));
    assert!(dup, "some lines are exported twice");
    let times: Vec<&str> = evs
        .iter()
        .map(|ev| ev["stageTimestamp"].as_str().unwrap())
        .collect();
    assert!(
        times.windows(2).any(|w| w[0] > w[1]),
        "some lines are out of order"
    );
    let late = times.windows(2).map(|w| {
        let (a, b) = (
            ktrail_core::audit::parse_time(w[0]).unwrap(),
            ktrail_core::audit::parse_time(w[1]).unwrap(),
        );
        (a - b).num_milliseconds()
    });
    assert!(
        late.max().unwrap() <= 5_000,
        "out of order by a few seconds at most"
    );
}

#[test]
fn expected_answer_is_self_consistent() {
    let (_, e) = run(&small(2, 120));
    let keys: Vec<_> = e
        .pods
        .iter()
        .map(|p| (&p.namespace, &p.name, p.first_at))
        .collect();
    assert!(keys.windows(2).all(|w| w[0] <= w[1]), "sorted");
    let kinds: u64 = e.pods.iter().map(|p| p.event_kinds.len() as u64).sum();
    assert_eq!(kinds, e.pod_events);
    for p in &e.pods {
        assert_eq!(p.event_kinds[0], "create");
        assert!(
            p.builtin_changes.windows(2).all(|w| w[0] < w[1]),
            "sorted, unique"
        );
        assert_eq!(p.denied, p.uid.is_none());
        if p.denied {
            assert!(p.builtin_changes.is_empty() && p.denied_by.is_some());
            assert_eq!(p.event_kinds.len(), 1);
        }
        let idx: Vec<_> = p.webhooks.iter().map(|w| (w.round, w.index)).collect();
        assert!(idx.windows(2).all(|w| w[0] < w[1]), "by round, then index");
        assert!(
            idx.contains(&(0, 12)) && !idx.contains(&(0, 1)),
            "gaps where no pod webhook is"
        );
    }
    let calls: u64 = e.webhooks.iter().map(|w| w.calls).sum();
    assert_eq!(
        calls,
        e.pods.iter().map(|p| p.webhooks.len() as u64).sum::<u64>()
    );
    let fargate = &e.webhooks[0];
    assert_eq!(fargate.installed[0].user, "eks:cluster-bootstrap");
    let istio = e
        .webhooks
        .iter()
        .find(|w| w.webhook.contains("istio"))
        .unwrap();
    assert_eq!(istio.installed.len(), 2);
    assert_eq!(istio.installed[0].user, "platform-ci");
}

#[test]
fn webhook_configuration_writes_are_what_the_engine_sees() {
    let (bytes, e) = run(&small(4, 10));
    let mut engine =
        ktrail_core::collect::Collector::new(ktrail_core::record::Selection::default());
    for line in bytes.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        assert!(engine.feed_line(line).is_none());
    }
    let report = engine.finish().expect("in memory");
    for w in &e.webhooks {
        let seen: Vec<(&str, &str)> = report
            .configs
            .iter()
            .filter(|c| c.kind == "mutating" && c.name == w.configuration)
            .map(|c| (c.verb.as_str(), c.user.as_str()))
            .collect();
        let want: Vec<(&str, &str)> = w
            .installed
            .iter()
            .map(|i| (i.verb.as_str(), i.user.as_str()))
            .collect();
        assert_eq!(seen, want, "{}", w.configuration);
    }
    assert_eq!(report.summary.lines_read, e.lines);
    assert_eq!(report.summary.pod_events, e.pod_events);
}
