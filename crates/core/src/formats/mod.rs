//! Archive formats: the shapes audit logs take once they have left CloudWatch Logs for S3, read
//! as they are.
//!
//! - [`cwexport`]: `aws logs create-export-task` output, `<RFC 3339 time> <message>` per line, in
//!   `exportedlogs/<task id>/<log stream>/000000.gz` trees.
//! - [`firehose`]: the `DATA_MESSAGE` / `CONTROL_MESSAGE` records a CloudWatch Logs subscription
//!   filter hands Kinesis Data Firehose.
//! - [`documents`]: JSON documents back to back or pretty-printed (`jq .`, Firehose objects with no
//!   separator between records), turned into one document per line ahead of the line scan.
//!
//! Each is a small hook for the existing stages: a prefix the line rule strips, a record the
//! decoder unwraps, a reader the scan puts in front of a stream. Newline-delimited input takes the
//! same fast path as before.

pub mod cwexport;
pub mod documents;
pub mod firehose;

/// The log streams of an EKS cluster's log group that hold audit events
/// (`kube-apiserver-audit-<id>`); `kube-apiserver-<id>`, `authenticator-<id>` and the
/// controllers' streams beside them do not.
pub const AUDIT_STREAM_PREFIX: &str = "kube-apiserver-audit";

/// Whether a log stream, by its name, holds audit events.
pub fn is_audit_stream(name: &str) -> bool {
    name.starts_with(AUDIT_STREAM_PREFIX)
}
