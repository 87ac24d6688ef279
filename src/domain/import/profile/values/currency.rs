//! Prices and their currencies: symbols and ISO 4217 codes around an
//! amount, and which currency a row is in.

use super::numbers::parse_decimal;

/// A currency named in a price cell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CurrencyHint {
    /// An ISO code written next to the amount ("19.99 USD").
    Code(String),
    /// A symbol; `candidates` are the currencies it may stand for, the first
    /// one being what it means without other information (`None` when there
    /// is no sensible default, as for "kr").
    Symbol {
        symbol: &'static str,
        candidates: &'static [&'static str],
        default: Option<&'static str>,
    },
}

const DOLLARS: &[&str] = &[
    "USD", "CAD", "AUD", "NZD", "HKD", "SGD", "MXN", "TWD", "BSD", "BBD", "BZD", "BMD", "KYD",
    "FJD", "JMD", "LRD", "NAD", "SBD", "SRD", "TTD", "XCD", "GYD", "BND", "CLP", "COP", "ARS",
    "UYU", "CUP", "DOP",
];

/// Symbols and symbol-like prefixes, longest first so that "US$" wins over "$".
const SYMBOLS: &[(&str, &[&str], Option<&str>)] = &[
    ("US$", &["USD"], Some("USD")),
    ("CA$", &["CAD"], Some("CAD")),
    ("AU$", &["AUD"], Some("AUD")),
    ("NZ$", &["NZD"], Some("NZD")),
    ("HK$", &["HKD"], Some("HKD")),
    ("MX$", &["MXN"], Some("MXN")),
    ("C$", &["CAD"], Some("CAD")),
    ("A$", &["AUD"], Some("AUD")),
    ("S$", &["SGD"], Some("SGD")),
    ("R$", &["BRL"], Some("BRL")),
    ("$", DOLLARS, Some("USD")),
    ("£", &["GBP", "GIP", "FKP", "SHP"], Some("GBP")),
    ("€", &["EUR"], Some("EUR")),
    ("¥", &["JPY", "CNY"], Some("JPY")),
    ("￥", &["JPY", "CNY"], Some("JPY")),
    ("₹", &["INR"], Some("INR")),
    ("₩", &["KRW"], Some("KRW")),
    ("₽", &["RUB"], Some("RUB")),
    ("₺", &["TRY"], Some("TRY")),
    ("₪", &["ILS"], Some("ILS")),
    ("₫", &["VND"], Some("VND")),
    ("฿", &["THB"], Some("THB")),
    ("₱", &["PHP"], Some("PHP")),
    ("₴", &["UAH"], Some("UAH")),
    ("₦", &["NGN"], Some("NGN")),
    ("zł", &["PLN"], Some("PLN")),
    ("Kč", &["CZK"], Some("CZK")),
    ("kr.", &["DKK", "SEK", "NOK", "ISK"], None),
    ("kr", &["SEK", "NOK", "DKK", "ISK"], None),
];

/// A parsed price: the amount in plain notation and the currency its cell
/// named, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Price {
    pub amount: String,
    pub currency: Option<CurrencyHint>,
}

/// Parses a price cell: an amount (see [`parse_decimal`]) with an optional
/// currency symbol or ISO code before or after it. Negative amounts are
/// refused, in any notation (`-5`, `(5.00)`, `5-`).
pub fn parse_price(s: &str) -> Result<Price, String> {
    let Some(first) = s.find(|c: char| c.is_ascii_digit()) else {
        return Err(format!("{s:?} is not a price"));
    };
    let last = s
        .rfind(|c: char| c.is_ascii_digit())
        .expect("a digit was found");
    let mut prefix = &s[..first];
    let mut core_start = first;
    // ".99" and "$.99": the decimal mark belongs to the number.
    if let Some(p) = prefix.strip_suffix(['.', ',']) {
        prefix = p;
        core_start -= 1;
    }
    let mut core_end = last + 1;
    // "5.": a trailing decimal mark belongs to the number too.
    if s[core_end..].starts_with(['.', ',']) {
        core_end += 1;
    }
    let core = &s[core_start..core_end];
    let suffix = &s[core_end..];

    let negative = |t: &str| t.contains(['-', '−', '(', ')']);
    if negative(prefix) || negative(suffix) {
        return Err(format!("{s:?} is negative: a price cannot be below zero"));
    }
    let mut hints = Vec::new();
    for part in [prefix.trim(), suffix.trim()] {
        if part.is_empty() {
            continue;
        }
        hints.push(
            currency_marker(part)
                .ok_or_else(|| format!("{s:?} is not a price ({part:?} is not a currency)"))?,
        );
    }
    let currency = match hints.len() {
        0 => None,
        1 => hints.pop(),
        _ => {
            let (a, b) = (&hints[0], &hints[1]);
            if !compatible(a, b) {
                return Err(format!("{s:?} names two different currencies"));
            }
            // Keep the more precise one (a code).
            match (a, b) {
                (CurrencyHint::Code(_), _) => Some(a.clone()),
                _ => Some(b.clone()),
            }
        }
    };
    let amount =
        parse_decimal(core).map_err(|e| if core == s { e } else { format!("{s:?}: {e}") })?;
    Ok(Price { amount, currency })
}

fn currency_marker(part: &str) -> Option<CurrencyHint> {
    // "US $" is "US$".
    let compact: String = part.chars().filter(|c| !c.is_whitespace()).collect();
    if let Some(&(symbol, candidates, default)) = SYMBOLS
        .iter()
        .find(|(sym, _, _)| compact.eq_ignore_ascii_case(sym))
    {
        return Some(CurrencyHint::Symbol {
            symbol,
            candidates,
            default,
        });
    }
    // "USD", "usd", also "USD $".
    let words: Vec<&str> = part.split_whitespace().collect();
    if words.len() == 1 && words[0].len() == 3 && words[0].chars().all(|c| c.is_ascii_alphabetic())
    {
        let code = words[0].to_ascii_uppercase();
        return is_iso_currency(&code).then_some(CurrencyHint::Code(code));
    }
    if words.len() == 2 {
        let a = currency_marker(words[0])?;
        let b = currency_marker(words[1])?;
        let chosen = match a {
            CurrencyHint::Code(_) => a.clone(),
            _ => b.clone(),
        };
        return compatible(&a, &b).then_some(chosen);
    }
    None
}

fn compatible(a: &CurrencyHint, b: &CurrencyHint) -> bool {
    match (a, b) {
        (CurrencyHint::Code(x), CurrencyHint::Code(y)) => x == y,
        (CurrencyHint::Code(x), CurrencyHint::Symbol { candidates, .. })
        | (CurrencyHint::Symbol { candidates, .. }, CurrencyHint::Code(x)) => {
            candidates.contains(&x.as_str())
        }
        (
            CurrencyHint::Symbol { candidates: c1, .. },
            CurrencyHint::Symbol { candidates: c2, .. },
        ) => c1.iter().any(|c| c2.contains(c)),
    }
}

/// Decides a row's currency, most specific first: the currency column; a
/// code in the price; a symbol in the price (resolved with the file's or
/// `--currency`'s currency when that is one the symbol can mean, else the
/// symbol's usual meaning: `$` is USD); the file's own currency (eBay's
/// Action header, listing site); `--currency`. A currency column that
/// contradicts the price's symbol or code is an error.
pub fn resolve_currency(
    column: Option<&str>,
    hint: Option<&CurrencyHint>,
    file: Option<&str>,
    default: Option<&str>,
) -> Result<Option<String>, String> {
    if let Some(col) = column {
        if let Some(h) = hint
            && !compatible(h, &CurrencyHint::Code(col.to_string()))
        {
            return Err(format!(
                "the price is written in {} but the currency is {col}",
                hint_name(h)
            ));
        }
        return Ok(Some(col.to_string()));
    }
    match hint {
        Some(CurrencyHint::Code(c)) => Ok(Some(c.clone())),
        Some(CurrencyHint::Symbol {
            symbol,
            candidates,
            default: usual,
        }) => {
            for ctx in [file, default].into_iter().flatten() {
                if candidates.contains(&ctx) {
                    return Ok(Some(ctx.to_string()));
                }
            }
            match usual {
                Some(c) => Ok(Some(c.to_string())),
                None => Err(format!(
                    "{symbol:?} could be {}: add a currency column or use --currency CODE",
                    candidates.join(", ")
                )),
            }
        }
        None => Ok(file.or(default).map(str::to_string)),
    }
}

fn hint_name(h: &CurrencyHint) -> String {
    match h {
        CurrencyHint::Code(c) => c.clone(),
        CurrencyHint::Symbol { symbol, .. } => format!("{symbol:?}"),
    }
}

/// Parses a currency code: three letters, any case, that ISO 4217 knows.
pub fn parse_currency(s: &str) -> Result<String, String> {
    let code = s.to_ascii_uppercase();
    if code.len() != 3 || !code.chars().all(|c| c.is_ascii_uppercase()) {
        return Err(format!(
            "{s:?} is not a currency code (three letters, ISO 4217, e.g. USD)"
        ));
    }
    if !is_iso_currency(&code) {
        return Err(format!("{s:?} is not an ISO 4217 currency code"));
    }
    Ok(code)
}

fn is_iso_currency(code: &str) -> bool {
    // Most files name a handful of currencies on every row: those skip the
    // table lookup (a fortieth of the parser's time).
    if COMMON.contains(&code) {
        return true;
    }
    let listed = iso_currency::Currency::from_code(code).is_some() && !NOT_MONEY.contains(&code);
    listed || STILL_IN_EXPORTS.contains(&code)
}

/// ISO 4217 codes most listings carry (each also in the general table).
const COMMON: [&str; 6] = ["USD", "EUR", "GBP", "CAD", "AUD", "JPY"];

/// ISO 4217's codes for testing and for "no currency": not a price's currency.
const NOT_MONEY: [&str; 2] = ["XTS", "XXX"];

/// Codes ISO 4217 has withdrawn that real exports still carry (the
/// `iso_currency` crate keeps HRK but not ANG, replaced by XCG in 2025).
const STILL_IN_EXPORTS: [&str; 1] = ["ANG"];

#[cfg(test)]
mod tests {
    use super::*;

    fn amount(s: &str) -> String {
        parse_price(s).unwrap().amount
    }

    fn currency(s: &str) -> Option<CurrencyHint> {
        parse_price(s).unwrap().currency
    }

    #[test]
    fn negative_prices_are_refused_in_any_notation() {
        for bad in ["-5", "-$5.00", "$-5.00", "(5.00)", "5.00-", "−5", "USD -1"] {
            let e = parse_price(bad).unwrap_err();
            assert!(e.contains("negative"), "{bad}: {e}");
        }
    }

    #[test]
    fn currency_symbols_and_codes_around_the_amount() {
        assert_eq!(amount("$19.99"), "19.99");
        assert_eq!(amount("£5"), "5");
        assert_eq!(amount("19.99 USD"), "19.99");
        assert_eq!(amount("EUR 5,00"), "5.00");
        assert_eq!(amount("€ 1.234,50"), "1234.50");
        assert_eq!(amount("US $12.00"), "12.00");
        assert_eq!(
            currency("19.99 usd"),
            Some(CurrencyHint::Code("USD".into()))
        );
        assert_eq!(currency("EUR5"), Some(CurrencyHint::Code("EUR".into())));
        assert!(matches!(
            currency("£5"),
            Some(CurrencyHint::Symbol { symbol: "£", .. })
        ));
        assert!(matches!(
            currency("C$5"),
            Some(CurrencyHint::Symbol { symbol: "C$", .. })
        ));
        assert!(matches!(
            currency("US$ 5"),
            Some(CurrencyHint::Symbol { symbol: "US$", .. })
        ));
        assert!(matches!(
            currency("$5 USD"),
            Some(CurrencyHint::Code(c)) if c == "USD"
        ));
        assert_eq!(currency("19.99"), None);
        assert!(parse_price("5 XYZ").unwrap_err().contains("not a currency"));
        assert!(parse_price("£5 USD").unwrap_err().contains("two different"));
        assert!(parse_price("about 5").is_err());
    }

    fn resolve(
        column: Option<&str>,
        price: &str,
        file: Option<&str>,
        default: Option<&str>,
    ) -> Result<Option<String>, String> {
        let p = parse_price(price).unwrap();
        resolve_currency(column, p.currency.as_ref(), file, default)
    }

    #[test]
    fn currency_comes_from_the_column_then_the_price_then_the_defaults() {
        assert_eq!(
            resolve(Some("GBP"), "5", None, Some("USD")).unwrap(),
            Some("GBP".into())
        );
        assert_eq!(
            resolve(None, "£5", None, Some("USD")).unwrap(),
            Some("GBP".into())
        );
        assert_eq!(
            resolve(None, "5 EUR", None, None).unwrap(),
            Some("EUR".into())
        );
        assert_eq!(
            resolve(None, "5", None, Some("CHF")).unwrap(),
            Some("CHF".into())
        );
        assert_eq!(
            resolve(None, "5", Some("GBP"), Some("CHF")).unwrap(),
            Some("GBP".into())
        );
        assert_eq!(resolve(None, "5", None, None).unwrap(), None);
        // "$" is USD unless the file or --currency names another dollar.
        assert_eq!(resolve(None, "$5", None, None).unwrap(), Some("USD".into()));
        assert_eq!(
            resolve(None, "$5", None, Some("CAD")).unwrap(),
            Some("CAD".into())
        );
        assert_eq!(
            resolve(None, "$5", Some("AUD"), None).unwrap(),
            Some("AUD".into())
        );
        assert_eq!(
            resolve(None, "$5", None, Some("EUR")).unwrap(),
            Some("USD".into())
        );
        assert_eq!(
            resolve(Some("CAD"), "$5", None, None).unwrap(),
            Some("CAD".into())
        );
        assert_eq!(
            resolve(None, "¥500", None, Some("CNY")).unwrap(),
            Some("CNY".into())
        );
        // A contradiction, and a symbol without a usual meaning.
        let e = resolve(Some("USD"), "£5", None, None).unwrap_err();
        assert!(e.contains("USD") && e.contains('£'), "{e}");
        assert!(resolve(Some("USD"), "5 EUR", None, None).is_err());
        let e = resolve(None, "kr 100", None, None).unwrap_err();
        assert!(e.contains("--currency"), "{e}");
        assert_eq!(
            resolve(None, "100 kr", None, Some("SEK")).unwrap(),
            Some("SEK".into())
        );
    }

    #[test]
    fn currency_codes_are_normalised_and_checked() {
        assert_eq!(parse_currency("usd").unwrap(), "USD");
        assert_eq!(parse_currency("Eur").unwrap(), "EUR");
        assert!(parse_currency("US").is_err());
        assert!(parse_currency("US$").is_err());
        assert!(parse_currency("ABC").unwrap_err().contains("ISO 4217"));
        assert!(parse_currency("XXX").is_err() && parse_currency("xts").is_err());
        assert!(parse_currency("€").is_err());
        for code in [
            "USD", "EUR", "GBP", "XCG", "ZWG", "HRK", "ANG", "SLE", "VED",
        ] {
            assert!(parse_currency(code).is_ok(), "{code}");
        }
    }

    #[test]
    fn a_price_without_an_integer_part_keeps_its_decimal_mark() {
        assert_eq!(amount(".99"), "0.99");
        assert_eq!(amount("$.99"), "0.99");
        assert_eq!(amount(",50 EUR"), "0.50");
    }

    #[test]
    fn the_common_currencies_are_money_in_the_general_table_too() {
        for code in COMMON {
            assert!(iso_currency::Currency::from_code(code).is_some(), "{code}");
            assert!(!NOT_MONEY.contains(&code), "{code}");
        }
    }

    #[test]
    fn a_trailing_decimal_mark_belongs_to_the_amount() {
        assert_eq!(amount("5."), "5");
        assert_eq!(amount("$5."), "5");
        assert_eq!(amount("5, EUR"), "5");
        assert_eq!(currency("5. USD"), Some(CurrencyHint::Code("USD".into())));
    }

    /// A code and a symbol, or two codes, that disagree in one place
    /// (`EUR $`: the dollar is not the euro) are not a currency: the price
    /// is refused.
    #[test]
    fn a_code_next_to_a_symbol_or_code_it_disagrees_with_is_refused() {
        for bad in ["EUR $5", "eur $ 5", "EUR USD 5", "5 EUR $"] {
            let e = parse_price(bad).unwrap_err();
            assert!(e.contains("is not a currency"), "{bad}: {e}");
        }
    }

    /// A code and a symbol together: the code says which currency the
    /// symbol means, whether it comes first or last, and when the code
    /// precedes the amount and the symbol follows it (the symbol alone could
    /// be another dollar).
    #[test]
    fn a_code_next_to_a_symbol_names_the_currency_either_way() {
        for price in ["CAD $5", "$5 CAD", "cad $ 5", "CAD 5$", "cad 5 $"] {
            assert_eq!(
                currency(price),
                Some(CurrencyHint::Code("CAD".into())),
                "{price}"
            );
            assert_eq!(
                resolve(None, price, None, Some("USD")).unwrap(),
                Some("CAD".into()),
                "{price}"
            );
        }
    }

    /// A bad amount is quoted with the currency around it when it had one;
    /// a cell that is only the number gets the number's own error.
    #[test]
    fn a_bad_amount_is_quoted_whole_when_a_currency_was_around_it() {
        let bare = parse_decimal("1..5").unwrap_err();
        assert_eq!(parse_price("1..5").unwrap_err(), bare);
        assert_eq!(
            parse_price("$1..5").unwrap_err(),
            format!("\"$1..5\": {bare}")
        );
    }

    /// Anything but three letters is not a code at all; three letters ISO
    /// 4217 does not know are an unknown code: the messages tell them apart.
    #[test]
    fn a_code_of_the_wrong_shape_is_told_apart_from_an_unknown_one() {
        for bad in ["US", "EURO", "U5D", "€"] {
            let e = parse_currency(bad).unwrap_err();
            assert!(e.contains("three letters"), "{bad}: {e}");
        }
        let e = parse_currency("ABC").unwrap_err();
        assert!(
            e.contains("not an ISO 4217") && !e.contains("three letters"),
            "{e}"
        );
    }
}
