//! The few fields of a request or response body that say which pod (and which incarnation) an
//! event is about, read without building the body.
//!
//! Building a `serde_json::Value` of a pod object allocates a string and a tree node per field;
//! the timeline parses the bodies anyway (from the text the record keeps), so here only `kind`,
//! `metadata.{name,generateName,uid}`, `preconditions.uid` and `deleteOptions.preconditions.uid`
//! are picked out. Everything else goes through `deserialize_any` into nothing: serde_json then
//! checks the text exactly as it does when it builds a `Value` (nesting limit, number range, `\u`
//! escapes), so a body is refused here exactly when `serde_json::from_str::<Value>` would refuse
//! it. Repeated keys keep the last value, as a `Value` does.

use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

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
pub fn identity(raw: &RawValue) -> Option<Identity> {
    let mut de = serde_json::Deserializer::from_str(raw.get());
    let found = Body.deserialize(&mut de).ok()?;
    de.end().ok()?;
    found
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

/// Reads the members of an object at `level` into `id`.
fn fields<'de, A: MapAccess<'de>>(
    a: &mut A,
    level: Level,
    id: &mut Identity,
) -> Result<(), A::Error> {
    while let Some(key) = a.next_key_seed(KeySeed)? {
        match (level, key) {
            (Level::Top, Key::Kind) => id.kind = a.next_value_seed(Text)?,
            (Level::Top, Key::Metadata) => {
                // A repeated key replaces the whole object, as in a `Value`.
                id.name = None;
                id.generate_name = None;
                id.uid = None;
                a.next_value_seed(Object(Level::Metadata, id))?;
            }
            (Level::Top, Key::Preconditions) => {
                id.preconditions_uid = None;
                a.next_value_seed(Object(Level::Preconditions, id))?;
            }
            (Level::Top, Key::DeleteOptions) => {
                id.delete_options_uid = None;
                a.next_value_seed(Object(Level::DeleteOptions, id))?;
            }
            (Level::DeleteOptions, Key::Preconditions) => {
                id.delete_options_uid = None;
                a.next_value_seed(Object(Level::DeletePreconditions, id))?;
            }
            (Level::Metadata, Key::Name) => id.name = a.next_value_seed(Text)?,
            (Level::Metadata, Key::GenerateName) => id.generate_name = a.next_value_seed(Text)?,
            (Level::Metadata, Key::Uid) => id.uid = a.next_value_seed(Text)?,
            (Level::Preconditions, Key::Uid) => id.preconditions_uid = a.next_value_seed(Text)?,
            (Level::DeletePreconditions, Key::Uid) => {
                id.delete_options_uid = a.next_value_seed(Text)?
            }
            _ => a.next_value_seed(Skip)?,
        }
    }
    Ok(())
}

/// The object keys that matter, compared decoded (a key may hold escapes).
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

struct KeySeed;

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Key;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Key, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Key;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a key")
            }
            fn visit_str<E>(self, k: &str) -> Result<Key, E> {
                Ok(match k {
                    "kind" => Key::Kind,
                    "metadata" => Key::Metadata,
                    "preconditions" => Key::Preconditions,
                    "deleteOptions" => Key::DeleteOptions,
                    "name" => Key::Name,
                    "generateName" => Key::GenerateName,
                    "uid" => Key::Uid,
                    _ => Key::Other,
                })
            }
        }
        d.deserialize_str(V)
    }
}

/// Implements the visits of booleans and numbers as "accept and return `$v`".
macro_rules! scalars {
    ($v:expr) => {
        fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
            Ok($v)
        }
        fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
            Ok($v)
        }
        fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
            Ok($v)
        }
        fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
            Ok($v)
        }
    };
}

/// The top-level value: `Some` for any value but `null`.
struct Body;

impl<'de> DeserializeSeed<'de> for Body {
    type Value = Option<Identity>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Option<Identity>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON value")
            }
            scalars!(Some(Identity::default()));
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(None)
            }
            fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
                Ok(Some(Identity::default()))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Self::Value, A::Error> {
                let mut id = Identity::default();
                fields(&mut a, Level::Top, &mut id)?;
                Ok(Some(id))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, a: A) -> Result<Self::Value, A::Error> {
                skip_seq(a).map(|()| Some(Identity::default()))
            }
        }
        d.deserialize_any(V)
    }
}

/// An object whose fields at `level` are wanted; any other value is checked and dropped.
struct Object<'i>(Level, &'i mut Identity);

impl<'de> DeserializeSeed<'de> for Object<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        struct V<'i>(Level, &'i mut Identity);
        impl<'de> Visitor<'de> for V<'_> {
            type Value = ();
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON value")
            }
            scalars!(());
            fn visit_unit<E>(self) -> Result<(), E> {
                Ok(())
            }
            fn visit_str<E>(self, _: &str) -> Result<(), E> {
                Ok(())
            }
            fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<(), A::Error> {
                fields(&mut a, self.0, self.1)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, a: A) -> Result<(), A::Error> {
                skip_seq(a)
            }
        }
        d.deserialize_any(V(self.0, self.1))
    }
}

/// A string value, or `None` for a value of any other type (checked and dropped).
struct Text;

impl<'de> DeserializeSeed<'de> for Text {
    type Value = Option<String>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Option<String>, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Option<String>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON value")
            }
            scalars!(None);
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(None)
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Some(v.to_owned()))
            }
            fn visit_map<A: MapAccess<'de>>(self, a: A) -> Result<Self::Value, A::Error> {
                skip_map(a).map(|()| None)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, a: A) -> Result<Self::Value, A::Error> {
                skip_seq(a).map(|()| None)
            }
        }
        d.deserialize_any(V)
    }
}

/// Any value, read through `deserialize_any` (so checked as a `Value` would be) and dropped.
/// Unlike `serde::de::IgnoredAny`, which serde_json skips without the nesting limit or the checks
/// of numbers and escapes.
struct Skip;

impl<'de> DeserializeSeed<'de> for Skip {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = ();
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON value")
            }
            scalars!(());
            fn visit_unit<E>(self) -> Result<(), E> {
                Ok(())
            }
            fn visit_str<E>(self, _: &str) -> Result<(), E> {
                Ok(())
            }
            fn visit_map<A: MapAccess<'de>>(self, a: A) -> Result<(), A::Error> {
                skip_map(a)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, a: A) -> Result<(), A::Error> {
                skip_seq(a)
            }
        }
        d.deserialize_any(V)
    }
}

fn skip_map<'de, A: MapAccess<'de>>(mut a: A) -> Result<(), A::Error> {
    while a.next_key_seed(KeySeed)?.is_some() {
        a.next_value_seed(Skip)?;
    }
    Ok(())
}

fn skip_seq<'de, A: SeqAccess<'de>>(mut a: A) -> Result<(), A::Error> {
    while a.next_element_seed(Skip)?.is_some() {}
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    /// What the `Value`-based reading gives, for comparison.
    fn by_value(text: &str) -> Option<Identity> {
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

    fn same(text: &str) -> Option<Identity> {
        let raw = RawValue::from_string(text.to_owned()).expect("valid JSON");
        let got = identity(&raw);
        assert_eq!(got, by_value(text), "{text}");
        got
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
