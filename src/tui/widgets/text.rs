//! Untrusted text on its way to a cell: sanitised (no control characters or
//! escape sequences) and cut to the cell's width with an ellipsis, never
//! wrapped into the next cell.

use chrono::{DateTime, Utc};
use ratatui::text::Span;

/// Display width in terminal columns.
pub fn width(s: &str) -> usize {
    Span::raw(s).width()
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
    for c in s.chars().rev() {
        let cw = char_width(c);
        if w + cw > max - 1 {
            break;
        }
        kept.push(c);
        w += cw;
    }
    let mut out = String::from("…");
    out.extend(kept.into_iter().rev());
    out
}

fn char_width(c: char) -> usize {
    let mut buf = [0u8; 4];
    width(c.encode_utf8(&mut buf))
}

/// Cuts already-safe text to `max` columns.
pub fn cut(s: &str, max: usize) -> String {
    if width(s) <= max {
        return s.to_string();
    }
    if max == 0 {
        return String::new();
    }
    let mut out = String::new();
    let mut w = 0;
    for c in s.chars() {
        let cw = char_width(c);
        if w + cw > max - 1 {
            break;
        }
        out.push(c);
        w += cw;
    }
    out.push('…');
    out
}

/// Word-wraps a message (not a table cell) to `max` columns; words longer
/// than a line are cut.
pub fn wrap(s: &str, max: usize) -> Vec<String> {
    let max = max.max(1);
    let mut lines = Vec::new();
    for para in s.split('\n') {
        let mut line = String::new();
        for word in para.split_whitespace() {
            let needed = if line.is_empty() {
                width(word)
            } else {
                width(&line) + 1 + width(word)
            };
            if needed > max && !line.is_empty() {
                lines.push(std::mem::take(&mut line));
            }
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
            if width(&line) > max {
                lines.push(cut(&line, max));
                line.clear();
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

pub fn time(t: &DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// Short form for tables: `10-14 09:31`, or with the year when wide.
pub fn when(t: &DateTime<Utc>, wide: bool) -> String {
    if wide {
        t.format("%Y-%m-%d %H:%M").to_string()
    } else {
        t.format("%m-%d %H:%M").to_string()
    }
}

pub fn status(s: crate::domain::history::ImportState) -> &'static str {
    match s {
        crate::domain::history::ImportState::RolledBack => "rolled back",
        other => other.as_str(),
    }
}

pub fn bytes(n: u64) -> String {
    if n < 10_000 {
        format!("{n} B")
    } else if n < 10_000_000 {
        format!("{:.1} kB", n as f64 / 1e3)
    } else if n < 10_000_000_000 {
        format!("{:.1} MB", n as f64 / 1e6)
    } else {
        format!("{:.1} GB", n as f64 / 1e9)
    }
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
