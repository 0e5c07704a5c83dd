//! `ktrail pods`: every pod incarnation on one line (who created it, where and how fast it was
//! scheduled and started, which webhooks changed it, how it ended), then the latency percentiles
//! per scheduler, because "Fargate pods take a minute to bind" is the kind of finding users are
//! after.
//!
//! Rows are the timeline's pods, one per incarnation (a denied create is a row too, as in the
//! timeline); the JSON view is the timeline's pod objects without their events.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::io::{self, Write};

use serde::Serialize;
use serde_json::Value;

use super::{csv, first_few, opt_duration, plain_table, write_table, PodSort, PodsFormat};
use crate::audit::format_time;
use crate::render::{self, Style};
use crate::sanitize::{escape, markdown_cell};
use crate::timeline::{Pod, Report};

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
        let how = if pod.deleted_via.as_deref() == Some("eviction") {
            "evicted"
        } else {
            "deleted"
        };
        return format!("{how} {at} by {}", pod.deleted_by.as_deref().unwrap_or("?"));
    }
    pod.phase.clone().unwrap_or_else(|| "-".into())
}

/// The pod's JSON object without its events, plus `mutatedBy`.
///
/// Built from the pod's own serialization so that a field added to the timeline's contract shows
/// up here too, without a second list of fields to keep in step.
fn pod_json(pod: &Pod) -> Result<Value, serde_json::Error> {
    let mut v = serde_json::to_value(pod)?;
    if let Value::Object(m) = &mut v {
        m.remove("events");
        m.insert(
            "mutatedBy".into(),
            Value::Array(mutated_by(pod).into_iter().map(Value::String).collect()),
        );
    }
    Ok(v)
}

#[derive(Serialize)]
struct PodsJson<'a> {
    pods: Vec<Value>,
    latency: &'a [SchedulerLatency],
}

/// The view in the format asked for.
pub fn render(
    view: &PodsView<'_>,
    format: PodsFormat,
    style: Style,
    w: &mut dyn Write,
) -> io::Result<()> {
    match format {
        PodsFormat::Json => {
            let pods = view
                .rows
                .iter()
                .map(|p| pod_json(p))
                .collect::<Result<Vec<_>, _>>()?;
            render::json(
                &PodsJson {
                    pods,
                    latency: &view.latency,
                },
                w,
            )
        }
        PodsFormat::Table => table(view, style, w),
        PodsFormat::Markdown => markdown(view, w),
        PodsFormat::Csv => csv_rows(view, w),
    }
}

fn opt(s: &Option<String>) -> &str {
    s.as_deref().unwrap_or("-")
}

fn created(pod: &Pod) -> String {
    match &pod.created_at {
        Some(at) => at.clone(),
        None if pod.denied => pod
            .times
            .first
            .as_ref()
            .map(format_time)
            .unwrap_or_default(),
        None => "before the log".into(),
    }
}

/// The cells every human format shows, unescaped.
fn cells(pod: &Pod) -> [String; 10] {
    [
        format!("{}/{}", pod.namespace, pod.name),
        opt(&pod.uid).to_owned(),
        created(pod),
        opt(&pod.created_by).to_owned(),
        opt(&pod.scheduler).to_owned(),
        opt(&pod.node).to_owned(),
        opt_duration(pod.latencies.created_to_bound),
        opt_duration(pod.latencies.bound_to_ready),
        first_few(&mutated_by(pod), 4, ", "),
        end(pod),
    ]
}

const HEADER: [&str; 10] = [
    "POD",
    "UID",
    "CREATED",
    "CREATED BY",
    "SCHEDULER",
    "NODE",
    "CREATED→BOUND",
    "BOUND→READY",
    "MUTATED BY",
    "END",
];

const LATENCY_HEADER: [&str; 12] = [
    "SCHEDULER",
    "PODS",
    "BOUND n",
    "BOUND p50",
    "p90",
    "p99",
    "max",
    "READY n",
    "READY p50",
    "p90",
    "p99",
    "max",
];

fn latency_cells(l: &SchedulerLatency) -> Vec<String> {
    let b = &l.created_to_bound;
    let r = &l.created_to_ready;
    vec![
        l.scheduler.clone().unwrap_or_else(|| "(unknown)".into()),
        l.pods.to_string(),
        b.count.to_string(),
        opt_duration(b.p50),
        opt_duration(b.p90),
        opt_duration(b.p99),
        opt_duration(b.max),
        r.count.to_string(),
        opt_duration(r.p50),
        opt_duration(r.p90),
        opt_duration(r.p99),
        opt_duration(r.max),
    ]
}

fn table(view: &PodsView<'_>, style: Style, w: &mut dyn Write) -> io::Result<()> {
    let mut t = plain_table(style);
    t.set_header(HEADER.to_vec());
    for pod in &view.rows {
        t.add_row(cells(pod).iter().map(|c| escape(c).into_owned()));
    }
    write_table(&t, w)?;
    if !view.latency.is_empty() {
        writeln!(
            w,
            "\n{}",
            style.bold("Latency from creation, per scheduler")
        )?;
        let mut t = plain_table(style);
        t.set_header(LATENCY_HEADER.to_vec());
        for l in &view.latency {
            t.add_row(
                latency_cells(l)
                    .iter()
                    .map(|c| escape(c).into_owned())
                    .collect::<Vec<_>>(),
            );
        }
        write_table(&t, w)?;
    }
    Ok(())
}

fn markdown(view: &PodsView<'_>, w: &mut dyn Write) -> io::Result<()> {
    writeln!(w, "| {} |", HEADER.join(" | ").to_lowercase())?;
    writeln!(w, "|{}", "---|".repeat(HEADER.len()))?;
    for pod in &view.rows {
        let cells: Vec<String> = cells(pod).iter().map(|c| markdown_cell(c)).collect();
        writeln!(w, "| {} |", cells.join(" | "))?;
    }
    if !view.latency.is_empty() {
        writeln!(w, "\n**Latency from creation, per scheduler**\n")?;
        writeln!(w, "| {} |", LATENCY_HEADER.join(" | "))?;
        writeln!(w, "|---|{}", "---:|".repeat(LATENCY_HEADER.len() - 1))?;
        for l in &view.latency {
            let cells: Vec<String> = latency_cells(l).iter().map(|c| markdown_cell(c)).collect();
            writeln!(w, "| {} |", cells.join(" | "))?;
        }
    }
    Ok(())
}

const CSV_HEADER: [&str; 20] = [
    "namespace",
    "name",
    "uid",
    "denied",
    "deniedBy",
    "createdAt",
    "createdBy",
    "scheduler",
    "node",
    "boundAt",
    "boundBy",
    "readyAt",
    "createdToBound",
    "boundToReady",
    "createdToReady",
    "mutatedBy",
    "phase",
    "deletedAt",
    "deletedBy",
    "deletedVia",
];

/// One table, no summary: CSV is for spreadsheets and scripts, which compute their own.
fn csv_rows(view: &PodsView<'_>, w: &mut dyn Write) -> io::Result<()> {
    let header: Vec<String> = CSV_HEADER.iter().map(|h| csv::plain(h)).collect();
    csv::row(&header, w)?;
    let text = |s: &Option<String>| s.as_deref().map(csv::text).unwrap_or_default();
    let num = |v: Option<f64>| v.map(|v| csv::plain(&v.to_string())).unwrap_or_default();
    for p in &view.rows {
        let l = &p.latencies;
        csv::row(
            &[
                csv::text(&p.namespace),
                csv::text(&p.name),
                text(&p.uid),
                csv::plain(if p.denied { "true" } else { "false" }),
                text(&p.denied_by),
                text(&p.created_at),
                text(&p.created_by),
                text(&p.scheduler),
                text(&p.node),
                text(&p.bound_at),
                text(&p.bound_by),
                text(&p.ready_at),
                num(l.created_to_bound),
                num(l.bound_to_ready),
                num(l.created_to_ready),
                csv::text(&mutated_by(p).join("; ")),
                text(&p.phase),
                text(&p.deleted_at),
                text(&p.deleted_by),
                text(&p.deleted_via),
            ],
            w,
        )?;
    }
    Ok(())
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
