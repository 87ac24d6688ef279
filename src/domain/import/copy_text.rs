//! Encoding listings as PostgreSQL COPY text rows (tab-separated, `\N` for
//! NULL, backslash escapes). Values travel as data, never as SQL.

use std::fmt::Write;

use super::profile::{Field, ListingRow};

fn push_escaped(out: &mut String, value: &str) {
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            _ => out.push(c),
        }
    }
}

fn push_opt(out: &mut String, value: Option<&str>) {
    out.push('\t');
    match value {
        Some(v) => push_escaped(out, v),
        None => out.push_str("\\N"),
    }
}

/// Appends one staging row: the line, then every field in the order of the
/// listing field table (the staging table's and the COPY's order).
pub fn push_row(out: &mut String, line: u64, row: &ListingRow) {
    let _ = write!(out, "{line}");
    for field in Field::all() {
        push_opt(out, row.value(field).as_deref());
    }
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_tabs_newlines_and_backslashes() {
        let row = ListingRow {
            sku: "A\\1".into(),
            title: Some("tab\there\r\nnext".into()),
            quantity: Some(3),
            ..Default::default()
        };
        let mut out = String::new();
        push_row(&mut out, 7, &row);
        assert_eq!(
            out,
            "7\tA\\\\1\ttab\\there\\r\\nnext\t\\N\t\\N\t\\N\t3\t\\N\t\\N\t\\N\t\\N\t\\N\n"
        );
    }
}
