//! Text for people, shared by every renderer: offsets and durations, user agents, and values
//! shortened to a width. One place, so the table, Markdown, Mermaid and check reports agree.

/// `+1m02.5s` style offsets from a pod's creation.
pub fn offset(secs: f64) -> String {
    let sign = if secs < 0.0 { "-" } else { "+" };
    let s = secs.abs();
    if s < 60.0 {
        format!("{sign}{s:.3}s")
    } else if s < 3600.0 {
        format!("{sign}{}m{:06.3}s", (s / 60.0).floor() as u64, s % 60.0)
    } else {
        let h = (s / 3600.0).floor() as u64;
        let m = ((s % 3600.0) / 60.0).floor() as u64;
        format!("{sign}{h}h{m:02}m{:02}s", (s % 60.0).floor() as u64)
    }
}

/// The first word of a user agent (`kubectl/v1.22.12`), which is what tells a reader most.
pub fn short_agent(ua: &str) -> &str {
    ua.split_whitespace().next().unwrap_or("")
}

/// Cuts a string to `max` characters, marking the cut with `…`.
pub fn shorten(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// A duration in seconds the way the timeline writes offsets, without the `+`: `58.705s`,
/// `1m05.713s`.
pub fn duration(secs: f64) -> String {
    let s = offset(secs);
    match s.strip_prefix('+') {
        Some(rest) => rest.to_owned(),
        None => s,
    }
}

/// An optional duration, `-` when unknown.
pub fn opt_duration(secs: Option<f64>) -> String {
    secs.map(duration).unwrap_or_else(|| "-".into())
}

/// Shows at most `max` items, then `+N more`.
pub fn first_few(items: &[String], max: usize, sep: &str) -> String {
    let mut s = items
        .iter()
        .take(max)
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(sep);
    if items.len() > max {
        s.push_str(&format!("{sep}+{} more", items.len() - max));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_read_naturally() {
        assert_eq!(offset(0.0), "+0.000s");
        assert_eq!(offset(58.7049), "+58.705s");
        assert_eq!(offset(65.7126), "+1m05.713s");
        assert_eq!(offset(3725.0), "+1h02m05s");
        assert_eq!(offset(-2.5), "-2.500s");
    }

    #[test]
    fn shorten_marks_the_cut() {
        assert_eq!(shorten("abcdef", 4), "abc…");
        assert_eq!(shorten("abc", 4), "abc");
    }

    #[test]
    fn durations_drop_the_sign() {
        assert_eq!(duration(58.705), "58.705s");
        assert_eq!(duration(65.7126), "1m05.713s");
        assert_eq!(duration(-1.5), "-1.500s");
        assert_eq!(opt_duration(None), "-");
    }

    #[test]
    fn few_items_are_counted() {
        let v: Vec<String> = ["a", "b", "c"].iter().map(|s| s.to_string()).collect();
        assert_eq!(first_few(&v, 2, ", "), "a, b, +1 more");
        assert_eq!(first_few(&v, 3, ", "), "a, b, c");
    }
}
