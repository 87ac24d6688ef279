//! Untrusted text on its way to a cell: sanitised (no control characters or
//! escape sequences) and cut to the cell's width with an ellipsis, never
//! wrapped into the next cell.

use ratatui::buffer::CellWidth;
use unicode_segmentation::UnicodeSegmentation;

/// Display width in terminal columns, as ratatui's buffer counts it: per
/// grapheme (a flag, an emoji with a skin tone or joined by ZWJ, a letter
/// with its accents), so text cut here never disagrees with what is drawn.
pub fn width(s: &str) -> usize {
    graphemes(s).map(|(_, w)| w).sum()
}

/// The graphemes of `s` the buffer draws, with their widths (control
/// characters and zero-width clusters take no cell).
fn graphemes(s: &str) -> impl DoubleEndedIterator<Item = (&str, usize)> {
    s.graphemes(true)
        .filter(|g| !g.contains(char::is_control))
        .map(|g| (g, usize::from(g.cell_width())))
        .filter(|(_, w)| *w > 0)
}

/// Sanitised and cut to `max` columns (`…` marks the cut).
pub fn fit(s: &str, max: usize) -> String {
    cut(&crate::text::sanitize(s), max)
}

/// Like [`fit`] but keeps the end (for paths: `…/exports/acme.csv`).
pub fn fit_left(s: &str, max: usize) -> String {
    let s = crate::text::sanitize(s);
    if width(&s) <= max {
        return s.into_owned();
    }
    if max == 0 {
        return String::new();
    }
    let mut kept = Vec::new();
    let mut w = 0;
    for (g, gw) in graphemes(&s).rev() {
        if w + gw > max - 1 {
            break;
        }
        kept.push(g);
        w += gw;
    }
    let mut out = String::from("…");
    out.extend(kept.into_iter().rev());
    out
}

/// Cuts already-safe text to `max` columns, whole graphemes only.
pub fn cut(s: &str, max: usize) -> String {
    if width(s) <= max {
        return s.to_string();
    }
    if max == 0 {
        return String::new();
    }
    let mut out = String::new();
    let mut w = 0;
    for (g, gw) in graphemes(s) {
        if w + gw > max - 1 {
            break;
        }
        out.push_str(g);
        w += gw;
    }
    out.push('…');
    out
}

/// Two versions of a long value cut to `room` columns each around where
/// they first differ, so a diff of two long texts shows the change, not
/// two equal beginnings. Both windows start at the same grapheme: up to a
/// third of `room` of the equal part is kept before the difference, `…`
/// marks each cut end. Already-safe text; whole graphemes only.
pub fn diff_window(before: &str, after: &str, room: usize) -> (String, String) {
    if width(before) <= room && width(after) <= room {
        return (before.to_string(), after.to_string());
    }
    let b: Vec<(&str, usize)> = graphemes(before).collect();
    let a: Vec<(&str, usize)> = graphemes(after).collect();
    let same = b.iter().zip(&a).take_while(|(x, y)| x.0 == y.0).count();
    let lead = room / 3;
    let equal_width: usize = b[..same].iter().map(|(_, w)| w).sum();
    // Start where at most `lead` columns (with the `…`) come before the
    // difference; from the beginning if the difference is in view anyway.
    let start = if equal_width < room.saturating_sub(lead) {
        0
    } else {
        let mut start = same;
        let mut kept = 0;
        while start > 0 && kept + b[start - 1].1 < lead {
            start -= 1;
            kept += b[start].1;
        }
        // "… word", not "…  word": in ASCII the cut mark is a lone "." and a
        // space after it reads as the end of a sentence.
        while start < same && b[start].0.trim().is_empty() {
            start += 1;
        }
        start
    };
    let window = |g: &[(&str, usize)]| {
        let rest: String = g[start.min(g.len())..].iter().map(|(s, _)| *s).collect();
        if start == 0 {
            cut(&rest, room)
        } else {
            format!("…{}", cut(&rest, room.saturating_sub(1)))
        }
    };
    (window(&b), window(&a))
}

/// Word-wraps a message (not a table cell) to `max` columns. A word longer
/// than a line (a path, a hash) is broken across lines, never cut: nothing
/// wrapped is lost.
pub fn wrap(s: &str, max: usize) -> Vec<String> {
    let max = max.max(1);
    let mut lines = Vec::new();
    for para in s.split('\n') {
        let mut line = String::new();
        let mut line_w = 0;
        for word in para.split_whitespace() {
            let word_w = width(word);
            if line_w > 0 && line_w + 1 + word_w > max {
                lines.push(std::mem::take(&mut line));
                line_w = 0;
            }
            if line_w > 0 {
                line.push(' ');
                line_w += 1;
            }
            for (g, gw) in graphemes(word) {
                if line_w + gw > max && line_w > 0 {
                    lines.push(std::mem::take(&mut line));
                    line_w = 0;
                }
                line.push_str(g);
                line_w += gw;
            }
        }
        lines.push(line);
    }
    lines
}

/// Pads (or cuts) to exactly `w` columns.
pub fn pad(s: &str, w: usize) -> String {
    let s = cut(s, w);
    let n = width(&s);
    format!("{s}{}", " ".repeat(w.saturating_sub(n)))
}

/// `1,234,567`.
pub fn thousands(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 {
        out.insert(0, '-');
    }
    out
}

/// At most four columns: `9999`, `12k`, `999k`, `1.2M`, `34M`.
pub fn compact(n: i64) -> String {
    let n = n.max(0);
    if n < 10_000 {
        n.to_string()
    } else if n < 1_000_000 {
        format!("{}k", n / 1000)
    } else if n < 10_000_000 {
        format!("{:.1}M", n as f64 / 1e6)
    } else if n < 1_000_000_000 {
        format!("{}M", n / 1_000_000)
    } else {
        format!("{}G", n / 1_000_000_000)
    }
}

pub fn status(s: crate::domain::history::ImportState) -> &'static str {
    match s {
        crate::domain::history::ImportState::RolledBack => "rolled back",
        other => other.as_str(),
    }
}

/// A size in the one unit style of the console and the CLI's progress bar:
/// binary units with one decimal (`512 B`, `10.1 KiB`, `18.4 MiB`).
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut value = n as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// The last component of a path (the history stores the name as given).
pub fn base_name(path: &str) -> String {
    std::path::Path::new(path)
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.to_string())
}

/// A JSON value of a diff as text (`(empty)` for null).
pub fn value(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Null => "(empty)".into(),
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cutting_marks_the_cut() {
        assert_eq!(fit("abcdef", 4), "abc…");
        assert_eq!(fit("abc", 4), "abc");
        assert_eq!(fit("日本語テキスト", 5), "日本…");
        assert_eq!(fit("a\u{1b}[2Jb", 10), "a␛[2Jb");
        assert_eq!(fit_left("/very/long/path/file.csv", 10), "…/file.csv");
        // Graphemes stay whole: a flag, a skin tone.
        assert_eq!(fit("🇫🇷👍🏽🇯🇵x", 5), "🇫🇷👍🏽…");
        // A zero-width joiner is shown by its code point (crate::text), so
        // a ZWJ family reads as its parts.
        assert_eq!(fit("👨‍👩‍👧", 5), "👨<U…");
        assert_eq!(fit("e\u{301}e\u{301}e\u{301}", 2), "e\u{301}…");
        assert_eq!(width("👨‍👩‍👧🇫🇷👍🏽"), 6);
    }

    #[test]
    fn wrapping_breaks_long_words_instead_of_cutting_them() {
        assert_eq!(
            wrap("sha256 c7e1829f530070d", 8),
            vec!["sha256", "c7e1829f", "530070d"]
        );
        assert_eq!(wrap("a b\n\nc", 10), vec!["a b", "", "c"]);
        assert_eq!(
            wrap("日本語テキスト", 5),
            vec!["日本", "語テ", "キス", "ト"]
        );
    }

    /// Both windows of a [`diff_window`], each with its width.
    fn windows(before: &str, after: &str, room: usize) -> (String, String) {
        let (b, a) = diff_window(before, after, room);
        assert!(width(&b) <= room && width(&a) <= room, "{b:?} {a:?}");
        (b, a)
    }

    #[test]
    fn a_diff_window_shows_the_difference_at_the_start() {
        let tail = "x".repeat(40);
        assert_eq!(
            windows(&format!("Red {tail}"), &format!("Blue {tail}"), 12),
            ("Red xxxxxxx…".into(), "Blue xxxxxx…".into())
        );
    }

    #[test]
    fn a_diff_window_shows_the_difference_in_the_middle() {
        let head = "Handmade leather wallet with coin pocket, ";
        let (b, a) = windows(
            &format!("{head}brown, fits 12 cards and notes"),
            &format!("{head}black, fits 12 cards and notes"),
            24,
        );
        // "b" is equal too: the window starts a third of `room` before "r"/"l".
        assert_eq!(b, "…cket, brown, fits 12 c…");
        assert_eq!(a, "…cket, black, fits 12 c…");
    }

    #[test]
    fn a_diff_window_shows_the_difference_at_the_end() {
        let head = "a".repeat(60);
        let (b, a) = windows(&format!("{head}1"), &format!("{head}2"), 12);
        assert_eq!((b.as_str(), a.as_str()), ("…aaa1", "…aaa2"));
        // One value is the other's beginning: the end of the longer shows.
        let (b, a) = windows(&head, &format!("{head} and more"), 12);
        assert_eq!((b.as_str(), a.as_str()), ("…aaa", "…aaa and mo…"));
    }

    #[test]
    fn a_diff_window_keeps_wide_characters_whole() {
        let head = "日本語".repeat(10);
        let (b, a) = windows(&format!("{head}赤い財布"), &format!("{head}青い財布"), 13);
        // Cut by whole graphemes: never half a character, never over.
        assert_eq!(b, "…語赤い財布");
        assert_eq!(a, "…語青い財布");
        let flags = "🇫🇷".repeat(20);
        let (b, a) = windows(&format!("{flags}👍🏽"), &format!("{flags}👍🏿"), 9);
        assert_eq!((b.as_str(), a.as_str()), ("…🇫🇷👍🏽", "…🇫🇷👍🏿"));
    }

    #[test]
    fn a_diff_window_never_starts_with_a_space_after_its_cut_mark() {
        let head = "a slot for coins and ".repeat(6);
        for room in 12..40 {
            let (b, a) = windows(&format!("{head}red"), &format!("{head}blue"), room);
            for w in [&b, &a] {
                assert!(w.starts_with('…'), "room {room}: {w:?}");
                assert!(!w.starts_with("… "), "room {room}: {w:?}");
            }
            assert!(b.ends_with("red") || b.ends_with('…'), "room {room}: {b:?}");
        }
    }

    #[test]
    fn short_values_and_equal_prefixes_within_room_are_not_cut() {
        assert_eq!(windows("1.00", "2.00", 10), ("1.00".into(), "2.00".into()));
        // The difference is in view from the start: only the end is cut.
        let (b, a) = windows("ab1 long tail here", "ab2 long tail here", 8);
        assert_eq!((b.as_str(), a.as_str()), ("ab1 lon…", "ab2 lon…"));
    }

    #[test]
    fn numbers() {
        assert_eq!(thousands(1234567), "1,234,567");
        assert_eq!(thousands(999), "999");
        assert_eq!(compact(9999), "9999");
        assert_eq!(compact(123_456), "123k");
        assert_eq!(compact(1_234_567), "1.2M");
    }
}
