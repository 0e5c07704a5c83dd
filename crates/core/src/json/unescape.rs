//! The value of a JSON string that a [`Reader`](super::read::Reader) has already checked, decoded
//! without serde.
//!
//! The skim builds the events of pod writes from the lines it walked, and their webhook
//! annotations are JSON documents inside JSON strings: every quote in them is escaped, a dozen
//! escapes in a short value. Decoding those with `serde_json::from_str::<String>` went through its
//! parser one escape at a time; this copies the text between backslashes whole.
//!
//! What it must not know: where the string came from. It answers exactly as serde does or not at
//! all: `None` for anything it does not decode itself (a `\u` escape of a UTF-16 surrogate, which
//! serde pairs or refuses; a control character, which serde refuses; an escape a checked string
//! cannot hold), and the caller then asks serde.

/// The value of the JSON string whose text between the quotes is `raw`, or `None` when serde is
/// to decide (see the module header).
pub fn unescape(raw: &str) -> Option<String> {
    let b = raw.as_bytes();
    // serde refuses a control character inside a string (an escaped one is fine).
    if super::read::has_control(b) {
        return None;
    }
    let mut out = String::with_capacity(b.len());
    let mut i = 0;
    while let Some(k) = memchr::memchr(b'\\', &b[i..]) {
        // A backslash is ASCII, so both ends of the run are on character boundaries.
        out.push_str(raw.get(i..i + k)?);
        i += k;
        let c = match *b.get(i + 1)? {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => {
                let unit = super::read::hex_unit(b.get(i + 2..i + 6)?)?;
                i += 4;
                // A surrogate is not a char: serde pairs it with the next escape, or refuses it.
                char::from_u32(u32::from(unit))?
            }
            _ => return None,
        };
        out.push(c);
        i += 2;
    }
    out.push_str(raw.get(i..)?);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    /// Pieces of a string's text between its quotes: plain text in one to four bytes, every
    /// escape JSON has, and what serde pairs or refuses (surrogates, bad escapes, raw controls).
    const PIECES: &[&str] = &[
        "a",
        "configuration",
        " ",
        "é",
        "日本",
        "😀",
        "\u{7f}",
        "\\\"",
        "\\\\",
        "\\/",
        "\\b",
        "\\f",
        "\\n",
        "\\r",
        "\\t",
        "\\u0041",
        "\\u00e9",
        "\\u00E9",
        "\\u0000",
        "\\u001f",
        "\\u2028",
        "\\uFFFF",
        "\\uD83D\\uDE00",
        "\\ud800",
        "\\uDC00",
        "\\x",
        "\\u12",
        "\\u12G4",
        "\u{1}",
        "\t",
    ];

    #[test]
    fn answers_as_serde_does_or_leaves_it_to_serde() {
        let mut rng = StdRng::seed_from_u64(7);
        let (mut decoded, mut left) = (0, 0);
        for _ in 0..20_000 {
            let n = rng.gen_range(0..12);
            let raw: String = (0..n)
                .map(|_| PIECES[rng.gen_range(0..PIECES.len())])
                .collect();
            let serde = serde_json::from_str::<String>(&format!("\"{raw}\"")).ok();
            match unescape(&raw) {
                Some(v) => {
                    assert_eq!(Some(&v), serde.as_ref(), "{raw:?}");
                    decoded += 1;
                }
                None => {
                    // Only what serde refuses or pairs is left to it.
                    let hard = ["\\ud8", "\\uD8", "\\uDC", "\\x", "\\u12", "\u{1}", "\t"];
                    assert!(hard.iter().any(|h| raw.contains(h)), "{raw:?}");
                    left += 1;
                }
            }
        }
        // Both ways were taken many times.
        assert!(decoded > 5_000 && left > 5_000, "{decoded} {left}");
    }

    #[test]
    fn a_string_cut_inside_an_escape_is_left_to_serde() {
        for raw in ["abc\\", "\\u00", "\\u00e"] {
            assert_eq!(unescape(raw), None, "{raw:?}");
        }
    }
}
