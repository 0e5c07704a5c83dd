//! Which of the other clouds' shapes a JSON object has, told from its top-level keys.
//!
//! `decode` asks only about objects that are neither audit events nor `wrapper`'s wrappers, so
//! the probe costs nothing on the lines of an EKS or self-managed log. Shapes that hold an audit
//! event but are not read (an Elasticsearch document, a Cloud Logging entry of another service)
//! are recognised only to be named in the diagnostic, so that the user learns what to export
//! instead of a bare "not an audit event".

use serde::Deserialize;
use serde_json::value::RawValue;

/// What an object is, when it is not an audit event or an EKS wrapper.
#[derive(Debug)]
pub enum Shape<'a> {
    /// A Cloud Logging `LogEntry` with a Kubernetes audit `protoPayload` (GKE).
    GkeEntry,
    /// An Azure diagnostic record (`category`, `properties.log`) (AKS).
    AksRecord,
    /// An Event Hubs batch of Azure diagnostic records: the value of `records`.
    AksBatch(&'a RawValue),
    /// Something recognised that is not read: what it is and what to do.
    Unread(String),
}

/// The key of an Event Hubs batch, and what diagnostics call one of its items.
pub const RECORDS: &str = "records";
pub const RECORDS_ITEM: &str = "records item";

#[derive(Deserialize)]
struct Probe<'a> {
    #[serde(borrow, default, rename = "protoPayload")]
    proto_payload: Option<&'a RawValue>,
    #[serde(borrow, default, rename = "jsonPayload")]
    json_payload: Option<&'a RawValue>,
    #[serde(borrow, default, rename = "textPayload")]
    text_payload: Option<&'a RawValue>,
    #[serde(borrow, default)]
    properties: Option<&'a RawValue>,
    #[serde(borrow, default)]
    category: Option<&'a RawValue>,
    #[serde(borrow, default)]
    records: Option<&'a RawValue>,
    #[serde(borrow, default)]
    kubernetes: Option<&'a RawValue>,
    #[serde(borrow, default, rename = "kubernetes.audit")]
    kubernetes_audit: Option<&'a RawValue>,
    #[serde(borrow, default, rename = "_source")]
    es_source: Option<&'a RawValue>,
}

/// The shape of `line` (a JSON object), or `None` when it is none of those known here.
pub fn recognise(line: &[u8]) -> Option<Shape<'_>> {
    // A duplicate key or a wrong type is no shape of ours: the caller's diagnostic stands.
    let p: Probe = serde_json::from_slice(line).ok()?;
    if p.proto_payload.is_some() {
        return Some(Shape::GkeEntry);
    }
    if p.json_payload.is_some() || p.text_payload.is_some() {
        return Some(Shape::Unread(
            "a Cloud Logging entry without protoPayload: not a GKE audit log; read the \
             cloudaudit.googleapis.com logs"
                .into(),
        ));
    }
    if p.properties.is_some() && (p.category.is_some() || has_key(p.properties, "log")) {
        return Some(Shape::AksRecord);
    }
    if let Some(records) = p.records {
        return Some(Shape::AksBatch(records));
    }
    if p.kubernetes_audit.is_some() || has_key(p.kubernetes, "audit") {
        return Some(Shape::Unread(elasticsearch()));
    }
    if let Some(src) = p.es_source {
        let inner: Option<Probe> = serde_json::from_str(src.get()).ok();
        if inner.is_some_and(|i| i.kubernetes_audit.is_some() || has_key(i.kubernetes, "audit")) {
            return Some(Shape::Unread(elasticsearch()));
        }
    }
    None
}

fn elasticsearch() -> String {
    "an Elasticsearch document with the audit event under kubernetes.audit, a shape ktrail does \
     not read; export the events themselves (e.g. jq -c '._source.kubernetes.audit')"
        .into()
}

/// Whether `raw` is an object with `key` among its top-level keys.
fn has_key(raw: Option<&RawValue>, key: &str) -> bool {
    #[derive(Deserialize)]
    struct Keys<'a>(
        #[serde(borrow)] std::collections::HashMap<std::borrow::Cow<'a, str>, &'a RawValue>,
    );
    raw.and_then(|r| serde_json::from_str::<Keys>(r.get()).ok())
        .is_some_and(|k| k.0.contains_key(key))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_are_told_from_their_keys() {
        assert!(matches!(
            recognise(br#"{"protoPayload":{},"logName":"x"}"#),
            Some(Shape::GkeEntry)
        ));
        assert!(matches!(
            recognise(br#"{"category":"kube-audit","properties":{"log":"{}"}}"#),
            Some(Shape::AksRecord)
        ));
        assert!(matches!(
            recognise(br#"{"properties":{"log":{}}}"#),
            Some(Shape::AksRecord)
        ));
        assert!(matches!(
            recognise(br#"{"records":[]}"#),
            Some(Shape::AksBatch(_))
        ));
        for es in [
            r#"{"kubernetes":{"audit":{"auditID":"x"}}}"#,
            r#"{"kubernetes.audit":{"auditID":"x"}}"#,
            r#"{"_index":"k","_source":{"kubernetes":{"audit":{}}}}"#,
        ] {
            match recognise(es.as_bytes()) {
                Some(Shape::Unread(m)) => assert!(m.contains("Elasticsearch"), "{m}"),
                other => panic!("{es}: {other:?}"),
            }
        }
        assert!(matches!(
            recognise(br#"{"jsonPayload":{"message":"x"}}"#),
            Some(Shape::Unread(_))
        ));
        assert!(recognise(br#"{"kubernetes":{"pod":"x"}}"#).is_none());
        assert!(recognise(br#"{"properties":{"x":1}}"#).is_none());
        assert!(recognise(b"{\"records\":1,\"records\":2}").is_none());
    }
}
