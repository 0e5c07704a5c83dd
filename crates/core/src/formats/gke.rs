//! GKE: Kubernetes audit logs as Cloud Logging `LogEntry`s (`cloudaudit.googleapis.com/activity`
//! and `/data_access`, `resource.type: k8s_cluster`), one per line (a Log Router sink) or as the
//! elements of the array `gcloud logging read --format=json` prints.
//!
//! An entry is rewritten into the audit.k8s.io `Event` the API server logged before Cloud Logging
//! reshaped it, so the engine reads it as any other:
//!
//! | LogEntry | Event |
//! |---|---|
//! | `protoPayload.methodName` (`io.k8s.core.v1.pods.binding.create`) | `verb` (its last word); resource and subresource when `resourceName` lacks them |
//! | `protoPayload.resourceName` (`core/v1/namespaces/NS/pods/NAME[/SUB]`) | `objectRef` (group `core` is the core group), and a `requestURI` rebuilt from it (Cloud Logging keeps no query string) |
//! | `protoPayload.authenticationInfo.principalEmail` | `user.username` |
//! | `protoPayload.requestMetadata.callerIp`, `.callerSuppliedUserAgent` | `sourceIPs`, `userAgent` |
//! | `protoPayload.request`, `.response` without their `@type` | `requestObject`, `responseObject`; which are present gives the `level` |
//! | the entry's `labels` | `annotations` (the admission webhooks' annotations among them) |
//! | `operation.id`, else `insertId` | `auditID` |
//! | `operation.first` without `last` | stage `ResponseStarted` (a long-running request's first entry); otherwise `ResponseComplete` |
//! | `protoPayload.status` (a gRPC code and message) | `responseStatus`: the HTTP code of a `Status` response when there is one, else the gRPC code's HTTP equivalent (OK: 201 for a create, else 200) |
//! | `timestamp` | `requestReceivedTimestamp` and `stageTimestamp` |

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

/// What diagnostics call an entry.
const WHAT: &str = "GKE LogEntry";

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Entry<'a> {
    #[serde(borrow)]
    proto_payload: Payload<'a>,
    #[serde(borrow, default)]
    timestamp: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    labels: Option<BTreeMap<Cow<'a, str>, Cow<'a, str>>>,
    #[serde(borrow, default)]
    operation: Option<Operation<'a>>,
    #[serde(borrow, default)]
    insert_id: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Payload<'a> {
    #[serde(borrow, default)]
    service_name: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    method_name: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    resource_name: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    authentication_info: Option<AuthenticationInfo<'a>>,
    #[serde(borrow, default)]
    request_metadata: Option<RequestMetadata<'a>>,
    #[serde(borrow, default)]
    request: Option<&'a RawValue>,
    #[serde(borrow, default)]
    response: Option<&'a RawValue>,
    #[serde(borrow, default)]
    status: Option<GrpcStatus<'a>>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct AuthenticationInfo<'a> {
    #[serde(borrow, default)]
    principal_email: Option<Cow<'a, str>>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct RequestMetadata<'a> {
    #[serde(borrow, default)]
    caller_ip: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    caller_supplied_user_agent: Option<Cow<'a, str>>,
}

#[derive(Deserialize, Default)]
struct GrpcStatus<'a> {
    #[serde(default)]
    code: Option<i64>,
    #[serde(borrow, default)]
    message: Option<Cow<'a, str>>,
}

#[derive(Deserialize, Default)]
struct Operation<'a> {
    #[serde(borrow, default)]
    id: Option<Cow<'a, str>>,
    #[serde(default)]
    first: Option<bool>,
    #[serde(default)]
    last: Option<bool>,
}

/// The audit event written back, field names as audit.k8s.io/v1 has them.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Event<'a> {
    kind: &'static str,
    api_version: &'static str,
    level: &'static str,
    #[serde(rename = "auditID")]
    audit_id: &'a str,
    stage: &'static str,
    #[serde(rename = "requestURI", skip_serializing_if = "Option::is_none")]
    request_uri: Option<String>,
    verb: &'a str,
    user: User<'a>,
    #[serde(rename = "sourceIPs", skip_serializing_if = "Vec::is_empty")]
    source_ips: Vec<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    user_agent: Option<&'a str>,
    object_ref: ObjectRef<'a>,
    response_status: ResponseStatus<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    request_object: Option<Box<RawValue>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    response_object: Option<Box<RawValue>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    request_received_timestamp: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    stage_timestamp: Option<&'a str>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    annotations: BTreeMap<&'a str, &'a str>,
}

#[derive(Serialize)]
struct User<'a> {
    username: &'a str,
}

#[derive(Serialize, Default, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
struct ObjectRef<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    resource: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    namespace: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    api_group: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    api_version: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    subresource: Option<&'a str>,
}

#[derive(Serialize)]
struct ResponseStatus<'a> {
    code: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<&'a str>,
}

/// Rewrites one `LogEntry` (a JSON object with a `protoPayload`) as the JSON text of an audit
/// event, or says why it cannot be.
pub fn to_event(line: &[u8]) -> Result<String, String> {
    let e: Entry = serde_json::from_slice(line).map_err(|e| format!("{WHAT}: {}", short(&e)))?;
    let p = &e.proto_payload;
    if let Some(s) = p.service_name.as_deref().filter(|s| *s != "k8s.io") {
        return Err(format!(
            "a Cloud Logging audit entry of {s}, not of Kubernetes (k8s.io)"
        ));
    }
    let method = p
        .method_name
        .as_deref()
        .ok_or_else(|| format!("{WHAT} without protoPayload.methodName"))?;
    let verb = method.rsplit('.').next().unwrap_or(method);
    let mut obj = p
        .resource_name
        .as_deref()
        .map(object_ref)
        .unwrap_or_default();
    if obj.resource.is_none() {
        let (resource, subresource) = method_resource(method);
        obj.resource = resource;
        obj.subresource = subresource;
    }
    let audit_id = e
        .operation
        .as_ref()
        .and_then(|o| o.id.as_deref())
        .or(e.insert_id.as_deref())
        .filter(|id| !id.is_empty())
        .ok_or_else(|| format!("{WHAT} without operation.id or insertId"))?;
    let stage = match e.operation.as_ref() {
        Some(Operation {
            first: Some(true),
            last: None | Some(false),
            ..
        }) => "ResponseStarted",
        _ => "ResponseComplete",
    };
    let request = p.request.map(without_type).transpose()?;
    let response = p.response.map(without_type).transpose()?;
    let level = match (&request, &response) {
        (_, Some(_)) => "RequestResponse",
        (Some(_), None) => "Request",
        (None, None) => "Metadata",
    };
    let status = p.status.as_ref();
    let answer = p.response.and_then(status_response);
    let code = answer.as_ref().and_then(|a| a.code).unwrap_or_else(|| {
        match status.and_then(|s| s.code).unwrap_or(0) {
            0 if verb == "create" => 201,
            c => http_code(c),
        }
    });
    let auth = p.authentication_info.as_ref();
    let meta = p.request_metadata.as_ref();
    let time = e.timestamp.as_deref();
    let ev = Event {
        kind: "Event",
        api_version: "audit.k8s.io/v1",
        level,
        audit_id,
        stage,
        request_uri: p.resource_name.as_deref().and_then(request_uri),
        verb,
        user: User {
            username: auth
                .and_then(|a| a.principal_email.as_deref())
                .unwrap_or(""),
        },
        source_ips: meta
            .and_then(|m| m.caller_ip.as_deref())
            .into_iter()
            .collect(),
        user_agent: meta.and_then(|m| m.caller_supplied_user_agent.as_deref()),
        object_ref: obj,
        response_status: ResponseStatus {
            code,
            message: status
                .and_then(|s| s.message.as_deref())
                .or(answer.as_ref().and_then(|a| a.message.as_deref()))
                .filter(|m| !m.is_empty()),
        },
        request_object: request,
        response_object: response,
        request_received_timestamp: time,
        stage_timestamp: time,
        annotations: e
            .labels
            .iter()
            .flatten()
            .map(|(k, v)| (k.as_ref(), v.as_ref()))
            .collect(),
    };
    serde_json::to_string(&ev).map_err(|e| format!("{WHAT}: {e}"))
}

/// `GROUP/VERSION[/namespaces/NS]/RESOURCE[/NAME[/SUBRESOURCE]]`; group `core` is the core group.
fn object_ref(name: &str) -> ObjectRef<'_> {
    let parts: Vec<&str> = name.split('/').collect();
    let mut r = ObjectRef::default();
    let [group, version, rest @ ..] = parts.as_slice() else {
        return r;
    };
    if *group != "core" {
        r.api_group = Some(group);
    }
    r.api_version = Some(version);
    let rest = match rest {
        // A namespace itself: `core/v1/namespaces/NS`.
        ["namespaces", ns] => {
            r.resource = Some("namespaces");
            r.name = Some(ns);
            return r;
        }
        ["namespaces", ns, rest @ ..] => {
            r.namespace = Some(ns);
            rest
        }
        rest => rest,
    };
    r.resource = rest.first().copied().filter(|s| !s.is_empty());
    r.name = rest.get(1).copied().filter(|s| !s.is_empty());
    r.subresource = rest.get(2).copied().filter(|s| !s.is_empty());
    r
}

/// The resource and subresource named by a method (`io.k8s.core.v1.pods.status.patch`): the
/// words between the version and the verb.
fn method_resource(method: &str) -> (Option<&str>, Option<&str>) {
    let words: Vec<&str> = method.split('.').collect();
    let Some(v) = words.iter().position(|w| is_version(w)) else {
        return (None, None);
    };
    let between = &words[v + 1..words.len().saturating_sub(1).max(v + 1)];
    (between.first().copied(), between.get(1).copied())
}

fn is_version(w: &str) -> bool {
    let Some(rest) = w.strip_prefix('v') else {
        return false;
    };
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    let tail = &rest[digits..];
    digits > 0
        && (tail.is_empty()
            || ["alpha", "beta"].iter().any(|p| {
                tail.strip_prefix(p)
                    .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
            }))
}

/// The request's path as the API server saw it, without the query string Cloud Logging drops.
fn request_uri(name: &str) -> Option<String> {
    let (group, rest) = name.split_once('/')?;
    Some(if group == "core" {
        format!("/api/{rest}")
    } else {
        format!("/apis/{group}/{rest}")
    })
}

/// A body without its top-level `@type` (the protobuf type URL Cloud Logging adds), keys in
/// their order.
fn without_type(raw: &RawValue) -> Result<Box<RawValue>, String> {
    /// An object's entries in their order (a map type would sort or hash them).
    struct Entries<'a>(Vec<(Cow<'a, str>, &'a RawValue)>);
    impl<'de: 'a, 'a> Deserialize<'de> for Entries<'a> {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V<'a>(std::marker::PhantomData<&'a ()>);
            impl<'de: 'a, 'a> serde::de::Visitor<'de> for V<'a> {
                type Value = Entries<'a>;
                fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                    f.write_str("an object")
                }
                fn visit_map<A: serde::de::MapAccess<'de>>(
                    self,
                    mut m: A,
                ) -> Result<Entries<'a>, A::Error> {
                    let mut v = Vec::new();
                    while let Some(e) = m.next_entry::<Cow<'de, str>, &'de RawValue>()? {
                        v.push(e);
                    }
                    Ok(Entries(v))
                }
            }
            d.deserialize_map(V(std::marker::PhantomData))
        }
    }
    let text = raw.get();
    if !text.starts_with('{') {
        return Ok(raw.to_owned());
    }
    let entries: Entries =
        serde_json::from_str(text).map_err(|e| format!("{WHAT}: body: {}", short(&e)))?;
    let mut out = String::with_capacity(text.len());
    out.push('{');
    for (k, v) in entries.0.iter().filter(|(k, _)| k != "@type") {
        if out.len() > 1 {
            out.push(',');
        }
        out.push_str(&serde_json::to_string(k).map_err(|e| e.to_string())?);
        out.push(':');
        out.push_str(v.get());
    }
    out.push('}');
    RawValue::from_string(out).map_err(|e| format!("{WHAT}: body: {e}"))
}

/// A `Status` response (`{"kind":"Status","code":403,"message":…}`): the API server's own answer,
/// more exact than the gRPC code Cloud Logging derives from it.
#[derive(Deserialize)]
struct StatusResponse<'a> {
    #[serde(borrow, default)]
    kind: Option<Cow<'a, str>>,
    #[serde(default)]
    code: Option<i64>,
    #[serde(borrow, default)]
    message: Option<Cow<'a, str>>,
}

fn status_response(body: &RawValue) -> Option<StatusResponse<'_>> {
    let s: StatusResponse = serde_json::from_str(body.get()).ok()?;
    (s.kind.as_deref() == Some("Status")).then_some(s)
}

/// The HTTP code the API server answered with, from the gRPC code Cloud Logging logs instead
/// (the mapping of google.rpc.Code to HTTP).
pub fn http_code(grpc: i64) -> i64 {
    match grpc {
        0 => 200,
        1 => 499,
        3 | 9 | 11 => 400,
        4 => 504,
        5 => 404,
        6 | 10 => 409,
        7 => 403,
        8 => 429,
        12 => 501,
        14 => 503,
        16 => 401,
        _ => 500,
    }
}

/// serde_json's message without its position: an entry is one line, or one array element whose
/// line the caller names.
fn short(e: &serde_json::Error) -> String {
    let m = e.to_string();
    match m.rsplit_once(" at line ") {
        Some((head, _)) => head.to_owned(),
        None => m,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_names_become_object_refs() {
        let r = object_ref("core/v1/namespaces/default/pods/web/binding");
        assert_eq!(
            r,
            ObjectRef {
                resource: Some("pods"),
                namespace: Some("default"),
                name: Some("web"),
                api_group: None,
                api_version: Some("v1"),
                subresource: Some("binding"),
            }
        );
        let r =
            object_ref("admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/pod-ready");
        assert_eq!(r.api_group, Some("admissionregistration.k8s.io"));
        assert_eq!(r.resource, Some("mutatingwebhookconfigurations"));
        assert_eq!(r.name, Some("pod-ready"));
        assert_eq!(r.namespace, None);
        let r = object_ref("core/v1/namespaces/kube-system");
        assert_eq!(
            (r.resource, r.name),
            (Some("namespaces"), Some("kube-system"))
        );
        let r = object_ref("core/v1/namespaces/default/pods");
        assert_eq!((r.resource, r.name), (Some("pods"), None));
        assert_eq!(object_ref("nonsense"), ObjectRef::default());
        assert_eq!(
            request_uri("core/v1/namespaces/a/pods/b").as_deref(),
            Some("/api/v1/namespaces/a/pods/b")
        );
        assert_eq!(
            request_uri("apps/v1/namespaces/a/deployments/b").as_deref(),
            Some("/apis/apps/v1/namespaces/a/deployments/b")
        );
    }

    #[test]
    fn methods_name_resource_and_subresource() {
        assert_eq!(
            method_resource("io.k8s.core.v1.pods.binding.create"),
            (Some("pods"), Some("binding"))
        );
        assert_eq!(
            method_resource("io.k8s.core.v1.pods.create"),
            (Some("pods"), None)
        );
        assert_eq!(
            method_resource("io.k8s.policy.v1beta1.poddisruptionbudgets.get"),
            (Some("poddisruptionbudgets"), None)
        );
        assert_eq!(method_resource("io.k8s.core.v1"), (None, None));
        assert_eq!(method_resource("nothing"), (None, None));
        assert!(is_version("v1") && is_version("v1beta1") && is_version("v2alpha3"));
        assert!(!is_version("v") && !is_version("vbeta1") && !is_version("v1beta"));
    }

    #[test]
    fn an_entry_becomes_an_event() {
        let line = br#"{"protoPayload":{"@type":"type.googleapis.com/google.cloud.audit.AuditLog","authenticationInfo":{"principalEmail":"dev@example.com"},"methodName":"io.k8s.core.v1.pods.create","resourceName":"core/v1/namespaces/default/pods/web","serviceName":"k8s.io","requestMetadata":{"callerIp":"192.0.2.7","callerSuppliedUserAgent":"kubectl/v1.29.1"},"request":{"@type":"core.k8s.io/v1.Pod","kind":"Pod","metadata":{"name":"web"}},"response":{"metadata":{"name":"web"},"@type":"core.k8s.io/v1.Pod","kind":"Pod"},"status":{}},"timestamp":"2024-05-01T10:00:00.123456Z","labels":{"mutation.webhook.admission.k8s.io/round_0_index_0":"{}"},"operation":{"id":"op-1","producer":"k8s.io","first":true,"last":true}}"#;
        let text = to_event(line).unwrap();
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["auditID"], "op-1");
        assert_eq!(v["verb"], "create");
        assert_eq!(v["stage"], "ResponseComplete");
        assert_eq!(v["level"], "RequestResponse");
        assert_eq!(v["user"]["username"], "dev@example.com");
        assert_eq!(v["userAgent"], "kubectl/v1.29.1");
        assert_eq!(v["sourceIPs"][0], "192.0.2.7");
        assert_eq!(v["objectRef"]["namespace"], "default");
        assert_eq!(v["objectRef"]["name"], "web");
        assert!(v["objectRef"].get("apiGroup").is_none());
        assert_eq!(v["responseStatus"]["code"], 201);
        assert_eq!(v["stageTimestamp"], "2024-05-01T10:00:00.123456Z");
        assert_eq!(v["requestURI"], "/api/v1/namespaces/default/pods/web");
        assert_eq!(
            v["annotations"]["mutation.webhook.admission.k8s.io/round_0_index_0"],
            "{}"
        );
        assert!(!text.contains("@type"), "{text}");
        // Key order is kept: `metadata` still comes before `kind` in the response.
        assert!(text.contains(r#""responseObject":{"metadata""#), "{text}");
    }

    #[test]
    fn status_and_stage() {
        let entry = |status: &str, op: &str, response: &str| {
            format!(
                r#"{{"protoPayload":{{"methodName":"io.k8s.core.v1.pods.create","resourceName":"core/v1/namespaces/a/pods/b","status":{status}{response}}},"timestamp":"2024-05-01T10:00:00Z","operation":{op}}}"#
            )
        };
        let get = |s: &str| -> serde_json::Value {
            serde_json::from_str(&to_event(s.as_bytes()).unwrap()).unwrap()
        };
        let v = get(&entry(
            r#"{"code":7,"message":"admission webhook \"deny.example.com\" denied the request"}"#,
            r#"{"id":"x","first":true,"last":true}"#,
            "",
        ));
        assert_eq!(v["responseStatus"]["code"], 403);
        assert_eq!(
            v["responseStatus"]["message"],
            "admission webhook \"deny.example.com\" denied the request"
        );
        assert_eq!(v["level"], "Metadata");
        // A Status response gives the exact HTTP code (422 is INVALID_ARGUMENT, 400, in gRPC).
        let v = get(&entry(
            r#"{"code":3,"message":"invalid"}"#,
            r#"{"id":"x"}"#,
            r#","response":{"@type":"core.k8s.io/v1.Status","kind":"Status","code":422}"#,
        ));
        assert_eq!(v["responseStatus"]["code"], 422);
        // Without a gRPC status, the Status response says it all.
        let v = get(&entry(
            "{}",
            r#"{"id":"x"}"#,
            r#","response":{"kind":"Status","code":403,"message":"pods \"b\" is forbidden"}"#,
        ));
        assert_eq!(v["responseStatus"]["code"], 403);
        assert_eq!(v["responseStatus"]["message"], "pods \"b\" is forbidden");
        let v = get(&entry("{}", r#"{"id":"x","first":true}"#, ""));
        assert_eq!(v["stage"], "ResponseStarted");
        let v = get(&entry("{}", r#"{"id":"x","last":true}"#, ""));
        assert_eq!(v["stage"], "ResponseComplete");
        for (grpc, http) in [
            (0, 200),
            (5, 404),
            (6, 409),
            (7, 403),
            (10, 409),
            (16, 401),
            (99, 500),
        ] {
            assert_eq!(http_code(grpc), http);
        }
    }

    #[test]
    fn malformed_entries_say_why() {
        let err = |s: &str| to_event(s.as_bytes()).unwrap_err();
        assert_eq!(
            err(
                r#"{"protoPayload":{"resourceName":"core/v1/namespaces/a/pods/b"},"insertId":"i"}"#
            ),
            "GKE LogEntry without protoPayload.methodName"
        );
        assert_eq!(
            err(r#"{"protoPayload":{"methodName":"io.k8s.core.v1.pods.create"}}"#),
            "GKE LogEntry without operation.id or insertId"
        );
        assert!(err(r#"{"protoPayload":7}"#).starts_with("GKE LogEntry: invalid type"));
        assert!(
            err(r#"{"protoPayload":{"serviceName":"compute.googleapis.com"}}"#)
                .contains("compute.googleapis.com")
        );
        assert!(err(
            r#"{"protoPayload":{"methodName":"io.k8s.core.v1.pods.create","request":{"a":1,"a"}},"insertId":"i"}"#
        )
        .starts_with("GKE LogEntry"));
    }
}
