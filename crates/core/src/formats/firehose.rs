//! Records of a CloudWatch Logs subscription filter, as Kinesis Data Firehose delivers them.
//!
//! A subscription hands Firehose one JSON record per batch:
//! `{"messageType":"DATA_MESSAGE","owner":…,"logGroup":…,"logStream":…,"subscriptionFilters":[…],
//! "logEvents":[{"id":…,"timestamp":…,"message":"<the audit event as text>"}]}`, or a
//! `CONTROL_MESSAGE` when CloudWatch checks that the destination is reachable. How they land in S3
//! depends on the stream's options: gzip members back to back (no decompression; the scan's
//! decompressor reads them as one stream and [`super::documents`] splits the records), one record
//! per line (decompression on), or the messages alone (message extraction on; plain audit events,
//! nothing to do here).
//!
//! [`read`] reads one record: control messages give nothing, a data message of a stream other
//! than an audit stream gives nothing, and every `logEvents` message is decoded as a line of its
//! own.

use std::borrow::Cow;

use serde::Deserialize;

/// What diagnostics call one element of `logEvents`.
pub const LOG_EVENT: &str = "logEvents item";

#[derive(Deserialize)]
struct Record<'a> {
    #[serde(rename = "messageType", borrow)]
    message_type: Cow<'a, str>,
    #[serde(rename = "logStream", default, borrow)]
    log_stream: Option<Cow<'a, str>>,
    #[serde(rename = "logEvents", default, borrow)]
    log_events: Vec<LogEvent<'a>>,
}

#[derive(Deserialize)]
struct LogEvent<'a> {
    #[serde(borrow)]
    message: Cow<'a, str>,
}

/// Whether a trimmed line is a subscription record: an object whose first key is `messageType`,
/// as CloudWatch Logs writes them.
pub fn is_record(line: &[u8]) -> bool {
    let Some(rest) = line.strip_prefix(b"{") else {
        return false;
    };
    let start = rest
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(rest.len());
    rest[start..].starts_with(b"\"messageType\"")
}

/// What a subscription record holds for ktrail.
#[derive(Debug, PartialEq, Eq)]
pub enum Content<'a> {
    /// The messages of a `DATA_MESSAGE` from an audit stream (or one that names no stream), each a
    /// line of its own.
    Messages(Vec<Cow<'a, str>>),
    /// A `CONTROL_MESSAGE`, or a data message of another stream: nothing to read.
    Nothing,
    /// A record that cannot be read, and why.
    Bad(String),
}

/// Reads one subscription record; `None` when `line` (trimmed) is not one (see [`is_record`]).
pub fn read(line: &[u8]) -> Option<Content<'_>> {
    if !is_record(line) {
        return None;
    }
    let rec: Record = match serde_json::from_slice(line) {
        Ok(r) => r,
        Err(e) => {
            return Some(Content::Bad(format!(
                "a subscription record that cannot be read: {}",
                first_line(&e.to_string())
            )))
        }
    };
    if rec.message_type != "DATA_MESSAGE"
        || rec
            .log_stream
            .as_deref()
            .is_some_and(|s| !super::is_audit_stream(s))
    {
        return Some(Content::Nothing);
    }
    Some(Content::Messages(
        rec.log_events.into_iter().map(|e| e.message).collect(),
    ))
}

fn first_line(s: &str) -> &str {
    s.split(" at line ").next().unwrap_or(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(line: &str) -> Option<Content<'_>> {
        read(line.as_bytes())
    }

    #[test]
    fn data_messages_of_audit_streams_are_read() {
        let rec = r#"{"messageType":"DATA_MESSAGE","owner":"1","logGroup":"/aws/eks/c/cluster","logStream":"kube-apiserver-audit-1","subscriptionFilters":["f"],"logEvents":[{"id":"1","timestamp":1,"message":"{\"a\":1}"},{"id":"2","timestamp":2,"message":"oops"}]}"#;
        assert_eq!(
            run(rec),
            Some(Content::Messages(vec!["{\"a\":1}".into(), "oops".into()]))
        );
    }

    #[test]
    fn control_messages_and_other_streams_give_nothing() {
        let control = r#"{"messageType":"CONTROL_MESSAGE","owner":"CloudwatchLogs","logGroup":"","logStream":"","subscriptionFilters":[],"logEvents":[{"id":"","timestamp":1,"message":"CWL CONTROL MESSAGE: Checking health of destination Firehose."}]}"#;
        assert_eq!(run(control), Some(Content::Nothing));
        let other = r#"{"messageType":"DATA_MESSAGE","logStream":"authenticator-1","logEvents":[{"id":"1","timestamp":1,"message":"{}"}]}"#;
        assert_eq!(run(other), Some(Content::Nothing));
        assert_eq!(run(r#"{"kind":"Event"}"#), None);
        assert!(matches!(run(r#"{"messageType":1}"#), Some(Content::Bad(_))));
    }
}
