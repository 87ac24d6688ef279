//! Value parsers shared by every profile: "parse what is unambiguous,
//! report the rest". Each parser takes a trimmed, non-empty cell and returns
//! the stored form or a reason; the caller adds the column. One module per
//! kind of value; the rules are documented in `docs/csv-format.md`
//! ("Values"). This module checks text: lengths, damage, keys.

mod currency;
mod dates;
mod numbers;
mod quantity;
mod status;

pub use currency::{CurrencyHint, Price, parse_currency, parse_price, resolve_currency};
pub use dates::parse_date;
pub use numbers::parse_decimal;
pub use quantity::parse_quantity;
pub use status::{parse_flag, parse_status};

/// Length limits, in characters, matching the CHECKs in `migrations/V1__schema.sql`.
pub const MAX_SKU: usize = 200;
pub const MAX_TITLE: usize = 500;
pub const MAX_DESCRIPTION: usize = 100_000;
pub const MAX_CONDITION: usize = 200;
pub const MAX_CATEGORY: usize = 500;
pub const MAX_LISTING_NUMBER: usize = 100;

/// The trimmed cell, or `None` when it is empty or only whitespace.
pub fn clean(raw: &str) -> Option<&str> {
    let t = raw.trim();
    (!t.is_empty()).then_some(t)
}

/// Checks a text value against its limit. HTML, emoji, control characters
/// and U+FFFD are data and are kept; only NUL (which PostgreSQL cannot store)
/// is refused.
pub fn check_text(value: &str, limit: usize) -> Result<(), String> {
    if value.contains('\0') {
        return Err(
            "contains a NUL character, which PostgreSQL cannot store (the file is probably damaged)"
                .into(),
        );
    }
    // A byte count within the limit is always within it in characters.
    if value.len() > limit {
        let n = value.chars().count();
        if n > limit {
            return Err(format!(
                "too long: {n} characters, at most {limit} are allowed"
            ));
        }
    }
    Ok(())
}

/// Checks a listing key: the text rules plus no control characters and no
/// U+FFFD (a damaged key would never match the real SKU again).
pub fn check_key(value: &str) -> Result<(), String> {
    check_text(value, MAX_SKU)?;
    if value.contains('\u{FFFD}') {
        return Err(format!(
            "the key {value:?} contains U+FFFD (\u{FFFD}), the mark of a bad re-encoding: \
             it would not match the real key; fix the file's encoding"
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(format!(
            "the key {:?} contains a control character (tab, newline, escape...)",
            value
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_limits_and_damage() {
        assert!(check_text("<p>Hello 👋 wörld</p>", 20).is_ok());
        // Characters, not bytes: 500 emoji are 2000 bytes but within 500.
        assert!(check_text(&"🎁".repeat(500), MAX_TITLE).is_ok());
        let e = check_text(&"x".repeat(501), MAX_TITLE).unwrap_err();
        assert!(
            e.contains("too long") && e.contains("501") && e.contains("500"),
            "{e}"
        );
        assert!(check_text("a\0b", 10).unwrap_err().contains("NUL"));
        // U+FFFD and control characters are data in text...
        assert!(check_text("Caf\u{FFFD} \u{1b}[31m", 100).is_ok());
        // ...but not in a key.
        assert!(check_key("CAF\u{FFFD}-1").unwrap_err().contains("U+FFFD"));
        assert!(check_key("A\tB").unwrap_err().contains("control"));
        assert!(
            check_key(&"K".repeat(201))
                .unwrap_err()
                .contains("too long")
        );
        assert!(check_key("SKU-1").is_ok());
        assert_eq!(clean("  x  "), Some("x"));
        assert_eq!(clean(" \u{A0} "), None);
    }
}
