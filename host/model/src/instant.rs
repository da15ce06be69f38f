//! Instants as people and other programs read them: RFC 3339 with an
//! offset, in Japan time (UTC+9, no daylight saving), where the host keeps
//! milliseconds since the Unix epoch.

use crate::date::{Date, civil_from_days, days_from_civil};

const JST_MS: i64 = 9 * 3_600 * 1_000;
const DAY_MS: i64 = 86_400_000;

/// `millis` since the epoch as RFC 3339 in Japan time, e.g.
/// `2026-12-07T17:40:05.123+09:00`.
pub fn rfc3339_in_japan(millis: i64) -> String {
    let local = millis + JST_MS;
    let days = local.div_euclid(86_400_000);
    let in_day = local.rem_euclid(86_400_000);
    let date = civil_from_days(days);
    let (h, m, s, ms) = (in_day / 3_600_000, in_day / 60_000 % 60, in_day / 1_000 % 60, in_day % 1_000);
    format!("{date}T{h:02}:{m:02}:{s:02}.{ms:03}+09:00")
}

/// The start, in Japan time, of the calendar day in Japan holding `millis`:
/// the first instant of "today" for figures by the day.
pub fn start_of_day_in_japan(millis: i64) -> i64 {
    (millis + JST_MS).div_euclid(DAY_MS) * DAY_MS - JST_MS
}

/// An RFC 3339 instant (`2026-12-07T09:00:00Z`, `…+09:00`, fractions of a
/// second allowed) or a date (`2026-12-07`, its start in Japan time), as
/// milliseconds since the epoch. `None` if it is neither.
pub fn parse_instant(text: &str) -> Option<i64> {
    if text.len() == 10 {
        let date: Date = text.parse().ok()?;
        return Some(days_from_civil(date) * 86_400_000 - JST_MS);
    }
    let (date, rest) = text.split_once(['T', 't'])?;
    let date: Date = date.parse().ok()?;
    let (clock, offset_ms) = if let Some(clock) = rest.strip_suffix(['Z', 'z']) {
        (clock, 0)
    } else {
        let at = rest.rfind(['+', '-'])?;
        let (clock, offset) = rest.split_at(at);
        let sign = if offset.starts_with('-') { -1 } else { 1 };
        let (oh, om) = offset[1..].split_once(':')?;
        if oh.len() != 2 || om.len() != 2 {
            return None;
        }
        let (oh, om): (i64, i64) = (oh.parse().ok()?, om.parse().ok()?);
        if oh > 23 || om > 59 {
            return None;
        }
        (clock, sign * (oh * 3_600_000 + om * 60_000))
    };
    let (hms, fraction) = clock.split_once('.').unwrap_or((clock, ""));
    let parts: Vec<&str> = hms.split(':').collect();
    let [h, m, s] = parts.as_slice() else { return None };
    if [h, m, s].iter().any(|p| p.len() != 2 || !p.bytes().all(|b| b.is_ascii_digit())) {
        return None;
    }
    let (h, m, s): (i64, i64, i64) = (h.parse().ok()?, m.parse().ok()?, s.parse().ok()?);
    if h > 23 || m > 59 || s > 60 || !fraction.bytes().all(|b| b.is_ascii_digit()) || fraction.len() > 9 {
        return None;
    }
    let ms = format!("{fraction:0<3}")[..3].parse::<i64>().ok()?;
    Some(days_from_civil(date) * 86_400_000 + ((h * 60 + m) * 60 + s) * 1_000 + ms - offset_ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_japan_time_and_reads_it_back() {
        // 2026-12-07T08:40:05.123Z
        let at = 1_796_632_805_123;
        assert_eq!(rfc3339_in_japan(at), "2026-12-07T17:40:05.123+09:00");
        assert_eq!(parse_instant("2026-12-07T17:40:05.123+09:00"), Some(at));
        assert_eq!(parse_instant("2026-12-07T08:40:05.123Z"), Some(at));
        assert_eq!(parse_instant("2026-12-07T03:40:05.1234-05:00"), Some(at));
        assert_eq!(rfc3339_in_japan(0), "1970-01-01T09:00:00.000+09:00");
    }

    #[test]
    fn a_date_is_its_start_in_japan() {
        assert_eq!(parse_instant("2026-12-07"), parse_instant("2026-12-07T00:00:00+09:00"));
        assert_eq!(rfc3339_in_japan(parse_instant("2026-12-07").unwrap()), "2026-12-07T00:00:00.000+09:00");
    }

    #[test]
    fn a_day_in_japan_starts_at_midnight_japan_time() {
        let midnight = parse_instant("2026-12-07").unwrap();
        // 2026-12-07T08:40:05.123Z is 17:40 in Japan, the same day; 23:59
        // UTC on the 6th is already the 7th there.
        for at in [midnight, 1_796_632_805_123, midnight + DAY_MS - 1, parse_instant("2026-12-06T23:59:00Z").unwrap()] {
            assert_eq!(start_of_day_in_japan(at), midnight, "{}", rfc3339_in_japan(at));
        }
        assert_eq!(start_of_day_in_japan(midnight - 1), midnight - DAY_MS);
    }

    #[test]
    fn refuses_what_is_not_an_instant() {
        for bad in ["", "yesterday", "2026-13-01", "2026-12-07T25:00:00Z", "2026-12-07T10:00:00", "2026-12-07 10:00Z"] {
            assert_eq!(parse_instant(bad), None, "{bad}");
        }
    }
}
