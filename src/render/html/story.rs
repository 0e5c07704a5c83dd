//! One pod's story: its facts, its events with the changes attributed to who made them, the
//! webhook calls, and the sequence diagram drawn as inline SVG (the same sequence the Mermaid
//! output writes, `render::sequence`). Inside a `<details>` element, so a long report stays
//! short until a story is opened.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::io::{self, Write};

use serde::Serialize;

use ktrail_core::admission::WebhookCall;
use ktrail_core::text::{offset, opt_duration, shorten};
use ktrail_core::timeline::{short_value, Change, Pod};
use ktrail_core::views::pods::{end, mutated_by};

use super::H;
use crate::render::kinds;
use crate::render::sequence::{self, Step};

/// At most this many changes listed under one event; the JSON output has them all.
const CHANGES_SHOWN: usize = 12;
/// Characters of a user name in the events table.
const USER_CHARS: usize = 60;

/// How stories carry their sequence diagrams.
pub enum Diagrams {
    /// As SVG in the page: a story needs no script.
    Inline,
    /// As data the report's script draws when a story is opened, for reports with many stories
    /// (the SVG of each would make the file several times larger).
    Data(SeqData),
}

/// The sequences of the stories as data: texts once each, steps as small tuples.
#[derive(Default, Serialize)]
pub struct SeqData {
    strings: Vec<String>,
    #[serde(skip)]
    index: HashMap<String, usize>,
    /// By pod index: the participants' labels, and the steps as
    /// `[from, to, arrow (0 request, 1 reply, 2 failed, 3 failed reply, 4 note), text]` where a
    /// text of -1-k is the offset and summary of the story's event `k` (shown in its events table).
    stories: BTreeMap<usize, (Vec<usize>, Vec<SeqStep>)>,
}

/// `[from, to, arrow, text]`, as [`SeqData`] describes.
type SeqStep = (usize, usize, u8, i64);

impl SeqData {
    fn string(&mut self, s: &str) -> usize {
        if let Some(&i) = self.index.get(s) {
            return i;
        }
        self.strings.push(s.to_owned());
        self.index.insert(s.to_owned(), self.strings.len() - 1);
        self.strings.len() - 1
    }

    fn add(&mut self, i: usize, seq: &sequence::Sequence) {
        let col = |alias: &str| {
            seq.participants
                .iter()
                .position(|(a, _)| a == alias)
                .unwrap_or(0)
        };
        let labels = seq
            .participants
            .iter()
            .map(|(_, l)| self.string(l))
            .collect();
        let steps = seq
            .steps
            .iter()
            .map(|step| match step {
                Step::Message(m) => {
                    let text = match m.event {
                        Some(k) => -1 - k as i64,
                        None => self.string(&m.text) as i64,
                    };
                    (col(&m.from), col(&m.to), m.arrow.code(), text)
                }
                Step::Note { over, text } => (col(over), col(over), 4, self.string(text) as i64),
            })
            .collect();
        self.stories.insert(i, (labels, steps));
    }
}

pub fn render(i: usize, pod: &Pod, diagrams: &mut Diagrams, w: &mut dyn Write) -> io::Result<()> {
    let mut s = String::with_capacity(8 << 10);
    let _ = write!(
        s,
        "<section class=\"story\" id=\"story-{i}\"><details><summary><span class=\"pod\">{}/{}</span>",
        H(&pod.namespace),
        H(&pod.name)
    );
    if let Some(uid) = &pod.uid {
        let _ = write!(s, " <span class=\"muted\">uid {}</span>", H(uid));
    }
    if pod.denied {
        s.push_str(" <span class=\"badge bad\">denied</span>");
    }
    let _ = write!(
        s,
        " <span class=\"muted\">{}</span></summary>",
        H(&end(pod))
    );
    facts(pod, &mut s);
    events(pod, &mut s);
    calls(pod, &mut s);
    s.push_str("<h4>Sequence</h4>");
    let seq = sequence::of(pod);
    match diagrams {
        Diagrams::Inline => diagram(&seq, &mut s),
        Diagrams::Data(data) => {
            data.add(i, &seq);
            // Empty until drawn; the style says why.
            s.push_str("<div class=\"scroll seq-box\"></div>");
        }
    }
    s.push_str("</details></section>\n");
    w.write_all(s.as_bytes())
}

fn fact(s: &mut String, k: &str, v: &str) {
    let _ = write!(s, "<dt>{k}<dd>{}", H(v));
}

fn facts(pod: &Pod, s: &mut String) {
    s.push_str("<dl class=\"facts\">");
    match (&pod.created_at, &pod.created_by) {
        (Some(at), by) => fact(
            s,
            "created",
            &format!("{at} by {}", by.as_deref().unwrap_or("?")),
        ),
        (None, _) => fact(s, "created", "before the log begins"),
    }
    if let Some(d) = &pod.denied_by {
        fact(s, "denied by", d);
    }
    if let Some(m) = &pod.message {
        fact(s, "message", m);
    }
    for (k, v) in [
        ("scheduler", &pod.scheduler),
        ("node", &pod.node),
        ("phase", &pod.phase),
    ] {
        if let Some(v) = v {
            fact(s, k, v);
        }
    }
    let l = &pod.latencies;
    fact(
        s,
        "latency",
        &format!(
            "created→bound {}, bound→ready {}, created→ready {}",
            opt_duration(l.created_to_bound),
            opt_duration(l.bound_to_ready),
            opt_duration(l.created_to_ready)
        ),
    );
    let m = mutated_by(pod);
    if !m.is_empty() {
        fact(s, "mutated by", &m.join(", "));
    }
    s.push_str("</dl>");
}

fn events(pod: &Pod, s: &mut String) {
    // No header row: offset, kind, user and summary read for themselves.
    s.push_str("<h4>Events</h4><table class=\"events\"><tbody>");
    let base = pod.times.created.or(pod.times.first);
    let mut previous: Option<&str> = None;
    for ev in &pod.events {
        let off = base
            .and_then(|b| (ev.at - b).num_microseconds())
            .map(|us| offset(us as f64 / 1e6))
            .unwrap_or_default();
        let failed = ev.code.is_some_and(|c| c >= 400);
        // The user of the row above again: a ditto mark (user names are long, and most rows of
        // a story come from the same two or three).
        let who = if previous == Some(ev.user.as_str()) {
            "″".to_owned()
        } else {
            shorten(&ev.user, USER_CHARS)
        };
        previous = Some(&ev.user);
        // End tags the HTML parser implies (`</td>`, `</tr>`, `</li>`, `</dt>`, `</dd>`) are left
        // out of stories: a report of thousands of pods is a tenth smaller. The summary is the
        // cell's first text node, which the script reads.
        let _ = write!(
            s,
            "<tr{}><td>{off}<td>{}<td>{}<td>{}",
            if failed { " class=\"fail\"" } else { "" },
            H(kinds::name(ev)),
            H(&who),
            H(&ev.summary)
        );
        // The summary names most changes, and the who column who asked: listed are the changes
        // someone else made (a webhook, built-in admission) that the summary could not name.
        let unnamed: Vec<&Change> = ev
            .changes
            .iter()
            .filter(|c| c.by != ev.user && !ev.summary.contains(&c.path))
            .collect();
        if !unnamed.is_empty() {
            changes(&unnamed, s);
        }
    }
    s.push_str("</tbody></table>");
}

/// The changes of one event, grouped by who made them.
fn changes(changes: &[&Change], s: &mut String) {
    let mut by: Vec<(&str, Vec<&Change>)> = Vec::new();
    for &c in changes.iter().take(CHANGES_SHOWN) {
        match by.iter_mut().find(|(who, _)| *who == c.by) {
            Some((_, list)) => list.push(c),
            None => by.push((&c.by, vec![c])),
        }
    }
    s.push_str("<ul class=\"changes\">");
    for (who, list) in by {
        let _ = write!(s, "<li><b>{}</b>:", H(who));
        for (k, c) in list.into_iter().enumerate() {
            let sep = if k > 0 { "," } else { "" };
            let _ = write!(s, "{sep} {} <code>{}</code>", H(&c.op), H(&c.path));
            if let Some(v) = &c.value {
                let _ = write!(s, "=<code>{}</code>", H(&short_value(v)));
            }
        }
    }
    if changes.len() > CHANGES_SHOWN {
        let _ = write!(
            s,
            "<li>+{} more (ktrail timeline -o json has them all)",
            changes.len() - CHANGES_SHOWN
        );
    }
    s.push_str("</ul>");
}

/// The webhook calls: each one that did something on a line, the others named together.
fn calls(pod: &Pod, s: &mut String) {
    let all: Vec<&WebhookCall> = pod.webhook_calls().collect();
    if all.is_empty() {
        return;
    }
    s.push_str("<h4>Webhook calls</h4><ul class=\"calls\">");
    let mut quiet: Vec<&WebhookCall> = Vec::new();
    for c in all {
        let outcome = match (c.failed_open, c.mutated) {
            (true, _) => "failed open",
            (false, Some(true)) => "mutated",
            _ if c.round > 0 => "called again",
            _ => {
                quiet.push(c);
                continue;
            }
        };
        let _ = write!(
            s,
            "<li><b>{}</b> ({}, round {}): {outcome}",
            H(c.name()),
            H(c.kind),
            c.round
        );
        for (k, p) in c.paths.iter().flatten().enumerate() {
            let sep = if k > 0 { "," } else { "" };
            let _ = write!(s, "{sep} <code>{}</code>", H(p));
        }
    }
    if !quiet.is_empty() {
        s.push_str("<li>no change or no answer logged:");
        for (k, c) in quiet.into_iter().enumerate() {
            let sep = if k > 0 { "," } else { "" };
            let _ = write!(s, "{sep} {}", H(c.name()));
        }
    }
    s.push_str("</ul>");
}

/// A participant's column width, the header's height, a step's height.
const COL: usize = 170;
const HEAD: usize = 34;
const STEP: usize = 24;
/// Characters of a label in a participant's box, and of a message's text.
const LABEL_CHARS: usize = 24;
const TEXT_CHARS: usize = 96;
/// The class of a message's line, by kind of arrow (the script has the same list).
const ARROW_CLASSES: [&str; 4] = ["m", "m r", "m f", "m r f"];

/// The sequence as SVG: a box and a lifeline per participant, an arrow per message (failures in
/// red, ending in a cross), a box per note. A text cut short has its whole in a `<title>`. The
/// script draws the same from [`SeqData`]; both follow these numbers.
fn diagram(seq: &sequence::Sequence, s: &mut String) {
    let n = seq.participants.len().max(1);
    let width = (n * COL).max(600);
    let height = HEAD + STEP * seq.steps.len() + 12;
    let x = |alias: &str| {
        let k = seq
            .participants
            .iter()
            .position(|(a, _)| a == alias)
            .unwrap_or(0);
        k * COL + COL / 2
    };
    let _ = write!(
        s,
        "<div class=\"scroll\"><svg class=\"seq\" viewBox=\"0 0 {width} {height}\" width=\"{width}\" \
         height=\"{height}\" role=\"img\" aria-label=\"sequence diagram\">"
    );
    for (k, (_, label)) in seq.participants.iter().enumerate() {
        let cx = k * COL + COL / 2;
        let _ = write!(
            s,
            "<rect class=\"pp\" x=\"{}\" y=\"2\" width=\"{}\" height=\"22\" rx=\"3\"/>\
             <line class=\"life\" x1=\"{cx}\" x2=\"{cx}\" y1=\"24\" y2=\"{height}\"/>",
            k * COL + 6,
            COL - 12,
        );
        text(s, "pl", cx, 17, label, LABEL_CHARS);
    }
    for (k, step) in seq.steps.iter().enumerate() {
        let y = HEAD + STEP * k + 16;
        match step {
            Step::Message(m) => {
                let (x1, x2) = (x(&m.from), x(&m.to));
                let class = m.arrow.named(ARROW_CLASSES);
                let _ = write!(
                    s,
                    "<line class=\"{class}\" x1=\"{x1}\" x2=\"{x2}\" y1=\"{y}\" y2=\"{y}\"/>"
                );
                text(s, "mt", x1.min(x2) + 6, y - 4, &m.text, TEXT_CHARS);
            }
            Step::Note { over, text: t } => {
                let left = x(over).saturating_sub(COL / 2);
                let _ = write!(
                    s,
                    "<rect class=\"note\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"18\"/>",
                    left + 4,
                    y - 13,
                    COL * 2,
                );
                text(s, "mt", left + 8, y, t, TEXT_CHARS);
            }
        }
    }
    s.push_str("</svg></div>");
}

/// A text of the diagram, cut to `max` characters, with its whole in a `<title>` when cut.
fn text(s: &mut String, class: &str, x: usize, y: usize, t: &str, max: usize) {
    let short = shorten(t, max);
    let _ = write!(s, "<text class=\"{class}\" x=\"{x}\" y=\"{y}\">");
    if short.len() != t.len() {
        let _ = write!(s, "<title>{}</title>", H(t));
    }
    let _ = write!(s, "{}</text>", H(&short));
}
