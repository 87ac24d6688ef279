//! Value parsers shared by every profile (SPEC §3: "parse what is
//! unambiguous, report the rest"). Each parser takes a trimmed, non-empty
//! cell and returns the stored form or a reason; the caller adds the column.
//! The rules are documented in `docs/csv-format.md` ("Values").

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};

/// Length limits, in characters, matching the CHECKs in `migrations/V1__schema.sql`.
pub const MAX_SKU: usize = 200;
pub const MAX_TITLE: usize = 500;
pub const MAX_DESCRIPTION: usize = 100_000;
pub const MAX_CONDITION: usize = 200;
pub const MAX_CATEGORY: usize = 500;
pub const MAX_LISTING_NUMBER: usize = 100;

/// Digits allowed in a number (integer and fraction together): more is not a
/// price or a quantity but damage.
const MAX_DIGITS: usize = 30;

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

// ---------------------------------------------------------------------------
// Numbers
// ---------------------------------------------------------------------------

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

pub fn is_iso_currency(code: &str) -> bool {
    ISO_4217.binary_search(&code).is_ok()
}

/// ISO 4217 alphabetic codes (current ones, plus HRK and ANG which real
/// exports still carry), sorted for binary search.
const ISO_4217: &[&str] = &[
    "AED", "AFN", "ALL", "AMD", "ANG", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD", "BDT",
    "BGN", "BHD", "BIF", "BMD", "BND", "BOB", "BOV", "BRL", "BSD", "BTN", "BWP", "BYN", "BZD",
    "CAD", "CDF", "CHE", "CHF", "CHW", "CLF", "CLP", "CNY", "COP", "COU", "CRC", "CUC", "CUP",
    "CVE", "CZK", "DJF", "DKK", "DOP", "DZD", "EGP", "ERN", "ETB", "EUR", "FJD", "FKP", "GBP",
    "GEL", "GHS", "GIP", "GMD", "GNF", "GTQ", "GYD", "HKD", "HNL", "HRK", "HTG", "HUF", "IDR",
    "ILS", "INR", "IQD", "IRR", "ISK", "JMD", "JOD", "JPY", "KES", "KGS", "KHR", "KMF", "KPW",
    "KRW", "KWD", "KYD", "KZT", "LAK", "LBP", "LKR", "LRD", "LSL", "LYD", "MAD", "MDL", "MGA",
    "MKD", "MMK", "MNT", "MOP", "MRU", "MUR", "MVR", "MWK", "MXN", "MXV", "MYR", "MZN", "NAD",
    "NGN", "NIO", "NOK", "NPR", "NZD", "OMR", "PAB", "PEN", "PGK", "PHP", "PKR", "PLN", "PYG",
    "QAR", "RON", "RSD", "RUB", "RWF", "SAR", "SBD", "SCR", "SDG", "SEK", "SGD", "SHP", "SLE",
    "SLL", "SOS", "SRD", "SSP", "STN", "SVC", "SYP", "SZL", "THB", "TJS", "TMT", "TND", "TOP",
    "TRY", "TTD", "TWD", "TZS", "UAH", "UGX", "USD", "USN", "UYI", "UYU", "UYW", "UZS", "VED",
    "VES", "VND", "VUV", "WST", "XAF", "XAG", "XAU", "XBA", "XBB", "XBC", "XBD", "XCD", "XCG",
    "XDR", "XOF", "XPD", "XPF", "XPT", "XSU", "XUA", "YER", "ZAR", "ZMW", "ZWG", "ZWL",
];

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

// ---------------------------------------------------------------------------
// Status
// ---------------------------------------------------------------------------

/// Maps a status word to one of active, inactive, ended, draft. The words
/// marketplaces use are accepted (see `docs/csv-format.md`); profiles map
/// their numeric codes before calling this.
pub fn parse_status(s: &str) -> Result<&'static str, String> {
    let norm: String = s
        .to_lowercase()
        .replace(['_', '-'], " ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    let status = match norm.as_str() {
        "active" | "live" | "published" | "publish" | "enabled" | "enable" | "listed"
        | "online" | "on sale" | "for sale" | "available" | "open" | "visible" => "active",
        "inactive" | "disabled" | "disable" | "unpublished" | "hidden" | "private" | "paused"
        | "offline" | "unlisted" | "not listed" | "not visible" | "suspended" | "on hold" => {
            "inactive"
        }
        "ended" | "closed" | "archived" | "sold" | "expired" | "completed" | "finished"
        | "unsold" | "deleted" | "removed" | "discontinued" => "ended",
        "draft" | "pending" | "pending review" | "scheduled" | "future" | "not yet listed" => {
            "draft"
        }
        _ => {
            return Err(format!(
                "unknown status {s:?} (expected active, inactive, ended or draft, \
                 or a marketplace word such as published, archived, sold)"
            ));
        }
    };
    Ok(status)
}

/// TRUE/FALSE-style flags ("Published" columns): `Some(true)` for
/// true/yes/1, `Some(false)` for false/no/0.
pub fn parse_flag(s: &str) -> Option<bool> {
    match s.trim().to_ascii_lowercase().as_str() {
        "true" | "yes" | "y" | "1" => Some(true),
        "false" | "no" | "n" | "0" => Some(false),
        _ => None,
    }
}

// ---------------------------------------------------------------------------
// Dates
// ---------------------------------------------------------------------------

/// Time-zone abbreviations eBay and other exports print after a time.
const ZONES: &[(&str, i32)] = &[
    ("UTC", 0),
    ("GMT", 0),
    ("Z", 0),
    ("PST", -8),
    ("PDT", -7),
    ("MST", -7),
    ("MDT", -6),
    ("CST", -6),
    ("CDT", -5),
    ("EST", -5),
    ("EDT", -4),
    ("AKST", -9),
    ("AKDT", -8),
    ("HST", -10),
    ("BST", 1),
    ("IST", 1),
    ("WET", 0),
    ("WEST", 1),
    ("CET", 1),
    ("CEST", 2),
    ("MEZ", 1),
    ("MESZ", 2),
    ("EET", 2),
    ("EEST", 3),
    ("AEST", 10),
    ("AEDT", 11),
    ("ACST", 9),
    ("AWST", 8),
    ("NZST", 12),
    ("NZDT", 13),
    ("JST", 9),
];

const DATE_HELP: &str = "expected ISO 8601 (2024-05-24, 2024-05-24T18:30:00Z), \
    eBay's May-24-24 or May-24-24 18:30:00 PDT, or an unambiguous 05/24/2024";

/// Parses a date or date-time into UTC. Accepted: ISO 8601 / RFC 3339 with
/// `T` or a space and an optional offset; eBay's `May-24-11` and
/// `Apr-23-20 22:19:51 PDT`; `DD.MM.YYYY`; slashed dates when the order is
/// clear (`05/24/2024`, `24/05/2024`; `05/06/2024` is refused). A time
/// without a zone is read as UTC; a date alone is midnight UTC.
pub fn parse_date(s: &str) -> Result<DateTime<Utc>, String> {
    let s = s.trim();
    parse_date_inner(s).ok_or_else(|| {
        if let Some(reason) = slashed_ambiguity(s) {
            reason
        } else {
            format!("{s:?} is not a date ({DATE_HELP})")
        }
    })
}

fn parse_date_inner(s: &str) -> Option<DateTime<Utc>> {
    // Split off a trailing zone abbreviation ("... PDT", "... UTC").
    let known_zone = |z: &str| {
        ZONES
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(z))
            .and_then(|&(_, h)| FixedOffset::east_opt(h * 3600))
    };
    let (body, zone) = match s.rsplit_once(' ') {
        Some((b, z)) if known_zone(z).is_some() => (b.trim_end(), known_zone(z)),
        _ => (s, None),
    };
    if let Some(d) = iso(body, zone) {
        return Some(d);
    }
    if let Some(d) = ebay(body, zone) {
        return Some(d);
    }
    if let Some(d) = numeric(body, zone) {
        return Some(d);
    }
    None
}

fn with_zone(naive: NaiveDateTime, zone: Option<FixedOffset>) -> Option<DateTime<Utc>> {
    match zone {
        Some(z) => z
            .from_local_datetime(&naive)
            .single()
            .map(|d| d.with_timezone(&Utc)),
        None => Some(naive.and_utc()),
    }
}

fn iso(body: &str, zone: Option<FixedOffset>) -> Option<DateTime<Utc>> {
    if body.len() < 10 || !body.is_char_boundary(10) || body.as_bytes().get(4) != Some(&b'-') {
        return None;
    }
    let mut text = body.to_string();
    if text.len() > 10 && matches!(text.as_bytes()[10], b'T' | b't') {
        text.replace_range(10..11, " ");
    }
    if text.ends_with(['Z', 'z']) {
        if zone.is_some() {
            return None;
        }
        text.pop();
        text.push_str("+00:00");
    }
    if zone.is_none() {
        for f in ["%Y-%m-%d %H:%M:%S%.f%#z", "%Y-%m-%d %H:%M%#z"] {
            if let Ok(d) = DateTime::parse_from_str(&text, f) {
                return Some(d.with_timezone(&Utc));
            }
            if let Some((a, b)) = text.rsplit_once(' ')
                && b.starts_with(['+', '-'])
                && let Ok(d) = DateTime::parse_from_str(&format!("{a}{b}"), f)
            {
                return Some(d.with_timezone(&Utc));
            }
        }
    }
    for f in ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%d %H:%M"] {
        if let Ok(n) = NaiveDateTime::parse_from_str(&text, f) {
            return with_zone(n, zone);
        }
    }
    if let Ok(d) = NaiveDate::parse_from_str(&text, "%Y-%m-%d") {
        return with_zone(d.and_time(NaiveTime::MIN), zone);
    }
    None
}

fn ebay(body: &str, zone: Option<FixedOffset>) -> Option<DateTime<Utc>> {
    let first = body.chars().next()?;
    if !first.is_ascii_alphabetic() {
        return None;
    }
    let (date, time) = match body.split_once(' ') {
        Some((d, t)) => (d, Some(t.trim())),
        None => (body, None),
    };
    let parts: Vec<&str> = date.split('-').collect();
    if parts.len() != 3 {
        return None;
    }
    let year_fmt = match parts[2].len() {
        2 => "%y",
        4 => "%Y",
        _ => return None,
    };
    let d = NaiveDate::parse_from_str(date, &format!("%b-%d-{year_fmt}")).ok()?;
    let t = match time {
        None => NaiveTime::MIN,
        Some(t) => NaiveTime::parse_from_str(t, "%H:%M:%S")
            .or_else(|_| NaiveTime::parse_from_str(t, "%H:%M"))
            .ok()?,
    };
    with_zone(d.and_time(t), zone)
}

fn split_time(body: &str) -> (&str, Option<&str>) {
    match body.split_once(' ') {
        Some((d, t)) => (d, Some(t.trim())),
        None => (body, None),
    }
}

fn parse_time(t: Option<&str>) -> Option<NaiveTime> {
    match t {
        None => Some(NaiveTime::MIN),
        Some(t) => ["%H:%M:%S", "%H:%M", "%I:%M:%S %p", "%I:%M %p"]
            .iter()
            .find_map(|f| NaiveTime::parse_from_str(t, f).ok()),
    }
}

/// `DD.MM.YYYY` and slashed dates whose order is clear.
fn numeric(body: &str, zone: Option<FixedOffset>) -> Option<DateTime<Utc>> {
    let (date, time) = split_time(body);
    let time = parse_time(time)?;
    if date.contains('.') {
        let d = NaiveDate::parse_from_str(date, "%d.%m.%Y").ok()?;
        if date.rsplit('.').next()?.len() != 4 {
            return None;
        }
        return with_zone(d.and_time(time), zone);
    }
    let (a, b, y) = slashed(date)?;
    let (month, day) = if a > 12 && b <= 12 {
        (b, a)
    } else if b > 12 && a <= 12 || a == b {
        (a, b)
    } else {
        return None;
    };
    let d = NaiveDate::from_ymd_opt(y, month, day)?;
    with_zone(d.and_time(time), zone)
}

fn slashed(date: &str) -> Option<(u32, u32, i32)> {
    let parts: Vec<&str> = date.split('/').collect();
    if parts.len() != 3 || parts[2].len() != 4 {
        return None;
    }
    let digits = |p: &str| !p.is_empty() && p.len() <= 2 && p.chars().all(|c| c.is_ascii_digit());
    if !digits(parts[0]) || !digits(parts[1]) || !parts[2].chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    Some((
        parts[0].parse().ok()?,
        parts[1].parse().ok()?,
        parts[2].parse().ok()?,
    ))
}

fn slashed_ambiguity(s: &str) -> Option<String> {
    let (date, _) = split_time(s);
    let (a, b, _) = slashed(date)?;
    (a <= 12 && b <= 12 && a != b).then(|| {
        format!("{s:?} is ambiguous: month/day or day/month? Write it as ISO 8601 (YYYY-MM-DD)")
    })
}

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
            let e = parse_price(bad).unwrap_err();
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
            assert!(parse_price(bad).is_err(), "{bad} should be refused");
        }
        assert!(
            parse_price(&"9".repeat(31))
                .unwrap_err()
                .contains("too many digits")
        );
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
        assert!(parse_currency("€").is_err());
        let mut sorted = ISO_4217.to_vec();
        sorted.sort_unstable();
        assert_eq!(sorted, ISO_4217, "the table must stay sorted");
    }

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

    #[test]
    fn statuses_and_their_marketplace_synonyms() {
        for (word, status) in [
            ("active", "active"),
            ("Active", "active"),
            ("PUBLISHED", "active"),
            ("live", "active"),
            ("inactive", "inactive"),
            ("Disabled", "inactive"),
            ("private", "inactive"),
            ("ended", "ended"),
            ("archived", "ended"),
            ("Sold", "ended"),
            ("draft", "draft"),
            ("pending", "draft"),
            ("Pending_Review", "draft"),
        ] {
            assert_eq!(parse_status(word).unwrap(), status, "{word}");
        }
        assert!(
            parse_status("maybe")
                .unwrap_err()
                .contains("unknown status")
        );
        assert_eq!(parse_flag("TRUE"), Some(true));
        assert_eq!(parse_flag("false"), Some(false));
        assert_eq!(parse_flag("perhaps"), None);
    }

    fn date(s: &str) -> String {
        parse_date(s).unwrap().to_rfc3339()
    }

    #[test]
    fn iso_dates_and_times() {
        assert_eq!(date("2024-05-24"), "2024-05-24T00:00:00+00:00");
        assert_eq!(date("2024-05-24T18:30:00Z"), "2024-05-24T18:30:00+00:00");
        assert_eq!(
            date("2024-05-24T18:30:00+02:00"),
            "2024-05-24T16:30:00+00:00"
        );
        assert_eq!(date("2024-05-24 18:30:00+02"), "2024-05-24T16:30:00+00:00");
        assert_eq!(
            date("2024-05-24 18:30:00 +0200"),
            "2024-05-24T16:30:00+00:00"
        );
        assert_eq!(
            date("2024-05-24T18:30:00.250Z"),
            "2024-05-24T18:30:00.250+00:00"
        );
        assert_eq!(date("2020-04-23 22:19:51"), "2020-04-23T22:19:51+00:00");
        assert_eq!(date("2020-04-23 22:19"), "2020-04-23T22:19:00+00:00");
        assert_eq!(date("2020-04-23 22:19:51 UTC"), "2020-04-23T22:19:51+00:00");
    }

    #[test]
    fn ebay_dates_with_and_without_zone() {
        assert_eq!(date("May-24-11"), "2011-05-24T00:00:00+00:00");
        assert_eq!(date("Apr-23-20 22:19:51 PDT"), "2020-04-24T05:19:51+00:00");
        assert_eq!(date("Dec-01-23 08:00:00 PST"), "2023-12-01T16:00:00+00:00");
        assert_eq!(date("Jun-29-26 16:00:01"), "2026-06-29T16:00:01+00:00");
        assert_eq!(date("May-24-2011"), "2011-05-24T00:00:00+00:00");
        assert!(parse_date("Apr-23-20 22:19:51 XYZ").is_err());
        assert!(parse_date("Foo-23-20").is_err());
    }

    #[test]
    fn numeric_dates_only_when_the_order_is_clear() {
        assert_eq!(date("05/24/2024"), "2024-05-24T00:00:00+00:00");
        assert_eq!(date("24/05/2024"), "2024-05-24T00:00:00+00:00");
        assert_eq!(date("05/05/2024"), "2024-05-05T00:00:00+00:00");
        assert_eq!(date("05/24/2024 13:45"), "2024-05-24T13:45:00+00:00");
        assert_eq!(date("05/24/2024 1:45 PM"), "2024-05-24T13:45:00+00:00");
        assert_eq!(date("24.05.2024"), "2024-05-24T00:00:00+00:00");
        let e = parse_date("05/06/2024").unwrap_err();
        assert!(e.contains("ambiguous"), "{e}");
        assert!(parse_date("05/24/24").is_err());
        assert!(parse_date("13/13/2024").is_err());
        assert!(parse_date("2024-02-30").is_err());
        assert!(parse_date("tomorrow").unwrap_err().contains("ISO 8601"));
    }

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
