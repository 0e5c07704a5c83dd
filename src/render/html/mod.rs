//! `ktrail report`: one self-contained HTML file with the overview, a swimlane of every pod
//! incarnation, the webhook matrix and a story per pod.
//!
//! Everything from the log is untrusted. Every log value is written through [`H`] (HTML text and
//! double-quoted attribute values: `& < > " '` as character references, control and
//! bidirectional characters as visible escapes first); no log value becomes a URL, a style, an
//! element or script. The only links are `#story-N` fragments built from indexes, colours are
//! classes picked by index, and the data the script reads is JSON in a
//! `<script type="application/json">` block ([`json_block`]), which no browser runs. The
//! Content-Security-Policy allows no fetch of any kind and only the report's own style and
//! script, by their SHA-256 hashes.
//!
//! The static parts (overview, swimlane with its tooltips and links, webhook matrix, stories) need
//! no script; the script adds filters, sorting, zooming and opening a story from its bar.

mod lanes;
mod story;
mod swimlane;

use std::collections::BTreeSet;
use std::fmt::{self, Write as _};
use std::io::{self, Write};

use chrono::{DateTime, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};

use ktrail_core::audit::format_time;
use ktrail_core::escape::{escape, is_unsafe};
use ktrail_core::redact::base64_encode;
use ktrail_core::text::opt_duration;
use ktrail_core::timeline::{Pending, Summary};
use ktrail_core::views::pods::{SchedulerLatency, Stats};
use ktrail_core::views::webhooks::{display_name, WebhookReport};

pub use lanes::{Lane, Lanes};

const CSS: &str = include_str!("report.css");
const JS: &str = include_str!("report.js");

/// What the report is made of: a lane of every incarnation, the views over them, and where the
/// stories are derived again as they are written.
pub struct Input<'a> {
    pub lanes: &'a Lanes,
    pub summary: &'a Summary,
    pub latency: &'a [SchedulerLatency],
    pub webhooks: &'a WebhookReport,
    /// The inputs as the user named them (files, samples, log groups).
    pub sources: &'a [String],
    /// At most this many stories; the swimlane and the overview always hold every incarnation.
    pub max_stories: usize,
    /// The records the lanes came from: the stories shown are derived from them a second time.
    pub stories_from: &'a Pending,
}

/// Up to this many stories, each carries its sequence diagram as SVG; beyond, as data the
/// script draws (see `story::Diagrams`), which keeps a report of thousands of pods small.
pub const INLINE_DIAGRAMS: usize = 500;

/// Log text for HTML text and double-quoted attribute values.
pub struct H<'a>(pub &'a str);

impl fmt::Display for H<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = escape(self.0);
        let mut rest: &str = &s;
        while let Some(i) = rest.find(['&', '<', '>', '"', '\'']) {
            f.write_str(&rest[..i])?;
            f.write_str(match rest.as_bytes()[i] {
                b'&' => "&amp;",
                b'<' => "&lt;",
                b'>' => "&gt;",
                b'"' => "&quot;",
                _ => "&#39;",
            })?;
            rest = &rest[i + 1..];
        }
        f.write_str(rest)
    }
}

/// `'sha256-…'`: the CSP source that allows exactly this inline style or script.
pub fn csp_hash(code: &str) -> String {
    format!(
        "'sha256-{}'",
        base64_encode(&Sha256::digest(code.as_bytes()))
    )
}

/// The policy: nothing may be fetched, framed, posted or based elsewhere; only the report's own
/// style and script run.
pub fn content_security_policy() -> String {
    format!(
        "default-src 'none'; style-src {}; script-src {}; base-uri 'none'; form-action 'none'",
        csp_hash(CSS),
        csp_hash(JS)
    )
}

/// JSON that can sit inside a `<script>` element: `<`, `>`, `&` and the line separators U+2028
/// and U+2029 as `\u` escapes, so that no text in it can close the element or start a comment;
/// so are the controls and bidirectional characters `escape::is_unsafe` finds, so that the
/// file's source reads as it is. Compact JSON has these characters only inside strings, where the
/// escapes mean the same.
pub fn json_block<T: Serialize>(value: &T) -> String {
    let s = serde_json::to_string(value).expect("report data serializes");
    let mut out = String::with_capacity(s.len() + 64);
    for c in s.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            // Every unsafe character is in the Basic Multilingual Plane: one escape each.
            c if is_unsafe(c) => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

/// The time the report's axis spans: from the first pod event to the last.
#[derive(Clone, Copy)]
pub struct Span {
    pub t0: DateTime<Utc>,
    pub t1: DateTime<Utc>,
}

impl Span {
    fn of(lanes: &[Lane]) -> Option<Span> {
        let t0 = lanes.iter().filter_map(Lane::start).min()?;
        let t1 = lanes.iter().filter_map(Lane::last).max()?;
        Some(Span { t0, t1 })
    }

    /// Milliseconds from the start of the axis.
    pub fn ms(&self, t: DateTime<Utc>) -> i64 {
        (t - self.t0).num_milliseconds()
    }

    /// The axis's length in milliseconds (at least one).
    pub fn len_ms(&self) -> i64 {
        self.ms(self.t1).max(1)
    }
}

/// Which stories the report holds, by pod index: every pod's when they fit, otherwise the slowest
/// to become Ready (half the room), then the pods a webhook mutated, then the slowest of the rest.
/// Returns the indexes (in report order) and how many were picked as slowest and as mutated.
pub fn pick_stories(pods: &[Lane], max: usize) -> Picked {
    if pods.len() <= max {
        return Picked {
            stories: (0..pods.len()).collect(),
            slowest: 0,
            mutated: 0,
        };
    }
    let latency = |p: &Lane| {
        let l = p.latencies();
        l.created_to_ready.or(l.created_to_bound)
    };
    let mut by_slowness: Vec<usize> = (0..pods.len()).collect();
    by_slowness.sort_by(|&a, &b| match (latency(&pods[a]), latency(&pods[b])) {
        (Some(x), Some(y)) => y.total_cmp(&x),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => std::cmp::Ordering::Equal,
    });
    let mut chosen = BTreeSet::new();
    let half = max / 2;
    chosen.extend(
        by_slowness
            .iter()
            .copied()
            .take_while(|&i| latency(&pods[i]).is_some())
            .take(half),
    );
    let slowest = chosen.len();
    for (i, p) in pods.iter().enumerate() {
        if chosen.len() >= max {
            break;
        }
        if p.webhook_mutated() {
            chosen.insert(i);
        }
    }
    let mutated = chosen.len() - slowest;
    for i in by_slowness {
        if chosen.len() >= max {
            break;
        }
        chosen.insert(i);
    }
    Picked {
        stories: chosen.into_iter().collect(),
        slowest,
        mutated,
    }
}

pub struct Picked {
    /// Pod indexes, ascending.
    pub stories: Vec<usize>,
    pub slowest: usize,
    pub mutated: usize,
}

/// Writes the whole report.
pub fn render(input: &Input, w: &mut dyn Write) -> io::Result<()> {
    let lanes = input.lanes;
    let picked = pick_stories(&lanes.lanes, input.max_stories);
    let mut has_story = vec![false; lanes.len()];
    for &i in &picked.stories {
        has_story[i] = true;
    }
    let span = Span::of(&lanes.lanes);
    let facets = swimlane::Facets::of(lanes);

    write!(
        w,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"{}\">\n\
         <meta name=\"referrer\" content=\"no-referrer\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"generator\" content=\"ktrail {}\">\n\
         <title>ktrail report</title>\n<style>{CSS}</style>\n</head>\n<body>\n",
        content_security_policy(),
        env!("CARGO_PKG_VERSION"),
    )?;
    swimlane::markers(w)?;
    writeln!(
        w,
        "<header><h1>ktrail report</h1><nav><a href=\"#overview\">Overview</a> \
         <a href=\"#pods\">Pods</a> <a href=\"#webhooks\">Webhooks</a> \
         <a href=\"#stories\">Stories</a></nav></header>\n<main>"
    )?;
    overview(input, span, w)?;
    let lane_view = swimlane::Swimlane {
        lanes,
        span,
        facets: &facets,
        has_story: &has_story,
    };
    swimlane::render(lane_view, w)?;
    webhooks(input.webhooks, lanes, w)?;
    // The data and the script come before the stories: the overview and the swimlane are
    // usable while the browser still parses the stories, most of a big report.
    write!(w, "<script type=\"application/json\" id=\"ktrail-data\">")?;
    swimlane::data(lane_view, w)?;
    writeln!(w, "</script>")?;
    writeln!(w, "<script>{JS}</script>")?;
    let mut diagrams = if picked.stories.len() <= INLINE_DIAGRAMS {
        story::Diagrams::Inline
    } else {
        story::Diagrams::Data(story::SeqData::default())
    };
    stories(lanes.len(), input.stories_from, &picked, &mut diagrams, w)?;
    writeln!(
        w,
        "</main>\n<footer>Made by ktrail {} from an audit log: every name and value in it is \
         the log's, shown as text.</footer>",
        env!("CARGO_PKG_VERSION")
    )?;
    if let story::Diagrams::Data(seq) = &diagrams {
        writeln!(
            w,
            "<script type=\"application/json\" id=\"ktrail-seq\">{}</script>",
            json_block(seq)
        )?;
    }
    writeln!(w, "</body>\n</html>")
}

fn overview(input: &Input, span: Option<Span>, w: &mut dyn Write) -> io::Result<()> {
    let lanes = &input.lanes.lanes;
    let summary = input.summary;
    let live = lanes.iter().filter(|p| !p.denied);
    let names = live
        .clone()
        .map(|p| (p.namespace, &*p.name))
        .collect::<BTreeSet<_>>()
        .len();
    let incarnations = live.count();
    let denied = lanes.iter().filter(|p| p.denied).count();
    let failed_open: u64 = input.webhooks.webhooks.iter().map(|r| r.failed_open).sum();
    let mutated = lanes
        .iter()
        .filter(|p| p.webhook_mutated() || p.builtin_changed)
        .count();
    writeln!(
        w,
        "<section id=\"overview\"><h2>Overview</h2><dl class=\"facts\">"
    )?;
    match span {
        Some(s) => writeln!(
            w,
            "<dt>time range</dt><dd>{} → {} ({})</dd>",
            format_time(&s.t0),
            format_time(&s.t1),
            opt_duration(Some(s.len_ms() as f64 / 1000.0))
        )?,
        None => writeln!(w, "<dt>time range</dt><dd>no pod events</dd>")?,
    }
    write!(w, "<dt>sources</dt><dd>")?;
    for (i, s) in input.sources.iter().enumerate() {
        if i > 0 {
            write!(w, ", ")?;
        }
        write!(w, "<code>{}</code>", H(s))?;
    }
    writeln!(w, "</dd>")?;
    writeln!(
        w,
        "<dt>pods</dt><dd id=\"count-pods\">{names}</dd>\
         <dt>incarnations</dt><dd id=\"count-incarnations\">{incarnations}</dd>\
         <dt>denied creates</dt><dd id=\"count-denied\">{denied}</dd>\
         <dt>mutated</dt><dd>{mutated} incarnations changed by a webhook or built-in admission</dd>\
         <dt>failed-open calls</dt><dd id=\"count-failed-open\">{failed_open}</dd>\
         <dt>bad lines</dt><dd id=\"count-bad-lines\">{} of {} lines read</dd>",
        summary.lines_skipped, summary.lines_read
    )?;
    writeln!(w, "</dl>")?;
    writeln!(
        w,
        "<h3>Latency per scheduler</h3><table class=\"num\"><thead><tr><th rowspan=\"2\">scheduler</th>\
         <th rowspan=\"2\">pods</th><th colspan=\"5\">created → bound</th>\
         <th colspan=\"5\">created → ready</th></tr><tr><th>n</th><th>p50</th><th>p90</th>\
         <th>p99</th><th>max</th><th>n</th><th>p50</th><th>p90</th><th>p99</th><th>max</th>\
         </tr></thead><tbody>"
    )?;
    for l in input.latency {
        write!(
            w,
            "<tr><th>{}</th><td>{}</td>",
            H(l.scheduler.as_deref().unwrap_or("(unknown)")),
            l.pods
        )?;
        stats(&l.created_to_bound, w)?;
        stats(&l.created_to_ready, w)?;
        writeln!(w, "</tr>")?;
    }
    writeln!(w, "</tbody></table></section>")
}

fn stats(s: &Stats, w: &mut dyn Write) -> io::Result<()> {
    write!(
        w,
        "<td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>",
        s.count,
        opt_duration(s.p50),
        opt_duration(s.p90),
        opt_duration(s.p99),
        opt_duration(s.max)
    )
}

fn webhooks(view: &WebhookReport, lanes: &Lanes, w: &mut dyn Write) -> io::Result<()> {
    writeln!(w, "<section id=\"webhooks\"><h2>Webhooks</h2>")?;
    if view.webhooks.is_empty() {
        return writeln!(
            w,
            "<p>No webhook call or webhook configuration in the log.</p></section>"
        );
    }
    writeln!(
        w,
        "<table class=\"webhooks\"><thead><tr><th>#</th><th>webhook</th><th>type</th>\
         <th>calls</th><th>pods mutated</th><th>failed open</th><th>reinvocations</th>\
         <th>installed</th></tr></thead><tbody>"
    )?;
    for (k, row) in view.webhooks.iter().enumerate() {
        write!(
            w,
            "<tr class=\"webhook\"><td>W{}</td><th>{}</th><td>{}</td><td>{}</td><td>{}</td>\
             <td>{}</td><td>{}</td><td>",
            k + 1,
            H(&display_name(row)),
            H(row.kind),
            row.calls,
            row.mutated_pods,
            row.failed_open,
            lanes.reinvocations(row),
        )?;
        if row.installed.is_empty() {
            write!(w, "before the log")?;
        }
        for (j, i) in row.installed.iter().enumerate() {
            if j > 0 {
                write!(w, "<br>")?;
            }
            write!(w, "{} by {} at {}", H(&i.verb), H(&i.user), H(&i.time))?;
        }
        writeln!(w, "</td></tr>")?;
    }
    writeln!(w, "</tbody></table>")?;
    let paths: BTreeSet<&str> = view
        .webhooks
        .iter()
        .flat_map(|r| r.paths.keys().map(String::as_str))
        .collect();
    if paths.is_empty() {
        return writeln!(w, "<p>No patched path was logged.</p></section>");
    }
    writeln!(
        w,
        "<h3>Paths patched</h3><p class=\"note\">Pod incarnations each webhook (W1, W2, … as \
         numbered above) patched each path on.</p><div class=\"scroll\"><table class=\"matrix num\">\
         <thead><tr><th>path</th>"
    )?;
    for (k, row) in view.webhooks.iter().enumerate() {
        write!(w, "<th title=\"{}\">W{}</th>", H(&display_name(row)), k + 1)?;
    }
    writeln!(w, "</tr></thead><tbody>")?;
    for p in paths {
        write!(w, "<tr><th><code>{}</code></th>", H(p))?;
        for row in &view.webhooks {
            match row.paths.get(p) {
                Some(n) => write!(w, "<td class=\"hit\">{n}</td>")?,
                None => write!(w, "<td></td>")?,
            }
        }
        writeln!(w, "</tr>")?;
    }
    writeln!(w, "</tbody></table></div></section>")
}

/// The stories picked, derived again from `pending` (in the lanes' order, `count` of them).
fn stories(
    count: usize,
    pending: &Pending,
    picked: &Picked,
    diagrams: &mut story::Diagrams,
    w: &mut dyn Write,
) -> io::Result<()> {
    writeln!(w, "<section id=\"stories\"><h2>Stories</h2>")?;
    let left_out = count - picked.stories.len();
    if left_out == 0 {
        writeln!(
            w,
            "<p class=\"note\">One story per incarnation ({}). Click a bar to open its story.</p>",
            count
        )?;
    } else {
        writeln!(
            w,
            "<p class=\"note\" id=\"left-out\">Stories of {} of {} incarnations: the {} slowest to \
             become Ready, {} mutated by a webhook, and the slowest of the rest. The stories of \
             the other {left_out} are left out (their bars are in the swimlane; \
             <code>ktrail timeline NAMESPACE/NAME</code> tells any of them).</p>",
            picked.stories.len(),
            count,
            picked.slowest,
            picked.mutated,
        )?;
    }
    let mut want = picked.stories.iter().copied().peekable();
    let mut i = 0;
    pending.stream(
        |group| group,
        |group| -> io::Result<()> {
            for pod in group {
                if want.next_if_eq(&i).is_some() {
                    story::render(i, &pod, diagrams, w)?;
                }
                i += 1;
            }
            Ok(())
        },
    )?;
    writeln!(w, "</section>")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_text_cannot_become_markup() {
        let s = H("<script>x</script>\"onmouseover='a' &amp; \u{202e}\u{1b}").to_string();
        assert_eq!(
            s,
            "&lt;script&gt;x&lt;/script&gt;&quot;onmouseover=&#39;a&#39; &amp;amp; \\u{202e}\\u{1b}"
        );
    }

    #[test]
    fn json_cannot_close_its_script_element() {
        let values = [
            "</script><!--",
            "a&b",
            "\u{2028}\u{2029}",
            "\u{202e}x\u{1b}",
        ];
        let s = json_block(&values);
        assert!(!s.contains(['<', '>', '&']), "{s}");
        assert!(!s.chars().any(is_unsafe), "{s}");
        let back: Vec<String> = serde_json::from_str(&s).unwrap();
        assert_eq!(back, values);
    }

    #[test]
    fn base64_of_known_digests() {
        assert_eq!(base64_encode(b""), "");
        assert_eq!(base64_encode(b"f"), "Zg==");
        assert_eq!(base64_encode(b"fo"), "Zm8=");
        assert_eq!(base64_encode(b"foo"), "Zm9v");
        // The CSP hash of an empty script, as browsers compute it.
        assert_eq!(
            csp_hash(""),
            "'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='"
        );
    }
}
