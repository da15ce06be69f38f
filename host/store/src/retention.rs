//! Removing a resident from the register, and retention: what personal
//! data the store erases once its time is up. The audit chain is never
//! touched (it holds digests), so it verifies after every purge.

use serde::Serialize;
use serde_json::json;

use crate::audit::{self, Actor, AuditEvent, Change};
use crate::db;
use crate::{Millis, Store, StoreError};

/// Before when each kind of personal data is erased.
#[derive(Debug, Clone, Copy)]
pub struct PurgeBefore {
    /// Issuance inputs recorded before this (the issuance rows stay).
    pub inputs: Millis,
    /// Audit details of entries appended before this.
    pub audit_details: Millis,
    /// Residents removed before this, with their cards and sessions.
    pub removed_residents: Millis,
}

/// What one purge erased, in one municipality.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Purged {
    pub inputs: u64,
    pub audit_details: u64,
    pub residents: u64,
    pub cards: u64,
}

impl Purged {
    fn is_empty(&self) -> bool {
        *self == Purged::default()
    }
}

impl Store {
    /// Remove resident `id` from the register: refused at kiosks from now
    /// on, left out of their household's certificates, their live cards
    /// revoked. The row stays until retention deletes it; an import of the
    /// same id brings it back. `false` when there is no such resident, or
    /// they were removed already.
    pub async fn remove_resident(
        &self,
        municipality: &str,
        id: &str,
        reason: &str,
        by: &Actor,
        now: Millis,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin().await?;
        audit::lock_head(&mut tx, municipality).await?;
        let removed = db::query(
            "UPDATE residents SET removed_at = $1, version = version + 1, updated_at = $1 \
             WHERE municipality = $2 AND id = $3 AND removed_at IS NULL",
        )
        .bind(now)
        .bind(municipality)
        .bind(id)
        .execute(&mut tx)
        .await?;
        if removed.rows_affected() == 0 {
            tx.commit().await?;
            return Ok(false);
        }
        let cards = db::query(
            "UPDATE cards SET revoked_at = $1 WHERE municipality = $2 AND resident = $3 AND revoked_at IS NULL",
        )
        .bind(now)
        .bind(municipality)
        .bind(id)
        .execute(&mut tx)
        .await?
        .rows_affected();
        let data = json!({ "resident": id, "cards_revoked": cards });
        let detail = Some(json!({ "reason": reason }));
        audit::append_change(
            &mut tx,
            municipality,
            Change { event: AuditEvent::ResidentRemoved, by, data, detail },
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Erase what retention no longer keeps, in every municipality, each
    /// purge with its `retention-purge` audit entry (counts only).
    pub async fn purge(&self, before: PurgeBefore, now: Millis) -> Result<Vec<(String, Purged)>, StoreError> {
        let mut done = Vec::new();
        for municipality in self.municipalities().await? {
            let purged = self.purge_one(&municipality.code, before, now).await?;
            if !purged.is_empty() {
                done.push((municipality.code, purged));
            }
        }
        Ok(done)
    }

    async fn purge_one(&self, municipality: &str, before: PurgeBefore, now: Millis) -> Result<Purged, StoreError> {
        let mut tx = self.begin().await?;
        audit::lock_head(&mut tx, municipality).await?;
        let inputs =
            db::query("UPDATE issuances SET input = '' WHERE municipality = $1 AND created_at < $2 AND input <> ''")
                .bind(municipality)
                .bind(before.inputs)
                .execute(&mut tx)
                .await?
                .rows_affected();
        let audit_details = db::query(
            "DELETE FROM audit_details WHERE municipality = $1 AND seq IN \
             (SELECT seq FROM audit_log WHERE municipality = $1 AND at < $2)",
        )
        .bind(municipality)
        .bind(before.audit_details)
        .execute(&mut tx)
        .await?
        .rows_affected();
        let gone = "SELECT id FROM residents WHERE municipality = $1 AND removed_at < $2";
        db::query(format!(
            "DELETE FROM sessions WHERE card IN (SELECT id FROM cards WHERE municipality = $1 AND resident IN ({gone}))"
        ))
        .bind(municipality)
        .bind(before.removed_residents)
        .execute(&mut tx)
        .await?;
        let cards = db::query(format!("DELETE FROM cards WHERE municipality = $1 AND resident IN ({gone})"))
            .bind(municipality)
            .bind(before.removed_residents)
            .execute(&mut tx)
            .await?
            .rows_affected();
        let residents = db::query("DELETE FROM residents WHERE municipality = $1 AND removed_at < $2")
            .bind(municipality)
            .bind(before.removed_residents)
            .execute(&mut tx)
            .await?
            .rows_affected();
        let purged = Purged { inputs, audit_details, residents, cards };
        if purged.is_empty() {
            tx.commit().await?;
            return Ok(purged);
        }
        let data = serde_json::to_value(purged).map_err(|e| StoreError::Invalid(format!("purge counts: {e}")))?;
        let change = Change { event: AuditEvent::RetentionPurge, by: &Actor::Host, data, detail: None };
        audit::append_change(&mut tx, municipality, change, now).await?;
        tx.commit().await?;
        Ok(purged)
    }
}
