//! The swimlane: one lane per pod incarnation on one time axis, its bar split at the milestones
//! (created → bound → ready → deleted, or the end of the log), coloured by scheduler, a cross at a
//! denied create. Drawn as inline SVG that needs no script: each lane's `<title>` is its tooltip
//! and each lane links to its story. The script reads [`data`] to filter, sort and zoom.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::io::{self, Write};

use chrono::{DateTime, Utc};
use serde::Serialize;

use ktrail_core::audit::format_time;
use ktrail_core::text::{opt_duration, shorten};

use super::lanes::Text;
use super::{json_block, Lane, Lanes, Span, H};

/// The drawing's width, the label column's and the plot's left and right ends; a lane's height;
/// the axis's height. The script reads the same numbers from the `svg`'s data attributes.
const WIDTH: u32 = 1200;
const PLOT_X0: f64 = 310.0;
const PLOT_X1: f64 = 1190.0;
const ROW: u32 = 14;
const TOP: u32 = 30;
/// Colours for schedulers, as classes `s0`…; more schedulers reuse them.
const COLOURS: usize = 8;
/// Characters of a lane's label.
const LABEL_CHARS: usize = 44;

/// The values the filters offer, each list sorted, and every pod's index into them.
pub struct Facets<'a> {
    pub namespaces: Vec<&'a str>,
    pub schedulers: Vec<&'a str>,
    pub webhooks: Vec<&'a str>,
}

/// The distinct texts of `texts`, sorted.
fn sorted(lanes: &Lanes, texts: impl Iterator<Item = Text>) -> Vec<&str> {
    let distinct: BTreeSet<Text> = texts.collect();
    let mut v: Vec<&str> = distinct.into_iter().map(|t| lanes.text(t)).collect();
    v.sort_unstable();
    v
}

fn index(list: &[&str], s: &str) -> Option<usize> {
    list.binary_search(&s).ok()
}

impl<'a> Facets<'a> {
    pub fn of(lanes: &'a Lanes) -> Facets<'a> {
        let all = &lanes.lanes;
        Facets {
            namespaces: sorted(lanes, all.iter().map(|p| p.namespace)),
            schedulers: sorted(lanes, all.iter().filter_map(|p| p.scheduler)),
            webhooks: sorted(lanes, all.iter().flat_map(|p| p.called.iter().copied())),
        }
    }

    fn scheduler(&self, lanes: &Lanes, lane: &Lane) -> Option<usize> {
        index(&self.schedulers, lanes.opt_text(lane.scheduler)?)
    }

    fn scheduler_class(&self, lanes: &Lanes, lane: &Lane) -> String {
        match self.scheduler(lanes, lane) {
            Some(i) => format!("s{}", i % COLOURS),
            None => "sx".into(),
        }
    }
}

/// Arrowheads and the failure cross of the sequence diagrams, defined once for the document.
pub fn markers(w: &mut dyn Write) -> io::Result<()> {
    writeln!(
        w,
        "<svg class=\"defs\" width=\"0\" height=\"0\" aria-hidden=\"true\"><defs>\
         <marker id=\"ah\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"8\" \
         markerHeight=\"8\" orient=\"auto-start-reverse\"><path d=\"M0,0L10,5L0,10z\" class=\"mk\"/></marker>\
         <marker id=\"ax\" viewBox=\"0 0 10 10\" refX=\"5\" refY=\"5\" markerWidth=\"9\" \
         markerHeight=\"9\"><path d=\"M0,0L10,10M10,0L0,10\" class=\"mx\"/></marker>\
         </defs></svg>"
    )
}

struct Axis {
    span: Span,
}

impl Axis {
    fn x(&self, ms: i64) -> f64 {
        PLOT_X0 + (ms as f64 / self.span.len_ms() as f64) * (PLOT_X1 - PLOT_X0)
    }
}

/// Tick spacings of the time axis, in seconds; the script has the same list.
const STEPS: [i64; 18] = [
    1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400,
];

fn ticks(span: Span) -> Vec<DateTime<Utc>> {
    let len_s = span.len_ms() / 1000;
    let step = STEPS
        .iter()
        .copied()
        .find(|s| len_s / s <= 8)
        .unwrap_or(86400);
    let first = span.t0.timestamp().div_euclid(step) * step + step;
    (0..)
        .map(|k| first + k * step)
        .take_while(|&t| t <= span.t1.timestamp())
        .filter_map(|t| DateTime::from_timestamp(t, 0))
        .collect()
}

/// The pieces of a pod's bar: (class, from, to) in milliseconds from the axis's start; a denied
/// create is one piece of no length. The SVG draws them and the data gives them to the script
/// (to redraw them zoomed), in the same order.
fn segments(lane: &Lane, span: Span) -> Vec<(&'static str, i64, i64)> {
    let s = lane.start().map(|t| span.ms(t)).unwrap_or(0);
    if lane.denied {
        return vec![("denied", s, s)];
    }
    let ms = |t: Option<DateTime<Utc>>| t.map(|t| span.ms(t));
    let (bound, ready) = (ms(lane.times.bound), ms(lane.times.ready));
    let stop = ms(lane.times.deleted).unwrap_or(span.len_ms());
    let mut out = Vec::with_capacity(3);
    let mut at = s;
    for (class, until) in [("pending", bound.or(ready)), ("starting", ready)] {
        if let Some(u) = until {
            if u >= at {
                out.push((class, at, u));
                at = u;
            }
        }
    }
    let last = match (bound, ready) {
        (_, Some(_)) => "running",
        (Some(_), None) => "starting",
        (None, None) => "pending",
    };
    out.push((last, at, stop.max(at)));
    out
}

/// The tooltip: the incarnation's facts, one a line (each escaped on its own, so that only
/// these line breaks are real).
fn facts(lanes: &Lanes, lane: &Lane) -> String {
    let mut lines = vec![format!("{}/{}", lanes.text(lane.namespace), lane.name)];
    if let Some(u) = &lane.uid {
        lines.push(format!("uid {u}"));
    }
    let created_at = lane.times.created.as_ref().map(format_time);
    lines.push(match (created_at, lanes.opt_text(lane.created_by)) {
        (Some(at), Some(by)) => format!("created {at} by {by}"),
        (Some(at), None) => format!("created {at}"),
        _ => "created before the log".into(),
    });
    if let Some(v) = lanes.opt_text(lane.scheduler) {
        lines.push(format!("scheduler {v}"));
    }
    if let Some(v) = lanes.opt_text(lane.node) {
        lines.push(format!("node {v}"));
    }
    let l = lane.latencies();
    if l.created_to_bound.is_some() || l.created_to_ready.is_some() {
        lines.push(format!(
            "bound after {}, ready after {}",
            opt_duration(l.created_to_bound),
            opt_duration(l.created_to_ready)
        ));
    }
    let m = lanes.mutated_by(lane);
    if !m.is_empty() {
        lines.push(format!("mutated by {}", m.join(", ")));
    }
    lines.push(lanes.end(lane));
    let mut out = String::new();
    for (i, line) in lines.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let _ = write!(out, "{}", H(line));
    }
    out
}

/// The swimlane of every incarnation: what both its SVG and its data for the script are drawn
/// from.
#[derive(Clone, Copy)]
pub struct Swimlane<'a> {
    pub lanes: &'a Lanes,
    /// From the first to the last event of any lane; none without lanes.
    pub span: Option<Span>,
    pub facets: &'a Facets<'a>,
    /// Whether each lane's story is in the report.
    pub has_story: &'a [bool],
}

pub fn render(swimlane: Swimlane<'_>, w: &mut dyn Write) -> io::Result<()> {
    let Swimlane {
        lanes,
        span,
        facets,
        has_story,
    } = swimlane;
    writeln!(w, "<section id=\"pods\"><h2>Pods</h2>")?;
    let Some(span) = span else {
        return writeln!(w, "<p>No pod in the log.</p></section>");
    };
    legend(facets, w)?;
    controls(facets, w)?;
    let axis = Axis { span };
    let height = TOP + ROW * lanes.len() as u32 + 4;
    writeln!(
        w,
        "<div class=\"lanes-box\"><svg id=\"lanes\" viewBox=\"0 0 {WIDTH} {height}\" width=\"{WIDTH}\" \
         height=\"{height}\" data-x0=\"{PLOT_X0}\" data-x1=\"{PLOT_X1}\" data-row=\"{ROW}\" \
         data-top=\"{TOP}\" role=\"img\" aria-label=\"swimlane of {} pod incarnations\">",
        lanes.len()
    )?;
    write!(w, "<g id=\"axis\">")?;
    for t in ticks(span) {
        let x = axis.x(span.ms(t));
        write!(
            w,
            "<line class=\"tick\" x1=\"{x:.1}\" x2=\"{x:.1}\" y1=\"{}\" y2=\"{height}\"/>\
             <text class=\"tl\" x=\"{x:.1}\" y=\"{}\">{}</text>",
            TOP - 6,
            TOP - 10,
            t.format("%H:%M:%S")
        )?;
    }
    writeln!(
        w,
        "<text class=\"tl\" x=\"4\" y=\"{}\">{} UTC</text></g>",
        TOP - 10,
        span.t0.format("%Y-%m-%d")
    )?;
    let mut lane = String::with_capacity(1024);
    for (i, pod) in lanes.lanes.iter().enumerate() {
        lane.clear();
        let y = TOP + ROW * i as u32;
        let _ = write!(
            lane,
            "<g class=\"lane\" id=\"lane-{i}\" transform=\"translate(0,{y})\"><title>{}</title>",
            facts(lanes, pod)
        );
        if has_story[i] {
            let _ = write!(lane, "<a href=\"#story-{i}\">");
        }
        let label = shorten(
            &format!("{}/{}", lanes.text(pod.namespace), pod.name),
            LABEL_CHARS,
        );
        let _ = write!(
            lane,
            "<rect class=\"hit\" width=\"{WIDTH}\" height=\"{ROW}\"/>\
             <text class=\"name\" x=\"4\" y=\"11\">{}</text>",
            H(&label)
        );
        let sc = facets.scheduler_class(lanes, pod);
        let open = if pod.times.deleted.is_none() {
            " open"
        } else {
            ""
        };
        let pieces = segments(pod, span);
        let n = pieces.len();
        for (k, (class, a, b)) in pieces.into_iter().enumerate() {
            let (xa, xb) = (axis.x(a), axis.x(b));
            if class == "denied" {
                let _ = write!(
                    lane,
                    "<path class=\"denied\" d=\"M{:.1},2l10,10m0,-10l-10,10\"/>",
                    xa - 5.0
                );
                continue;
            }
            let open = if k + 1 == n { open } else { "" };
            let _ = write!(
                lane,
                "<rect class=\"seg {class} {sc}{open}\" x=\"{xa:.1}\" y=\"2\" width=\"{:.1}\" height=\"10\"/>",
                (xb - xa).max(1.0)
            );
        }
        if has_story[i] {
            lane.push_str("</a>");
        }
        lane.push_str("</g>\n");
        w.write_all(lane.as_bytes())?;
    }
    writeln!(w, "</svg></div></section>")
}

fn legend(facets: &Facets, w: &mut dyn Write) -> io::Result<()> {
    write!(
        w,
        "<p class=\"legend\"><span class=\"key\"><i class=\"sw pending s0\"></i>created → bound</span> \
         <span class=\"key\"><i class=\"sw starting s0\"></i>bound → ready</span> \
         <span class=\"key\"><i class=\"sw running s0\"></i>ready → deleted or end of log</span> \
         <span class=\"key\"><b class=\"x\">✕</b>denied create</span><br>schedulers: "
    )?;
    for (i, s) in facets.schedulers.iter().enumerate() {
        write!(
            w,
            "<span class=\"key\"><i class=\"sw running s{}\"></i>{}</span> ",
            i % COLOURS,
            H(s)
        )?;
    }
    writeln!(
        w,
        "<span class=\"key\"><i class=\"sw running sx\"></i>not shown in the log</span></p>\
         <p class=\"note\">Hover a bar for the pod's facts; click it for its story.</p>"
    )
}

/// The filters, sort and zoom: hidden until the script shows them (they do nothing without it).
/// Options are indexes into the data's lists; their labels are the log's names, as text.
fn controls(facets: &Facets, w: &mut dyn Write) -> io::Result<()> {
    let select = |w: &mut dyn Write, id: &str, label: &str, items: &[&str]| -> io::Result<()> {
        write!(
            w,
            "<label>{label} <select id=\"{id}\"><option value=\"\">all</option>"
        )?;
        for (i, s) in items.iter().enumerate() {
            write!(w, "<option value=\"{i}\">{}</option>", H(s))?;
        }
        write!(w, "</select></label> ")
    };
    write!(w, "<form id=\"controls\" hidden>")?;
    select(w, "f-ns", "namespace", &facets.namespaces)?;
    write!(
        w,
        "<label>name <input id=\"f-name\" type=\"search\" size=\"14\" autocomplete=\"off\"></label> \
         <label>node <input id=\"f-node\" type=\"search\" size=\"14\" autocomplete=\"off\"></label> "
    )?;
    select(w, "f-sched", "scheduler", &facets.schedulers)?;
    select(w, "f-hook", "webhook", &facets.webhooks)?;
    writeln!(
        w,
        "<label>sort <select id=\"f-sort\"><option value=\"\">namespace, name</option>\
         <option value=\"created\">created</option>\
         <option value=\"c2b\">created → bound, slowest first</option>\
         <option value=\"b2r\">bound → ready, slowest first</option>\
         <option value=\"c2r\">created → ready, slowest first</option></select></label><br>\
         <label>window from <input id=\"z-from\" type=\"range\" min=\"0\" max=\"1000\" value=\"0\"></label> \
         <label>to <input id=\"z-to\" type=\"range\" min=\"0\" max=\"1000\" value=\"1000\"></label> \
         <span id=\"z-text\"></span> <button id=\"z-reset\" type=\"button\">whole log</button> \
         <output id=\"shown\"></output></form>"
    )
}

/// What the script needs of each lane, as arrays to keep the file small:
/// `{"t0", "len", "namespaces", "schedulers", "webhooks", "pods"}` where each pod is
/// `[namespace index, name, node, scheduler index or -1, [webhook indexes], start ms, end ms,
/// created→bound, bound→ready, created→ready (seconds or null), has a story, the bar's pieces
/// as [from, to, from, to, …] in milliseconds]`.
///
/// Written lane by lane (the JSON of the whole is the JSON of its parts one after another): a
/// report of a hundred thousand incarnations would otherwise hold their data twice over as text.
pub fn data(swimlane: Swimlane<'_>, w: &mut dyn Write) -> io::Result<()> {
    let (lanes, span, facets) = (swimlane.lanes, swimlane.span, swimlane.facets);
    write!(
        w,
        "{{\"t0\":{},\"len\":{},\"namespaces\":{},\"schedulers\":{},\"webhooks\":{},\"pods\":[",
        json_block(&span.map_or(0, |s| s.t0.timestamp_millis())),
        json_block(&span.map_or(1, |s| s.len_ms())),
        json_block(&facets.namespaces),
        json_block(&facets.schedulers),
        json_block(&facets.webhooks),
    )?;
    if let Some(span) = span {
        let ns = |t: Text| index(&facets.namespaces, lanes.text(t));
        for (i, p) in lanes.lanes.iter().enumerate() {
            if i > 0 {
                w.write_all(b",")?;
            }
            let s = p.start().map(|t| span.ms(t)).unwrap_or(0);
            let e = p.times.deleted.map(|t| span.ms(t)).unwrap_or(span.len_ms());
            let l = p.latencies();
            let data = LaneData(
                ns(p.namespace).unwrap_or(0),
                &p.name,
                lanes.opt_text(p.node),
                facets.scheduler(lanes, p).map_or(-1, |i| i as i64),
                p.called
                    .iter()
                    .filter_map(|&h| index(&facets.webhooks, lanes.text(h)))
                    .collect(),
                s,
                e.max(s),
                l.created_to_bound,
                l.bound_to_ready,
                l.created_to_ready,
                swimlane.has_story[i],
                segments(p, span)
                    .into_iter()
                    .flat_map(|(_, a, b)| [a, b])
                    .collect(),
            );
            w.write_all(json_block(&data).as_bytes())?;
        }
    }
    w.write_all(b"]}")
}

#[derive(Serialize)]
struct LaneData<'a>(
    usize,
    &'a str,
    Option<&'a str>,
    i64,
    Vec<usize>,
    i64,
    i64,
    Option<f64>,
    Option<f64>,
    Option<f64>,
    bool,
    Vec<i64>,
);
