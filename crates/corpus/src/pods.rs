//! The kinds of pod stories about workloads starting: the seed article's Fargate pod, Fargate
//! Deployments, Istio + IRSA pods, plain Deployment pods (scaled down, deleted while pending,
//! relabelled), webhook reinvocation, and Jobs whose webhooks fail open. Each is a short script
//! of events in time order (`lifecycles.rs` has the others).

use serde_json::json;

use super::lifecycles::restricted_security;
use super::mutators::Admission;
use super::objects::{Container, Report, Template};
use super::rng::{Micros, MILLI, SECOND};
use super::script::{
    adm, create_by, human, labels, no_denial, rs_template, run_ec2, run_fargate, terminate, MINUTE,
};
use super::story::{Client, Story};
use super::webhooks::{DATADOG, KYVERNO_IGN};
use super::world::{self, controller, CONTROL_PLANE_IP, KUBECTL};

pub(super) fn seed(s: &mut Story, t0: Micros) {
    let ns = s.world.ns_index("fargate-ns");
    s.world.claim(ns, "nginx");
    let tpl = Template {
        name: "nginx".into(),
        labels: labels(&[("run", "nginx")]),
        containers: vec![Container::new("nginx", "nginx")],
        restart: "Always",
        ..Default::default()
    };
    let a = Admission {
        app: "nginx".into(),
        ..Default::default()
    };
    let client = Client {
        user: "kubernetes-admin",
        agent: KUBECTL,
        ip: "203.0.113.47",
        query: "?fieldManager=kubectl-run",
        metadata_only: false,
    };
    if let Some(mut inc) = s.create(ns, &tpl, &a, &client, t0, no_denial) {
        run_fargate(s, &mut inc, t0);
        s.finish(inc);
    }
}

pub(super) fn fargate_deployment(s: &mut Story, t0: Micros) {
    let ns = s.world.pick_ns(&mut s.rng, |n| n.fargate_profile.is_some());
    let app = *s.rng.pick(world::APPS);
    let tpl = rs_template(s, app, None);
    let a = adm(s, app);
    let Some(mut inc) = create_by(s, ns, &tpl, &a, "replicaset-controller", t0) else {
        return;
    };
    let t = run_fargate(s, &mut inc, t0);
    if s.rng.chance(200) {
        let t = t + s.rng.range(MINUTE, 20 * MINUTE);
        let (user, agent) = controller("replicaset-controller");
        s.delete(&mut inc, t, (&user, &agent, CONTROL_PLANE_IP), None, false);
        terminate(s, &mut inc, t, true);
    }
    s.finish(inc);
}

pub(super) fn mesh(s: &mut Story, t0: Micros) {
    let ns = s.world.pick_ns(&mut s.rng, |n| n.istio && !n.restricted);
    let app = *s.rng.pick(world::APPS);
    let irsa = s.rng.chance(700);
    let tpl = rs_template(s, app, Some(app.to_owned()));
    let mut a = adm(s, app);
    if irsa {
        a.irsa_role = Some(format!("{}-{app}", s.world.namespaces[ns].name));
    }
    let Some(mut inc) = create_by(s, ns, &tpl, &a, "replicaset-controller", t0) else {
        return;
    };
    let t = run_ec2(s, &mut inc, t0, (2 * SECOND, 9 * SECOND));
    if s.rng.chance(150) {
        let (user, ip) = human(&mut s.rng);
        let t = t + s.rng.range(10 * SECOND, 5 * MINUTE);
        s.exec(&inc, t, (user, ip), &["sh"]);
    } else if s.rng.chance(120) {
        let t = t + s.rng.range(2 * MINUTE, 15 * MINUTE);
        s.evict(
            &mut inc,
            t,
            (
                "system:serviceaccount:karpenter:karpenter",
                "karpenter/v0.36.1",
                "10.0.104.9",
            ),
        );
        terminate(s, &mut inc, t, true);
    }
    s.finish(inc);
}

pub(super) fn deployment(s: &mut Story, t0: Micros) {
    let ns = s.world.pick_ns(&mut s.rng, |n| {
        !n.istio && !n.restricted && n.fargate_profile.is_none() && !n.sandbox
    });
    let app = *s.rng.pick(world::APPS);
    let sa = s.rng.chance(300).then(|| app.to_owned());
    let tpl = rs_template(s, app, sa);
    let a = adm(s, app);
    let Some(mut inc) = create_by(s, ns, &tpl, &a, "replicaset-controller", t0) else {
        return;
    };
    let (rs_user, rs_agent) = controller("replicaset-controller");
    let variant = s.rng.below(100);
    if variant < 8 {
        // Scaled down before the scheduler got to it.
        let t = t0 + s.rng.range(3 * MILLI, 10 * MILLI);
        s.delete(
            &mut inc,
            t,
            (&rs_user, &rs_agent, CONTROL_PLANE_IP),
            None,
            false,
        );
        s.finish(inc);
        return;
    }
    let mut t = run_ec2(s, &mut inc, t0, (SECOND, 6 * SECOND));
    if variant < 18 {
        let (user, ip) = human(&mut s.rng);
        t += s.rng.range(30 * SECOND, 10 * MINUTE);
        s.write(&mut inc, t, (user, KUBECTL, ip), "patch", |p| {
            p["metadata"]["labels"]["debug"] = json!("true");
        });
    }
    if variant >= 65 {
        t += s.rng.range(MINUTE, 25 * MINUTE);
        s.delete(
            &mut inc,
            t,
            (&rs_user, &rs_agent, CONTROL_PLANE_IP),
            None,
            false,
        );
        let ok = s.rng.chance(900);
        terminate(s, &mut inc, t, ok);
    }
    s.finish(inc);
}

/// Gatekeeper sets memory limits, Istio adds a sidecar without them, Gatekeeper runs again.
pub(super) fn reinvocation(s: &mut Story, t0: Micros) {
    let ns = s.world.pick_ns(&mut s.rng, |n| n.gatekeeper);
    let app = *s.rng.pick(world::APPS);
    let mut tpl = rs_template(s, app, Some(app.to_owned()));
    tpl.labels
        .push(("app.kubernetes.io/name".into(), app.into()));
    tpl.containers[0].resources = json!({"requests": {"cpu": "100m"}});
    tpl.security = Some(restricted_security());
    let mut a = adm(s, app);
    if s.rng.chance(500) {
        a.irsa_role = Some(format!("{}-{app}", s.world.namespaces[ns].name));
    }
    let Some(mut inc) = create_by(s, ns, &tpl, &a, "replicaset-controller", t0) else {
        return;
    };
    run_ec2(s, &mut inc, t0, (2 * SECOND, 7 * SECOND));
    s.finish(inc);
}

pub(super) fn job(s: &mut Story, t0: Micros) {
    let ns = s.world.pick_ns(&mut s.rng, |n| {
        ["reports", "analytics", "ml-batch"].contains(&n.name.as_str())
    });
    let base = *s
        .rng
        .pick(&["nightly-rollup", "export", "reindex", "train", "cleanup"]);
    let job = format!("{base}-{}", 28_604_000 + s.rng.below(9_000));
    let uid = s.rng.uuid();
    let image = *s.rng.pick(world::IMAGES);
    let mut c = Container::new(base, image);
    c.resources =
        json!({"limits": {"memory": "1Gi"}, "requests": {"cpu": "500m", "memory": "1Gi"}});
    let tpl = Template {
        name: format!("{job}-"),
        generate: true,
        labels: labels(&[
            ("admission.datadoghq.com/enabled", "true"),
            ("batch.kubernetes.io/controller-uid", &uid),
            ("batch.kubernetes.io/job-name", &job),
            ("controller-uid", &uid),
            ("job-name", &job),
        ]),
        owner: Some(("Job", job.clone(), uid.clone())),
        containers: vec![c],
        restart: "Never",
        finalizers: vec!["batch.kubernetes.io/job-tracking"],
        ..Default::default()
    };
    let mut a = adm(s, base);
    if s.rng.chance(500) && a.failing.is_empty() {
        a.failing.push(KYVERNO_IGN);
    }
    if s.rng.chance(150) {
        a.failing.push(DATADOG);
    }
    let Some(mut inc) = create_by(s, ns, &tpl, &a, "job-controller", t0) else {
        return;
    };
    let mut t = run_ec2(s, &mut inc, t0, (SECOND, 4 * SECOND));
    t += s.rng.range(30 * SECOND, 5 * MINUTE);
    let ok = s.rng.chance(900);
    s.status(&mut inc, t, Report::Finished { ok });
    t += s.rng.range(10 * MILLI, 80 * MILLI);
    let (user, agent) = controller("job-controller");
    s.write(
        &mut inc,
        t,
        (&user, &agent, CONTROL_PLANE_IP),
        "patch",
        |p| {
            if let Some(m) = p["metadata"].as_object_mut() {
                m.remove("finalizers");
            }
        },
    );
    s.finish(inc);
}
