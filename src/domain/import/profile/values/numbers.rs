//! Numbers as sellers write them: decimal marks and thousands separators.

/// Digits allowed in a number (integer and fraction together): more is not a
/// price or a quantity but damage.
const MAX_DIGITS: usize = 30;

fn is_group_space(c: char) -> bool {
    matches!(
        c,
        ' ' | '\u{A0}' | '\u{202F}' | '\u{2009}' | '\'' | '\u{2019}'
    )
}

/// Parses an unsigned decimal written with an optional decimal mark and
/// optional thousands separators, into plain notation ("1234.50").
///
/// Rules: spaces and apostrophes only group thousands; when both `.` and `,`
/// appear, the last one is the decimal mark; one kind repeated groups
/// thousands; one mark used once is the decimal mark, except when it is
/// followed by exactly three digits and preceded by one to three (not a lone
/// 0): `1.234` and `1,234` could be either, and are refused.
pub fn parse_decimal(s: &str) -> Result<String, String> {
    let bad = || format!("{s:?} is not a number");
    let mut runs: Vec<&str> = Vec::new(); // digit runs
    let mut seps: Vec<char> = Vec::new(); // separator between runs[i] and runs[i+1]
    let mut run_start: Option<usize> = None;
    let mut pending: Option<char> = None;
    let mut leading_mark = false;
    for (i, c) in s.char_indices() {
        if c.is_ascii_digit() {
            if run_start.is_none() {
                run_start = Some(i);
                if let Some(p) = pending.take() {
                    if runs.is_empty() {
                        // ".99": a decimal mark with no integer part.
                        if p != '.' && p != ',' {
                            return Err(bad());
                        }
                        leading_mark = true;
                    } else {
                        seps.push(p);
                    }
                }
            }
        } else if c == '.' || c == ',' || is_group_space(c) {
            if let Some(b) = run_start.take() {
                runs.push(&s[b..i]);
            }
            if pending.is_some() {
                return Err(format!("{s:?} is not a number (two separators in a row)"));
            }
            pending = Some(c);
        } else {
            return Err(format!("{s:?} is not a number ({c:?} is not allowed)"));
        }
    }
    if let Some(b) = run_start {
        runs.push(&s[b..]);
    }
    if runs.is_empty() {
        return Err(bad());
    }
    if leading_mark {
        if runs.len() != 1 || pending.is_some() {
            return Err(bad());
        }
        return finish("0", runs[0], s);
    }
    if let Some(p) = pending {
        // "5.": a bare decimal mark at the end.
        if (p == '.' || p == ',') && runs.len() == 1 {
            return finish(runs[0], "", s);
        }
        return Err(bad());
    }
    if seps.is_empty() {
        return finish(runs[0], "", s);
    }

    let has_dot = seps.contains(&'.');
    let has_comma = seps.contains(&',');
    let last = *seps.last().expect("separators");
    let decimal: Option<char> = if has_dot && has_comma {
        if last != '.' && last != ',' {
            return Err(format!(
                "{s:?} is not a number (a space cannot follow the decimal mark)"
            ));
        }
        if seps.iter().filter(|&&c| c == last).count() != 1 {
            return Err(format!("{s:?} is not a number (mixed separators)"));
        }
        Some(last)
    } else if has_dot || has_comma {
        let mark = if has_dot { '.' } else { ',' };
        let count = seps.iter().filter(|&&c| c == mark).count();
        if count > 1 {
            None // "1,234,567": thousands only
        } else if last != mark {
            return Err(format!(
                "{s:?} is not a number (a space cannot follow the decimal mark)"
            ));
        } else {
            let before = &runs[runs.len() - 2];
            let after = runs[runs.len() - 1];
            let only_mark = seps.len() == 1;
            let could_group =
                after.len() == 3 && before.len() <= 3 && !before.starts_with('0') && only_mark;
            if could_group {
                return Err(format!(
                    "{s:?} is ambiguous: is {mark:?} a decimal mark or a thousands separator? \
                     Write it without thousands separators (for example {}{} or {}.{})",
                    before, after, before, after
                ));
            }
            Some(mark)
        }
    } else {
        None // only spaces/apostrophes: thousands
    };

    let (int_runs, frac) = match decimal {
        Some(_) => (&runs[..runs.len() - 1], runs[runs.len() - 1]),
        None => (&runs[..], ""),
    };
    let group_seps: Vec<char> = match decimal {
        Some(_) => seps[..seps.len() - 1].to_vec(),
        None => seps.clone(),
    };
    if let Some(&first) = group_seps.first() {
        let same_kind = |c: char| {
            if is_group_space(first) {
                is_group_space(c)
            } else {
                c == first
            }
        };
        if !group_seps.iter().all(|&c| same_kind(c)) {
            return Err(format!(
                "{s:?} is not a number (mixed thousands separators)"
            ));
        }
        let first_ok = (1..=3).contains(&int_runs[0].len());
        let rest_ok = int_runs[1..].iter().all(|r| r.len() == 3);
        if !first_ok || !rest_ok {
            return Err(format!(
                "{s:?} is not a number (thousands separators must group three digits)"
            ));
        }
    }
    let int: String = int_runs.concat();
    finish(&int, frac, s)
}

fn finish(int: &str, frac: &str, original: &str) -> Result<String, String> {
    if int.len() + frac.len() > MAX_DIGITS {
        return Err(format!("{original:?} has too many digits"));
    }
    let int = int.trim_start_matches('0');
    let int = if int.is_empty() { "0" } else { int };
    Ok(if frac.is_empty() {
        int.to_string()
    } else {
        format!("{int}.{frac}")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn amount(s: &str) -> String {
        parse_decimal(s).unwrap()
    }

    #[test]
    fn plain_prices_keep_their_exact_decimals() {
        assert_eq!(amount("19.99"), "19.99");
        assert_eq!(amount("1200.005"), "1200.005");
        assert_eq!(amount("0.125"), "0.125");
        assert_eq!(amount("34.000000"), "34.000000");
        assert_eq!(amount("5"), "5");
        assert_eq!(amount("0"), "0");
        assert_eq!(amount(".99"), "0.99");
        assert_eq!(amount("5."), "5");
        assert_eq!(amount("007.50"), "7.50");
        // Far beyond f64's precision: no float on the way.
        assert_eq!(
            amount("123456789012345678.123456789"),
            "123456789012345678.123456789"
        );
    }

    #[test]
    fn thousands_separators_are_understood_when_unambiguous() {
        assert_eq!(amount("1,234.56"), "1234.56");
        assert_eq!(amount("1.234,56"), "1234.56");
        assert_eq!(amount("1,234,567"), "1234567");
        assert_eq!(amount("1.234.567"), "1234567");
        assert_eq!(amount("1 234,56"), "1234.56");
        assert_eq!(amount("1\u{A0}234,56"), "1234.56");
        assert_eq!(amount("1'234.50"), "1234.50");
        assert_eq!(amount("12,345,678.9"), "12345678.9");
        assert_eq!(amount("5,00"), "5.00");
        assert_eq!(amount("1,5"), "1.5");
        assert_eq!(amount("0,125"), "0.125");
    }

    #[test]
    fn ambiguous_or_malformed_numbers_are_refused() {
        for bad in ["1.234", "1,234", "12.345", "999,999"] {
            let e = parse_decimal(bad).unwrap_err();
            assert!(e.contains("ambiguous"), "{bad}: {e}");
        }
        for bad in [
            "1,23,456.00",
            "1.2.3,4,5",
            "12 34",
            "1..5",
            "1,234.567,8",
            "abc",
            "",
            "1e5",
            "19.99.",
            "1 234.5 6",
        ] {
            assert!(parse_decimal(bad).is_err(), "{bad} should be refused");
        }
        assert!(
            parse_decimal(&"9".repeat(31))
                .unwrap_err()
                .contains("too many digits")
        );
    }

    #[test]
    fn only_spaces_and_apostrophes_group_thousands_besides_the_marks() {
        for bad in ["1x234", "1_234", "1-234,50", "1.234 567,00", "1 234.567,00"] {
            assert!(parse_decimal(bad).is_err(), "{bad} should be refused");
        }
        assert_eq!(amount("1\u{202F}234\u{2009}567"), "1234567");
        assert_eq!(amount("1\u{2019}234"), "1234");
    }

    #[test]
    fn a_trailing_decimal_mark_is_read_but_a_trailing_group_space_is_not() {
        assert_eq!(parse_decimal("5.").unwrap(), "5");
        assert_eq!(parse_decimal("5,").unwrap(), "5");
        // A group separator with no digits after it groups nothing.
        for bad in ["5'", "5\u{A0}", "1 234 "] {
            assert!(parse_decimal(bad).is_err(), "{bad:?}");
        }
    }

    /// A number that starts with its decimal mark is a fraction: nothing
    /// may follow the fraction's digits, neither a mark nor more digits.
    #[test]
    fn a_number_starting_with_its_decimal_mark_has_one_run_of_digits() {
        assert_eq!(amount(",25"), "0.25");
        for bad in [".5.5", ".5.", ",5,", ".5 000", ".1.234"] {
            assert!(parse_decimal(bad).is_err(), "{bad:?}");
        }
    }

    /// The digit limit counts the integer and the fraction together, and
    /// a number of exactly the limit is read.
    #[test]
    fn a_number_of_exactly_the_digit_limit_is_read() {
        let thirty = "9".repeat(MAX_DIGITS);
        assert_eq!(amount(&thirty), thirty);
        let (int, frac) = ("1".repeat(20), "5".repeat(MAX_DIGITS - 20));
        assert_eq!(amount(&format!("{int}.{frac}")), format!("{int}.{frac}"));
        let e = parse_decimal(&format!("{int}.{frac}5")).unwrap_err();
        assert!(e.contains("too many digits"), "{e}");
    }
}
