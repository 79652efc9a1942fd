//! Quiet hours: no push between 21:00 and 08:00 in the recipient's IANA time zone.
//!
//! Computed on local wall-clock time with chrono-tz, so a DST change (Europe/Paris on the last
//! Sundays of March and October) moves the UTC instant of 08:00, not the local hour.

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Timelike, Utc};
use chrono_tz::Tz;

/// Local hour at which quiet hours begin (inclusive).
pub const QUIET_FROM: u32 = 21;
/// Local hour at which they end (exclusive): the morning's first push goes out then.
pub const QUIET_UNTIL: u32 = 8;

/// Whether `at` falls in the quiet hours of `tz`.
pub fn is_quiet(tz: Tz, at: DateTime<Utc>) -> bool {
    let hour = at.with_timezone(&tz).hour();
    !(QUIET_UNTIL..QUIET_FROM).contains(&hour)
}

/// When a push that would go out at `at` may go out: `at` itself, or the next 08:00 local.
pub fn not_before(tz: Tz, at: DateTime<Utc>) -> DateTime<Utc> {
    if !is_quiet(tz, at) {
        return at;
    }
    let local = at.with_timezone(&tz);
    let day = if local.hour() >= QUIET_FROM { local.date_naive() + Duration::days(1) } else { local.date_naive() };
    local_instant(tz, day, NaiveTime::from_hms_opt(QUIET_UNTIL, 0, 0).unwrap_or_default())
}

/// The UTC instant of a local wall-clock time: the earlier one when the time happens twice (the
/// autumn change), the first existing one after it when it is skipped (the spring gap).
pub fn local_instant(tz: Tz, day: NaiveDate, time: NaiveTime) -> DateTime<Utc> {
    let mut naive: NaiveDateTime = day.and_time(time);
    // A gap is at most a few hours; step forward by 15 minutes until the time exists.
    for _ in 0..4 * 24 {
        if let Some(t) = tz.from_local_datetime(&naive).earliest() {
            return t.with_timezone(&Utc);
        }
        naive += Duration::minutes(15);
    }
    naive.and_utc()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::{America, Europe, Pacific};

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap_or_default().with_timezone(&Utc)
    }

    #[test]
    fn daytime_goes_out_at_once() {
        // 12:00 UTC is 13:00 in Paris (winter).
        assert_eq!(not_before(Europe::Paris, utc("2026-01-15T12:00:00Z")), utc("2026-01-15T12:00:00Z"));
    }

    #[test]
    fn evening_waits_until_next_morning_and_night_until_this_morning() {
        // 21:30 Paris (winter, UTC+1) → 08:00 next day = 07:00 UTC.
        assert_eq!(not_before(Europe::Paris, utc("2026-01-15T20:30:00Z")), utc("2026-01-16T07:00:00Z"));
        // 03:00 Paris → 08:00 the same day.
        assert_eq!(not_before(Europe::Paris, utc("2026-01-16T02:00:00Z")), utc("2026-01-16T07:00:00Z"));
        // 20:59 is still allowed, 08:00 is allowed.
        assert!(!is_quiet(Europe::Paris, utc("2026-01-15T19:59:00Z")));
        assert!(!is_quiet(Europe::Paris, utc("2026-01-16T07:00:00Z")));
    }

    #[test]
    fn spring_forward_in_paris() {
        // 2026-03-29 is the last Sunday of March: 02:00 → 03:00. 22:00 on Saturday (UTC+1) is
        // 21:00 UTC; the next 08:00 is in summer time (UTC+2): 06:00 UTC, only 9 hours later.
        assert_eq!(not_before(Europe::Paris, utc("2026-03-28T21:00:00Z")), utc("2026-03-29T06:00:00Z"));
        // 01:30 local on the night of the change (00:30 UTC).
        assert_eq!(not_before(Europe::Paris, utc("2026-03-29T00:30:00Z")), utc("2026-03-29T06:00:00Z"));
        // A skipped local time resolves to the first time after the gap.
        let day = NaiveDate::from_ymd_opt(2026, 3, 29).unwrap_or_default();
        let t = NaiveTime::from_hms_opt(2, 30, 0).unwrap_or_default();
        assert_eq!(local_instant(Europe::Paris, day, t), utc("2026-03-29T01:00:00Z"));
    }

    #[test]
    fn fall_back_in_paris() {
        // 2026-10-25 is the last Sunday of October: 03:00 → 02:00. 23:00 Saturday (UTC+2) is 21:00
        // UTC; 08:00 Sunday is winter time (UTC+1): 07:00 UTC, 10 hours later.
        assert_eq!(not_before(Europe::Paris, utc("2026-10-24T21:00:00Z")), utc("2026-10-25T07:00:00Z"));
        // 02:30 happens twice: the earlier (summer) one is taken.
        let day = NaiveDate::from_ymd_opt(2026, 10, 25).unwrap_or_default();
        let t = NaiveTime::from_hms_opt(2, 30, 0).unwrap_or_default();
        assert_eq!(local_instant(Europe::Paris, day, t), utc("2026-10-25T00:30:00Z"));
    }

    #[test]
    fn noumea_is_on_the_other_side_of_midnight_utc() {
        // Nouméa is UTC+11 with no DST. 10:00 UTC is 21:00 local: quiet, until 08:00 local the
        // next day = 21:00 UTC the same UTC day.
        assert!(is_quiet(Pacific::Noumea, utc("2026-01-15T10:00:00Z")));
        assert_eq!(not_before(Pacific::Noumea, utc("2026-01-15T10:00:00Z")), utc("2026-01-15T21:00:00Z"));
        // 23:00 UTC is 10:00 local on the next calendar day: allowed.
        assert!(!is_quiet(Pacific::Noumea, utc("2026-01-15T23:00:00Z")));
    }

    #[test]
    fn cayenne_is_behind_utc() {
        // Cayenne is UTC−3. 01:00 UTC is 22:00 local the previous day → 08:00 local = 11:00 UTC.
        assert_eq!(not_before(America::Cayenne, utc("2026-03-29T01:00:00Z")), utc("2026-03-29T11:00:00Z"));
        // While Paris changes its clocks, Cayenne does not move.
        assert_eq!(not_before(America::Cayenne, utc("2026-10-25T10:00:00Z")), utc("2026-10-25T11:00:00Z"));
    }
}
