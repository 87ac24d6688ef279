//! Dates and times: ISO 8601, eBay's formats, unambiguous numeric dates.

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};

/// Time-zone abbreviations eBay and other exports print after a time, with
/// their offsets in minutes east of UTC.
const ZONES: &[(&str, i32)] = &[
    ("UTC", 0),
    ("GMT", 0),
    ("Z", 0),
    ("PST", -480),
    ("PDT", -420),
    ("MST", -420),
    ("MDT", -360),
    ("CST", -360),
    ("CDT", -300),
    ("EST", -300),
    ("EDT", -240),
    ("AKST", -540),
    ("AKDT", -480),
    ("HST", -600),
    ("BST", 60),
    ("IST", 60),
    ("WET", 0),
    ("WEST", 60),
    ("CET", 60),
    ("CEST", 120),
    ("MEZ", 60),
    ("MESZ", 120),
    ("EET", 120),
    ("EEST", 180),
    ("AEST", 600),
    ("AEDT", 660),
    ("ACST", 570),
    ("AWST", 480),
    ("NZST", 720),
    ("NZDT", 780),
    ("JST", 540),
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
            .and_then(|&(_, minutes)| FixedOffset::east_opt(minutes * 60))
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
    if zone.is_none()
        && is_plain_utc_timestamp(body)
        && let Ok(d) = DateTime::parse_from_rfc3339(body)
    {
        return Some(d.with_timezone(&Utc));
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

/// `2027-01-31T12:00:00Z` exactly: the most common shape, read without the
/// general formats below (which parse their format strings on every call,
/// a tenth of the parser's time on a file of such dates). The formats below
/// accept it too and give the same instant.
fn is_plain_utc_timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 20
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            10 => matches!(c, b'T' | b't'),
            13 | 16 => *c == b':',
            19 => matches!(c, b'Z' | b'z'),
            _ => c.is_ascii_digit(),
        })
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
    fn a_plain_utc_timestamp_reads_as_the_general_formats_read_it() {
        // The 20-character shape takes a shortcut; written with "+00:00"
        // the same value goes the general way. Both agree, refusals too.
        for s in [
            "2024-05-24T18:30:00Z",
            "2024-05-24t18:30:00z",
            "2024-02-29T00:00:00Z",
            "2016-12-31T23:59:60Z",
            "2023-02-29T00:00:00Z",
            "2024-13-01T00:00:00Z",
            "2024-05-24T24:00:00Z",
        ] {
            assert!(is_plain_utc_timestamp(s), "{s}");
            let general = format!("{}+00:00", &s[..19]);
            assert!(!is_plain_utc_timestamp(&general));
            assert_eq!(
                parse_date(s).map(|d| d.to_rfc3339()).ok(),
                parse_date(&general).map(|d| d.to_rfc3339()).ok(),
                "{s}"
            );
        }
        assert!(parse_date("2023-02-29T00:00:00Z").is_err());
        for s in [
            "2024-05-24T18:30:00",
            "2024-05-24 18:30:00Z",
            "2024-05-24T18:30:0xZ",
        ] {
            assert!(!is_plain_utc_timestamp(s), "{s}");
        }
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
    fn every_zone_abbreviation_moves_the_time_by_its_own_offset() {
        // Hours east of UTC, as the zones are defined (not read from the table).
        for (zone, east) in [
            ("UTC", 0),
            ("GMT", 0),
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
            ("AWST", 8),
            ("NZST", 12),
            ("NZDT", 13),
            ("JST", 9),
        ] {
            let utc = chrono::NaiveDate::from_ymd_opt(2024, 1, 10)
                .unwrap()
                .and_hms_opt(12, 0, 0)
                .unwrap()
                - chrono::Duration::hours(east);
            assert_eq!(
                date(&format!("Jan-10-24 12:00:00 {zone}")),
                utc.and_utc().to_rfc3339(),
                "{zone}"
            );
        }
    }

    #[test]
    fn australian_central_time_is_half_an_hour_off_the_hour() {
        assert_eq!(date("Jan-10-24 12:00:00 ACST"), "2024-01-10T02:30:00+00:00");
    }

    #[test]
    fn a_slashed_date_is_read_only_when_its_order_is_certain() {
        // 12 could be a month: 12/05 is May 12 or December 5.
        assert!(parse_date("12/05/2024").is_err());
        assert_eq!(date("13/05/2024"), "2024-05-13T00:00:00+00:00");
        // A day or month has at most two digits.
        assert!(parse_date("005/13/2024").is_err());
        assert!(parse_date("05/013/2024").is_err());
    }

    /// 12 is as much a month as a day, on either side of the slash.
    #[test]
    fn twelve_on_either_side_of_the_slash_leaves_the_order_open() {
        for s in ["12/05/2024", "05/12/2024"] {
            let e = parse_date(s).unwrap_err();
            assert!(e.contains("is ambiguous"), "{s}: {e}");
        }
        assert_eq!(date("12/12/2024"), "2024-12-12T00:00:00+00:00");
        assert_eq!(date("13/12/2024"), "2024-12-13T00:00:00+00:00");
        assert_eq!(date("12/13/2024"), "2024-12-13T00:00:00+00:00");
    }

    #[test]
    fn a_slashed_date_of_either_order_is_refused_as_ambiguous() {
        for s in ["05/06/2024", "05/06/2024 10:00"] {
            let e = parse_date(s).unwrap_err();
            assert!(
                e.starts_with(&format!("{s:?} is ambiguous: month/day or day/month?")),
                "{s}: {e}"
            );
        }
        // The same day twice is not ambiguous; a day past 12 is not either.
        assert!(parse_date("05/05/2024").is_ok());
        let e = parse_date("05/13/20x4").unwrap_err();
        assert!(!e.contains("is ambiguous"), "{e}");
    }

    /// A slashed date valid in neither order (day and month both past 12,
    /// or a day past the month's end either way) is not a date, not an
    /// ambiguous one.
    #[test]
    fn a_slashed_date_valid_in_neither_order_is_not_called_ambiguous() {
        for s in ["13/14/2024", "31/02/2024", "02/31/2024"] {
            let e = parse_date(s).unwrap_err();
            assert!(
                e.contains("is not a date") && !e.contains("is ambiguous"),
                "{s}: {e}"
            );
        }
    }
}
