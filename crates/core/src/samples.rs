//! Recorded stories compiled into the binary, so `ktrail timeline --sample eks-fargate` works on a
//! fresh machine with no logs at hand. Each is a small audit log under `samples/` with its expected
//! answer next to it (`samples/NAME.expected.json`), which the tests hold the engine to. Most are
//! EKS logs (bare audit events); `gke-webhook` and `aks-policy` are the other clouds' exports.

#[derive(Debug, PartialEq, Eq)]
pub struct Sample {
    pub name: &'static str,
    pub about: &'static str,
    pub data: &'static str,
}

macro_rules! sample {
    ($name:literal, $about:literal) => {
        Sample {
            name: $name,
            about: $about,
            data: include_str!(concat!("../../../samples/", $name, ".jsonl")),
        }
    };
}

pub static SAMPLES: &[Sample] = &[
    sample!(
        "eks-fargate",
        "EKS Fargate: the Fargate webhook sets the scheduler, fargate-scheduler binds (the seed story)"
    ),
    sample!(
        "istio-irsa",
        "Istio sidecar and IAM roles for service accounts injected into a ReplicaSet pod"
    ),
    sample!(
        "reinvocation",
        "a webhook called again in round 1 (reinvocationPolicy: IfNeeded)"
    ),
    sample!(
        "failed-open",
        "webhooks that failed open, and a create logged at audit level Metadata"
    ),
    sample!(
        "denied",
        "creates denied by a validating webhook and by PodSecurity, then a retry"
    ),
    sample!(
        "replicaset-generatename",
        "a ReplicaSet pod created through generateName, scaled down"
    ),
    sample!(
        "statefulset-recreate",
        "a StatefulSet pod deleted and recreated under the same name"
    ),
    sample!(
        "graceful-delete",
        "a graceful delete, the kubelet's final status and delete"
    ),
    sample!(
        "eviction",
        "a pod evicted by a drain, and an exec into a pod created before the log"
    ),
    sample!(
        "gke-webhook",
        "GKE (Cloud Logging entries): GKE's pod-ready webhook adds a readiness gate, the pod is scheduled"
    ),
    sample!(
        "aks-policy",
        "AKS (diagnostic records): Azure Policy's Gatekeeper mutates, then denies an image; workload identity"
    ),
];

pub fn find(name: &str) -> Option<&'static Sample> {
    SAMPLES.iter().find(|s| s.name == name)
}
