//! Quantities: whole numbers, never negative.

use super::numbers::parse_decimal;

/// Parses a quantity: a whole number from 0 to 2,147,483,647. Decimal zeros
/// are accepted ("12.0000", as Magento writes stock), fractions are not.
pub fn parse_quantity(s: &str) -> Result<i32, String> {
    let body = s.trim();
    if body.starts_with(['-', '−']) {
        return Err(format!(
            "negative quantity {s:?}: a quantity cannot be below zero"
        ));
    }
    let plain = parse_decimal(body).map_err(|e| format!("{e}; a quantity is a whole number"))?;
    let (int, frac) = plain.split_once('.').unwrap_or((&plain, ""));
    if frac.chars().any(|c| c != '0') {
        return Err(format!(
            "{s:?} is not a whole number (a quantity cannot have a fraction)"
        ));
    }
    int.parse::<i32>()
        .map_err(|_| format!("quantity {s:?} is too large (at most 2147483647)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_are_whole_and_not_negative() {
        assert_eq!(parse_quantity("0").unwrap(), 0);
        assert_eq!(parse_quantity("12").unwrap(), 12);
        assert_eq!(parse_quantity("100.0000").unwrap(), 100);
        assert_eq!(parse_quantity("1,000,000").unwrap(), 1_000_000);
        assert_eq!(parse_quantity("2147483647").unwrap(), i32::MAX);
        assert!(parse_quantity("-1").unwrap_err().contains("negative"));
        assert!(parse_quantity("2.5").unwrap_err().contains("whole"));
        assert!(
            parse_quantity("2147483648")
                .unwrap_err()
                .contains("too large")
        );
        assert!(parse_quantity("1,000").unwrap_err().contains("ambiguous"));
        assert!(parse_quantity("three").is_err());
    }
}
