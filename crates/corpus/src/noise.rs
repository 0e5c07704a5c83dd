//! What a busy cluster logs besides pod writes, and what makes up most of the bytes: lease
//! renewals, node status heartbeats (some with the full image list), kubelets' and controllers'
//! reads of pods (they mention `pods` but are reads), `events.k8s.io` creates that name a pod and
//! its uid, service account token requests bound to pods, endpoint slices, configmap and secret
//! reads. None of it may turn into a pod event.
//!
//! Lines are written with `format!`-style pushes into one buffer, not through serde: this is the
//! generator's hot path (about a million lines for a 1.4 GB corpus).

use std::fmt::Write as _;

use super::requests::{
    event_line, head, hex64, kubelet_get, node_ip, tail, METADATA, REQUEST, REQUEST_RESPONSE,
};
use super::rng::{push_time, Micros, Rng, MILLI};
use super::world::{World, CONTROL_PLANE_IP, KUBELET};

const CONTROLLER_LEASES: &[(&str, &str)] = &[
    ("kube-controller-manager", "system:kube-controller-manager"),
    ("kube-scheduler", "system:kube-scheduler"),
    ("cloud-controller-manager", "eks:cloud-controller-manager"),
    ("eks-certificates-controller", "eks:certificate-controller"),
];

const IMAGES: &[&str] = &[
    "602401143452.dkr.ecr.us-west-2.amazonaws.com/amazon-k8s-cni",
    "602401143452.dkr.ecr.us-west-2.amazonaws.com/amazon-k8s-cni-init",
    "602401143452.dkr.ecr.us-west-2.amazonaws.com/eks/kube-proxy",
    "602401143452.dkr.ecr.us-west-2.amazonaws.com/eks/coredns",
    "602401143452.dkr.ecr.us-west-2.amazonaws.com/eks/aws-ebs-csi-driver",
    "602401143452.dkr.ecr.us-west-2.amazonaws.com/eks/csi-node-driver-registrar",
    "602401143452.dkr.ecr.us-west-2.amazonaws.com/eks/livenessprobe",
    "docker.io/istio/proxyv2",
    "public.ecr.aws/datadog/agent",
    "public.ecr.aws/nginx/nginx",
    "111122223333.dkr.ecr.us-west-2.amazonaws.com/shop/service",
    "111122223333.dkr.ecr.us-west-2.amazonaws.com/platform/app",
    "ghcr.io/example/worker",
    "public.ecr.aws/eks-distro/kubernetes/pause",
];

/// Generates noise lines; the mix is chosen so a line averages about 1.4 KB.
pub struct Noise {
    weights: [u64; 12],
}

impl Default for Noise {
    fn default() -> Self {
        Noise {
            // node lease, controller lease, heartbeat, full node status, kubelet get, watch,
            // list, event, configmap get, token request, endpoint slice, secret get
            weights: [240, 45, 85, 14, 180, 70, 50, 45, 150, 30, 30, 61],
        }
    }
}

impl Noise {
    /// One noise line stamped `t` (without newline) appended to `out`.
    pub fn line(&self, rng: &mut Rng, world: &World, t: Micros, out: &mut String) {
        let node = rng.pick(&world.nodes).clone();
        let kubelet = format!("system:node:{node}");
        let ip = node_ip(&node);
        let live = world.live_at(rng, t).cloned();
        let (ns, pod, pod_node) = match &live {
            Some(l) => (l.namespace.as_str(), l.name.as_str(), l.node.as_str()),
            None => ("kube-system", "coredns-5d8f7b9c6-x2k4p", node.as_str()),
        };
        match rng.weighted(&self.weights) {
            0 => {
                let uri = format!("/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/{node}?timeout=10s");
                let who: (&str, &str, &str) = (&kubelet, &ip, KUBELET);
                head(out, rng, METADATA, ("update", &uri), who);
                let _ = write!(out, "\"objectRef\":{{\"resource\":\"leases\",\"namespace\":\"kube-node-lease\",\"name\":\"{node}\",\"uid\":\"");
                rng.push_uuid(out);
                let _ = write!(out, "\",\"apiGroup\":\"coordination.k8s.io\",\"apiVersion\":\"v1\",\"resourceVersion\":\"{}\"}},\"responseStatus\":{{\"metadata\":{{}},\"code\":200}},", 50_000_000 + rng.below(9_000_000));
                tail(out, rng, t, "");
            }
            1 => {
                let (lease, user) = *rng.pick(CONTROLLER_LEASES);
                let uri = format!(
                    "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/{lease}?timeout=5s"
                );
                let agent =
                    format!("{lease}/v1.29.4 (linux/amd64) kubernetes/036c24b/leader-election");
                let who: (&str, &str, &str) = (user, CONTROL_PLANE_IP, &agent);
                head(out, rng, REQUEST_RESPONSE, ("update", &uri), who);
                let uid = rng.uuid();
                let rv = 50_000_000 + rng.below(9_000_000);
                let holder = format!("ip-10-0-101-23.us-west-2.compute.internal_{}", rng.uuid());
                let mut renew = String::new();
                push_time(&mut renew, t - 2 * MILLI);
                let obj = |rv: u64| {
                    format!("{{\"kind\":\"Lease\",\"apiVersion\":\"coordination.k8s.io/v1\",\"metadata\":{{\"name\":\"{lease}\",\"namespace\":\"kube-system\",\"uid\":\"{uid}\",\"resourceVersion\":\"{rv}\",\"creationTimestamp\":\"2024-01-15T09:32:15Z\"}},\"spec\":{{\"holderIdentity\":\"{holder}\",\"leaseDurationSeconds\":15,\"acquireTime\":\"2024-05-02T06:02:47.118204Z\",\"renewTime\":\"{renew}\",\"leaseTransitions\":7}}}}")
                };
                let _ = write!(out, "\"objectRef\":{{\"resource\":\"leases\",\"namespace\":\"kube-system\",\"name\":\"{lease}\",\"uid\":\"{uid}\",\"apiGroup\":\"coordination.k8s.io\",\"apiVersion\":\"v1\",\"resourceVersion\":\"{rv}\"}},\"responseStatus\":{{\"metadata\":{{}},\"code\":200}},\"requestObject\":{},\"responseObject\":{},", obj(rv), obj(rv + 1));
                tail(out, rng, t, &format!("RBAC: allowed by RoleBinding \"system::leader-locking-{lease}/kube-system\" of Role \"system::leader-locking-{lease}\" to User \"{user}\""));
            }
            k @ (2 | 3) => {
                let uri = format!("/api/v1/nodes/{node}/status?timeout=10s");
                head(out, rng, REQUEST, ("patch", &uri), (&kubelet, &ip, KUBELET));
                let _ = write!(out, "\"objectRef\":{{\"resource\":\"nodes\",\"name\":\"{node}\",\"apiVersion\":\"v1\",\"subresource\":\"status\"}},\"responseStatus\":{{\"metadata\":{{}},\"code\":200}},\"requestObject\":{{\"status\":{{\"$setElementOrder/conditions\":[{{\"type\":\"MemoryPressure\"}},{{\"type\":\"DiskPressure\"}},{{\"type\":\"PIDPressure\"}},{{\"type\":\"Ready\"}}],\"conditions\":[");
                let mut beat = String::new();
                push_time(&mut beat, t);
                let beat = &beat[..19];
                for (i, c) in ["MemoryPressure", "DiskPressure", "PIDPressure", "Ready"]
                    .iter()
                    .enumerate()
                {
                    let _ = write!(
                        out,
                        "{}{{\"lastHeartbeatTime\":\"{beat}Z\",\"type\":\"{c}\"}}",
                        if i > 0 { "," } else { "" }
                    );
                }
                out.push(']');
                if k == 3 {
                    out.push_str(",\"images\":[");
                    for (i, img) in IMAGES.iter().enumerate() {
                        let _ = write!(out, "{}{{\"names\":[\"{img}@sha256:{}\",\"{img}:v{}.{}.{}\"],\"sizeBytes\":{}}}", if i > 0 { "," } else { "" }, hex64(rng), 1 + i % 3, i, rng.below(20), 20_000_000 + rng.below(400_000_000));
                    }
                    out.push_str("],\"nodeInfo\":{\"architecture\":\"amd64\",\"bootID\":\"");
                    rng.push_uuid(out);
                    out.push_str("\",\"containerRuntimeVersion\":\"containerd://1.7.11\",\"kernelVersion\":\"5.10.213-201.855.amzn2.x86_64\",\"kubeProxyVersion\":\"v1.29.3-eks-ae9a62a\",\"kubeletVersion\":\"v1.29.3-eks-ae9a62a\",\"machineID\":\"");
                    out.push_str(&hex64(rng)[..32]);
                    out.push_str(
                        "\",\"operatingSystem\":\"linux\",\"osImage\":\"Amazon Linux 2\"}",
                    );
                }
                out.push_str("}},");
                tail(out, rng, t, "");
            }
            4 => {
                let get = kubelet_get(rng, ns, pod, pod_node, t);
                out.push_str(&get);
            }
            5 | 6 => {
                let (user, agent) = match rng.below(3) {
                    0 => (kubelet.clone(), KUBELET.to_owned()),
                    1 => super::world::controller("replicaset-controller"),
                    _ => (
                        "system:kube-scheduler".into(),
                        "kube-scheduler/v1.29.4 (linux/amd64) kubernetes/036c24b/scheduler".into(),
                    ),
                };
                let watch = rng.below(2) == 0;
                let rv = 50_000_000 + rng.below(9_000_000);
                let (uri, nsref) = if user.starts_with("system:node:") {
                    (format!("/api/v1/pods?allowWatchBookmarks=true&fieldSelector=spec.nodeName%3D{node}&resourceVersion={rv}&timeoutSeconds=463&watch=true"), String::new())
                } else if watch {
                    (format!("/api/v1/namespaces/{ns}/pods?allowWatchBookmarks=true&resourceVersion={rv}&timeout=7m48s&timeoutSeconds=468&watch=true"), format!(",\"namespace\":\"{ns}\""))
                } else {
                    (
                        format!(
                            "/api/v1/namespaces/{ns}/pods?labelSelector=app%3D{}&limit=500",
                            rng.pick(super::world::APPS)
                        ),
                        format!(",\"namespace\":\"{ns}\""),
                    )
                };
                let (verb, stage) = if uri.contains("watch=true") {
                    (
                        "watch",
                        if rng.below(2) == 0 {
                            "ResponseStarted"
                        } else {
                            "ResponseComplete"
                        },
                    )
                } else {
                    ("list", "ResponseComplete")
                };
                let from = if user.starts_with("system:node") {
                    &ip
                } else {
                    CONTROL_PLANE_IP
                };
                let who: (&str, &str, &str) = (&user, from, &agent);
                head(out, rng, ("Request", stage), (verb, &uri), who);
                let _ = write!(out, "\"objectRef\":{{\"resource\":\"pods\"{nsref},\"apiVersion\":\"v1\"}},\"responseStatus\":{{\"metadata\":{{}},\"code\":200}},");
                tail(out, rng, t, "");
            }
            7 => {
                let live_uid = live.as_ref().map_or("", |l| l.uid.as_str()).to_owned();
                let reason = *rng.pick(&["Pulled", "Created", "Started", "Pulling"]);
                let note = match reason {
                    "Pulled" => "Container image already present on machine".to_owned(),
                    "Pulling" => "Pulling image".to_owned(),
                    r => format!("{r} container"),
                };
                event_line(
                    out, rng, ns, pod, &live_uid, &kubelet, &ip, KUBELET, reason, &note, t,
                );
            }
            8 => {
                let cm = *rng.pick(&[
                    "kube-root-ca.crt",
                    "aws-auth",
                    "coredns",
                    "kube-proxy-config",
                    "istio-ca-root-cert",
                    "extension-apiserver-authentication",
                ]);
                let cns = if cm == "kube-root-ca.crt" || cm == "istio-ca-root-cert" {
                    ns
                } else {
                    "kube-system"
                };
                let uri = format!("/api/v1/namespaces/{cns}/configmaps/{cm}");
                head(out, rng, METADATA, ("get", &uri), (&kubelet, &ip, KUBELET));
                let _ = write!(out, "\"objectRef\":{{\"resource\":\"configmaps\",\"namespace\":\"{cns}\",\"name\":\"{cm}\",\"apiVersion\":\"v1\"}},\"responseStatus\":{{\"metadata\":{{}},\"code\":200}},");
                tail(out, rng, t, "");
            }
            9 => {
                let sa = "default";
                let uri = format!("/api/v1/namespaces/{ns}/serviceaccounts/{sa}/token");
                let (node_user, node_ip) = (format!("system:node:{pod_node}"), node_ip(pod_node));
                head(
                    out,
                    rng,
                    REQUEST,
                    ("create", &uri),
                    (&node_user, &node_ip, KUBELET),
                );
                let live_uid = live.as_ref().map_or("", |l| l.uid.as_str()).to_owned();
                let _ = write!(out, "\"objectRef\":{{\"resource\":\"serviceaccounts\",\"namespace\":\"{ns}\",\"name\":\"{sa}\",\"apiVersion\":\"v1\",\"subresource\":\"token\"}},\"responseStatus\":{{\"metadata\":{{}},\"code\":201}},\"requestObject\":{{\"kind\":\"TokenRequest\",\"apiVersion\":\"authentication.k8s.io/v1\",\"metadata\":{{\"creationTimestamp\":null}},\"spec\":{{\"audiences\":[\"https://kubernetes.default.svc\"],\"expirationSeconds\":3607,\"boundObjectRef\":{{\"kind\":\"Pod\",\"apiVersion\":\"v1\",\"name\":\"{pod}\",\"uid\":\"{live_uid}\"}}}},\"status\":{{\"token\":\"\",\"expirationTimestamp\":null}}}},");
                tail(out, rng, t, "");
            }
            10 => {
                let app = *rng.pick(super::world::APPS);
                let slice = format!("{app}-{}", rng.suffix(5));
                let uri =
                    format!("/apis/discovery.k8s.io/v1/namespaces/{ns}/endpointslices/{slice}");
                let (user, agent) = super::world::controller("endpointslice-controller");
                let who: (&str, &str, &str) = (&user, CONTROL_PLANE_IP, &agent);
                head(out, rng, REQUEST_RESPONSE, ("update", &uri), who);
                let _ = write!(out, "\"objectRef\":{{\"resource\":\"endpointslices\",\"namespace\":\"{ns}\",\"name\":\"{slice}\",\"apiGroup\":\"discovery.k8s.io\",\"apiVersion\":\"v1\"}},\"responseStatus\":{{\"metadata\":{{}},\"code\":200}},\"requestObject\":{{\"kind\":\"EndpointSlice\",\"apiVersion\":\"discovery.k8s.io/v1\",\"metadata\":{{\"name\":\"{slice}\",\"generateName\":\"{app}-\",\"namespace\":\"{ns}\",\"labels\":{{\"endpointslice.kubernetes.io/managed-by\":\"endpointslice-controller.k8s.io\",\"kubernetes.io/service-name\":\"{app}\"}}}},\"addressType\":\"IPv4\",\"endpoints\":[");
                for i in 0..1 + rng.below(3) {
                    let _ = write!(out, "{}{{\"addresses\":[\"10.0.{}.{}\"],\"conditions\":{{\"ready\":true,\"serving\":true,\"terminating\":false}},\"targetRef\":{{\"kind\":\"Pod\",\"namespace\":\"{ns}\",\"name\":\"{pod}\",\"uid\":\"", if i > 0 { "," } else { "" }, rng.range(16, 96), rng.range(2, 254));
                    rng.push_uuid(out);
                    let _ = write!(
                        out,
                        "\"}},\"nodeName\":\"{pod_node}\",\"zone\":\"us-west-2a\"}}"
                    );
                }
                out.push_str(
                    "],\"ports\":[{\"name\":\"http\",\"protocol\":\"TCP\",\"port\":8080}]},",
                );
                tail(out, rng, t, "");
            }
            _ => {
                let name = *rng.pick(&[
                    "namespace-controller",
                    "token-cleaner",
                    "service-account-controller",
                ]);
                let (user, agent) = super::world::controller(name);
                let secret = format!("{}-token-{}", rng.pick(super::world::APPS), rng.suffix(5));
                let uri = format!("/api/v1/namespaces/{ns}/secrets/{secret}");
                let who: (&str, &str, &str) = (&user, CONTROL_PLANE_IP, &agent);
                head(out, rng, METADATA, ("get", &uri), who);
                let _ = write!(out, "\"objectRef\":{{\"resource\":\"secrets\",\"namespace\":\"{ns}\",\"name\":\"{secret}\",\"apiVersion\":\"v1\"}},\"responseStatus\":{{\"metadata\":{{}},\"status\":\"Failure\",\"message\":\"secrets \\\"{secret}\\\" not found\",\"reason\":\"NotFound\",\"details\":{{\"name\":\"{secret}\",\"kind\":\"secrets\"}},\"code\":404}},");
                tail(out, rng, t, "");
            }
        }
    }
}
