//! Resident cards and PIN checks. The store never sees a PIN: the server
//! passes a keyed MAC of it (see the server's `pin` module), and the store
//! compares MACs and counts failures. Three wrong PINs lock the card until
//! its municipality unlocks it.
//!
//! Sign-ins for one card may run on several hosts at once. Each one's write
//! is a conditional `UPDATE` of the card row — "only while unlocked and
//! unrevoked" — which takes the row's lock, so they apply one at a time and
//! each sees the ones before: exactly the third wrong PIN locks, later ones
//! find the card locked, and a right PIN racing them opens a session only if
//! it came before the lock.

use crate::audit::{self, Actor, AuditEvent, Change};
use crate::db::{self, DbError, Row};
use serde::Serialize;
use serde_json::json;

use crate::sessions::{CloseReason, Session};
use crate::write::WriteTx;
use crate::{Millis, Store, StoreError, constant_time_eq};

/// Wrong PINs in a row that lock a card.
pub const MAX_PIN_FAILURES: i64 = 3;

#[derive(Debug, Clone, Serialize)]
pub struct Card {
    pub id: String,
    pub municipality: String,
    pub resident: String,
    #[serde(skip)]
    pub pin_mac: String,
    pub failed_attempts: i64,
    pub locked_at: Option<Millis>,
    pub created_at: Millis,
    pub revoked_at: Option<Millis>,
}

/// The outcome of a sign-in at a kiosk.
#[derive(Debug, Clone)]
pub enum PinCheck {
    Opened(Session),
    WrongPin {
        /// The card's municipality, for its metrics and log.
        municipality: String,
        attempts_left: i64,
    },
    /// Locked by this attempt (`now`) or before; the municipality must
    /// unlock it.
    Locked {
        municipality: String,
        now: bool,
    },
    /// No such card, or it was revoked: the same answer for both, so a kiosk
    /// cannot probe which card ids exist.
    Unknown,
}

pub(crate) fn card(row: &Row) -> Result<Card, DbError> {
    Ok(Card {
        id: row.try_get("id")?,
        municipality: row.try_get("municipality")?,
        resident: row.try_get("resident")?,
        pin_mac: row.try_get("pin_mac")?,
        failed_attempts: row.try_get("failed_attempts")?,
        locked_at: row.try_get("locked_at")?,
        created_at: row.try_get("created_at")?,
        revoked_at: row.try_get("revoked_at")?,
    })
}

/// Why a card cannot be signed in with, whatever the PIN.
fn refusal(card: &Card) -> Option<PinCheck> {
    if card.revoked_at.is_some() {
        Some(PinCheck::Unknown)
    } else if card.locked_at.is_some() {
        Some(PinCheck::Locked { municipality: card.municipality.clone(), now: false })
    } else {
        None
    }
}

impl Store {
    /// Issue a card for a (non-test) resident.
    pub async fn create_card(
        &self,
        id: &str,
        municipality: &str,
        resident: &str,
        pin_mac: &str,
        by: &Actor,
        now: Millis,
    ) -> Result<Card, StoreError> {
        let mut tx = self.begin().await?;
        // Ordered against register imports, which could make the resident a
        // test resident meanwhile.
        crate::audit::lock_head(&mut tx, municipality).await?;
        let test: Option<i64> =
            db::query("SELECT test FROM residents WHERE municipality = $1 AND id = $2 AND removed_at IS NULL")
                .bind(municipality)
                .bind(resident)
                .fetch_optional(&mut tx)
                .await?
                .map(|row| row.try_get(0))
                .transpose()?;
        match test {
            None => {
                return Err(StoreError::NotFound(format!(
                    "there is no resident `{resident}` in the register (or they were removed from it)"
                )));
            }
            Some(1) => {
                return Err(StoreError::Invalid(format!(
                    "resident `{resident}` is a test resident: test residents are for dry-runs and get no card"
                )));
            }
            Some(_) => {}
        }
        db::query(
            "INSERT INTO cards (id, municipality, resident, pin_mac, failed_attempts, created_at) VALUES ($1, $2, $3, $4, 0, $5)",
        )
        .bind(id)
        .bind(municipality)
        .bind(resident)
        .bind(pin_mac)
        .bind(now)
        .execute(&mut tx)
        .await?;
        let data = json!({ "card": id, "resident": resident });
        audit::append_change(
            &mut tx,
            municipality,
            Change { event: AuditEvent::CardIssued, by, data, detail: None },
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(Card {
            id: id.into(),
            municipality: municipality.into(),
            resident: resident.into(),
            pin_mac: pin_mac.into(),
            failed_attempts: 0,
            locked_at: None,
            created_at: now,
            revoked_at: None,
        })
    }

    pub async fn card(&self, municipality: &str, id: &str) -> Result<Option<Card>, StoreError> {
        let row = db::query("SELECT * FROM cards WHERE municipality = $1 AND id = $2")
            .bind(municipality)
            .bind(id)
            .fetch_optional(self)
            .await?;
        Ok(row.as_ref().map(card).transpose()?)
    }

    /// Clear the failure count and the lock, with its audit entry.
    pub async fn unlock_card(&self, municipality: &str, id: &str, by: &Actor, now: Millis) -> Result<bool, StoreError> {
        let statement = db::query(
            "UPDATE cards SET failed_attempts = 0, locked_at = NULL WHERE municipality = $1 AND id = $2 AND revoked_at IS NULL",
        )
        .bind(municipality)
        .bind(id);
        let change = Change { event: AuditEvent::CardUnlocked, by, data: json!({ "card": id }), detail: None };
        self.update_one_with_change(statement, municipality, change, now).await
    }

    /// Revoke a card and close its open kiosk sessions, in one transaction:
    /// a revoked card must not keep issuing through a session it opened.
    pub async fn revoke_card(&self, municipality: &str, id: &str, by: &Actor, now: Millis) -> Result<bool, StoreError> {
        let mut tx = self.begin().await?;
        let done =
            db::query("UPDATE cards SET revoked_at = $1 WHERE municipality = $2 AND id = $3 AND revoked_at IS NULL")
                .bind(now)
                .bind(municipality)
                .bind(id)
                .execute(&mut tx)
                .await?;
        if done.rows_affected() != 1 {
            tx.commit().await?;
            return Ok(false);
        }
        db::query("UPDATE sessions SET closed_at = $1, close_reason = $2 WHERE card = $3 AND closed_at IS NULL")
            .bind(now)
            .bind(CloseReason::CardRevoked.as_str())
            .bind(id)
            .execute(&mut tx)
            .await?;
        let data = json!({ "card": id });
        audit::append_change(
            &mut tx,
            municipality,
            Change { event: AuditEvent::CardRevoked, by, data, detail: None },
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Check a PIN and, if it is right, open a session bound to `kiosk`, all
    /// in one transaction: concurrent wrong PINs each count, and a card
    /// locked by one of them opens no session.
    pub async fn sign_in(
        &self,
        kiosk: &str,
        card_id: &str,
        pin_mac: &str,
        session_id: &str,
        now: Millis,
    ) -> Result<PinCheck, StoreError> {
        let mut tx = self.begin().await?;
        let row = db::query("SELECT * FROM cards WHERE id = $1").bind(card_id).fetch_optional(&mut tx).await?;
        let Some(found) = row.as_ref().map(card).transpose()? else {
            tx.commit().await?;
            return Ok(PinCheck::Unknown);
        };
        if let Some(settled) = refusal(&found) {
            tx.commit().await?;
            return Ok(settled);
        }
        // The PIN MAC never changes after issue, so comparing it against the
        // row read above is sound; the lock and count are decided below, on
        // the row as it is when this transaction gets its lock.
        if !constant_time_eq(&found.pin_mac, pin_mac) {
            let counted = db::query(
                "UPDATE cards SET failed_attempts = failed_attempts + 1, \
                 locked_at = CASE WHEN failed_attempts + 1 >= $1 THEN $2 ELSE NULL END \
                 WHERE id = $3 AND locked_at IS NULL AND revoked_at IS NULL RETURNING failed_attempts",
            )
            .bind(MAX_PIN_FAILURES)
            .bind(now)
            .bind(card_id)
            .fetch_optional(&mut tx)
            .await?;
            let Some(counted) = counted else {
                // Locked or revoked by a concurrent request.
                let settled = settled(&mut tx, card_id).await?;
                tx.commit().await?;
                return Ok(settled);
            };
            let attempts: i64 = counted.try_get(0)?;
            let municipality = found.municipality;
            if attempts < MAX_PIN_FAILURES {
                tx.commit().await?;
                return Ok(PinCheck::WrongPin { municipality, attempts_left: MAX_PIN_FAILURES - attempts });
            }
            // The lock is the municipality's to lift: in its chain, with
            // the kiosk it happened at.
            let data = json!({ "card": card_id, "kiosk": kiosk, "failed_attempts": attempts });
            let change = Change { event: AuditEvent::CardLocked, by: &Actor::Host, data, detail: None };
            audit::append_change(&mut tx, &municipality, change, now).await?;
            tx.commit().await?;
            return Ok(PinCheck::Locked { municipality, now: true });
        }
        let opened = db::query(
            "UPDATE cards SET failed_attempts = 0 WHERE id = $1 AND locked_at IS NULL AND revoked_at IS NULL \
             RETURNING municipality, resident",
        )
        .bind(card_id)
        .fetch_optional(&mut tx)
        .await?;
        let Some(opened) = opened else {
            let settled = settled(&mut tx, card_id).await?;
            tx.commit().await?;
            return Ok(settled);
        };
        let session = Session {
            id: session_id.into(),
            kiosk: kiosk.into(),
            card: found.id,
            municipality: opened.try_get(0)?,
            resident: opened.try_get(1)?,
            created_at: now,
            last_seen_at: now,
            closed_at: None,
            close_reason: None,
        };
        db::query(
            "INSERT INTO sessions (id, kiosk, card, municipality, resident, created_at, last_seen_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $6)",
        )
        .bind(&session.id)
        .bind(&session.kiosk)
        .bind(&session.card)
        .bind(&session.municipality)
        .bind(&session.resident)
        .bind(now)
        .execute(&mut tx)
        .await?;
        tx.commit().await?;
        Ok(PinCheck::Opened(session))
    }
}

/// The answer for a card a concurrent request locked or revoked, read
/// afresh (each statement sees every commit before it).
async fn settled(tx: &mut WriteTx, card_id: &str) -> Result<PinCheck, StoreError> {
    let row = db::query("SELECT * FROM cards WHERE id = $1").bind(card_id).fetch_optional(&mut *tx).await?;
    let Some(found) = row.as_ref().map(card).transpose()? else {
        return Ok(PinCheck::Unknown);
    };
    Ok(refusal(&found).unwrap_or(PinCheck::Locked { municipality: found.municipality, now: false }))
}
