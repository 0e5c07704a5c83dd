//! One raw input line (or document) to the audit events it carries.
//!
//! Audit events reach ktrail bare (v1 or v1beta1, with or without `apiVersion`) or in the wrappers
//! of `wrapper` (`EventList` batches, CloudWatch exports). Everything is unwrapped here, by that
//! grammar, so the rest of ktrail sees only `Event`s.

use std::fmt;

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::audit::{self, Event};
use crate::formats;
use crate::wrapper::{self, Holds, Wrapper, MAX_NESTING};

/// Why a line was skipped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// CloudWatch cut an event over 256 KB and appended `[Truncated...]`.
    Truncated {
        audit_id: Option<String>,
    },
    InvalidUtf8,
    NotJson(String),
    NotAuditEvent(String),
    TooLong {
        limit: usize,
    },
    /// A pod event whose content cannot be used (e.g. no time at all).
    Unusable(String),
    /// The compressed stream ends early or breaks near this byte of the compressed input; what was
    /// decoded before it counts, the rest of the input is unreadable.
    Damaged {
        offset: u64,
        reason: String,
    },
    /// Some items of a batch (EventList, array, CloudWatch export) were bad; the others were read.
    Items {
        /// What the wrapper grammar calls one item: [`wrapper::ARRAY_ITEM`], or the `item` or
        /// `row` of a [`Holds`].
        what: &'static str,
        /// The first bad item (0-based) and what was wrong with it.
        index: usize,
        problem: Box<Problem>,
        /// How many items were bad, of how many.
        bad: usize,
        of: usize,
    },
}

impl Problem {
    /// What is wrong, without saying what was done about it.
    fn reason(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::Truncated { audit_id: Some(id) } => {
                write!(
                    f,
                    "event {id} was truncated by CloudWatch Logs (over 256 KB)"
                )
            }
            Problem::Truncated { audit_id: None } => {
                write!(f, "event was truncated by CloudWatch Logs (over 256 KB)")
            }
            Problem::InvalidUtf8 => write!(f, "invalid UTF-8"),
            Problem::NotJson(e) => write!(f, "not JSON ({e})"),
            Problem::NotAuditEvent(what) => write!(f, "not an audit event ({what})"),
            Problem::TooLong { limit } => write!(f, "line longer than {} MiB", limit >> 20),
            Problem::Unusable(why) => write!(f, "{why}"),
            Problem::Damaged { offset, reason } => {
                write!(
                    f,
                    "compressed data ends or breaks near byte {offset} ({reason})"
                )
            }
            Problem::Items {
                what,
                index,
                problem,
                ..
            } => {
                write!(f, "{what} {index}: ")?;
                problem.reason(f)
            }
        }
    }
}

impl Problem {
    /// What is wrong, without what was done about it (`; skipped`).
    pub fn reason_text(&self) -> String {
        struct Reason<'a>(&'a Problem);
        impl fmt::Display for Reason<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.reason(f)
            }
        }
        Reason(self).to_string()
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.reason(f)?;
        match self {
            Problem::Items { bad, of, .. } => write!(f, "; {bad} of {of} items skipped"),
            Problem::Damaged { .. } => {
                f.write_str("; the events before it are read, the rest is lost")
            }
            _ => f.write_str("; skipped"),
        }
    }
}

/// What one line gave: how many events went to the sink, and what was wrong with (part of) it.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    pub events: usize,
    pub problem: Option<Problem>,
}

impl Outcome {
    fn problem(p: Problem) -> Self {
        Outcome {
            events: 0,
            problem: Some(p),
        }
    }
}

const TRUNCATED: &[u8] = b"[Truncated...]";

/// Trims whitespace and a CR at both ends.
pub fn trim(line: &[u8]) -> &[u8] {
    let start = line
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(line.len());
    let end = line
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(start, |e| e + 1);
    &line[start..end]
}

/// Decodes one line, calling `sink` for every audit event in it. Blank lines give an empty outcome.
pub fn decode_line(line: &[u8], sink: &mut dyn FnMut(&Event<'_>)) -> Outcome {
    decode_nested(formats::cwexport::strip(trim(line)), sink, 0)
}

fn decode_nested(line: &[u8], sink: &mut dyn FnMut(&Event<'_>), depth: u8) -> Outcome {
    if line.is_empty() {
        return Outcome::default();
    }
    if line.ends_with(TRUNCATED) {
        return Outcome::problem(Problem::Truncated {
            audit_id: audit::string_field(line, b"\"auditID\":\"")
                .or_else(|| audit::string_field(line, b"\\\"auditID\\\":\\\"")),
        });
    }
    if line[0] == b'[' {
        if depth >= MAX_NESTING {
            // Without this, `[[[…]]]` thousands deep would recurse once per bracket.
            return Outcome::problem(Problem::NotAuditEvent(wrapper::TOO_DEEP.into()));
        }
        return match serde_json::from_slice::<Vec<&RawValue>>(line) {
            Ok(items) => decode_items(&items, sink, depth, wrapper::ARRAY_ITEM),
            Err(e) => Outcome::problem(json_problem(line, &e)),
        };
    }
    if depth == 0 {
        if let Some(record) = formats::firehose::read(line) {
            return decode_subscription(record, sink, depth);
        }
    }
    let ev: Event = match serde_json::from_slice(line) {
        Ok(ev) => ev,
        Err(e) => return Outcome::problem(json_problem(line, &e)),
    };
    if ev.is_audit_event() {
        sink(&ev);
        return Outcome {
            events: 1,
            problem: None,
        };
    }
    if depth >= MAX_NESTING {
        return Outcome::problem(Problem::NotAuditEvent(wrapper::TOO_DEEP.into()));
    }
    // The first wrapper key present is the one read, even when its value has the wrong shape.
    for w in Wrapper::ALL {
        match w.holds() {
            Holds::Line => {
                if let Some(msg) = text_at(&ev, w) {
                    return decode_nested(trim(msg.as_bytes()), sink, depth + 1);
                }
            }
            Holds::Items { item } => {
                if let Some(raw) = json_at(&ev, w) {
                    return match serde_json::from_str::<Vec<&RawValue>>(raw.get()) {
                        Ok(items) => decode_items(&items, sink, depth, item),
                        Err(_) => Outcome::problem(Problem::NotAuditEvent(w.malformed())),
                    };
                }
            }
            Holds::Rows { row } => {
                if let Some(raw) = json_at(&ev, w) {
                    return decode_rows(w, row, raw, sink, depth);
                }
            }
        }
    }
    Outcome::problem(Problem::NotAuditEvent(describe(&ev)))
}

/// The value of a wrapper key that holds a line. `Event` reads these keys leniently: a value that
/// is not a string reads as absent.
fn text_at<'e>(ev: &'e Event<'_>, w: Wrapper) -> Option<&'e str> {
    match w {
        Wrapper::Message => ev.message.as_deref(),
        Wrapper::AtMessage => ev.at_message.as_deref(),
        Wrapper::EventList | Wrapper::Events | Wrapper::Results => None,
    }
}

/// The value of a wrapper key that holds JSON to walk (items or rows), whatever its type; `null`
/// reads as absent.
fn json_at<'e>(ev: &'e Event<'_>, w: Wrapper) -> Option<&'e RawValue> {
    match w {
        Wrapper::EventList => ev.items,
        Wrapper::Events => ev.events,
        Wrapper::Results => ev.results,
        Wrapper::Message | Wrapper::AtMessage => None,
    }
}

fn describe(ev: &Event<'_>) -> String {
    match (&ev.kind, &ev.audit_id) {
        (Some(k), _) if k != "Event" => format!("kind {k}"),
        (_, None) => "no auditID".into(),
        _ => "no verb or stage".into(),
    }
}

fn decode_items(
    items: &[&RawValue],
    sink: &mut dyn FnMut(&Event<'_>),
    depth: u8,
    what: &'static str,
) -> Outcome {
    let mut out = Outcome::default();
    let mut bad = 0usize;
    let mut first_bad = None;
    for (i, item) in items.iter().enumerate() {
        let o = decode_nested(trim(item.get().as_bytes()), sink, depth + 1);
        out.events += o.events;
        if let Some(p) = o.problem {
            bad += 1;
            first_bad.get_or_insert((i, p));
        }
    }
    if let Some((index, p)) = first_bad {
        out.problem = Some(Problem::Items {
            what,
            index,
            problem: Box::new(p),
            bad,
            of: items.len(),
        });
    }
    out
}

/// A CloudWatch Logs subscription record (`formats::firehose`): its messages, each a line.
fn decode_subscription(
    record: formats::firehose::Content<'_>,
    sink: &mut dyn FnMut(&Event<'_>),
    depth: u8,
) -> Outcome {
    use formats::firehose::Content;
    let messages = match record {
        Content::Messages(m) => m,
        Content::Nothing => return Outcome::default(),
        Content::Bad(why) => return Outcome::problem(Problem::NotAuditEvent(why)),
    };
    let mut out = Outcome::default();
    let mut bad = 0usize;
    let mut first_bad = None;
    for (i, m) in messages.iter().enumerate() {
        let o = decode_nested(trim(m.as_bytes()), sink, depth + 1);
        out.events += o.events;
        if let Some(p) = o.problem {
            bad += 1;
            first_bad.get_or_insert((i, p));
        }
    }
    if let Some((index, p)) = first_bad {
        out.problem = Some(Problem::Items {
            what: formats::firehose::LOG_EVENT,
            index,
            problem: Box::new(p),
            bad,
            of: messages.len(),
        });
    }
    out
}

#[derive(Deserialize)]
struct Field<'a> {
    #[serde(borrow)]
    field: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    value: Option<std::borrow::Cow<'a, str>>,
}

/// Logs Insights rows (see [`Holds::Rows`]): the first [`wrapper::ROW_MESSAGE`] field of each.
fn decode_rows(
    w: Wrapper,
    what: &'static str,
    rows: &RawValue,
    sink: &mut dyn FnMut(&Event<'_>),
    depth: u8,
) -> Outcome {
    let Ok(rows) = serde_json::from_str::<Vec<Vec<Field>>>(rows.get()) else {
        return Outcome::problem(Problem::NotAuditEvent(w.malformed()));
    };
    let mut out = Outcome::default();
    let mut bad = 0usize;
    let mut first_bad = None;
    for (i, row) in rows.iter().enumerate() {
        let msg = row
            .iter()
            .find(|f| f.field == wrapper::ROW_MESSAGE)
            .and_then(|f| f.value.as_deref());
        let o = match msg {
            Some(m) => decode_nested(trim(m.as_bytes()), sink, depth + 1),
            None => Outcome::problem(Problem::NotAuditEvent(wrapper::no_row_message())),
        };
        out.events += o.events;
        if let Some(p) = o.problem {
            bad += 1;
            first_bad.get_or_insert((i, p));
        }
    }
    if let Some((index, p)) = first_bad {
        out.problem = Some(Problem::Items {
            what,
            index,
            problem: Box::new(p),
            bad,
            of: rows.len(),
        });
    }
    out
}

fn json_problem(line: &[u8], e: &serde_json::Error) -> Problem {
    if std::str::from_utf8(line).is_err() {
        return Problem::InvalidUtf8;
    }
    if e.is_data() {
        // Valid JSON of the wrong shape: a number, a string, or an object with a field of the
        // wrong type. serde_json reports type errors only after the value was read whole.
        let what = match line.first() {
            Some(b'"') => "a string".to_owned(),
            Some(b't' | b'f') => "a boolean".to_owned(),
            Some(b'n') => "null".to_owned(),
            Some(b'-' | b'0'..=b'9') => "a number".to_owned(),
            _ => strip_position(&e.to_string()),
        };
        return Problem::NotAuditEvent(what);
    }
    let msg = strip_position(&e.to_string());
    if e.is_eof() {
        return Problem::NotJson(format!("cut short: {msg}"));
    }
    Problem::NotJson(msg)
}

/// serde_json says `at line 1 column 40`; a line has one line, so only the column is kept.
fn strip_position(msg: &str) -> String {
    match msg.rsplit_once(" at line ") {
        Some((head, pos)) => match pos.split_once(" column ") {
            Some((_, col)) => format!("{head} at column {col}"),
            None => head.to_owned(),
        },
        None => msg.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(line: &str) -> (Vec<String>, Option<Problem>) {
        let mut got = Vec::new();
        let o = decode_line(line.as_bytes(), &mut |e| {
            got.push(e.audit_id.as_deref().unwrap_or("").to_owned())
        });
        assert_eq!(o.events, got.len());
        (got, o.problem)
    }

    const EV: &str = r#"{"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"a1","stage":"ResponseComplete","verb":"create"}"#;

    #[test]
    fn plain_event_with_crlf() {
        assert_eq!(ids(&format!("{EV}\r\n")), (vec!["a1".into()], None));
        assert_eq!(ids("   \r\n"), (vec![], None));
    }

    #[test]
    fn event_list_and_cloudwatch_wrappers() {
        let list =
            format!(r#"{{"kind":"EventList","apiVersion":"audit.k8s.io/v1","items":[{EV},{EV}]}}"#);
        assert_eq!(ids(&list).0.len(), 2);
        let msg = serde_json::to_string(EV).unwrap();
        assert_eq!(ids(&format!(r#"{{"message":{msg}}}"#)).0, vec!["a1"]);
        assert_eq!(
            ids(&format!(r#"{{"@timestamp":"1","@message":{msg}}}"#)).0,
            vec!["a1"]
        );
        let fle = format!(
            r#"{{"events":[{{"logStreamName":"kube-apiserver-audit-1","timestamp":1,"message":{msg}}}],"searchedLogStreams":[]}}"#
        );
        assert_eq!(ids(&fle).0, vec!["a1"]);
        let gqr = format!(
            r#"{{"results":[[{{"field":"@timestamp","value":"x"}},{{"field":"@message","value":{msg}}}]],"status":"Complete"}}"#
        );
        assert_eq!(ids(&gqr).0, vec!["a1"]);
        assert_eq!(ids(&format!("[{EV}, {{\"message\":{msg}}}]")).0.len(), 2);
    }

    #[test]
    fn damaged_lines_say_why() {
        let (_, p) = ids(
            r#"{"kind":"Event","auditID":"abc-1","stage":"ResponseComplete","verb":"create","requestObject":{"x":"#,
        );
        assert!(
            matches!(p, Some(Problem::NotJson(ref m)) if m.starts_with("cut short")),
            "{p:?}"
        );
        let (_, p) = ids(r#"{"kind":"Event","auditID":"abc-1","stage":"Resp[Truncated...]"#);
        assert_eq!(
            p,
            Some(Problem::Truncated {
                audit_id: Some("abc-1".into())
            })
        );
        let (_, p) = ids("I0920 20:17:17.328703 1 httplog.go:131] GET /healthz");
        assert!(matches!(p, Some(Problem::NotJson(_))));
        let (_, p) = ids(r#"{"kind":"Pod","metadata":{}}"#);
        assert_eq!(p, Some(Problem::NotAuditEvent("kind Pod".into())));
        for (line, what) in [
            ("42", "a number"),
            ("-1.5e3", "a number"),
            ("\"text\"", "a string"),
            ("null", "null"),
            ("false", "a boolean"),
        ] {
            assert_eq!(
                ids(line).1,
                Some(Problem::NotAuditEvent(what.into())),
                "{line}"
            );
        }
        let (_, p) = ids(r#"{"auditID":"x","verb":"get","user":7}"#);
        assert!(
            matches!(p, Some(Problem::NotAuditEvent(ref m)) if m.starts_with("invalid type: integer `7`")),
            "{p:?}"
        );
        let mut bad = b"{\"auditID\":\"x\xff\",\"verb\":\"get\"}".to_vec();
        let o = decode_line(&bad, &mut |_| {});
        assert_eq!(o.problem, Some(Problem::InvalidUtf8));
        bad.clear();
        let deep = "[".repeat(100_000);
        let o = decode_line(deep.as_bytes(), &mut |_| {});
        assert!(matches!(o.problem, Some(Problem::NotJson(_))));
        // Balanced brackets parse as lists of raw values; each level must not cost a recursion.
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        let o = decode_line(deep.as_bytes(), &mut |_| {});
        assert_eq!(
            o.problem.map(|p| p.to_string()).as_deref(),
            Some("array element 0: array element 0: array element 0: not an audit event (wrapped too deep); 1 of 1 items skipped")
        );
        // Deep nesting in a field ktrail ignores is skipped without recursion; either way a problem.
        let deep = format!("{}1{}", r#"{"a":"#.repeat(50_000), "}".repeat(50_000));
        let o = decode_line(deep.as_bytes(), &mut |_| {});
        assert!(o.problem.is_some());
        // A deep body is kept raw (never recursed into here); the event itself still counts.
        let deep = format!(
            r#"{{"auditID":"x","verb":"get","requestObject":{}1{}}}"#,
            "[".repeat(50_000),
            "]".repeat(50_000)
        );
        let o = decode_line(deep.as_bytes(), &mut |_| {});
        assert_eq!(o.events, 1, "{o:?}");
    }

    #[test]
    fn event_list_with_a_bad_item_keeps_the_good_ones() {
        let list = format!(r#"{{"kind":"EventList","items":[{EV},{{"kind":"Pod"}},7]}}"#);
        let (got, p) = ids(&list);
        assert_eq!(got, vec!["a1"]);
        let p = p.expect("a problem");
        assert_eq!(
            p.to_string(),
            "EventList item 1: not an audit event (kind Pod); 2 of 3 items skipped"
        );
        let (got, p) = ids(&format!("[{EV},[]]"));
        assert_eq!(got, vec!["a1"]);
        assert!(
            p.is_none(),
            "an empty list inside a list is nothing to read: {p:?}"
        );
    }
}
