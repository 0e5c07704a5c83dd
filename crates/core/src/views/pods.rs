//! `ktrail pods`: every pod incarnation on one line (who created it, where and how fast it was
//! scheduled and started, which webhooks changed it, how it ended), then the latency percentiles
//! per scheduler, because "Fargate pods take a minute to bind" is the kind of finding users are
//! after.
//!
//! Rows are the timeline's pods, one per incarnation (a denied create is a row too, as in the
//! timeline); the JSON view is the timeline's pod objects without their events.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::PodSort;
use crate::timeline::{EventKind, Pod};

/// Latency percentiles of the pods of one scheduler (denied creates are not pods and not counted).
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SchedulerLatency {
    /// `null` for pods whose scheduler the log does not show.
    pub scheduler: Option<String>,
    pub pods: u64,
    pub created_to_bound: Stats,
    pub created_to_ready: Stats,
}

/// Nearest-rank percentiles, in seconds; `null` when no pod has the latency.
#[derive(Debug, Clone, Serialize, PartialEq, Default)]
pub struct Stats {
    pub count: u64,
    pub p50: Option<f64>,
    pub p90: Option<f64>,
    pub p99: Option<f64>,
    pub max: Option<f64>,
}

impl Stats {
    pub fn of(mut values: Vec<f64>) -> Stats {
        values.retain(|v| v.is_finite());
        values.sort_by(f64::total_cmp);
        Stats {
            count: values.len() as u64,
            p50: percentile(&values, 50),
            p90: percentile(&values, 90),
            p99: percentile(&values, 99),
            max: values.last().copied(),
        }
    }
}

/// The nearest-rank percentile of sorted values: the smallest value with at least `p`% of the
/// values at or below it.
pub fn percentile(sorted: &[f64], p: u32) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let n = sorted.len();
    let rank = (p as usize * n).div_ceil(100).clamp(1, n);
    Some(sorted[rank - 1])
}

/// Where a pod goes in `--sort`'s order, computed from its story alone, so that rows can be
/// rendered as the stories are derived and only ordered at the end.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SortKey {
    /// A latency: slowest first, pods without it last.
    Latency(Option<f64>),
    /// A time: oldest first.
    Time(Option<DateTime<Utc>>),
}

impl SortKey {
    pub fn of(pod: &Pod, sort: PodSort) -> SortKey {
        let l = &pod.latencies;
        match sort {
            PodSort::CreatedToBound => SortKey::Latency(l.created_to_bound),
            PodSort::BoundToReady => SortKey::Latency(l.bound_to_ready),
            PodSort::CreatedToReady => SortKey::Latency(l.created_to_ready),
            PodSort::Created => SortKey::Time(pod.times.created.or(pod.times.first)),
        }
    }

    /// The order of two keys of the same sort; equal keys keep the stories' order when sorted
    /// stably.
    pub fn compare(&self, other: &SortKey) -> Ordering {
        match (self, other) {
            (SortKey::Latency(x), SortKey::Latency(y)) => match (x, y) {
                (Some(x), Some(y)) => y.total_cmp(x),
                (Some(_), None) => Ordering::Less,
                (None, Some(_)) => Ordering::Greater,
                (None, None) => Ordering::Equal,
            },
            (SortKey::Time(x), SortKey::Time(y)) => x.cmp(y),
            _ => Ordering::Equal,
        }
    }
}

/// What the latency summary needs of one pod.
#[derive(Debug, Clone)]
pub struct Sample {
    scheduler: Option<String>,
    denied: bool,
    created_to_bound: Option<f64>,
    created_to_ready: Option<f64>,
}

impl Sample {
    pub fn of(pod: &Pod) -> Sample {
        Sample {
            scheduler: pod.scheduler.clone(),
            denied: pod.denied,
            created_to_bound: pod.latencies.created_to_bound,
            created_to_ready: pod.latencies.created_to_ready,
        }
    }
}

/// The latency percentiles per scheduler, gathered pod by pod: two numbers a pod, whatever the
/// size of its story.
#[derive(Default)]
pub struct Latency {
    /// Per scheduler: pods, created→bound and created→ready values.
    per: BTreeMap<Option<String>, (u64, Vec<f64>, Vec<f64>)>,
}

impl Latency {
    /// Counts one pod (denied creates are not pods and are not counted).
    pub fn add(&mut self, s: Sample) {
        if s.denied {
            return;
        }
        let e = self.per.entry(s.scheduler).or_default();
        e.0 += 1;
        e.1.extend(s.created_to_bound);
        e.2.extend(s.created_to_ready);
    }

    /// The summary of every pod of `pods`.
    pub fn of(pods: &[Pod]) -> Vec<SchedulerLatency> {
        let mut l = Latency::default();
        for p in pods {
            l.add(Sample::of(p));
        }
        l.finish()
    }

    /// Named schedulers first, the unknown one last.
    pub fn finish(self) -> Vec<SchedulerLatency> {
        let mut out: Vec<SchedulerLatency> = self
            .per
            .into_iter()
            .map(|(scheduler, (pods, bound, ready))| SchedulerLatency {
                scheduler,
                pods,
                created_to_bound: Stats::of(bound),
                created_to_ready: Stats::of(ready),
            })
            .collect();
        out.sort_by_key(|l| (l.scheduler.is_none(), l.scheduler.clone()));
        out
    }
}

/// The webhooks (and built-in admission) that changed the incarnation, at its create or later, in
/// order of first change.
pub fn mutated_by(pod: &Pod) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for c in pod.webhook_calls().filter(|c| c.mutated == Some(true)) {
        let name = c.name();
        if !out.iter().any(|n| n == name) {
            out.push(name.to_owned());
        }
    }
    if !pod.builtin_changes.is_empty() {
        out.push(crate::timeline::BUILTIN.to_owned());
    }
    out
}

/// How the incarnation ended, or where it stood when the log ends.
pub fn end(pod: &Pod) -> String {
    ending(
        pod.denied.then_some(pod.denied_by.as_deref()),
        pod.deleted_at.as_deref().map(|at| {
            let evicted = pod.deleted_via == Some(EventKind::Eviction);
            (at, evicted, pod.deleted_by.as_deref())
        }),
        pod.phase.as_deref(),
    )
}

/// [`end`] told from an incarnation's parts, for those who keep the parts and not the `Pod` (the
/// report's lanes): whether its create was denied and by whom; when it was deleted, whether by
/// an eviction, and by whom; its last phase.
pub fn ending(
    denied: Option<Option<&str>>,
    deleted: Option<(&str, bool, Option<&str>)>,
    phase: Option<&str>,
) -> String {
    if let Some(by) = denied {
        return match by {
            Some(by) => format!("denied by {by}"),
            None => "create failed".into(),
        };
    }
    if let Some((at, evicted, by)) = deleted {
        let how = if evicted { "evicted" } else { "deleted" };
        return format!("{how} {at} by {}", by.unwrap_or("?"));
    }
    phase.unwrap_or("-").to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<f64> = (1..=10).map(f64::from).collect();
        assert_eq!(percentile(&v, 50), Some(5.0));
        assert_eq!(percentile(&v, 90), Some(9.0));
        assert_eq!(percentile(&v, 99), Some(10.0));
        assert_eq!(percentile(&[], 50), None);
        assert_eq!(percentile(&[3.0], 1), Some(3.0));
        let s = Stats::of(vec![2.0, f64::NAN, 1.0]);
        assert_eq!((s.count, s.p50, s.max), (2, Some(1.0), Some(2.0)));
    }
}
