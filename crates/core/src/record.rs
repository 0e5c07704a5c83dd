//! The few audit events ktrail keeps, turned from borrowed wire events into owned records.
//!
//! A busy cluster's log is mostly leases, node status and reads. Only pod events (and the
//! create/update/delete of webhook configurations, for provenance) are kept; their request and
//! response bodies are parsed here for the few fields that identify the pod, and kept as JSON text
//! ([`Body`]) until the timeline needs them whole.

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::admission;
use crate::audit::{self, Event, Stage};
use crate::json::tree::Tree;

mod identity;

/// What to keep: one pod, one namespace, one incarnation, a time window, reads or not.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    pub namespace: Option<String>,
    pub name: Option<String>,
    pub uid: Option<String>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    pub reads: bool,
}

impl Selection {
    pub fn in_window(&self, t: &DateTime<Utc>) -> bool {
        self.since.is_none_or(|s| *t >= s) && self.until.is_none_or(|u| *t <= u)
    }
}

/// One kept pod event (one stage of one request).
#[derive(Debug, Clone)]
pub struct Record {
    /// Input order, to keep sorting stable for events logged at the same microsecond.
    pub seq: u64,
    pub audit_id: Option<String>,
    pub stage: Stage,
    pub time: DateTime<Utc>,
    pub verb: String,
    pub subresource: Option<String>,
    pub namespace: String,
    /// `objectRef.name`, or the stored object's name for `generateName` creates, or for a denied
    /// `generateName` create its prefix.
    pub name: String,
    /// The pod uid this event names, if any.
    pub uid: Option<String>,
    pub user: String,
    pub impersonated: Option<String>,
    pub user_agent: Option<String>,
    pub code: Option<i64>,
    pub message: Option<String>,
    pub level: Option<String>,
    pub request_uri: Option<String>,
    pub webhook_annotations: Vec<(String, String)>,
    pub request: Option<Body>,
    pub response: Option<Body>,
    /// The export the event was read from.
    pub source: audit::Source,
}

/// A request or response object, kept as its JSON text until the timeline parses it.
///
/// A parsed `serde_json::Value` takes many times the memory of its text (a B-tree node and a heap
/// string per small object), and every pod write of a log is kept until the end, so parsed bodies
/// would be most of the memory of a busy cluster's log (bench/README.md). The timeline parses one
/// incarnation's bodies at a time instead.
#[derive(Debug, Clone)]
pub struct Body(Box<str>);

impl Body {
    /// The object, when the text is JSON other than `null` (it was checked when kept), read in
    /// place (see [`Tree`]).
    pub fn parse(&self) -> Option<Tree<'_>> {
        Tree::parse(&self.0).filter(|d| !d.is_null())
    }

    pub fn text(&self) -> &str {
        &self.0
    }

    /// A body from text that was a body's (read back from a spill file): not parsed again, as
    /// [`Body::parse`] reads it as any body's text.
    pub fn from_text(text: String) -> Body {
        Body(text.into_boxed_str())
    }
}

impl From<Value> for Body {
    fn from(v: Value) -> Self {
        // A Value always serializes (its keys are strings); `null` is the harmless fallback.
        Body(v.to_string().into_boxed_str())
    }
}

impl Record {
    pub fn is_read(&self) -> bool {
        matches!(self.verb.as_str(), "get" | "list" | "watch")
            && !matches!(
                self.subresource.as_deref(),
                Some("exec" | "attach" | "portforward")
            )
    }

    pub fn failed(&self) -> bool {
        self.code.is_some_and(|c| c >= 400)
    }
}

/// A write to a MutatingWebhookConfiguration or ValidatingWebhookConfiguration.
#[derive(Debug, Clone)]
pub struct ConfigEvent {
    pub seq: u64,
    pub audit_id: Option<String>,
    pub stage: Stage,
    pub time: DateTime<Utc>,
    /// "mutating" or "validating".
    pub kind: &'static str,
    pub name: String,
    pub verb: String,
    pub user: String,
    pub user_agent: Option<String>,
    pub code: Option<i64>,
    /// The names of the webhooks inside the configuration, when the body was logged.
    pub webhooks: Vec<String>,
}

#[derive(Debug)]
pub enum Extracted {
    Pod(Box<Record>),
    Config(ConfigEvent),
    /// An audit event ktrail does not need (or outside the selection).
    Other,
}

fn parse_obj(raw: Option<&str>) -> Option<Value> {
    raw.and_then(|r| serde_json::from_str(r).ok())
        .filter(|v: &Value| !v.is_null())
}

fn str_at<'v>(v: &'v Option<Value>, ptr: &str) -> Option<&'v str> {
    v.as_ref()?.pointer(ptr)?.as_str()
}

/// Turns one audit event into what ktrail keeps of it. `Err` for a pod event that cannot be used.
pub fn extract(ev: &Event<'_>, sel: &Selection) -> Result<Extracted, String> {
    let Some(obj) = &ev.object_ref else {
        return Ok(Extracted::Other);
    };
    let resource = obj.resource.as_deref().unwrap_or("");
    let core = obj.api_group.as_deref().unwrap_or("").is_empty();
    let verb = ev.verb.as_deref().unwrap_or("");
    match resource {
        "pods" if core => {}
        "mutatingwebhookconfigurations" | "validatingwebhookconfigurations"
            if !matches!(verb, "get" | "list" | "watch") =>
        {
            return Ok(config_event(ev, resource, verb));
        }
        _ => return Ok(Extracted::Other),
    }
    // exec, attach and port-forward over websockets are GETs, but they are actions on the pod.
    let streaming = matches!(
        obj.subresource.as_deref(),
        Some("exec" | "attach" | "portforward")
    );
    let is_read = matches!(verb, "get" | "list" | "watch") && !streaming;
    if is_read && !sel.reads {
        return Ok(Extracted::Other);
    }
    let Some(namespace) = obj.namespace.as_deref() else {
        // A cluster-wide list or watch of pods: not about any one pod.
        return Ok(Extracted::Other);
    };
    if sel.namespace.as_deref().is_some_and(|n| n != namespace) {
        return Ok(Extracted::Other);
    }
    let Some(time) = ev.time() else {
        return Err(format!(
            "pod event {} has no valid timestamp",
            ev.audit_id.as_deref().unwrap_or("?")
        ));
    };
    if !sel.in_window(&time) {
        return Ok(Extracted::Other);
    }
    // The name decides the selection, so look at it before parsing any body.
    if let (Some(want), Some(have)) = (sel.name.as_deref(), obj.name.as_deref()) {
        if want != have {
            return Ok(Extracted::Other);
        }
    }
    // Only the fields that identify the pod are read here; the bodies are kept as text and
    // parsed whole by the timeline (see `Body` and `identity`).
    let (request, response) = if is_read {
        (None, None)
    } else {
        (
            ev.request_object.and_then(identity::identity),
            ev.response_object.and_then(identity::identity),
        )
    };
    let (req, resp) = (request.as_ref(), response.as_ref());
    let name = match obj.name.as_deref() {
        Some(n) => n.to_owned(),
        None => {
            match resp
                .and_then(|b| b.name.clone())
                .or_else(|| req.and_then(|b| b.name.clone()))
                .or_else(|| req.and_then(|b| b.generate_name.clone()))
            {
                Some(n) => n,
                // A list or watch of a namespace's pods, or a create whose body was not logged.
                None if is_read => return Ok(Extracted::Other),
                None => String::new(),
            }
        }
    };
    if sel.name.as_deref().is_some_and(|n| n != name) {
        return Ok(Extracted::Other);
    }
    let response_is_pod = resp
        .and_then(|b| b.kind.as_deref())
        .is_none_or(|k| k == "Pod");
    let uid = obj
        .uid
        .as_deref()
        .map(str::to_owned)
        .or_else(|| {
            response_is_pod
                .then(|| resp.and_then(|b| b.uid.clone()))
                .flatten()
        })
        .or_else(|| req.and_then(|b| b.uid.clone()))
        .or_else(|| req.and_then(|b| b.preconditions_uid.clone()))
        .or_else(|| req.and_then(|b| b.delete_options_uid.clone()))
        .filter(|u| !u.is_empty());
    let status = ev.response_status.as_ref();
    let (user, impersonated) = match ev
        .impersonated_user
        .as_ref()
        .and_then(|u| u.username.as_deref())
    {
        Some(as_user) => (as_user.to_owned(), Some(ev.username().to_owned())),
        None => (ev.username().to_owned(), None),
    };
    Ok(Extracted::Pod(Box::new(Record {
        seq: 0,
        audit_id: ev.audit_id.as_deref().map(str::to_owned),
        stage: Stage::parse(ev.stage.as_deref()),
        time,
        verb: verb.to_owned(),
        subresource: obj.subresource.as_deref().map(str::to_owned),
        namespace: namespace.to_owned(),
        name,
        uid,
        user,
        impersonated,
        user_agent: ev.user_agent.as_deref().map(str::to_owned),
        code: status.and_then(|s| s.code),
        message: status
            .and_then(|s| s.message.as_deref())
            .filter(|m| !m.is_empty())
            .map(str::to_owned),
        level: ev.level.as_deref().map(str::to_owned),
        request_uri: ev.request_uri.as_deref().map(str::to_owned),
        webhook_annotations: ev
            .annotations
            .iter()
            .flatten()
            .filter(|(k, _)| admission::is_webhook_annotation(k))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        // Kept as text: the values parsed above are dropped here (see `Body`).
        request: request.and(ev.request_object).map(|r| Body(r.into())),
        response: response.and(ev.response_object).map(|r| Body(r.into())),
        source: ev.source,
    })))
}

fn config_event(ev: &Event<'_>, resource: &str, verb: &str) -> Extracted {
    let Some(time) = ev.time() else {
        return Extracted::Other;
    };
    let obj = ev.object_ref.as_ref();
    let request = parse_obj(ev.request_object);
    let name = obj
        .and_then(|o| o.name.as_deref())
        .map(str::to_owned)
        .or_else(|| str_at(&request, "/metadata/name").map(str::to_owned))
        .unwrap_or_default();
    let webhooks = request
        .as_ref()
        .and_then(|r| r.get("webhooks"))
        .and_then(Value::as_array)
        .map(|ws| {
            ws.iter()
                .filter_map(|w| w.get("name").and_then(Value::as_str).map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    Extracted::Config(ConfigEvent {
        seq: 0,
        audit_id: ev.audit_id.as_deref().map(str::to_owned),
        stage: Stage::parse(ev.stage.as_deref()),
        time,
        kind: if resource.starts_with("mutating") {
            "mutating"
        } else {
            "validating"
        },
        name,
        verb: verb.to_owned(),
        user: ev.username().to_owned(),
        user_agent: ev.user_agent.as_deref().map(str::to_owned),
        code: ev.response_status.as_ref().and_then(|s| s.code),
        webhooks,
    })
}

/// Formats a record's time.
pub fn time_str(r: &Record) -> String {
    audit::format_time(&r.time)
}
