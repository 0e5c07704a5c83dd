//! Admission: which webhook was called, what it patched, and what nobody's annotation explains.
//!
//! The API server records each admission webhook call in audit annotations keyed
//! `…/round_R_index_I`: `mutation.webhook.admission.k8s.io` (Metadata level and up: configuration,
//! webhook, mutated), `patch.webhook.admission.k8s.io` (Request level and up: the JSON Patch), and
//! `failed-open.{mutation,validating}.webhook.admission.k8s.io` (the bare webhook name of a call that
//! failed and was ignored). They are merged here by (round, index). Built-in admission plugins and
//! defaulting leave no annotation, so their changes are found as the difference between the request
//! and the stored object that no webhook patch explains.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, HashSet};

use serde::Serialize;
use serde_json::Value;

use crate::json::tree::{Obj, Tree};

/// One admission webhook call made while serving a request.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookCall {
    /// "mutating" or "validating".
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub round: u32,
    pub index: u32,
    pub configuration: Option<String>,
    pub webhook: Option<String>,
    /// `None` when the log does not say (a validating call, or a patch without its mutation entry).
    pub mutated: Option<bool>,
    pub failed_open: bool,
    /// The JSON Patch, when the audit level recorded it (Request and up).
    pub patch: Option<Value>,
    /// The JSON Pointer paths of the patch's operations, in order, without repeats.
    pub paths: Option<Vec<String>>,
}

impl WebhookCall {
    fn new(kind: &'static str, round: u32, index: u32) -> Self {
        WebhookCall {
            kind,
            round,
            index,
            configuration: None,
            webhook: None,
            mutated: None,
            failed_open: false,
            patch: None,
            paths: None,
        }
    }

    /// The best name to show for this call.
    pub fn name(&self) -> &str {
        self.webhook
            .as_deref()
            .or(self.configuration.as_deref())
            .unwrap_or("unknown webhook")
    }

    /// The webhook changed the object but the log level did not record how.
    pub fn fields_unknown(&self) -> bool {
        self.mutated == Some(true) && self.patch.is_none()
    }
}

const MUTATION: &str = "mutation.webhook.admission.k8s.io/";
const PATCH: &str = "patch.webhook.admission.k8s.io/";
const FAILED_OPEN_MUTATION: &str = "failed-open.mutation.webhook.admission.k8s.io/";
const FAILED_OPEN_VALIDATING: &str = "failed-open.validating.webhook.admission.k8s.io/";

/// True for the annotation keys this module understands (the others need not be kept).
pub fn is_webhook_annotation(key: &str) -> bool {
    key.contains("webhook.admission.k8s.io/")
}

/// Parses `round_R_index_I`.
fn round_index(suffix: &str) -> Option<(u32, u32)> {
    let rest = suffix.strip_prefix("round_")?;
    let (r, i) = rest.split_once("_index_")?;
    Some((r.parse().ok()?, i.parse().ok()?))
}

#[derive(serde::Deserialize)]
struct AnnotationValue {
    #[serde(default)]
    configuration: Option<String>,
    #[serde(default)]
    webhook: Option<String>,
    #[serde(default)]
    mutated: Option<bool>,
    #[serde(default)]
    patch: Option<Value>,
}

/// Merges the webhook annotations of one request into its calls, sorted mutating first, then by
/// round and index. Annotations that cannot be read are skipped: they are never worth losing the
/// rest of the event for. Returns the calls and how many annotations were unreadable.
pub fn webhook_calls<'a>(
    annotations: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> (Vec<WebhookCall>, usize) {
    let mut calls: Vec<WebhookCall> = Vec::new();
    // Where each (kind, round, index) is in `calls`: one event may hold any number of annotations.
    // A B-tree, not a hash table: an event names a dozen calls as a rule, and one small node
    // costs less than hashing each key (this runs for every event of every story).
    let mut at: BTreeMap<(&'static str, u32, u32), usize> = BTreeMap::new();
    let mut bad = 0;
    for (key, value) in annotations {
        let (kind, prefix) = if let Some(s) = key.strip_prefix(MUTATION) {
            ("mutating", s)
        } else if let Some(s) = key.strip_prefix(PATCH) {
            ("mutating-patch", s)
        } else if let Some(s) = key.strip_prefix(FAILED_OPEN_MUTATION) {
            ("mutating-failed", s)
        } else if let Some(s) = key.strip_prefix(FAILED_OPEN_VALIDATING) {
            ("validating-failed", s)
        } else {
            continue;
        };
        let Some((round, index)) = round_index(prefix) else {
            bad += 1;
            continue;
        };
        let call_kind = if kind == "validating-failed" {
            "validating"
        } else {
            "mutating"
        };
        let pos = *at.entry((call_kind, round, index)).or_insert_with(|| {
            calls.push(WebhookCall::new(call_kind, round, index));
            calls.len() - 1
        });
        let call = &mut calls[pos];
        match kind {
            "mutating" | "mutating-patch" => {
                let Ok(v) = serde_json::from_str::<AnnotationValue>(value) else {
                    bad += 1;
                    continue;
                };
                call.configuration = call.configuration.take().or(v.configuration);
                call.webhook = call.webhook.take().or(v.webhook);
                if kind == "mutating" {
                    call.mutated = v.mutated.or(call.mutated);
                } else if let Some(patch) = v.patch {
                    call.paths = Some(patch_paths(&patch));
                    call.patch = Some(patch);
                }
            }
            _ => {
                call.failed_open = true;
                if call.webhook.is_none() && !value.is_empty() {
                    call.webhook = Some(value.to_owned());
                }
            }
        }
    }
    for call in &mut calls {
        // A recorded patch is proof of a mutation even when the mutation entry is missing.
        if call.mutated.is_none() && call.kind == "mutating" && call.patch.is_some() {
            call.mutated = Some(true);
        }
        if call.failed_open && call.kind == "mutating" && call.mutated.is_none() {
            call.mutated = Some(false);
        }
    }
    calls.sort_by_key(|c| (c.kind, c.round, c.index));
    (calls, bad)
}

/// The paths of a JSON Patch's operations, in order, without repeats.
pub fn patch_paths(patch: &Value) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut seen: HashSet<&str> = HashSet::new();
    if let Value::Array(ops) = patch {
        for op in ops {
            if let Some(p) = op.get("path").and_then(Value::as_str) {
                if seen.insert(p) {
                    out.push(p.to_owned());
                }
            }
        }
    }
    out
}

/// The operations of a JSON Patch as (op, path, value).
pub fn patch_ops(patch: &Value) -> Vec<(String, String, Option<Value>)> {
    let mut out = Vec::new();
    if let Value::Array(ops) = patch {
        for op in ops {
            let (Some(o), Some(p)) = (
                op.get("op").and_then(Value::as_str),
                op.get("path").and_then(Value::as_str),
            ) else {
                continue;
            };
            out.push((o.to_owned(), p.to_owned(), op.get("value").cloned()));
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// JSON Pointer

/// Escapes one JSON Pointer reference token (RFC 6901).
pub fn escape_token(s: &str) -> String {
    s.replace('~', "~0").replace('/', "~1")
}

/// Splits a JSON Pointer into unescaped tokens. `""` is the root.
pub fn pointer_tokens(p: &str) -> Vec<String> {
    if p.is_empty() {
        return Vec::new();
    }
    p.strip_prefix('/')
        .unwrap_or(p)
        .split('/')
        .map(|t| t.replace("~1", "/").replace("~0", "~"))
        .collect()
}

/// The tokens of [`pointer_tokens`], borrowed, and decoded only when they hold an escape:
/// `explains_in` runs for every (patch path, changed path) pair of a create.
fn borrowed_tokens(p: &str) -> impl Iterator<Item = Cow<'_, str>> {
    let body = (!p.is_empty()).then(|| p.strip_prefix('/').unwrap_or(p));
    body.into_iter().flat_map(|b| b.split('/')).map(|t| {
        if t.contains('~') {
            Cow::Owned(t.replace("~1", "/").replace("~0", "~"))
        } else {
            Cow::Borrowed(t)
        }
    })
}

/// Whether a patch path `q` explains a changed path `p`: one is a prefix of the other, token by
/// token, with `-` (append) matching any array index.
pub fn explains(q: &str, p: &str) -> bool {
    explains_in(None, q, p)
}

/// Like [`explains`], but when `before` (the object as sent) is known, an append (`-`) only explains
/// indexes past the end of the array as it was sent: appending a sidecar does not explain a change
/// to the first container.
pub fn explains_in(before: Option<&Tree>, q: &str, p: &str) -> bool {
    let mut at = before;
    for (a, b) in borrowed_tokens(q).zip(borrowed_tokens(p)) {
        let (a, b) = (a.as_ref(), b.as_ref());
        let is_index = |s: &str| !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit());
        let ok = a == b
            || (a == "-" && is_index(b) && {
                let len = at.and_then(Tree::as_array).map_or(0, <[Tree]>::len);
                b.parse::<usize>().is_ok_and(|i| i >= len)
            })
            || (b == "-" && is_index(a));
        if !ok {
            return false;
        }
        at = at.and_then(|v| child(v, b));
    }
    true
}

/// The member or element `token` names under `v`, if any (an index as `usize` parses it).
fn child<'t, 'a>(v: &'t Tree<'a>, token: &str) -> Option<&'t Tree<'a>> {
    match v {
        Tree::Object(m) => m.get(token),
        Tree::Array(xs) => token.parse::<usize>().ok().and_then(|i| xs.get(i)),
        _ => None,
    }
}

/// Many patch paths at once, as a trie of their tokens: whether any of them explains a changed
/// path ([`explains_in`]) in time linear in the changed path's length, not in the number of
/// patch paths (a create may carry thousands of both).
#[derive(Debug, Default)]
pub struct Explainer {
    nodes: Vec<TrieNode>,
}

#[derive(Debug, Default)]
struct TrieNode {
    children: HashMap<String, usize>,
    /// A patch path ends here.
    end: bool,
}

fn is_index(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit())
}

impl Explainer {
    pub fn new<'a>(paths: impl IntoIterator<Item = &'a str>) -> Self {
        let mut e = Explainer {
            nodes: vec![TrieNode::default()],
        };
        for p in paths {
            let mut n = 0;
            for t in borrowed_tokens(p) {
                n = match e.nodes[n].children.get(t.as_ref()) {
                    Some(&c) => c,
                    None => {
                        e.nodes.push(TrieNode::default());
                        let c = e.nodes.len() - 1;
                        e.nodes[n].children.insert(t.into_owned(), c);
                        c
                    }
                };
            }
            e.nodes[n].end = true;
        }
        e
    }

    /// Whether some patch path explains `p`, as [`explains_in`] with `before` would say for one
    /// of them.
    pub fn explains(&self, before: Option<&Tree>, p: &str) -> bool {
        if self.nodes.len() == 1 && !self.nodes[0].end {
            return false;
        }
        // The trie nodes that match `p` so far: a patch path may match through `-` (an append)
        // or through its own index where `p` has `-`, so more than one can.
        let mut live: Vec<usize> = vec![0];
        let mut next: Vec<usize> = Vec::new();
        let mut at = before;
        for b in borrowed_tokens(p) {
            let b = b.as_ref();
            // A patch path that is a prefix of `p` explains it.
            if live.iter().any(|&n| self.nodes[n].end) {
                return true;
            }
            let append_ok = is_index(b) && {
                let len = at.and_then(Tree::as_array).map_or(0, <[Tree]>::len);
                b.parse::<usize>().is_ok_and(|i| i >= len)
            };
            next.clear();
            for &n in &live {
                let node = &self.nodes[n];
                if let Some(&c) = node.children.get(b) {
                    next.push(c);
                }
                if append_ok && b != "-" {
                    if let Some(&c) = node.children.get("-") {
                        next.push(c);
                    }
                }
                if b == "-" {
                    next.extend(
                        node.children
                            .iter()
                            .filter(|(k, _)| is_index(k))
                            .map(|(_, &c)| c),
                    );
                }
            }
            next.sort_unstable();
            next.dedup();
            std::mem::swap(&mut live, &mut next);
            if live.is_empty() {
                return false;
            }
            at = at.and_then(|v| child(v, b));
        }
        // `p` is a prefix of (or equal to) a patch path.
        true
    }
}

// ---------------------------------------------------------------------------------------------
// Object diff

/// One difference between two JSON documents.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Diff {
    pub path: String,
    /// "add", "remove" or "replace".
    pub op: &'static str,
    /// The new value (`None` for a removal).
    pub value: Option<Value>,
}

/// Fields the API server sets on every stored object: not anybody's mutation.
pub const SERVER_FIELDS: &[&str] = &[
    "/metadata/uid",
    "/metadata/resourceVersion",
    "/metadata/creationTimestamp",
    "/metadata/generation",
    "/metadata/managedFields",
    "/metadata/selfLink",
    "/metadata/name",
    "/metadata/namespace",
    "/metadata/deletionTimestamp",
    "/metadata/deletionGracePeriodSeconds",
    "/status",
    "/kind",
    "/apiVersion",
];

/// Leaf differences from `a` to `b`: objects are recursed, arrays index by index with extra
/// elements reported as `/path/N`; a field present on one side only is reported at its own path.
/// Paths equal to or below one of `ignore` are left out.
pub fn diff(a: &Tree, b: &Tree, ignore: &[&str]) -> Vec<Diff> {
    let mut out = Vec::new();
    let mut path = String::new();
    diff_into(a, b, &mut path, ignore, &mut out, 0);
    out
}

/// Nesting deeper than this is compared as a whole (inputs are untrusted).
const MAX_DIFF_DEPTH: usize = 64;

fn ignored(path: &str, ignore: &[&str]) -> bool {
    ignore
        .iter()
        .any(|i| path == *i || (path.starts_with(i) && path.as_bytes().get(i.len()) == Some(&b'/')))
}

fn diff_into(
    a: &Tree,
    b: &Tree,
    path: &mut String,
    ignore: &[&str],
    out: &mut Vec<Diff>,
    depth: usize,
) {
    if ignored(path, ignore) || a == b {
        return;
    }
    let len = path.len();
    match (a, b) {
        (Tree::Object(ma), Tree::Object(mb)) if depth < MAX_DIFF_DEPTH => {
            for (k, va) in ma.iter() {
                path.push('/');
                path.push_str(&escape_token(k));
                match mb.get(k) {
                    Some(vb) => diff_into(va, vb, path, ignore, out, depth + 1),
                    None if !ignored(path, ignore) => out.push(Diff {
                        path: path.clone(),
                        op: "remove",
                        value: None,
                    }),
                    None => {}
                }
                path.truncate(len);
            }
            for (k, vb) in mb.iter() {
                if ma.contains_key(k) {
                    continue;
                }
                path.push('/');
                path.push_str(&escape_token(k));
                if !ignored(path, ignore) {
                    out.push(Diff {
                        path: path.clone(),
                        op: "add",
                        value: Some(vb.to_value()),
                    });
                }
                path.truncate(len);
            }
        }
        (Tree::Array(xa), Tree::Array(xb)) if depth < MAX_DIFF_DEPTH => {
            for i in 0..xa.len().max(xb.len()) {
                path.push('/');
                path.push_str(&i.to_string());
                match (xa.get(i), xb.get(i)) {
                    (Some(va), Some(vb)) => diff_into(va, vb, path, ignore, out, depth + 1),
                    (Some(_), None) => out.push(Diff {
                        path: path.clone(),
                        op: "remove",
                        value: None,
                    }),
                    (None, Some(vb)) => out.push(Diff {
                        path: path.clone(),
                        op: "add",
                        value: Some(vb.to_value()),
                    }),
                    (None, None) => {}
                }
                path.truncate(len);
            }
        }
        _ => out.push(Diff {
            path: path.clone(),
            op: "replace",
            value: Some(b.to_value()),
        }),
    }
}

/// The leaf paths a patch body sets (a merge or strategic-merge patch, as kubectl and the kubelet
/// send them). Directive keys (`$setElementOrder/…`, `$patch`, `$retainKeys`, …) are left out; arrays
/// are reported whole. `skip` removes a path and everything below it.
pub fn merge_patch_paths(body: &Tree, skip: &[&str]) -> Vec<Diff> {
    fn walk(v: &Obj, path: &mut String, skip: &[&str], out: &mut Vec<Diff>, d: usize) {
        for (k, val) in v.iter() {
            if k.starts_with('$') {
                continue;
            }
            let len = path.len();
            path.push('/');
            path.push_str(&escape_token(k));
            if !ignored(path, skip) {
                match val {
                    Tree::Object(m) if !m.is_empty() && d < MAX_DIFF_DEPTH => {
                        walk(m, path, skip, out, d + 1)
                    }
                    Tree::Null => out.push(Diff {
                        path: path.clone(),
                        op: "remove",
                        value: None,
                    }),
                    _ => out.push(Diff {
                        path: path.clone(),
                        op: "replace",
                        value: Some(val.to_value()),
                    }),
                }
            }
            path.truncate(len);
        }
    }
    let mut out = Vec::new();
    if let Tree::Object(m) = body {
        walk(m, &mut String::new(), skip, &mut out, 0);
    }
    out
}

/// What denied a request, read from the status message the API server returned.
pub fn denied_by(message: &str) -> Option<String> {
    if let Some(rest) = message.split("admission webhook \"").nth(1) {
        return rest.split('"').next().map(str::to_owned);
    }
    if let Some(rest) = message.split("ValidatingAdmissionPolicy '").nth(1) {
        return rest
            .split('\'')
            .next()
            .map(|n| format!("ValidatingAdmissionPolicy {n}"));
    }
    if message.contains("violates PodSecurity") {
        return Some("PodSecurity".to_owned());
    }
    for plugin in [
        "exceeded quota",
        "LimitRanger",
        "NodeRestriction",
        "ResourceQuota",
    ] {
        if message.contains(plugin) {
            let name = if plugin == "exceeded quota" {
                "ResourceQuota"
            } else {
                plugin
            };
            return Some(name.to_owned());
        }
    }
    if message.contains("is forbidden: User") || message.contains("cannot create resource") {
        return Some("RBAC".to_owned());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn merges_annotations_by_round_and_index() {
        let ann = [
            (
                "mutation.webhook.admission.k8s.io/round_0_index_0",
                r#"{"configuration":"0500-amazon-eks-fargate-mutation.amazonaws.com","webhook":"0500-amazon-eks-fargate-mutation.amazonaws.com","mutated":true}"#,
            ),
            (
                "mutation.webhook.admission.k8s.io/round_0_index_2",
                r#"{"configuration":"pod-identity-webhook","webhook":"iam-for-pods.amazonaws.com","mutated":false}"#,
            ),
            (
                "patch.webhook.admission.k8s.io/round_0_index_0",
                r#"{"configuration":"0500-amazon-eks-fargate-mutation.amazonaws.com","webhook":"0500-amazon-eks-fargate-mutation.amazonaws.com","patch":[{"op":"add","path":"/spec/schedulerName","value":"fargate-scheduler"},{"op":"add","path":"/spec/priority","value":2000001000}],"patchType":"JSONPatch"}"#,
            ),
            (
                "mutation.webhook.admission.k8s.io/round_1_index_0",
                r#"{"configuration":"a","webhook":"a.example.com","mutated":true}"#,
            ),
            ("authorization.k8s.io/decision", "allow"),
        ];
        let (calls, bad) = webhook_calls(ann.iter().copied());
        assert_eq!(bad, 0);
        assert_eq!(
            calls.iter().map(|c| (c.round, c.index)).collect::<Vec<_>>(),
            vec![(0, 0), (0, 2), (1, 0)]
        );
        assert_eq!(calls[0].mutated, Some(true));
        assert_eq!(
            calls[0].paths.as_deref(),
            Some(
                &[
                    "/spec/schedulerName".to_owned(),
                    "/spec/priority".to_owned()
                ][..]
            )
        );
        assert_eq!(
            calls[1].webhook.as_deref(),
            Some("iam-for-pods.amazonaws.com")
        );
        assert_eq!(calls[1].mutated, Some(false));
        assert!(calls[2].fields_unknown(), "round 1 has no patch annotation");
    }

    #[test]
    fn failed_open_keeps_the_bare_name() {
        let ann = [
            (
                "failed-open.mutation.webhook.admission.k8s.io/round_0_index_1",
                "slow.example.com",
            ),
            (
                "mutation.webhook.admission.k8s.io/round_0_index_1",
                r#"{"configuration":"slow","webhook":"slow.example.com","mutated":false}"#,
            ),
            (
                "failed-open.validating.webhook.admission.k8s.io/round_0_index_0",
                "check.example.com",
            ),
        ];
        let (calls, _) = webhook_calls(ann.iter().copied());
        assert_eq!(calls.len(), 2);
        assert_eq!(calls[0].kind, "mutating");
        assert!(calls[0].failed_open);
        assert_eq!(calls[0].configuration.as_deref(), Some("slow"));
        assert_eq!(calls[0].mutated, Some(false));
        assert_eq!(calls[1].kind, "validating");
        assert_eq!(calls[1].webhook.as_deref(), Some("check.example.com"));
        assert_eq!(calls[1].mutated, None);
    }

    #[test]
    fn bad_annotations_are_counted_not_fatal() {
        let ann = [
            ("mutation.webhook.admission.k8s.io/round_x_index_0", "{}"),
            ("patch.webhook.admission.k8s.io/round_0_index_0", "not json"),
            (
                "mutation.webhook.admission.k8s.io/round_0_index_99999999999",
                "{}",
            ),
        ];
        let (calls, bad) = webhook_calls(ann.iter().copied());
        assert_eq!(bad, 3);
        assert!(calls.iter().all(|c| c.patch.is_none()));
    }

    #[test]
    fn pointer_prefixes_explain_changes() {
        assert!(explains("/metadata/labels", "/metadata/labels/run"));
        assert!(explains("/metadata/labels/run", "/metadata/labels"));
        assert!(explains("/spec/containers/-", "/spec/containers/1/image"));
        assert!(!explains("/spec/containers/-", "/spec/containersX"));
        assert!(!explains("/spec/priority", "/spec/priorityClassName"));
        let sent = Tree::parse(r#"{"spec":{"containers":[{"name":"app"}]}}"#).unwrap();
        assert!(!explains_in(
            Some(&sent),
            "/spec/containers/-",
            "/spec/containers/0/resources"
        ));
        assert!(explains_in(
            Some(&sent),
            "/spec/containers/-",
            "/spec/containers/1"
        ));
        assert_eq!(
            pointer_tokens("/metadata/labels/eks.amazonaws.com~1fargate-profile")[2],
            "eks.amazonaws.com/fargate-profile"
        );
    }

    /// The trie gives the answer of comparing every patch path with the changed path.
    #[test]
    fn the_explainer_agrees_with_every_pair() {
        let sent = Tree::parse(
            r#"{"spec":{"containers":[{"name":"app"}],"volumes":[]},"metadata":{"labels":{"a":"1"}}}"#,
        )
        .unwrap();
        let tokens = [
            "spec",
            "containers",
            "volumes",
            "0",
            "1",
            "2",
            "-",
            "image",
            "metadata",
            "labels",
            "a",
            "a~1b",
            "",
        ];
        let mut rng = 7u64;
        let mut next = |n: usize| {
            rng = rng
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((rng >> 33) as usize) % n
        };
        let path = |next: &mut dyn FnMut(usize) -> usize| {
            let len = next(5);
            (0..len)
                .map(|_| format!("/{}", tokens[next(tokens.len())]))
                .collect::<String>()
        };
        for round in 0..400 {
            let qs: Vec<String> = (0..next(6)).map(|_| path(&mut next)).collect();
            let e = Explainer::new(qs.iter().map(String::as_str));
            for _ in 0..20 {
                let p = path(&mut next);
                for before in [None, Some(&sent)] {
                    let want = qs.iter().any(|q| explains_in(before, q, &p));
                    assert_eq!(e.explains(before, &p), want, "round {round}: {qs:?} {p:?}");
                }
            }
        }
    }

    #[test]
    fn diff_reports_leaves_and_absent_fields_whole() {
        let doc = |t: &'static str| Tree::parse(t).unwrap();
        let a = doc(
            r#"{"metadata":{"name":"x","labels":{"run":"x"}},"spec":{"containers":[{"name":"c","image":"nginx"}]},"status":{}}"#,
        );
        let b = doc(
            r#"{"metadata":{"name":"x","uid":"u","labels":{"run":"x","a/b":"1"}},
            "spec":{"containers":[{"name":"c","image":"nginx","imagePullPolicy":"Always"},{"name":"side"}],
                    "tolerations":[{"key":"k"}]},"status":{"phase":"Pending"}}"#,
        );
        let d = diff(&a, &b, SERVER_FIELDS);
        let paths: Vec<&str> = d.iter().map(|d| d.path.as_str()).collect();
        assert_eq!(
            paths,
            vec![
                "/metadata/labels/a~1b",
                "/spec/containers/0/imagePullPolicy",
                "/spec/containers/1",
                "/spec/tolerations"
            ]
        );
        assert!(d.iter().all(|d| d.op == "add"));
        let r = diff(&doc(r#"{"a":1,"b":2}"#), &doc(r#"{"a":3}"#), &[]);
        assert_eq!(
            r[0],
            Diff {
                path: "/a".into(),
                op: "replace",
                value: Some(json!(3))
            }
        );
        assert_eq!(
            r[1],
            Diff {
                path: "/b".into(),
                op: "remove",
                value: None
            }
        );
    }

    #[test]
    fn strategic_merge_patch_paths_skip_directives() {
        let body = Tree::parse(
            r#"{"metadata":{"uid":"u"},"status":{"$setElementOrder/conditions":[{"type":"Ready"}],
            "conditions":[{"type":"Ready","status":"True"}],"phase":"Running","podIP":null}}"#,
        )
        .unwrap();
        let d = merge_patch_paths(&body, &["/metadata/uid"]);
        let paths: Vec<&str> = d.iter().map(|d| d.path.as_str()).collect();
        assert_eq!(
            paths,
            vec!["/status/conditions", "/status/phase", "/status/podIP"]
        );
        assert_eq!(d[2].op, "remove");
    }

    #[test]
    fn denial_messages_name_the_denier() {
        assert_eq!(
            denied_by(
                r#"admission webhook "validate.kyverno.svc-fail" denied the request: policy x"#
            )
            .as_deref(),
            Some("validate.kyverno.svc-fail")
        );
        assert_eq!(
            denied_by(
                r#"pods "x" is forbidden: violates PodSecurity "restricted:latest": privileged"#
            )
            .as_deref(),
            Some("PodSecurity")
        );
        assert_eq!(
            denied_by("pods \"x\" is forbidden: ValidatingAdmissionPolicy 'no-latest' with binding 'b' denied request: y").as_deref(),
            Some("ValidatingAdmissionPolicy no-latest")
        );
        assert_eq!(denied_by("conflict"), None);
    }
}
