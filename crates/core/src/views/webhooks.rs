//! `ktrail webhooks`: what each admission webhook does to pods, across every pod in the log, and
//! who installed it.
//!
//! One row per (type, configuration, webhook), from the webhook calls the API server annotated on
//! pod writes, plus a row for what built-in admission and defaulting changed on creates. Provenance
//! comes from the logged writes to the Mutating/ValidatingWebhookConfiguration objects, so a
//! configuration installed but never called still gets a row, and a webhook called but installed
//! before the log began gets an empty `installed` list.
//!
//! What the audit log cannot tell: a validating webhook that allowed or denied a request leaves no
//! annotation, so validating webhooks are only counted when they failed open (a denial shows on the
//! pod as `deniedBy`).

use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::admission::WebhookCall;
use crate::audit::format_time;
use crate::record::ConfigEvent;
use crate::timeline::{EventKind, Pod, BUILTIN};

/// The row type of built-in admission and defaulting.
pub const BUILTIN_TYPE: &str = "builtin";

#[derive(Debug, Clone, Serialize)]
pub struct WebhookReport {
    pub webhooks: Vec<WebhookRow>,
}

/// One webhook of one configuration (or built-in admission).
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct WebhookRow {
    /// The configuration's name; `null` when no annotation or configuration write names it.
    pub configuration: Option<String>,
    /// The webhook's name inside its configuration; `null` for a configuration whose webhooks are
    /// not known (its body was not logged).
    pub webhook: Option<String>,
    /// "mutating", "validating" or "builtin".
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Calls seen on pod writes (for built-in admission: writes it changed something on).
    pub calls: u64,
    /// Distinct pod incarnations it changed.
    pub mutated_pods: u64,
    /// Calls that failed and were ignored (failurePolicy: Ignore).
    pub failed_open: u64,
    /// Admission rounds it was called in (round 1 and up are reinvocations).
    pub rounds: Vec<u32>,
    /// Namespaces of the pods it was called for.
    pub namespaces: Vec<String>,
    /// Each path it patched, with the number of pod incarnations it patched it on.
    pub paths: BTreeMap<String, u64>,
    /// Logged writes of its configuration, in time order.
    pub installed: Vec<Installed>,
    pub first_seen: Option<String>,
    pub last_seen: Option<String>,
}

/// One create/update/patch/delete of a webhook configuration.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Installed {
    pub verb: String,
    pub user: String,
    pub user_agent: Option<String>,
    pub time: String,
}

/// Row identity: type, configuration, webhook.
type Key = (&'static str, Option<String>, Option<String>);

#[derive(Default)]
struct Acc {
    calls: u64,
    /// Indexes into `report.pods`.
    mutated: BTreeSet<usize>,
    failed_open: u64,
    rounds: BTreeSet<u32>,
    namespaces: BTreeSet<String>,
    paths: BTreeMap<String, BTreeSet<usize>>,
    first: Option<DateTime<Utc>>,
    last: Option<DateTime<Utc>>,
}

impl Acc {
    fn seen(&mut self, t: DateTime<Utc>, namespace: &str) {
        self.first = Some(self.first.map_or(t, |f| f.min(t)));
        self.last = Some(self.last.map_or(t, |l| l.max(t)));
        if !self.namespaces.contains(namespace) {
            self.namespaces.insert(namespace.to_owned());
        }
    }
}

impl Acc {
    /// The same counts with every pod's position moved by `by` (for pods counted apart).
    fn shifted(mut self, by: usize) -> Acc {
        if by > 0 {
            self.mutated = self.mutated.into_iter().map(|i| i + by).collect();
            for pods in self.paths.values_mut() {
                *pods = std::mem::take(pods).into_iter().map(|i| i + by).collect();
            }
        }
        self
    }

    /// Adds what `other` counted (the same webhook, seen under another key).
    fn merge(&mut self, other: Acc) {
        self.calls += other.calls;
        self.mutated.extend(other.mutated);
        self.failed_open += other.failed_open;
        self.rounds.extend(other.rounds);
        self.namespaces.extend(other.namespaces);
        for (path, pods) in other.paths {
            self.paths.entry(path).or_default().extend(pods);
        }
        self.first = self.first.min(other.first).or(self.first).or(other.first);
        self.last = self.last.max(other.last);
    }
}

/// Which configuration a webhook name belongs to, learned from the calls that name both and from
/// the configurations' logged bodies. A name claimed by two configurations stays unresolved.
#[derive(Default)]
struct Owners(HashMap<(&'static str, String), BTreeSet<String>>);

impl Owners {
    fn learn_call(&mut self, c: &WebhookCall) {
        if let (Some(conf), Some(wh)) = (&c.configuration, &c.webhook) {
            let owners = self.0.entry((c.kind, wh.clone())).or_default();
            if !owners.contains(conf) {
                owners.insert(conf.clone());
            }
        }
    }

    fn learn_configs(&mut self, configs: &[ConfigEvent]) {
        for c in configs.iter().filter(|c| succeeded(c)) {
            for wh in &c.webhooks {
                self.0
                    .entry((c.kind, wh.clone()))
                    .or_default()
                    .insert(c.name.clone());
            }
        }
    }

    fn configuration(&self, kind: &'static str, webhook: Option<&String>) -> Option<String> {
        let owners = self.0.get(&(kind, webhook?.clone()))?;
        (owners.len() == 1)
            .then(|| owners.iter().next().cloned())
            .flatten()
    }
}

fn succeeded(c: &ConfigEvent) -> bool {
    c.code.is_none_or(|code| code < 400) && !c.name.is_empty()
}

/// The groups of webhook calls of one pod: (time of the request, calls). The create's calls are
/// on the pod; later writes carry their own.
fn pod_calls(pod: &Pod) -> impl Iterator<Item = (DateTime<Utc>, &[WebhookCall])> {
    let create_time = pod
        .events
        .iter()
        .find(|e| e.kind == EventKind::Create)
        .map(|e| e.at)
        .or(pod.times.created)
        .or(pod.times.first);
    let create = create_time
        .filter(|_| !pod.webhooks.is_empty())
        .map(|t| (t, pod.webhooks.as_slice()));
    let later = pod
        .events
        .iter()
        .filter(|e| !e.webhooks.is_empty())
        .map(|e| (e.at, e.webhooks.as_slice()));
    create.into_iter().chain(later)
}

fn kind_rank(kind: &str) -> u8 {
    match kind {
        "mutating" => 0,
        "validating" => 1,
        _ => 2,
    }
}

/// The report gathered pod by pod, as the stories are derived: per webhook, counts and the sets of
/// pods (by their position) it changed, never the stories. A call that does not name its
/// configuration is counted under its own key until every pod is seen: only then is it known
/// which configuration the webhook's name belongs to.
#[derive(Default)]
pub struct Builder {
    accs: BTreeMap<Key, Acc>,
    builtin: Acc,
    owners: Owners,
    pods: usize,
}

impl Builder {
    /// The counts of `pods`, in their order.
    pub fn of(pods: &[Pod]) -> Builder {
        let mut b = Builder::default();
        for pod in pods {
            b.add(pod);
        }
        b
    }

    /// Counts the webhook calls and built-in changes of the next pod.
    pub fn add(&mut self, pod: &Pod) {
        let i = self.pods;
        self.pods += 1;
        for (at, calls) in pod_calls(pod) {
            for call in calls {
                self.owners.learn_call(call);
                let key = (call.kind, call.configuration.clone(), call.webhook.clone());
                let acc = self.accs.entry(key).or_default();
                acc.calls += 1;
                acc.seen(at, &pod.namespace);
                acc.rounds.insert(call.round);
                if call.failed_open {
                    acc.failed_open += 1;
                }
                if call.mutated == Some(true) {
                    acc.mutated.insert(i);
                }
                for p in call.paths.iter().flatten() {
                    match acc.paths.get_mut(p) {
                        Some(pods) => {
                            pods.insert(i);
                        }
                        None => {
                            acc.paths.insert(p.clone(), BTreeSet::from([i]));
                        }
                    }
                }
            }
        }
        // Built-in admission and defaulting: what the stored object shows that no webhook
        // explains.
        for ev in &pod.events {
            let mut any = false;
            for c in ev.changes.iter().filter(|c| c.by == BUILTIN) {
                any = true;
                self.builtin
                    .paths
                    .entry(c.path.clone())
                    .or_default()
                    .insert(i);
            }
            if any {
                self.builtin.calls += 1;
                self.builtin.mutated.insert(i);
                self.builtin.seen(ev.at, &pod.namespace);
            }
        }
    }

    /// Adds the counts of the pods that come after this builder's (counted apart, e.g. on another
    /// thread).
    pub fn append(&mut self, other: Builder) {
        let by = self.pods;
        for (key, acc) in other.accs {
            self.accs.entry(key).or_default().merge(acc.shifted(by));
        }
        self.builtin.merge(other.builtin.shifted(by));
        for (key, confs) in other.owners.0 {
            self.owners.0.entry(key).or_default().extend(confs);
        }
        self.pods += other.pods;
    }

    /// The rows, with the provenance of the configuration writes `configs` (in time order).
    pub fn finish(mut self, configs: &[ConfigEvent]) -> WebhookReport {
        self.owners.learn_configs(configs);
        let mut accs: BTreeMap<Key, Acc> = BTreeMap::new();
        for ((kind, configuration, webhook), acc) in std::mem::take(&mut self.accs) {
            let configuration =
                configuration.or_else(|| self.owners.configuration(kind, webhook.as_ref()));
            accs.entry((kind, configuration, webhook))
                .or_default()
                .merge(acc);
        }
        if self.builtin.calls > 0 {
            accs.insert(
                (BUILTIN_TYPE, None, Some(BUILTIN.to_owned())),
                std::mem::take(&mut self.builtin),
            );
        }
        rows(accs, configs)
    }
}

/// The rows of the counts, and of the configurations written in the log but never seen called.
fn rows(mut accs: BTreeMap<Key, Acc>, configs: &[ConfigEvent]) -> WebhookReport {
    // Configurations written in the log but never seen called: one row per webhook they declare,
    // or one row for the configuration when its body was not logged.
    let mut declared: BTreeMap<(&'static str, &str), BTreeSet<&str>> = BTreeMap::new();
    for c in configs.iter().filter(|c| succeeded(c)) {
        declared
            .entry((c.kind, c.name.as_str()))
            .or_default()
            .extend(c.webhooks.iter().map(String::as_str));
    }
    for ((kind, conf), hooks) in &declared {
        for wh in hooks {
            accs.entry((kind, Some(conf.to_string()), Some(wh.to_string())))
                .or_default();
        }
        let has_row = accs
            .keys()
            .any(|(k, c, _)| k == kind && c.as_deref() == Some(*conf));
        if !has_row {
            accs.insert((kind, Some(conf.to_string()), None), Acc::default());
        }
    }
    let mut webhooks: Vec<WebhookRow> = accs
        .into_iter()
        .map(|((kind, configuration, webhook), acc)| {
            let installed = match &configuration {
                Some(conf) if kind != BUILTIN_TYPE => configs
                    .iter()
                    .filter(|c| c.kind == kind && &c.name == conf && succeeded(c))
                    .map(|c| Installed {
                        verb: c.verb.clone(),
                        user: c.user.clone(),
                        user_agent: c.user_agent.clone(),
                        time: format_time(&c.time),
                    })
                    .collect(),
                _ => Vec::new(),
            };
            WebhookRow {
                configuration,
                webhook,
                kind,
                calls: acc.calls,
                mutated_pods: acc.mutated.len() as u64,
                failed_open: acc.failed_open,
                rounds: acc.rounds.into_iter().collect(),
                namespaces: acc.namespaces.into_iter().collect(),
                paths: acc
                    .paths
                    .into_iter()
                    .map(|(p, pods)| (p, pods.len() as u64))
                    .collect(),
                installed,
                first_seen: acc.first.as_ref().map(format_time),
                last_seen: acc.last.as_ref().map(format_time),
            }
        })
        .collect();
    // Mutating, validating, built-in; then by name, unnamed last.
    webhooks.sort_by(|a, b| {
        let key = |r: &WebhookRow| {
            (
                kind_rank(r.kind),
                r.configuration.is_none(),
                r.configuration.clone(),
                r.webhook.is_none(),
                r.webhook.clone(),
            )
        };
        key(a).cmp(&key(b))
    });
    WebhookReport { webhooks }
}

/// The row's name for people: `webhook (configuration)`, or whichever is known.
pub fn display_name(r: &WebhookRow) -> String {
    match (&r.configuration, &r.webhook) {
        (Some(c), Some(w)) if c != w => format!("{w} ({c})"),
        (_, Some(w)) => w.clone(),
        (Some(c), None) => format!("{c} (webhooks not logged)"),
        (None, None) => "unknown webhook".into(),
    }
}
