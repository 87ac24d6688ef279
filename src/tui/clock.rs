//! Times as a person reads them: in the local time zone, always with the
//! year, and in lists as how long ago ("3 min ago"). The console's loop
//! sets [`Clock::now`] before each frame; tests fix it and the zone.

use chrono::{DateTime, FixedOffset, Local, NaiveDate, NaiveTime, Utc};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Clock {
    pub now: DateTime<Utc>,
    /// `None`: the system's local time zone (daylight saving included).
    pub zone: Option<FixedOffset>,
}

/// Within this, lists say how long ago; older times show their date.
const RECENT_DAYS: i64 = 7;

impl Clock {
    /// The system's time and zone.
    pub fn system() -> Self {
        Self {
            now: Utc::now(),
            zone: None,
        }
    }

    /// A fixed moment and zone (tests, benchmarks).
    pub fn fixed(now: DateTime<Utc>, zone: FixedOffset) -> Self {
        Self {
            now,
            zone: Some(zone),
        }
    }

    fn local(&self, t: &DateTime<Utc>) -> DateTime<FixedOffset> {
        match self.zone {
            Some(z) => t.with_timezone(&z),
            None => t.with_timezone(&Local).fixed_offset(),
        }
    }

    /// `2026-11-27 15:20:58 +01:00` (`UTC` when the zone is UTC).
    pub fn time(&self, t: &DateTime<Utc>) -> String {
        let l = self.local(t);
        format!("{} {}", l.format("%Y-%m-%d %H:%M:%S"), zone_name(&l))
    }

    /// The moment local day `d` begins (`since:2026-11-01`).
    pub fn start_of_day(&self, d: NaiveDate) -> DateTime<Utc> {
        let midnight = d.and_time(NaiveTime::MIN);
        let local = match self.zone {
            Some(z) => midnight.and_local_timezone(z).earliest(),
            None => midnight
                .and_local_timezone(Local)
                .earliest()
                .map(|t| t.fixed_offset()),
        };
        // A day that starts in a DST gap: its first hour is gone, not it.
        local.map_or_else(|| midnight.and_utc(), |t| t.with_timezone(&Utc))
    }

    /// [`Clock::time`], then how long ago when that is recent.
    pub fn time_ago(&self, t: &DateTime<Utc>) -> String {
        match self.recent_ago(t) {
            Some(ago) => format!("{} ({ago})", self.time(t)),
            None => self.time(t),
        }
    }

    /// `just now`, `3 min ago`, `5 h ago`, `2 d ago`.
    pub fn ago(&self, t: &DateTime<Utc>) -> String {
        let secs = (self.now - *t).num_seconds();
        match secs {
            s if s < 60 => "just now".to_string(),
            s if s < 3600 => format!("{} min ago", s / 60),
            s if s < 86_400 => format!("{} h ago", s / 3600),
            s => format!("{} d ago", s / 86_400),
        }
    }

    fn recent_ago(&self, t: &DateTime<Utc>) -> Option<String> {
        let age = self.now - *t;
        (age.num_days() < RECENT_DAYS && age.num_seconds() > -60).then(|| self.ago(t))
    }

    /// A list's cell of `room` columns: how long ago for the last week, the
    /// date beyond; with room, the local date and time first.
    pub fn when(&self, t: &DateTime<Utc>, room: usize) -> String {
        let l = self.local(t);
        let ago = self.recent_ago(t);
        if room >= 28 {
            let at = l.format("%Y-%m-%d %H:%M").to_string();
            return match ago {
                Some(a) => format!("{at} · {a}"),
                None => at,
            };
        }
        ago.unwrap_or_else(|| l.format("%Y-%m-%d").to_string())
    }
}

fn zone_name(l: &DateTime<FixedOffset>) -> String {
    if l.offset().local_minus_utc() == 0 {
        "UTC".to_string()
    } else {
        l.format("%:z").to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn local_times_with_the_year_and_lists_say_how_long_ago() {
        let now = Utc.with_ymd_and_hms(2026, 11, 27, 14, 0, 0).unwrap();
        let c = Clock::fixed(now, FixedOffset::east_opt(3600).unwrap());
        let t = Utc.with_ymd_and_hms(2026, 11, 27, 13, 57, 0).unwrap();
        assert_eq!(c.time(&t), "2026-11-27 14:57:00 +01:00");
        assert_eq!(c.time_ago(&t), "2026-11-27 14:57:00 +01:00 (3 min ago)");
        assert_eq!(c.when(&t, 11), "3 min ago");
        assert_eq!(c.when(&t, 28), "2026-11-27 14:57 · 3 min ago");
        let old = Utc.with_ymd_and_hms(2025, 12, 31, 23, 30, 0).unwrap();
        // In the local zone it is already the next year.
        assert_eq!(c.when(&old, 11), "2026-01-01");
        assert_eq!(c.time_ago(&old), "2026-01-01 00:30:00 +01:00");
        let utc = Clock::fixed(now, FixedOffset::east_opt(0).unwrap());
        assert_eq!(utc.time(&t), "2026-11-27 13:57:00 UTC");
        assert_eq!(utc.ago(&(now - chrono::Duration::hours(30))), "1 d ago");
        assert_eq!(utc.ago(&now), "just now");
    }
}
