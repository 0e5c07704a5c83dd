//! `ktrail pods`: every pod incarnation on one line (who created it, where and how fast it was
//! scheduled and started, which webhooks changed it, how it ended), then the latency percentiles
//! per scheduler, because "Fargate pods take a minute to bind" is the kind of finding users are
//! after.
//!
//! Rows are the timeline's pods, one per incarnation (a denied create is a row too, as in the
//! timeline); the JSON view is the timeline's pod objects without their events.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use serde::Serialize;

use super::PodSort;
use crate::timeline::{EventKind, Pod, Report};

/// The rows, in display order, and the latency summary.
pub struct PodsView<'r> {
    pub rows: Vec<&'r Pod>,
    pub latency: Vec<SchedulerLatency>,
}

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

/// Orders the report's incarnations and computes the summary.
pub fn build(report: &Report, sort: Option<PodSort>) -> PodsView<'_> {
    let mut rows: Vec<&Pod> = report.pods.iter().collect();
    if let Some(sort) = sort {
        // Stable: ties keep the report's (namespace, name, creation) order.
        rows.sort_by(|a, b| compare(a, b, sort));
    }
    PodsView {
        latency: latency(&report.pods),
        rows,
    }
}

fn compare(a: &Pod, b: &Pod, sort: PodSort) -> Ordering {
    let slowest_first = |x: Option<f64>, y: Option<f64>| match (x, y) {
        (Some(x), Some(y)) => y.total_cmp(&x),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    };
    let (la, lb) = (&a.latencies, &b.latencies);
    match sort {
        PodSort::CreatedToBound => slowest_first(la.created_to_bound, lb.created_to_bound),
        PodSort::BoundToReady => slowest_first(la.bound_to_ready, lb.bound_to_ready),
        PodSort::CreatedToReady => slowest_first(la.created_to_ready, lb.created_to_ready),
        PodSort::Created => {
            let t = |p: &Pod| p.times.created.or(p.times.first);
            t(a).cmp(&t(b))
        }
    }
}

fn latency(pods: &[Pod]) -> Vec<SchedulerLatency> {
    let mut per: BTreeMap<Option<&str>, Vec<&Pod>> = BTreeMap::new();
    for p in pods.iter().filter(|p| !p.denied) {
        per.entry(p.scheduler.as_deref()).or_default().push(p);
    }
    let mut out: Vec<SchedulerLatency> = per
        .into_iter()
        .map(|(scheduler, pods)| SchedulerLatency {
            scheduler: scheduler.map(str::to_owned),
            pods: pods.len() as u64,
            created_to_bound: Stats::of(
                pods.iter()
                    .filter_map(|p| p.latencies.created_to_bound)
                    .collect(),
            ),
            created_to_ready: Stats::of(
                pods.iter()
                    .filter_map(|p| p.latencies.created_to_ready)
                    .collect(),
            ),
        })
        .collect();
    // Named schedulers first, the unknown one last.
    out.sort_by_key(|l| (l.scheduler.is_none(), l.scheduler.clone()));
    out
}

/// The webhooks (and built-in admission) that changed the incarnation, at its create or later, in
/// order of first change.
pub fn mutated_by(pod: &Pod) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let calls = pod
        .webhooks
        .iter()
        .chain(pod.events.iter().flat_map(|e| e.webhooks.iter()));
    for c in calls.filter(|c| c.mutated == Some(true)) {
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
    if pod.denied {
        return match &pod.denied_by {
            Some(by) => format!("denied by {by}"),
            None => "create failed".into(),
        };
    }
    if let Some(at) = &pod.deleted_at {
        let how = if pod.deleted_via == Some(EventKind::Eviction) {
            "evicted"
        } else {
            "deleted"
        };
        return format!("{how} {at} by {}", pod.deleted_by.as_deref().unwrap_or("?"));
    }
    pod.phase.clone().unwrap_or_else(|| "-".into())
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
