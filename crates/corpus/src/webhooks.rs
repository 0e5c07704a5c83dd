//! The cluster's mutating admission webhooks and what each does to a pod, so that a generated
//! create carries the same annotations, patches and stored object the API server would log.
//!
//! Indexes count every webhook of every configuration, configurations sorted by name, so the
//! webhooks that never see pod creates (ephemeral containers, services, policies) leave gaps.

use serde_json::{json, Value};

use super::mutators::{
    datadog, elbv2, fargate, gatekeeper, irsa, istio, kyverno_fail, kyverno_ign, Admission,
};
use super::rng::Rng;

/// One mutating webhook of the cluster.
#[derive(Debug)]
pub struct Hook {
    pub configuration: &'static str,
    pub webhook: &'static str,
    pub index: u32,
    /// Called on every pod create.
    pub pods: bool,
}

pub const FARGATE: &str = "0500-amazon-eks-fargate-mutation.amazonaws.com";
pub const ISTIO: &str = "namespace.sidecar-injector.istio.io";
pub const GATEKEEPER: &str = "mutation.gatekeeper.sh";
pub const DATADOG: &str = "datadog.webhook.agent.config";
pub const KYVERNO_IGN: &str = "mutate.kyverno.svc-ign";

const fn hook(configuration: &'static str, webhook: &'static str, index: u32, pods: bool) -> Hook {
    Hook {
        configuration,
        webhook,
        index,
        pods,
    }
}

pub const HOOKS: &[Hook] = &[
    hook(FARGATE, FARGATE, 0, true),
    hook(
        FARGATE,
        "0500-amazon-eks-fargate-ephemeral-mutation.amazonaws.com",
        1,
        false,
    ),
    hook("aws-load-balancer-webhook", "mpod.elbv2.k8s.aws", 2, true),
    hook(
        "aws-load-balancer-webhook",
        "mservice.elbv2.k8s.aws",
        3,
        false,
    ),
    hook(
        "aws-load-balancer-webhook",
        "mtargetgroupbinding.elbv2.k8s.aws",
        4,
        false,
    ),
    hook("datadog-webhook", DATADOG, 5, true),
    hook(
        "gatekeeper-mutating-webhook-configuration",
        GATEKEEPER,
        6,
        true,
    ),
    hook("istio-sidecar-injector", ISTIO, 7, true),
    hook(
        "kyverno-policy-mutating-webhook-cfg",
        "mutate-policy.kyverno.svc",
        8,
        false,
    ),
    hook(
        "kyverno-resource-mutating-webhook-cfg",
        "mutate.kyverno.svc-fail",
        9,
        true,
    ),
    hook(
        "kyverno-resource-mutating-webhook-cfg",
        KYVERNO_IGN,
        10,
        true,
    ),
    hook(
        "pod-identity-webhook",
        "iam-for-pods.amazonaws.com",
        11,
        true,
    ),
    hook(
        "vpc-resource-mutating-webhook",
        "mpod.vpc.k8s.aws",
        12,
        true,
    ),
];

/// Index of Gatekeeper, the one webhook with `reinvocationPolicy: IfNeeded`.
const GATEKEEPER_INDEX: u32 = 6;

/// What a namespace makes the webhooks do.
#[derive(Debug, Clone, Default)]
pub struct Ns {
    pub name: String,
    pub fargate_profile: Option<&'static str>,
    pub istio: bool,
    pub gatekeeper: bool,
    pub cost_center: Option<&'static str>,
    pub elbv2: bool,
    pub limit_range: bool,
    pub sandbox: bool,
    /// Pod Security `restricted` and Kyverno's required labels are enforced.
    pub restricted: bool,
}

/// One webhook call made while admitting a create.
#[derive(Debug, Clone)]
pub struct Call {
    pub hook: &'static Hook,
    pub round: u32,
    pub failed_open: bool,
    pub patch: Option<Value>,
}

impl Call {
    pub fn mutated(&self) -> bool {
        self.patch.is_some()
    }

    /// The patch's paths in op order, without repeats.
    pub fn paths(&self) -> Option<Vec<String>> {
        let ops = self.patch.as_ref()?.as_array()?;
        let mut out: Vec<String> = Vec::new();
        for op in ops {
            if let Some(p) = op.get("path").and_then(Value::as_str) {
                if !out.iter().any(|x| x == p) {
                    out.push(p.to_owned());
                }
            }
        }
        Some(out)
    }
}

// ---------------------------------------------------------------------------------------------
// JSON Pointer and JSON Patch, just enough for the patches built here.

pub fn esc(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

fn tokens(p: &str) -> Vec<String> {
    p.split('/')
        .skip(1)
        .map(|t| t.replace("~1", "/").replace("~0", "~"))
        .collect()
}

/// Whether patch path `q` accounts for a change at `p`: one is a prefix of the other, token by
/// token, `-` standing for any array index.
pub fn explains(q: &str, p: &str) -> bool {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    tokens(q)
        .iter()
        .zip(tokens(p).iter())
        .all(|(a, b)| a == b || (a == "-" && digits(b)) || (b == "-" && digits(a)))
}

/// Applies `add`/`replace` operations in order. Paths always exist here (the patches are built
/// from the object they apply to), so a bad path is a bug in this module and is ignored.
pub fn apply(obj: &mut Value, patch: &Value) {
    for op in patch.as_array().into_iter().flatten() {
        let (Some(path), Some(value)) = (op.get("path").and_then(Value::as_str), op.get("value"))
        else {
            continue;
        };
        let Some((parent, last)) = path.rsplit_once('/') else {
            continue;
        };
        let last = last.replace("~1", "/").replace("~0", "~");
        let Some(cur) = obj.pointer_mut(parent) else {
            continue;
        };
        match cur {
            Value::Object(m) => {
                m.insert(last, value.clone());
            }
            Value::Array(a) if last == "-" => a.push(value.clone()),
            Value::Array(a) => {
                if let Ok(i) = last.parse::<usize>() {
                    let replace = op.get("op").and_then(Value::as_str) == Some("replace");
                    match (replace, i.min(a.len())) {
                        (true, i) if i < a.len() => a[i] = value.clone(),
                        (_, i) => a.insert(i, value.clone()),
                    }
                }
            }
            _ => {}
        }
    }
}

/// Runs the mutating webhooks over `obj` (the request with the built-in admission plugins'
/// changes), as the API server does: round 0 in index order, then Gatekeeper again in round 1 when
/// a later webhook changed the pod. Returns the calls; `obj` ends as the object to store.
pub fn admit(ns: &Ns, a: &Admission, obj: &mut Value, rng: &mut Rng) -> Vec<Call> {
    let mut calls = Vec::new();
    let mut changed_after_gatekeeper = false;
    for h in HOOKS.iter().filter(|h| h.pods) {
        let failed_open = a.failing.contains(&h.webhook);
        let ops = if failed_open {
            None
        } else {
            match h.index {
                0 => fargate(ns, obj),
                2 => elbv2(ns, a, obj, rng),
                5 => datadog(obj),
                6 => gatekeeper(ns, obj),
                7 => istio(ns, a, obj),
                9 => kyverno_fail(ns, obj),
                10 => kyverno_ign(ns, obj),
                11 => irsa(a, obj),
                _ => None,
            }
        };
        let patch = ops.map(Value::Array);
        if let Some(p) = &patch {
            apply(obj, p);
            changed_after_gatekeeper |= h.index > GATEKEEPER_INDEX;
        }
        calls.push(Call {
            hook: h,
            round: 0,
            failed_open,
            patch,
        });
    }
    let gk = HOOKS.iter().find(|h| h.index == GATEKEEPER_INDEX);
    if let (true, Some(h)) = (changed_after_gatekeeper, gk) {
        let patch = gatekeeper(ns, obj).map(Value::Array);
        if let Some(p) = &patch {
            apply(obj, p);
        }
        calls.push(Call {
            hook: h,
            round: 1,
            failed_open: false,
            patch,
        });
    }
    calls
}

/// The audit annotations of the calls. Patches are recorded at level Request and above only.
pub fn annotations(calls: &[Call], with_patches: bool) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for c in calls {
        let key = format!("round_{}_index_{}", c.round, c.hook.index);
        // Written by hand to keep Go's field order (configuration, webhook, mutated, patch…).
        let head = format!(
            "{{\"configuration\":{},\"webhook\":{}",
            json!(c.hook.configuration),
            json!(c.hook.webhook)
        );
        out.push((
            format!("mutation.webhook.admission.k8s.io/{key}"),
            format!("{head},\"mutated\":{}}}", c.mutated()),
        ));
        if c.failed_open {
            out.push((
                format!("failed-open.mutation.webhook.admission.k8s.io/{key}"),
                c.hook.webhook.to_owned(),
            ));
        }
        if let (true, Some(p)) = (with_patches, &c.patch) {
            out.push((
                format!("patch.webhook.admission.k8s.io/{key}"),
                format!("{head},\"patch\":{p},\"patchType\":\"JSONPatch\"}}"),
            ));
        }
    }
    out
}
