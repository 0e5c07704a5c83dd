//! Proves, without building anything, that a line decodes to one audit event the selection
//! ignores, so that the line can be counted and not parsed.
//!
//! Many lines that pass the literal prefilter of a busy cluster's log are still of no interest:
//! node status writes that mention `pods` in the node's capacity, reads of pods that the byte
//! test of `scan::is_plain_read` leaves to the decoder (kubelets and controllers get, list and
//! watch pods all day; most are skipped before this). Parsing them with serde costs several
//! microseconds each; this module reads the top level of the object in one pass instead.
//!
//! The answer must be exact, because a skipped line is counted as if it had been decoded: [`skim`]
//! says [`Verdict::Ignored`] only when `decode::decode_line` would succeed on the line, yield
//! exactly one audit event, and `record::extract` would return `Extracted::Other` for it. So the
//! walk checks everything serde would check on the way: the whole line is JSON (strings, escapes,
//! numbers, literals, nesting, nothing after the object), it is valid UTF-8, the fields of
//! `audit::Event` have the types serde expects and appear once. Whenever a detail would need more
//! thought (an escape in a field that is read, a very deep value, a control character anywhere),
//! the answer is [`Verdict::Decode`]: decoding is always correct, only slower.
//! The mirror of `record::extract`'s early returns is in [`Top::verdict`]; the equivalence tests
//! in `tests/scan_equivalence.rs` compare both on random corpora.
//!
//! A line the selection may keep (a pod write, above all) has been read through by then as well,
//! so [`read`] builds its `audit::Event` from what the walk found instead of handing the line to
//! serde to read a second time: the same values serde would give, field for field. Strings with
//! escapes are decoded one at a time by serde_json; what the walk refuses is still decoded whole.

use std::borrow::Cow;
use std::collections::BTreeMap;

use crate::admission;
use crate::audit::{self, Event, ObjectRef, Status, UserInfo};
use crate::collect::{self, LineResult};
use crate::decode;
use crate::formats::{cwexport, firehose};
use crate::json::read::{Reader, Str};
use crate::json::unescape::unescape;
use crate::record::{Extracted, Selection};

/// What the skim found out about a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// One valid audit event that the selection ignores: count it as read, do not decode it.
    Ignored,
    /// Anything else: decode the line.
    Decode,
}

/// What [`read`] found out about a line.
#[derive(Debug)]
pub enum Skimmed<'a> {
    /// One valid audit event that the selection ignores: count it as read, do not decode it.
    Ignored,
    /// One valid audit event that the selection may keep, as serde would have decoded it (its
    /// `source`, which the wrapping tells, is the caller's to set).
    Event(Box<Event<'a>>),
    /// Anything else: decode the line.
    Decode,
}

/// Skims a trimmed line (first byte `{`, last byte `}`).
pub fn skim(line: &[u8], sel: &Selection) -> Verdict {
    match read(line, sel) {
        Skimmed::Ignored => Verdict::Ignored,
        Skimmed::Event(_) | Skimmed::Decode => Verdict::Decode,
    }
}

/// Skims a trimmed line (first byte `{`, last byte `}`), and builds the event of a line the
/// selection may keep.
pub fn read<'a>(line: &'a [u8], sel: &Selection) -> Skimmed<'a> {
    // A control character (audit lines have none between tokens either) or invalid UTF-8: the
    // reader's string scan relies on neither, so such a line is decoded, as is a value nested
    // deeper than the reader walks.
    let Ok(text) = std::str::from_utf8(line) else {
        return Skimmed::Decode;
    };
    let Some(mut w) = Reader::checked_str(text) else {
        return Skimmed::Decode;
    };
    let top = match top(&mut w) {
        Some(top) if w.at_end() && !w.saw_surrogate() => top,
        _ => return Skimmed::Decode,
    };
    match top.verdict(sel) {
        Verdict::Ignored => Skimmed::Ignored,
        // A subscription record is read as one even when it looks like an event too.
        Verdict::Decode if top.is_event() && !firehose::is_record(line) => top
            .event(text)
            .map_or(Skimmed::Decode, |e| Skimmed::Event(Box::new(e))),
        Verdict::Decode => Skimmed::Decode,
    }
}

/// What [`read`] made of a line, as [`verify`] found it held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Said {
    Ignored,
    Built,
    /// Left to decoding (or not shaped like an object, which the scan decodes unskimmed).
    Decode,
}

/// Holds [`read`] to its promise on one line as the scan meets it (untrimmed, perhaps behind an
/// export's time prefix): a line it ignores decodes to one event that nothing keeps, and the
/// event it builds gives the record decoding the line gives. What it made of the line, or how
/// that broke the promise. For the tests and the fuzz target, which must all check the same.
pub fn verify(line: &[u8], sel: &Selection) -> Result<Said, String> {
    let t = cwexport::strip(decode::trim(line));
    if t.first() != Some(&b'{') || t.last() != Some(&b'}') {
        return Ok(Said::Decode);
    }
    let told = |r: &LineResult| format!("{} {:?} {:?}", r.events, r.extracted, r.problem);
    let decoded = collect::process_line(line, sel);
    match read(t, sel) {
        Skimmed::Ignored => {
            let nothing = decoded.events == 1
                && decoded.problem.is_none()
                && decoded
                    .extracted
                    .iter()
                    .all(|x| matches!(x, Extracted::Other));
            if nothing {
                Ok(Said::Ignored)
            } else {
                Err(format!("ignored, but decoding gives {}", told(&decoded)))
            }
        }
        Skimmed::Event(mut ev) => {
            ev.source = decode::source_of(line, t);
            let (built, decoded) = (told(&collect::process_event(&ev, sel)), told(&decoded));
            if built == decoded {
                Ok(Said::Built)
            } else {
                Err(format!("the built event gives {built}, decoding {decoded}"))
            }
        }
        Skimmed::Decode => Ok(Said::Decode),
    }
}

/// The top-level fields of `audit::Event`, as found: the ones that decide the verdict as raw
/// (escape-free) bytes, the others as strings to decode or values' text.
#[derive(Default)]
struct Top<'a> {
    /// Every known field seen so far (a bit per field), to refuse duplicates as serde does.
    seen: u32,
    /// What tells whether the line is an audit event, and whether the selection wants it.
    kind: Option<&'a [u8]>,
    audit_id: Option<Str<'a>>,
    stage: Option<Str<'a>>,
    verb: Option<&'a [u8]>,
    object_ref: Option<ObjRef<'a>>,
    /// `stageTimestamp`, `requestReceivedTimestamp`, `timestamp`: the order `Event::time` tries.
    times: [Option<Str<'a>>; 3],
    /// The rest of what `record::extract` reads.
    api_version: Option<Str<'a>>,
    level: Option<Str<'a>>,
    request_uri: Option<Str<'a>>,
    user_agent: Option<Str<'a>>,
    user: Option<User<'a>>,
    impersonated_user: Option<User<'a>>,
    response_status: Option<Stat<'a>>,
    /// The bodies' text; `None` for `null` too.
    request_object: Option<&'a [u8]>,
    response_object: Option<&'a [u8]>,
    /// The object's text; `None` for `null` too.
    annotations: Option<&'a [u8]>,
}

#[derive(Default)]
struct User<'a> {
    username: Option<Str<'a>>,
}

#[derive(Default)]
struct ObjRef<'a> {
    resource: Option<&'a [u8]>,
    namespace: Option<&'a [u8]>,
    name: Option<&'a [u8]>,
    uid: Option<&'a [u8]>,
    api_group: Option<&'a [u8]>,
    subresource: Option<&'a [u8]>,
}

#[derive(Default)]
struct Stat<'a> {
    code: Option<i64>,
    message: Option<Str<'a>>,
    reason: Option<Str<'a>>,
}

impl<'a> Top<'a> {
    /// Where the string field `bit` of [`field`] is kept, for the fields read with `lenient` that
    /// no verdict compares.
    fn text(&mut self, bit: u32) -> Option<&mut Option<Str<'a>>> {
        use field::*;
        Some(match bit {
            API_VERSION => &mut self.api_version,
            LEVEL => &mut self.level,
            AUDIT_ID => &mut self.audit_id,
            STAGE => &mut self.stage,
            REQUEST_URI => &mut self.request_uri,
            USER_AGENT => &mut self.user_agent,
            STAGE_TIMESTAMP => &mut self.times[0],
            REQUEST_RECEIVED_TIMESTAMP => &mut self.times[1],
            TIMESTAMP => &mut self.times[2],
            _ => return None,
        })
    }

    /// `Event::is_audit_event`.
    fn is_event(&self) -> bool {
        self.audit_id.is_some()
            && (self.verb.is_some() || self.stage.is_some())
            && self.kind.is_none_or(|k| k == b"Event")
    }

    /// Mirrors `Event::is_audit_event` and the early returns of `record::extract`.
    fn verdict(&self, sel: &Selection) -> Verdict {
        if !self.is_event() {
            return Verdict::Decode; // wrappers and non-events: decode says what they are
        }
        let Some(obj) = &self.object_ref else {
            return Verdict::Ignored;
        };
        let resource = obj.resource.unwrap_or(b"");
        let core = obj.api_group.unwrap_or(b"").is_empty();
        let verb = self.verb.unwrap_or(b"");
        let read_verb = matches!(verb, b"get" | b"list" | b"watch");
        match resource {
            b"pods" if core => {}
            b"mutatingwebhookconfigurations" | b"validatingwebhookconfigurations" if !read_verb => {
                return Verdict::Decode;
            }
            _ => return Verdict::Ignored,
        }
        let streaming = matches!(obj.subresource, Some(b"exec" | b"attach" | b"portforward"));
        if read_verb && !streaming && !sel.reads {
            return Verdict::Ignored;
        }
        let Some(ns) = obj.namespace else {
            return Verdict::Ignored;
        };
        if sel.namespace.as_deref().is_some_and(|n| n.as_bytes() != ns) {
            return Verdict::Ignored;
        }
        // A pod event without a valid time is a diagnostic, so the time comes before the name.
        let mut time = None;
        for t in self.times.iter().flatten() {
            let Some(raw) = t.plain() else {
                return Verdict::Decode;
            };
            if let Some(parsed) = std::str::from_utf8(raw).ok().and_then(audit::parse_time) {
                time = Some(parsed);
                break;
            }
        }
        let Some(time) = time else {
            return Verdict::Decode;
        };
        if !sel.in_window(&time) {
            return Verdict::Ignored;
        }
        match (sel.name.as_deref(), obj.name) {
            (Some(want), Some(have)) if want.as_bytes() != have => Verdict::Ignored,
            _ => Verdict::Decode,
        }
    }

    /// The event serde decodes from the line `text` this was read from; `None` when a string
    /// does not decode (serde then says why).
    fn event(&self, text: &'a str) -> Option<Event<'a>> {
        let plain = |v: Option<&'a [u8]>| each(v, |v| within(text, v).map(Cow::Borrowed));
        let string = |v: Option<Str<'a>>| each(v, |v| decoded(text, v));
        let user = |u: &Option<User<'a>>| {
            each(u.as_ref(), |u| {
                Some(UserInfo {
                    username: string(u.username)?,
                })
            })
        };
        let object_ref = match &self.object_ref {
            None => None,
            Some(o) => Some(ObjectRef {
                resource: plain(o.resource)?,
                namespace: plain(o.namespace)?,
                name: plain(o.name)?,
                uid: plain(o.uid)?,
                api_group: plain(o.api_group)?,
                subresource: plain(o.subresource)?,
            }),
        };
        let response_status = match &self.response_status {
            None => None,
            Some(s) => Some(Status {
                code: s.code,
                message: string(s.message)?,
                reason: string(s.reason)?,
            }),
        };
        let annotations = match self.annotations {
            None => None,
            Some(raw) => Some(annotation_map(text, raw)?),
        };
        let [stage_timestamp, request_received_timestamp, timestamp] = self.times;
        Some(Event {
            kind: plain(self.kind)?,
            api_version: string(self.api_version)?,
            level: string(self.level)?,
            audit_id: string(self.audit_id)?,
            stage: string(self.stage)?,
            request_uri: string(self.request_uri)?,
            verb: plain(self.verb)?,
            user: user(&self.user)?,
            impersonated_user: user(&self.impersonated_user)?,
            user_agent: string(self.user_agent)?,
            object_ref,
            response_status,
            request_object: each(self.request_object, |b| within(text, b))?,
            response_object: each(self.response_object, |b| within(text, b))?,
            request_received_timestamp: string(request_received_timestamp)?,
            stage_timestamp: string(stage_timestamp)?,
            timestamp: string(timestamp)?,
            annotations,
            ..Event::default()
        })
    }
}

/// `f` of a value that may be absent: `None` when `f` fails, else whether there was one.
fn each<T, U>(v: Option<T>, f: impl FnOnce(T) -> Option<U>) -> Option<Option<U>> {
    match v {
        None => Some(None),
        Some(v) => f(v).map(Some),
    }
}

/// `part`, a slice of `text`'s bytes that starts and ends at JSON tokens, as text.
fn within<'a>(text: &'a str, part: &[u8]) -> Option<&'a str> {
    let at = (part.as_ptr() as usize).checked_sub(text.as_ptr() as usize)?;
    text.get(at..at.checked_add(part.len())?)
}

/// A string of `text` as serde gives it: borrowed when it has no escapes, else decoded.
fn decoded<'a>(text: &'a str, s: Str<'a>) -> Option<Cow<'a, str>> {
    let raw = within(text, s.raw)?;
    if !s.escaped {
        return Some(Cow::Borrowed(raw));
    }
    if let Some(v) = unescape(raw) {
        return Some(Cow::Owned(v));
    }
    // What `unescape` leaves is serde's, with the string's quotes around it.
    let at = raw.as_ptr() as usize - text.as_ptr() as usize;
    let quoted = text.get(at.checked_sub(1)?..at + raw.len() + 1)?;
    serde_json::from_str::<String>(quoted).ok().map(Cow::Owned)
}

/// The annotations object at `raw` (a slice of `text`) as serde reads it into a map, a key given
/// twice keeping its last value, but only the webhooks' annotations: `record::extract` keeps no
/// other, and the others' values (often JSON in a string) are not decoded for nothing.
fn annotation_map<'a>(
    text: &'a str,
    raw: &'a [u8],
) -> Option<BTreeMap<Cow<'a, str>, Cow<'a, str>>> {
    let mut map = BTreeMap::new();
    let mut r = Reader::parsed(within(text, raw)?);
    r.object(|r, k| {
        let v = r.string()?;
        let k = decoded(text, k)?;
        if admission::is_webhook_annotation(&k) {
            map.insert(k, decoded(text, v)?);
        }
        Some(())
    })?;
    Some(map)
}

/// Bits of `Top::seen` / the nested structs' duplicate checks.
mod field {
    pub const KIND: u32 = 1 << 0;
    pub const API_VERSION: u32 = 1 << 1;
    pub const LEVEL: u32 = 1 << 2;
    pub const AUDIT_ID: u32 = 1 << 3;
    pub const STAGE: u32 = 1 << 4;
    pub const REQUEST_URI: u32 = 1 << 5;
    pub const VERB: u32 = 1 << 6;
    pub const USER: u32 = 1 << 7;
    pub const IMPERSONATED_USER: u32 = 1 << 8;
    pub const USER_AGENT: u32 = 1 << 9;
    pub const OBJECT_REF: u32 = 1 << 10;
    pub const RESPONSE_STATUS: u32 = 1 << 11;
    pub const REQUEST_OBJECT: u32 = 1 << 12;
    pub const RESPONSE_OBJECT: u32 = 1 << 13;
    pub const REQUEST_RECEIVED_TIMESTAMP: u32 = 1 << 14;
    pub const STAGE_TIMESTAMP: u32 = 1 << 15;
    pub const TIMESTAMP: u32 = 1 << 16;
    pub const ANNOTATIONS: u32 = 1 << 17;
    pub const ITEMS: u32 = 1 << 18;
    pub const MESSAGE: u32 = 1 << 19;
    pub const AT_MESSAGE: u32 = 1 << 20;
    pub const EVENTS: u32 = 1 << 21;
    pub const RESULTS: u32 = 1 << 22;
}

/// A field read with `audit::lenient_str`: any value; a string is `Some`.
fn lenient<'a>(w: &mut Reader<'a>) -> Option<Option<Str<'a>>> {
    w.ws();
    if w.peek()? == b'"' {
        return Some(Some(w.string()?));
    }
    w.skip_value()?;
    Some(None)
}

/// A field read with `lenient` whose value a verdict compares: a string without escapes, or
/// absent (any other value).
fn compared<'a>(w: &mut Reader<'a>) -> Option<Option<&'a [u8]>> {
    each(lenient(w)?, |s| s.plain())
}

/// An `Option<Cow<str>>` field with serde's plain rules: a string without escapes, or null.
fn opt_str<'a>(w: &mut Reader<'a>) -> Option<Option<&'a [u8]>> {
    each(opt_string(w)?, |s| s.plain())
}

/// An `Option<Cow<str>>` field that is not compared: any string, or null.
fn opt_string<'a>(w: &mut Reader<'a>) -> Option<Option<Str<'a>>> {
    if w.null()? {
        return Some(None);
    }
    Some(Some(w.string()?))
}

/// A value's text (after any whitespace), or `None` for `null`.
fn raw_value<'a>(w: &mut Reader<'a>) -> Option<Option<&'a [u8]>> {
    w.ws();
    let start = w.pos();
    w.skip_value()?;
    let raw = w.since(start);
    Some((raw != b"null").then_some(raw))
}

/// An object of a struct serde reads with the fields `keys` (at most 32): `field` reads the value
/// of each, given its index in `keys`; other keys' values are skipped, and a field given twice is
/// refused, as serde refuses a duplicate field.
#[inline]
fn fields<'a>(
    w: &mut Reader<'a>,
    keys: &[&[u8]],
    mut field: impl FnMut(&mut Reader<'a>, usize) -> Option<()>,
) -> Option<()> {
    let mut seen = 0u32;
    w.object(|w, k| {
        let k = k.plain()?;
        let Some(i) = keys.iter().position(|&key| key == k) else {
            return w.skip_value();
        };
        let bit = 1 << i;
        if seen & bit != 0 {
            return None;
        }
        seen |= bit;
        field(w, i)
    })
}

/// An `Option` of a struct serde reads from an object: `null` is `None`, else the fields `keys`
/// read into a default `T` by `field` (see [`fields`]).
fn nullable<'a, T: Default>(
    w: &mut Reader<'a>,
    keys: &[&[u8]],
    mut field: impl FnMut(&mut T, &mut Reader<'a>, usize) -> Option<()>,
) -> Option<Option<T>> {
    if w.null()? {
        return Some(None);
    }
    let mut t = T::default();
    fields(w, keys, |w, i| field(&mut t, w, i))?;
    Some(Some(t))
}

/// `Option<UserInfo>`: null, or an object whose `username` is a string or null.
fn user<'a>(w: &mut Reader<'a>) -> Option<Option<User<'a>>> {
    nullable(w, &[b"username"], |u: &mut User<'a>, w, _| {
        u.username = opt_string(w)?;
        Some(())
    })
}

fn object_ref<'a>(w: &mut Reader<'a>) -> Option<Option<ObjRef<'a>>> {
    let keys: [&[u8]; 6] = [
        b"resource",
        b"namespace",
        b"name",
        b"uid",
        b"apiGroup",
        b"subresource",
    ];
    nullable(w, &keys, |r: &mut ObjRef<'a>, w, i| {
        let v = opt_str(w)?;
        match i {
            0 => r.resource = v,
            1 => r.namespace = v,
            2 => r.name = v,
            3 => r.uid = v,
            4 => r.api_group = v,
            _ => r.subresource = v,
        }
        Some(())
    })
}

/// `Option<Status>`: null, or an object with `code` an i64 or null and `message`/`reason`
/// strings or null.
fn status<'a>(w: &mut Reader<'a>) -> Option<Option<Stat<'a>>> {
    nullable(
        w,
        &[b"code", b"message", b"reason"],
        |s: &mut Stat<'a>, w, i| {
            match i {
                0 => s.code = code(w)?,
                1 => s.message = opt_string(w)?,
                _ => s.reason = opt_string(w)?,
            }
            Some(())
        },
    )
}

/// `Option<i64>`: null, or a number that serde reads as an i64.
fn code(w: &mut Reader<'_>) -> Option<Option<i64>> {
    if w.null()? {
        return Some(None);
    }
    w.ws();
    let start = w.pos();
    if !w.number()? {
        return None;
    }
    // Must fit an i64, as serde requires; serde reads `-0` as a float.
    let text = std::str::from_utf8(w.since(start)).ok()?;
    if text.starts_with("-0") {
        return None;
    }
    text.parse::<i64>().ok().map(Some)
}

/// `Option<BTreeMap<Cow<str>, Cow<str>>>`: null, or an object of strings. Its text, for
/// [`annotation_map`].
fn annotations<'a>(w: &mut Reader<'a>) -> Option<Option<&'a [u8]>> {
    if w.null()? {
        return Some(None);
    }
    w.ws();
    let start = w.pos();
    w.object(|w, _| w.string().map(drop))?;
    Some(Some(w.since(start)))
}

/// The top-level object.
fn top<'a>(w: &mut Reader<'a>) -> Option<Top<'a>> {
    let mut t = Top::default();
    w.object(|w, k| {
        use field::*;
        let bit = match k.plain()? {
            b"kind" => KIND,
            b"apiVersion" => API_VERSION,
            b"level" => LEVEL,
            b"auditID" => AUDIT_ID,
            b"stage" => STAGE,
            b"requestURI" => REQUEST_URI,
            b"verb" => VERB,
            b"user" => USER,
            b"impersonatedUser" => IMPERSONATED_USER,
            b"userAgent" => USER_AGENT,
            b"objectRef" => OBJECT_REF,
            b"responseStatus" => RESPONSE_STATUS,
            b"requestObject" => REQUEST_OBJECT,
            b"responseObject" => RESPONSE_OBJECT,
            b"requestReceivedTimestamp" => REQUEST_RECEIVED_TIMESTAMP,
            b"stageTimestamp" => STAGE_TIMESTAMP,
            b"timestamp" => TIMESTAMP,
            b"annotations" => ANNOTATIONS,
            b"items" => ITEMS,
            b"message" => MESSAGE,
            b"@message" => AT_MESSAGE,
            b"events" => EVENTS,
            b"results" => RESULTS,
            _ => return w.skip_value(),
        };
        if t.seen & bit != 0 {
            return None; // serde: duplicate field
        }
        t.seen |= bit;
        if let Some(slot) = t.text(bit) {
            *slot = lenient(w)?;
            return Some(());
        }
        match bit {
            KIND => t.kind = compared(w)?,
            VERB => t.verb = compared(w)?,
            USER => t.user = user(w)?,
            IMPERSONATED_USER => t.impersonated_user = user(w)?,
            OBJECT_REF => t.object_ref = object_ref(w)?,
            RESPONSE_STATUS => t.response_status = status(w)?,
            ANNOTATIONS => t.annotations = annotations(w)?,
            REQUEST_OBJECT => t.request_object = raw_value(w)?,
            RESPONSE_OBJECT => t.response_object = raw_value(w)?,
            ITEMS | EVENTS | RESULTS => w.skip_value()?,
            _ => drop(lenient(w)?),
        }
        Some(())
    })?;
    Some(t)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::read::MAX_DEPTH;

    /// What the skim made of a line, once it kept its promise on it (see [`verify`]).
    fn said(line: &str, sel: &Selection) -> Said {
        verify(line.as_bytes(), sel).unwrap_or_else(|e| panic!("{e}: {line}"))
    }

    /// The event [`read`] builds gives what decoding the line gives (in a plain file).
    fn same_as_decoded(line: &str, sel: &Selection) -> bool {
        said(line, sel) == Said::Built
    }

    /// The skim's promise (see [`verify`]), and its verdict.
    fn check(line: &str, sel: &Selection) -> Verdict {
        match said(line, sel) {
            Said::Ignored => Verdict::Ignored,
            Said::Built | Said::Decode => Verdict::Decode,
        }
    }

    fn ev(verb: &str, objref: &str, extra: &str) -> String {
        format!(
            r#"{{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"a-1","stage":"ResponseComplete","requestURI":"/api/v1/x","verb":"{verb}","user":{{"username":"u","groups":["g"],"extra":{{"k":["v"]}}}},"sourceIPs":["10.0.0.1"],"userAgent":"ua","objectRef":{objref},"responseStatus":{{"metadata":{{}},"code":200}},"requestReceivedTimestamp":"2024-01-01T00:00:00.000001Z","stageTimestamp":"2024-01-01T00:00:00.000002Z","annotations":{{"authorization.k8s.io/decision":"allow"}}{extra}}}"#
        )
    }

    const POD: &str = r#"{"resource":"pods","namespace":"ns","name":"p","apiVersion":"v1"}"#;

    #[test]
    fn reads_of_pods_and_other_resources_are_ignored() {
        let sel = Selection::default();
        for verb in ["get", "list", "watch"] {
            assert_eq!(check(&ev(verb, POD, ""), &sel), Verdict::Ignored, "{verb}");
        }
        let lease =
            r#"{"resource":"leases","namespace":"n","name":"x","apiGroup":"coordination.k8s.io"}"#;
        assert_eq!(check(&ev("update", lease, ""), &sel), Verdict::Ignored);
        assert_eq!(check(&ev("update", "null", ""), &sel), Verdict::Ignored);
        // Bodies are walked, not parsed, whatever they hold.
        let body = r#","requestObject":{"a":[1,-2.5e+3,true,false,null,{"b":"c\"\\\/\b\f\n\r\t\u00e9"}],"verb":"create"}"#;
        assert_eq!(check(&ev("get", POD, body), &sel), Verdict::Ignored);
        // The API server escapes `&` in request URIs.
        let line = ev("watch", POD, "").replacen(
            "/api/v1/x",
            r#"/api/v1/pods?limit=500\u0026watch=true"#,
            1,
        );
        assert_eq!(check(&line, &sel), Verdict::Ignored);
    }

    #[test]
    fn anything_the_selection_may_keep_is_decoded() {
        let sel = Selection::default();
        for verb in [
            "create",
            "update",
            "patch",
            "delete",
            "deletecollection",
            "frob",
            "",
        ] {
            assert_eq!(check(&ev(verb, POD, ""), &sel), Verdict::Decode, "{verb}");
        }
        let exec = r#"{"resource":"pods","namespace":"ns","name":"p","subresource":"exec"}"#;
        assert_eq!(check(&ev("get", exec, ""), &sel), Verdict::Decode);
        let mwc = r#"{"resource":"mutatingwebhookconfigurations","name":"w","apiGroup":"admissionregistration.k8s.io"}"#;
        assert_eq!(check(&ev("create", mwc, ""), &sel), Verdict::Decode);
        assert_eq!(check(&ev("get", mwc, ""), &sel), Verdict::Ignored);
        let reads = Selection {
            reads: true,
            ..Default::default()
        };
        assert_eq!(check(&ev("get", POD, ""), &reads), Verdict::Decode);
        let other_ns = Selection {
            namespace: Some("other".into()),
            ..Default::default()
        };
        assert_eq!(check(&ev("create", POD, ""), &other_ns), Verdict::Ignored);
        let same_ns = Selection {
            namespace: Some("ns".into()),
            ..Default::default()
        };
        assert_eq!(check(&ev("create", POD, ""), &same_ns), Verdict::Decode);
        // Another pod, or outside the time window, once the time is known to be valid.
        let one = Selection {
            namespace: Some("ns".into()),
            name: Some("q".into()),
            ..Default::default()
        };
        assert_eq!(check(&ev("create", POD, ""), &one), Verdict::Ignored);
        let no_time = ev("create", POD, "")
            .replace("2024-01-01T00:00:00.000001Z", "soon")
            .replace("2024-01-01T00:00:00.000002Z", "later");
        assert_eq!(
            check(&no_time, &one),
            Verdict::Decode,
            "no valid time is a diagnostic"
        );
        let beta = no_time.replacen(
            r#""level""#,
            r#""timestamp":"2024-01-01T00:00:00Z","level""#,
            1,
        );
        assert_eq!(check(&beta, &one), Verdict::Ignored);
        let p = Selection {
            name: Some("p".into()),
            ..Default::default()
        };
        assert_eq!(check(&ev("create", POD, ""), &p), Verdict::Decode);
        let late = Selection {
            since: audit::parse_time("2024-06-01T00:00:00Z"),
            ..Default::default()
        };
        assert_eq!(check(&ev("create", POD, ""), &late), Verdict::Ignored);
        // A cluster-wide write of pods (no namespace) is not about one pod.
        let cluster = r#"{"resource":"pods"}"#;
        assert_eq!(
            check(&ev("deletecollection", cluster, ""), &sel),
            Verdict::Ignored
        );
    }

    #[test]
    fn a_kept_event_is_built_as_serde_decodes_it() {
        let sel = Selection::default();
        let annotations = r#","annotations":{"authorization.k8s.io/decision":"allow","mutation.webhook.admission.k8s.io/round_0_index_0":"{\"configuration\":\"c\",\"webhook\":\"w.example.com\",\"mutated\":true}","patch.webhook.admission.k8s.io/round_0_index_0":"{\"configuration\":\"c\",\"webhook\":\"w.example.com\",\"patch\":[{\"op\":\"add\",\"path\":\"/spec/schedulerName\",\"value\":\"x\"}],\"patchType\":\"JSONPatch\"}","k":"a","k":"b"}"#;
        let bodies = r#","requestObject":{"kind":"Pod","metadata":{"name":"p","namespace":"ns"},"spec":{"containers":[{"name":"c","image":"i"}]}},"responseObject" : {"kind":"Pod","metadata":{"name":"p","uid":"u-1","labels":{"a":"b\"c"}},"status":{"phase":"Pending"}}"#;
        let create = ev("create", POD, bodies).replacen(
            r#","annotations":{"authorization.k8s.io/decision":"allow"}"#,
            annotations,
            1,
        );
        let lines = [
            ev("create", POD, ""),
            create.clone(),
            ev(
                "create",
                POD,
                r#","requestObject":null,"responseObject":null"#,
            ),
            ev("update", POD, r#","requestObject":[1,{"a":null}]"#),
            // Strings with escapes, where serde decodes them.
            create.replacen("/api/v1/x", r#"/api/v1/x?a=1\u0026b=2"#, 1),
            create.replacen(r#""ua""#, r#""kubectl/v1.30 \"x\" \u00e9""#, 1),
            create.replacen(
                r#""username":"u""#,
                r#""username":"system:\u0073erviceaccount""#,
                1,
            ),
            create.replacen(
                r#""code":200"#,
                r#""code":422,"message":"pods \"p\" is invalid","reason":"Invalid""#,
                1,
            ),
            create.replacen(
                r#""level":"Metadata""#,
                r#""level":"Request\u0052esponse""#,
                1,
            ),
            create.replacen(
                r#""user":{"#,
                r#""impersonatedUser":{"username":"i\"u"},"user":{"#,
                1,
            ),
            create.replacen(r#""user":{"#, r#""impersonatedUser":null,"user":{"#, 1),
            create.replacen(r#""user":{"username":"u","#, r#""user":{"#, 1),
            create.replacen(
                r#""responseStatus":{"metadata":{},"code":200}"#,
                r#""responseStatus":null"#,
                1,
            ),
            create.replacen(r#""code":200"#, r#""code":null"#, 1),
            create.replacen(r#""annotations":{"#, r#""annotations":null,"x":{"#, 1),
            create.replacen(
                r#""apiVersion":"v1"}"#,
                r#""apiVersion":"v1","uid":"u-0"}"#,
                1,
            ),
            create.replacen(r#""apiVersion":"audit.k8s.io/v1""#, r#""apiVersion":7"#, 1),
            // A pod event without a valid time is a diagnostic, from either path.
            create
                .replace("2024-01-01T00:00:00.000001Z", "soon")
                .replace("2024-01-01T00:00:00.000002Z", "later"),
            // Whitespace between tokens.
            create
                .replace(r#"":"#, r#"" : "#)
                .replace(r#"",""#, r#""  ,  ""#),
            // A configuration's write.
            ev(
                "create",
                r#"{"resource":"mutatingwebhookconfigurations","name":"w","apiGroup":"admissionregistration.k8s.io"}"#,
                r#","requestObject":{"metadata":{"name":"w"},"webhooks":[{"name":"a.example.com"}]}"#,
            ),
        ];
        for line in &lines {
            assert!(same_as_decoded(line, &sel), "not built: {line}");
        }
        let keep = |sel: &Selection| lines.iter().filter(|l| same_as_decoded(l, sel)).count();
        let reads = Selection {
            reads: true,
            ..Default::default()
        };
        assert!(same_as_decoded(&ev("get", POD, ""), &reads));
        let one = Selection {
            name: Some("p".into()),
            ..Default::default()
        };
        assert_eq!(keep(&one), lines.len());
        // Still decoded whole: what is not one audit event, and a subscription record.
        let items = r#"{"kind":"EventList","items":[]}"#;
        assert!(matches!(read(items.as_bytes(), &sel), Skimmed::Decode));
        let firehose = create.replacen('{', r#"{"messageType":"DATA_MESSAGE","#, 1);
        assert!(matches!(read(firehose.as_bytes(), &sel), Skimmed::Decode));
    }

    #[test]
    fn a_verb_inside_a_body_does_not_fool_it() {
        let sel = Selection::default();
        // The first "verb" in the bytes belongs to an annotation; the event's own verb is create.
        let line = r#"{"annotations":{"verb":"get"},"kind":"Event","auditID":"a","stage":"ResponseComplete","verb":"create","objectRef":{"resource":"pods","namespace":"ns","name":"p"},"stageTimestamp":"2024-01-01T00:00:00Z"}"#;
        assert_eq!(check(line, &sel), Verdict::Decode);
        let line = r#"{"requestObject":{"verb":"get","objectRef":{"resource":"leases"}},"auditID":"a","verb":"create","objectRef":{"resource":"pods","namespace":"ns","name":"p"}}"#;
        assert_eq!(check(line, &sel), Verdict::Decode);
    }

    #[test]
    fn whatever_serde_would_refuse_is_decoded() {
        let sel = Selection::default();
        let good = ev("get", POD, "");
        assert_eq!(check(&good, &sel), Verdict::Ignored);
        let bad = [
            good.replacen(r#""verb":"get","#, r#""verb":"get","verb":"get","#, 1),
            good.replacen(r#""code":200"#, r#""code":"200""#, 1),
            good.replacen(r#""code":200"#, r#""code":2e2"#, 1),
            good.replacen(r#""code":200"#, r#""code":99999999999999999999"#, 1),
            good.replacen(r#""code":200"#, r#""code":0200"#, 1),
            good.replacen(r#""username":"u""#, r#""username":7"#, 1),
            good.replacen(r#""username":"u""#, r#""username":"u","username":"v""#, 1),
            good.replacen(r#""user":{"#, r#""user":[{"#, 1),
            good.replacen(r#"/decision":"allow""#, r#"/decision":1"#, 1),
            good.replacen(r#""resource":"pods""#, r#""resource":5"#, 1),
            good.replacen(r#""name":"p""#, r#""name":"p","name":"q""#, 1),
            good.replacen(r#""auditID":"a-1""#, r#""auditID":null"#, 1),
            good.replacen(r#""kind":"Event""#, r#""kind":"EventList""#, 1),
            good.replacen(r#""verb":"get""#, r#""verb":"g\u0065t""#, 1),
            good.replacen(r#""verb":"#, r#""ver\u0062":"#, 1),
            good.replacen(r#""ua""#, "\"u\ta\"", 1),
            good.replacen(r#""ua""#, r#""u\xa""#, 1),
            good.replacen(r#""ua""#, r#""u\u12a""#, 1),
            good.replacen(r#"["g"]"#, r#"["g",]"#, 1),
            good.replacen(r#"["g"]"#, r#"["g" "h"]"#, 1),
            good.replacen(r#"["g"]"#, r#"[tru]"#, 1),
            good.replacen(r#"["g"]"#, r#"[1.]"#, 1),
            good.replacen(r#"["g"]"#, r#"[-]"#, 1),
            good.replacen(r#"["g"]"#, r#"{"a"}"#, 1),
            good.replacen(r#""level":"#, r#""level" "#, 1),
            good.replacen(r#""ua""#, r#""\ud800""#, 1),
            good.replacen(r#""ua""#, r#""\udc00\ud800""#, 1),
            format!("{good}{good}"),
            format!("{}}}", good),
            good[..good.len() - 30].to_owned() + "}",
        ];
        for b in &bad {
            assert_ne!(b, &good);
            assert_eq!(check(b, &sel), Verdict::Decode, "{b}");
        }
        let mut utf = good.clone().into_bytes();
        let at = utf.windows(4).position(|w| w == b"\"ua\"").unwrap();
        utf[at + 1] = 0xff;
        assert_eq!(skim(&utf, &sel), Verdict::Decode);
    }

    #[test]
    fn lenient_fields_take_any_value() {
        let sel = Selection::default();
        let line = ev(
            "get",
            POD,
            r#","timestamp":1700000000,"message":{"x":[]},"level":null"#,
        )
        .replacen(r#""level":"Metadata","#, "", 1);
        assert_eq!(check(&line, &sel), Verdict::Ignored);
        // No verb but a stage is still an event (and an empty verb is not a read).
        let line = ev("get", POD, "").replacen(r#""verb":"get","#, "", 1);
        assert_eq!(check(&line, &sel), Verdict::Decode);
        // A non-string verb reads as absent.
        let line = ev("get", POD, "").replacen(r#""verb":"get""#, r#""verb":["get"]"#, 1);
        assert_eq!(check(&line, &sel), Verdict::Decode);
    }

    #[test]
    fn deep_values_are_left_to_the_decoder() {
        let sel = Selection::default();
        let deep = format!(
            r#","requestObject":{}1{}"#,
            "[".repeat(MAX_DEPTH + 10),
            "]".repeat(MAX_DEPTH + 10)
        );
        assert_eq!(check(&ev("get", POD, &deep), &sel), Verdict::Decode);
        let ok = format!(
            r#","requestObject":{}1{}"#,
            "[".repeat(MAX_DEPTH),
            "]".repeat(MAX_DEPTH)
        );
        assert_eq!(check(&ev("get", POD, &ok), &sel), Verdict::Ignored);
    }
}
