//! AKS: Kubernetes audit logs as Azure diagnostic records (categories `kube-audit` and
//! `kube-audit-admin`): `{"category","time","resourceId","properties":{"log","pod","stream"}}`,
//! one per line as the storage-account export writes them (`PT1H.json` blobs), or batched as
//! `{"records":[…]}` as Event Hubs delivers them (the batch is `shape::Shape::AksBatch`).
//!
//! The audit event is `properties.log`, whole: a JSON string holding the event's line (what the
//! API server wrote) or, from some pipelines, the event as an object. Nothing else of the record
//! is needed: the event has its own times, ids and user.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::value::RawValue;

/// What diagnostics call a record.
const WHAT: &str = "AKS record";

#[derive(Deserialize)]
struct Record<'a> {
    #[serde(borrow, default)]
    category: Option<Cow<'a, str>>,
    #[serde(borrow)]
    properties: Properties<'a>,
}

#[derive(Deserialize)]
struct Properties<'a> {
    #[serde(borrow, default)]
    log: Option<&'a RawValue>,
}

/// The audit event a record carries, as the text of a line to decode, or why there is none.
pub fn event_line(line: &[u8]) -> Result<Cow<'_, str>, String> {
    let r: Record = serde_json::from_slice(line).map_err(|e| {
        let m = e.to_string();
        let m = m.rsplit_once(" at line ").map_or(m.as_str(), |(h, _)| h);
        format!("{WHAT}: {m}")
    })?;
    if let Some(c) = r.category.as_deref() {
        if !c.eq_ignore_ascii_case("kube-audit") && !c.eq_ignore_ascii_case("kube-audit-admin") {
            return Err(format!(
                "{WHAT} of category {c}, not kube-audit or kube-audit-admin"
            ));
        }
    }
    let log = r
        .properties
        .log
        .ok_or_else(|| format!("{WHAT} without properties.log"))?;
    let text = log.get();
    match text.as_bytes().first() {
        Some(b'"') => serde_json::from_str::<Cow<str>>(text)
            .map_err(|e| format!("{WHAT}: properties.log: {e}")),
        Some(b'{') => Ok(Cow::Borrowed(text)),
        _ => Err(format!(
            "{WHAT}: properties.log is neither a string nor an object"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_log_is_the_event() {
        let ev = r#"{"kind":"Event","auditID":"a","stage":"ResponseComplete","verb":"create"}"#;
        let as_string = serde_json::json!({
            "category": "kube-audit",
            "time": "2024-05-01T10:00:00Z",
            "resourceId": "/SUBSCRIPTIONS/X/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.CONTAINERSERVICE/MANAGEDCLUSTERS/C",
            "properties": {"log": ev, "stream": "stdout", "pod": "kube-apiserver-1"}
        })
        .to_string();
        assert_eq!(event_line(as_string.as_bytes()).unwrap(), ev);
        let as_object = format!(r#"{{"category":"kube-audit-admin","properties":{{"log":{ev}}}}}"#);
        assert_eq!(event_line(as_object.as_bytes()).unwrap(), ev);
    }

    #[test]
    fn other_records_say_why() {
        let err = |s: &str| event_line(s.as_bytes()).unwrap_err();
        assert_eq!(
            err(r#"{"category":"kube-apiserver","properties":{"log":"I0501 ..."}}"#),
            "AKS record of category kube-apiserver, not kube-audit or kube-audit-admin"
        );
        assert_eq!(
            err(r#"{"category":"kube-audit","properties":{"pod":"x"}}"#),
            "AKS record without properties.log"
        );
        assert_eq!(
            err(r#"{"category":"kube-audit","properties":{"log":7}}"#),
            "AKS record: properties.log is neither a string nor an object"
        );
        assert!(err(r#"{"category":"kube-audit","properties":"x"}"#)
            .starts_with("AKS record: invalid type"));
    }
}
