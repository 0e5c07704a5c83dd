//! Errors of the S3 source, each one sentence a user can act on: no credentials, access denied
//! (naming the IAM action that is missing), no such bucket, an empty prefix, an endpoint that
//! cannot be reached. SDK errors are classified here and nowhere else.

use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};

use crate::{Client, S3Url};

/// An error of the S3 source.
#[derive(Debug, thiserror::Error)]
pub enum S3Error {
    #[error("{0:?} is not an S3 location: write s3://BUCKET/PREFIX")]
    BadUrl(String),
    #[error(
        "no AWS credentials found: set AWS_PROFILE or pass --profile, export AWS_ACCESS_KEY_ID and \
AWS_SECRET_ACCESS_KEY, or log in with `aws sso login` ({detail})"
    )]
    NoCredentials { detail: String },
    #[error("AWS rejected the credentials ({code}): refresh them (for example `aws sso login`) and try again")]
    CredentialsRejected { code: String },
    #[error("no AWS region configured: pass --region or set AWS_REGION")]
    NoRegion,
    #[error(
        "access denied by S3 on {resource}: the caller needs the IAM action {action} on {arn}"
    )]
    AccessDenied {
        /// `s3:ListBucket` or `s3:GetObject`.
        action: &'static str,
        /// What was asked for, as `s3://…`.
        resource: String,
        /// The ARN the policy must name.
        arn: String,
    },
    #[error("bucket {bucket} does not exist (or is in another partition): check the name in s3://{bucket}/…")]
    NoSuchBucket { bucket: String },
    #[error("{url} holds no objects: check the bucket and the prefix (keys are case-sensitive)")]
    EmptyPrefix { url: String },
    #[error(
        "cannot reach {endpoint} ({detail}): check the network, the region and AWS_ENDPOINT_URL_S3"
    )]
    Unreachable { endpoint: String, detail: String },
    #[error("S3 {operation} on {resource} failed: {message}")]
    Aws {
        operation: &'static str,
        resource: String,
        message: String,
    },
    #[error("cannot start the async runtime: {0}")]
    Runtime(std::io::Error),
}

/// Which call failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    List,
    Get,
}

/// Classifies an SDK error of a call on `url` (and `key`, for GetObject).
pub(crate) fn classify<E>(
    err: &SdkError<E, HttpResponse>,
    op: Op,
    client: &Client,
    url: &S3Url,
    key: Option<&str>,
) -> S3Error
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let resource = match key {
        Some(k) => url.object(k),
        None => url.to_string(),
    };
    match err {
        SdkError::TimeoutError(_) => {
            return S3Error::Unreachable {
                endpoint: client.endpoint.clone(),
                detail: "timed out".into(),
            }
        }
        SdkError::DispatchFailure(d) => {
            let detail = if d.is_timeout() {
                "timed out".to_owned()
            } else {
                chain(err)
            };
            return S3Error::Unreachable {
                endpoint: client.endpoint.clone(),
                detail,
            };
        }
        _ => {}
    }
    let code = err.code().unwrap_or_default().to_owned();
    let status = match err {
        SdkError::ServiceError(s) => Some(s.raw().status().as_u16()),
        SdkError::ResponseError(r) => Some(r.raw().status().as_u16()),
        _ => None,
    };
    match code.as_str() {
        "AccessDenied" | "AllAccessDisabled" => {
            return match op {
                Op::List => S3Error::AccessDenied {
                    action: "s3:ListBucket",
                    resource,
                    arn: format!("arn:aws:s3:::{}", url.bucket),
                },
                Op::Get => S3Error::AccessDenied {
                    action: "s3:GetObject",
                    resource,
                    arn: format!("arn:aws:s3:::{}/{}*", url.bucket, url.prefix),
                },
            }
        }
        "NoSuchBucket" => {
            return S3Error::NoSuchBucket {
                bucket: url.bucket.clone(),
            }
        }
        "InvalidAccessKeyId"
        | "SignatureDoesNotMatch"
        | "ExpiredToken"
        | "TokenRefreshRequired" => return S3Error::CredentialsRejected { code },
        _ => {}
    }
    if code.is_empty() && status == Some(403) {
        return classify_code_403(op, resource, url);
    }
    if code.is_empty() && status == Some(404) && op == Op::List {
        return S3Error::NoSuchBucket {
            bucket: url.bucket.clone(),
        };
    }
    S3Error::Aws {
        operation: match op {
            Op::List => "ListObjectsV2",
            Op::Get => "GetObject",
        },
        resource,
        message: match (err.code(), err.message()) {
            (Some(c), Some(m)) => format!("{c}: {m}"),
            (Some(c), None) => c.to_owned(),
            _ => chain(err),
        },
    }
}

fn classify_code_403(op: Op, resource: String, url: &S3Url) -> S3Error {
    let (action, arn) = match op {
        Op::List => ("s3:ListBucket", format!("arn:aws:s3:::{}", url.bucket)),
        Op::Get => (
            "s3:GetObject",
            format!("arn:aws:s3:::{}/{}*", url.bucket, url.prefix),
        ),
    };
    S3Error::AccessDenied {
        action,
        resource,
        arn,
    }
}

pub(crate) use ktrail_cloudwatch::aws::error_chain as chain;
