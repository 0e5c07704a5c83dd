//! Blame: a pod's object rebuilt write by write from the log, every leaf field with who set it
//! last (and, when asked, every earlier value with its author).
//!
//! The state is rebuilt by applying each logged write to the last state: a create's request, then
//! its webhooks' JSON Patches in call order, then what the stored object shows beyond them
//! (built-in admission); later updates (whole objects), patches ([`patch`]), status writes and
//! bindings. Authorship is folded alongside the state in a tree of the same shape ([`Node`]):
//! a leaf whose value did not change keeps its author, a changed one takes the write's author and
//! pushes its old value onto its history. Lists are matched element by element by their merge key
//! (containers by name, conditions by type, …), so an element inserted before another does not
//! make the later one look rewritten.
//!
//! Where a write's response object is logged, the rebuilt state is checked against it: a
//! difference is a [`Note`] and the logged value is kept, credited to no one. Fields the log cannot
//! account for (an object created before the log begins, a write logged below Request level) are
//! credited to [`Kind::Unknown`] with the reason, never guessed.
//!
//! The types here are a JSON contract (`schemaVersion` 1), like the timeline's.

pub mod diff;
pub mod patch;
#[cfg(test)]
mod tests;

use std::cell::RefCell;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::admission::{self, escape_token, WebhookCall};
use crate::audit::format_time;
use crate::record::Record;
use crate::timeline::{Incarnation, BUILTIN};

pub const SCHEMA_VERSION: u32 = 1;

/// Who is credited with what the API server itself sets on a create (uid, creation time, …).
pub const APISERVER: &str = "kube-apiserver";

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub schema_version: u32,
    pub pods: Vec<PodBlame>,
}

/// One incarnation's object as it stood at `at`, field by field.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PodBlame {
    pub namespace: String,
    pub name: String,
    pub uid: Option<String>,
    /// The time the object is shown at: `--at`, or the last write applied.
    pub at: Option<String>,
    pub fields: Vec<Field>,
    /// When the pod was created (offsets are counted from it), or first seen.
    #[serde(skip)]
    pub created: Option<DateTime<Utc>>,
    /// What the log could not account for: mismatches with logged responses, unlogged writes,
    /// patches that did not apply.
    #[serde(skip)]
    pub notes: Vec<Note>,
    /// The rebuilt object whole, in the log's key order (the fields are its leaves).
    #[serde(skip)]
    pub object: Option<Value>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Field {
    /// A JSON Pointer.
    pub path: String,
    pub value: Value,
    pub set_by: SetBy,
    /// Earlier values, oldest first (only with `history`).
    pub history: Vec<Earlier>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Earlier {
    pub value: Value,
    pub set_by: SetBy,
}

/// What kind of author set a field.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    User,
    Webhook,
    Builtin,
    Scheduler,
    Kubelet,
    Controller,
    Unknown,
}

/// The author of a field's value and the write that set it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SetBy {
    pub kind: Kind,
    /// The user, the webhook's name or the built-in step; `None` when unknown.
    pub name: Option<String>,
    pub time: Option<String>,
    #[serde(rename = "auditID")]
    pub audit_id: Option<String>,
    /// The kind of request that wrote it (`create`, `update`, `patch`, `status`, `binding`, …).
    pub event: Option<String>,
    #[serde(skip)]
    pub detail: Detail,
}

/// What the table shows beyond the JSON contract.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Detail {
    pub at: Option<DateTime<Utc>>,
    pub user_agent: Option<String>,
    /// A webhook's (round, index).
    pub call: Option<(u32, u32)>,
    /// Why the author is unknown.
    pub why: Option<&'static str>,
}

/// Something about the rebuilt object a reader must know.
#[derive(Debug, Clone, PartialEq)]
pub struct Note {
    pub time: Option<DateTime<Utc>>,
    pub audit_id: Option<String>,
    pub text: String,
}

pub const WHY_BEFORE_LOG: &str = "not in the log: set before the log begins";
pub const WHY_UNLOGGED: &str = "set by a write logged below Request level";
pub const WHY_MISMATCH: &str = "the logged response differs from the rebuilt state";

/// What to blame.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The object as it stood at this time (default: the last write).
    pub at: Option<DateTime<Utc>>,
    /// Keep every earlier value of every field.
    pub history: bool,
    /// Only fields whose path matches one of these globs (see [`path_matches`]); all when empty.
    pub paths: Vec<String>,
}

/// The kinds of pod write blame applies, told from the record: the one place request kinds are
/// compared, with the timeline's names for them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Write {
    Create,
    Update,
    Patch,
    /// An update or patch of the status subresource.
    Status {
        patch: bool,
    },
    /// An update or patch of another subresource (ephemeralcontainers, resize).
    Subresource {
        patch: bool,
    },
    Binding,
    Delete,
    /// Reads, exec, eviction (its response is a Status) and anything else that sets no field.
    None,
}

impl Write {
    fn of(r: &Record) -> Write {
        let patch = r.verb == "patch";
        match (r.subresource.as_deref(), r.verb.as_str()) {
            (None, "create") => Write::Create,
            (None, "update") => Write::Update,
            (None, "patch") => Write::Patch,
            (None, "delete" | "deletecollection") => Write::Delete,
            (Some("status"), "update" | "patch") => Write::Status { patch },
            (Some("binding"), "create") => Write::Binding,
            (Some("ephemeralcontainers" | "resize"), "update" | "patch") => {
                Write::Subresource { patch }
            }
            _ => Write::None,
        }
    }

    fn event(self, r: &Record) -> String {
        match self {
            Write::Create => "create".into(),
            Write::Update => "update".into(),
            Write::Patch => "patch".into(),
            Write::Status { .. } => "status".into(),
            Write::Binding => "binding".into(),
            Write::Delete => "delete".into(),
            Write::Subresource { .. } | Write::None => {
                r.subresource.clone().unwrap_or_else(|| r.verb.clone())
            }
        }
    }
}

/// The kind of author a user is, for the writes a user makes.
fn user_kind(user: &str, write: Write) -> Kind {
    if write == Write::Binding {
        Kind::Scheduler
    } else if user.starts_with("system:node:") {
        Kind::Kubelet
    } else if user == "system:kube-controller-manager"
        || (user.starts_with("system:serviceaccount:kube-system:") && user.ends_with("controller"))
    {
        Kind::Controller
    } else {
        Kind::User
    }
}

fn set_by(r: &Record, write: Write, kind: Kind, name: Option<String>) -> SetBy {
    SetBy {
        kind,
        name,
        time: Some(format_time(&r.time)),
        audit_id: r.audit_id.clone(),
        event: Some(write.event(r)),
        detail: Detail {
            at: Some(r.time),
            ..Default::default()
        },
    }
}

/// Authorship of one position of the object: a tree of the object's shape.
#[derive(Debug, Clone)]
enum Node {
    /// A scalar, an empty object or an empty list: its author and earlier (value, author)s.
    Leaf {
        by: u32,
        history: Vec<(Value, u32)>,
    },
    Obj(Vec<(String, Node)>),
    Arr(Vec<Node>),
}

/// An incarnation's object rebuilt with its authors.
#[derive(Debug, Clone, Default)]
pub struct State {
    value: Option<Value>,
    tree: Option<Node>,
    authors: Vec<SetBy>,
    history: bool,
    pub notes: Vec<Note>,
    pub created: Option<DateTime<Utc>>,
    pub first: Option<DateTime<Utc>>,
    /// The time of the last write applied.
    pub last: Option<DateTime<Utc>>,
    /// A write logged without its body since the state was last checked: the author to credit
    /// with what the next logged response shows.
    unlogged: Option<u32>,
}

/// Paths a response may change on any write without it being a mismatch.
const SERVER_MANAGED: &[&str] = &[
    "/metadata/resourceVersion",
    "/metadata/generation",
    "/metadata/managedFields",
];

/// What a delete sets.
const DELETE_FIELDS: &[&str] = &[
    "/metadata/deletionTimestamp",
    "/metadata/deletionGracePeriodSeconds",
    "/metadata/resourceVersion",
    "/metadata/generation",
];

fn under(path: &str, prefixes: &[&str]) -> bool {
    prefixes
        .iter()
        .any(|p| path == *p || (path.starts_with(p) && path.as_bytes().get(p.len()) == Some(&b'/')))
}

/// The object as blame keeps it: without `managedFields`, which records the writers' field sets
/// rather than the pod and would outnumber every other field, and without fields that are `null`
/// (the API server writes unset times as `null`; a patch's `null` removes a field) or empty lists
/// (the API's lists are `omitempty`: a list emptied by a patch is gone from the stored object).
fn cleaned(mut v: Value) -> Value {
    if let Some(m) = v.get_mut("metadata").and_then(Value::as_object_mut) {
        m.shift_remove("managedFields");
    }
    drop_nulls(&mut v, 0);
    v
}

fn drop_nulls(v: &mut Value, depth: usize) {
    if depth >= patch::MAX_DEPTH {
        return;
    }
    match v {
        Value::Object(m) => {
            m.retain(|_, x| !x.is_null() && x.as_array().is_none_or(|a| !a.is_empty()));
            for x in m.values_mut() {
                drop_nulls(x, depth + 1);
            }
        }
        Value::Array(a) => {
            for x in a {
                drop_nulls(x, depth + 1);
            }
        }
        _ => {}
    }
}

/// A request or response body as sent: a patch's `null`s are its removals.
fn body(b: Option<&crate::record::Body>) -> Option<Value> {
    serde_json::from_str::<Value>(b?.text())
        .ok()
        .filter(|v| v.is_object() || v.is_array())
}

/// A response that holds the pod (a delete's may be a Status, a binding's always is).
fn pod_response(r: &Record) -> Option<Value> {
    body(r.response.as_ref())
        .filter(|v| {
            v.is_object()
                && v.get("kind")
                    .and_then(Value::as_str)
                    .is_none_or(|k| k == "Pod")
        })
        .map(cleaned)
}

/// One fold of a new value into the authorship tree.
struct Fold<'a> {
    author: &'a dyn Fn(&str) -> u32,
    history: bool,
    /// Paths of leaves that changed, and of fields that went away.
    changed: Vec<String>,
    removed: Vec<String>,
}

impl Fold<'_> {
    fn fold(
        &mut self,
        old: Option<(&Node, &Value)>,
        new: &Value,
        field: &str,
        path: &mut String,
        depth: usize,
    ) -> Node {
        let len = path.len();
        match new {
            Value::Object(m) if !m.is_empty() && depth < patch::MAX_DEPTH => {
                let old = match old {
                    Some((Node::Obj(nodes), Value::Object(values))) => Some((nodes, values)),
                    _ => None,
                };
                let mut out = Vec::with_capacity(m.len());
                for (k, v) in m {
                    path.push('/');
                    path.push_str(&escape_token(k));
                    let o = old.and_then(|(nodes, values)| {
                        let n = nodes.iter().find(|(nk, _)| nk == k).map(|(_, n)| n)?;
                        Some((n, values.get(k)?))
                    });
                    out.push((k.clone(), self.fold(o, v, k, path, depth + 1)));
                    path.truncate(len);
                }
                if let Some((_, values)) = old {
                    for k in values.keys().filter(|k| !m.contains_key(*k)) {
                        self.removed.push(format!("{path}/{}", escape_token(k)));
                    }
                }
                Node::Obj(out)
            }
            Value::Array(a) if !a.is_empty() && depth < patch::MAX_DEPTH => {
                let old = match old {
                    Some((Node::Arr(nodes), Value::Array(values)))
                        if nodes.len() == values.len() =>
                    {
                        Some((nodes, values))
                    }
                    _ => None,
                };
                let pairs = match_elements(field, old.map(|(_, v)| v.as_slice()), a);
                let mut out = Vec::with_capacity(a.len());
                for (i, (v, j)) in a.iter().zip(&pairs).enumerate() {
                    path.push('/');
                    path.push_str(&i.to_string());
                    let o = old
                        .zip(*j)
                        .map(|((nodes, values), j)| (&nodes[j], &values[j]));
                    out.push(self.fold(o, v, "", path, depth + 1));
                    path.truncate(len);
                }
                if let Some((_, values)) = old {
                    for j in (0..values.len()).filter(|j| !pairs.contains(&Some(*j))) {
                        self.removed.push(format!("{path}/{j}"));
                    }
                }
                Node::Arr(out)
            }
            _ => match old {
                Some((Node::Leaf { by, history }, v)) if v == new => Node::Leaf {
                    by: *by,
                    history: history.clone(),
                },
                Some((Node::Leaf { by, history }, v)) => {
                    self.changed.push(path.clone());
                    let mut h = Vec::new();
                    if self.history {
                        h = history.clone();
                        h.push((v.clone(), *by));
                    }
                    Node::Leaf {
                        by: (self.author)(path),
                        history: h,
                    }
                }
                _ => {
                    self.changed.push(path.clone());
                    Node::Leaf {
                        by: (self.author)(path),
                        history: Vec::new(),
                    }
                }
            },
        }
    }
}

/// For each new element of a list, the old element it continues, if any: by the list's merge key
/// when it has one, else the equal element, else the one at the same index.
fn match_elements(field: &str, old: Option<&[Value]>, new: &[Value]) -> Vec<Option<usize>> {
    let Some(old) = old else {
        return vec![None; new.len()];
    };
    let mut used = vec![false; old.len()];
    let mut out = vec![None; new.len()];
    if let Some(key) = patch::identity_key(field) {
        for (i, v) in new.iter().enumerate() {
            let Some(id) = v.get(key) else { continue };
            if let Some(j) = (0..old.len()).find(|&j| !used[j] && old[j].get(key) == Some(id)) {
                used[j] = true;
                out[i] = Some(j);
            }
        }
        return out;
    }
    for (i, v) in new.iter().enumerate() {
        if let Some(j) = (0..old.len()).find(|&j| !used[j] && old[j] == *v) {
            used[j] = true;
            out[i] = Some(j);
        }
    }
    for i in 0..new.len() {
        if out[i].is_none() && i < old.len() && !used[i] {
            used[i] = true;
            out[i] = Some(i);
        }
    }
    out
}

impl State {
    fn author(&mut self, s: SetBy) -> u32 {
        self.authors.push(s);
        (self.authors.len() - 1) as u32
    }

    /// Makes `new` the state, crediting each changed leaf to `author(path)`. Returns the paths
    /// that changed and those that went away.
    fn set(&mut self, new: Value, author: &dyn Fn(&str) -> u32) -> (Vec<String>, Vec<String>) {
        let mut f = Fold {
            author,
            history: self.history,
            changed: Vec::new(),
            removed: Vec::new(),
        };
        let old = self.tree.as_ref().zip(self.value.as_ref());
        let tree = f.fold(old, &new, "", &mut String::new(), 0);
        self.tree = Some(tree);
        self.value = Some(new);
        (f.changed, f.removed)
    }

    fn note(&mut self, r: &Record, text: String) {
        self.notes.push(Note {
            time: Some(r.time),
            audit_id: r.audit_id.clone(),
            text,
        });
    }

    /// Applies the mutating webhook patches of a request, in call order.
    fn apply_webhooks(&mut self, r: &Record, write: Write, calls: &[WebhookCall]) -> Vec<u32> {
        let mut ids = Vec::with_capacity(calls.len());
        for call in calls {
            let mut who = set_by(r, write, Kind::Webhook, Some(call.name().to_owned()));
            who.detail.call = Some((call.round, call.index));
            let id = self.author(who);
            ids.push(id);
            if call.fields_unknown() {
                self.note(
                    r,
                    format!(
                        "webhook {} mutated the object, but its patch is not in the log (audit level below Request)",
                        call.name()
                    ),
                );
            }
            let (Some(p), Some(state)) = (&call.patch, &self.value) else {
                continue;
            };
            let mut next = state.clone();
            let failed = patch::json_patch(&mut next, p);
            if failed > 0 {
                self.note(
                    r,
                    format!(
                        "{failed} operation(s) of webhook {}'s patch did not apply to the rebuilt object",
                        call.name()
                    ),
                );
            }
            self.set(cleaned(next), &|_| id);
        }
        ids
    }

    /// Takes a logged response as the state. What differs from the rebuilt state is credited by
    /// `author`, or is a mismatch when `author` says `None`.
    fn check(&mut self, r: &Record, resp: Value, author: &dyn Fn(&str) -> Option<u32>) {
        let mismatch = match self.unlogged.take() {
            Some(id) => id,
            None => {
                let mut who = set_by(r, Write::of(r), Kind::Unknown, None);
                who.detail.why = Some(WHY_MISMATCH);
                self.author(who)
            }
        };
        let is_mismatch = self.authors[mismatch as usize].detail.why == Some(WHY_MISMATCH);
        let seen = RefCell::new(Vec::new());
        let (_, removed) = self.set(resp, &|p| {
            author(p).unwrap_or_else(|| {
                seen.borrow_mut().push(p.to_owned());
                mismatch
            })
        });
        let mut seen = seen.into_inner();
        seen.extend(removed.into_iter().filter(|p| author(p).is_none()));
        if is_mismatch && !seen.is_empty() {
            let shown: Vec<String> = seen.iter().take(6).cloned().collect();
            let more = if seen.len() > shown.len() {
                format!(" and {} more", seen.len() - shown.len())
            } else {
                String::new()
            };
            self.note(
                r,
                format!(
                    "the logged response differs from the rebuilt state at {}{more}",
                    shown.join(", ")
                ),
            );
        }
    }

    fn apply(&mut self, r: &Record) {
        if r.failed() {
            return;
        }
        let write = Write::of(r);
        if write == Write::None {
            return;
        }
        let user = set_by(r, write, user_kind(&r.user, write), Some(r.user.clone()));
        let user = SetBy {
            detail: Detail {
                user_agent: r.user_agent.clone(),
                ..user.detail
            },
            ..user
        };
        let (calls, _) = admission::webhook_calls(
            r.webhook_annotations
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str())),
        );
        let calls: Vec<WebhookCall> = calls
            .into_iter()
            .filter(|c| c.kind == "mutating" && c.mutated != Some(false))
            .collect();
        self.last = Some(r.time);
        let req = body(r.request.as_ref());
        let resp = pod_response(r);
        let u = self.author(user);
        match write {
            Write::Create => self.create(r, u, req, resp, &calls),
            Write::Binding => {
                let target = req
                    .as_ref()
                    .and_then(|b| b.pointer("/target/name"))
                    .and_then(Value::as_str);
                match target {
                    Some(t) => {
                        let next = bound(self.value.clone(), t, r.time);
                        self.set(next, &|_| u);
                    }
                    None => self.unlogged(r, u),
                }
            }
            Write::Delete => {
                // A graceful delete's response is the pod with its deletion fields set.
                if let Some(resp) = resp {
                    self.check(r, resp, &|p| under(p, DELETE_FIELDS).then_some(u));
                }
            }
            Write::Update | Write::Patch | Write::Status { .. } | Write::Subresource { .. } => {
                self.write(r, write, u, req, resp, &calls)
            }
            Write::None => {}
        }
    }

    fn unlogged(&mut self, r: &Record, u: u32) {
        let mut who = self.authors[u as usize].clone();
        who.kind = Kind::Unknown;
        who.name = None;
        who.detail.why = Some(WHY_UNLOGGED);
        let id = self.author(who);
        self.unlogged = Some(id);
        self.note(
            r,
            format!(
                "a {} by {} is logged without its body: the fields it set are not known",
                Write::of(r).event(r),
                r.user
            ),
        );
    }

    fn create(
        &mut self,
        r: &Record,
        u: u32,
        req: Option<Value>,
        resp: Option<Value>,
        calls: &[WebhookCall],
    ) {
        self.created = Some(r.time);
        // A new incarnation's object starts from nothing.
        self.value = None;
        self.tree = None;
        self.unlogged = None;
        let Some(req) = req.filter(Value::is_object).map(cleaned) else {
            match resp {
                Some(resp) => {
                    let mut who = self.authors[u as usize].clone();
                    who.kind = Kind::Unknown;
                    who.name = None;
                    who.detail.why = Some(WHY_UNLOGGED);
                    let id = self.author(who);
                    self.set(resp, &|_| id);
                }
                None => self.unlogged(r, u),
            }
            return;
        };
        let request_tree = r.request.as_ref().and_then(|b| b.parse());
        let response_tree = r.response.as_ref().and_then(|b| b.parse());
        let webhook_paths = |p: &str| {
            calls.iter().rposition(|c| {
                c.paths.as_ref().is_some_and(|qs| {
                    qs.iter()
                        .any(|q| admission::explains_in(request_tree.as_ref(), q, p))
                })
            })
        };
        self.set(req.clone(), &|_| u);
        let builtin = set_by(r, Write::Create, Kind::Builtin, Some(BUILTIN.into()));
        let builtin = self.author(builtin);
        let server = set_by(r, Write::Create, Kind::Builtin, Some(APISERVER.into()));
        let server = self.author(server);
        // Built-in admission plugins run before the webhooks, whose patches are made against
        // their output (a webhook appends to the volumes the ServiceAccount plugin added): what
        // the stored object shows beyond the request, outside every webhook's paths, is applied
        // first.
        if let (Some(rq), Some(rs)) = (&request_tree, &response_tree) {
            let diffs: Vec<admission::Diff> = admission::diff(rq, rs, admission::SERVER_FIELDS)
                .into_iter()
                .filter(|d| d.op != "remove" && aligned(&req, resp.as_ref(), &d.path))
                .filter_map(|d| match webhook_paths(&d.path) {
                    None => Some(d),
                    Some(_) => builtin_part(d, calls),
                })
                .collect();
            if !diffs.is_empty() {
                let op = |d: &admission::Diff| {
                    let mut o = Map::new();
                    o.insert("op".into(), Value::String(d.op.into()));
                    o.insert("path".into(), Value::String(d.path.clone()));
                    if let Some(v) = &d.value {
                        o.insert("value".into(), v.clone());
                    }
                    Value::Object(o)
                };
                // Removals last and from the end, so that no index they name has moved.
                let mut ops: Vec<Value> =
                    diffs.iter().filter(|d| d.op != "remove").map(op).collect();
                ops.extend(diffs.iter().rev().filter(|d| d.op == "remove").map(op));
                let mut next = req;
                patch::json_patch(&mut next, &Value::Array(ops));
                self.set(cleaned(next), &|_| builtin);
            }
        }
        let ids = self.apply_webhooks(r, Write::Create, calls);
        let Some(resp) = resp else { return };
        // The API server defaults a webhook's output again: what changed below a path a webhook
        // patched is that webhook's (the last one to patch it).
        self.check(r, resp, &|p| {
            Some(match webhook_paths(p) {
                Some(i) => ids[i],
                None if under(p, admission::SERVER_FIELDS) && !p.starts_with("/status") => server,
                None => builtin,
            })
        });
    }

    fn write(
        &mut self,
        r: &Record,
        write: Write,
        u: u32,
        req: Option<Value>,
        resp: Option<Value>,
        calls: &[WebhookCall],
    ) {
        let Some(req) = req else {
            self.unlogged(r, u);
            if let Some(resp) = resp {
                self.check(r, resp, &|_| None);
            }
            return;
        };
        let before = self.value.is_none();
        let prev = self
            .value
            .clone()
            .unwrap_or_else(|| Value::Object(Map::new()));
        let next = match write {
            Write::Update => {
                // An update does not change the status, which only its subresource writes.
                let mut next = cleaned(req);
                if let Some(m) = next.as_object_mut() {
                    match prev.get("status") {
                        Some(s) => {
                            m.insert("status".into(), s.clone());
                        }
                        None => {
                            m.shift_remove("status");
                        }
                    }
                }
                next
            }
            Write::Status { patch: false } => cleaned(replace_part(&prev, &req, &["status"])),
            Write::Subresource { patch: false } => {
                cleaned(replace_part(&prev, &req, &["spec", "ephemeralContainers"]))
            }
            _ => self.patched(r, &prev, &req, resp.as_ref()),
        };
        if before && write == Write::Update {
            // A whole object, but what it changed cannot be told without the state before it.
            let mut who = self.authors[u as usize].clone();
            who.kind = Kind::Unknown;
            who.name = None;
            who.time = None;
            who.audit_id = None;
            who.event = None;
            who.detail = Detail {
                why: Some(WHY_BEFORE_LOG),
                ..Default::default()
            };
            let id = self.author(who);
            self.set(next, &|_| id);
        } else {
            self.set(next, &|_| u);
        }
        let ids = self.apply_webhooks(r, write, calls);
        let Some(resp) = resp else { return };
        let before_log = before.then(|| {
            self.author(SetBy {
                kind: Kind::Unknown,
                name: None,
                time: None,
                audit_id: None,
                event: None,
                detail: Detail {
                    why: Some(WHY_BEFORE_LOG),
                    ..Default::default()
                },
            })
        });
        let request_tree = r.request.as_ref().and_then(|b| b.parse());
        self.check(r, resp, &|p| {
            if under(p, SERVER_MANAGED) {
                return Some(u);
            }
            if let Some((_, id)) = calls.iter().zip(&ids).rev().find(|(c, _)| {
                c.paths.as_ref().is_some_and(|qs| {
                    qs.iter()
                        .any(|q| admission::explains_in(request_tree.as_ref(), q, p))
                })
            }) {
                return Some(*id);
            }
            before_log
        });
    }

    /// The state with a patch body applied: a JSON Patch (a list), or a merge patch. The log does
    /// not say whether a merge patch was a JSON merge patch or a strategic one: a body with a `$`
    /// directive is strategic; otherwise, when the two read differently, the one the logged
    /// response agrees with, else strategic (what kubectl and the kubelet send).
    fn patched(&mut self, r: &Record, prev: &Value, body: &Value, resp: Option<&Value>) -> Value {
        if body.is_array() {
            let mut next = prev.clone();
            let failed = patch::json_patch(&mut next, body);
            if failed > 0 {
                self.note(
                    r,
                    format!("{failed} operation(s) of the JSON Patch did not apply to the rebuilt object"),
                );
            }
            return cleaned(next);
        }
        let mut smp = prev.clone();
        patch::strategic_merge_patch(&mut smp, body);
        if patch::has_directive(body) {
            return cleaned(smp);
        }
        let mut merge = prev.clone();
        patch::merge_patch(&mut merge, body);
        let (smp, merge) = (cleaned(smp), cleaned(merge));
        if smp == merge {
            return smp;
        }
        match resp {
            Some(resp) if same_but_server(&merge, resp) && !same_but_server(&smp, resp) => merge,
            _ => smp,
        }
    }
}

/// Whether a difference found index by index is one between the same list elements on both
/// sides (by their identity key): when a webhook removed or inserted an element, the elements at
/// one index are different ones and their difference is nobody's change. Built-in plugins only
/// add to the object, so only additions and replacements are taken before the webhooks.
fn aligned(req: &Value, resp: Option<&Value>, path: &str) -> bool {
    let Some(resp) = resp else { return false };
    let (mut a, mut b) = (Some(req), Some(resp));
    let mut field = String::new();
    for t in admission::pointer_tokens(path) {
        if let (Some(Value::Array(x)), Some(Value::Array(y))) = (a, b) {
            let i: usize = match t.parse() {
                Ok(i) => i,
                Err(_) => return false,
            };
            if let (Some(k), Some(ea), Some(eb)) = (patch::identity_key(&field), x.get(i), y.get(i))
            {
                if ea.get(k) != eb.get(k) {
                    return false;
                }
            }
        }
        a = a.and_then(|v| step(v, &t));
        b = b.and_then(|v| step(v, &t));
        field = t;
    }
    true
}

fn step<'v>(v: &'v Value, t: &str) -> Option<&'v Value> {
    match v {
        Value::Object(m) => m.get(t),
        Value::Array(a) => a.get(t.parse::<usize>().ok()?),
        _ => None,
    }
}

/// The part of a list the stored object has and the request had not, that no webhook appended:
/// a built-in plugin's elements in a list webhooks appended to (the ServiceAccount plugin's volume
/// before a sidecar injector's volumes).
fn builtin_part(d: admission::Diff, calls: &[WebhookCall]) -> Option<admission::Diff> {
    let Some(Value::Array(items)) = &d.value else {
        return None;
    };
    let field = d.path.rsplit('/').next().unwrap_or("");
    let key = patch::identity_key(field);
    let appended: Vec<&Value> = calls
        .iter()
        .filter_map(|c| c.patch.as_ref()?.as_array())
        .flatten()
        .filter(|op| {
            op.get("path")
                .and_then(Value::as_str)
                .and_then(|p| p.strip_prefix(d.path.as_str()))
                .is_some_and(|rest| {
                    rest.strip_prefix('/')
                        .is_some_and(|i| i == "-" || i.bytes().all(|b| b.is_ascii_digit()))
                })
        })
        .filter_map(|op| op.get("value"))
        .collect();
    if appended.is_empty() {
        return None;
    }
    let same = |a: &Value, b: &Value| match key {
        Some(k) => a.get(k).is_some() && a.get(k) == b.get(k),
        None => a == b,
    };
    let own: Vec<Value> = items
        .iter()
        .filter(|x| !appended.iter().any(|a| same(x, a)))
        .cloned()
        .collect();
    (!own.is_empty()).then(|| admission::Diff {
        value: Some(Value::Array(own)),
        ..d
    })
}

/// What a Binding does to the pod: it sets `spec.nodeName` and, as the API server's binding
/// storage does, the `PodScheduled` condition (True, at the binding's second) unless it is True
/// already.
fn bound(state: Option<Value>, node: &str, at: DateTime<Utc>) -> Value {
    let mut next = state.unwrap_or_else(|| Value::Object(Map::new()));
    let Some(m) = next.as_object_mut() else {
        return next;
    };
    if let Some(spec) = m
        .entry("spec")
        .or_insert_with(|| Value::Object(Map::new()))
        .as_object_mut()
    {
        spec.insert("nodeName".into(), Value::String(node.to_owned()));
    }
    let Some(status) = m
        .entry("status")
        .or_insert_with(|| Value::Object(Map::new()))
        .as_object_mut()
    else {
        return next;
    };
    let conditions = status
        .entry("conditions")
        .or_insert_with(|| Value::Array(Vec::new()));
    if let Some(list) = conditions.as_array_mut() {
        let is_scheduled =
            |c: &Value| c.get("type").and_then(Value::as_str) == Some("PodScheduled");
        if !list
            .iter()
            .any(|c| is_scheduled(c) && c.get("status").and_then(Value::as_str) == Some("True"))
        {
            list.retain(|c| !is_scheduled(c));
            list.push(serde_json::json!({
                "type": "PodScheduled",
                "status": "True",
                "lastTransitionTime": at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            }));
        }
    }
    next
}

/// `prev` with the part at `path` (a chain of keys) taken from `from`.
fn replace_part(prev: &Value, from: &Value, path: &[&str]) -> Value {
    let mut next = prev.clone();
    let mut src = Some(from);
    for k in path {
        src = src.and_then(|s| s.get(*k));
    }
    let mut at = &mut next;
    for (i, k) in path.iter().enumerate() {
        let Some(m) = at.as_object_mut() else {
            return next;
        };
        if i + 1 == path.len() {
            match src {
                Some(v) => {
                    m.insert((*k).to_owned(), v.clone());
                }
                None => {
                    m.shift_remove(*k);
                }
            }
            break;
        }
        at = m
            .entry((*k).to_owned())
            .or_insert_with(|| Value::Object(Map::new()));
    }
    next
}

fn same_but_server(a: &Value, b: &Value) -> bool {
    let strip = |v: &Value| {
        let mut v = v.clone();
        if let Some(m) = v.get_mut("metadata").and_then(Value::as_object_mut) {
            m.shift_remove("resourceVersion");
            m.shift_remove("generation");
        }
        v
    };
    strip(a) == strip(b)
}

/// Rebuilds one incarnation's object from its records, up to `opts.at`.
pub fn rebuild(inc: &Incarnation<'_>, opts: &Options) -> State {
    let mut st = State {
        history: opts.history,
        first: inc.records.first().map(|r| r.time),
        ..Default::default()
    };
    let mut first_write = true;
    for r in &inc.records {
        if opts.at.is_some_and(|at| r.time > at) {
            break;
        }
        let write = Write::of(r);
        if first_write && write != Write::None && !r.failed() {
            first_write = false;
            if write != Write::Create {
                st.notes.push(Note {
                    time: None,
                    audit_id: None,
                    text: "the log does not show the pod's create: fields set before the log begins are not known".into(),
                });
            }
        }
        st.apply(r);
    }
    st
}

/// Blames one incarnation. `None` for a denied create, or when nothing of it had been logged by
/// `opts.at`.
pub fn blame(inc: &Incarnation<'_>, opts: &Options) -> Option<PodBlame> {
    if inc.denied {
        return None;
    }
    let first = inc.records.first()?;
    if opts.at.is_some_and(|at| first.time > at) {
        return None;
    }
    let st = rebuild(inc, opts);
    if st.value.is_none() && st.notes.is_empty() {
        // No write of this incarnation is in the log (only reads, exec, …).
        return None;
    }
    let mut fields = st.fields();
    if !opts.paths.is_empty() {
        fields.retain(|f| opts.paths.iter().any(|g| path_matches(g, &f.path)));
    }
    Some(PodBlame {
        namespace: first.namespace.clone(),
        name: first.name.clone(),
        uid: inc.uid.clone(),
        at: opts.at.or(st.last).map(|t| format_time(&t)),
        fields,
        created: st.created.or(st.first),
        notes: st.notes,
        object: st.value,
    })
}

impl State {
    /// Every leaf of the rebuilt object, in the object's order.
    pub fn fields(&self) -> Vec<Field> {
        let mut out = Vec::new();
        if let (Some(v), Some(t)) = (&self.value, &self.tree) {
            self.walk(v, t, &mut String::new(), &mut out);
        }
        out
    }

    fn walk(&self, v: &Value, t: &Node, path: &mut String, out: &mut Vec<Field>) {
        let len = path.len();
        match (v, t) {
            (Value::Object(m), Node::Obj(nodes)) => {
                for ((k, v), (_, n)) in m.iter().zip(nodes) {
                    path.push('/');
                    path.push_str(&escape_token(k));
                    self.walk(v, n, path, out);
                    path.truncate(len);
                }
            }
            (Value::Array(a), Node::Arr(nodes)) => {
                for (i, (v, n)) in a.iter().zip(nodes).enumerate() {
                    path.push('/');
                    path.push_str(&i.to_string());
                    self.walk(v, n, path, out);
                    path.truncate(len);
                }
            }
            (_, Node::Leaf { by, history }) => out.push(Field {
                path: path.clone(),
                value: v.clone(),
                set_by: self.authors[*by as usize].clone(),
                history: history
                    .iter()
                    .map(|(value, by)| Earlier {
                        value: value.clone(),
                        set_by: self.authors[*by as usize].clone(),
                    })
                    .collect(),
            }),
            // The tree is built from the value, so their shapes agree.
            _ => {}
        }
    }
}

/// Whether a glob matches a JSON Pointer or one of its parents: `*` matches within one token,
/// `**` across tokens. `/metadata/labels` matches every label, `/spec/containers/*/image` every
/// container's image.
pub fn path_matches(glob: &str, path: &str) -> bool {
    let g: Vec<&str> = glob.trim_end_matches('/').split('/').collect();
    let p: Vec<&str> = path.split('/').collect();
    tokens_match(&g, &p)
}

fn tokens_match(g: &[&str], p: &[&str]) -> bool {
    match g.split_first() {
        // The glob is used up: the path is the match or below it.
        None => true,
        Some((&"**", rest)) => (0..=p.len()).any(|i| tokens_match(rest, &p[i..])),
        Some((t, rest)) => match p.split_first() {
            Some((x, prest)) => {
                token_match(t.as_bytes(), x.as_bytes()) && tokens_match(rest, prest)
            }
            None => false,
        },
    }
}

fn token_match(g: &[u8], s: &[u8]) -> bool {
    match g.split_first() {
        None => s.is_empty(),
        Some((b'*', rest)) => (0..=s.len()).any(|i| token_match(rest, &s[i..])),
        Some((c, rest)) => s.first() == Some(c) && token_match(rest, &s[1..]),
    }
}

/// The report of blamed pods.
pub fn report(pods: Vec<PodBlame>) -> Report {
    Report {
        schema_version: SCHEMA_VERSION,
        pods,
    }
}

/// The rebuilt object as a tree, for tests and callers that want the value whole.
pub fn object(inc: &Incarnation<'_>, opts: &Options) -> Option<Value> {
    rebuild(inc, opts).value
}
