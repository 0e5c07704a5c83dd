//! The audit.k8s.io `Event` as it appears on the wire, parsed borrowed.
//!
//! Audit lines are large (request and response bodies) and most of them are not about pods, so the
//! model borrows from the input line and keeps `requestObject`/`responseObject` as raw JSON: they are
//! parsed only for the few events that need them. Both audit.k8s.io/v1 and v1beta1 are accepted
//! (v1beta1 has `timestamp` instead of `requestReceivedTimestamp`; neither needs `apiVersion`).

use std::borrow::Cow;
use std::collections::BTreeMap;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::json;

/// One audit event, borrowed from its line. Unknown fields are ignored.
#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Event<'a> {
    #[serde(borrow, default, deserialize_with = "lenient_str")]
    pub kind: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "lenient_str")]
    pub api_version: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "lenient_str")]
    pub level: Option<Cow<'a, str>>,
    #[serde(borrow, default, rename = "auditID", deserialize_with = "lenient_str")]
    pub audit_id: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "lenient_str")]
    pub stage: Option<Cow<'a, str>>,
    #[serde(
        borrow,
        default,
        rename = "requestURI",
        deserialize_with = "lenient_str"
    )]
    pub request_uri: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "lenient_str")]
    pub verb: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub user: Option<UserInfo<'a>>,
    #[serde(borrow, default)]
    pub impersonated_user: Option<UserInfo<'a>>,
    #[serde(borrow, default, deserialize_with = "lenient_str")]
    pub user_agent: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub object_ref: Option<ObjectRef<'a>>,
    #[serde(borrow, default)]
    pub response_status: Option<Status<'a>>,
    /// The body as its JSON text (validated when read), `None` for `null`.
    #[serde(borrow, default, deserialize_with = "raw_json")]
    pub request_object: Option<&'a str>,
    #[serde(borrow, default, deserialize_with = "raw_json")]
    pub response_object: Option<&'a str>,
    #[serde(borrow, default, deserialize_with = "lenient_str")]
    pub request_received_timestamp: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "lenient_str")]
    pub stage_timestamp: Option<Cow<'a, str>>,
    /// v1beta1 only.
    #[serde(borrow, default, deserialize_with = "lenient_str")]
    pub timestamp: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub annotations: Option<BTreeMap<Cow<'a, str>, Cow<'a, str>>>,

    // The keys of objects that are not audit events themselves but carry them (the grammar is
    // `wrapper`'s): read with the event's own fields so that a line is parsed once.
    /// `EventList.items` (the webhook backend's batches).
    #[serde(borrow, default)]
    pub items: Option<&'a RawValue>,
    /// CloudWatch exports: the audit event as a string.
    #[serde(borrow, default, deserialize_with = "lenient_str")]
    pub message: Option<Cow<'a, str>>,
    #[serde(borrow, default, rename = "@message", deserialize_with = "lenient_str")]
    pub at_message: Option<Cow<'a, str>>,
    /// `aws logs filter-log-events` output.
    #[serde(borrow, default)]
    pub events: Option<&'a RawValue>,
    /// `aws logs get-query-results` output.
    #[serde(borrow, default)]
    pub results: Option<&'a RawValue>,

    /// The export the event was read from; set by `decode` from the wrapping, never read from the
    /// line itself (so it costs the parse nothing and a line cannot claim a cloud).
    #[serde(skip)]
    pub source: Source,
}

/// Which export an event was read from, as the JSON output's `source` names it.
///
/// Told from the shape that carried the event, not from its content: a bare `audit.k8s.io` event
/// or `EventList` is `file` (the API server's own log or webhook backend, whatever cluster wrote
/// it), an event inside a CloudWatch Logs export wrapper is `eks`, a Cloud Logging `LogEntry` is
/// `gke` and an Azure diagnostic record is `aks`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    #[default]
    File,
    Eks,
    Gke,
    Aks,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::File => "file",
            Source::Eks => "eks",
            Source::Gke => "gke",
            Source::Aks => "aks",
        }
    }

    /// The name of the cloud, for a story's header; `None` for a plain file.
    pub fn cloud(self) -> Option<&'static str> {
        match self {
            Source::File => None,
            Source::Eks => Some("EKS"),
            Source::Gke => Some("GKE"),
            Source::Aks => Some("AKS"),
        }
    }

    /// The default is left out of the JSON output, so that the output of plain files is what it
    /// was before the field existed.
    pub fn is_file(&self) -> bool {
        *self == Source::File
    }
}

/// A value kept as its JSON text, as a borrowed `RawValue` reads it (`null` is absent).
fn raw_json<'de: 'a, 'a, D>(d: D) -> Result<Option<&'a str>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    Ok(Option::<&'de RawValue>::deserialize(d)?.map(RawValue::get))
}

/// A string field that tolerates other types (wrappers reuse names like `timestamp` for numbers):
/// anything but a string reads as absent.
fn lenient_str<'de: 'a, 'a, D>(d: D) -> Result<Option<Cow<'a, str>>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    use serde::de::{IgnoredAny, MapAccess, SeqAccess, Visitor};
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = Option<Cow<'de, str>>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("any JSON value")
        }
        fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
            Ok(Some(Cow::Borrowed(v)))
        }
        fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
            Ok(Some(Cow::Owned(v.to_owned())))
        }
        fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
            Ok(Some(Cow::Owned(v)))
        }
        fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_none<E>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<Self::Value, A::Error> {
            while a.next_element::<IgnoredAny>()?.is_some() {}
            Ok(None)
        }
        fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Self::Value, A::Error> {
            while a.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
            Ok(None)
        }
    }
    d.deserialize_any(V)
}

#[derive(Debug, Deserialize, Default)]
pub struct UserInfo<'a> {
    #[serde(borrow, default)]
    pub username: Option<Cow<'a, str>>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct ObjectRef<'a> {
    #[serde(borrow, default)]
    pub resource: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub namespace: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub name: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub uid: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub api_group: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub subresource: Option<Cow<'a, str>>,
}

#[derive(Debug, Deserialize, Default)]
pub struct Status<'a> {
    #[serde(default)]
    pub code: Option<i64>,
    #[serde(borrow, default)]
    pub message: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub reason: Option<Cow<'a, str>>,
}

impl Event<'_> {
    /// True when the object looks like an audit event rather than some other JSON.
    pub fn is_audit_event(&self) -> bool {
        self.audit_id.is_some()
            && (self.verb.is_some() || self.stage.is_some())
            && self.kind.as_deref().is_none_or(|k| k == "Event")
    }

    /// The time this stage was logged: `stageTimestamp`, else `requestReceivedTimestamp`, else the
    /// v1beta1 `timestamp`.
    pub fn time(&self) -> Option<DateTime<Utc>> {
        [
            &self.stage_timestamp,
            &self.request_received_timestamp,
            &self.timestamp,
        ]
        .into_iter()
        .flatten()
        .find_map(|t| parse_time(t))
    }

    pub fn username(&self) -> &str {
        self.user
            .as_ref()
            .and_then(|u| u.username.as_deref())
            .unwrap_or("")
    }
}

/// The request stages an event can be logged at, ordered by how much they tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Stage {
    Other,
    RequestReceived,
    ResponseStarted,
    ResponseComplete,
    Panic,
}

impl Stage {
    pub fn parse(s: Option<&str>) -> Stage {
        match s {
            Some("RequestReceived") => Stage::RequestReceived,
            Some("ResponseStarted") => Stage::ResponseStarted,
            Some("ResponseComplete") => Stage::ResponseComplete,
            Some("Panic") => Stage::Panic,
            _ => Stage::Other,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Other => "Unknown",
            Stage::RequestReceived => "RequestReceived",
            Stage::ResponseStarted => "ResponseStarted",
            Stage::ResponseComplete => "ResponseComplete",
            Stage::Panic => "Panic",
        }
    }

    /// Which stage of one request to keep: a final stage (ResponseComplete or Panic) wins.
    pub fn rank(self) -> u8 {
        match self {
            Stage::Other => 0,
            Stage::RequestReceived => 1,
            Stage::ResponseStarted => 2,
            Stage::ResponseComplete | Stage::Panic => 3,
        }
    }
}

/// Parses an RFC 3339 time as the API server writes it.
pub fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// Formats a time the way the audit log does: UTC, microseconds, `Z`.
pub fn format_time(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// The identity of one logged stage, read cheaply without parsing the whole line: used to drop exact
/// duplicates of raw lines (e.g. when recording events fetched from CloudWatch).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Peek {
    pub audit_id: String,
    pub stage: String,
}

/// Finds `"auditID":"…"` and `"stage":"…"` in a raw event line. Returns `None` when either is missing.
pub fn peek(line: &[u8]) -> Option<Peek> {
    Some(Peek {
        audit_id: string_field(line, b"\"auditID\":\"")?,
        stage: string_field(line, b"\"stage\":\"")?,
    })
}

/// The value of the first `"key":"value"` with `key_prefix` = `"key":"`, when the value has no escapes.
/// This is a prefilter helper: a `None` does not mean the field is absent.
pub fn string_field(line: &[u8], key_prefix: &[u8]) -> Option<String> {
    let at = memchr::memmem::find(line, key_prefix)? + key_prefix.len();
    let value = json::read::plain_string(&line[at..])?;
    std::str::from_utf8(value).ok().map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_v1_and_v1beta1_times() {
        let v1: Event = serde_json::from_str(
            r#"{"auditID":"a","stage":"ResponseComplete","verb":"get","stageTimestamp":"2022-09-20T20:17:17.328703Z"}"#,
        )
        .unwrap();
        assert_eq!(
            format_time(&v1.time().unwrap()),
            "2022-09-20T20:17:17.328703Z"
        );
        let beta: Event = serde_json::from_str(
            r#"{"auditID":"a","stage":"ResponseComplete","verb":"get","timestamp":"2018-10-25T13:58:49Z"}"#,
        )
        .unwrap();
        assert_eq!(
            format_time(&beta.time().unwrap()),
            "2018-10-25T13:58:49.000000Z"
        );
        assert!(beta.is_audit_event());
    }

    #[test]
    fn other_kinds_are_not_events() {
        let e: Event =
            serde_json::from_str(r#"{"kind":"Pod","auditID":"x","verb":"get"}"#).unwrap();
        assert!(!e.is_audit_event());
        let e: Event = serde_json::from_str(r#"{"kind":"Event","verb":"get"}"#).unwrap();
        assert!(!e.is_audit_event(), "no auditID");
    }

    #[test]
    fn stage_rank_prefers_final_stages() {
        assert!(Stage::ResponseComplete.rank() > Stage::ResponseStarted.rank());
        assert_eq!(Stage::Panic.rank(), Stage::ResponseComplete.rank());
        assert!(Stage::ResponseStarted.rank() > Stage::RequestReceived.rank());
    }

    #[test]
    fn peek_reads_ids_without_parsing() {
        let line = br#"{"kind":"Event","auditID":"6f1c","stage":"ResponseComplete","verb":"get"}"#;
        assert_eq!(
            peek(line),
            Some(Peek {
                audit_id: "6f1c".into(),
                stage: "ResponseComplete".into()
            })
        );
        assert_eq!(peek(br#"{"auditID":"6f1c"}"#), None);
        assert_eq!(string_field(br#"{"a":"x\"y"}"#, b"\"a\":\""), None);
    }
}
