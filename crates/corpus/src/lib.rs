//! A generator of large, realistic EKS audit logs whose answer is known: a test and benchmark
//! corpus for ktrail.
//!
//! [`generate`] writes a mixed audit log line by line (pod stories of every kind ktrail tells:
//! Fargate scheduling, Istio and IRSA injection, webhook reinvocation, failed-open webhooks,
//! denied creates, `generateName` pods, StatefulSet recreation, graceful deletes, evictions, execs)
//! buried in the noise a busy cluster logs (leases, node status, reads, events), and returns the
//! [`Expected`] answer: what the engine contract says ktrail must report for each pod
//! incarnation, worked out from the story as it was written rather than by running the engine.
//!
//! The output depends only on the [`Spec`] (seed included). Memory does not grow with the size
//! of the log: lines are written as they are made; only the stories in progress (a bounded
//! window) and the expected answer (a few hundred bytes per incarnation) are held.

mod configs;
mod events;
mod generate;
mod lifecycles;
mod line;
mod mutators;
mod noise;
mod objects;
mod pods;
mod requests;
pub mod rng;
mod script;
mod story;
mod webhooks;
mod world;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use generate::{generate, generated_bodies};

/// What to generate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spec {
    pub seed: u64,
    /// Pod stories to tell (a StatefulSet recreation or a denied-then-retried create gives two
    /// incarnations). 0 means: derived from `target_bytes` (one story per ~700 KB), else 100.
    pub pods: usize,
    /// Approximate size of the log in bytes; the noise is sized to reach it.
    pub target_bytes: Option<u64>,
    /// Noise lines per story when `target_bytes` is not given.
    pub noise_per_pod: usize,
}

impl Spec {
    /// `pods` stories from `seed` with `noise_per_pod` noise lines each, at no target size.
    pub fn stories(seed: u64, pods: usize, noise_per_pod: usize) -> Spec {
        Spec {
            seed,
            pods,
            target_bytes: None,
            noise_per_pod,
        }
    }
}

impl Default for Spec {
    fn default() -> Self {
        Spec {
            seed: 1,
            pods: 0,
            target_bytes: None,
            noise_per_pod: 450,
        }
    }
}

/// Bytes of log per story when the story count is derived from the size.
pub const BYTES_PER_POD: u64 = 700_000;

/// The answer ktrail must give for a generated log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Expected {
    /// One entry per incarnation (and per denied create), sorted by namespace, name, then
    /// creation (or first event) time.
    pub pods: Vec<ExpectedPod>,
    /// Every mutating webhook that sees pod creates, sorted by configuration and webhook.
    pub webhooks: Vec<ExpectedWebhook>,
    /// Lines written.
    pub lines: u64,
    /// Distinct pod requests (writes and execs) ktrail keeps without `--reads`.
    pub pod_events: u64,
}

/// What ktrail must derive for one incarnation (field names as in ktrail's JSON output).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExpectedPod {
    pub namespace: String,
    pub name: String,
    pub uid: Option<String>,
    pub denied: bool,
    pub denied_by: Option<String>,
    pub created_at: Option<String>,
    pub created_by: Option<String>,
    pub scheduler: Option<String>,
    pub node: Option<String>,
    pub bound_at: Option<String>,
    pub bound_by: Option<String>,
    pub ready_at: Option<String>,
    pub phase: Option<String>,
    pub deleted_at: Option<String>,
    pub deleted_by: Option<String>,
    pub deleted_via: Option<String>,
    /// The create's mutating webhook calls, by round then index.
    pub webhooks: Vec<ExpectedCall>,
    /// Sorted.
    pub builtin_changes: Vec<String>,
    /// Event kinds in time order (reads excluded).
    pub event_kinds: Vec<String>,
    /// Time of the first event, for sorting (microseconds since the epoch).
    #[serde(skip)]
    pub first_at: i64,
}

/// One webhook call of a create.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExpectedCall {
    pub round: u32,
    pub index: u32,
    pub configuration: String,
    pub webhook: String,
    pub mutated: bool,
    pub failed_open: bool,
    /// JSON Pointer paths of the patch, in op order without repeats; null when no patch was
    /// logged (no mutation, or a `Metadata`-level event).
    pub paths: Option<Vec<String>>,
}

/// One webhook over the whole log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExpectedWebhook {
    pub configuration: String,
    pub webhook: String,
    /// Calls on pod creates (each round counts).
    pub calls: u64,
    /// Incarnations (and denied creates) it mutated, in any round.
    pub mutated_pods: u64,
    /// Calls that failed open.
    pub failed_open: u64,
    pub rounds: Vec<u32>,
    pub namespaces: Vec<String>,
    /// For each path it patched: on how many pods.
    pub paths: BTreeMap<String, u64>,
    /// Writes to its configuration, in time order.
    pub installed: Vec<Installed>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Installed {
    pub verb: String,
    pub user: String,
}

#[cfg(test)]
mod tests;
