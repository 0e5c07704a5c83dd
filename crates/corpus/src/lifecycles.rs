//! The story kinds about how pods end or fail to begin: denied creates (Kyverno, Pod Security)
//! and their retries, StatefulSet pods deleted and recreated under the same name, graceful
//! deletes by people, evictions, and `Metadata`-level debug pods people exec into.

use serde_json::{json, Value};

use super::objects::{Container, Report, Template};
use super::rng::{Micros, MILLI, SECOND};
use super::script::{
    adm, create_by, human, kubectl, labels, no_denial, rs_template, run_ec2, terminate, MINUTE,
};
use super::story::{Client, Story};
use super::world::{self, controller, KUBECTL};

/// A pod `securityContext` that passes Pod Security `restricted`.
pub fn restricted_security() -> Value {
    json!({"runAsNonRoot": true, "runAsUser": 10001, "seccompProfile": {"type": "RuntimeDefault"}})
}

fn last_applied(ns: &str, name: &str, app: &str, image: &str) -> (String, String) {
    (
        "kubectl.kubernetes.io/last-applied-configuration".into(),
        format!(
            "{}\n",
            json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"annotations": {}, "labels": {"app": app}, "name": name, "namespace": ns}, "spec": {"containers": [{"image": image, "name": app}]}})
        ),
    )
}

/// A pod `name` labelled `app`, applied with kubectl (its last-applied configuration names `app`
/// and the image of `c`), running `c` alone.
fn applied(ns: &str, name: &str, app: &str, c: Container, restart: &'static str) -> Template {
    Template {
        name: name.to_owned(),
        labels: labels(&[("app", app)]),
        annotations: vec![last_applied(ns, name, app, &c.image)],
        containers: vec![c],
        restart,
        ..Default::default()
    }
}

/// A person's `kubectl get` of a pod that does not exist yet (a read: not a pod event).
fn get_404(s: &mut Story, ns: &str, name: &str, (user, ip): (&str, &str), t: Micros) {
    let line = super::requests::pod_get(&mut s.rng, ns, name, (user, ip, KUBECTL), true, t);
    s.emit_other(t, line);
}

pub fn denied(s: &mut Story, t0: Micros) {
    let ns = s.world.pick_ns(&mut s.rng, |n| n.restricted);
    let ns_name = s.world.namespaces[ns].name.clone();
    let who = human(&mut s.rng);
    let app = *s.rng.pick(world::APPS);
    let name = s.world.fresh(ns, &format!("{app}-migrate-"), &mut s.rng);
    let pod_security = s.rng.chance(300);
    let image = *s.rng.pick(world::IMAGES);
    let mut c = Container::new("migrate", image);
    c.env = vec![("DB_HOST".into(), format!("{app}-db.{ns_name}.svc"))];
    c.resources =
        json!({"limits": {"memory": "256Mi"}, "requests": {"cpu": "200m", "memory": "256Mi"}});
    let mut tpl = applied(&ns_name, &name, app, c, "Never");
    if pod_security {
        tpl.labels
            .push(("app.kubernetes.io/name".into(), app.into()));
    } else {
        tpl.security = Some(restricted_security());
    }
    let (nm, nsn) = (name.clone(), ns_name.clone());
    let deny = move |obj: &Value| -> Option<(i64, String, String)> {
        if obj.pointer("/spec/securityContext/runAsNonRoot") != Some(&json!(true)) {
            let c = "migrate";
            return Some((403, "Forbidden".into(), format!("pods \"{nm}\" is forbidden: violates PodSecurity \"restricted:latest\": allowPrivilegeEscalation != false (container \"{c}\" must set securityContext.allowPrivilegeEscalation=false), unrestricted capabilities (container \"{c}\" must set securityContext.capabilities.drop=[\"ALL\"]), runAsNonRoot != true (pod or container \"{c}\" must set securityContext.runAsNonRoot=true), seccompProfile (pod or container \"{c}\" must set securityContext.seccompProfile.type to \"RuntimeDefault\" or \"Localhost\")")));
        }
        if obj
            .pointer("/metadata/labels/app.kubernetes.io~1name")
            .is_none()
        {
            return Some((400, "BadRequest".into(), format!("admission webhook \"validate.kyverno.svc-fail\" denied the request: \n\nresource Pod/{nsn}/{nm} was blocked due to the following policies \n\nrequire-app-labels:\n  check-app-name: 'validation error: The label `app.kubernetes.io/name` is required. rule check-app-name failed at path /metadata/labels/app.kubernetes.io/name/'\n")));
        }
        None
    };
    let query = "?fieldManager=kubectl-client-side-apply&fieldValidation=Strict";
    let a = adm(s, app);
    get_404(s, &ns_name, &name, who, t0 - 25 * MILLI);
    let created = s.create(ns, &tpl, &a, &kubectl(who.0, who.1, query), t0, &deny);
    debug_assert!(created.is_none());
    if !s.rng.chance(600) {
        return;
    }
    // Fixed and applied again.
    let t = t0 + s.rng.range(40 * SECOND, 200 * SECOND);
    if !tpl
        .labels
        .iter()
        .any(|(k, _)| k == "app.kubernetes.io/name")
    {
        tpl.labels
            .push(("app.kubernetes.io/name".into(), app.into()));
    }
    tpl.security = Some(restricted_security());
    get_404(s, &ns_name, &name, who, t - 25 * MILLI);
    if let Some(mut inc) = s.create(ns, &tpl, &a, &kubectl(who.0, who.1, query), t, &deny) {
        let t = run_ec2(s, &mut inc, t, (2 * SECOND, 5 * SECOND));
        let done = t + s.rng.range(20 * SECOND, 2 * MINUTE);
        s.status(&mut inc, done, Report::Finished { ok: true });
        s.finish(inc);
    }
}

pub fn statefulset(s: &mut Story, t0: Micros) {
    let ns = s.world.pick_ns(&mut s.rng, |n| {
        ["db", "cache", "search-data"].contains(&n.name.as_str())
    });
    let ns_name = s.world.namespaces[ns].name.clone();
    let kind = *s
        .rng
        .pick(&["postgres", "redis", "kafka", "elastic", "mongo"]);
    let sts = loop {
        let sts = format!("{kind}-{}", s.rng.suffix(3));
        if s.world.claim(ns, &format!("{sts}-0")) {
            break sts;
        }
    };
    let name = format!("{sts}-0");
    let revision = format!("{sts}-{}", s.rng.suffix(10));
    let mut c = Container::new(kind, &format!("public.ecr.aws/docker/library/{kind}:16.2"));
    c.port = Some(5432);
    c.data_mount = true;
    let mut tpl = Template {
        name: name.clone(),
        labels: labels(&[
            ("app", &sts),
            ("apps.kubernetes.io/pod-index", "0"),
            ("controller-revision-hash", &revision),
            ("statefulset.kubernetes.io/pod-name", &name),
        ]),
        owner: Some(("StatefulSet", sts.clone(), s.rng.uuid())),
        service_account: s.rng.chance(500).then(|| sts.clone()),
        containers: vec![c],
        restart: "Always",
        claim: Some(format!("data-{name}")),
        ..Default::default()
    };
    let a = adm(s, kind);
    let Some(mut first) = create_by(s, ns, &tpl, &a, "statefulset-controller", t0) else {
        return;
    };
    let mut t = run_ec2(s, &mut first, t0, (20 * SECOND, 45 * SECOND));
    t += s.rng.range(5 * MINUTE, 30 * MINUTE);
    let (user, agent) = if s.rng.chance(500) {
        controller("statefulset-controller")
    } else {
        (
            format!("system:serviceaccount:{ns_name}:{sts}-operator"),
            "manager/v0.0.0 (linux/amd64) kubernetes/$Format".to_owned(),
        )
    };
    s.delete(&mut first, t, (&user, &agent, "10.0.19.88"), Some(60), true);
    t = terminate(s, &mut first, t, true);
    s.finish(first);
    // Recreated under the same name: a new uid, a new revision.
    t += s.rng.range(20 * MILLI, 80 * MILLI);
    tpl.labels[2].1 = format!("{sts}-{}", s.rng.suffix(10));
    tpl.containers[0].image = format!("public.ecr.aws/docker/library/{kind}:16.3");
    let Some(mut second) = create_by(s, ns, &tpl, &a, "statefulset-controller", t) else {
        return;
    };
    run_ec2(s, &mut second, t, (20 * SECOND, 45 * SECOND));
    s.finish(second);
}

pub fn graceful(s: &mut Story, t0: Micros) {
    let ns = s.world.pick_ns(&mut s.rng, |n| n.limit_range);
    let ns_name = s.world.namespaces[ns].name.clone();
    let who = human(&mut s.rng);
    let app = *s.rng.pick(&[
        "report-generator",
        "load-test",
        "migration",
        "backfill",
        "smoke-test",
    ]);
    let name = s.world.fresh(ns, &format!("{app}-"), &mut s.rng);
    let image = *s.rng.pick(world::IMAGES);
    let mut c = Container::new(app, image);
    c.port = Some(8080);
    let tpl = applied(&ns_name, &name, app, c, "Always");
    let a = adm(s, app);
    get_404(s, &ns_name, &name, who, t0 - 30 * MILLI);
    let client = kubectl(
        who.0,
        who.1,
        "?fieldManager=kubectl-client-side-apply&fieldValidation=Strict",
    );
    let Some(mut inc) = s.create(ns, &tpl, &a, &client, t0, no_denial) else {
        return;
    };
    let mut t = run_ec2(s, &mut inc, t0, (2 * SECOND, 6 * SECOND));
    if s.rng.chance(400) {
        t += s.rng.range(20 * SECOND, 4 * MINUTE);
        s.exec(&inc, t, who, &["sh", "-c", "tail -n 50 /var/log/app.log"]);
    }
    if s.rng.chance(300) {
        t += s.rng.range(20 * SECOND, 4 * MINUTE);
        s.write(&mut inc, t, (who.0, KUBECTL, who.1), "patch", |p| {
            let notes = &mut p["metadata"]["annotations"];
            if !notes.is_object() {
                *notes = json!({});
            }
            notes["owner"] = json!("platform-team");
        });
    }
    t += s.rng.range(MINUTE, 20 * MINUTE);
    s.delete(&mut inc, t, (who.0, KUBECTL, who.1), Some(30), false);
    terminate(s, &mut inc, t, true);
    s.finish(inc);
}

pub fn eviction(s: &mut Story, t0: Micros) {
    let ns = s.world.pick_ns(&mut s.rng, |n| {
        !n.restricted && n.fargate_profile.is_none() && !n.sandbox
    });
    let app = *s.rng.pick(world::APPS);
    let tpl = rs_template(s, app, None);
    let a = adm(s, app);
    let Some(mut inc) = create_by(s, ns, &tpl, &a, "replicaset-controller", t0) else {
        return;
    };
    let mut t = run_ec2(s, &mut inc, t0, (SECOND, 6 * SECOND));
    t += s.rng.range(2 * MINUTE, 30 * MINUTE);
    if s.rng.chance(600) {
        s.evict(
            &mut inc,
            t,
            (
                "system:serviceaccount:karpenter:karpenter",
                "karpenter/v0.36.1",
                "10.0.104.9",
            ),
        );
    } else {
        let who = human(&mut s.rng);
        s.evict(&mut inc, t, (who.0, KUBECTL, who.1));
    }
    let ok = s.rng.chance(800);
    terminate(s, &mut inc, t, ok);
    s.finish(inc);
}

/// A person's debug pod in a namespace whose user requests are logged at `Metadata`.
pub fn sandbox(s: &mut Story, t0: Micros) {
    let ns = s.world.pick_ns(&mut s.rng, |n| n.sandbox);
    let who = human(&mut s.rng);
    let base = *s.rng.pick(&["debug", "scratch", "toolbox", "netshoot"]);
    let name = s.world.fresh(ns, &format!("{base}-"), &mut s.rng);
    let tpl = Template {
        name: name.clone(),
        labels: labels(&[("run", &name)]),
        containers: vec![Container::new(&name, "busybox:1.36")],
        restart: "Never",
        ..Default::default()
    };
    let a = adm(s, base);
    let client = Client {
        user: who.0,
        agent: KUBECTL,
        ip: who.1,
        query: "?fieldManager=kubectl-run",
        metadata_only: true,
    };
    let Some(mut inc) = s.create(ns, &tpl, &a, &client, t0, no_denial) else {
        return;
    };
    let mut t = run_ec2(s, &mut inc, t0, (SECOND, 4 * SECOND));
    for _ in 0..1 + s.rng.below(3) {
        t += s.rng.range(3 * SECOND, 3 * MINUTE);
        s.exec(&inc, t, who, &["sh"]);
    }
    if s.rng.chance(500) {
        t += s.rng.range(MINUTE, 10 * MINUTE);
        s.delete(&mut inc, t, (who.0, KUBECTL, who.1), None, false);
        terminate(s, &mut inc, t, true);
    }
    s.finish(inc);
}
