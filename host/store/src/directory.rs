//! Listing a municipality's residents and cards, with filters, a page at
//! a time. Filters on columns narrow the query; filters on the record
//! itself (name, residency) are applied to a bounded scan, and the cursor
//! says where the next page's scan starts.

use serde::Deserialize;

use crate::cards::{Card, card};
use crate::db::{self, Value};
use crate::register::{StoredResident, stored};
use crate::{Store, StoreError};

/// Rows of the register one page looks at, at most, for the filters on
/// the record: a page may come back short, with a cursor to go on.
pub const RESIDENT_SCAN: i64 = 5_000;

/// Which residents to list.
#[derive(Debug, Clone, Default)]
pub struct ResidentFilter {
    pub household: Option<String>,
    pub test: Option<bool>,
    /// Include those removed from the register (kept until retention).
    pub removed: bool,
    /// Part of the name or its kana, white space ignored.
    pub name: Option<String>,
    /// `resident`, `moved-out` or `deceased`.
    pub state: Option<String>,
    /// Under a DV or other support measure.
    pub restricted: Option<bool>,
}

/// A page of residents, and where the next page starts (`None`: the end).
pub struct ResidentPage {
    pub residents: Vec<StoredResident>,
    pub next: Option<i64>,
}

/// A card's state, for the card list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CardState {
    /// Usable at kiosks.
    Live,
    /// Locked after three wrong PINs.
    Locked,
    Revoked,
}

fn squashed(text: &str) -> String {
    text.chars().filter(|c| !c.is_whitespace()).collect()
}

impl ResidentFilter {
    fn matches(&self, resident: &StoredResident) -> bool {
        let person = &resident.entry.person;
        let name_ok =
            self.name.as_deref().map(squashed).is_none_or(|part| {
                squashed(&person.name).contains(&part) || squashed(&person.name_kana).contains(&part)
            });
        let state_ok = self.state.as_deref().is_none_or(|state| {
            serde_json::to_value(person.residency.state).ok().and_then(|v| v.as_str().map(|s| s == state)) == Some(true)
        });
        name_ok && state_ok && self.restricted.is_none_or(|r| person.residency.restricted == r)
    }
}

impl Store {
    /// Residents in register order after `after` (a position), filtered.
    pub async fn list_residents(
        &self,
        municipality: &str,
        filter: &ResidentFilter,
        after: i64,
        limit: i64,
    ) -> Result<ResidentPage, StoreError> {
        let mut sql = "SELECT * FROM residents WHERE municipality = $1 AND position > $2".to_owned();
        let mut args: Vec<Value> = vec![municipality.to_owned().into(), after.into()];
        if let Some(household) = &filter.household {
            args.push(household.clone().into());
            sql.push_str(&format!(" AND household = ${}", args.len()));
        }
        if let Some(test) = filter.test {
            args.push(i64::from(test).into());
            sql.push_str(&format!(" AND test = ${}", args.len()));
        }
        if !filter.removed {
            sql.push_str(" AND removed_at IS NULL");
        }
        let on_record = filter.name.is_some() || filter.state.is_some() || filter.restricted.is_some();
        let scan = if on_record { RESIDENT_SCAN } else { limit };
        args.push(scan.into());
        sql.push_str(&format!(" ORDER BY position LIMIT ${}", args.len()));
        let mut query = db::query(sql);
        for arg in args {
            query = query.bind(arg);
        }
        let rows = query.fetch_all(self).await?;
        let mut residents = Vec::new();
        let mut last = None;
        for row in &rows {
            let position: i64 = row.try_get("position")?;
            let resident = stored(row)?;
            last = Some(position);
            if filter.matches(&resident) {
                residents.push(resident);
                if residents.len() as i64 == limit {
                    break;
                }
            }
        }
        // More may follow when the page filled up or the scan did.
        let full = residents.len() as i64 == limit || rows.len() as i64 == scan;
        Ok(ResidentPage { residents, next: if full { last } else { None } })
    }

    /// Cards of the municipality after id `after`, in id order, filtered
    /// by resident and state.
    pub async fn list_cards(
        &self,
        municipality: &str,
        resident: Option<&str>,
        state: Option<CardState>,
        after: &str,
        limit: i64,
    ) -> Result<Vec<Card>, StoreError> {
        let mut sql = "SELECT * FROM cards WHERE municipality = $1 AND id > $2".to_owned();
        let mut args: Vec<Value> = vec![municipality.to_owned().into(), after.to_owned().into()];
        if let Some(resident) = resident {
            args.push(resident.to_owned().into());
            sql.push_str(&format!(" AND resident = ${}", args.len()));
        }
        sql.push_str(match state {
            None => "",
            Some(CardState::Live) => " AND revoked_at IS NULL AND locked_at IS NULL",
            Some(CardState::Locked) => " AND revoked_at IS NULL AND locked_at IS NOT NULL",
            Some(CardState::Revoked) => " AND revoked_at IS NOT NULL",
        });
        args.push(limit.into());
        sql.push_str(&format!(" ORDER BY id LIMIT ${}", args.len()));
        let mut query = db::query(sql);
        for arg in args {
            query = query.bind(arg);
        }
        let rows = query.fetch_all(self).await?;
        Ok(rows.iter().map(card).collect::<Result<_, _>>()?)
    }
}
