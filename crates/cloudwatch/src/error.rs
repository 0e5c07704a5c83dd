//! Errors of the CloudWatch source, each one sentence a user can act on.
//!
//! Every failure the user is likely to meet against a live account (no credentials, missing IAM
//! permissions, audit logging not enabled, an empty window, a name that could inject into a
//! query) gets its own variant, so the command line can print it as is and exit 2. SDK errors are
//! classified here and nowhere else.

use aws_sdk_cloudwatchlogs::config::http::HttpResponse;
use aws_sdk_cloudwatchlogs::error::{ProvideErrorMetadata, SdkError};

/// The IAM actions ktrail needs on the audit log group.
pub const IAM_ACTIONS: &str = "logs:StartQuery, logs:GetQueryResults, logs:StopQuery, \
logs:FilterLogEvents, logs:DescribeLogGroups and logs:DescribeLogStreams";

/// An error of the CloudWatch Logs source.
#[derive(Debug, thiserror::Error)]
pub enum CwError {
    /// No credentials could be resolved by the default AWS provider chain.
    #[error(
        "no AWS credentials found: set AWS_PROFILE or pass --profile, export AWS_ACCESS_KEY_ID and \
AWS_SECRET_ACCESS_KEY, or log in with `aws sso login` ({detail})"
    )]
    NoCredentials {
        /// What the provider chain said.
        detail: String,
    },
    /// Credentials were found but AWS rejected them (expired or invalid).
    #[error("AWS rejected the credentials ({code}): refresh them (for example `aws sso login`) and try again")]
    CredentialsRejected {
        /// The AWS error code.
        code: String,
    },
    /// No region could be resolved.
    #[error("no AWS region configured: pass --region or set AWS_REGION")]
    NoRegion,
    /// AWS denied one of the calls.
    #[error(
        "access denied by AWS on {operation} for log group {log_group}: the caller needs the IAM \
actions {actions} on that log group",
        actions = IAM_ACTIONS
    )]
    AccessDenied {
        /// The API operation that was denied.
        operation: &'static str,
        /// The log group.
        log_group: String,
    },
    /// The log group does not exist.
    #[error(
        "log group {log_group} does not exist in this account and region: audit logging must be \
enabled on the cluster, for example `aws eks update-cluster-config --name {cluster} --logging \
'{{\"clusterLogging\":[{{\"types\":[\"audit\"],\"enabled\":true}}]}}'`"
    )]
    LogGroupMissing {
        /// The log group.
        log_group: String,
        /// The cluster name, or a placeholder when only the log group is known.
        cluster: String,
    },
    /// The log group has no kube-apiserver-audit stream holding events in the window.
    #[error(
        "log group {log_group} has no kube-apiserver-audit streams with events between {since} and \
{until}: check the time window, and that audit logging is enabled on the cluster"
    )]
    NoAuditStreams {
        /// The log group.
        log_group: String,
        /// Start of the window, RFC 3339.
        since: String,
        /// End of the window, RFC 3339.
        until: String,
    },
    /// A name, namespace, uid, cluster or log group that is not valid.
    #[error("invalid {kind} {value:?}: {reason}")]
    InvalidName {
        /// What the value is (namespace, pod name, uid, cluster name, log group).
        kind: &'static str,
        /// The value, as given.
        value: String,
        /// Why it is refused.
        reason: &'static str,
    },
    /// The time window is empty or reversed.
    #[error("the time window is empty: --since ({since}) must be before --until ({until})")]
    EmptyWindow {
        /// Start of the window, RFC 3339.
        since: String,
        /// End of the window, RFC 3339.
        until: String,
    },
    /// A Logs Insights query ended Failed or Cancelled, after retries.
    #[error(
        "the Logs Insights query for {window} ended with status {status} (query id {query_id})"
    )]
    QueryFailed {
        /// The window, as `since..until`.
        window: String,
        /// The final status.
        status: String,
        /// The query id.
        query_id: String,
    },
    /// Throttling did not stop after every retry.
    #[error("CloudWatch Logs kept throttling {operation} ({code}) after {attempts} attempts: lower --concurrency or try again later")]
    Throttled {
        /// The API operation.
        operation: &'static str,
        /// The AWS error code.
        code: String,
        /// Attempts made.
        attempts: u32,
    },
    /// The endpoint did not answer in time: it accepts and never answers, or is unreachable.
    #[error("CloudWatch Logs endpoint {endpoint} did not answer {operation} within {timeout} (--timeout)")]
    Stalled {
        /// The endpoint URL.
        endpoint: String,
        /// The API operation.
        operation: &'static str,
        /// The bound, as `30s`.
        timeout: String,
    },
    /// The endpoint could not be reached (connection refused, unknown host).
    #[error("cannot reach CloudWatch Logs endpoint {endpoint} ({operation}): {detail}")]
    Unreachable {
        /// The endpoint URL.
        endpoint: String,
        /// The API operation.
        operation: &'static str,
        /// What the connection attempt said.
        detail: String,
    },
    /// The user pressed Ctrl-C.
    #[error("interrupted: running queries were stopped")]
    Interrupted,
    /// Any other AWS error.
    #[error("CloudWatch Logs {operation} failed: {message}")]
    Aws {
        /// The API operation.
        operation: &'static str,
        /// The error, with its code.
        message: String,
    },
    /// Writing the recorded events failed.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The output path.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The async runtime could not be started.
    #[error("cannot start the async runtime: {0}")]
    Runtime(std::io::Error),
}

impl CwError {
    /// The process exit code for this error: 130 for Ctrl-C, 2 for everything else.
    pub fn exit_code(&self) -> i32 {
        match self {
            CwError::Interrupted => 130,
            _ => 2,
        }
    }
}

/// What a failed SDK call means for the caller.
#[derive(Debug)]
pub(crate) enum Failure {
    /// Retry after a backoff.
    Retry(String),
    /// Give up with this error.
    Fatal(CwError),
}

/// Error codes that mean "slow down".
fn is_throttle(code: &str) -> bool {
    matches!(
        code,
        "ThrottlingException"
            | "Throttling"
            | "LimitExceededException"
            | "TooManyRequestsException"
            | "RequestLimitExceeded"
            | "ServiceUnavailableException"
            | "ServiceUnavailable"
            | "InternalFailure"
            | "InternalServerError"
    )
}

/// Classifies an SDK error of `operation` on `log_group`.
pub(crate) fn classify<E>(
    err: &SdkError<E, HttpResponse>,
    operation: &'static str,
    log_group: &str,
    cluster: &str,
) -> Failure
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let code = err.code().unwrap_or_default().to_string();
    if is_throttle(&code) {
        return Failure::Retry(code);
    }
    match code.as_str() {
        "AccessDeniedException" | "AccessDenied" | "UnauthorizedOperation" => {
            return Failure::Fatal(CwError::AccessDenied {
                operation,
                log_group: log_group.to_string(),
            })
        }
        "ResourceNotFoundException" => {
            return Failure::Fatal(CwError::LogGroupMissing {
                log_group: log_group.to_string(),
                cluster: cluster.to_string(),
            })
        }
        "UnrecognizedClientException"
        | "InvalidSignatureException"
        | "ExpiredTokenException"
        | "ExpiredToken"
        | "InvalidClientTokenId" => return Failure::Fatal(CwError::CredentialsRejected { code }),
        _ => {}
    }
    match err {
        SdkError::TimeoutError(_) => Failure::Retry("timeout".into()),
        SdkError::DispatchFailure(d) if d.is_timeout() || d.is_io() => {
            Failure::Retry("connection".into())
        }
        SdkError::ResponseError(_) => Failure::Retry("response".into()),
        SdkError::ServiceError(s) if s.raw().status().as_u16() >= 500 && code.is_empty() => {
            Failure::Retry(format!("HTTP {}", s.raw().status().as_u16()))
        }
        _ => {
            let source = describe(err);
            if source.contains("no credentials") || source.contains("CredentialsNotLoaded") {
                Failure::Fatal(CwError::NoCredentials { detail: source })
            } else {
                Failure::Fatal(CwError::Aws {
                    operation,
                    message: source,
                })
            }
        }
    }
}

/// One line describing an SDK error with its whole source chain.
pub(crate) fn describe<E, R>(err: &SdkError<E, R>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let mut out = match (err.code(), err.message()) {
        (Some(c), Some(m)) => format!("{c}: {m}"),
        (Some(c), None) => c.to_string(),
        _ => err.to_string(),
    };
    push_causes(&mut out, std::error::Error::source(err));
    out
}

/// Appends `: cause` for `first` and each cause behind it, but for those whose text `out` holds
/// already (SDK errors often repeat their source in their own message).
pub(crate) fn push_causes(out: &mut String, first: Option<&(dyn std::error::Error + 'static)>) {
    let mut source = first;
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
}
