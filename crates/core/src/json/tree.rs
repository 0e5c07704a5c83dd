//! A JSON document read in place: strings and keys borrowed from the text, objects as lists.
//!
//! The timeline reads every kept request and response body once, compares a few of them, and
//! keeps only the values that changed. Parsed into `serde_json::Value`, each body costs a heap
//! string per key and a hash table per object, which was most of the work left after a scan.
//! A [`Tree`] borrows what it can from the body's text and keeps each object's fields in a list,
//! in the order logged; the few values that end up in a story are turned into `Value`s
//! ([`Tree::to_value`]).
//!
//! It answers like a `Value` would: a repeated key keeps its first place and its last value, and
//! two objects are equal when they hold the same fields, in any order.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::{Map, Number, Value};

/// A parsed JSON value borrowing from its text.
#[derive(Debug, Clone)]
pub enum Tree<'a> {
    Null,
    Bool(bool),
    Number(Number),
    String(Cow<'a, str>),
    Array(Vec<Tree<'a>>),
    Object(Obj<'a>),
}

/// An object's fields, in the order logged, without repeated keys.
#[derive(Debug, Clone, Default)]
pub struct Obj<'a> {
    fields: Vec<(Cow<'a, str>, Tree<'a>)>,
    /// For objects past [`SCAN_FIELDS`] fields: positions in `fields`, sorted by key.
    sorted: Option<Box<[u32]>>,
}

/// Objects up to this many fields are searched field by field.
const SCAN_FIELDS: usize = 16;

impl<'a> Obj<'a> {
    fn new(mut fields: Vec<(Cow<'a, str>, Tree<'a>)>) -> Obj<'a> {
        if fields.len() <= SCAN_FIELDS {
            // A repeated key is rare: keep the first place, the last value (as `Value` does).
            let mut i = 1;
            while i < fields.len() {
                match fields[..i].iter().position(|(k, _)| *k == fields[i].0) {
                    Some(j) => {
                        let (_, v) = fields.remove(i);
                        fields[j].1 = v;
                    }
                    None => i += 1,
                }
            }
            return Obj {
                fields,
                sorted: None,
            };
        }
        let order = |fields: &[(Cow<'a, str>, Tree<'a>)]| {
            let mut idx: Vec<u32> = (0..fields.len() as u32).collect();
            // Stable: among repeats of one key, the first place comes first.
            idx.sort_by(|&a, &b| fields[a as usize].0.cmp(&fields[b as usize].0));
            idx
        };
        let mut idx = order(&fields);
        if idx
            .windows(2)
            .any(|w| fields[w[0] as usize].0 == fields[w[1] as usize].0)
        {
            // Move each repeat's last value to its key's first place, then drop the repeats.
            let mut keep = vec![true; fields.len()];
            let mut moves = Vec::new();
            for run in idx.chunk_by(|&a, &b| fields[a as usize].0 == fields[b as usize].0) {
                if let [first, .., last] = *run {
                    moves.push((first as usize, last as usize));
                    for &r in &run[1..] {
                        keep[r as usize] = false;
                    }
                }
            }
            for (first, last) in moves {
                fields.swap(first, last);
            }
            let mut at = 0;
            fields.retain(|_| {
                at += 1;
                keep[at - 1]
            });
            idx = order(&fields);
        }
        Obj {
            fields,
            sorted: Some(idx.into_boxed_slice()),
        }
    }

    pub fn get(&self, key: &str) -> Option<&Tree<'a>> {
        match &self.sorted {
            None => self.fields.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            Some(idx) => idx
                .binary_search_by(|&i| self.fields[i as usize].0.as_ref().cmp(key))
                .ok()
                .map(|p| &self.fields[idx[p] as usize].1),
        }
    }

    pub fn contains_key(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    pub fn len(&self) -> usize {
        self.fields.len()
    }

    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// The fields in the order logged.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Tree<'a>)> {
        self.fields.iter().map(|(k, v)| (k.as_ref(), v))
    }
}

impl<'a> Tree<'a> {
    /// The document in `text`, when it is JSON (nested at most 128 deep, like `serde_json`).
    pub fn parse(text: &'a str) -> Option<Tree<'a>> {
        serde_json::from_str(text).ok()
    }

    pub fn get(&self, key: &str) -> Option<&Tree<'a>> {
        match self {
            Tree::Object(o) => o.get(key),
            _ => None,
        }
    }

    /// A JSON Pointer lookup (RFC 6901), as `Value::pointer`.
    pub fn pointer(&self, ptr: &str) -> Option<&Tree<'a>> {
        if ptr.is_empty() {
            return Some(self);
        }
        let rest = ptr.strip_prefix('/')?;
        let mut at = self;
        for token in rest.split('/') {
            let token: Cow<str> = if token.contains('~') {
                Cow::Owned(token.replace("~1", "/").replace("~0", "~"))
            } else {
                Cow::Borrowed(token)
            };
            at = match at {
                Tree::Object(o) => o.get(&token)?,
                Tree::Array(xs) => xs.get(array_index(&token)?)?,
                _ => return None,
            };
        }
        Some(at)
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Tree::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_array(&self) -> Option<&[Tree<'a>]> {
        match self {
            Tree::Array(xs) => Some(xs),
            _ => None,
        }
    }

    pub fn as_object(&self) -> Option<&Obj<'a>> {
        match self {
            Tree::Object(o) => Some(o),
            _ => None,
        }
    }

    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Tree::Number(n) => n.as_i64(),
            _ => None,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Tree::Null)
    }

    /// The same value as a `serde_json::Value`.
    pub fn to_value(&self) -> Value {
        match self {
            Tree::Null => Value::Null,
            Tree::Bool(b) => Value::Bool(*b),
            Tree::Number(n) => Value::Number(n.clone()),
            Tree::String(s) => Value::String(s.as_ref().to_owned()),
            Tree::Array(xs) => Value::Array(xs.iter().map(Tree::to_value).collect()),
            Tree::Object(o) => {
                let mut m = Map::with_capacity(o.len());
                for (k, v) in o.iter() {
                    m.insert(k.to_owned(), v.to_value());
                }
                Value::Object(m)
            }
        }
    }
}

/// An array index as JSON Pointer spells it: digits, no leading zero.
fn array_index(token: &str) -> Option<usize> {
    if token.is_empty() || (token.len() > 1 && token.starts_with('0')) {
        return None;
    }
    if !token.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    token.parse().ok()
}

impl PartialEq for Tree<'_> {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Tree::Null, Tree::Null) => true,
            (Tree::Bool(a), Tree::Bool(b)) => a == b,
            (Tree::Number(a), Tree::Number(b)) => a == b,
            (Tree::String(a), Tree::String(b)) => a == b,
            (Tree::Array(a), Tree::Array(b)) => a == b,
            (Tree::Object(a), Tree::Object(b)) => {
                a.len() == b.len() && a.iter().all(|(k, v)| b.get(k) == Some(v))
            }
            _ => false,
        }
    }
}

impl<'de> Deserialize<'de> for Tree<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(DocVisitor)
    }
}

struct DocVisitor;

impl<'de> Visitor<'de> for DocVisitor {
    type Value = Tree<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, b: bool) -> Result<Tree<'de>, E> {
        Ok(Tree::Bool(b))
    }
    fn visit_i64<E>(self, n: i64) -> Result<Tree<'de>, E> {
        Ok(Tree::Number(n.into()))
    }
    fn visit_u64<E>(self, n: u64) -> Result<Tree<'de>, E> {
        Ok(Tree::Number(n.into()))
    }
    fn visit_f64<E>(self, n: f64) -> Result<Tree<'de>, E> {
        Ok(Number::from_f64(n).map_or(Tree::Null, Tree::Number))
    }
    fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Tree<'de>, E> {
        Ok(Tree::String(Cow::Borrowed(s)))
    }
    fn visit_str<E>(self, s: &str) -> Result<Tree<'de>, E> {
        Ok(Tree::String(Cow::Owned(s.to_owned())))
    }
    fn visit_string<E>(self, s: String) -> Result<Tree<'de>, E> {
        Ok(Tree::String(Cow::Owned(s)))
    }
    fn visit_unit<E>(self) -> Result<Tree<'de>, E> {
        Ok(Tree::Null)
    }
    fn visit_none<E>(self) -> Result<Tree<'de>, E> {
        Ok(Tree::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Tree<'de>, D::Error> {
        Deserialize::deserialize(d)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Tree<'de>, A::Error> {
        let mut xs = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1024));
        while let Some(x) = seq.next_element()? {
            xs.push(x);
        }
        Ok(Tree::Array(xs))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Tree<'de>, A::Error> {
        let mut fields = Vec::with_capacity(map.size_hint().unwrap_or(0).min(1024));
        while let Some(k) = map.next_key_seed(Key)? {
            fields.push((k, map.next_value()?));
        }
        Ok(Tree::Object(Obj::new(fields)))
    }
}

/// An object key, borrowed unless it holds an escape.
struct Key;

impl<'de> DeserializeSeed<'de> for Key {
    type Value = Cow<'de, str>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Key {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string")
    }
    fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(s))
    }
    fn visit_str<E: de::Error>(self, s: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(s.to_owned()))
    }
    fn visit_string<E: de::Error>(self, s: String) -> Result<Self::Value, E> {
        Ok(Cow::Owned(s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn both(text: &str) -> (Tree<'_>, Value) {
        (
            Tree::parse(text).unwrap(),
            serde_json::from_str(text).unwrap(),
        )
    }

    #[test]
    fn reads_like_a_value() {
        let text = r#"{"a":{"b~c":[1,-2,3.5,"x\"y",null,true]},"d/e":{},"a2":"é\u0001"}"#;
        let (doc, value) = both(text);
        assert_eq!(doc.to_value(), value);
        for ptr in [
            "",
            "/a",
            "/a/b~0c",
            "/a/b~0c/0",
            "/a/b~0c/2",
            "/a/b~0c/3",
            "/a/b~0c/7",
            "/a/b~0c/01",
            "/d~1e",
            "/a2",
            "/zz",
            "/a/b~0c/-",
            "a",
        ] {
            assert_eq!(
                doc.pointer(ptr).map(Tree::to_value),
                value.pointer(ptr).cloned(),
                "{ptr}"
            );
        }
        assert_eq!(
            doc.pointer("/a/b~0c/3").and_then(Tree::as_str),
            Some("x\"y")
        );
        assert_eq!(doc.pointer("/a/b~0c/1").and_then(Tree::as_i64), Some(-2));
        assert!(Tree::parse("{").is_none());
        assert!(Tree::parse("[1,]").is_none());
    }

    #[test]
    fn strings_without_escapes_are_borrowed() {
        let doc = Tree::parse(r#"{"plain":"text","esc\"aped":"a\nb"}"#).unwrap();
        let o = doc.as_object().unwrap();
        let fields: Vec<_> = o.fields.iter().collect();
        assert!(matches!(fields[0].0, Cow::Borrowed("plain")));
        assert!(matches!(fields[0].1, Tree::String(Cow::Borrowed("text"))));
        assert!(matches!(fields[1].0, Cow::Owned(_)));
        assert!(matches!(fields[1].1, Tree::String(Cow::Owned(_))));
    }

    #[test]
    fn repeated_keys_keep_the_first_place_and_the_last_value() {
        // Small objects are searched in order, big ones through the sorted index: both ways.
        for n in [3usize, 40] {
            let mut fields: Vec<String> = (0..n).map(|i| format!(r#""k{i}":{i}"#)).collect();
            fields.insert(1, r#""k2":"first""#.into());
            fields.push(r#""k0":"last""#.into());
            fields.push(r#""k2":"again""#.into());
            let text = format!("{{{}}}", fields.join(","));
            let (doc, value) = both(&text);
            assert_eq!(doc.to_value(), value, "{n} fields");
            let keys: Vec<&str> = doc.as_object().unwrap().iter().map(|(k, _)| k).collect();
            let want: Vec<&str> = value
                .as_object()
                .unwrap()
                .keys()
                .map(String::as_str)
                .collect();
            assert_eq!(keys, want, "{n} fields");
            assert_eq!(doc.get("k2").and_then(Tree::as_str), Some("again"));
            assert_eq!(doc.get("k1").and_then(Tree::as_i64), Some(1));
            if n > 3 {
                let last = format!("k{}", n - 1);
                assert_eq!(doc.get(&last).and_then(Tree::as_i64), Some(n as i64 - 1));
            }
            assert!(doc.get("k").is_none());
        }
    }

    #[test]
    fn objects_are_equal_in_any_order() {
        let big = |rev: bool| {
            let mut f: Vec<String> = (0..30).map(|i| format!(r#""k{i}":[{i}]"#)).collect();
            if rev {
                f.reverse();
            }
            format!("{{{}}}", f.join(","))
        };
        let pairs = [
            (r#"{"a":1,"b":[1,2]}"#, r#"{"b":[1,2],"a":1}"#, true),
            (r#"{"a":1,"b":[1,2]}"#, r#"{"b":[2,1],"a":1}"#, false),
            (r#"{"a":1}"#, r#"{"a":1,"b":null}"#, false),
            (r#"{"a":1.0}"#, r#"{"a":1}"#, false),
            (r#"[{}]"#, r#"[[]]"#, false),
        ];
        for (a, b, eq) in pairs {
            let (da, va) = both(a);
            let (db, vb) = both(b);
            assert_eq!(da == db, eq, "{a} {b}");
            assert_eq!(va == vb, eq, "{a} {b}");
        }
        let (a, b) = (big(false), big(true));
        assert!(Tree::parse(&a).unwrap() == Tree::parse(&b).unwrap());
        let c = b.replace("[29]", "[0]");
        assert!(Tree::parse(&a).unwrap() != Tree::parse(&c).unwrap());
    }

    #[test]
    fn generated_bodies_read_like_values() {
        // Every request and response body of a generated log, and a pointer into each.
        let mut bodies = 0;
        for v in ktrail_corpus::generated_bodies(5, 2_000_000) {
            let text = v.to_string();
            let doc = Tree::parse(&text).expect("parses");
            assert_eq!(doc.to_value(), v);
            assert!(doc == Tree::parse(&text).expect("parses"));
            for ptr in [
                "/metadata/name",
                "/spec/containers/0/image",
                "/status/phase",
            ] {
                assert_eq!(
                    doc.pointer(ptr).map(Tree::to_value),
                    v.pointer(ptr).cloned()
                );
            }
            bodies += 1;
        }
        assert!(bodies > 400, "{bodies} bodies");
    }

    #[test]
    fn deep_nesting_is_refused_not_overflowed() {
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert!(Tree::parse(&deep).is_none());
        let ok = format!("{}{}", "[".repeat(100), "]".repeat(100));
        assert!(Tree::parse(&ok).is_some());
    }
}
