//! Issuance counts per municipality over a span of time, for the vendor's
//! console: counts by outcome and nothing else, so no personal data.

use serde::Serialize;

use crate::db::{self, Row};
use crate::issuances::Outcome;
use crate::{Millis, Store, StoreError};

/// Every municipality with its issuances of `from <= created_at < until`,
/// by outcome. The join starts from `municipalities`, so one with none
/// still has its row (an outcome of NULL, a count of 0), and each
/// municipality's span is a seek of `issuances_by_time`, not a scan.
pub(crate) const ISSUANCE_COUNTS: &str = "SELECT m.code, m.name, i.outcome, COUNT(i.id) AS n \
     FROM municipalities m LEFT JOIN issuances i \
     ON i.municipality = m.code AND i.created_at >= $1 AND i.created_at < $2 \
     GROUP BY m.code, m.name, i.outcome ORDER BY m.code";

/// One municipality's issuances in a span, by outcome.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct OutcomeCounts {
    pub issued: u64,
    pub refused: u64,
    pub failed: u64,
}

impl OutcomeCounts {
    fn add(&mut self, outcome: Outcome, n: u64) {
        match outcome {
            Outcome::Issued => self.issued += n,
            Outcome::Refused => self.refused += n,
            Outcome::Failed => self.failed += n,
        }
    }
}

/// A municipality's counts in a span.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MunicipalityCounts {
    pub code: String,
    pub name: String,
    pub counts: OutcomeCounts,
}

impl Store {
    /// Every municipality's issuances recorded in `from <= at < until`, by
    /// outcome, in code order; one with none has zero counts.
    pub async fn issuance_counts(&self, from: Millis, until: Millis) -> Result<Vec<MunicipalityCounts>, StoreError> {
        let rows = db::query(ISSUANCE_COUNTS).bind(from).bind(until).fetch_all(self).await?;
        let mut found: Vec<MunicipalityCounts> = Vec::new();
        for row in &rows {
            let (code, name, outcome, n) = counted(row)?;
            if found.last().is_none_or(|last| last.code != code) {
                found.push(MunicipalityCounts { code, name, counts: OutcomeCounts::default() });
            }
            if let (Some(outcome), Some(last)) = (outcome, found.last_mut()) {
                last.counts.add(outcome, n);
            }
        }
        Ok(found)
    }
}

/// One row of [`ISSUANCE_COUNTS`]: code, name, outcome (none for a
/// municipality without issuances in the span) and count.
fn counted(row: &Row) -> Result<(String, String, Option<Outcome>, u64), StoreError> {
    let outcome: Option<String> = row.try_get(2)?;
    let outcome = outcome.as_deref().map(Outcome::parse).transpose()?;
    let n: i64 = row.try_get(3)?;
    let n = u64::try_from(n).map_err(|_| StoreError::corrupt("an issuance count", n))?;
    Ok((row.try_get(0)?, row.try_get(1)?, outcome, n))
}
