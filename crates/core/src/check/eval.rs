//! Holding each pod of a report to the rules.
//!
//! One principle decides what happens when the log is silent: an `expect` must be *shown* by the
//! log (a pod whose create, binding or Ready is missing from the log violates an expectation about
//! it), a `forbid` must be *contradicted* by the log (what the log does not show cannot break a
//! prohibition). A denied create never became a pod, so expectations about the pod it would have
//! been (`scheduler`, `node`, `mutatedBy`, `boundWithin`, `readyWithin`) do not apply to it; those
//! about the request (`createdBy`, `notMutatedBy`) and every `forbid` do.

use std::io;

use serde::Serialize;

pub use super::results::{EventRef, PodResult, PodResults, Violation};
use super::rules::{ForbidMutation, Glob, MutatedBy, NodeRegex, Rule, Rules, Within};
use crate::admission::WebhookCall;
use crate::spill;
use crate::text::offset;
use crate::timeline::{EventKind, Pod, PodEvent, Report};

/// Version of the `ktrail check -o json` document.
pub const CHECK_SCHEMA_VERSION: u32 = 1;

/// Every rule's verdict over one report.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckReport {
    pub schema_version: u32,
    /// True when the check passes (exit code 0).
    pub passed: bool,
    /// Whether a rule that matches no pod fails the check.
    pub require_match: bool,
    pub rules: Vec<RuleResult>,
    pub summary: CheckSummary,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckSummary {
    pub rules: usize,
    pub rules_failed: usize,
    pub rules_unmatched: usize,
    /// Pod incarnations and denied creates in the recording.
    pub pods: usize,
    /// (rule, pod) pairs evaluated.
    pub pods_checked: usize,
    /// Pods that break at least one rule.
    pub pods_failed: usize,
    pub violations: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pass,
    Fail,
    /// The rule matched no pod: a warning, or a failure with `--require-match`.
    Unmatched,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RuleResult {
    pub name: String,
    pub status: Status,
    /// Every matching pod, with its violations (none when it complies).
    pub pods: PodResults,
}

impl RuleResult {
    pub fn violations(&self) -> usize {
        self.pods.violations()
    }

    pub fn failed_pods(&self) -> usize {
        self.pods.failed()
    }
}

/// Evaluates every rule over every pod of the report, in memory.
pub fn evaluate(rules: &Rules, report: &Report, require_match: bool) -> CheckReport {
    let mut e = Evaluator::new(rules, require_match);
    for p in &report.pods {
        // Without a budget nothing is written out, so nothing can fail.
        let _ = e.push(judge(rules, p));
    }
    e.finish()
}

/// One pod against every rule: for each rule, its result when the rule selects the pod. Needs
/// nothing but the pod, so pods are judged on any thread as their stories are derived.
pub fn judge(rules: &Rules, p: &Pod) -> Vec<Option<PodResult>> {
    rules
        .rules
        .iter()
        .map(|rule| {
            rule.pods.matches(&p.namespace, &p.name).then(|| PodResult {
                namespace: p.namespace.clone(),
                name: p.name.clone(),
                uid: p.uid.clone(),
                denied: p.denied,
                violations: check_pod(rule, p),
            })
        })
        .collect()
}

/// The verdict gathered pod by pod (see [`judge`]): it keeps the pods' results, not their stories,
/// and past its memory budget it keeps them in temporary files ([`PodResults`]).
pub struct Evaluator<'r> {
    rules: &'r Rules,
    require_match: bool,
    per_rule: Vec<PodResults>,
    pods: usize,
    pods_failed: usize,
    budget: usize,
}

impl<'r> Evaluator<'r> {
    pub fn new(rules: &'r Rules, require_match: bool) -> Self {
        Evaluator {
            rules,
            require_match,
            per_rule: rules.rules.iter().map(|_| PodResults::default()).collect(),
            pods: 0,
            pods_failed: 0,
            budget: usize::MAX,
        }
    }

    /// Sets the bytes of results kept in memory over every rule: past them they are written out.
    pub fn with_memory(mut self, bytes: usize) -> Self {
        self.budget = bytes;
        self
    }

    /// The next pod's results, as [`judge`] gave them. Fails when results past the budget cannot
    /// be written out (the temporary directory is full or unwritable).
    pub fn push(&mut self, judged: Vec<Option<PodResult>>) -> io::Result<()> {
        let mut failed = false;
        for (results, r) in self.per_rule.iter_mut().zip(judged) {
            if let Some(r) = r {
                failed |= !r.violations.is_empty();
                results.push(r);
            }
        }
        self.pods += 1;
        self.pods_failed += usize::from(failed);
        let held: usize = self.per_rule.iter().map(PodResults::held_bytes).sum();
        if held > self.budget {
            for results in &mut self.per_rule {
                results
                    .write_out()
                    .map_err(|e| spill::past_budget("the check's results", e))?;
            }
        }
        Ok(())
    }

    pub fn finish(self) -> CheckReport {
        let results: Vec<RuleResult> = self
            .rules
            .rules
            .iter()
            .zip(self.per_rule)
            .map(|(rule, pods)| {
                let status = if pods.is_empty() {
                    Status::Unmatched
                } else if pods.failed() > 0 {
                    Status::Fail
                } else {
                    Status::Pass
                };
                RuleResult {
                    name: rule.name.clone(),
                    status,
                    pods,
                }
            })
            .collect();
        let summary = CheckSummary {
            rules: results.len(),
            rules_failed: results.iter().filter(|r| r.status == Status::Fail).count(),
            rules_unmatched: results
                .iter()
                .filter(|r| r.status == Status::Unmatched)
                .count(),
            pods: self.pods,
            pods_checked: results.iter().map(|r| r.pods.len()).sum(),
            pods_failed: self.pods_failed,
            violations: results.iter().map(RuleResult::violations).sum(),
        };
        let require_match = self.require_match;
        let passed = summary.rules_failed == 0 && (!require_match || summary.rules_unmatched == 0);
        CheckReport {
            schema_version: CHECK_SCHEMA_VERSION,
            passed,
            require_match,
            rules: results,
            summary,
        }
    }
}

/// Whether a call is the named webhook: by webhook name or by configuration name.
fn is_webhook(call: &WebhookCall, name: &str) -> bool {
    call.webhook.as_deref() == Some(name) || call.configuration.as_deref() == Some(name)
}

/// The create request of the pod (the denied one, for a denied entry).
fn create_event(pod: &Pod) -> Option<&PodEvent> {
    pod.events.iter().find(|e| e.kind == EventKind::Create)
}

fn ok(ev: &PodEvent) -> bool {
    ev.code.is_none_or(|c| c < 400)
}

/// The event an expectation about the pod's beginning points at: the create, else the first event.
fn anchor(pod: &Pod) -> Option<EventRef> {
    create_event(pod).or(pod.events.first()).map(EventRef::of)
}

/// Every request of the pod with the webhook calls made while serving it: the create's calls are
/// the pod's, later writes carry their own.
fn requests_with_calls(pod: &Pod) -> Vec<(&[WebhookCall], Option<&PodEvent>)> {
    let create = create_event(pod);
    let mut out: Vec<(&[WebhookCall], Option<&PodEvent>)> = vec![(&pod.webhooks, create)];
    for ev in &pod.events {
        if !ev.webhooks.is_empty() {
            out.push((&ev.webhooks, Some(ev)));
        }
    }
    out
}

fn on_request(ev: Option<&PodEvent>) -> String {
    match ev {
        Some(e) => format!("on the {}", e.kind),
        None => "on the create".into(),
    }
}

fn what_patched(call: &WebhookCall) -> String {
    match &call.paths {
        Some(p) if !p.is_empty() => p.join(", "),
        Some(_) => "nothing".into(),
        None => "fields not logged at this audit level".into(),
    }
}

/// A duration in seconds for a sentence: `58.705s`, `1m05.713s`.
fn took(secs: f64) -> String {
    offset(secs).trim_start_matches('+').to_owned()
}

fn missing_create() -> String {
    "the create is not in the log (the pod was created before the events read begin)".into()
}

/// `mutation.gatekeeper.sh (round 1 index 0)`: a webhook reinvoked in round 1 is told apart.
fn call_name(call: &WebhookCall) -> String {
    format!(
        "{} (round {} index {})",
        call.name(),
        call.round,
        call.index
    )
}

/// The violations found so far for one pod under one rule.
struct Findings(Vec<Violation>);

impl Findings {
    fn add(&mut self, check: &str, expected: String, found: String, event: Option<EventRef>) {
        self.0.push(Violation {
            check: check.to_owned(),
            expected,
            found,
            event,
        });
    }
}

/// All violations of one rule by one pod (or denied create).
pub fn check_pod(rule: &Rule, pod: &Pod) -> Vec<Violation> {
    let mut out = Findings(Vec::new());
    let (e, f) = (&rule.expect, &rule.forbid);
    // A denied create never became a pod: only what the request shows is held against it.
    let exists = !pod.denied;
    if exists {
        if let Some(want) = &e.scheduler {
            expect_scheduler(want.as_str(), pod, &mut out);
        }
        if let Some(re) = &e.node {
            expect_node(re, pod, &mut out);
        }
    }
    if let Some(want) = &e.created_by {
        expect_created_by(want.as_str(), pod, &mut out);
    }
    if exists {
        for m in &e.mutated_by {
            expect_mutated_by(m, pod, &mut out);
        }
    }
    for name in &e.not_mutated_by {
        expect_not_mutated_by(name.as_str(), pod, &mut out);
    }
    if exists {
        if let Some(w) = &e.bound_within {
            let l = pod.latencies.created_to_bound;
            expect_within(w, Milestone::Bound, l, &pod.bound_at, pod, &mut out);
        }
        if let Some(w) = &e.ready_within {
            let l = pod.latencies.created_to_ready;
            expect_within(w, Milestone::Ready, l, &pod.ready_at, pod, &mut out);
        }
    }
    for m in &f.mutations {
        forbid_mutations(m, pod, &mut out);
    }
    if f.failed_open {
        forbid_failed_open(pod, &mut out);
    }
    if f.denied && pod.denied {
        forbid_denied(pod, &mut out);
    }
    for g in &f.builtin_changes {
        forbid_builtin_changes(g, pod, &mut out);
    }
    out.0
}

fn expect_scheduler(want: &str, pod: &Pod, out: &mut Findings) {
    if pod.scheduler.as_deref() == Some(want) {
        return;
    }
    let found = match &pod.scheduler {
        Some(s) => format!("scheduler {s}"),
        None if pod.created_at.is_none() => missing_create(),
        None => "no schedulerName in the log".into(),
    };
    out.add(
        "expect.scheduler",
        format!("scheduler {want}"),
        found,
        anchor(pod),
    );
}

fn expect_node(re: &NodeRegex, pod: &Pod, out: &mut Findings) {
    if pod.node.as_deref().is_some_and(|n| re.0.is_match(n)) {
        return;
    }
    let binding = pod
        .events
        .iter()
        .find(|ev| ev.kind == EventKind::Binding && ok(ev))
        .map(EventRef::of);
    let found = match &pod.node {
        Some(n) => format!("node {n}"),
        None => "no node in the log (never bound)".into(),
    };
    out.add(
        "expect.node",
        format!("node matching /{}/", re.as_str()),
        found,
        binding.or_else(|| anchor(pod)),
    );
}

fn expect_created_by(want: &str, pod: &Pod, out: &mut Findings) {
    if pod.created_by.as_deref() == Some(want) {
        return;
    }
    let found = match &pod.created_by {
        Some(u) if pod.denied => format!("create requested by {u}"),
        Some(u) => format!("created by {u}"),
        None => missing_create(),
    };
    out.add(
        "expect.createdBy",
        format!("created by {want}"),
        found,
        anchor(pod),
    );
}

/// The webhook (all its calls on the create, every round) mutated, and patched every listed path.
fn expect_mutated_by(m: &MutatedBy, pod: &Pod, out: &mut Findings) {
    let name = m.webhook.as_str();
    let want: Vec<&str> = m.paths.iter().map(|p| p.as_str()).collect();
    let expected = if want.is_empty() {
        format!("{name} mutates the create")
    } else {
        format!("{name} patches {} on the create", want.join(", "))
    };
    let Some(create) = create_event(pod) else {
        out.add("expect.mutatedBy", expected, missing_create(), anchor(pod));
        return;
    };
    let calls: Vec<&WebhookCall> = pod
        .webhooks
        .iter()
        .filter(|c| c.kind == "mutating" && is_webhook(c, name))
        .collect();
    let found = if calls.is_empty() {
        let called: Vec<&str> = pod
            .webhooks
            .iter()
            .filter(|c| c.kind == "mutating")
            .map(|c| c.name())
            .collect();
        if called.is_empty() {
            format!("{name} was not called (no mutating webhook was)")
        } else {
            format!(
                "{name} was not called (mutating webhooks called: {})",
                called.join(", ")
            )
        }
    } else if !calls.iter().any(|c| c.mutated == Some(true)) {
        if calls.iter().any(|c| c.failed_open) {
            format!("{name} failed open and did not mutate")
        } else {
            format!("{name} was called but did not mutate")
        }
    } else {
        let patched: Vec<&str> = calls
            .iter()
            .filter_map(|c| c.paths.as_ref())
            .flatten()
            .map(String::as_str)
            .collect();
        let missing: Vec<&str> = want
            .iter()
            .copied()
            .filter(|p| !patched.contains(p))
            .collect();
        if missing.is_empty() {
            return;
        }
        if calls.iter().all(|c| c.paths.is_none()) {
            format!("{name} mutated, but the audit level did not record its patch")
        } else {
            let mut s = format!(
                "{name} patched {}; not {}",
                if patched.is_empty() {
                    "nothing".to_owned()
                } else {
                    patched.join(", ")
                },
                missing.join(", ")
            );
            if calls
                .iter()
                .any(|c| c.paths.is_none() && c.mutated == Some(true))
            {
                s.push_str(" (one of its calls was not recorded at this audit level)");
            }
            s
        }
    };
    out.add(
        "expect.mutatedBy",
        expected,
        found,
        Some(EventRef::of(create)),
    );
}

/// No call of the webhook, on any request of the pod, mutated it.
fn expect_not_mutated_by(name: &str, pod: &Pod, out: &mut Findings) {
    for (calls, ev) in requests_with_calls(pod) {
        for call in calls
            .iter()
            .filter(|c| c.mutated == Some(true) && is_webhook(c, name))
        {
            out.add(
                "expect.notMutatedBy",
                format!("{name} does not mutate the pod"),
                format!(
                    "{} mutated it {}: {}",
                    call_name(call),
                    on_request(ev),
                    what_patched(call)
                ),
                ev.map(EventRef::of).or_else(|| anchor(pod)),
            );
        }
    }
}

#[derive(Clone, Copy)]
enum Milestone {
    Bound,
    Ready,
}

impl Milestone {
    fn key(self) -> &'static str {
        match self {
            Milestone::Bound => "expect.boundWithin",
            Milestone::Ready => "expect.readyWithin",
        }
    }

    fn word(self) -> &'static str {
        match self {
            Milestone::Bound => "bound",
            Milestone::Ready => "Ready",
        }
    }

    /// The event kind that reaches the milestone.
    fn kind(self) -> EventKind {
        match self {
            Milestone::Bound => EventKind::Binding,
            Milestone::Ready => EventKind::Status,
        }
    }
}

/// Created → milestone within the limit; a milestone the log never shows is a violation.
fn expect_within(
    within: &Within,
    m: Milestone,
    secs: Option<f64>,
    at: &Option<String>,
    pod: &Pod,
    out: &mut Findings,
) {
    let (key, what) = (m.key(), m.word());
    let expected = format!("{what} within {} of creation", within.text);
    if pod.created_at.is_none() {
        out.add(key, expected, missing_create(), anchor(pod));
        return;
    }
    match (secs, at) {
        (Some(s), Some(at)) => {
            if s > within.seconds() {
                let ev = pod
                    .events
                    .iter()
                    .find(|ev| ev.kind == m.kind() && &ev.time == at)
                    .map(EventRef::of);
                out.add(
                    key,
                    expected,
                    format!("{what} {} after creation", took(s)),
                    ev.or_else(|| anchor(pod)),
                );
            }
        }
        _ => {
            let mut found = format!("never {what} in the log");
            if let Some(d) = &pod.deleted_at {
                let how = if pod.deleted_via == Some(EventKind::Eviction) {
                    "evicted"
                } else {
                    "deleted"
                };
                found.push_str(&format!("; {how} at {d}"));
            } else if let Some(last) = pod.events.last() {
                found.push_str(&format!("; its last event is at {}", last.time));
            }
            out.add(key, expected, found, anchor(pod));
        }
    }
}

/// Webhook patches (create and later writes) of matching paths by webhooks not excepted.
fn forbid_mutations(m: &ForbidMutation, pod: &Pod, out: &mut Findings) {
    let globs: Vec<&str> = m.paths.iter().map(|g| g.as_str()).collect();
    let expected = if m.unless_webhook.is_empty() {
        format!("no webhook patches {}", globs.join(", "))
    } else {
        let allowed: Vec<&str> = m.unless_webhook.iter().map(|w| w.as_str()).collect();
        format!("only {} patch {}", allowed.join(", "), globs.join(", "))
    };
    for (calls, ev) in requests_with_calls(pod) {
        for call in calls {
            if m.unless_webhook
                .iter()
                .any(|w| is_webhook(call, w.as_str()))
            {
                continue;
            }
            let hits: Vec<&str> = call
                .paths
                .iter()
                .flatten()
                .filter(|p| m.paths.iter().any(|g| g.is_match(p)))
                .map(String::as_str)
                .collect();
            if !hits.is_empty() {
                out.add(
                    "forbid.mutations",
                    expected.clone(),
                    format!(
                        "{} patched {} {}",
                        call_name(call),
                        hits.join(", "),
                        on_request(ev)
                    ),
                    ev.map(EventRef::of).or_else(|| anchor(pod)),
                );
            }
        }
    }
}

fn forbid_failed_open(pod: &Pod, out: &mut Findings) {
    for (calls, ev) in requests_with_calls(pod) {
        for call in calls.iter().filter(|c| c.failed_open) {
            out.add(
                "forbid.failedOpen",
                "no webhook fails open".into(),
                format!(
                    "{} ({} webhook, round {} index {}) failed open {}",
                    call.name(),
                    call.kind,
                    call.round,
                    call.index,
                    on_request(ev)
                ),
                ev.map(EventRef::of).or_else(|| anchor(pod)),
            );
        }
    }
}

fn forbid_denied(pod: &Pod, out: &mut Findings) {
    let by = pod.denied_by.as_deref().unwrap_or("the API server");
    let found = match &pod.message {
        Some(m) => format!("create denied by {by}: {m}"),
        None => format!("create denied by {by}"),
    };
    out.add(
        "forbid.denied",
        "the create is admitted".into(),
        found,
        anchor(pod),
    );
}

fn forbid_builtin_changes(g: &Glob, pod: &Pod, out: &mut Findings) {
    let hits: Vec<&str> = pod
        .builtin_changes
        .iter()
        .filter(|p| g.is_match(p))
        .map(String::as_str)
        .collect();
    if !hits.is_empty() {
        out.add(
            "forbid.builtinChanges",
            format!("built-in admission does not change {}", g.as_str()),
            format!("built-in admission changed {}", hits.join(", ")),
            anchor(pod),
        );
    }
}
