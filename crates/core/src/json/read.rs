//! Partial JSON reading on bytes: finding the end of a string, walking and checking values
//! without building them, and the few byte tests that are sure of a key or a string without a
//! walk.
//!
//! What it owns: JSON's lexical rules as this crate's fast paths apply them (string ends and
//! escapes, numbers, literals, whitespace, nesting) and one walker, [`Reader`], that checks a
//! value's syntax the way serde_json checks the values it skips: `\u` escapes need four hex
//! digits, numbers follow the grammar but are not converted, so their range is not checked. The
//! [`Reader`] notes `\u` escapes of UTF-16 surrogates and refuses values nested deeper than
//! [`MAX_DEPTH`]; callers that must answer exactly as serde would hand such input to serde. A
//! caller that must also refuse numbers out of range, as a parse that converts them does, checks
//! them with [`Reader::skip_value_checking`]. It decodes no escapes: a string that holds one is
//! reported as escaped, and is decoded by `unescape` (or serde).
//!
//! What it must not know: audit events, their field names or what a caller does with a field.
//! Everything here borrows from the input and allocates nothing; it is on the path of every line
//! of a scan. Its functions are `#[inline]` so that they can be inlined into their callers in
//! other modules and crates: they are the inner loops of the skim and of the byte tests.

use memchr::memmem;

/// Values nested deeper than this are not walked; the open containers fit the bits of a `u64`.
pub const MAX_DEPTH: usize = 64;

/// Where a reader going through JSON a byte at a time stands with strings: inside one or not, and
/// right after a backslash in one. The splitters that cut a stream into documents or elements
/// track it so that quotes and brackets inside strings do not count.
#[derive(Debug, Default, Clone, Copy)]
pub struct StringState {
    inside: bool,
    escaped: bool,
}

impl StringState {
    /// Whether the bytes stepped over so far leave the reader inside a string.
    #[inline]
    pub fn inside(self) -> bool {
        self.inside
    }

    /// A quote outside a string: it opens one.
    #[inline]
    pub fn open(&mut self) {
        self.inside = true;
    }

    /// One byte inside a string. True when it is text as it stands: not an escaping backslash,
    /// nor the byte it escapes, nor the closing quote.
    #[inline]
    pub fn step(&mut self, b: u8) -> bool {
        if self.escaped {
            self.escaped = false;
        } else if b == b'\\' {
            self.escaped = true;
        } else if b == b'"' {
            self.inside = false;
        } else {
            return true;
        }
        false
    }
}

/// The first `"` or `\` in `s`.
///
/// The strings of an audit line are short (keys, names, ids, timestamps, ARNs: a few to a hundred
/// bytes), where `memchr2`'s setup costs more than the search: the first 256 bytes are searched a
/// word (8 bytes) at a time with the usual has-zero-byte trick, and only longer strings (bodies'
/// text) are handed to `memchr2`.
#[inline]
pub fn quote_or_backslash(s: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    const QUOTES: u64 = ONES * b'"' as u64;
    const BACKSLASHES: u64 = ONES * b'\\' as u64;
    // A byte of `v` is zero ⇒ its high bit is set here; the lowest set bit is always exact.
    let zero = |v: u64| v.wrapping_sub(ONES) & !v & HIGHS;
    let mut i = 0;
    while i + 8 <= s.len() && i < 256 {
        let Ok(word) = <[u8; 8]>::try_from(&s[i..i + 8]) else {
            break;
        };
        let w = u64::from_le_bytes(word);
        let hit = zero(w ^ QUOTES) | zero(w ^ BACKSLASHES);
        if hit != 0 {
            return Some(i + (hit.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    memchr::memchr2(b'"', b'\\', &s[i..]).map(|k| i + k)
}

/// The text of a string that starts right after its opening quote, up to its closing quote,
/// when it has no escape. `None` when a backslash comes first or the string does not close: the
/// value is then not comparable byte for byte, which does not mean it is absent.
#[inline]
pub fn plain_string(after_quote: &[u8]) -> Option<&[u8]> {
    let end = quote_or_backslash(after_quote)?;
    (after_quote[end] == b'"').then(|| &after_quote[..end])
}

/// Whether the bytes after some text close a JSON string there: any number of backslashes, then a
/// quote. The backslashes let the string stand escaped inside another string, at any depth (a
/// CloudWatch export carries each event as the text of a `message` string).
#[inline]
pub fn closes_string(after: &[u8]) -> bool {
    let n = after.iter().take_while(|&&b| b == b'\\').count();
    after.get(n) == Some(&b'"')
}

/// Where a top-level key of an object stands, told from the bytes alone: the end of the first hit
/// of `needle` (which starts with the key's opening quote and goes on at least to its closing
/// quote) in `body`, the object's text after its `{`, when that hit stands before any nested
/// object or array and does not follow a backslash.
///
/// For valid JSON such a hit is a key of the object itself: before any nesting, the only strings
/// are the object's own keys and string values, and a quote inside a string is escaped, so it
/// follows a backslash. `None` says nothing about the key: it may stand after the first nested
/// value, or the text may not be JSON; the caller then reads the object some other way.
#[inline]
pub fn head_key(body: &[u8], needle: &memmem::Finder<'_>) -> Option<usize> {
    let head = &body[..memchr::memchr2(b'{', b'[', body).unwrap_or(body.len())];
    let at = needle.find(head)?;
    if at > 0 && head[at - 1] == b'\\' {
        return None;
    }
    Some(at + needle.needle().len())
}

/// The UTF-16 code unit a `\u` escape names: its four hex digits (`digits` is the four bytes
/// after `\u`), or `None` when they are not four hex digits.
pub fn hex_unit(digits: &[u8]) -> Option<u16> {
    let digits: &[u8; 4] = digits.try_into().ok()?;
    digits.iter().try_fold(0u16, |unit, &h| {
        Some(unit * 16 + char::from(h).to_digit(16)? as u16)
    })
}

/// Whether `line` holds a control character (below 0x20), including the whitespace ones.
///
/// Control characters are never valid inside JSON strings, and lines of audit events have none
/// between tokens either; ruling them out first keeps the string scan of [`Reader`] to `"` and
/// `\`. No early exit, so that it compiles to a vector loop.
#[inline]
pub fn has_control(line: &[u8]) -> bool {
    line.iter().fold(false, |acc, &b| acc | (b < 0x20))
}

/// A JSON string as found: its raw bytes between the quotes, and whether they hold escapes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Str<'a> {
    pub raw: &'a [u8],
    pub escaped: bool,
}

impl<'a> Str<'a> {
    /// The value, when it can be compared byte for byte (no escapes).
    #[inline]
    pub fn plain(&self) -> Option<&'a [u8]> {
        (!self.escaped).then_some(self.raw)
    }
}

/// A cursor over one JSON text that reads it token by token and walks the values it is not asked
/// to read. Every method returns `None` when the text is not what it expects (or is more than the
/// walk handles: see [`Reader::skip_value`]), leaving the cursor somewhere inside the text.
pub struct Reader<'a> {
    b: &'a [u8],
    i: usize,
    /// A `\u` escape of a UTF-16 surrogate was seen: serde pairs these up (and refuses lone ones)
    /// in the strings it keeps, which this walk does not reproduce.
    surrogate: bool,
}

impl<'a> Reader<'a> {
    /// A reader of `text`, when it is UTF-8 without control characters (see [`has_control`]): the
    /// string scan relies on both, so any other text is left to a full parser.
    #[inline]
    pub fn checked(text: &'a [u8]) -> Option<Reader<'a>> {
        if has_control(text) {
            return None;
        }
        if !text.is_ascii() && std::str::from_utf8(text).is_err() {
            return None;
        }
        Some(Reader {
            b: text,
            i: 0,
            surrogate: false,
        })
    }

    /// A reader of `text` when it has no control characters (see [`Reader::checked`]).
    #[inline]
    pub fn checked_str(text: &'a str) -> Option<Reader<'a>> {
        if has_control(text.as_bytes()) {
            return None;
        }
        Some(Reader::parsed(text))
    }

    /// A reader of text that a JSON parser has accepted whole, such as a
    /// `serde_json::value::RawValue`'s: its control characters can only be whitespace between
    /// tokens, so the string scan needs no check of its own.
    #[inline]
    pub fn parsed(text: &'a str) -> Reader<'a> {
        Reader {
            b: text.as_bytes(),
            i: 0,
            surrogate: false,
        }
    }

    /// Whether a `\u` escape of a UTF-16 surrogate was read so far.
    #[inline]
    pub fn saw_surrogate(&self) -> bool {
        self.surrogate
    }

    /// The position of the cursor in the text.
    #[inline]
    pub fn pos(&self) -> usize {
        self.i
    }

    /// The text from `start` to the cursor.
    #[inline]
    pub fn since(&self, start: usize) -> &'a [u8] {
        &self.b[start..self.i]
    }

    /// The byte at the cursor.
    #[inline]
    pub fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    /// Skips JSON whitespace.
    #[inline]
    pub fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\r' | b'\n') = self.peek() {
            self.i += 1;
        }
    }

    /// Whether only whitespace is left.
    #[inline]
    pub fn at_end(&mut self) -> bool {
        self.ws();
        self.i == self.b.len()
    }

    /// The byte `c` after any whitespace.
    #[inline]
    pub fn eat(&mut self, c: u8) -> Option<()> {
        self.ws();
        (self.peek()? == c).then(|| self.i += 1)
    }

    /// A string starting at the current `"` (after any whitespace). Escapes are checked the way
    /// serde_json checks them in values it skips (`\u` needs four hex digits); surrogates are only
    /// noted. Callers that compare a string's value refuse escaped ones.
    #[inline]
    pub fn string(&mut self) -> Option<Str<'a>> {
        self.ws();
        if self.peek()? != b'"' {
            return None;
        }
        self.i += 1;
        let start = self.i;
        let mut escaped = false;
        loop {
            let rest = &self.b[self.i..];
            let k = quote_or_backslash(rest)?;
            self.i += k;
            if self.b[self.i] == b'"' {
                let raw = &self.b[start..self.i];
                self.i += 1;
                return Some(Str { raw, escaped });
            }
            escaped = true;
            match *self.b.get(self.i + 1)? {
                b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => self.i += 2,
                b'u' => {
                    let hex = self.b.get(self.i + 2..self.i + 6)?;
                    let hex = std::str::from_utf8(hex).ok()?;
                    if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                        return None;
                    }
                    let unit = u16::from_str_radix(hex, 16).ok()?;
                    self.surrogate |= (0xD800..=0xDFFF).contains(&unit);
                    self.i += 6;
                }
                _ => return None,
            }
        }
    }

    /// A number, by JSON's grammar (after any whitespace). Returns whether it is an integer (no
    /// fraction or exponent). Its value is not computed, so neither is its range checked.
    #[inline]
    pub fn number(&mut self) -> Option<bool> {
        self.ws();
        let start = self.i;
        if self.peek() == Some(b'-') {
            self.i += 1;
        }
        match self.peek()? {
            b'0' => self.i += 1,
            b'1'..=b'9' => self.digits(),
            _ => return None,
        }
        let mut integer = true;
        if self.peek() == Some(b'.') {
            self.i += 1;
            integer = false;
            if !self.peek()?.is_ascii_digit() {
                return None;
            }
            self.digits();
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.i += 1;
            integer = false;
            if let Some(b'+' | b'-') = self.peek() {
                self.i += 1;
            }
            if !self.peek()?.is_ascii_digit() {
                return None;
            }
            self.digits();
        }
        debug_assert!(self.i > start);
        Some(integer)
    }

    #[inline]
    fn digits(&mut self) {
        while self.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.i += 1;
        }
    }

    /// The bytes of `word` at the cursor (no whitespace skipped).
    #[inline]
    pub fn literal(&mut self, word: &[u8]) -> Option<()> {
        let end = self.i + word.len();
        (self.b.get(self.i..end)? == word).then(|| self.i = end)
    }

    /// True when the value is `null` (consumed); false when something else follows.
    #[inline]
    pub fn null(&mut self) -> Option<bool> {
        self.ws();
        if self.peek()? == b'n' {
            self.literal(b"null")?;
            return Some(true);
        }
        Some(false)
    }

    /// Skips any JSON value, checking its syntax, without recursion. Values nested deeper than
    /// [`MAX_DEPTH`] answer `None`, as errors do.
    #[inline]
    pub fn skip_value(&mut self) -> Option<()> {
        self.skip_value_checking(|_| Some(()))
    }

    /// [`Reader::skip_value`], handing the text of every number on the way to `number`, which
    /// refuses it with `None`. For callers that must refuse what a parse that converts numbers
    /// refuses (a number out of `f64`'s range), which syntax alone does not tell.
    #[inline]
    pub fn skip_value_checking(
        &mut self,
        mut number: impl FnMut(&'a [u8]) -> Option<()>,
    ) -> Option<()> {
        // The open containers, innermost in the lowest bit: 1 for an object, 0 for an array.
        let mut stack: u64 = 0;
        let mut depth = 0usize;
        loop {
            // A value.
            self.ws();
            match self.peek()? {
                b'"' => {
                    self.string()?;
                }
                b'{' => {
                    if self.enter(b'}', &mut depth)? {
                        stack = stack << 1 | 1;
                        self.key()?;
                        continue;
                    }
                }
                b'[' => {
                    if self.enter(b']', &mut depth)? {
                        stack <<= 1;
                        continue;
                    }
                }
                b't' => self.literal(b"true")?,
                b'f' => self.literal(b"false")?,
                b'n' => self.literal(b"null")?,
                _ => {
                    let start = self.i;
                    self.number()?;
                    number(&self.b[start..self.i])?;
                }
            }
            // After a value: a comma, or the end of one or more containers.
            loop {
                if depth == 0 {
                    return Some(());
                }
                let object = stack & 1 == 1;
                self.ws();
                match self.peek()? {
                    b',' => {
                        self.i += 1;
                        if object {
                            self.key()?;
                        }
                        break;
                    }
                    b'}' if object => {
                        self.i += 1;
                        stack >>= 1;
                        depth -= 1;
                    }
                    b']' if !object => {
                        self.i += 1;
                        stack >>= 1;
                        depth -= 1;
                    }
                    _ => return None,
                }
            }
        }
    }

    /// Past the bracket at the cursor that opens a container closed by `close`: false when the
    /// container is empty (its end is passed too), true when a value follows, one level deeper
    /// in `depth`; `None` past [`MAX_DEPTH`].
    #[inline]
    fn enter(&mut self, close: u8, depth: &mut usize) -> Option<bool> {
        self.i += 1;
        self.ws();
        if self.peek()? == close {
            self.i += 1;
            return Some(false);
        }
        *depth += 1;
        if *depth > MAX_DEPTH {
            return None;
        }
        Some(true)
    }

    /// `"key":` inside an object.
    #[inline]
    pub fn key(&mut self) -> Option<Str<'a>> {
        let k = self.string()?;
        self.eat(b':')?;
        Some(k)
    }

    /// Walks the members of an object, calling `member` with each key (positioned at its value),
    /// which must consume the value.
    #[inline]
    pub fn object(
        &mut self,
        mut member: impl FnMut(&mut Self, Str<'a>) -> Option<()>,
    ) -> Option<()> {
        self.eat(b'{')?;
        self.ws();
        if self.peek()? == b'}' {
            self.i += 1;
            return Some(());
        }
        loop {
            let k = self.key()?;
            member(self, k)?;
            self.ws();
            match self.peek()? {
                b',' => self.i += 1,
                b'}' => {
                    self.i += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reader(text: &str) -> Reader<'_> {
        Reader::checked(text.as_bytes()).expect("checked")
    }

    /// Whether `text` is one value that the walk accepts whole.
    fn walks(text: &str) -> bool {
        let mut r = reader(text);
        r.skip_value().is_some() && r.at_end()
    }

    #[test]
    fn quote_search_finds_the_first() {
        for len in 0..80 {
            for at in 0..len {
                for c in [b'"', b'\\'] {
                    let mut s = vec![b'a'; len];
                    s[at] = c;
                    if at + 1 < len {
                        s[at + 1] = b'"';
                    }
                    assert_eq!(quote_or_backslash(&s), Some(at), "{len} {at}");
                }
            }
            assert_eq!(quote_or_backslash(&vec![0x80 | b'"'; len]), None);
        }
        // Past the word-at-a-time part.
        let mut long = vec![b'a'; 1000];
        long[700] = b'\\';
        assert_eq!(quote_or_backslash(&long), Some(700));
    }

    #[test]
    fn plain_strings_end_at_their_quote() {
        assert_eq!(plain_string(br#"get","x":1"#), Some(&b"get"[..]));
        assert_eq!(plain_string(br#"","#), Some(&b""[..]));
        assert_eq!(plain_string(br#"g\u0065t""#), None);
        assert_eq!(plain_string(br#"x\"y""#), None);
        assert_eq!(plain_string(b"open"), None);
    }

    #[test]
    fn strings_close_at_any_escape_level() {
        assert!(closes_string(br#"","#));
        assert!(closes_string(br#"\","#));
        assert!(closes_string(br#"\\\","#));
        assert!(!closes_string(b"x\""));
        assert!(!closes_string(b"\\\\"));
        assert!(!closes_string(b""));
    }

    #[test]
    fn head_keys_stand_before_any_nesting() {
        fn at(t: &str) -> Option<&str> {
            let verb = memmem::Finder::new(b"\"verb\":\"");
            head_key(&t.as_bytes()[1..], &verb).map(|i| &t[1 + i..])
        }
        assert_eq!(at(r#"{"a":1,"verb":"get"}"#), Some(r#"get"}"#));
        assert_eq!(at(r#"{"verb":"get"}"#), Some(r#"get"}"#));
        assert_eq!(at(r#"{"u":{"verb":"get"},"verb":"x"}"#), None);
        assert_eq!(at(r#"{"m":"a \"verb\":\"get\""}"#), None);
        assert_eq!(at(r#"{"a":1}"#), None);
    }

    #[test]
    fn control_characters_and_bad_utf8_are_refused() {
        assert!(Reader::checked(b"{\"a\":\"b\"}").is_some());
        assert!(Reader::checked("{\"a\":\"é\"}".as_bytes()).is_some());
        for bad in [
            &b"{\"a\":\"\tb\"}"[..],
            b"{\n}",
            b"\x01",
            b"{\"a\":\"\xff\"}",
        ] {
            assert!(Reader::checked(bad).is_none(), "{bad:?}");
        }
        let mut long = vec![b' '; 100];
        long[63] = 0x1f;
        assert!(has_control(&long));
        long[63] = b' ';
        assert!(!has_control(&long));
    }

    #[test]
    fn strings_note_escapes_and_surrogates() {
        let mut r = reader(r#" "a\"b\\\/\b\f\n\r\t\u00e9" "#);
        assert_eq!(
            r.string(),
            Some(Str {
                raw: br#"a\"b\\\/\b\f\n\r\t\u00e9"#,
                escaped: true
            })
        );
        assert!(!r.saw_surrogate());
        assert!(r.at_end());
        let mut r = reader(r#""plain""#);
        assert_eq!(r.string().and_then(|s| s.plain()), Some(&b"plain"[..]));
        let mut r = reader(r#""\ud83d\ude00""#);
        assert!(r.string().is_some());
        assert!(r.saw_surrogate());
        for bad in [r#""\x""#, r#""\u12a""#, r#""\u12g4""#, r#""open"#, "x"] {
            assert!(reader(bad).string().is_none(), "{bad}");
        }
    }

    #[test]
    fn numbers_follow_the_grammar() {
        for (text, integer) in [
            ("0", true),
            ("-0", true),
            ("12", true),
            ("-2.5e+3", false),
            ("1E5", false),
            ("0.5", false),
            ("1e400", false),
        ] {
            let mut r = reader(text);
            assert_eq!(r.number(), Some(integer), "{text}");
            assert!(r.at_end(), "{text}");
        }
        for bad in ["-", "1.", "1e", "1e+", ".5", "+1", "x"] {
            let mut r = reader(bad);
            assert!(r.number().is_none() || !r.at_end(), "{bad}");
        }
        // A leading zero ends the number: what follows is for the caller to refuse.
        let mut r = reader("0200");
        assert_eq!(r.number(), Some(true));
        assert_eq!(r.pos(), 1);
        assert_eq!(r.since(0), b"0");
    }

    #[test]
    fn values_are_walked_and_checked() {
        for good in [
            r#"{"a":[1,-2.5e+3,true,false,null,{"b":"c\"\\\/\b\f\n\r\t\u00e9"}],"verb":"create"}"#,
            "[]",
            "{}",
            " [ { } , [ ] , 1 ] ",
            r#""s""#,
            "null",
        ] {
            assert!(walks(good), "{good}");
        }
        for bad in [
            r#"["g",]"#,
            r#"["g" "h"]"#,
            "[tru]",
            "[1.]",
            "[-]",
            r#"{"a"}"#,
            r#"{"a":1,}"#,
            "[1}",
            r#"{"a":1]"#,
            "[",
            "",
        ] {
            assert!(!walks(bad), "{bad}");
        }
        let deep = |n: usize| format!("{}1{}", "[".repeat(n), "]".repeat(n));
        assert!(walks(&deep(MAX_DEPTH)));
        assert!(!walks(&deep(MAX_DEPTH + 1)));
    }

    #[test]
    fn skipped_numbers_can_be_checked() {
        let text = r#"{"a":[1,-2.5e3,{"b":0}],"c":"7","d":12}"#;
        let mut seen = Vec::new();
        let mut r = reader(text);
        r.skip_value_checking(|n| {
            seen.push(n);
            Some(())
        })
        .expect("walks");
        assert!(r.at_end());
        assert_eq!(seen, [&b"1"[..], b"-2.5e3", b"0", b"12"]);
        let mut r = reader(text);
        assert!(r
            .skip_value_checking(|n| (n != b"0").then_some(()))
            .is_none());
        // Parsed text may hold whitespace between tokens.
        let mut r = Reader::parsed("{\n\t\"a\": [1,\r\n2] }");
        assert!(r.skip_value().is_some() && r.at_end());
    }

    #[test]
    fn objects_are_walked_member_by_member() {
        let mut r = reader(r#"{"a":"x","b":[1],"a\u0062":null}"#);
        let mut keys = Vec::new();
        r.object(|r, k| {
            keys.push(k);
            r.skip_value()
        })
        .expect("object");
        assert!(r.at_end());
        let raw: Vec<&[u8]> = keys.iter().map(|k| k.raw).collect();
        assert_eq!(raw, [&b"a"[..], b"b", br"a\u0062"]);
        assert_eq!(keys[2].plain(), None);
        assert!(reader(r#"{"a" 1}"#).object(|r, _| r.skip_value()).is_none());
        assert!(reader("{}").object(|_, _| None).is_some());
        let mut r = reader(" null ");
        assert_eq!(r.null(), Some(true));
        let mut r = reader(r#""n""#);
        assert_eq!(r.null(), Some(false));
    }
}
