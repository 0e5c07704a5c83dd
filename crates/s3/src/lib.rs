//! S3 as a source of audit logs: `-f s3://BUCKET/PREFIX` lists every object under the prefix and
//! hands their bytes, in key order, to the same scan that reads files (`ktrail_core::scan`), so an
//! archive read from S3 gives the story the same files give on disk.
//!
//! Why a crate of its own and not a part of `ktrail-cloudwatch`: the two share nothing but
//! `aws-config`'s loader (a dozen lines), and keeping them apart lets each link only the SDK it
//! needs and name its own IAM actions in its errors.
//!
//! - [`S3Url`] parses `s3://bucket/prefix`.
//! - [`S3Source::client`] builds a client the standard AWS way (region, `--profile`, credentials,
//!   `AWS_ENDPOINT_URL_S3`), with timeouts so that an unreachable endpoint fails within seconds.
//! - [`list`] pages through `ListObjectsV2` (1,000 keys a page) and keeps what may hold audit
//!   events: in a CloudWatch export tree only the `kube-apiserver-audit*` streams, never the
//!   `aws-logs-write-test` object, and (with a time window) only objects whose Firehose
//!   `YYYY/MM/DD/HH/` key or last-modified time can hold events of the window ([`may_hold`]).
//! - [`Objects`] streams the objects' bodies, several at once (`concurrency`), and yields them in
//!   key order as blocking readers for the scan's reader thread.
//!
//! What it must not know: how bytes become lines or events (the core's scan does that, compression
//! included), stories and output formats.

mod error;
mod fetch;
mod progress;

use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};

pub use error::S3Error;
pub use fetch::{runtime, ObjectReader, Objects};
pub use progress::Progress;

/// How long to wait for a TCP (and TLS) connection to the endpoint.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// How long a response may stay silent while it is read.
pub const READ_TIMEOUT: Duration = Duration::from_secs(30);
/// How long one attempt at a call may take, up to the start of a body.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a call may take with its retries, up to the start of a body.
pub const OPERATION_TIMEOUT: Duration = Duration::from_secs(60);

/// A bucket and a key prefix, from `s3://BUCKET/PREFIX`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Url {
    pub bucket: String,
    pub prefix: String,
}

impl S3Url {
    /// Whether a `-f` argument names S3.
    pub fn is_s3(arg: &str) -> bool {
        arg.starts_with("s3://")
    }

    pub fn parse(arg: &str) -> Result<S3Url, S3Error> {
        let rest = arg
            .strip_prefix("s3://")
            .ok_or_else(|| S3Error::BadUrl(arg.to_owned()))?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        let valid = (3..=63).contains(&bucket.len())
            && bucket
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-');
        if !valid {
            return Err(S3Error::BadUrl(arg.to_owned()));
        }
        Ok(S3Url {
            bucket: bucket.to_owned(),
            prefix: prefix.to_owned(),
        })
    }

    /// `s3://bucket/key`, the name diagnostics use for an object.
    pub fn object(&self, key: &str) -> String {
        format!("s3://{}/{key}", self.bucket)
    }
}

impl std::fmt::Display for S3Url {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "s3://{}/{}", self.bucket, self.prefix)
    }
}

/// Where to read from, as for CloudWatch: `None` is the standard AWS resolution.
#[derive(Debug, Clone, Default)]
pub struct S3Source {
    pub region: Option<String>,
    pub profile: Option<String>,
    /// Objects streamed at once (at least 1).
    pub concurrency: usize,
}

impl S3Source {
    /// An S3 client from the standard AWS configuration chain (`AWS_ENDPOINT_URL_S3` included),
    /// with the region and profile of this source and the timeouts above; fails early when no
    /// region or credentials resolve. A custom endpoint (an S3-compatible store, an emulator) is
    /// addressed path-style (`http://host/bucket/key`), as those stores expect.
    pub async fn client(&self) -> Result<Client, S3Error> {
        use aws_config::timeout::TimeoutConfig;
        use aws_config::BehaviorVersion;
        use ktrail_cloudwatch::aws;

        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .http_client(aws::https_client())
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(CONNECT_TIMEOUT)
                    .read_timeout(READ_TIMEOUT)
                    .operation_attempt_timeout(ATTEMPT_TIMEOUT)
                    .operation_timeout(OPERATION_TIMEOUT)
                    .build(),
            );
        if let Some(r) = &self.region {
            loader = loader.region(aws_config::Region::new(r.clone()));
        }
        if let Some(p) = &self.profile {
            loader = loader.profile_name(p);
        }
        let conf = loader.load().await;
        aws::check(&conf).await.map_err(|u| match u {
            aws::Unresolved::Region => S3Error::NoRegion,
            aws::Unresolved::Credentials(detail) => S3Error::NoCredentials { detail },
        })?;
        let region = conf.region().map(|r| r.to_string()).unwrap_or_default();
        let endpoint = std::env::var("AWS_ENDPOINT_URL_S3")
            .ok()
            .or_else(|| std::env::var("AWS_ENDPOINT_URL").ok())
            .or_else(|| conf.endpoint_url().map(str::to_owned))
            .filter(|e| !e.is_empty());
        let mut b = aws_sdk_s3::config::Builder::from(&conf);
        if let Some(e) = &endpoint {
            b = b.endpoint_url(e).force_path_style(true);
        }
        let where_ = endpoint.unwrap_or_else(|| format!("S3 in {region}"));
        Ok(Client {
            inner: aws_sdk_s3::Client::from_conf(b.build()),
            endpoint: where_,
        })
    }
}

/// An S3 client and the name of the endpoint it talks to, for errors.
#[derive(Debug, Clone)]
pub struct Client {
    pub inner: aws_sdk_s3::Client,
    pub endpoint: String,
}

impl Client {
    /// A client over an SDK client (tests use the SDK's mock client).
    pub fn new(inner: aws_sdk_s3::Client, endpoint: &str) -> Client {
        Client {
            inner,
            endpoint: endpoint.to_owned(),
        }
    }
}

/// One object to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Object {
    pub key: String,
    pub size: u64,
    pub last_modified: Option<DateTime<Utc>>,
}

/// What a listing found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Listing {
    /// The objects to read, in key order.
    pub objects: Vec<Object>,
    /// Objects under the prefix in all.
    pub listed: usize,
    /// Of those, left out because their key or time cannot hold events of the window.
    pub outside_window: usize,
}

/// Lists every object under `url` (every page) and keeps those that may hold audit events of the
/// window (see the crate's header). An empty prefix is an error.
pub async fn list(
    client: &Client,
    url: &S3Url,
    since: Option<DateTime<Utc>>,
    until: Option<DateTime<Utc>>,
) -> Result<Listing, S3Error> {
    let mut pages = client
        .inner
        .list_objects_v2()
        .bucket(&url.bucket)
        .prefix(&url.prefix)
        .into_paginator()
        .send();
    let mut out = Listing::default();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| error::classify(&e, error::Op::List, client, url, None))?;
        for o in page.contents() {
            let Some(key) = o.key() else { continue };
            out.listed += 1;
            let rel = key.strip_prefix(&url.prefix).unwrap_or(key);
            let rel = rel.trim_start_matches('/');
            if key.ends_with('/') || !ktrail_core::formats::cwexport::keep(rel) {
                continue;
            }
            let last_modified = o
                .last_modified()
                .and_then(|t| Utc.timestamp_opt(t.secs(), t.subsec_nanos()).single());
            if !may_hold(key, last_modified, since, until) {
                out.outside_window += 1;
                continue;
            }
            out.objects.push(Object {
                key: key.to_owned(),
                size: o.size().unwrap_or(0).max(0) as u64,
                last_modified,
            });
        }
    }
    if out.listed == 0 {
        return Err(S3Error::EmptyPrefix {
            url: url.to_string(),
        });
    }
    out.objects.sort_by(|a, b| a.key.cmp(&b.key));
    Ok(out)
}

/// How far the events of a Firehose object may lie outside the hour of its key: Firehose names an
/// object by the time it buffered the first record (buffers are held up to 15 minutes), and a
/// subscription delivers events some time after they were logged.
pub const KEY_HOUR_SLACK: Duration = Duration::from_secs(3600);

/// How much earlier than its last-modified time an object's events may claim to be logged than it
/// was written, for clocks that disagree.
pub const CLOCK_SLACK: Duration = Duration::from_secs(15 * 60);

/// Whether an object may hold events between `since` and `until`: not when its key names a
/// Firehose hour (`…/YYYY/MM/DD/HH/…`) far from the window, nor when it was last written before
/// the window began (an event is written after it happened).
pub fn may_hold(
    key: &str,
    last_modified: Option<DateTime<Utc>>,
    since: Option<DateTime<Utc>>,
    until: Option<DateTime<Utc>>,
) -> bool {
    let slack = chrono::Duration::from_std(KEY_HOUR_SLACK).unwrap_or_default();
    if let Some(hour) = key_hour(key) {
        if since.is_some_and(|s| hour + chrono::Duration::hours(1) + slack < s) {
            return false;
        }
        if until.is_some_and(|u| hour - slack > u) {
            return false;
        }
    }
    let clock = chrono::Duration::from_std(CLOCK_SLACK).unwrap_or_default();
    if let (Some(lm), Some(s)) = (last_modified, since) {
        if lm + clock < s {
            return false;
        }
    }
    true
}

/// The hour a Firehose key names: the first `YYYY/MM/DD/HH/` run of its path.
pub fn key_hour(key: &str) -> Option<DateTime<Utc>> {
    let parts: Vec<&str> = key.split('/').collect();
    parts.windows(5).find_map(|w| {
        let n = |s: &str, len: usize| {
            (s.len() == len && s.bytes().all(|b| b.is_ascii_digit()))
                .then(|| s.parse::<u32>().ok())
                .flatten()
        };
        let (y, m, d, h) = (n(w[0], 4)?, n(w[1], 2)?, n(w[2], 2)?, n(w[3], 2)?);
        Utc.with_ymd_and_hms(y as i32, m, d, h, 0, 0).single()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn urls_name_a_bucket_and_a_prefix() {
        assert_eq!(
            S3Url::parse("s3://my-logs/exports/2024/").unwrap(),
            S3Url {
                bucket: "my-logs".into(),
                prefix: "exports/2024/".into()
            }
        );
        assert_eq!(S3Url::parse("s3://my-logs").unwrap().prefix, "");
        for bad in ["s3://", "s3://A_B/x", "s3://ab/x", "http://x/y", "s3:///x"] {
            assert!(S3Url::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn firehose_hours_and_write_times_bound_the_window() {
        let key = "fh/2024/05/01/10/stream-1-2024-05-01-10-05-00-abc.gz";
        assert_eq!(key_hour(key), Some(t("2024-05-01T10:00:00Z")));
        assert_eq!(
            key_hour("exportedlogs/x/kube-apiserver-audit-1/000000.gz"),
            None
        );
        assert_eq!(key_hour("2024/13/01/10/x"), None);
        let since = Some(t("2024-05-01T13:00:00Z"));
        assert!(!may_hold(key, None, since, None));
        assert!(may_hold(key, None, Some(t("2024-05-01T11:30:00Z")), None));
        assert!(!may_hold(key, None, None, Some(t("2024-05-01T08:30:00Z"))));
        assert!(may_hold(key, None, None, Some(t("2024-05-01T09:30:00Z"))));
        let lm = Some(t("2024-05-01T12:00:00Z"));
        assert!(!may_hold("x.gz", lm, since, None));
        assert!(may_hold("x.gz", lm, Some(t("2024-05-01T12:10:00Z")), None));
        assert!(may_hold("x.gz", lm, None, Some(t("2000-01-01T00:00:00Z"))));
    }
}
