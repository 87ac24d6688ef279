//! Encoding listings as PostgreSQL COPY text rows (tab-separated, `\N` for
//! NULL, backslash escapes). Values travel as data, never as SQL.

use std::fmt::Write;

use super::profile::{Field, ListingRow};

fn push_escaped(out: &mut String, value: &str) {
    // The four bytes to escape are ASCII, so they never occur inside a
    // multi-byte character: copy the runs between them whole, found with
    // memchr's vectorised search (a char at a time was a sixth of the
    // parser's CPU time, a byte at a time a tenth).
    let mut rest = value;
    while let Some(i) = next_to_escape(rest.as_bytes()) {
        out.push_str(&rest[..i]);
        out.push_str(match rest.as_bytes()[i] {
            b'\\' => "\\\\",
            b'\t' => "\\t",
            b'\n' => "\\n",
            _ => "\\r",
        });
        rest = &rest[i + 1..];
    }
    out.push_str(rest);
}

/// Where the first backslash, tab, line feed or carriage return is.
fn next_to_escape(bytes: &[u8]) -> Option<usize> {
    let first = memchr::memchr3(b'\\', b'\t', b'\n', bytes);
    let before = &bytes[..first.unwrap_or(bytes.len())];
    memchr::memchr(b'\r', before).or(first)
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

/// Where the parser's rows go: the staging table (line first, for the
/// duplicate report), or straight into `listings` for a seller who has no
/// listings yet (the seller first, and every empty value that a new listing
/// defaults already defaulted, as the staging path's INSERT does).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CopyTarget {
    Staging,
    Listings { seller: String },
}

/// The value a new listing gets for an empty `field`: the SQL literal of the
/// listing field table, unquoted (they are plain quoted words).
fn insert_default(field: Field) -> Option<&'static str> {
    field
        .spec()
        .default_on_insert
        .map(|sql| sql.trim_matches('\''))
}

/// Appends one `listings` row: the seller, then every field in the order of
/// the listing field table, empty values defaulted as on insert.
pub fn push_listing(out: &mut String, seller: &str, row: &ListingRow) {
    push_escaped(out, seller);
    for field in Field::all() {
        let value = row.value(field);
        push_opt(out, value.as_deref().or(insert_default(field)));
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

    #[test]
    fn escapes_at_either_end_between_multibyte_characters_and_in_a_row() {
        let mut out = String::new();
        for value in ["\\é\t€\n\n日本\r", "plain ünïcode", "", "\t", "a\r\\b"] {
            push_escaped(&mut out, value);
            out.push('|');
        }
        assert_eq!(out, "\\\\é\\t€\\n\\n日本\\r|plain ünïcode||\\t|a\\r\\\\b|");
    }

    #[test]
    fn a_listings_row_starts_with_the_seller_and_defaults_what_an_insert_defaults() {
        let row = ListingRow {
            sku: "A1".into(),
            quantity: Some(3),
            ..Default::default()
        };
        let mut out = String::new();
        push_listing(&mut out, "s\t1", &row);
        assert_eq!(
            out,
            "s\\t1\tA1\t\\N\t\\N\t\\N\t\\N\t3\tactive\t\\N\t\\N\t\\N\t\\N\n"
        );
        let given = ListingRow {
            status: Some("draft".into()),
            ..row
        };
        out.clear();
        push_listing(&mut out, "s", &given);
        assert!(out.contains("\t3\tdraft\t"), "{out}");
    }

    #[test]
    fn every_insert_default_is_a_plain_quoted_word() {
        for field in Field::all() {
            if let Some(sql) = field.spec().default_on_insert {
                let word = insert_default(field).unwrap();
                assert_eq!(sql, format!("'{word}'"));
                assert!(word.chars().all(|c| c.is_ascii_alphanumeric()), "{sql}");
            }
        }
    }
}
