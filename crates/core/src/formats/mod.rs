//! The shapes audit logs take outside the API server's own log backend, read as they are.
//!
//! Other clouds' exports, normalised into the `audit::Event` the engine reads; `decode` tries them
//! on an object that is neither an audit event nor one of `wrapper`'s wrappers:
//! - [`gke`]: Cloud Logging `LogEntry`s; [`aks`]: Azure diagnostic records; [`shape`] tells
//!   them (and shapes ktrail cannot read) apart.
//!
//! Archives, once the log has left CloudWatch Logs for S3:
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

pub mod aks;
pub mod cwexport;
pub mod documents;
pub mod firehose;
pub mod gke;
pub mod shape;

/// The log streams of an EKS cluster's log group that hold audit events
/// (`kube-apiserver-audit-<id>`); `kube-apiserver-<id>`, `authenticator-<id>` and the
/// controllers' streams beside them do not.
pub const AUDIT_STREAM_PREFIX: &str = "kube-apiserver-audit";

/// Whether a log stream, by its name, holds audit events.
pub fn is_audit_stream(name: &str) -> bool {
    name.starts_with(AUDIT_STREAM_PREFIX)
}
