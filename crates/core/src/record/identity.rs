//! The few fields of a request or response body that say which pod (and which incarnation) an
//! event is about, read without building the body.
//!
//! Building a `serde_json::Value` of a pod object allocates a string and a tree node per field;
//! the timeline parses the bodies anyway (from the text the record keeps), so here only `kind`,
//! `metadata.{name,generateName,uid}`, `preconditions.uid` and `deleteOptions.preconditions.uid`
//! are picked out, by walking the body with `json::read`. The answer is the one a `Value` gives:
//! `None` exactly when `serde_json::from_str::<Value>` refuses the body, and repeated keys keep
//! the last value. A `Value` parse checks more than the syntax the walk checks (the range of every
//! number, the pairing of `\u` surrogate escapes, a nesting limit) and compares keys decoded, so a
//! body where any of these could matter (a number with an exponent or hundreds of digits, a
//! surrogate escape, a deep value, an escaped key or value where fields are picked) is read
//! through a `Value` instead: rare in pod bodies, and always the same answer.

use serde_json::Value;

use crate::json::read::Reader;

/// What identifies the pod in a body. Strings only: a field of another type reads as absent, as
/// `Value::pointer(..).and_then(Value::as_str)` does.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Identity {
    pub kind: Option<String>,
    pub name: Option<String>,
    pub generate_name: Option<String>,
    pub uid: Option<String>,
    /// `preconditions.uid` (DeleteOptions).
    pub preconditions_uid: Option<String>,
    /// `deleteOptions.preconditions.uid` (Eviction).
    pub delete_options_uid: Option<String>,
}

/// The identity of a body; `None` for `null` or a body serde_json would not parse to a `Value`.
pub fn identity(text: &str) -> Option<Identity> {
    walk(text).unwrap_or_else(|| from_value(text))
}

/// The identity read by walking the body, or `None` when the walk cannot tell what a `Value`
/// parse would (see the module's header).
fn walk(text: &str) -> Option<Option<Identity>> {
    let mut r = Reader::parsed(text);
    let found = if r.null()? {
        None
    } else {
        let mut id = Identity::default();
        object(&mut r, Level::Top, &mut id)?;
        Some(id)
    };
    (r.at_end() && !r.saw_surrogate()).then_some(found)
}

/// The identity read from a whole `Value`, for the bodies the walk leaves.
fn from_value(text: &str) -> Option<Identity> {
    let v: Value = serde_json::from_str::<Value>(text)
        .ok()
        .filter(|v| !v.is_null())?;
    let s = |p: &str| v.pointer(p).and_then(Value::as_str).map(str::to_owned);
    Some(Identity {
        kind: v.get("kind").and_then(Value::as_str).map(str::to_owned),
        name: s("/metadata/name"),
        generate_name: s("/metadata/generateName"),
        uid: s("/metadata/uid"),
        preconditions_uid: s("/preconditions/uid"),
        delete_options_uid: s("/deleteOptions/preconditions/uid"),
    })
}

/// Which fields of an object are wanted.
#[derive(Clone, Copy)]
enum Level {
    /// The body: kind, metadata, preconditions, deleteOptions.
    Top,
    /// metadata: name, generateName, uid.
    Metadata,
    /// preconditions: uid.
    Preconditions,
    /// deleteOptions: preconditions.
    DeleteOptions,
    /// deleteOptions.preconditions: uid.
    DeletePreconditions,
}

/// The object keys that matter.
#[derive(Clone, Copy)]
enum Key {
    Kind,
    Metadata,
    Preconditions,
    DeleteOptions,
    Name,
    GenerateName,
    Uid,
    Other,
}

/// A value whose fields at `level` are wanted when it is an object; any other value is checked
/// and dropped.
fn object(r: &mut Reader<'_>, level: Level, id: &mut Identity) -> Option<()> {
    r.ws();
    if r.peek()? != b'{' {
        return skip(r);
    }
    r.object(|r, k| {
        // A `Value` compares keys decoded: an escaped one may be a wanted one.
        let key = match k.plain()? {
            b"kind" => Key::Kind,
            b"metadata" => Key::Metadata,
            b"preconditions" => Key::Preconditions,
            b"deleteOptions" => Key::DeleteOptions,
            b"name" => Key::Name,
            b"generateName" => Key::GenerateName,
            b"uid" => Key::Uid,
            _ => Key::Other,
        };
        match (level, key) {
            (Level::Top, Key::Kind) => id.kind = text(r)?,
            (Level::Top, Key::Metadata) => {
                // A repeated key replaces the whole object, as in a `Value`.
                id.name = None;
                id.generate_name = None;
                id.uid = None;
                object(r, Level::Metadata, id)?;
            }
            (Level::Top, Key::Preconditions) => {
                id.preconditions_uid = None;
                object(r, Level::Preconditions, id)?;
            }
            (Level::Top, Key::DeleteOptions) => {
                id.delete_options_uid = None;
                object(r, Level::DeleteOptions, id)?;
            }
            (Level::DeleteOptions, Key::Preconditions) => {
                id.delete_options_uid = None;
                object(r, Level::DeletePreconditions, id)?;
            }
            (Level::Metadata, Key::Name) => id.name = text(r)?,
            (Level::Metadata, Key::GenerateName) => id.generate_name = text(r)?,
            (Level::Metadata, Key::Uid) => id.uid = text(r)?,
            (Level::Preconditions, Key::Uid) => id.preconditions_uid = text(r)?,
            (Level::DeletePreconditions, Key::Uid) => id.delete_options_uid = text(r)?,
            _ => skip(r)?,
        }
        Some(())
    })
}

/// A string value, or `None` for a value of any other type (checked and dropped).
fn text(r: &mut Reader<'_>) -> Option<Option<String>> {
    r.ws();
    if r.peek()? != b'"' {
        skip(r)?;
        return Some(None);
    }
    // Escaped: a `Value` holds it decoded.
    let plain = r.string()?.plain()?;
    Some(Some(std::str::from_utf8(plain).ok()?.to_owned()))
}

/// Any value, checked and dropped.
fn skip(r: &mut Reader<'_>) -> Option<()> {
    r.skip_value_checking(in_range)
}

/// Whether a `Value` parse surely reads this number without going out of `f64`'s range: no
/// exponent, and too few digits to reach `f64::MAX` (about 1.8e308).
fn in_range(number: &[u8]) -> Option<()> {
    (number.len() < 300 && !number.iter().any(|&b| b == b'e' || b == b'E')).then_some(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::value::RawValue;

    fn same(text: &str) -> Option<Identity> {
        let raw: &RawValue = serde_json::from_str(text).expect("valid JSON");
        let got = identity(raw.get());
        assert_eq!(got, from_value(text), "{text}");
        if let Some(walked) = walk(text) {
            assert_eq!(walked, got, "the walk answered otherwise: {text}");
        }
        got
    }

    #[test]
    fn ordinary_bodies_are_walked() {
        for text in [
            r#"{"kind":"Pod","metadata":{"name":"web-0","uid":"u1","labels":{"a":"b\"c"}},"spec":{"n":[1,-2.5,true,null]}}"#,
            r#"{"kind":"DeleteOptions","preconditions":{"uid":"u2"},"gracePeriodSeconds":0}"#,
            "[1,2]",
            "null",
            "{\n  \"kind\": \"Pod\"\n}",
        ] {
            assert!(walk(text).is_some(), "{text}");
            same(text);
        }
        // Left to a `Value`: what the walk cannot check or compare.
        for text in [
            r#"{"x":1e3}"#,
            r#"{"x":"\ud83d\ude00"}"#,
            r#"{"meta\u0064ata":{}}"#,
            r#"{"kind":"P\u006fd"}"#,
        ] {
            assert!(walk(text).is_none(), "{text}");
            same(text);
        }
    }

    #[test]
    fn generated_bodies_read_like_values() {
        let (mut bodies, mut walked) = (0, 0);
        for v in ktrail_corpus::generated_bodies(11, 2_000_000) {
            let text = v.to_string();
            same(&text);
            bodies += 1;
            walked += usize::from(walk(&text).is_some());
        }
        assert!(bodies > 400, "{bodies} bodies");
        assert!(
            walked * 10 > bodies * 9,
            "{walked} of {bodies} bodies walked"
        );
    }

    #[test]
    fn reads_what_a_value_would() {
        let pod = r#"{"kind":"Pod","apiVersion":"v1","metadata":{"name":"web-0","generateName":"web-","uid":"u1","labels":{"name":"x","uid":"y"}},"spec":{"containers":[{"name":"c"}]}}"#;
        assert_eq!(same(pod).and_then(|i| i.uid), Some("u1".into()));
        same(r#"{"kind":"DeleteOptions","preconditions":{"uid":"u2"}}"#);
        same(
            r#"{"kind":"Eviction","metadata":{"name":"p"},"deleteOptions":{"preconditions":{"uid":"u3"}}}"#,
        );
        same(r#"{"metadata":{"name":7,"uid":null,"generateName":["a"]},"kind":{"a":1}}"#);
        // The last of repeated keys wins, whole objects included.
        same(
            r#"{"metadata":{"name":"a","uid":"u"},"metadata":{"name":"b"},"kind":"Pod","kind":1}"#,
        );
        same(
            r#"{"preconditions":{"uid":"a"},"preconditions":[],"deleteOptions":{"preconditions":{"uid":"b"},"preconditions":5}}"#,
        );
        // Escaped keys are compared decoded.
        same(r#"{"meta\u0064ata":{"n\u0061me":"esc","uid":"\u0075"}}"#);
        for other in [
            "[]",
            r#"[1,{"metadata":{"name":"x"}}]"#,
            r#""s""#,
            "1",
            "true",
            "{}",
        ] {
            same(other);
        }
        assert_eq!(same("null"), None);
    }

    #[test]
    fn refuses_what_a_value_refuses() {
        // The nesting limit, on either side of it.
        for depth in [100, 126, 127, 128, 129, 500] {
            let text = format!(
                r#"{{"metadata":{{"name":"n"}},"x":{}1{}}}"#,
                "[".repeat(depth),
                "]".repeat(depth)
            );
            same(&text);
        }
        // Numbers out of range, surrogates alone or in pairs, in keys or values.
        for text in [
            r#"{"metadata":{"name":"n"},"x":1e400}"#,
            r#"{"metadata":{"name":"n"},"x":-1e400}"#,
            r#"{"metadata":{"name":"n"},"x":123456789012345678901234567890}"#,
            r#"{"metadata":{"name":"n"},"x":"\ud800"}"#,
            r#"{"metadata":{"name":"n"},"x":"\udc00"}"#,
            r#"{"metadata":{"name":"n"},"x":"\ud83d\ude00"}"#,
            r#"{"metadata":{"name":"n"},"\ud800":1}"#,
            r#"{"metadata":{"name":"\ud800x"}}"#,
        ] {
            same(text);
        }
        assert_eq!(same(r#"{"metadata":{"name":"n"},"x":1e400}"#), None);
    }
}
