//! Japanese era (和暦) dates and fiscal years, as printed on certificates.
//!
//! Supported from 1873-01-01 (明治6年), when Japan adopted the Gregorian
//! calendar; earlier dates were lunisolar and have no faithful conversion
//! here, so they are an error, never a panic.

use std::fmt;

use crate::Date;

/// An era and its first day (the day its year 1, 元年, begins).
struct Era {
    name: &'static str,
    start: (u16, u8, u8),
}

/// Newest first, so the first era that started on or before a date is its era.
const ERAS: [Era; 5] = [
    Era { name: "令和", start: (2019, 5, 1) },
    Era { name: "平成", start: (1989, 1, 8) },
    Era { name: "昭和", start: (1926, 12, 25) },
    Era { name: "大正", start: (1912, 7, 30) },
    // Meiji began in 1868, but dates are supported only from the calendar
    // reform; Meiji's year 1 is still 1868, so its offset stays right.
    Era { name: "明治", start: (1868, 1, 1) },
];

/// First supported date: 明治6年1月1日, the Gregorian calendar's adoption.
const FIRST_SUPPORTED: (u16, u8, u8) = (1873, 1, 1);

/// Why a date cannot be written in the Japanese calendar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EraError {
    /// The date is before 1873-01-01.
    BeforeGregorian(Date),
    /// The month or day does not exist (e.g. 2025-02-30).
    InvalidDate(Date),
}

impl fmt::Display for EraError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EraError::BeforeGregorian(d) => write!(
                f,
                "{:04}-{:02}-{:02} is before 1873-01-01, when Japan adopted the Gregorian calendar",
                d.year, d.month, d.day
            ),
            EraError::InvalidDate(d) => write!(f, "{:04}-{:02}-{:02} is not a calendar date", d.year, d.month, d.day),
        }
    }
}

impl std::error::Error for EraError {}

/// A year of an era, e.g. 令和7年; year 1 displays as 元年.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JapaneseYear {
    /// The era's name, e.g. 令和.
    pub era: &'static str,
    /// The year within the era, from 1.
    pub year: u16,
}

impl fmt::Display for JapaneseYear {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.year == 1 { write!(f, "{}元年", self.era) } else { write!(f, "{}{}年", self.era, self.year) }
    }
}

/// The era and era year of `date`.
pub fn japanese_year(date: Date) -> Result<JapaneseYear, EraError> {
    if !is_valid(date) {
        return Err(EraError::InvalidDate(date));
    }
    let key = (date.year, date.month, date.day);
    if key < FIRST_SUPPORTED {
        return Err(EraError::BeforeGregorian(date));
    }
    ERAS.iter()
        .find(|era| era.start <= key)
        // Year 1 is the start year, so the offset is start year - 1.
        .map(|era| JapaneseYear { era: era.name, year: date.year - era.start.0 + 1 })
        .ok_or(EraError::BeforeGregorian(date))
}

/// `date` in the Japanese calendar, e.g. 令和7年11月21日, 令和元年5月1日.
pub fn format_date(date: Date) -> Result<String, EraError> {
    let year = japanese_year(date)?;
    Ok(format!("{year}{}月{}日", date.month, date.day))
}

/// Like [`format_date`], but a date it cannot convert is written in the
/// Western calendar (e.g. 1870年1月1日) rather than failing: for printing a
/// recorded date that must appear on the certificate either way.
pub fn format_date_or_western(date: Date) -> String {
    format_date(date).unwrap_or_else(|_| format!("{}年{}月{}日", date.year, date.month, date.day))
}

/// A fiscal year (年度) in the Japanese calendar, e.g. 令和7年度.
///
/// A fiscal year begins on April 1 and is named after the era of that day,
/// so FY2019 is 平成31年度 (Reiwa began on May 1, 2019) and FY2020 is 令和2年度.
pub fn format_fiscal_year(fiscal_year: u16) -> Result<String, EraError> {
    let year = japanese_year(Date { year: fiscal_year, month: 4, day: 1 })?;
    Ok(format!("{year}度"))
}

/// Like [`format_fiscal_year`], falling back to the Western year (1870年度).
pub fn format_fiscal_year_or_western(fiscal_year: u16) -> String {
    format_fiscal_year(fiscal_year).unwrap_or_else(|_| format!("{fiscal_year}年度"))
}

fn is_valid(date: Date) -> bool {
    let leap = (date.year.is_multiple_of(4) && !date.year.is_multiple_of(100)) || date.year.is_multiple_of(400);
    let days = match date.month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days).contains(&date.day)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(year: u16, month: u8, day: u8) -> Date {
        Date { year, month, day }
    }

    fn ja(year: u16, month: u8, day: u8) -> String {
        format_date(date(year, month, day)).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn today() {
        assert_eq!(ja(2025, 11, 21), "令和7年11月21日");
    }

    #[test]
    fn era_boundaries_and_gannen() {
        assert_eq!(ja(2019, 4, 30), "平成31年4月30日");
        assert_eq!(ja(2019, 5, 1), "令和元年5月1日");
        assert_eq!(ja(2020, 1, 1), "令和2年1月1日");
        assert_eq!(ja(1989, 1, 7), "昭和64年1月7日");
        assert_eq!(ja(1989, 1, 8), "平成元年1月8日");
        assert_eq!(ja(1926, 12, 24), "大正15年12月24日");
        assert_eq!(ja(1926, 12, 25), "昭和元年12月25日");
        assert_eq!(ja(1912, 7, 29), "明治45年7月29日");
        assert_eq!(ja(1912, 7, 30), "大正元年7月30日");
        assert_eq!(ja(1873, 1, 1), "明治6年1月1日");
    }

    #[test]
    fn before_the_calendar_reform_is_an_error() {
        let early = date(1872, 12, 31);
        assert_eq!(format_date(early), Err(EraError::BeforeGregorian(early)));
        assert_eq!(format_date(date(0, 1, 1)), Err(EraError::BeforeGregorian(date(0, 1, 1))));
        assert_eq!(format_date_or_western(early), "1872年12月31日");
    }

    #[test]
    fn impossible_dates_are_an_error() {
        for bad in [date(2025, 2, 29), date(2025, 13, 1), date(2025, 0, 1), date(2025, 4, 31), date(2025, 1, 0)] {
            assert_eq!(format_date(bad), Err(EraError::InvalidDate(bad)));
        }
        assert_eq!(ja(2024, 2, 29), "令和6年2月29日");
        assert_eq!(format_date(date(1900, 2, 29)), Err(EraError::InvalidDate(date(1900, 2, 29))));
        assert_eq!(ja(2000, 2, 29), "平成12年2月29日");
    }

    #[test]
    fn fiscal_years_take_the_era_of_april_first() {
        let fy = |year| format_fiscal_year(year).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(fy(2025), "令和7年度");
        assert_eq!(fy(2020), "令和2年度");
        assert_eq!(fy(2019), "平成31年度");
        assert_eq!(fy(2018), "平成30年度");
        assert_eq!(fy(1989), "平成元年度");
        assert_eq!(fy(1988), "昭和63年度");
        assert_eq!(fy(1927), "昭和2年度");
        assert_eq!(fy(1926), "大正15年度");
        assert_eq!(fy(1912), "明治45年度");
        assert_eq!(fy(1873), "明治6年度");
        assert!(format_fiscal_year(1872).is_err());
        assert!(format_fiscal_year(0).is_err());
        assert_eq!(format_fiscal_year_or_western(1800), "1800年度");
    }

    #[test]
    fn japanese_year_parts() {
        assert_eq!(japanese_year(date(2019, 5, 1)), Ok(JapaneseYear { era: "令和", year: 1 }));
        assert_eq!(JapaneseYear { era: "昭和", year: 64 }.to_string(), "昭和64年");
    }
}
