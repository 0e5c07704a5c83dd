//! The generated cluster: its namespaces (and what each makes the webhooks do), its EC2 nodes,
//! the people and controllers that act in it, and the pod names in use (a name is never reused in
//! a namespace except where a story means it to be).

use std::collections::{HashSet, VecDeque};

use super::rng::{Micros, Rng};
use super::webhooks::Ns;

pub const KUBECTL: &str = "kubectl/v1.29.3 (darwin/arm64) kubernetes/6813625";
pub const KUBELET: &str = "kubelet/v1.29.3-eks-ae9a62a (linux/amd64) kubernetes/ae9a62a";
pub const FARGATE_KUBELET: &str = "kubelet/v1.29.0-eks-a5ec690 (linux/amd64) kubernetes/a5ec690";
pub const SCHEDULER: &str = "system:kube-scheduler";
pub const SCHEDULER_AGENT: &str =
    "kube-scheduler/v1.29.4 (linux/amd64) kubernetes/036c24b/scheduler";
pub const FARGATE_SCHEDULER: &str = "eks:fargate-scheduler";
pub const FARGATE_SCHEDULER_AGENT: &str =
    "fargate-scheduler/v0.0.0 (linux/amd64) kubernetes/$Format";
pub const CONTROL_PLANE_IP: &str = "10.0.101.23";

/// `system:serviceaccount:kube-system:NAME` and its user agent.
pub fn controller(name: &str) -> (String, String) {
    let user = format!("system:serviceaccount:kube-system:{name}");
    let agent = format!("kube-controller-manager/v1.29.4 (linux/amd64) kubernetes/036c24b/{user}");
    (user, agent)
}

/// People who run kubectl, with their client address.
pub const HUMANS: &[(&str, &str)] = &[
    ("alice", "198.51.100.77"),
    ("bob", "198.51.100.23"),
    ("carol", "192.0.2.141"),
    ("dave", "203.0.113.58"),
];

pub const APPS: &[&str] = &[
    "api",
    "web",
    "worker",
    "frontend",
    "cart",
    "checkout",
    "search",
    "notifier",
    "gateway",
    "auth",
    "billing",
    "inventory",
    "recommender",
    "profile",
    "media",
    "orders",
    "pricing",
    "ledger",
    "quotes",
    "export",
];

pub const IMAGES: &[&str] = &[
    "public.ecr.aws/nginx/nginx:1.25.4",
    "111122223333.dkr.ecr.us-west-2.amazonaws.com/platform/app:3.4.1",
    "111122223333.dkr.ecr.us-west-2.amazonaws.com/shop/service:1.14.2",
    "docker.io/library/python:3.12-slim",
    "ghcr.io/example/worker:2.0.7",
    "public.ecr.aws/docker/library/redis:7.2",
];

fn ns(name: &str) -> Ns {
    Ns {
        name: name.into(),
        ..Default::default()
    }
}

/// The namespaces, each with the traits that decide which webhooks mutate there.
fn namespaces() -> Vec<Ns> {
    let mut out = Vec::new();
    for (n, profile) in [
        ("fargate-ns", "demo-profile"),
        ("fargate-batch", "batch-profile"),
        ("fargate-web", "web-profile"),
    ] {
        out.push(Ns {
            fargate_profile: Some(profile),
            ..ns(n)
        });
    }
    for n in ["shop", "checkout", "orders", "storefront-mesh"] {
        out.push(Ns {
            istio: true,
            elbv2: n == "shop",
            cost_center: (n == "orders").then_some("cc-2210"),
            ..ns(n)
        });
    }
    out.push(Ns {
        istio: true,
        gatekeeper: true,
        restricted: true,
        cost_center: Some("cc-4410"),
        ..ns("payments")
    });
    out.push(Ns {
        gatekeeper: true,
        restricted: true,
        ..ns("ledger")
    });
    for n in ["team-a", "team-b", "team-c", "team-d", "catalog"] {
        out.push(Ns {
            limit_range: true,
            elbv2: n == "catalog",
            ..ns(n)
        });
    }
    for n in ["reports", "analytics", "ml-batch"] {
        out.push(ns(n));
    }
    for n in ["db", "cache", "search-data"] {
        out.push(ns(n));
    }
    for n in ["sandbox", "dev-sandbox"] {
        out.push(Ns {
            sandbox: true,
            ..ns(n)
        });
    }
    for n in [
        "default",
        "monitoring",
        "logging",
        "ingress-nginx",
        "storefront",
        "ops",
    ] {
        out.push(Ns {
            elbv2: n == "storefront",
            ..ns(n)
        });
    }
    out
}

/// A pod that exists now, for the kubelets' and controllers' reads in the noise.
#[derive(Debug, Clone)]
pub struct Live {
    pub namespace: String,
    pub name: String,
    pub uid: String,
    pub node: String,
    /// Bound at; removed at (`Micros::MAX` while it lives).
    pub from: Micros,
    pub until: Micros,
}

pub struct World {
    pub namespaces: Vec<Ns>,
    pub nodes: Vec<String>,
    used: HashSet<(usize, String)>,
    resource_version: u64,
    /// Recently started pods (a bounded window: memory does not grow with the corpus).
    pub recent: VecDeque<Live>,
}

const RECENT: usize = 64;

impl World {
    pub fn new(rng: &mut Rng) -> World {
        let nodes = (0..24)
            .map(|_| {
                format!(
                    "ip-10-0-{}-{}.us-west-2.compute.internal",
                    rng.range(16, 96),
                    rng.range(2, 254)
                )
            })
            .collect();
        World {
            namespaces: namespaces(),
            nodes,
            used: HashSet::new(),
            resource_version: 48_000_000 + rng.below(4_000_000),
            recent: VecDeque::new(),
        }
    }

    pub fn ns_index(&self, name: &str) -> usize {
        self.namespaces
            .iter()
            .position(|n| n.name == name)
            .unwrap_or(0)
    }

    /// A namespace chosen among those `f` accepts.
    pub fn pick_ns(&self, rng: &mut Rng, f: impl Fn(&Ns) -> bool) -> usize {
        let ok: Vec<usize> = (0..self.namespaces.len())
            .filter(|&i| f(&self.namespaces[i]))
            .collect();
        if ok.is_empty() {
            return 0;
        }
        *rng.pick(&ok)
    }

    /// Reserves `name` in namespace `ns`; false when it is taken.
    pub fn claim(&mut self, ns: usize, name: &str) -> bool {
        self.used.insert((ns, name.to_owned()))
    }

    /// A fresh `PREFIX` + random suffix name in `ns`.
    pub fn fresh(&mut self, ns: usize, prefix: &str, rng: &mut Rng) -> String {
        loop {
            let name = format!("{prefix}{}", rng.suffix(5));
            if self.claim(ns, &name) {
                return name;
            }
        }
    }

    pub fn next_rv(&mut self) -> u64 {
        self.resource_version += 1 + self.resource_version % 7;
        self.resource_version
    }

    pub fn started(&mut self, live: Live) {
        if self.recent.len() == RECENT {
            self.recent.pop_front();
        }
        self.recent.push_back(live);
    }

    pub fn ended(&mut self, uid: &str, at: Micros) {
        if let Some(l) = self.recent.iter_mut().find(|l| l.uid == uid) {
            l.until = at;
        }
    }

    /// A recent pod that exists at `t` (bound, not yet removed), if one is found quickly.
    pub fn live_at(&self, rng: &mut Rng, t: Micros) -> Option<&Live> {
        (0..4).find_map(|_| {
            let l = self
                .recent
                .get(rng.below(self.recent.len() as u64) as usize)?;
            (l.from <= t && t <= l.until).then_some(l)
        })
    }
}
