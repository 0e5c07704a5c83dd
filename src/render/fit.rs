//! Fitting text to a terminal: lines shortened with `…` at a separator rather than inside a word,
//! and tables whose columns are chosen by importance until they fit (like `kubectl get` without
//! `-o wide`). Only terminal output goes through here: output to a pipe or a file is never
//! shortened and never wrapped, and `--wide` shows every value whole on a terminal too.
//!
//! Widths are display columns (`unicode-width`), measured on text that is already escaped, so a
//! log value can neither hide characters from the count nor move the cursor.

use std::io::{self, Write};

use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

/// The display width of escaped text.
pub fn width(s: &str) -> usize {
    s.width()
}

/// Where a shortened line may end, best first: after a list item, a clause, a word.
const BREAKS: [&str; 4] = ["; ", ", ", " · ", " "];

/// `s` shortened to at most `max` columns, ending in `…`. The cut falls at the last separator that
/// keeps at least half the room, so a timestamp, uid, path or name is never cut in the middle
/// unless it alone is wider than the room.
pub fn shorten(s: &str, max: usize) -> String {
    match cut(s, max) {
        None => s.to_owned(),
        Some((kept, tail)) => format!("{}{tail}", &s[..kept]),
    }
}

/// Where [`shorten`] cuts `s`: the bytes kept and the ending put after them; `None` when `s` fits.
pub fn cut(s: &str, max: usize) -> Option<(usize, &'static str)> {
    if width(s) <= max {
        return None;
    }
    if max == 0 {
        return Some((0, ""));
    }
    // The longest prefix that leaves one column for the ellipsis.
    let mut end = 0;
    let mut used = 0;
    for (i, c) in s.char_indices() {
        let w = c.width().unwrap_or(0);
        if used + w > max - 1 {
            break;
        }
        used += w;
        end = i + c.len_utf8();
    }
    let prefix = &s[..end];
    let at = BREAKS
        .iter()
        .filter_map(|b| prefix.rfind(b))
        .find(|&i| width(&prefix[..i]) * 2 >= max);
    let Some(at) = at else {
        return Some((end, "…"));
    };
    let kept = prefix[..at].trim_end_matches([',', ';', ' ', '·']).len();
    let tail = if prefix[kept..].starts_with(',') {
        ", …"
    } else {
        " …"
    };
    if width(&prefix[..kept]) + width(tail) <= max {
        Some((kept, tail))
    } else {
        Some((kept, "…"))
    }
}

/// `s` broken into lines of at most `max` columns at its separators (`; `, `, `, ` · `, spaces),
/// never inside a word: a word wider than a line is shortened with `…`. At most `most` lines: the
/// last one ends in `…` when text was left over. A ` ·` left at the end of a line is dropped.
pub fn wrap(s: &str, max: usize, most: usize) -> Vec<String> {
    wrap_at(s, &BREAKS, max, most)
}

/// [`wrap`], breaking only at `breaks` (e.g. between the ` · ` items of a list of facts), and at
/// any separator only inside an item too wide for a line.
pub fn wrap_at(s: &str, breaks: &[&str], max: usize, most: usize) -> Vec<String> {
    let pieces: Vec<&str> = split_after(s, breaks)
        .into_iter()
        .flat_map(|p| {
            if width(p.trim_end()) > max {
                split_after(p, &BREAKS)
            } else {
                vec![p]
            }
        })
        .collect();
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    let mut left_over = false;
    for piece in pieces {
        let candidate = format!("{line}{piece}");
        if line.is_empty() || width(&end_line(&candidate)) <= max {
            line = candidate;
            continue;
        }
        if lines.len() + 1 == most {
            left_over = true;
            break;
        }
        lines.push(end_line(&line));
        line = piece.to_owned();
    }
    let last = end_line(&line);
    lines.push(if left_over {
        let room = max.saturating_sub(2);
        format!(
            "{} …",
            shorten(&last, room).trim_end_matches('…').trim_end()
        )
    } else {
        last
    });
    lines
        .into_iter()
        .map(|l| if width(&l) > max { shorten(&l, max) } else { l })
        .collect()
}

/// `s` cut after each separator of `breaks`; of two starting at the same place, after the longer
/// (` · `, not ` `).
fn split_after<'a>(s: &'a str, breaks: &[&str]) -> Vec<&'a str> {
    let mut pieces = Vec::new();
    let mut rest = s;
    while !rest.is_empty() {
        let next = breaks
            .iter()
            .filter_map(|b| rest.find(b).map(|i| (i, std::cmp::Reverse(i + b.len()))))
            .min()
            .map_or(rest.len(), |(_, std::cmp::Reverse(end))| end);
        pieces.push(&rest[..next]);
        rest = &rest[next..];
    }
    pieces
}

fn end_line(line: &str) -> String {
    let l = line.trim_end();
    l.strip_suffix(" ·").unwrap_or(l).to_owned()
}

/// Writes `s` as one line, shortened to `max` columns when `max` is given.
pub fn line(w: &mut dyn Write, s: &str, max: Option<usize>) -> io::Result<()> {
    match max {
        Some(m) => writeln!(w, "{}", shorten(s, m)),
        None => writeln!(w, "{s}"),
    }
}

/// The fewest columns a column is shrunk to rather than left out.
const SHRUNK_MIN: usize = 16;

/// A column of a terminal table: its header, how important it is (lower shows first when the
/// width runs short) and the most columns a cell may take before it is shortened.
pub struct Column {
    pub header: &'static str,
    pub rank: u8,
    pub cap: usize,
}

/// Lays out `rows` (cells already escaped; a cell may hold several lines) for a terminal `width`
/// columns wide: columns are taken in rank order while they fit, then shown in their own order;
/// cells wider than their column's cap are shortened. With `wide`, every column and every value is
/// shown whole. Columns are two spaces apart; no line ends in spaces.
pub fn table(
    columns: &[Column],
    rows: &[Vec<String>],
    width: usize,
    wide: bool,
    w: &mut dyn Write,
) -> io::Result<()> {
    let natural: Vec<usize> = columns
        .iter()
        .enumerate()
        .map(|(c, col)| {
            let cells = rows
                .iter()
                .flat_map(|r| r[c].lines())
                .map(self::width)
                .max()
                .unwrap_or(0);
            let w = cells.max(col.header.width());
            if wide {
                w
            } else {
                w.min(col.cap.max(col.header.width()))
            }
        })
        .collect();
    let mut shown = vec![wide; columns.len()];
    let mut widths = natural.clone();
    if !wide {
        let mut order: Vec<usize> = (0..columns.len()).collect();
        order.sort_by_key(|&c| (columns[c].rank, c));
        let mut used = 0usize;
        for (n, &c) in order.iter().enumerate() {
            let gap = if used == 0 { 0 } else { 2 };
            let room = width.saturating_sub(used + gap);
            if natural[c] <= room {
                shown[c] = true;
                used += gap + natural[c];
            } else if n == 0 || room >= SHRUNK_MIN.max(columns[c].header.width()) {
                // The most important column always shows, and a column that does not fit whole
                // takes what room is left when that is enough to read: shortened, not left out.
                shown[c] = true;
                widths[c] = room;
                used = width;
            }
        }
    }
    let cols: Vec<usize> = (0..columns.len()).filter(|&c| shown[c]).collect();
    let mut out_row = |cells: Vec<Vec<String>>| -> io::Result<()> {
        let height = cells.iter().map(Vec::len).max().unwrap_or(1).max(1);
        for l in 0..height {
            let mut s = String::new();
            for (k, (&c, cell)) in cols.iter().zip(&cells).enumerate() {
                let text = cell.get(l).map(String::as_str).unwrap_or("");
                let text = if wide {
                    text.to_owned()
                } else {
                    shorten(text, widths[c])
                };
                if k > 0 {
                    s.push_str("  ");
                }
                s.push_str(&text);
                if k + 1 < cols.len() {
                    s.push_str(&" ".repeat(widths[c].saturating_sub(self::width(&text))));
                }
            }
            writeln!(w, "{}", s.trim_end())?;
        }
        Ok(())
    };
    out_row(
        cols.iter()
            .map(|&c| vec![columns[c].header.to_owned()])
            .collect(),
    )?;
    for r in rows {
        out_row(
            cols.iter()
                .map(|&c| r[c].lines().map(str::to_owned).collect())
                .collect(),
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_text_is_untouched() {
        assert_eq!(shorten("abc", 3), "abc");
        assert_eq!(shorten("", 0), "");
    }

    #[test]
    fn a_list_is_cut_between_items() {
        let s =
            "created; hook set /spec/schedulerName=fargate-scheduler, /spec/priority=2000001000";
        let got = shorten(s, 60);
        assert_eq!(
            got,
            "created; hook set /spec/schedulerName=fargate-scheduler, …"
        );
        assert!(width(&got) <= 60);
    }

    #[test]
    fn one_long_word_is_cut_with_an_ellipsis() {
        let got = shorten("fargate-ip-192-168-185-38.eu-west-1.compute.internal", 20);
        assert_eq!(width(&got), 20);
        assert!(got.ends_with('…'));
    }

    #[test]
    fn wide_characters_count_twice() {
        let got = shorten("名前名前名前名前", 7);
        assert!(width(&got) <= 7, "{got}");
    }

    #[test]
    fn wrapping_breaks_at_separators_only() {
        let s = "created; hook set /spec/schedulerName=fargate-scheduler, /spec/priority=2000001000, /metadata/labels";
        let lines = wrap(s, 40, 10);
        assert_eq!(
            lines,
            [
                "created; hook set",
                "/spec/schedulerName=fargate-scheduler,",
                "/spec/priority=2000001000,",
                "/metadata/labels"
            ]
        );
        let two = wrap(s, 40, 2);
        assert_eq!(two.len(), 2);
        assert!(two[1].ends_with(" …"), "{two:?}");
        assert!(two.iter().all(|l| width(l) <= 40), "{two:?}");
        assert_eq!(wrap("a · b · c", 5, 9), ["a · b", "c"]);
        assert_eq!(
            wrap_at("uid 1 · node n-1", &[" · "], 12, 9),
            ["uid 1 ·", "node n-1"].map(|l| l.trim_end_matches(" ·").to_owned())
        );
        assert_eq!(
            wrap_at("deleted at t by someone-long", &[" · "], 14, 9),
            ["deleted at t", "by", "someone-long"]
        );
        assert_eq!(wrap("short", 80, 1), ["short"]);
        let long = wrap("x".repeat(30).as_str(), 10, 3);
        assert_eq!(long.len(), 1);
        assert_eq!(width(&long[0]), 10);
    }

    #[test]
    fn every_cut_fits() {
        let s = "a, bb; ccc dddd · eeeee, ffffff gggggggg";
        for max in 0..=s.len() + 2 {
            let got = shorten(s, max);
            assert!(width(&got) <= max, "{max}: {got:?}");
            if max >= s.len() {
                assert_eq!(got, s);
            }
        }
    }

    fn cols() -> Vec<Column> {
        vec![
            Column {
                header: "POD",
                rank: 0,
                cap: 30,
            },
            Column {
                header: "NODE",
                rank: 2,
                cap: 20,
            },
            Column {
                header: "END",
                rank: 1,
                cap: 20,
            },
        ]
    }

    fn render(width: usize, wide: bool) -> String {
        let rows = vec![
            vec![
                "ns/pod-a".to_owned(),
                "ip-10-0-0-1.eu-west-1.compute.internal".to_owned(),
                "Running".to_owned(),
            ],
            vec![
                "ns/b".to_owned(),
                "-".to_owned(),
                "deleted\nby x".to_owned(),
            ],
        ];
        let mut out = Vec::new();
        table(&cols(), &rows, width, wide, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn columns_are_dropped_by_rank_and_cells_capped() {
        let t = render(80, false);
        assert!(t.lines().all(|l| width(l) <= 80), "{t}");
        assert!(t.starts_with("POD       NODE"), "{t}");
        assert!(t.contains('…'), "{t}");
        let narrow = render(20, false);
        assert!(narrow.starts_with("POD       END"), "{narrow}");
        assert!(!narrow.contains("NODE"), "{narrow}");
        assert!(narrow.lines().all(|l| width(l) <= 20), "{narrow}");
        assert!(narrow.contains("          by x"), "{narrow}");
    }

    #[test]
    fn wide_shows_everything_whole() {
        let t = render(20, true);
        assert!(t.contains("ip-10-0-0-1.eu-west-1.compute.internal"), "{t}");
        assert!(!t.contains('…'), "{t}");
    }
}
