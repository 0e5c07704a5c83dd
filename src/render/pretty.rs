//! The JSON writer of every pretty JSON output: serde_json's pretty layout (two spaces, `": "`),
//! starting at any depth, with every character `ktrail_core::escape::is_unsafe` finds written as
//! a `\uXXXX` escape besides those JSON must escape. The same bytes as `serde_json::Serializer`
//! with a formatter that escapes those characters, which is what it replaced: a story's strings
//! were looked at byte by byte twice there (for JSON's escapes, then for unsafe characters), and
//! that was the larger part of writing the timeline of a busy log. Here a string is tested once,
//! many bytes at a time, and copied whole when it needs no escape, as nearly all do.
//!
//! What it must not know: the types it writes. Floats are formatted by serde_json itself, so
//! that every number reads as it did.

use std::fmt::Display;
use std::io::Write;

use serde::ser::{self, Serialize};

use ktrail_core::escape::is_unsafe;

type Error = serde_json::Error;
type Result<T = ()> = std::result::Result<T, Error>;

/// Writes `value` to `out` as it would appear `depth` levels deep in a pretty document.
pub fn write<T: Serialize + ?Sized, W: Write>(value: &T, depth: usize, out: W) -> Result {
    let mut w = Pretty {
        out,
        indent: depth,
        has_value: false,
    };
    value.serialize(&mut w)
}

fn io(e: std::io::Error) -> Error {
    Error::io(e)
}

pub struct Pretty<W> {
    out: W,
    indent: usize,
    /// Whether the innermost open container holds a value yet (it then closes on a line of its
    /// own).
    has_value: bool,
}

impl<W: Write> Pretty<W> {
    fn newline(&mut self) -> Result {
        const SPACES: &[u8] = &[b' '; 64];
        self.out.write_all(b"\n").map_err(io)?;
        let mut n = self.indent * 2;
        while n > 0 {
            let k = n.min(SPACES.len());
            self.out.write_all(&SPACES[..k]).map_err(io)?;
            n -= k;
        }
        Ok(())
    }

    fn open(&mut self, c: &[u8]) -> Result {
        self.indent += 1;
        self.has_value = false;
        self.out.write_all(c).map_err(io)
    }

    fn close(&mut self, c: &[u8]) -> Result {
        self.indent -= 1;
        if self.has_value {
            self.newline()?;
        }
        self.out.write_all(c).map_err(io)
    }

    fn item(&mut self, first: bool) -> Result {
        if !first {
            self.out.write_all(b",").map_err(io)?;
        }
        self.newline()
    }

    fn raw(&mut self, b: &[u8]) -> Result {
        self.out.write_all(b).map_err(io)
    }

    fn number(&mut self, n: impl Display) -> Result {
        write!(self.out, "{n}").map_err(io)
    }

    fn float(&mut self, f: impl Serialize) -> Result {
        serde_json::to_writer(&mut self.out, &f)
    }

    /// Opens an object holding one field named `variant`, up to its value.
    fn variant_key(&mut self, variant: &str) -> Result {
        self.open(b"{")?;
        self.item(true)?;
        string(&mut self.out, variant)?;
        self.raw(b": ")
    }

    fn variant_end(&mut self) -> Result {
        self.has_value = true;
        self.close(b"}")
    }
}

/// `s` as a JSON string.
fn string<W: Write>(out: &mut W, s: &str) -> Result {
    let b = s.as_bytes();
    // Folded without stopping early, so that the compiler tests many bytes at a time.
    let plain = !b.iter().fold(false, |odd, &c| {
        odd | !(0x20..0x7f).contains(&c) | (c == b'"') | (c == b'\\')
    });
    if plain {
        out.write_all(b"\"").map_err(io)?;
        out.write_all(b).map_err(io)?;
        out.write_all(b"\"").map_err(io)
    } else {
        let mut text = Vec::with_capacity(b.len() + 16);
        text.push(b'"');
        escaped(&mut text, s);
        text.push(b'"');
        out.write_all(&text).map_err(io)
    }
}

/// The text of a string that holds an escape or a character outside printable ASCII.
fn escaped(out: &mut Vec<u8>, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut run = 0;
    for (i, c) in s.char_indices() {
        let short: &[u8] = match c {
            '"' => b"\\\"",
            '\\' => b"\\\\",
            '\u{8}' => b"\\b",
            '\u{c}' => b"\\f",
            '\n' => b"\\n",
            '\r' => b"\\r",
            '\t' => b"\\t",
            c if c < ' ' || is_unsafe(c) => b"",
            _ => continue,
        };
        out.extend_from_slice(&s.as_bytes()[run..i]);
        run = i + c.len_utf8();
        if !short.is_empty() {
            out.extend_from_slice(short);
            continue;
        }
        // Every unsafe character is in the Basic Multilingual Plane: one \u escape.
        let u = c as u32;
        out.extend_from_slice(b"\\u");
        for shift in [12, 8, 4, 0] {
            out.push(HEX[((u >> shift) & 0xf) as usize]);
        }
    }
    out.extend_from_slice(&s.as_bytes()[run..]);
}

/// A sequence, map or struct being written; `empty` when it was closed at once (no elements).
pub struct Compound<'a, W> {
    w: &'a mut Pretty<W>,
    first: bool,
    empty: bool,
}

impl<'a, W: Write> Compound<'a, W> {
    fn open(w: &'a mut Pretty<W>, c: &[u8], len: Option<usize>) -> Result<Self> {
        w.open(c)?;
        let empty = len == Some(0);
        if empty {
            w.close(if c == b"[" { b"]" } else { b"}" })?;
        }
        Ok(Compound {
            w,
            first: true,
            empty,
        })
    }

    fn element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result {
        self.w.item(self.first)?;
        self.first = false;
        value.serialize(&mut *self.w)?;
        self.w.has_value = true;
        Ok(())
    }

    fn key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result {
        self.w.item(self.first)?;
        self.first = false;
        key.serialize(KeyWriter(&mut self.w.out))
    }

    fn value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result {
        self.w.raw(b": ")?;
        value.serialize(&mut *self.w)?;
        self.w.has_value = true;
        Ok(())
    }

    fn close(self, c: &[u8]) -> Result {
        if !self.empty {
            self.w.close(c)?;
        }
        Ok(())
    }
}

impl<'a, W: Write> ser::Serializer for &'a mut Pretty<W> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Compound<'a, W>;
    type SerializeTuple = Compound<'a, W>;
    type SerializeTupleStruct = Compound<'a, W>;
    type SerializeTupleVariant = Compound<'a, W>;
    type SerializeMap = Compound<'a, W>;
    type SerializeStruct = Compound<'a, W>;
    type SerializeStructVariant = Compound<'a, W>;

    fn serialize_bool(self, v: bool) -> Result {
        self.raw(if v { b"true" } else { b"false" })
    }
    fn serialize_i8(self, v: i8) -> Result {
        self.number(v)
    }
    fn serialize_i16(self, v: i16) -> Result {
        self.number(v)
    }
    fn serialize_i32(self, v: i32) -> Result {
        self.number(v)
    }
    fn serialize_i64(self, v: i64) -> Result {
        self.number(v)
    }
    fn serialize_i128(self, v: i128) -> Result {
        self.number(v)
    }
    fn serialize_u8(self, v: u8) -> Result {
        self.number(v)
    }
    fn serialize_u16(self, v: u16) -> Result {
        self.number(v)
    }
    fn serialize_u32(self, v: u32) -> Result {
        self.number(v)
    }
    fn serialize_u64(self, v: u64) -> Result {
        self.number(v)
    }
    fn serialize_u128(self, v: u128) -> Result {
        self.number(v)
    }
    fn serialize_f32(self, v: f32) -> Result {
        self.float(v)
    }
    fn serialize_f64(self, v: f64) -> Result {
        self.float(v)
    }
    fn serialize_char(self, v: char) -> Result {
        string(&mut self.out, v.encode_utf8(&mut [0; 4]))
    }
    fn serialize_str(self, v: &str) -> Result {
        string(&mut self.out, v)
    }
    fn serialize_bytes(self, v: &[u8]) -> Result {
        use ser::SerializeSeq;
        let mut seq = self.serialize_seq(Some(v.len()))?;
        for b in v {
            seq.serialize_element(b)?;
        }
        SerializeSeq::end(seq)
    }
    fn serialize_none(self) -> Result {
        self.serialize_unit()
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result {
        self.raw(b"null")
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result {
        self.serialize_unit()
    }
    fn serialize_unit_variant(self, _: &'static str, _: u32, variant: &'static str) -> Result {
        self.serialize_str(variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _: &'static str, value: &T) -> Result {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        value: &T,
    ) -> Result {
        self.variant_key(variant)?;
        value.serialize(&mut *self)?;
        self.variant_end()
    }
    fn serialize_seq(self, len: Option<usize>) -> Result<Compound<'a, W>> {
        Compound::open(self, b"[", len)
    }
    fn serialize_tuple(self, len: usize) -> Result<Compound<'a, W>> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(self, _: &'static str, len: usize) -> Result<Compound<'a, W>> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Compound<'a, W>> {
        self.variant_key(variant)?;
        self.serialize_seq(Some(len))
    }
    fn serialize_map(self, len: Option<usize>) -> Result<Compound<'a, W>> {
        Compound::open(self, b"{", len)
    }
    fn serialize_struct(self, _: &'static str, len: usize) -> Result<Compound<'a, W>> {
        self.serialize_map(Some(len))
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Compound<'a, W>> {
        self.variant_key(variant)?;
        self.serialize_map(Some(len))
    }
}

impl<W: Write> ser::SerializeSeq for Compound<'_, W> {
    type Ok = ();
    type Error = Error;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result {
        self.element(value)
    }
    fn end(self) -> Result {
        self.close(b"]")
    }
}

impl<W: Write> ser::SerializeTuple for Compound<'_, W> {
    type Ok = ();
    type Error = Error;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result {
        self.element(value)
    }
    fn end(self) -> Result {
        self.close(b"]")
    }
}

impl<W: Write> ser::SerializeTupleStruct for Compound<'_, W> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result {
        self.element(value)
    }
    fn end(self) -> Result {
        self.close(b"]")
    }
}

impl<W: Write> ser::SerializeTupleVariant for Compound<'_, W> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result {
        self.element(value)
    }
    fn end(self) -> Result {
        let w = &mut *self.w;
        if !self.empty {
            w.close(b"]")?;
        }
        w.variant_end()
    }
}

impl<W: Write> ser::SerializeMap for Compound<'_, W> {
    type Ok = ();
    type Error = Error;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result {
        self.key(key)
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result {
        self.value(value)
    }
    fn end(self) -> Result {
        self.close(b"}")
    }
}

impl<W: Write> ser::SerializeStruct for Compound<'_, W> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Result {
        self.key(key)?;
        self.value(value)
    }
    fn end(self) -> Result {
        self.close(b"}")
    }
}

impl<W: Write> ser::SerializeStructVariant for Compound<'_, W> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Result {
        self.key(key)?;
        self.value(value)
    }
    fn end(self) -> Result {
        let w = &mut *self.w;
        if !self.empty {
            w.close(b"}")?;
        }
        w.variant_end()
    }
}

/// A map key: a string, or what serde_json writes as one (a number, a boolean, a character).
struct KeyWriter<'a, W>(&'a mut W);

fn key_must_be_a_string() -> Error {
    ser::Error::custom("key must be a string")
}

impl<W: Write> KeyWriter<'_, W> {
    fn quoted(self, n: impl Display) -> Result {
        write!(self.0, "\"{n}\"").map_err(io)
    }
}

impl<W: Write> ser::Serializer for KeyWriter<'_, W> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = ser::Impossible<(), Error>;
    type SerializeTuple = ser::Impossible<(), Error>;
    type SerializeTupleStruct = ser::Impossible<(), Error>;
    type SerializeTupleVariant = ser::Impossible<(), Error>;
    type SerializeMap = ser::Impossible<(), Error>;
    type SerializeStruct = ser::Impossible<(), Error>;
    type SerializeStructVariant = ser::Impossible<(), Error>;

    fn serialize_str(self, v: &str) -> Result {
        string(self.0, v)
    }
    fn serialize_char(self, v: char) -> Result {
        string(self.0, v.encode_utf8(&mut [0; 4]))
    }
    fn serialize_unit_variant(self, _: &'static str, _: u32, variant: &'static str) -> Result {
        self.serialize_str(variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _: &'static str, value: &T) -> Result {
        value.serialize(self)
    }
    fn serialize_bool(self, v: bool) -> Result {
        self.quoted(v)
    }
    fn serialize_i8(self, v: i8) -> Result {
        self.quoted(v)
    }
    fn serialize_i16(self, v: i16) -> Result {
        self.quoted(v)
    }
    fn serialize_i32(self, v: i32) -> Result {
        self.quoted(v)
    }
    fn serialize_i64(self, v: i64) -> Result {
        self.quoted(v)
    }
    fn serialize_i128(self, v: i128) -> Result {
        self.quoted(v)
    }
    fn serialize_u8(self, v: u8) -> Result {
        self.quoted(v)
    }
    fn serialize_u16(self, v: u16) -> Result {
        self.quoted(v)
    }
    fn serialize_u32(self, v: u32) -> Result {
        self.quoted(v)
    }
    fn serialize_u64(self, v: u64) -> Result {
        self.quoted(v)
    }
    fn serialize_u128(self, v: u128) -> Result {
        self.quoted(v)
    }
    fn serialize_f32(self, _: f32) -> Result {
        Err(key_must_be_a_string())
    }
    fn serialize_f64(self, _: f64) -> Result {
        Err(key_must_be_a_string())
    }
    fn serialize_bytes(self, _: &[u8]) -> Result {
        Err(key_must_be_a_string())
    }
    fn serialize_none(self) -> Result {
        Err(key_must_be_a_string())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, _: &T) -> Result {
        Err(key_must_be_a_string())
    }
    fn serialize_unit(self) -> Result {
        Err(key_must_be_a_string())
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result {
        Err(key_must_be_a_string())
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result {
        Err(key_must_be_a_string())
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq> {
        Err(key_must_be_a_string())
    }
    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple> {
        Err(key_must_be_a_string())
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct> {
        Err(key_must_be_a_string())
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant> {
        Err(key_must_be_a_string())
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap> {
        Err(key_must_be_a_string())
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeStruct> {
        Err(key_must_be_a_string())
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant> {
        Err(key_must_be_a_string())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::io;

    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};
    use serde::Serialize;
    use serde_json::{json, Value};

    use super::*;

    /// The writer this one replaced: serde_json's own serializer, with a formatter that escapes
    /// unsafe characters in the fragments serde_json hands it. Both must give the same bytes.
    struct Reference {
        indent: usize,
        has_value: bool,
    }

    impl Reference {
        fn newline<W: ?Sized + io::Write>(&self, w: &mut W) -> io::Result<()> {
            w.write_all(b"\n")?;
            w.write_all(" ".repeat(self.indent * 2).as_bytes())
        }
    }

    impl serde_json::ser::Formatter for Reference {
        fn write_string_fragment<W: ?Sized + io::Write>(
            &mut self,
            w: &mut W,
            fragment: &str,
        ) -> io::Result<()> {
            for c in fragment.chars() {
                if is_unsafe(c) {
                    write!(w, "\\u{:04x}", c as u32)?;
                } else {
                    write!(w, "{c}")?;
                }
            }
            Ok(())
        }
        fn begin_array<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
            self.indent += 1;
            self.has_value = false;
            w.write_all(b"[")
        }
        fn end_array<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
            self.indent -= 1;
            if self.has_value {
                self.newline(w)?;
            }
            w.write_all(b"]")
        }
        fn begin_array_value<W: ?Sized + io::Write>(
            &mut self,
            w: &mut W,
            first: bool,
        ) -> io::Result<()> {
            if !first {
                w.write_all(b",")?;
            }
            self.newline(w)
        }
        fn end_array_value<W: ?Sized + io::Write>(&mut self, _: &mut W) -> io::Result<()> {
            self.has_value = true;
            Ok(())
        }
        fn begin_object<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
            self.indent += 1;
            self.has_value = false;
            w.write_all(b"{")
        }
        fn end_object<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
            self.indent -= 1;
            if self.has_value {
                self.newline(w)?;
            }
            w.write_all(b"}")
        }
        fn begin_object_key<W: ?Sized + io::Write>(
            &mut self,
            w: &mut W,
            first: bool,
        ) -> io::Result<()> {
            self.begin_array_value(w, first)
        }
        fn begin_object_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
            w.write_all(b": ")
        }
        fn end_object_value<W: ?Sized + io::Write>(&mut self, _: &mut W) -> io::Result<()> {
            self.has_value = true;
            Ok(())
        }
    }

    fn both<T: Serialize>(value: &T, depth: usize) -> (String, String) {
        let mut ours = Vec::new();
        write(value, depth, &mut ours).expect("writes");
        let mut theirs = Vec::new();
        let f = Reference {
            indent: depth,
            has_value: false,
        };
        value
            .serialize(&mut serde_json::Serializer::with_formatter(&mut theirs, f))
            .expect("writes");
        (
            String::from_utf8(ours).expect("UTF-8"),
            String::from_utf8(theirs).expect("UTF-8"),
        )
    }

    const TEXT: &[&str] = &[
        "pod",
        "/spec/schedulerName",
        "fargate-scheduler",
        "é",
        "日本",
        "😀",
        "\"",
        "\\",
        "/",
        "\n",
        "\t",
        "\r",
        "\u{8}",
        "\u{c}",
        "\u{0}",
        "\u{1b}[2J",
        "\u{7f}",
        "\u{85}",
        "\u{9b}",
        "\u{202e}",
        "\u{2028}",
        "\u{2066}",
        "\u{61c}",
        "\u{feff}",
    ];

    fn text(rng: &mut StdRng) -> String {
        (0..rng.gen_range(0..6))
            .map(|_| TEXT[rng.gen_range(0..TEXT.len())])
            .collect()
    }

    fn value(rng: &mut StdRng, depth: usize) -> Value {
        match rng.gen_range(0..if depth > 3 { 6 } else { 8 }) {
            0 => Value::Null,
            1 => Value::Bool(rng.gen()),
            2 => json!(rng.gen::<i64>() >> rng.gen_range(0..64)),
            3 => json!(rng.gen::<u64>()),
            4 => json!([0.1, -0.0, 1e300, 5.0, 1.5e-7, 123456.789][rng.gen_range(0..6)]),
            5 => Value::String(text(rng)),
            6 => Value::Array(
                (0..rng.gen_range(0..4))
                    .map(|_| value(rng, depth + 1))
                    .collect(),
            ),
            _ => Value::Object(
                (0..rng.gen_range(0..4))
                    .map(|_| (text(rng), value(rng, depth + 1)))
                    .collect(),
            ),
        }
    }

    #[test]
    fn writes_what_serde_json_wrote_for_any_value_at_any_depth() {
        let mut rng = StdRng::seed_from_u64(3);
        for i in 0..5_000 {
            let v = value(&mut rng, 0);
            let (ours, theirs) = both(&v, i % 4);
            assert_eq!(ours, theirs, "{v:?}");
        }
    }

    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    enum Shape {
        Unit,
        Newtype(Option<u8>),
        Tuple(i8, String),
        EmptyTuple(),
        Struct { a_field: Vec<u8>, b: () },
        EmptyStruct {},
    }

    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Typed {
        shapes: Vec<Shape>,
        #[serde(skip_serializing_if = "Option::is_none")]
        skipped: Option<u8>,
        kept: Option<f64>,
        nan: f64,
        by_number: BTreeMap<u32, char>,
        by_flag: BTreeMap<bool, ()>,
        tuple: (u16, i128, u128, f32),
        bytes: serde_bytes_like::Bytes,
        empty: Vec<Value>,
        unit: (),
    }

    /// `serialize_bytes`, which no derive calls on its own.
    mod serde_bytes_like {
        pub struct Bytes(pub Vec<u8>);
        impl serde::Serialize for Bytes {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_bytes(&self.0)
            }
        }
    }

    #[test]
    fn writes_what_serde_json_wrote_for_every_shape_of_type() {
        let typed = Typed {
            shapes: vec![
                Shape::Unit,
                Shape::Newtype(Some(7)),
                Shape::Newtype(None),
                Shape::Tuple(-1, "x\u{202e}".into()),
                Shape::EmptyTuple(),
                Shape::Struct {
                    a_field: vec![],
                    b: (),
                },
                Shape::EmptyStruct {},
            ],
            skipped: None,
            kept: Some(0.25),
            nan: f64::NAN,
            by_number: [(1, 'a'), (20, '\u{9b}')].into_iter().collect(),
            by_flag: [(true, ())].into_iter().collect(),
            tuple: (1, -(1 << 100), 1 << 100, 0.1),
            bytes: serde_bytes_like::Bytes(vec![0, 255]),
            empty: vec![],
            unit: (),
        };
        for depth in 0..3 {
            let (ours, theirs) = both(&typed, depth);
            assert_eq!(ours, theirs);
        }
    }
}
