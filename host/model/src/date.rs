use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A Gregorian calendar date, written `YYYY-MM-DD` in JSON and on the CLI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    pub year: u16,
    pub month: u8,
    pub day: u8,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{input}` is not a date: write it as YYYY-MM-DD, e.g. 2025-11-21 ({why})")]
pub struct DateError {
    input: String,
    why: &'static str,
}

impl Date {
    /// A checked date: month 1–12, day within the month (leap years included).
    pub fn new(year: u16, month: u8, day: u8) -> Option<Date> {
        if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
            return None;
        }
        Some(Date { year, month, day })
    }
}

impl Date {
    /// The calendar date in Japan (UTC+9) at `unix_seconds`.
    pub fn in_japan_at(unix_seconds: u64) -> Date {
        let days = (unix_seconds + 9 * 3_600) / 86_400;
        civil_from_days(days as i64)
    }

    /// Days since 1970-01-01, for date arithmetic.
    pub fn day_number(self) -> i64 {
        days_from_civil(self)
    }

    /// The date `days` after 1970-01-01.
    pub fn from_day_number(days: i64) -> Date {
        civil_from_days(days)
    }
}

/// Days since 1970-01-01 of a date (Howard Hinnant's days-from-civil).
pub(crate) fn days_from_civil(date: Date) -> i64 {
    let year = i64::from(date.year) - i64::from(date.month <= 2);
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month = i64::from(date.month);
    let day_of_year = (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5 + i64::from(date.day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// Howard Hinnant's days-to-civil algorithm (days since 1970-01-01).
pub(crate) fn civil_from_days(days: i64) -> Date {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z - era * 146_097;
    let year_of_era = (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * mp + 2) / 5 + 1) as u8;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
    let year = (year_of_era + era * 400 + i64::from(month <= 2)) as u16;
    Date { year, month, day }
}

fn days_in_month(year: u16, month: u8) -> u8 {
    match month {
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(year) => 29,
        2 => 28,
        _ => 31,
    }
}

fn is_leap(year: u16) -> bool {
    (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400)
}

impl FromStr for Date {
    type Err = DateError;

    fn from_str(input: &str) -> Result<Date, DateError> {
        let fail = |why| DateError { input: input.to_owned(), why };
        let parts: Vec<&str> = input.split('-').collect();
        let [y, m, d] = parts.as_slice() else {
            return Err(fail("expected three parts separated by '-'"));
        };
        if y.len() != 4 || m.len() != 2 || d.len() != 2 {
            return Err(fail("expected 4-digit year, 2-digit month and day"));
        }
        let number = |s: &str| s.parse::<u16>().map_err(|_| fail("not a number"));
        let (year, month, day) = (number(y)?, number(m)?, number(d)?);
        if year < 1868 {
            return Err(fail("years before 1868 are not supported"));
        }
        Date::new(year, month as u8, day as u8).ok_or_else(|| fail("no such day"))
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

impl Serialize for Date {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Date {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Date, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_iso_dates() {
        let date: Date = "2024-02-29".parse().unwrap();
        assert_eq!(date, Date { year: 2024, month: 2, day: 29 });
        assert_eq!(date.to_string(), "2024-02-29");
    }

    #[test]
    fn japan_date_from_unix_time() {
        // 2025-11-20T15:00:00Z is midnight of the 21st in Japan.
        assert_eq!(Date::in_japan_at(1_763_650_800), Date { year: 2025, month: 11, day: 21 });
        assert_eq!(Date::in_japan_at(1_763_650_799), Date { year: 2025, month: 11, day: 20 });
        assert_eq!(Date::in_japan_at(951_750_000), Date { year: 2000, month: 2, day: 29 });
    }

    #[test]
    fn rejects_impossible_dates_with_a_hint() {
        for bad in ["2023-02-29", "2025-13-01", "2025-1-1", "20250101", "abcd-01-01"] {
            let err = bad.parse::<Date>().unwrap_err().to_string();
            assert!(err.contains("YYYY-MM-DD"), "{bad}: {err}");
        }
    }
}
