//! Virtual clocks: a plugin sees the issue date, never the host's time, so
//! an evaluation can be replayed and gives the same document.

use std::time::Duration;

use kofu_model::Date;
use wasmtime_wasi::{HostMonotonicClock, HostWallClock};

/// Wall clock frozen at 00:00 Japan time (UTC+9) on the issue date.
pub struct IssueDayClock {
    since_epoch: Duration,
}

impl IssueDayClock {
    pub fn new(date: Date) -> IssueDayClock {
        let days = days_from_civil(i64::from(date.year), i64::from(date.month), i64::from(date.day));
        let seconds = days * 86_400 - 9 * 3_600;
        IssueDayClock { since_epoch: Duration::from_secs(seconds.max(0) as u64) }
    }
}

impl HostWallClock for IssueDayClock {
    fn resolution(&self) -> Duration {
        Duration::from_secs(1)
    }

    fn now(&self) -> Duration {
        self.since_epoch
    }
}

/// Monotonic clock that never advances.
pub struct FrozenMonotonicClock;

impl HostMonotonicClock for FrozenMonotonicClock {
    fn resolution(&self) -> u64 {
        1_000_000_000
    }

    fn now(&self) -> u64 {
        0
    }
}

/// Days since 1970-01-01 (Howard Hinnant's civil-from-days inverse).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_index = (month + 9) % 12;
    let day_of_year = (153 * month_index + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issue_day_starts_at_midnight_in_japan() {
        let clock = IssueDayClock::new(Date::new(2025, 11, 21).unwrap());
        // 2025-11-20T15:00:00Z
        assert_eq!(clock.now().as_secs(), 1_763_650_800);
        assert_eq!(days_from_civil(1970, 1, 1), 0);
    }
}
