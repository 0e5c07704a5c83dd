//! What the report keeps of every incarnation: the swimlane, the overview, the webhook table and
//! the choice of stories need every incarnation at once, while the stories themselves are derived
//! again as they are written. A [`Lane`] holds exactly what those parts read, and the texts many
//! incarnations share (namespaces, schedulers, nodes, users, phases, webhook names) are kept once
//! in [`Texts`]: a log of a hundred thousand pods held as whole `Pod`s, even without their
//! patches and changes, took several KiB an incarnation.

use std::collections::HashMap;
use std::num::NonZeroU32;

use chrono::{DateTime, Utc};

use ktrail_core::audit::format_time;
use ktrail_core::timeline::{EventKind, Latencies, Pod, Times, BUILTIN};
use ktrail_core::views::pods;
use ktrail_core::views::webhooks::WebhookRow;

/// A text of [`Texts`], by its position.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Text(NonZeroU32);

/// Each text once, numbered in the order first seen.
#[derive(Default)]
pub struct Texts {
    list: Vec<Box<str>>,
    index: HashMap<Box<str>, Text>,
}

impl Texts {
    pub fn intern(&mut self, s: &str) -> Text {
        if let Some(&t) = self.index.get(s) {
            return t;
        }
        // Four billion distinct texts would take far more memory than the lanes can have.
        let t = u32::try_from(self.list.len() + 1)
            .ok()
            .and_then(NonZeroU32::new)
            .map(Text)
            .expect("fewer than 2^32 distinct texts");
        self.list.push(s.into());
        self.index.insert(s.into(), t);
        t
    }

    pub fn get(&self, t: Text) -> &str {
        &self.list[t.0.get() as usize - 1]
    }
}

/// One incarnation as the swimlane, the overview and the webhook table show it and as the choice
/// of stories weighs it (see the module's comment for why it is not the `Pod`).
pub struct Lane {
    pub namespace: Text,
    pub name: Box<str>,
    pub uid: Option<Box<str>>,
    pub denied: bool,
    pub denied_by: Option<Text>,
    pub created_by: Option<Text>,
    pub scheduler: Option<Text>,
    pub node: Option<Text>,
    pub phase: Option<Text>,
    pub deleted_by: Option<Text>,
    /// Deleted through an eviction rather than a delete.
    pub evicted: bool,
    /// Built-in admission changed something on it (see `views::pods::mutated_by`).
    pub builtin_changed: bool,
    /// The pod's times; its latencies are computed from them when read.
    pub times: Times,
    /// Its last event's time (see [`Lane::last`]).
    last_event: Option<DateTime<Utc>>,
    /// The names of the webhooks called for it (any outcome), in call order, once each.
    pub called: Box<[Text]>,
    /// The names of the webhooks that changed it, in order of first change, once each.
    pub mutated_by: Box<[Text]>,
}

impl Lane {
    /// When the bar starts: its creation, or its first event when created before the log.
    pub fn start(&self) -> Option<DateTime<Utc>> {
        self.times.created.or(self.times.first)
    }

    /// The last moment the incarnation shows: its last event, or a milestone after it.
    pub fn last(&self) -> Option<DateTime<Utc>> {
        [
            self.last_event,
            self.times.deleted,
            self.times.ready,
            self.times.bound,
            self.start(),
        ]
        .into_iter()
        .flatten()
        .max()
    }

    pub fn latencies(&self) -> Latencies {
        self.times.latencies()
    }

    /// A webhook changed it (built-in admission does not count).
    pub fn webhook_mutated(&self) -> bool {
        !self.mutated_by.is_empty()
    }
}

/// Row identity of a webhook call as the webhook table matches it: type, configuration, webhook.
type CallKey = (&'static str, Option<Text>, Option<Text>);

/// The lanes of every incarnation, in report order, with the texts they share.
#[derive(Default)]
pub struct Lanes {
    pub lanes: Vec<Lane>,
    pub texts: Texts,
    /// Calls made in a reinvocation round (1 and up), per call key: the webhook table's
    /// reinvocation counts, which its view keeps only as the set of rounds.
    reinvoked: HashMap<CallKey, u64>,
}

impl Lanes {
    /// The lanes of `pods`, in their order.
    pub fn of(pods: &[Pod]) -> Lanes {
        let mut lanes = Lanes::default();
        for pod in pods {
            lanes.add(pod);
        }
        lanes
    }

    /// Adds the lane of the next incarnation.
    pub fn add(&mut self, pod: &Pod) {
        let texts = &mut self.texts;
        let mut opt = |s: &Option<String>| s.as_deref().map(|s| texts.intern(s));
        let (denied_by, created_by, scheduler) = (
            opt(&pod.denied_by),
            opt(&pod.created_by),
            opt(&pod.scheduler),
        );
        let (node, phase, deleted_by) = (opt(&pod.node), opt(&pod.phase), opt(&pod.deleted_by));
        let mut called: Vec<Text> = Vec::new();
        let mut mutated_by: Vec<Text> = Vec::new();
        for c in pod.webhook_calls() {
            let name = self.texts.intern(c.name());
            if !called.contains(&name) {
                called.push(name);
            }
            if c.mutated == Some(true) && !mutated_by.contains(&name) {
                mutated_by.push(name);
            }
            if c.round > 0 {
                let key = (
                    c.kind,
                    c.configuration.as_deref().map(|s| self.texts.intern(s)),
                    c.webhook.as_deref().map(|s| self.texts.intern(s)),
                );
                *self.reinvoked.entry(key).or_default() += 1;
            }
        }
        self.lanes.push(Lane {
            namespace: self.texts.intern(&pod.namespace),
            name: pod.name.as_str().into(),
            uid: pod.uid.as_deref().map(Into::into),
            denied: pod.denied,
            denied_by,
            created_by,
            scheduler,
            node,
            phase,
            deleted_by,
            evicted: pod.deleted_via == Some(EventKind::Eviction),
            builtin_changed: !pod.builtin_changes.is_empty(),
            times: pod.times.clone(),
            last_event: pod.events.iter().map(|e| e.at).max(),
            called: called.into(),
            mutated_by: mutated_by.into(),
        });
    }

    /// Adds the lanes of the incarnations that come after these (made apart, e.g. on another
    /// thread, where the stories they come from are dropped too), their texts numbered anew.
    pub fn append(&mut self, other: Lanes) {
        let renumbered: Vec<Text> = other
            .texts
            .list
            .iter()
            .map(|s| self.texts.intern(s))
            .collect();
        let new = |t: Text| renumbered[t.0.get() as usize - 1];
        let opt = |t: Option<Text>| t.map(new);
        for mut lane in other.lanes {
            lane.namespace = new(lane.namespace);
            for t in [
                &mut lane.denied_by,
                &mut lane.created_by,
                &mut lane.scheduler,
                &mut lane.node,
                &mut lane.phase,
                &mut lane.deleted_by,
            ] {
                *t = opt(*t);
            }
            for t in lane.called.iter_mut().chain(lane.mutated_by.iter_mut()) {
                *t = new(*t);
            }
            self.lanes.push(lane);
        }
        for ((kind, configuration, webhook), n) in other.reinvoked {
            *self
                .reinvoked
                .entry((kind, opt(configuration), opt(webhook)))
                .or_default() += n;
        }
    }

    pub fn len(&self) -> usize {
        self.lanes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.lanes.is_empty()
    }

    pub fn text(&self, t: Text) -> &str {
        self.texts.get(t)
    }

    pub fn opt_text(&self, t: Option<Text>) -> Option<&str> {
        t.map(|t| self.texts.get(t))
    }

    /// What `views::pods::mutated_by` says of the pod: the webhooks that changed it, then
    /// built-in admission.
    pub fn mutated_by(&self, lane: &Lane) -> Vec<&str> {
        let mut out: Vec<&str> = lane.mutated_by.iter().map(|&t| self.text(t)).collect();
        if lane.builtin_changed {
            out.push(BUILTIN);
        }
        out
    }

    /// What `views::pods::end` says of the pod: how it ended, or where it stood when the log
    /// ends.
    pub fn end(&self, lane: &Lane) -> String {
        let deleted = lane.times.deleted.as_ref().map(format_time);
        pods::ending(
            lane.denied.then_some(self.opt_text(lane.denied_by)),
            deleted
                .as_deref()
                .map(|at| (at, lane.evicted, self.opt_text(lane.deleted_by))),
            self.opt_text(lane.phase),
        )
    }

    /// Calls of a row made in a reinvocation round: those of its type and webhook, of its
    /// configuration or of none named.
    pub fn reinvocations(&self, row: &WebhookRow) -> u64 {
        self.reinvoked
            .iter()
            .filter(|((kind, configuration, webhook), _)| {
                *kind == row.kind
                    && self.opt_text(*webhook) == row.webhook.as_deref()
                    && (configuration.is_none()
                        || self.opt_text(*configuration) == row.configuration.as_deref())
            })
            .map(|(_, n)| n)
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ktrail_core::collect::Collector;
    use ktrail_core::record::Selection;
    use ktrail_core::timeline::Report;
    use ktrail_core::views::pods::{end, mutated_by};
    use ktrail_core::views::webhooks::Builder;

    fn report_of(log: &[u8]) -> Report {
        let mut c = Collector::new(Selection::default());
        for line in log.split(|&b| b == b'\n') {
            c.feed_line(line);
        }
        c.finish().unwrap()
    }

    /// Every lane answers what the report used to read from the whole pod, the same way, whether
    /// the lanes were made at once or appended group by group: on every sample and on a generated
    /// corpus with webhooks, denials, evictions and several incarnations per name.
    #[test]
    fn a_lane_tells_what_its_pod_tells() {
        let spec = ktrail_corpus::Spec::stories(11, 300, 2);
        let mut corpus = Vec::new();
        ktrail_corpus::generate(&spec, &mut corpus).unwrap();
        let mut logs: Vec<(&str, &[u8])> = ktrail_core::samples::SAMPLES
            .iter()
            .map(|s| (s.name, s.data.as_bytes()))
            .collect();
        logs.push(("corpus", &corpus));
        let (mut reinvoked, mut mutated, mut ended) = (0, 0, 0);
        for (what, log) in logs {
            let report = report_of(log);
            // Made at once, and made a few pods at a time and appended (as `report` does).
            let mut appended = Lanes::default();
            for pods in report.pods.chunks(3) {
                appended.append(Lanes::of(pods));
            }
            for lanes in [Lanes::of(&report.pods), appended] {
                assert_eq!(lanes.len(), report.pods.len(), "{what}");
                for (pod, lane) in report.pods.iter().zip(&lanes.lanes) {
                    let who = format!("{what}: {}/{}", pod.namespace, pod.name);
                    assert_eq!(lanes.text(lane.namespace), pod.namespace, "{who}");
                    assert_eq!(&*lane.name, pod.name, "{who}");
                    assert_eq!(lane.uid.as_deref(), pod.uid.as_deref(), "{who}");
                    assert_eq!(lane.denied, pod.denied, "{who}");
                    let text = |t: Option<Text>| lanes.opt_text(t);
                    assert_eq!(text(lane.created_by), pod.created_by.as_deref(), "{who}");
                    assert_eq!(text(lane.scheduler), pod.scheduler.as_deref(), "{who}");
                    assert_eq!(text(lane.node), pod.node.as_deref(), "{who}");
                    assert_eq!(
                        lane.times.created.as_ref().map(format_time),
                        pod.created_at,
                        "{who}"
                    );
                    assert_eq!(lane.latencies(), pod.latencies, "{who}");
                    assert_eq!(lanes.end(lane), end(pod), "{who}");
                    assert_eq!(lanes.mutated_by(lane), mutated_by(pod), "{who}");
                    assert_eq!(
                        lane.webhook_mutated(),
                        pod.webhook_calls().any(|c| c.mutated == Some(true)),
                        "{who}"
                    );
                    let mut called: Vec<&str> = Vec::new();
                    for c in pod.webhook_calls() {
                        if !called.contains(&c.name()) {
                            called.push(c.name());
                        }
                    }
                    let lane_called: Vec<&str> =
                        lane.called.iter().map(|&t| lanes.text(t)).collect();
                    assert_eq!(lane_called, called, "{who}");
                    let start = pod.times.created.or(pod.times.first);
                    assert_eq!(lane.start(), start, "{who}");
                    let t = &pod.times;
                    let last = [pod.events.iter().map(|e| e.at).max(), t.deleted, t.ready]
                        .into_iter()
                        .chain([t.bound, start])
                        .flatten()
                        .max();
                    assert_eq!(lane.last(), last, "{who}");
                    mutated += usize::from(!mutated_by(pod).is_empty());
                    ended += usize::from(pod.deleted_at.is_some());
                }
                let rows = Builder::of(&report.pods).finish(&report.configs);
                for row in &rows.webhooks {
                    let n = calls_in_rounds(&report.pods)
                        .filter(|c| {
                            c.kind == row.kind
                                && c.webhook == row.webhook
                                && (c.configuration.is_none()
                                    || c.configuration == row.configuration)
                        })
                        .count() as u64;
                    assert_eq!(lanes.reinvocations(row), n, "{what}: {row:?}");
                    reinvoked += n;
                }
            }
        }
        // Every branch above was taken somewhere.
        assert!(reinvoked > 0 && mutated > 0 && ended > 0);
    }

    fn calls_in_rounds(pods: &[Pod]) -> impl Iterator<Item = &ktrail_core::admission::WebhookCall> {
        pods.iter()
            .flat_map(Pod::webhook_calls)
            .filter(|c| c.round > 0)
    }

    #[test]
    fn texts_are_kept_once() {
        let mut texts = Texts::default();
        let a = texts.intern("kube-system");
        let b = texts.intern("default");
        assert_eq!(texts.intern("kube-system"), a);
        assert_ne!(a, b);
        assert_eq!((texts.get(a), texts.get(b)), ("kube-system", "default"));
    }
}
