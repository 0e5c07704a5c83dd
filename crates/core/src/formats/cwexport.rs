//! CloudWatch Logs exports to S3 (`aws logs create-export-task`).
//!
//! Every line is `<RFC 3339 time> <message>`: the event's ingestion timestamp, one space, then the
//! message as it was logged. [`strip`] drops the time so that the message goes through the line
//! rule as if it stood alone; it runs on every line, so it decides on the first byte for any line
//! that does not start with a digit.
//!
//! The tree an export writes is `<prefix>/exportedlogs/<task id>/<log stream>/000000.gz` (then
//! `000001.gz`, …), with an `aws-logs-write-test` object that CloudWatch writes at the prefix to
//! check its permissions. An EKS log group exports the API server's own log, the authenticator's
//! and the controllers' streams beside the audit ones: [`keep`] says which files of such a tree
//! are read.

use super::is_audit_stream;

/// The object CloudWatch Logs writes to test that it may write to the bucket.
pub const WRITE_TEST: &str = "aws-logs-write-test";

/// The message of a `<RFC 3339 time> <message>` line whose message is JSON (starts with `{` or
/// `[`); any other line is returned as it is. `line` is trimmed.
pub fn strip(line: &[u8]) -> &[u8] {
    if !line.first().is_some_and(u8::is_ascii_digit) {
        return line;
    }
    strip_time(line).unwrap_or(line)
}

fn strip_time(line: &[u8]) -> Option<&[u8]> {
    // `2024-05-01T10:00:00.123Z`, `…+00:00`, with or without fractions: digits and the
    // separators of a date and time, up to the first space.
    let head = line.get(..19)?;
    let digits = [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18];
    if !digits.iter().all(|&i| head[i].is_ascii_digit())
        || head[4] != b'-'
        || head[7] != b'-'
        || !matches!(head[10], b'T' | b't' | b' ')
        || head[13] != b':'
        || head[16] != b':'
    {
        return None;
    }
    let rest = &line[19..];
    let sp = rest.iter().take(24).position(|&b| b == b' ')?;
    if !rest[..sp]
        .iter()
        .all(|b| matches!(b, b'0'..=b'9' | b'.' | b'Z' | b'z' | b'+' | b'-' | b':'))
    {
        return None;
    }
    let msg = &rest[sp + 1..];
    let start = msg.iter().position(|b| !b.is_ascii_whitespace())?;
    matches!(msg[start], b'{' | b'[').then_some(&msg[start..])
}

/// Whether a file of a tree (its path, `/`-separated, relative to where the walk started or to
/// the S3 prefix) is read. A file named by itself is always read; this only thins trees.
///
/// `aws-logs-write-test` is never read. An export chunk (`NNNNNN.gz`, six digits) is read only
/// when the directory it is in, its log stream, is an audit stream. Every other file is read.
pub fn keep(path: &str) -> bool {
    let mut parts = path.rsplit('/');
    let name = parts.next().unwrap_or("");
    if name == WRITE_TEST {
        return false;
    }
    if is_chunk(name) {
        return parts.next().is_none_or(is_audit_stream);
    }
    true
}

/// `000000.gz`: how an export names its chunks.
fn is_chunk(name: &str) -> bool {
    name.strip_suffix(".gz")
        .is_some_and(|n| n.len() == 6 && n.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_time_before_a_json_message_is_dropped() {
        let ev = br#"{"kind":"Event"}"#;
        for time in [
            "2024-05-01T10:00:00.123Z",
            "2024-05-01T10:00:00Z",
            "2024-05-01T10:00:00.123456789+00:00",
        ] {
            let line = [time.as_bytes(), b" ", ev].concat();
            assert_eq!(strip(&line), ev, "{time}");
        }
        for same in [
            &b"{\"a\":1}"[..],
            b"2024-05-01T10:00:00Z not json",
            b"2024-05-01 nothing",
            b"12345",
            b"2024-05-01T10:00:00Z",
            b"",
            b"2024-05-01T10:00:00Zjunkjunkjunkjunkjunk {}",
        ] {
            assert_eq!(strip(same), same);
        }
    }

    #[test]
    fn trees_keep_audit_streams_only() {
        assert!(keep("exportedlogs/t1/kube-apiserver-audit-abc/000000.gz"));
        assert!(keep("kube-apiserver-audit-abc/000012.gz"));
        assert!(!keep("exportedlogs/t1/kube-apiserver-abc/000000.gz"));
        assert!(!keep("exportedlogs/t1/authenticator-abc/000000.gz"));
        assert!(!keep("exportedlogs/aws-logs-write-test"));
        assert!(!keep("aws-logs-write-test"));
        assert!(keep("000000.gz"));
        assert!(keep("exportedlogs/t1/other/audit.jsonl"));
        assert!(keep("2024/05/01/10/stream-1-2024-05-01-10-00-00-abc"));
    }
}
