//! Audit logs carry what must not leave a company: environment variable values, Secret data,
//! bearer and service-account tokens, credentials in headers and arguments, AWS access key ids,
//! account ids, role session names and IP addresses. `ktrail redact` masks them so that a log can
//! be shared (attached to an issue, committed as a sample) and still tell the same story.
//!
//! Masks are consistent within one run: the same value always becomes the same mask (a counter
//! per kind of value, so `redacted-env-3` is the third distinct environment value seen), which keeps
//! stories comparable: the object diff that finds built-in admission changes sees equal values as
//! equal. Masks keep the shape a reader or a parser expects where it matters: IPv4 addresses map
//! into the documentation ranges (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24, then the
//! benchmarking range 198.18.0.0/15), IPv6 into 2001:db8::/32, an account id to another 12-digit id,
//! an access key id to a 20-character `AKIA…` id, Secret `data` to base64, and ARNs keep their
//! structure with only the account (and an assumed role's session name) replaced. Uids of objects,
//! webhook names, patch paths and event kinds are not touched, so the timeline keeps its
//! structure; names are kept too, except an address inside one (a debug pod named
//! `node-debugger-ip-10-0-1-7…`), which is masked the same way in every field.
//!
//! What is masked, where (docs/output-safety.md has the table and the reasons):
//! - by pattern, in every string value of an event and in managedFields keys (`k:{"ip":…}`): JWTs,
//!   EKS tokens (`k8s-aws-v1.…`), `Bearer` tokens, secret-looking flags and assignments
//!   (`--password=…`, `DB_PASSWORD=…`), AWS secret access keys and access key ids, account ids in
//!   ARNs (also URL-encoded) and in every ECR registry form, any account learned anywhere in the
//!   input, IPv4 and IPv6 addresses (loopback and unspecified excepted) and dashed IPv4 addresses
//!   (`ip-10-0-1-7`, `ec2-54-201-33-7`);
//! - `sourceIPs`; `user.uid` and every `user.extra` value (for the authenticated and the
//!   impersonated user, and any user-shaped object of a body: TokenReview, SubjectAccessReview);
//! - by structure, in request and response bodies and in JSON Patch ops (requests and webhook
//!   patch annotations): `env[].value`, Secret `data` and `stringData` (objects of kind Secret,
//!   items of a SecretList, and any body of a `secrets` request), credential fields (`token`,
//!   `password`, …), credential headers (header maps and `httpHeaders`), the value after a lone
//!   secret-looking flag in `args`/`command`, the value of a patch op without a path, and the
//!   `kubectl.kubernetes.io/last-applied-configuration` annotation (redacted as the object it
//!   holds).
//!
//! [`run`] reads its input twice, learning every account id before it writes a line; a
//! [`Redactor`] fed line by line ([`redact_line`]) learns them as it goes.
//!
//! GKE entries and AKS records (`formats`) are masked in their own shape: a GKE entry's `request`
//! and `response` as bodies and its `labels` as annotations, an AKS record's `properties.log` as the
//! event it holds (the Azure subscription of its `resourceId` masked too).
//!
//! Lines that cannot be parsed as JSON, or are JSON but not audit events (nor a wrapper of them),
//! are dropped with a diagnostic rather than passed through: a cut or damaged event still holds the
//! secrets it was logging, and only a parsed one can be masked with confidence. Items of a batch
//! that are not audit events are dropped from the batch the same way.

use std::borrow::Cow;
use std::collections::HashMap;
use std::net::{Ipv4Addr, Ipv6Addr};

use regex::{Captures, Regex};
use serde_json::{Map, Value};

use crate::decode::{self, Problem};
use crate::formats::shape;
use crate::wrapper::{self, Holds, Wrapper, MAX_NESTING};

/// The kinds of masked values; each has its own counter and mask shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    Ipv4,
    Ipv6,
    Account,
    AccessKey,
    Session,
    Token,
    Env,
    Secret,
    Other,
}

/// Masks values consistently over one input. One `Redactor` per file (or per fetch).
pub struct Redactor {
    masks: HashMap<(Kind, String), String>,
    counts: HashMap<Kind, u64>,
    re: &'static Patterns,
    /// Lines and items dropped so far.
    pub dropped: u64,
}

struct Patterns {
    jwt: Regex,
    bearer: Regex,
    access_key: Regex,
    arn: Regex,
    arn_encoded: Regex,
    ecr: Regex,
    account: Regex,
    ipv4: Regex,
    dashed_ipv4: Regex,
    ipv6: Regex,
    eks_token: Regex,
    secret_flag: Regex,
    secret_key: Regex,
    secret_name: Regex,
}

impl Patterns {
    /// Compiled once per process: a `Redactor` is made per file (and per input when fuzzing).
    fn get() -> &'static Patterns {
        static P: std::sync::OnceLock<Patterns> = std::sync::OnceLock::new();
        P.get_or_init(|| {
            let re = |s: &str| Regex::new(s).expect("a valid built-in pattern");
            Patterns {
            // No `\b` at the start of these: in a URL-encoded query (`%2F10.0.1.7`,
            // `%3Aarn:aws`) the value follows a letter. Masking a little too much is safe.
            jwt: re(r"eyJ[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]*"),
            bearer: re(r"(?i)(bearer)(\s+|\+|%20)([A-Za-z0-9._~+/=-]+)"),
            access_key: re(r"(?:AKIA|ASIA|AIDA|AROA|ANPA|AGPA|AIPA|ANVA|APKA)[A-Z0-9]{16,17}"),
            arn: re(r"arn:(aws[a-z-]*):([a-z0-9-]*):([a-z0-9-]*):(\d{12})?:([^\s\x22',;&]*)"),
            // URL-encoded (`arn%3Aaws%3Aiam%3A%3A111122223333%3Arole`): only its account is
            // learned, and masked like any known account.
            arn_encoded: re(r"(?i)arn%3Aaws[a-z-]*%3A[a-z0-9-]*%3A[a-z0-9-]*%3A(\d{12})"),
            // Every registry host form: `.dkr.ecr.`, FIPS `.dkr.ecr-fips.`, dual-stack
            // `.dkr-ecr.REGION.on.aws`.
            ecr: re(r"(\d{12})(\.dkr\.ecr\.|\.dkr\.ecr-fips\.|\.dkr-ecr\.)"),
            account: re(r"\d{12}"),
            ipv4: re(
                r"(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)",
            ),
            // EC2 host names (`ip-10-0-1-7`, `ec2-54-201-33-7.compute-1…`) and any other dashed
            // address: four dashed octets that are not part of a longer word or number.
            dashed_ipv4: re(
                r"\b((?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)-){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d))\b",
            ),
            // A whole run of hex digits, colons and dots with two colons or more (then parsed):
            // never a piece of a longer run, such as `::1111` of `::111122223333`.
            ipv6: re(r"[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*(?:%[0-9A-Za-z]+)?"),
            // The token `aws eks get-token` makes: a presigned STS URL, base64url encoded.
            eks_token: re(r"k8s-aws-v1\.[A-Za-z0-9_-]+"),
            // `--password=…`, `-db-secret=…` and the like in arguments and command lines (also
            // URL-encoded, in an exec request's query).
            // `NAME=…` in a shell command or a query (`DB_PASSWORD=…`, `?token=…`) too.
            secret_flag: re(&format!(
                r"(?i)((?:-{{1,2}}{n}(?:[=:]|%3D|%3A))|(?:\b{n}(?:=|%3D)))([^\s\x22'&;,]+)",
                n = r"[a-z0-9_.-]*(?:password|passwd|secret|token|api[_-]?key|access[_-]?key|credential|private[_-]?key)[a-z0-9_.-]*"
            )),
            // An AWS secret access key: 40 characters of base64 (told from a hex digest by its
            // mixed case, checked where it is masked).
            secret_key: re(r"(?:^|[^A-Za-z0-9/+])([A-Za-z0-9/+]{40})(?:$|[^A-Za-z0-9/+=])"),
            // Names (of a flag, an HTTP header, a field) whose value is a credential.
            secret_name: re(
                r"(?i)password|passwd|secret|token|api[_-]?key|access[_-]?key|credential|private[_-]?key|authorization|cookie|signature|session",
            ),
            }
        })
    }
}

impl Default for Redactor {
    fn default() -> Self {
        Self::new()
    }
}

/// What became of one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redacted {
    /// The masked line without its newline (empty for a blank line); `None` when it was dropped.
    pub line: Option<Vec<u8>>,
    /// Why the line, or some items of it, were dropped.
    pub problem: Option<Problem>,
}

impl Redacted {
    /// The diagnostic for this line, if any: what was wrong, then what was dropped.
    pub fn reason(&self) -> Option<String> {
        let p = self.problem.as_ref()?;
        let why = p.reason_text();
        Some(match (p, &self.line) {
            (_, None) => format!("{why}; line dropped"),
            (Problem::Items { bad, of, .. }, Some(_)) => {
                format!("{why}; {bad} of {of} items dropped")
            }
            (_, Some(_)) => format!("{why}; dropped"),
        })
    }
}

/// Redacts one line, as `fetch --redact` needs it: the masked line (without a newline), or an empty
/// vector for a line that is blank or dropped ([`Redactor::line`] says why).
pub fn redact_line(r: &mut Redactor, line: &[u8]) -> Vec<u8> {
    r.line(line).line.unwrap_or_default()
}

/// serde_json's message without `at line 1 column N`.
fn strip(e: &serde_json::Error) -> String {
    let m = e.to_string();
    match m.split_once(" at line ") {
        Some((head, _)) => head.to_owned(),
        None => m,
    }
}

impl Redactor {
    pub fn new() -> Self {
        Redactor {
            masks: HashMap::new(),
            counts: HashMap::new(),
            dropped: 0,
            re: Patterns::get(),
        }
    }

    /// Redacts one line: the masked line (without a newline; empty for a blank line) or nothing
    /// for a line dropped, and what was wrong with it or with some of its items.
    pub fn line(&mut self, line: &[u8]) -> Redacted {
        let t = decode::trim(line);
        if t.is_empty() {
            return Redacted {
                line: Some(Vec::new()),
                problem: None,
            };
        }
        let mut v: Value = match serde_json::from_slice(t) {
            Ok(v) => v,
            Err(e) => {
                self.dropped += 1;
                // Say what the timeline says about this line; JSON it can read but that is too
                // deep for a parsed value (bodies nested over 128 levels) is dropped too.
                let problem = decode::decode_line(t, &mut |_| {})
                    .problem
                    .unwrap_or_else(|| {
                        Problem::NotJson(format!("{}; too deep to redact", strip(&e)))
                    });
                return Redacted {
                    line: None,
                    problem: Some(problem),
                };
            }
        };
        // Account ids are masked wherever they appear once known from an ARN or a registry: learn
        // every one in this line first, so that the line's masks do not depend on field order.
        self.learn_accounts(&v);
        match self.wrapper(&mut v, 0) {
            Ok(problem) => Redacted {
                line: Some(serde_json::to_vec(&v).expect("a Value always serializes")),
                problem,
            },
            Err(p) => {
                self.dropped += 1;
                Redacted {
                    line: None,
                    problem: Some(p),
                }
            }
        }
    }

    /// An audit event, or something that carries audit events (see `wrapper`), masked in place.
    /// `Ok(Some(p))`: some items were dropped; `Err`: nothing in it can be kept.
    fn wrapper(&mut self, v: &mut Value, depth: u8) -> Result<Option<Problem>, Problem> {
        if depth > MAX_NESTING {
            return Err(Problem::NotAuditEvent(wrapper::TOO_DEEP.into()));
        }
        match v {
            Value::Array(items) => self.items(items, depth, wrapper::ARRAY_ITEM),
            Value::Object(m) => {
                if is_audit_event(m) {
                    self.event(m);
                    return Ok(None);
                }
                // A wrapper key whose value has the wrong shape is not a wrapper here: it is
                // masked as any other field, and the next key is tried.
                for w in Wrapper::ALL {
                    let r = match (w.holds(), m.get_mut(w.key())) {
                        (Holds::Items { item }, Some(Value::Array(items))) => {
                            self.items(items, depth, item)
                        }
                        (Holds::Line, Some(Value::String(s))) => self.message(s, depth),
                        (Holds::Rows { row }, Some(Value::Array(rows))) => {
                            self.results(rows, depth, row)
                        }
                        _ => continue,
                    };
                    self.strings_except(m, &[w.key()]);
                    return r;
                }
                if let Some(r) = self.other_cloud(m, depth) {
                    return r;
                }
                Err(Problem::NotAuditEvent(match m.get("kind") {
                    Some(Value::String(k)) if k != "Event" => format!("kind {k}"),
                    _ if m.contains_key("auditID") => "no verb or stage".into(),
                    _ => "no auditID".into(),
                }))
            }
            Value::String(_) => Err(Problem::NotAuditEvent("a string".into())),
            Value::Number(_) => Err(Problem::NotAuditEvent("a number".into())),
            Value::Bool(_) => Err(Problem::NotAuditEvent("a boolean".into())),
            Value::Null => Err(Problem::NotAuditEvent("null".into())),
        }
    }

    /// A batch: items that are not audit events are dropped from it.
    fn items(
        &mut self,
        items: &mut Vec<Value>,
        depth: u8,
        what: &'static str,
    ) -> Result<Option<Problem>, Problem> {
        self.batch(items, what, |r, item| r.wrapper(item, depth + 1))
    }

    /// Keeps the entries of `batch` that `one` masks, drops the others: the first problem of the
    /// dropped (an error when none is left), else the first partial problem of the kept.
    fn batch(
        &mut self,
        batch: &mut Vec<Value>,
        what: &'static str,
        mut one: impl FnMut(&mut Self, &mut Value) -> Result<Option<Problem>, Problem>,
    ) -> Result<Option<Problem>, Problem> {
        let mut first = None;
        let mut partial = None;
        let mut bad = 0;
        let all = std::mem::take(batch);
        let of = all.len();
        for (i, mut entry) in all.into_iter().enumerate() {
            match one(self, &mut entry) {
                Ok(p) => {
                    batch.push(entry);
                    if partial.is_none() {
                        partial = p;
                    }
                }
                Err(p) => {
                    bad += 1;
                    first.get_or_insert((i, p));
                }
            }
        }
        let Some((index, p)) = first else {
            return Ok(partial);
        };
        let problem = Problem::Items {
            what,
            index,
            problem: Box::new(p),
            bad,
            of,
        };
        if batch.is_empty() {
            return Err(problem);
        }
        self.dropped += bad as u64;
        Ok(Some(problem))
    }

    /// Logs Insights rows (see [`Holds::Rows`]): the [`wrapper::ROW_MESSAGE`] value of each row
    /// read as a line, the strings of the other values masked.
    fn results(
        &mut self,
        rows: &mut Vec<Value>,
        depth: u8,
        what: &'static str,
    ) -> Result<Option<Problem>, Problem> {
        self.batch(rows, what, |r, row| {
            let mut outcome = Err(Problem::NotAuditEvent(wrapper::no_row_message()));
            if let Value::Array(fields) = row {
                for f in fields.iter_mut() {
                    let Value::Object(f) = f else { continue };
                    let is_message =
                        f.get("field").and_then(Value::as_str) == Some(wrapper::ROW_MESSAGE);
                    match f.get_mut("value") {
                        Some(Value::String(s)) if is_message => outcome = r.message(s, depth),
                        Some(other) => r.strings(other),
                        None => {}
                    }
                }
            }
            outcome
        })
    }

    /// An audit event held as a JSON string (CloudWatch exports), masked and written back.
    fn message(&mut self, s: &mut String, depth: u8) -> Result<Option<Problem>, Problem> {
        let inner = decode::trim(s.as_bytes());
        let mut v: Value = match serde_json::from_slice(inner) {
            Ok(v) => v,
            Err(e) => {
                return Err(decode::decode_line(inner, &mut |_| {})
                    .problem
                    .unwrap_or_else(|| {
                        Problem::NotJson(format!("{}; too deep to redact", strip(&e)))
                    }))
            }
        };
        let r = self.wrapper(&mut v, depth + 1)?;
        *s = v.to_string();
        Ok(r)
    }

    /// Other clouds' shapes (`formats`), masked where they keep what an event keeps; `None` for
    /// an object of none of them.
    fn other_cloud(
        &mut self,
        m: &mut Map<String, Value>,
        depth: u8,
    ) -> Option<Result<Option<Problem>, Problem>> {
        if let Some(Value::Object(_)) = m.get("protoPayload") {
            self.gke_entry(m);
            return Some(Ok(None));
        }
        if let Some(Value::Array(records)) = m.get_mut(shape::RECORDS) {
            let r = self.items(records, depth, shape::RECORDS_ITEM);
            self.strings_except(m, &[shape::RECORDS]);
            return Some(r);
        }
        let Some(Value::Object(props)) = m.get_mut("properties") else {
            return None;
        };
        let r = match props.get_mut("log") {
            Some(Value::String(s)) => self.message(s, depth),
            Some(v @ Value::Object(_)) => self.wrapper(v, depth + 1),
            _ => return None,
        };
        self.strings_except(props, &["log"]);
        for (k, v) in m.iter_mut() {
            match (k.as_str(), v) {
                ("properties", _) => {}
                // The Azure subscription is the account of the cluster's resource id.
                ("resourceId", Value::String(s)) => *s = self.azure_resource(s),
                (_, v) => self.strings(v),
            }
        }
        Some(r)
    }

    /// A GKE `LogEntry`: its bodies and labels as an event's bodies and annotations, the rest as
    /// any string (the principal, like an event's `user.username`, is kept: stories name it).
    fn gke_entry(&mut self, m: &mut Map<String, Value>) {
        let secrets = m
            .get("protoPayload")
            .and_then(|p| p.get("resourceName"))
            .and_then(Value::as_str)
            .is_some_and(|r| r.split('/').any(|s| s == "secrets"));
        for (k, v) in m.iter_mut() {
            match (k.as_str(), v) {
                ("labels", v) => self.event_annotations(v),
                ("protoPayload", Value::Object(p)) => {
                    for (pk, pv) in p.iter_mut() {
                        match pk.as_str() {
                            "request" | "response" => self.body(pv, secrets),
                            _ => self.strings(pv),
                        }
                    }
                }
                (_, v) => self.strings(v),
            }
        }
    }

    /// An Azure resource id with its subscription masked.
    fn azure_resource(&mut self, id: &str) -> String {
        const SUB: &str = "/subscriptions/";
        let masked = self.text(id).into_owned();
        let Some(at) = masked.to_ascii_lowercase().find(SUB) else {
            return masked;
        };
        let start = at + SUB.len();
        let end = masked[start..]
            .find('/')
            .map_or(masked.len(), |e| start + e);
        let sub = self.mask(Kind::Other, &masked[start..end]);
        format!("{}{sub}{}", &masked[..start], &masked[end..])
    }

    /// One audit event.
    fn event(&mut self, ev: &mut Map<String, Value>) {
        let secrets = ev
            .get("objectRef")
            .and_then(|o| o.get("resource"))
            .and_then(Value::as_str)
            == Some("secrets");
        // Users first: the account ids in their ARNs are then known for the rest of the event.
        for key in ["user", "impersonatedUser"] {
            if let Some(v) = ev.get_mut(key) {
                self.user(v);
            }
        }
        for (k, v) in ev.iter_mut() {
            match k.as_str() {
                "user" | "impersonatedUser" => {}
                "requestObject" | "responseObject" => self.body(v, secrets),
                "annotations" => self.event_annotations(v),
                _ => self.strings(v),
            }
        }
    }

    fn user(&mut self, v: &mut Value) {
        let Value::Object(u) = v else {
            return self.strings(v);
        };
        for (k, v) in u.iter_mut() {
            match (k.as_str(), v) {
                ("uid", Value::String(s)) => *s = self.mask(Kind::Other, s),
                ("extra", Value::Object(extra)) => {
                    for (key, values) in extra.iter_mut() {
                        let session = key.to_ascii_lowercase().ends_with("sessionname");
                        for_each_string(values, &mut |s| {
                            *s = if session {
                                self.mask(Kind::Session, s)
                            } else {
                                self.extra_value(s)
                            }
                        });
                    }
                }
                (_, v) => self.strings(v),
            }
        }
    }

    /// A `user.extra` value: ARNs keep their structure (account and session masked), access key
    /// ids their shape; anything else (a principal id with its session, a name) is masked whole.
    fn extra_value(&mut self, s: &str) -> String {
        if s.starts_with("arn:") {
            let masked = self.text(s);
            if masked != s {
                return masked.into_owned();
            }
        }
        if self.re.access_key.find(s).is_some_and(|m| m.as_str() == s) {
            return self.mask(Kind::AccessKey, s);
        }
        self.mask(Kind::Other, s)
    }

    fn event_annotations(&mut self, v: &mut Value) {
        let Value::Object(m) = v else {
            return self.strings(v);
        };
        for (k, v) in m.iter_mut() {
            let Value::String(s) = v else {
                self.strings(v);
                continue;
            };
            // Webhook patch annotations hold JSON with the patch; it may add env values or secrets.
            if k.starts_with("patch.webhook.admission.k8s.io/") {
                if let Ok(mut inner) = serde_json::from_str::<Value>(s) {
                    if let Value::Object(obj) = &mut inner {
                        for (ik, iv) in obj.iter_mut() {
                            if ik == "patch" {
                                self.body(iv, false);
                            } else {
                                self.strings(iv);
                            }
                        }
                    }
                    *s = inner.to_string();
                    continue;
                }
            }
            *s = self.text(s).into_owned();
        }
    }

    /// A request or response body: an object, a list, or a JSON Patch.
    /// An array with any JSON Patch op in it is a patch: an op that is malformed (no path) still
    /// carries its value, which is then masked whole since where it goes is unknown.
    fn body(&mut self, v: &mut Value, secret: bool) {
        if let Value::Array(ops) = v {
            if ops.iter().any(|op| op.get("op").is_some()) {
                for op in ops {
                    if op.get("path").is_some_and(Value::is_string) {
                        self.patch_op(op, secret);
                    } else if let Value::Object(m) = op {
                        for (k, v) in m.iter_mut() {
                            if k == "op" {
                                self.strings(v);
                            } else {
                                for_each_string(v, &mut |s| *s = self.mask(Kind::Other, s));
                                if !matches!(v, Value::String(_)) && !v.is_null() {
                                    self.mask_scalars(v);
                                }
                            }
                        }
                    } else {
                        self.object(op, false);
                    }
                }
                return;
            }
        }
        self.object(v, secret);
    }

    /// Numbers and booleans below `v` masked as strings (a value whose meaning is unknown).
    fn mask_scalars(&mut self, v: &mut Value) {
        match v {
            Value::Number(_) | Value::Bool(_) => {
                *v = Value::String(self.mask(Kind::Other, &v.to_string()))
            }
            Value::Array(a) => a.iter_mut().for_each(|v| self.mask_scalars(v)),
            Value::Object(m) => m.values_mut().for_each(|v| self.mask_scalars(v)),
            _ => {}
        }
    }

    fn patch_op(&mut self, op: &mut Value, secret: bool) {
        let Value::Object(m) = op else { return };
        let path = m
            .get("path")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        let segs: Vec<&str> = path.split('/').collect();
        let n = segs.len();
        for (k, v) in m.iter_mut() {
            if k != "value" {
                self.strings(v);
                continue;
            }
            let last = segs.last().copied().unwrap_or("");
            let parent = if n >= 2 { segs[n - 2] } else { "" };
            let grand = if n >= 3 { segs[n - 3] } else { "" };
            if last == "env" {
                self.env_list(v);
            } else if parent == "env" {
                self.env_var(v);
            } else if grand == "env" && last == "value" {
                self.mask_value(v, Kind::Env);
            } else if secret && matches!(parent, "data" | "stringData") && n == 3 {
                self.secret_value(v, parent == "data");
            } else if secret && matches!(last, "data" | "stringData") && n == 2 {
                self.secret_map(v, last == "data");
            } else if last == "kubectl.kubernetes.io~1last-applied-configuration" {
                self.last_applied(v);
            } else if last == "httpHeaders" {
                self.http_headers(v);
            } else if parent == "httpHeaders" {
                self.http_header(v);
            } else if grand == "httpHeaders" && last == "value" {
                self.mask_value(v, Kind::Token);
            } else if matches!(last, "args" | "command") {
                self.args(v);
            } else if is_credential_key(last) {
                self.mask_value(v, Kind::Token);
            } else {
                self.object(v, secret && n <= 1);
            }
        }
    }

    /// Any JSON value inside a body. `secret`: this object is a Secret even without `kind`.
    fn object(&mut self, v: &mut Value, secret: bool) {
        // A user's identity (TokenReview status, SubjectAccessReview spec): its uid and extra
        // values are masked as in the event's `user`.
        if let Value::Object(m) = &*v {
            if m.contains_key("extra")
                || (m.contains_key("groups")
                    && (m.contains_key("username") || m.contains_key("user")))
            {
                return self.user(v);
            }
        }
        match v {
            Value::Object(m) => {
                self.field_keys(m);
                let kind = m.get("kind").and_then(Value::as_str).map(str::to_owned);
                let is_secret = secret || kind.as_deref() == Some("Secret");
                let secret_items = kind.as_deref() == Some("SecretList");
                for (k, v) in m.iter_mut() {
                    match k.as_str() {
                        "env" => self.env_list(v),
                        "httpHeaders" => self.http_headers(v),
                        "args" | "command" => self.args(v),
                        k if is_credential_key(k) || is_credential_header(k) => {
                            for_each_string(v, &mut |s| *s = self.mask(Kind::Token, s))
                        }
                        "data" | "stringData" if is_secret => self.secret_map(v, k == "data"),
                        "items" if secret_items => {
                            if let Value::Array(items) = v {
                                for item in items {
                                    self.object(item, true);
                                }
                            }
                        }
                        "annotations" => self.object_annotations(v),
                        _ => self.object(v, false),
                    }
                }
            }
            Value::Array(items) => {
                for item in items {
                    self.object(item, false);
                }
            }
            Value::String(s) => *s = self.text(s).into_owned(),
            _ => {}
        }
    }

    /// managedFields keys (`k:{"ip":"10.1.88.44"}`, `v:"…"`) hold values of the object: they are
    /// masked like the values themselves, so a mask does not sit beside the value it stands for.
    fn field_keys(&mut self, m: &mut Map<String, Value>) {
        let is_field_key = |k: &str| k.starts_with("k:") || k.starts_with("v:");
        if !m.keys().any(|k| is_field_key(k)) {
            return;
        }
        for (k, v) in std::mem::take(m) {
            let k = if is_field_key(&k) {
                self.text(&k).into_owned()
            } else {
                k
            };
            m.insert(k, v);
        }
    }

    /// Probe and lifecycle headers: `[{"name": "Authorization", "value": "Basic …"}]`.
    fn http_headers(&mut self, v: &mut Value) {
        match v {
            Value::Array(hs) => hs.iter_mut().for_each(|h| self.http_header(h)),
            other => self.object(other, false),
        }
    }

    fn http_header(&mut self, h: &mut Value) {
        let Value::Object(m) = h else {
            return self.object(h, false);
        };
        let secret = m
            .get("name")
            .and_then(Value::as_str)
            .is_some_and(|n| is_credential_header(n) || self.re.secret_name.is_match(n));
        for (k, v) in m.iter_mut() {
            if k == "value" && secret {
                self.mask_value(v, Kind::Token);
            } else {
                self.object(v, false);
            }
        }
    }

    /// A container's `args` or `command`: `--password=…` is masked by the text patterns, and
    /// the value after a lone secret-looking flag (`--password`, `hunter2`) here.
    fn args(&mut self, v: &mut Value) {
        let Value::Array(items) = v else {
            return self.object(v, false);
        };
        let mut after_flag = false;
        for item in items.iter_mut() {
            let Value::String(s) = item else {
                self.object(item, false);
                after_flag = false;
                continue;
            };
            if after_flag && !s.starts_with('-') {
                *s = self.mask(Kind::Token, s);
                after_flag = false;
                continue;
            }
            after_flag = s.starts_with('-')
                && !s.contains('=')
                && self.re.secret_name.is_match(s.trim_start_matches('-'));
            if let Cow::Owned(t) = self.text(s) {
                *s = t;
            }
        }
    }

    fn object_annotations(&mut self, v: &mut Value) {
        let Value::Object(m) = v else {
            return self.object(v, false);
        };
        for (k, v) in m.iter_mut() {
            if k == "kubectl.kubernetes.io/last-applied-configuration" {
                self.last_applied(v);
            } else {
                self.object(v, false);
            }
        }
    }

    /// The annotation kubectl writes: the whole applied object as JSON text (a Secret's included).
    fn last_applied(&mut self, v: &mut Value) {
        let Value::String(s) = v else {
            return self.object(v, false);
        };
        match serde_json::from_str::<Value>(s) {
            Ok(mut inner) => {
                self.object(&mut inner, false);
                *s = inner.to_string();
            }
            Err(_) => *s = self.mask(Kind::Other, s),
        }
    }

    fn env_list(&mut self, v: &mut Value) {
        match v {
            Value::Array(vars) => {
                for var in vars {
                    self.env_var(var);
                }
            }
            other => self.object(other, false),
        }
    }

    fn env_var(&mut self, v: &mut Value) {
        let Value::Object(m) = v else {
            return self.object(v, false);
        };
        for (k, v) in m.iter_mut() {
            if k == "value" {
                self.mask_value(v, Kind::Env);
            } else {
                self.object(v, false);
            }
        }
    }

    fn secret_map(&mut self, v: &mut Value, base64: bool) {
        match v {
            Value::Object(m) => {
                for v in m.values_mut() {
                    self.secret_value(v, base64);
                }
            }
            other => self.object(other, false),
        }
    }

    fn secret_value(&mut self, v: &mut Value, base64: bool) {
        if let Value::String(s) = v {
            let mask = self.mask(Kind::Secret, s);
            *s = if base64 {
                base64_encode(mask.as_bytes())
            } else {
                mask
            };
        } else if !v.is_null() {
            *v = Value::String(self.mask(Kind::Secret, &v.to_string()));
        }
    }

    fn mask_value(&mut self, v: &mut Value, kind: Kind) {
        match v {
            Value::String(s) => *s = self.mask(kind, s),
            Value::Null => {}
            other => *other = Value::String(self.mask(kind, &other.to_string())),
        }
    }

    /// Every string below `v` through the text patterns.
    fn strings(&mut self, v: &mut Value) {
        for_each_string(v, &mut |s| {
            if let Cow::Owned(t) = self.text(s) {
                *s = t;
            }
        });
    }

    fn strings_except(&mut self, m: &mut Map<String, Value>, skip: &[&str]) {
        for (k, v) in m.iter_mut() {
            if !skip.contains(&k.as_str()) {
                self.strings(v);
            }
        }
    }

    /// The mask of `value` of `kind`, the same every time within this run.
    fn mask(&mut self, kind: Kind, value: &str) -> String {
        if let Some(m) = self.masks.get(&(kind, value.to_owned())) {
            return m.clone();
        }
        let n = {
            let c = self.counts.entry(kind).or_insert(0);
            *c += 1;
            *c
        };
        let m = match kind {
            Kind::Ipv4 => ipv4_mask(n).to_string(),
            Kind::Ipv6 => {
                Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, (n >> 16) as u16, n as u16).to_string()
            }
            Kind::Account => format!("{:012}", n % 1_000_000_000_000),
            Kind::AccessKey => format!("{}REDACTED{n:08}", value.get(..4).unwrap_or("AKIA")),
            Kind::Session => format!("redacted-session-{n}"),
            Kind::Token => format!("redacted-token-{n}"),
            Kind::Env => format!("redacted-env-{n}"),
            Kind::Secret => format!("redacted-secret-{n}"),
            Kind::Other => format!("redacted-{n}"),
        };
        self.masks.insert((kind, value.to_owned()), m.clone());
        m
    }

    /// Masks what the text patterns find in one string.
    pub fn text<'s>(&mut self, s: &'s str) -> Cow<'s, str> {
        // Every pattern holds a digit, an uppercase letter, a colon (an IPv6 address such as
        // `fe::ab`) or `bearer`: a cheap test that lets most names, reasons and verbs go by.
        // `=` lets `--password=…` through too.
        if !s
            .bytes()
            .any(|b| b.is_ascii_digit() || b.is_ascii_uppercase() || b == b':' || b == b'=')
            && !s.contains("earer")
        {
            return Cow::Borrowed(s);
        }
        let mut out: Cow<'s, str> = Cow::Borrowed(s);
        macro_rules! apply {
            ($re:ident, $f:expr) => {
                if self.re.$re.is_match(&out) {
                    let re = self.re.$re.clone();
                    let replaced = re
                        .replace_all(&out, |c: &Captures| $f(self, c))
                        .into_owned();
                    out = Cow::Owned(replaced);
                }
            };
        }
        apply!(eks_token, |r: &mut Self, c: &Captures| r
            .mask(Kind::Token, &c[0]));
        apply!(jwt, |r: &mut Self, c: &Captures| r.mask(Kind::Token, &c[0]));
        apply!(secret_flag, |r: &mut Self, c: &Captures| {
            // A token the patterns above masked already keeps its mask.
            if c[2].starts_with("redacted-") {
                return c[0].to_owned();
            }
            format!("{}{}", &c[1], r.mask(Kind::Token, &c[2]))
        });
        apply!(secret_key, |r: &mut Self, c: &Captures| {
            let whole = &c[0];
            let key = c.get(1).expect("group 1 always takes part");
            let k = key.as_str();
            let mixed = k.bytes().any(|b| b.is_ascii_uppercase())
                && k.bytes().any(|b| b.is_ascii_lowercase())
                && k.bytes().any(|b| b.is_ascii_digit());
            if !mixed {
                return whole.to_owned();
            }
            let from = key.start() - c.get(0).expect("the match").start();
            format!(
                "{}{}{}",
                &whole[..from],
                r.mask(Kind::Token, k),
                &whole[from + k.len()..]
            )
        });
        apply!(bearer, |r: &mut Self, c: &Captures| format!(
            "{}{}{}",
            &c[1],
            &c[2],
            r.mask(Kind::Token, &c[3])
        ));
        apply!(access_key, |r: &mut Self, c: &Captures| r
            .mask(Kind::AccessKey, &c[0]));
        apply!(arn, |r: &mut Self, c: &Captures| {
            let account = c
                .get(4)
                .map(|a| r.mask(Kind::Account, a.as_str()))
                .unwrap_or_default();
            let resource = &c[5];
            let resource = match resource
                .strip_prefix("assumed-role/")
                .and_then(|x| x.split_once('/'))
            {
                Some((role, session)) => {
                    format!("assumed-role/{role}/{}", r.mask(Kind::Session, session))
                }
                None => resource.to_owned(),
            };
            format!("arn:{}:{}:{}:{account}:{resource}", &c[1], &c[2], &c[3])
        });
        apply!(ecr, |r: &mut Self, c: &Captures| format!(
            "{}{}",
            r.mask(Kind::Account, &c[1]),
            &c[2]
        ));
        // An account id already seen in an ARN or a registry, wherever else it appears.
        apply!(account, |r: &mut Self, c: &Captures| {
            match r.masks.get(&(Kind::Account, c[0].to_owned())) {
                Some(m) => m.clone(),
                None => c[0].to_owned(),
            }
        });
        apply!(ipv4, |r: &mut Self, c: &Captures| r.ip4(&c[0]));
        apply!(dashed_ipv4, |r: &mut Self, c: &Captures| {
            let dotted = c[1].replace('-', ".");
            r.ip4(&dotted).replace('.', "-")
        });
        apply!(ipv6, |r: &mut Self, c: &Captures| r.ip6(&c[0]));
        out
    }

    fn ip4(&mut self, s: &str) -> String {
        match s.parse::<Ipv4Addr>() {
            Ok(ip) if ip.is_loopback() || ip.is_unspecified() || is_masked_v4(ip) => s.to_owned(),
            Ok(_) => self.mask(Kind::Ipv4, s),
            Err(_) => s.to_owned(),
        }
    }

    /// A run of hex digits, colons and dots: an IPv6 address, possibly with punctuation around it
    /// (`addr.`, `:addr`), or not an address at all (a time, a MAC address).
    fn ip6(&mut self, s: &str) -> String {
        let (run, zone) = match s.split_once('%') {
            Some((a, z)) => (a, Some(z)),
            None => (s, None),
        };
        let end = run.trim_end_matches(['.', ':']);
        let candidates = [
            (0, run.len()),
            (0, end.len()),
            (1, run.len()),
            (1, end.len()),
        ];
        for (from, to) in candidates {
            let Some(addr) = run
                .get(from..to)
                .filter(|a| from == 0 || !a.starts_with(':'))
            else {
                continue;
            };
            let Ok(ip) = addr.parse::<Ipv6Addr>() else {
                continue;
            };
            if ip.is_loopback() || ip.is_unspecified() || ip.segments()[..2] == [0x2001, 0xdb8] {
                return s.to_owned();
            }
            let m = self.mask(Kind::Ipv6, &ip.to_string());
            let zone = if zone.is_some() { "%redacted" } else { "" };
            return format!("{}{m}{zone}{}", &run[..from], &run[to..]);
        }
        s.to_owned()
    }

    /// Masks `account` wherever it appears from now on (`redact --account`).
    pub fn learn_account(&mut self, account: &str) {
        self.mask(Kind::Account, account);
    }

    /// Registers the account id of every ARN (also URL-encoded) and ECR registry in `text`: the
    /// first pass of `run` over the whole input.
    pub fn learn_accounts_in(&mut self, text: &str) {
        if !text.contains("arn") && !text.contains("ARN") && !text.contains("dkr") {
            return;
        }
        self.learn_accounts_of(text);
    }

    /// Registers the account ids of `text`'s ARNs and ECR registries.
    fn learn_accounts_of(&mut self, text: &str) {
        let re = self.re;
        for c in re.arn.captures_iter(text) {
            if let Some(a) = c.get(4) {
                self.mask(Kind::Account, a.as_str());
            }
        }
        for c in re.arn_encoded.captures_iter(text) {
            self.mask(Kind::Account, &c[1]);
        }
        for c in re.ecr.captures_iter(text) {
            self.mask(Kind::Account, &c[1]);
        }
    }

    /// Registers the account id of every ARN and ECR registry in `v`'s strings.
    fn learn_accounts(&mut self, v: &Value) {
        match v {
            Value::String(s) => self.learn_accounts_of(s),
            Value::Array(a) => a.iter().for_each(|v| self.learn_accounts(v)),
            Value::Object(m) => m.values().for_each(|v| self.learn_accounts(v)),
            _ => {}
        }
    }
}

/// A field whose value is a credential wherever it appears in a body (TokenReview `spec.token`,
/// a TokenRequest's `status.token`, a password in a custom resource).
fn is_credential_key(k: &str) -> bool {
    let k: String = k
        .chars()
        .filter(|c| *c != '_' && *c != '-')
        .map(|c| c.to_ascii_lowercase())
        .collect();
    matches!(
        k.as_str(),
        "token"
            | "password"
            | "passwd"
            | "apikey"
            | "accesstoken"
            | "refreshtoken"
            | "idtoken"
            | "bearertoken"
            | "clientsecret"
            | "secretaccesskey"
            | "sessiontoken"
            | "privatekey"
    )
}

/// HTTP headers that carry credentials, as keys of a header map.
fn is_credential_header(k: &str) -> bool {
    [
        "authorization",
        "proxy-authorization",
        "x-api-key",
        "api-key",
        "x-auth-token",
        "cookie",
        "set-cookie",
        "x-amz-security-token",
    ]
    .iter()
    .any(|h| k.eq_ignore_ascii_case(h))
}

fn is_audit_event(m: &Map<String, Value>) -> bool {
    m.get("auditID").is_some_and(Value::is_string)
        && (m.get("verb").is_some_and(Value::is_string)
            || m.get("stage").is_some_and(Value::is_string))
        && m.get("kind")
            .and_then(Value::as_str)
            .is_none_or(|k| k == "Event")
}

fn for_each_string(v: &mut Value, f: &mut dyn FnMut(&mut String)) {
    match v {
        Value::String(s) => f(s),
        Value::Array(a) => a.iter_mut().for_each(|v| for_each_string(v, f)),
        Value::Object(m) => m.values_mut().for_each(|v| for_each_string(v, f)),
        _ => {}
    }
}

/// The n-th (from 1) address of the documentation ranges, then of the benchmarking range.
fn ipv4_mask(n: u64) -> Ipv4Addr {
    const DOC: [[u8; 3]; 3] = [[192, 0, 2], [198, 51, 100], [203, 0, 113]];
    let i = (n - 1) as usize;
    if i < 3 * 254 {
        let [a, b, c] = DOC[i / 254];
        return Ipv4Addr::new(a, b, c, (i % 254) as u8 + 1);
    }
    // 198.18.0.0/15 holds 131072 addresses; beyond that masks repeat (never real addresses).
    let j = ((i - 3 * 254) % (1 << 17)) as u32;
    Ipv4Addr::from(u32::from(Ipv4Addr::new(198, 18, 0, 0)) + j)
}

/// An address of the documentation ranges: never a real one, so left as it is (redacting a
/// redacted log changes nothing there). The benchmarking range is masked like any other.
fn is_masked_v4(ip: Ipv4Addr) -> bool {
    let o = ip.octets();
    matches!(
        [o[0], o[1], o[2]],
        [192, 0, 2] | [198, 51, 100] | [203, 0, 113]
    )
}

/// Standard base64 with padding (RFC 4648), as Secret data holds values; also the report's
/// Content-Security-Policy hashes.
pub fn base64_encode(data: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(T[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// The `redact` command

#[derive(Debug, thiserror::Error)]
pub enum RedactError {
    #[error(transparent)]
    Source(#[from] crate::source::SourceError),
    #[error("{0}: {1}")]
    Io(String, #[source] std::io::Error),
    #[error("{0}")]
    Usage(String),
}

/// At most this many diagnostics are printed; the count covers them all.
const MAX_DIAGNOSTICS: u64 = 1000;

/// Counts of one `redact` run.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct RunSummary {
    pub lines: u64,
    pub written: u64,
    pub dropped: u64,
}

/// How one `redact` run reads its input.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Account ids to mask wherever they appear, beside those learned from the input.
    pub accounts: Vec<String>,
    /// A longer line is reported and dropped without being held whole in memory, as `timeline`
    /// does (`scan::ScanOptions::max_line`).
    pub max_line: usize,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            accounts: Vec::new(),
            max_line: 256 << 20,
        }
    }
}

/// Opens the input again from its start: `run` reads it twice.
pub type Reopen<'a> = dyn FnMut() -> Result<Box<dyn std::io::Read + Send>, RedactError> + 'a;

/// One line of a reader, at most `max` bytes held.
enum Line {
    /// The line (with its newline, if any) is in the buffer.
    Whole,
    /// The line was longer than `max`; its bytes were passed over.
    TooLong,
    End,
}

fn read_line_capped(
    r: &mut dyn std::io::BufRead,
    buf: &mut Vec<u8>,
    max: usize,
) -> std::io::Result<Line> {
    buf.clear();
    let mut skipped = false;
    loop {
        let chunk = match r.fill_buf() {
            Ok(c) => c,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if chunk.is_empty() {
            return Ok(if skipped {
                Line::TooLong
            } else if buf.is_empty() {
                Line::End
            } else {
                Line::Whole
            });
        }
        let (take, done) = match memchr::memchr(b'\n', chunk) {
            Some(i) => (i + 1, true),
            None => (chunk.len(), false),
        };
        if !skipped && buf.len() + take > max {
            skipped = true;
            buf.clear();
            buf.shrink_to(1 << 20);
        } else if !skipped {
            buf.extend_from_slice(&chunk[..take]);
        }
        r.consume(take);
        if done {
            return Ok(if skipped { Line::TooLong } else { Line::Whole });
        }
    }
}

/// `ktrail redact`: reads the input (opened by `reopen`, named `origin` in diagnostics) twice:
/// once to learn every account id (from ARNs, URL-encoded ARNs and registries) so that one named
/// before the line that reveals it is masked too, then to write the redacted lines to `out`.
/// Dropped lines are reported as `FILE:LINE: reason` on `diag`. A file that is one JSON document
/// (what the AWS CLI prints) is redacted whole and written as one line.
pub fn run(
    reopen: &mut Reopen<'_>,
    origin: &str,
    out: &mut dyn std::io::Write,
    out_name: &str,
    diag: &mut dyn std::io::Write,
    opts: &RunOptions,
) -> Result<RunSummary, RedactError> {
    use std::io::{BufRead, BufReader, Read, Write};

    let mut r = Redactor::new();
    for a in &opts.accounts {
        r.learn_account(a);
    }
    let read_err = |e| RedactError::Io(origin.to_owned(), e);
    let io_err = |e| RedactError::Io(out_name.to_owned(), e);

    let mut buf = Vec::new();
    {
        let mut reader = BufReader::with_capacity(1 << 20, reopen()?);
        loop {
            match read_line_capped(&mut reader, &mut buf, opts.max_line).map_err(read_err)? {
                Line::Whole => r.learn_accounts_in(&String::from_utf8_lossy(&buf)),
                Line::TooLong => {}
                Line::End => break,
            }
        }
    }

    let mut reader = BufReader::with_capacity(1 << 20, reopen()?);
    let mut sum = RunSummary::default();
    let mut printed = 0u64;
    let mut report = |line_no: u64, reason: Option<String>, diag: &mut dyn Write| {
        if let Some(reason) = reason {
            printed += 1;
            if printed <= MAX_DIAGNOSTICS {
                let text = format!("{origin}:{line_no}: {reason}");
                let _ = writeln!(diag, "{}", crate::escape::escape(&text));
            }
        }
    };
    // A lone `[` or `{` on the first line opens one JSON document, as in `scan`.
    let head = reader.fill_buf().map_err(read_err)?;
    let first_line = head.split(|b| *b == b'\n').next().unwrap_or_default();
    if matches!(decode::trim(first_line), b"[" | b"{") && head.contains(&b'\n') {
        let mut doc = Vec::new();
        let limit = opts.max_line as u64;
        (&mut reader)
            .take(limit + 1)
            .read_to_end(&mut doc)
            .map_err(read_err)?;
        sum.lines = 1;
        if doc.len() as u64 > limit {
            report(1, Some(too_long(limit)), diag);
            sum.dropped = 1;
            return Ok(sum);
        }
        let red = r.line(&doc);
        report(1, red.reason(), diag);
        if let Some(l) = &red.line {
            out.write_all(l)
                .and_then(|_| out.write_all(b"\n"))
                .map_err(io_err)?;
            sum.written = 1;
        } else {
            sum.dropped = 1;
        }
        out.flush().map_err(io_err)?;
        return Ok(sum);
    }
    loop {
        let line = read_line_capped(&mut reader, &mut buf, opts.max_line).map_err(read_err)?;
        match line {
            Line::End => break,
            Line::TooLong => {
                sum.lines += 1;
                sum.dropped += 1;
                report(sum.lines, Some(too_long(opts.max_line as u64)), diag);
                continue;
            }
            Line::Whole => {}
        }
        sum.lines += 1;
        let red = r.line(&buf);
        report(sum.lines, red.reason(), diag);
        match &red.line {
            Some(l) if l.is_empty() => {}
            Some(l) => {
                out.write_all(l)
                    .and_then(|_| out.write_all(b"\n"))
                    .map_err(io_err)?;
                sum.written += 1;
            }
            None => sum.dropped += 1,
        }
    }
    out.flush().map_err(io_err)?;
    if printed > MAX_DIAGNOSTICS {
        let _ = writeln!(
            diag,
            "ktrail: only the first {MAX_DIAGNOSTICS} diagnostics were shown"
        );
    }
    Ok(sum)
}

fn too_long(limit: u64) -> String {
    format!("line longer than {} MiB; line dropped", limit >> 20)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn text(r: &mut Redactor, s: &str) -> String {
        r.text(s).into_owned()
    }

    #[test]
    fn text_patterns_mask_and_keep_shape() {
        let mut r = Redactor::new();
        assert_eq!(text(&mut r, "10.0.1.7"), "192.0.2.1");
        assert_eq!(
            text(&mut r, "from 10.0.1.8 and 10.0.1.7"),
            "from 192.0.2.2 and 192.0.2.1"
        );
        assert_eq!(
            text(&mut r, "ip-10-0-1-7.us-west-2.compute.internal"),
            "ip-192-0-2-1.us-west-2.compute.internal"
        );
        assert_eq!(
            text(&mut r, "system:node:fargate-ip-10-0-1-9.ec2.internal"),
            "system:node:fargate-ip-192-0-2-3.ec2.internal"
        );
        for kept in [
            "127.0.0.1",
            "0.0.0.0",
            "::1",
            "::",
            "192.0.2.200",
            "2001:db8::5",
            "v1.29.0",
            "kube-scheduler/v1.29.4 (linux/amd64) kubernetes/036c24b",
            "2024-05-01T10:00:00.100000Z",
            "aa:bb:cc:dd:ee:ff",
            "system:serviceaccount:kube-system:replicaset-controller",
            "5d3c1f0e-0000-4000-8000-000000000001",
            "arn:aws:s3:::my-bucket",
            "nginx:1.25.3",
        ] {
            assert_eq!(text(&mut r, kept), kept);
        }
        assert_eq!(text(&mut r, "fd00:ec2::23"), "2001:db8::1");
        assert_eq!(text(&mut r, "[fd00:ec2::23]:443"), "[2001:db8::1]:443");
        assert_eq!(
            text(
                &mut r,
                "arn:aws:sts::111122223333:assumed-role/Admin/alice@example.com"
            ),
            "arn:aws:sts::000000000001:assumed-role/Admin/redacted-session-1"
        );
        assert_eq!(
            text(&mut r, "arn:aws:iam::111122223333:role/shop-cart"),
            "arn:aws:iam::000000000001:role/shop-cart"
        );
        assert_eq!(
            text(
                &mut r,
                "444455556666.dkr.ecr.us-west-2.amazonaws.com/shop/cart:1.2"
            ),
            "000000000002.dkr.ecr.us-west-2.amazonaws.com/shop/cart:1.2"
        );
        assert_eq!(
            text(&mut r, "key AKIAIOSFODNN7EXAMPLE"),
            "key AKIAREDACTED00000001"
        );
        assert_eq!(
            text(&mut r, "Authorization: Bearer abc.DEF-123"),
            "Authorization: Bearer redacted-token-1"
        );
        assert_eq!(text(&mut r, "bearer abcdef"), "bearer redacted-token-2");
        let jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW0ifQ.c2lnbmF0dXJl";
        assert_eq!(
            text(&mut r, &format!("token={jwt}&x=1")),
            "token=redacted-token-3&x=1"
        );
        assert_eq!(
            text(&mut r, jwt),
            "redacted-token-3",
            "same value, same mask"
        );
        // Values in URL-encoded queries follow a letter or a digit of the escape.
        assert_eq!(
            text(
                &mut r,
                "?command=http%3A%2F%2F10.0.1.7%3A8080&x=host_10.0.1.8_y"
            ),
            "?command=http%3A%2F%2F192.0.2.1%3A8080&x=host_192.0.2.2_y"
        );
        assert_eq!(
            text(
                &mut r,
                "role%3Darn:aws:iam::111122223333:role/x&acct=111122223333"
            ),
            "role%3Darn:aws:iam::000000000001:role/x&acct=000000000001"
        );
        assert_eq!(
            text(&mut r, "Authorization%3A+Bearer+abc"),
            "Authorization%3A+Bearer+redacted-token-4"
        );
        assert_eq!(
            text(&mut r, "k%3DAKIAIOSFODNN7EXAMPLE_x"),
            "k%3DAKIAREDACTED00000001_x"
        );
        // IPv6 addresses are whole runs: punctuation around them is kept, pieces of longer runs
        // of digits and colons are not addresses.
        assert_eq!(text(&mut r, "peer fd00:ec2::23."), "peer 2001:db8::1.");
        assert_eq!(text(&mut r, "x=:fd00:ec2::24"), "x=:2001:db8::2");
        assert_eq!(text(&mut r, "::ffff:10.9.8.7"), "2001:db8::3");
        assert_eq!(text(&mut r, "fe80::1%eth0"), "2001:db8::4%redacted");
        assert_eq!(text(&mut r, "q::999988887777:z"), "q::999988887777:z");
        assert_eq!(text(&mut r, "10:00:00.100000"), "10:00:00.100000");
    }

    #[test]
    fn credentials_and_addresses_in_free_text() {
        let mut r = Redactor::new();
        assert_eq!(
            text(&mut r, "ec2-54-201-33-7.compute-1.amazonaws.com"),
            "ec2-192-0-2-1.compute-1.amazonaws.com"
        );
        assert_eq!(text(&mut r, "10-0-1-7.nip.io"), "192-0-2-2.nip.io");
        assert_eq!(text(&mut r, "x1-0-1-7 2024-05-01"), "x1-0-1-7 2024-05-01");
        assert_eq!(
            text(&mut r, "k8s-aws-v1.aHR0cHM6Ly9zdHM_QWN0aW9u"),
            "redacted-token-1"
        );
        assert_eq!(
            text(&mut r, "mysql --password=hunter2 -h db"),
            "mysql --password=redacted-token-2 -h db"
        );
        assert_eq!(
            text(&mut r, "DB_PASSWORD=hunter2 exec app"),
            "DB_PASSWORD=redacted-token-2 exec app"
        );
        assert_eq!(
            text(&mut r, "key wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY."),
            "key redacted-token-3."
        );
        // A hex digest of the same length is no key.
        let sha = "0123456789abcdef0123456789abcdef01234567";
        assert_eq!(text(&mut r, sha), sha);
        r.learn_accounts_in("role=arn%3Aaws%3Aiam%3A%3A111122223333%3Arole%2Fx");
        r.learn_accounts_in("777788889999.dkr-ecr.us-east-1.on.aws/app");
        assert_eq!(text(&mut r, "owner 111122223333"), "owner 000000000001");
        assert_eq!(text(&mut r, "owner 777788889999"), "owner 000000000002");
    }

    /// `run` reads twice: an account named before the ARN that reveals it is masked; a line over
    /// the cap is dropped without being held, and the lines around it are kept.
    #[test]
    fn run_learns_accounts_first_and_caps_lines() {
        let ev =
            |id: &str, s: &str| json!({"auditID": id, "verb": "get", "requestURI": s}).to_string();
        let long = ev("long", &"x".repeat(5000));
        let input = [
            ev("a", "/owner/111122223333"),
            long,
            ev("b", "arn:aws:iam::111122223333:role/x"),
        ]
        .join("\n");
        let mut reopen =
            || Ok(Box::new(std::io::Cursor::new(input.clone().into_bytes())) as Box<_>);
        let (mut out, mut diag) = (Vec::new(), Vec::new());
        let opts = RunOptions {
            max_line: 1000,
            ..RunOptions::default()
        };
        let sum = run(&mut reopen, "in", &mut out, "out", &mut diag, &opts).unwrap();
        assert_eq!((sum.lines, sum.written, sum.dropped), (3, 2, 1));
        let out = String::from_utf8(out).unwrap();
        assert!(!out.contains("111122223333"), "{out}");
        assert!(out.contains("/owner/000000000001"), "{out}");
        assert_eq!(
            String::from_utf8(diag).unwrap(),
            "in:2: line longer than 0 MiB; line dropped\n"
        );
    }

    #[test]
    fn ipv4_masks_stay_in_reserved_ranges() {
        assert_eq!(ipv4_mask(1), Ipv4Addr::new(192, 0, 2, 1));
        assert_eq!(ipv4_mask(254), Ipv4Addr::new(192, 0, 2, 254));
        assert_eq!(ipv4_mask(255), Ipv4Addr::new(198, 51, 100, 1));
        assert_eq!(ipv4_mask(763), Ipv4Addr::new(198, 18, 0, 0));
        assert_eq!(ipv4_mask(763 + 70_000), Ipv4Addr::new(198, 19, 17, 112));
        for n in [1, 300, 600, 762] {
            assert!(is_masked_v4(ipv4_mask(n)), "{n}");
        }
        for n in [763, 100_000, 10_000_000] {
            let o = ipv4_mask(n).octets();
            assert!(o[0] == 198 && (o[1] == 18 || o[1] == 19), "{n}");
        }
    }

    #[test]
    fn base64_matches_the_standard() {
        for (plain, enc) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("redacted-secret-1", "cmVkYWN0ZWQtc2VjcmV0LTE="),
        ] {
            assert_eq!(base64_encode(plain.as_bytes()), enc);
        }
    }

    fn redact(r: &mut Redactor, v: &Value) -> Value {
        let out = r.line(v.to_string().as_bytes());
        assert_eq!(out.problem, None);
        serde_json::from_slice(&out.line.unwrap()).unwrap()
    }

    #[test]
    fn env_values_secrets_and_users_are_masked() {
        let mut r = Redactor::new();
        let pod = json!({"kind": "Pod", "spec": {
            "containers": [{"name": "app", "image": "111122223333.dkr.ecr.eu-west-1.amazonaws.com/app:1",
                            "env": [{"name": "DB_PASSWORD", "value": "hunter2"},
                                    {"name": "FROM_SECRET", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}}]}],
            "initContainers": [{"name": "init", "env": [{"name": "AGAIN", "value": "hunter2"}]}]}});
        let ev = json!({
            "kind": "Event", "auditID": "a", "stage": "ResponseComplete", "verb": "create",
            "user": {"username": "kubernetes-admin", "uid": "aws-iam-authenticator:111122223333:AROAEXAMPLEEXAMPLE01",
                     "extra": {"accessKeyId": ["ASIAEXAMPLEEXAMPLE01"],
                               "arn": ["arn:aws:sts::111122223333:assumed-role/Admin/alice"],
                               "principalId": ["AROAEXAMPLEEXAMPLE01:alice"],
                               "sessionName": ["alice"]}},
            "sourceIPs": ["203.0.113.250", "10.1.2.3", "fd00::1"],
            "objectRef": {"resource": "pods", "namespace": "ns", "name": "p"},
            "requestObject": pod, "responseObject": pod,
            "annotations": {"patch.webhook.admission.k8s.io/round_0_index_0": json!({
                "webhook": "w", "patch": [
                    {"op": "add", "path": "/spec/containers/0/env/-", "value": {"name": "AWS_ROLE_ARN", "value": "arn:aws:iam::111122223333:role/r"}},
                    {"op": "add", "path": "/spec/containers/0/env", "value": [{"name": "T", "value": "tok"}]},
                    {"op": "replace", "path": "/spec/containers/0/env/0/value", "value": "hunter2"}]}).to_string()}
        });
        let out = redact(&mut r, &ev);
        let text = out.to_string();
        for secret in [
            "hunter2",
            "111122223333",
            "alice",
            "ASIAEXAMPLE",
            "AROAEXAMPLE",
            "10.1.2.3",
            "fd00::1",
            "\"tok\"",
        ] {
            assert!(!text.contains(secret), "{secret} left in {text}");
        }
        assert_eq!(
            out["requestObject"], out["responseObject"],
            "same values, same masks"
        );
        let env = &out["requestObject"]["spec"]["containers"][0]["env"];
        assert_eq!(env[0]["value"], "redacted-env-1");
        assert_eq!(env[0]["name"], "DB_PASSWORD", "names are kept");
        assert_eq!(env[1]["valueFrom"]["secretKeyRef"]["key"], "k");
        assert_eq!(
            out["requestObject"]["spec"]["initContainers"][0]["env"][0]["value"],
            "redacted-env-1"
        );
        assert_eq!(
            out["requestObject"]["spec"]["containers"][0]["image"],
            "000000000001.dkr.ecr.eu-west-1.amazonaws.com/app:1"
        );
        assert_eq!(
            out["sourceIPs"],
            json!(["203.0.113.250", "192.0.2.1", "2001:db8::1"])
        );
        let extra = &out["user"]["extra"];
        assert_eq!(extra["accessKeyId"][0], "ASIAREDACTED00000001");
        assert_eq!(
            extra["arn"][0],
            "arn:aws:sts::000000000001:assumed-role/Admin/redacted-session-1"
        );
        assert_eq!(
            extra["sessionName"][0], "redacted-session-1",
            "one session, one mask"
        );
        assert!(extra["principalId"][0]
            .as_str()
            .unwrap()
            .starts_with("redacted-"));
        let ann: Value = serde_json::from_str(
            out["annotations"]["patch.webhook.admission.k8s.io/round_0_index_0"]
                .as_str()
                .unwrap(),
        )
        .unwrap();
        assert_eq!(ann["webhook"], "w");
        assert_eq!(ann["patch"][0]["path"], "/spec/containers/0/env/-");
        assert_eq!(ann["patch"][0]["value"]["name"], "AWS_ROLE_ARN");
        assert!(ann["patch"][0]["value"]["value"]
            .as_str()
            .unwrap()
            .starts_with("redacted-env-"));
        assert!(ann["patch"][1]["value"][0]["value"]
            .as_str()
            .unwrap()
            .starts_with("redacted-env-"));
        assert_eq!(ann["patch"][2]["value"], "redacted-env-1");
    }

    #[test]
    fn secrets_tokens_and_last_applied_configuration() {
        let mut r = Redactor::new();
        let last = json!({"kind": "Secret", "data": {"password": "aHVudGVyMg=="}}).to_string();
        let secret = json!({"kind": "Secret", "metadata": {"name": "db", "annotations": {
            "kubectl.kubernetes.io/last-applied-configuration": last}},
            "data": {"password": "aHVudGVyMg=="}, "stringData": {"user": "root"}, "type": "Opaque"});
        let ev = json!({"auditID": "s", "verb": "create", "objectRef": {"resource": "secrets", "name": "db"},
            "requestObject": secret, "responseObject": {"kind": "Status"}});
        let out = redact(&mut r, &ev).to_string();
        assert!(
            !out.contains("aHVudGVyMg") && !out.contains("root"),
            "{out}"
        );
        assert!(
            out.contains("cmVkYWN0ZWQtc2VjcmV0LTE="),
            "data stays base64: {out}"
        );
        // A patch of a Secret without kind, and a SecretList.
        let ev = json!({"auditID": "p", "verb": "patch", "objectRef": {"resource": "secrets"},
            "requestObject": {"data": {"k": "aGVsbG8="}}});
        assert!(!redact(&mut r, &ev).to_string().contains("aGVsbG8"));
        let ev = json!({"auditID": "l", "verb": "list", "objectRef": {"resource": "secrets"},
            "responseObject": {"kind": "SecretList", "items": [{"data": {"k": "d29ybGQ="}}]}});
        assert!(!redact(&mut r, &ev).to_string().contains("d29ybGQ"));
        // A TokenRequest's token, and an Authorization header anywhere in a body.
        let ev = json!({"auditID": "t", "verb": "create", "objectRef": {"resource": "serviceaccounts", "subresource": "token"},
            "responseObject": {"kind": "TokenRequest", "status": {"token": "eyJhbGciOiJSUzI1NiJ9.eyJhdWQiOlsiYSJdfQ.sig-nature"}},
            "requestObject": {"headers": {"Authorization": ["Basic dXNlcjpwYXNz"]}}});
        let out = redact(&mut r, &ev).to_string();
        assert!(
            !out.contains("eyJhbGci") && !out.contains("dXNlcjpwYXNz"),
            "{out}"
        );
    }

    #[test]
    fn gke_entries_and_aks_records_are_masked_in_their_shapes() {
        let mut r = Redactor::new();
        let pod = json!({"kind": "Pod", "spec": {"containers": [{"name": "c", "env": [{"name": "DB_PASSWORD", "value": "hunter2"}]}]}});
        let gke = json!({
            "protoPayload": {
                "authenticationInfo": {"principalEmail": "dev@example.com"},
                "methodName": "io.k8s.core.v1.pods.create",
                "resourceName": "core/v1/namespaces/a/pods/b",
                "requestMetadata": {"callerIp": "10.9.9.9"},
                "request": pod,
            },
            "labels": {"patch.webhook.admission.k8s.io/round_0_index_0": json!({"patch": [{"op": "add", "path": "/spec/containers/0/env", "value": [{"name": "T", "value": "s3cr3t"}]}]}).to_string()},
            "operation": {"id": "x"},
        });
        let out = String::from_utf8(redact_line(&mut r, gke.to_string().as_bytes())).unwrap();
        for gone in ["hunter2", "s3cr3t", "10.9.9.9"] {
            assert!(!out.contains(gone), "{gone}: {out}");
        }
        assert!(
            out.contains("dev@example.com") && out.contains("protoPayload"),
            "{out}"
        );
        let ev = json!({"kind": "Event", "auditID": "a", "stage": "ResponseComplete", "verb": "create",
                        "sourceIPs": ["10.8.8.8"], "requestObject": pod});
        let record = json!({
            "category": "kube-audit",
            "resourceId": "/SUBSCRIPTIONS/0b1c2d3e-0000-4000-8000-000000000001/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.CONTAINERSERVICE/MANAGEDCLUSTERS/C",
            "properties": {"log": format!("{ev}\n"), "pod": "kube-apiserver-1"},
        });
        let batch =
            json!({"records": [record, {"category": "kube-audit", "properties": {"log": ev}}]});
        let red = r.line(batch.to_string().as_bytes());
        assert_eq!(red.reason(), None);
        let out = String::from_utf8(red.line.unwrap()).unwrap();
        for gone in [
            "hunter2",
            "10.8.8.8",
            "0b1c2d3e-0000-4000-8000-000000000001",
        ] {
            assert!(!out.contains(gone), "{gone}: {out}");
        }
        let back: Value = serde_json::from_str(&out).unwrap();
        assert!(back["records"][0]["resourceId"]
            .as_str()
            .unwrap()
            .starts_with("/SUBSCRIPTIONS/redacted-"));
        assert!(back["records"][0]["properties"]["log"].is_string());
        assert!(back["records"][1]["properties"]["log"].is_object());
    }

    #[test]
    fn wrappers_are_redacted_inside_and_bad_lines_dropped() {
        let mut r = Redactor::new();
        let ev = json!({"auditID": "a", "verb": "get", "sourceIPs": ["10.9.9.9"]}).to_string();
        let wrapped = json!({"timestamp": 1, "message": ev}).to_string();
        let out = String::from_utf8(redact_line(&mut r, wrapped.as_bytes())).unwrap();
        assert!(out.contains(r#"\"sourceIPs\":[\"192.0.2.1\"]"#), "{out}");
        let list = json!({"kind": "EventList", "items": [serde_json::from_str::<Value>(&ev).unwrap(), {"kind": "Pod"}, 7]});
        let red = r.line(list.to_string().as_bytes());
        assert_eq!(
            red.reason().as_deref(),
            Some("EventList item 1: not an audit event (kind Pod); 2 of 3 items dropped")
        );
        let kept: Value = serde_json::from_slice(red.line.as_ref().unwrap()).unwrap();
        assert_eq!(kept["items"].as_array().unwrap().len(), 1);
        let gqr = json!({"results": [[{"field": "@timestamp", "value": "2024-05-01 10.0.0.1"},
                                       {"field": "@message", "value": ev}]]});
        let out = String::from_utf8(redact_line(&mut r, gqr.to_string().as_bytes())).unwrap();
        assert!(
            !out.contains("10.9.9.9") && !out.contains("10.0.0.1"),
            "{out}"
        );

        for (line, reason) in [
            (
                "I0501 10:00:00.000000 1 x.go:1] token=eyJ...",
                "not JSON (expected value at column 1); line dropped",
            ),
            (
                r#"{"auditID":"cut","verb":"create","requestObject":{"env":"#,
                "not JSON (cut short: EOF while parsing a value at column 56); line dropped",
            ),
            (
                r#"{"auditID":"big","verb":"create","requestObject":{"k":"AKIA[Truncated...]"#,
                "event big was truncated by CloudWatch Logs (over 256 KB); line dropped",
            ),
            (
                r#"{"kind":"Pod","spec":{"env":[{"value":"x"}]}}"#,
                "not an audit event (kind Pod); line dropped",
            ),
            ("42", "not an audit event (a number); line dropped"),
            (
                r#"{"records":[{"properties":{"log":"{}"}}]}"#,
                "records item 0: not an audit event (no auditID); line dropped",
            ),
            (
                r#"{"message":"not json at all"}"#,
                "not JSON (expected ident at column 2); line dropped",
            ),
        ] {
            let red = r.line(line.as_bytes());
            assert_eq!(red.line, None, "{line}");
            assert_eq!(red.reason().as_deref(), Some(reason), "{line}");
            assert!(redact_line(&mut r, line.as_bytes()).is_empty());
        }
        assert_eq!(r.line(b"  \r\n").line, Some(Vec::new()));
        let deep = format!(
            r#"{{"auditID":"d","verb":"get","requestObject":{}1{}}}"#,
            "[".repeat(200),
            "]".repeat(200)
        );
        let red = r.line(deep.as_bytes());
        assert_eq!(red.line, None);
        assert_eq!(
            red.reason().as_deref(),
            Some("not JSON (recursion limit exceeded; too deep to redact); line dropped")
        );
    }
}
