//! The vendor's figures: every municipality's issuances in the last hour and
//! today (the calendar day in Japan), by outcome. Counts only, no personal
//! data.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use kofu_issue::HOST_BUILD;
use kofu_model::{Date, rfc3339_in_japan, start_of_day_in_japan};
use kofu_store::{Millis, MunicipalityCounts, OutcomeCounts, now_millis};
use serde::Serialize;

use crate::auth::Vendor;
use crate::error::ApiError;
use crate::state::AppState;

const HOUR_MS: Millis = 3_600_000;

/// Where a window of the figures starts; every window ends at `at`.
#[derive(Serialize)]
pub struct Window {
    /// RFC 3339, Japan time.
    pub from: String,
    pub from_ms: Millis,
}

#[derive(Serialize)]
pub struct Windows {
    pub last_hour: Window,
    pub today: Window,
}

/// One municipality's issuances in each window, by outcome.
#[derive(Serialize)]
pub struct MunicipalityStats {
    pub code: String,
    pub name: String,
    pub last_hour: OutcomeCounts,
    pub today: OutcomeCounts,
}

#[derive(Serialize)]
pub struct Stats {
    /// When the figures were read: RFC 3339, Japan time.
    pub at: String,
    pub at_ms: Millis,
    /// Today's date in Japan.
    pub date: Date,
    /// The build of the host that answered.
    pub build: &'static str,
    pub windows: Windows,
    /// Every municipality, in code order, those without issuances too.
    pub municipalities: Vec<MunicipalityStats>,
}

fn window(from: Millis) -> Window {
    Window { from: rfc3339_in_japan(from), from_ms: from }
}

/// Every municipality's issuances by outcome, in the last hour and today.
pub async fn issuances(State(state): State<AppState>, _vendor: Vendor) -> Result<Json<Stats>, ApiError> {
    let at = now_millis();
    let (hour_from, day_from) = (at - HOUR_MS, start_of_day_in_japan(at));
    // Up to and including `at`: the windows are half-open.
    let last_hour = state.store().issuance_counts(hour_from, at + 1).await?;
    let today = state.store().issuance_counts(day_from, at + 1).await?;
    Ok(Json(Stats {
        at: rfc3339_in_japan(at),
        at_ms: at,
        date: Date::in_japan_at((at / 1000) as u64),
        build: HOST_BUILD,
        windows: Windows { last_hour: window(hour_from), today: window(day_from) },
        municipalities: merge(last_hour, today),
    }))
}

/// The two windows' counts side by side. Each query lists every
/// municipality; one created between them is in the second only and gets
/// zeros for the first.
fn merge(last_hour: Vec<MunicipalityCounts>, today: Vec<MunicipalityCounts>) -> Vec<MunicipalityStats> {
    let mut by_code = BTreeMap::new();
    for m in last_hour {
        stats_of(&mut by_code, m.code, m.name).last_hour = m.counts;
    }
    for m in today {
        stats_of(&mut by_code, m.code, m.name).today = m.counts;
    }
    by_code.into_values().collect()
}

fn stats_of(by_code: &mut BTreeMap<String, MunicipalityStats>, code: String, name: String) -> &mut MunicipalityStats {
    by_code.entry(code.clone()).or_insert_with(|| MunicipalityStats {
        code,
        name,
        last_hour: OutcomeCounts::default(),
        today: OutcomeCounts::default(),
    })
}
