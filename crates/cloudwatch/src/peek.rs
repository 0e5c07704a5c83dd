//! A small, allocation-light reading of one audit event, for deduplication and client-side
//! selection of what CloudWatch returns.
//!
//! Neither Logs Insights (bounded JSON field discovery) nor emulators apply filters reliably, so
//! every message that comes back is read here and kept only if it is an audit event of the
//! selection. Only the top-level fields needed for that are deserialised; everything else is
//! skipped by serde without being built. The (auditID, stage) key alone is read by walking the
//! top level with `ktrail_core::json::read`, with serde for the messages the walk leaves.

use std::borrow::Cow;

use ktrail_core::json::read::Reader;
use serde::Deserialize;
use serde_json::value::RawValue;

use super::Selection;

/// Subresources whose requests are reads by HTTP method but actions on the pod.
const ACTION_SUBRESOURCES: [&str; 3] = ["exec", "attach", "portforward"];

/// Webhook configuration resources, kept (writes only) when the selection asks for them.
const CONFIG_RESOURCES: [&str; 2] = [
    "mutatingwebhookconfigurations",
    "validatingwebhookconfigurations",
];

/// The identity of one audit record: its auditID and stage.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EventKey {
    /// `auditID`.
    pub audit_id: String,
    /// `stage` (RequestReceived, ResponseStarted, ResponseComplete, Panic).
    pub stage: String,
}

#[derive(Deserialize, Default)]
struct ObjectRef<'a> {
    #[serde(borrow, default)]
    resource: Option<Cow<'a, str>>,
    #[serde(rename = "apiGroup", borrow, default)]
    api_group: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    namespace: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    name: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    uid: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    subresource: Option<Cow<'a, str>>,
}

#[derive(Deserialize, Default)]
struct Meta<'a> {
    #[serde(borrow, default)]
    name: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    uid: Option<Cow<'a, str>>,
}

#[derive(Deserialize, Default)]
struct Preconditions<'a> {
    #[serde(borrow, default)]
    uid: Option<Cow<'a, str>>,
}

#[derive(Deserialize, Default)]
struct Body<'a> {
    #[serde(borrow, default)]
    metadata: Option<Meta<'a>>,
    #[serde(borrow, default)]
    preconditions: Option<Preconditions<'a>>,
}

/// The fields of an audit event that selection and deduplication need.
#[derive(Deserialize)]
pub struct AuditHead<'a> {
    #[serde(borrow, default)]
    kind: Option<Cow<'a, str>>,
    #[serde(rename = "auditID", borrow, default)]
    audit_id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    stage: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    verb: Option<Cow<'a, str>>,
    #[serde(rename = "objectRef", borrow, default)]
    object_ref: Option<ObjectRef<'a>>,
    #[serde(rename = "requestObject", borrow, default)]
    request_object: Option<&'a RawValue>,
    #[serde(rename = "responseObject", borrow, default)]
    response_object: Option<&'a RawValue>,
}

fn body(raw: Option<&RawValue>) -> Body<'_> {
    raw.and_then(|r| serde_json::from_str::<Body<'_>>(r.get()).ok())
        .unwrap_or_default()
}

impl<'a> AuditHead<'a> {
    /// Reads the head of an audit event; `None` when `message` is not a JSON audit event with an
    /// auditID and a stage.
    pub fn parse(message: &'a str) -> Option<AuditHead<'a>> {
        let head: AuditHead<'a> = serde_json::from_str(message.trim()).ok()?;
        if head.kind.as_deref() != Some("Event") {
            return None;
        }
        if head.audit_id.as_deref().is_none_or(str::is_empty)
            || head.stage.as_deref().is_none_or(str::is_empty)
        {
            return None;
        }
        Some(head)
    }

    /// The (auditID, stage) of the event.
    pub fn key(&self) -> EventKey {
        EventKey {
            audit_id: self.audit_id.as_deref().unwrap_or_default().to_string(),
            stage: self.stage.as_deref().unwrap_or_default().to_string(),
        }
    }

    /// Whether the event belongs to the selection (see [`Selection`] for the rules).
    pub fn matches(&self, sel: &Selection) -> bool {
        let empty = ObjectRef::default();
        let obj = self.object_ref.as_ref().unwrap_or(&empty);
        let verb = self.verb.as_deref().unwrap_or_default();
        let read = matches!(verb, "get" | "list" | "watch")
            && !obj
                .subresource
                .as_deref()
                .is_some_and(|s| ACTION_SUBRESOURCES.contains(&s));
        let resource = obj.resource.as_deref().unwrap_or_default();
        if !sel.all_resources {
            if sel.configs && CONFIG_RESOURCES.contains(&resource) {
                return !read;
            }
            // Core pods only (metrics.k8s.io also has a `pods` resource).
            if resource != "pods" || obj.api_group.as_deref().is_some_and(|g| !g.is_empty()) {
                return false;
            }
        }
        if read && !sel.reads {
            return false;
        }
        if let Some(ns) = &sel.namespace {
            if obj.namespace.as_deref() != Some(ns.as_str()) {
                return false;
            }
        }
        if let Some(name) = &sel.name {
            match obj.name.as_deref() {
                Some(n) if !n.is_empty() => return n == name,
                _ => {
                    // generateName creates: the name is only in the bodies.
                    let resp = body(self.response_object);
                    let req = body(self.request_object);
                    let named = |b: &Body<'_>| {
                        b.metadata
                            .as_ref()
                            .and_then(|m| m.name.as_deref())
                            .is_some_and(|n| n == name)
                    };
                    return named(&resp) || named(&req);
                }
            }
        }
        if let Some(uid) = &sel.uid {
            let uid = uid.as_str();
            if obj.uid.as_deref() == Some(uid) {
                return true;
            }
            let req = body(self.request_object);
            let resp = body(self.response_object);
            let meta_uid = |b: &Body<'_>| {
                b.metadata.as_ref().and_then(|m| m.uid.as_deref()) == Some(uid)
                    || b.preconditions.as_ref().and_then(|p| p.uid.as_deref()) == Some(uid)
            };
            return meta_uid(&req) || meta_uid(&resp);
        }
        true
    }
}

#[derive(Deserialize)]
struct KeyOnly<'a> {
    #[serde(rename = "auditID", borrow, default)]
    audit_id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    stage: Option<Cow<'a, str>>,
}

/// The (auditID, stage) of a raw audit event line, or `None` when it has none.
///
/// Reads only the top level, so an `auditID` or `stage` key inside a request body is never
/// mistaken for the event's own. The answer is serde's (a `KeyOnly`); most messages are walked
/// with `ktrail_core::json::read` instead of deserialised (see [`walk_key`]).
pub fn peek(message: &str) -> Option<EventKey> {
    let message = message.trim();
    let (audit_id, stage) = match walk_key(message) {
        Some((a, s)) => (a.map(Cow::Borrowed), s.map(Cow::Borrowed)),
        None => {
            let k: KeyOnly<'_> = serde_json::from_str(message).ok()?;
            (k.audit_id, k.stage)
        }
    };
    let audit_id = audit_id.filter(|s| !s.is_empty())?.into_owned();
    let stage = stage.filter(|s| !s.is_empty())?.into_owned();
    Some(EventKey { audit_id, stage })
}

/// The top-level `auditID` and `stage` of a message (each `None` when absent or null), when the
/// walk is sure that serde reads the same into a `KeyOnly`: one object, valid to its end, whose
/// other values serde would skip with the same checks. `None` for whatever the walk leaves to
/// serde: a control character, a deep value, anything but an object, an escaped key (serde
/// compares keys decoded), an escaped or non-string value of either field, a repeated field.
fn walk_key(message: &str) -> Option<(Option<&str>, Option<&str>)> {
    let mut r = Reader::checked_str(message)?;
    let mut found: [Option<&[u8]>; 2] = [None, None];
    let mut seen = [false; 2];
    r.object(|r, k| {
        let at = match k.plain()? {
            b"auditID" => 0,
            b"stage" => 1,
            _ => return r.skip_value(),
        };
        if std::mem::replace(&mut seen[at], true) {
            return None;
        }
        if !r.null()? {
            found[at] = Some(r.string()?.plain()?);
        }
        Some(())
    })?;
    if !r.at_end() {
        return None;
    }
    fn text(b: Option<&[u8]>) -> Option<Option<&str>> {
        b.map(std::str::from_utf8).transpose().ok()
    }
    Some((text(found[0])?, text(found[1])?))
}

#[cfg(test)]
mod tests {
    use super::*;

    const CREATE: &str = r#"{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"RequestResponse","auditID":"a1","stage":"ResponseComplete","verb":"create","objectRef":{"resource":"pods","namespace":"fargate-ns","apiVersion":"v1"},"requestObject":{"kind":"Pod","metadata":{"generateName":"web-","labels":{"stage":"prod"}}},"responseObject":{"kind":"Pod","metadata":{"name":"web-x2x9q","uid":"3f2b6c1e-9d4a-4b8e-a1c2-0e5f7a9b1c3d"}}}"#;

    fn sel(ns: Option<&str>, name: Option<&str>, uid: Option<&str>) -> Selection {
        Selection {
            namespace: ns.map(Into::into),
            name: name.map(Into::into),
            uid: uid.map(Into::into),
            ..Selection::default()
        }
    }

    #[test]
    fn peek_reads_top_level_only() {
        let k = peek(CREATE).expect("key");
        assert_eq!(k.audit_id, "a1");
        assert_eq!(k.stage, "ResponseComplete");
        let sorted = r#"{"annotations":{},"requestObject":{"stage":"x","auditID":"y"},"auditID":"a2","stage":"RequestReceived"}"#;
        let k = peek(sorted).expect("key");
        assert_eq!(
            (k.audit_id.as_str(), k.stage.as_str()),
            ("a2", "RequestReceived")
        );
        for bad in [
            "",
            "not json",
            "{}",
            "[1]",
            "{\"auditID\":\"\"}",
            "I0920 20:17:17 klog line",
            "{\"auditID\":1}",
        ] {
            assert!(peek(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn peek_answers_as_serde_does() {
        let by_serde = |m: &str| {
            let k: KeyOnly<'_> = serde_json::from_str(m.trim()).ok()?;
            let audit_id = k.audit_id.filter(|s| !s.is_empty())?.into_owned();
            let stage = k.stage.filter(|s| !s.is_empty())?.into_owned();
            Some(EventKey { audit_id, stage })
        };
        let walked = [
            CREATE,
            r#" {"auditID":"a","stage":"s","x":[1,{"auditID":"b"}]} "#,
            r#"{"auditID":"a","stage":null}"#,
            r#"{"auditID":"","stage":"s"}"#,
            r#"{"auditID":"a","stage":"s","x":"\ud800"}"#,
            "{}",
        ];
        for m in walked {
            assert!(walk_key(m.trim()).is_some(), "{m}");
            assert_eq!(peek(m), by_serde(m), "{m}");
        }
        let left = [
            r#"{"audit\u0049D":"a","stage":"s"}"#,
            r#"{"auditID":"\u0061","stage":"s"}"#,
            r#"{"auditID":"a","auditID":"b","stage":"s"}"#,
            r#"{"auditID":1,"stage":"s"}"#,
            "{\"auditID\":\"a\",\n\"stage\":\"s\"}",
            r#"["a","s"]"#,
            r#"{"auditID":"a","stage":"s"}x"#,
            r#"{"auditID":"a","stage":"s""#,
            "not json",
            "",
        ];
        for m in left {
            assert!(walk_key(m.trim()).is_none(), "{m}");
            assert_eq!(peek(m), by_serde(m), "{m}");
        }
        let deep = format!(
            r#"{{"auditID":"a","stage":"s","x":{}1{}}}"#,
            "[".repeat(100),
            "]".repeat(100)
        );
        assert!(walk_key(&deep).is_none());
        assert_eq!(peek(&deep), by_serde(&deep));
        assert!(peek(&deep).is_some());
    }

    #[test]
    fn generate_name_create_matches_by_response_name() {
        let h = AuditHead::parse(CREATE).expect("head");
        assert!(h.matches(&sel(Some("fargate-ns"), Some("web-x2x9q"), None)));
        assert!(!h.matches(&sel(Some("fargate-ns"), Some("web"), None)));
        assert!(!h.matches(&sel(Some("default"), Some("web-x2x9q"), None)));
        assert!(h.matches(&sel(
            None,
            None,
            Some("3f2b6c1e-9d4a-4b8e-a1c2-0e5f7a9b1c3d")
        )));
        assert!(!h.matches(&sel(
            None,
            None,
            Some("00000000-9d4a-4b8e-a1c2-0e5f7a9b1c3d")
        )));
    }

    #[test]
    fn reads_and_resources() {
        let get = r#"{"kind":"Event","auditID":"b","stage":"ResponseComplete","verb":"get","objectRef":{"resource":"pods","namespace":"d","name":"p"}}"#;
        let exec = r#"{"kind":"Event","auditID":"c","stage":"ResponseStarted","verb":"get","objectRef":{"resource":"pods","namespace":"d","name":"p","subresource":"exec"}}"#;
        let cm = r#"{"kind":"Event","auditID":"d","stage":"ResponseComplete","verb":"update","objectRef":{"resource":"configmaps","namespace":"d","name":"p"}}"#;
        let s = sel(Some("d"), Some("p"), None);
        assert!(!AuditHead::parse(get).expect("h").matches(&s));
        assert!(AuditHead::parse(exec).expect("h").matches(&s));
        assert!(!AuditHead::parse(cm).expect("h").matches(&s));
        let all = Selection {
            all_resources: true,
            reads: true,
            ..Selection::default()
        };
        for m in [get, exec, cm] {
            assert!(AuditHead::parse(m).expect("h").matches(&all));
        }
    }

    #[test]
    fn webhook_configuration_writes_ride_along() {
        let create = r#"{"kind":"Event","auditID":"w","stage":"ResponseComplete","verb":"create","objectRef":{"resource":"mutatingwebhookconfigurations","name":"0500-amazon-eks-fargate-mutation.amazonaws.com","apiGroup":"admissionregistration.k8s.io"}}"#;
        let get = create.replace("\"create\"", "\"get\"");
        let metrics = r#"{"kind":"Event","auditID":"m","stage":"ResponseComplete","verb":"create","objectRef":{"resource":"pods","namespace":"d","name":"p","apiGroup":"metrics.k8s.io"}}"#;
        let mut s = sel(Some("d"), Some("p"), None);
        assert!(!AuditHead::parse(create).expect("h").matches(&s));
        s.configs = true;
        s.reads = true;
        assert!(AuditHead::parse(create).expect("h").matches(&s));
        assert!(!AuditHead::parse(&get).expect("h").matches(&s));
        assert!(!AuditHead::parse(metrics).expect("h").matches(&s));
    }

    #[test]
    fn non_audit_lines_are_refused() {
        for m in [
            "I0920 20:17:17.328703       1 trace.go:205] Trace[1]",
            r#"{"kind":"Pod","auditID":"x","stage":"y"}"#,
            r#"{"kind":"Event","stage":"y"}"#,
            r#"{"kind":"Event","auditID":"x","stage":"y","objectRef":"oops"}"#,
            "\u{0}\u{1}",
        ] {
            assert!(AuditHead::parse(m).is_none(), "{m}");
        }
        // A body of an unexpected shape does not hide the event.
        let odd = r#"{"kind":"Event","auditID":"x","stage":"y","verb":"create","objectRef":{"resource":"pods","namespace":"d"},"responseObject":[1,2]}"#;
        let h = AuditHead::parse(odd).expect("head");
        assert!(h.matches(&sel(Some("d"), None, None)));
        assert!(!h.matches(&sel(Some("d"), Some("p"), None)));
    }
}
