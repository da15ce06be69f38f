//! The resident register: one row per person, with a version that every
//! change bumps. An issuance records the versions it evaluated and commits
//! only if they are still current, so a status change between evaluation and
//! recording can never slip through (see `Store::record_issuance`).
//!
//! Every register write first takes the municipality's chain-head lock (see
//! `audit::lock_head`), as recording an issuance does. That serialises
//! imports and status changes per municipality on any number of hosts (no
//! lost update of a record read, changed and written back; register
//! positions stay unique) and orders each one entirely before or after each
//! issuance's version check — new household members included, which row
//! locks alone would miss.

use crate::db::{self, Row};
use kofu_model::Resident;
use kofu_register::{RegisterEntry, StatusChange};
use serde::Serialize;

use crate::audit::{self, Actor, AuditEvent, Change};
use crate::{Millis, Store, StoreError};
use serde_json::json;

/// Who imported a register file, and the file's digest and format.
pub struct RegisterImport<'a> {
    pub by: &'a Actor,
    pub file_digest: &'a str,
    /// `json` or `csv`.
    pub format: &'a str,
}

/// Who changed a resident's status, and why.
pub struct StatusChangeBy<'a> {
    pub actor: &'a Actor,
    pub reason: Option<&'a str>,
}

/// The top-level fields of a resident record that differ, and the detail of
/// a status change: those fields before and after, and the reason.
fn status_difference(
    before: &Resident,
    after: &Resident,
    reason: Option<&str>,
) -> Result<(Vec<String>, serde_json::Value), StoreError> {
    let as_object = |r: &Resident| match serde_json::to_value(r) {
        Ok(serde_json::Value::Object(map)) => Ok(map),
        _ => Err(StoreError::Invalid("a resident record is not a JSON object".into())),
    };
    let (before, after) = (as_object(before)?, as_object(after)?);
    let changed: Vec<String> = after.keys().filter(|k| before.get(*k) != after.get(*k)).cloned().collect();
    let pick = |map: &serde_json::Map<String, serde_json::Value>| {
        changed.iter().map(|k| (k.clone(), map.get(k).cloned().unwrap_or_default())).collect::<serde_json::Map<_, _>>()
    };
    let detail = json!({ "before": pick(&before), "after": pick(&after), "reason": reason });
    Ok((changed, detail))
}

/// A register row with its version.
#[derive(Debug, Clone)]
pub struct StoredResident {
    pub entry: RegisterEntry,
    pub version: i64,
    pub updated_at: Millis,
    /// When the municipality removed them from the register: refused at
    /// kiosks, out of households, deleted when retention ends.
    pub removed_at: Option<Millis>,
}

/// A request subject and every member of their household (the subject
/// included), in register order.
#[derive(Debug, Clone)]
pub struct Subject {
    pub subject: StoredResident,
    pub household: Vec<StoredResident>,
}

#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
pub struct ImportSummary {
    pub created: u64,
    pub updated: u64,
}

pub(crate) fn stored(row: &Row) -> Result<StoredResident, StoreError> {
    let record: String = row.try_get("record")?;
    let person: Resident = serde_json::from_str(&record).map_err(|e| StoreError::corrupt("a resident record", e))?;
    Ok(StoredResident {
        entry: RegisterEntry {
            id: row.try_get("id")?,
            household: row.try_get("household")?,
            test: row.try_get::<i64, _>("test")? != 0,
            person,
        },
        version: row.try_get("version")?,
        updated_at: row.try_get("updated_at")?,
        removed_at: row.try_get("removed_at")?,
    })
}

fn record_json(entry: &RegisterEntry) -> Result<String, StoreError> {
    serde_json::to_string(&entry.person).map_err(|e| StoreError::Invalid(format!("resident {}: {e}", entry.id)))
}

pub(crate) const UPSERT: &str = "INSERT INTO residents (municipality, id, household, position, test, record, version, updated_at) \
     VALUES ($1, $2, $3, (SELECT COALESCE(MAX(position), 0) + 1 FROM residents WHERE municipality = $1), $4, $5, 1, $6) \
     ON CONFLICT (municipality, id) DO UPDATE SET household = excluded.household, test = excluded.test, \
     record = excluded.record, version = residents.version + 1, updated_at = excluded.updated_at, \
     removed_at = NULL RETURNING version";

/// A page of the register in register order.
pub(crate) const RESIDENTS_PAGE: &str =
    "SELECT * FROM residents WHERE municipality = $1 AND position > $2 ORDER BY position LIMIT $3";

/// A resident's whole household, in register order; those removed from
/// the register are in none.
pub(crate) const SUBJECT: &str = "SELECT * FROM residents WHERE municipality = $1 AND removed_at IS NULL \
     AND household = (SELECT household FROM residents WHERE municipality = $1 AND id = $2 AND removed_at IS NULL) \
     ORDER BY position";

impl Store {
    /// Insert or replace every entry, all or nothing. New people go to the
    /// end of the register order; updated people keep their place.
    ///
    /// The audit entry holds the counts and `file_digest` (the SHA-256 of
    /// the file as sent), never the rows.
    pub async fn import_residents(
        &self,
        municipality: &str,
        entries: &[RegisterEntry],
        import: &RegisterImport<'_>,
        now: Millis,
    ) -> Result<ImportSummary, StoreError> {
        let mut tx = self.begin().await?;
        crate::audit::lock_head(&mut tx, municipality).await?;
        let mut summary = ImportSummary { created: 0, updated: 0 };
        for entry in entries {
            let version: i64 = db::query(UPSERT)
                .bind(municipality)
                .bind(&entry.id)
                .bind(&entry.household)
                .bind(i64::from(entry.test))
                .bind(record_json(entry)?)
                .bind(now)
                .fetch_one(&mut tx)
                .await?
                .try_get(0)?;
            if version == 1 {
                summary.created += 1;
            } else {
                summary.updated += 1;
            }
        }
        let data = json!({
            "rows": entries.len(),
            "created": summary.created,
            "updated": summary.updated,
            "format": import.format,
            "file_digest": import.file_digest,
        });
        let change = Change { event: AuditEvent::RegisterImport, by: import.by, data, detail: None };
        audit::append_change(&mut tx, municipality, change, now).await?;
        tx.commit().await?;
        Ok(summary)
    }

    pub async fn resident(&self, municipality: &str, id: &str) -> Result<Option<StoredResident>, StoreError> {
        let row = db::query("SELECT * FROM residents WHERE municipality = $1 AND id = $2")
            .bind(municipality)
            .bind(id)
            .fetch_optional(self)
            .await?;
        row.as_ref().map(stored).transpose()
    }

    /// Residents of a municipality in register order, a page at a time.
    pub async fn residents(
        &self,
        municipality: &str,
        after_position: i64,
        limit: i64,
    ) -> Result<Vec<(i64, StoredResident)>, StoreError> {
        let rows =
            db::query(RESIDENTS_PAGE).bind(municipality).bind(after_position).bind(limit).fetch_all(self).await?;
        rows.iter().map(|row| Ok((row.try_get::<i64, _>("position")?, stored(row)?))).collect()
    }

    /// Apply a status change in one transaction, with its audit entry, and
    /// return the new row. Lifting a restriction (a DV support measure)
    /// needs a reason; the entry names the fields changed and who changed
    /// them, its detail the values before and after and the reason.
    pub async fn change_status(
        &self,
        municipality: &str,
        id: &str,
        change: &StatusChange,
        by: &StatusChangeBy<'_>,
        now: Millis,
    ) -> Result<StoredResident, StoreError> {
        let mut tx = self.begin().await?;
        crate::audit::lock_head(&mut tx, municipality).await?;
        let row = db::query("SELECT * FROM residents WHERE municipality = $1 AND id = $2")
            .bind(municipality)
            .bind(id)
            .fetch_optional(&mut tx)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("there is no resident `{id}` in the register")))?;
        let mut current = stored(&row)?;
        let before = current.entry.person.clone();
        change.apply(&mut current.entry).map_err(|problem| StoreError::Invalid(problem.problem))?;
        let reason = by.reason.map(str::trim).filter(|r| !r.is_empty());
        if before.residency.restricted && !current.entry.person.residency.restricted && reason.is_none() {
            return Err(StoreError::Invalid(
                "lifting a restriction (a DV or other support measure) needs a `reason`: say why and on whose \
                 decision, e.g. \"support measure ended 2026-12-01, decision 第123号\""
                    .into(),
            ));
        }
        let (changed, detail) = status_difference(&before, &current.entry.person, reason)?;
        let version: i64 = db::query(
            "UPDATE residents SET record = $1, version = version + 1, updated_at = $2 \
             WHERE municipality = $3 AND id = $4 RETURNING version",
        )
        .bind(record_json(&current.entry)?)
        .bind(now)
        .bind(municipality)
        .bind(id)
        .fetch_one(&mut tx)
        .await?
        .try_get(0)?;
        let data = json!({ "resident": id, "changed": changed, "version": version });
        let entry = Change { event: AuditEvent::StatusChange, by: by.actor, data, detail: Some(detail) };
        audit::append_change(&mut tx, municipality, entry, now).await?;
        tx.commit().await?;
        current.version = version;
        current.updated_at = now;
        Ok(current)
    }

    /// The subject and their household, as the register holds them now.
    pub async fn subject(&self, municipality: &str, id: &str) -> Result<Option<Subject>, StoreError> {
        let rows = db::query(SUBJECT).bind(municipality).bind(id).fetch_all(self).await?;
        let household = rows.iter().map(stored).collect::<Result<Vec<_>, _>>()?;
        let Some(subject) = household.iter().find(|r| r.entry.id == id).cloned() else {
            return Ok(None);
        };
        Ok(Some(Subject { subject, household }))
    }
}
