//! Municipalities, their API tokens, and kiosks: the vendor's records.
//! Tokens and kiosk credentials are stored only as SHA-256 hashes (they are
//! long random strings, so a fast hash is enough: there is nothing to guess).

use crate::db::{self, DbError, Row};
use std::time::Duration;

use kofu_model::{Date, Municipality};
use serde::Serialize;

use crate::audit::{self, Actor, AuditEvent, Change};
use crate::{Millis, Store, StoreError};
use serde_json::json;

#[derive(Debug, Clone, Serialize)]
pub struct TokenInfo {
    pub id: String,
    pub municipality: String,
    pub label: String,
    pub created_at: Millis,
    pub revoked_at: Option<Millis>,
}

#[derive(Debug, Clone, Serialize)]
pub struct KioskInfo {
    pub id: String,
    pub label: String,
    pub created_at: Millis,
    pub revoked_at: Option<Millis>,
}

fn municipality(row: &Row) -> Result<Municipality, DbError> {
    Ok(Municipality {
        code: row.try_get("code")?,
        name: row.try_get("name")?,
        mayor_title: row.try_get("mayor_title")?,
        mayor_name: row.try_get("mayor_name")?,
    })
}

const MUNICIPALITY: &str = "SELECT * FROM municipalities WHERE code = $1";
const MAYOR_TERMS: &str = "SELECT from_date, title, name FROM mayor_terms WHERE municipality = $1 ORDER BY from_date";

/// A municipality's row and its mayors' terms, as read now.
fn known(row: &Row, terms: &[Row]) -> Result<KnownMunicipality, StoreError> {
    Ok(KnownMunicipality {
        record: municipality(row)?,
        terms: terms.iter().map(mayor_term).collect::<Result<_, _>>()?,
        read_at: std::time::Instant::now(),
    })
}

fn mayor_term(row: &Row) -> Result<MayorTerm, StoreError> {
    let from: String = row.try_get("from_date")?;
    Ok(MayorTerm {
        from: from.parse().map_err(|e| StoreError::corrupt("a mayor's term", e))?,
        title: row.try_get("title")?,
        name: row.try_get("name")?,
    })
}

/// How long a host answers from its copy of a municipality's record: the
/// longest another host's edit takes to reach its certificates. Enter a
/// new mayor's term ahead of its first day and none is late.
pub const MUNICIPALITY_CACHE_TTL: Duration = Duration::from_secs(5);

/// A mayor in office from a day on (an election's result, entered ahead).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MayorTerm {
    /// The first day in office, in Japan.
    pub from: Date,
    pub title: String,
    pub name: String,
}

/// What an edit of a municipality changes.
#[derive(Debug, Clone, Default, Serialize)]
pub struct MunicipalityUpdate {
    pub name: Option<String>,
    pub mayor: Option<MayorTerm>,
}

/// A municipality's record as read, with its mayors' terms.
#[derive(Debug, Clone)]
pub(crate) struct KnownMunicipality {
    record: Municipality,
    /// Earliest first.
    terms: Vec<MayorTerm>,
    read_at: std::time::Instant,
}

impl KnownMunicipality {
    /// The record with the mayor in office on `date`: the latest term begun
    /// by then, else the mayor the record was created with.
    fn on(&self, date: Date) -> Municipality {
        let mut record = self.record.clone();
        if let Some(term) = self.terms.iter().rev().find(|t| t.from <= date) {
            record.mayor_title.clone_from(&term.title);
            record.mayor_name.clone_from(&term.name);
        }
        record
    }
}

fn token(row: &Row) -> Result<TokenInfo, DbError> {
    Ok(TokenInfo {
        id: row.try_get("id")?,
        municipality: row.try_get("municipality")?,
        label: row.try_get("label")?,
        created_at: row.try_get("created_at")?,
        revoked_at: row.try_get("revoked_at")?,
    })
}

fn kiosk(row: &Row) -> Result<KioskInfo, DbError> {
    Ok(KioskInfo {
        id: row.try_get("id")?,
        label: row.try_get("label")?,
        created_at: row.try_get("created_at")?,
        revoked_at: row.try_get("revoked_at")?,
    })
}

impl Store {
    pub async fn create_municipality(&self, m: &Municipality, now: Millis) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        let result = db::query(
            "INSERT INTO municipalities (code, name, mayor_title, mayor_name, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&m.code)
        .bind(&m.name)
        .bind(&m.mayor_title)
        .bind(&m.mayor_name)
        .bind(now)
        .execute(&mut tx)
        .await;
        match result {
            Ok(_) => {
                let data = json!({ "code": m.code, "name": m.name });
                let change = Change { event: AuditEvent::MunicipalityCreated, by: &Actor::Vendor, data, detail: None };
                audit::append_change(&mut tx, audit::VENDOR_CHAIN, change, now).await?;
                tx.commit().await
            }
            Err(e) if e.is_unique_violation() => {
                Err(StoreError::Conflict(format!("municipality {} already exists", m.code)))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// The municipality `code`, with the mayor in office today (in Japan).
    pub async fn municipality(&self, code: &str) -> Result<Option<Municipality>, StoreError> {
        let today = Date::in_japan_at((crate::now_millis() / 1000) as u64);
        self.municipality_on(code, today).await
    }

    /// The municipality `code` as a certificate issued on `date` names it:
    /// the mayor is the one whose term had begun by then.
    ///
    /// A record read is kept in memory for [`MUNICIPALITY_CACHE_TTL`], so a
    /// kiosk issuance does not ask the database twice; the host that edits
    /// a record forgets its copy at once, and other hosts see the change
    /// within that time. A code not found is asked again.
    pub async fn municipality_on(&self, code: &str, date: Date) -> Result<Option<Municipality>, StoreError> {
        let fresh = |known: &&KnownMunicipality| known.read_at.elapsed() < MUNICIPALITY_CACHE_TTL;
        // The record for the date is made under the read lock: a kiosk
        // issuance copies one record, not the terms.
        if let Some(record) =
            self.municipalities.read().ok().and_then(|m| m.get(code).filter(fresh).map(|k| k.on(date)))
        {
            return Ok(Some(record));
        }
        let Some(known) = self.read_municipality(code).await? else { return Ok(None) };
        let record = known.on(date);
        if let Ok(mut all) = self.municipalities.write() {
            all.insert(code.to_owned(), known);
        }
        Ok(Some(record))
    }

    /// The mayors' terms entered for `code`, earliest first.
    pub async fn mayor_terms(&self, code: &str) -> Result<Vec<MayorTerm>, StoreError> {
        Ok(self.read_municipality(code).await?.map(|k| k.terms).unwrap_or_default())
    }

    async fn read_municipality(&self, code: &str) -> Result<Option<KnownMunicipality>, StoreError> {
        let row = db::query(MUNICIPALITY).bind(code).fetch_optional(self).await?;
        let Some(row) = row else { return Ok(None) };
        let terms = db::query(MAYOR_TERMS).bind(code).fetch_all(self).await?;
        known(&row, &terms).map(Some)
    }

    /// Change `code`'s name and/or enter a mayor's term (replacing one that
    /// begins the same day), with its audit entry. Returns the record as of
    /// today; `None` when there is no such municipality.
    pub async fn update_municipality(
        &self,
        code: &str,
        update: &MunicipalityUpdate,
        by: &Actor,
        now: Millis,
    ) -> Result<Option<Municipality>, StoreError> {
        let mut tx = self.begin().await?;
        // Edits of one municipality apply one after another, so `before`
        // (read once this one holds the lock) is what it changes.
        audit::lock_head(&mut tx, code).await?;
        let Some(row) = db::query(MUNICIPALITY).bind(code).fetch_optional(&mut tx).await? else {
            tx.commit().await?;
            return Ok(None);
        };
        let terms = db::query(MAYOR_TERMS).bind(code).fetch_all(&mut tx).await?;
        let before = known(&row, &terms)?;
        if let Some(name) = &update.name {
            db::query("UPDATE municipalities SET name = $1 WHERE code = $2")
                .bind(name)
                .bind(code)
                .execute(&mut tx)
                .await?;
        }
        if let Some(term) = &update.mayor {
            db::query(
                "INSERT INTO mayor_terms (municipality, from_date, title, name, recorded_at) VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (municipality, from_date) DO UPDATE SET title = excluded.title, name = excluded.name, \
                 recorded_at = excluded.recorded_at",
            )
            .bind(code)
            .bind(term.from.to_string())
            .bind(&term.title)
            .bind(&term.name)
            .bind(now)
            .execute(&mut tx)
            .await?;
        }
        let mut changed = Vec::new();
        if update.name.is_some() {
            changed.push("name");
        }
        if update.mayor.is_some() {
            changed.push("mayor");
        }
        let data = json!({ "changed": changed, "mayor_from": update.mayor.as_ref().map(|t| t.from) });
        let detail = json!({
            "before": { "name": before.record.name, "mayor": update.mayor.as_ref().map(|t| before.on(t.from)) },
            "after": update,
        });
        let change = Change { event: AuditEvent::MunicipalityUpdated, by, data, detail: Some(detail) };
        audit::append_change(&mut tx, code, change, now).await?;
        tx.commit().await?;
        if let Ok(mut all) = self.municipalities.write() {
            all.remove(code);
        }
        self.municipality(code).await
    }

    pub async fn municipalities(&self) -> Result<Vec<Municipality>, StoreError> {
        let rows = db::query("SELECT * FROM municipalities ORDER BY code").fetch_all(self).await?;
        Ok(rows.iter().map(municipality).collect::<Result<_, _>>()?)
    }

    pub async fn create_municipality_token(
        &self,
        id: &str,
        municipality: &str,
        token_hash: &str,
        label: &str,
        by: &Actor,
        now: Millis,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        db::query(
            "INSERT INTO municipality_tokens (id, municipality, token_hash, label, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(id)
        .bind(municipality)
        .bind(token_hash)
        .bind(label)
        .bind(now)
        .execute(&mut tx)
        .await?;
        let data = json!({ "token": id, "label": label });
        audit::append_change(
            &mut tx,
            municipality,
            Change { event: AuditEvent::TokenCreated, by, data, detail: None },
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn municipality_tokens(&self, municipality: &str) -> Result<Vec<TokenInfo>, StoreError> {
        let rows = db::query("SELECT * FROM municipality_tokens WHERE municipality = $1 ORDER BY created_at, id")
            .bind(municipality)
            .fetch_all(self)
            .await?;
        Ok(rows.iter().map(token).collect::<Result<_, _>>()?)
    }

    /// The live (unrevoked) token with this hash.
    pub async fn find_municipality_token(&self, token_hash: &str) -> Result<Option<TokenInfo>, StoreError> {
        let row = db::query("SELECT * FROM municipality_tokens WHERE token_hash = $1 AND revoked_at IS NULL")
            .bind(token_hash)
            .fetch_optional(self)
            .await?;
        Ok(row.as_ref().map(token).transpose()?)
    }

    /// Revoke a token; false when the municipality has no such live token.
    pub async fn revoke_municipality_token(
        &self,
        municipality: &str,
        id: &str,
        by: &Actor,
        now: Millis,
    ) -> Result<bool, StoreError> {
        let statement = db::query(
            "UPDATE municipality_tokens SET revoked_at = $1 WHERE municipality = $2 AND id = $3 AND revoked_at IS NULL",
        )
        .bind(now)
        .bind(municipality)
        .bind(id);
        let change = Change { event: AuditEvent::TokenRevoked, by, data: json!({ "token": id }), detail: None };
        self.update_one_with_change(statement, municipality, change, now).await
    }

    pub async fn create_kiosk(
        &self,
        id: &str,
        label: &str,
        credential_hash: &str,
        now: Millis,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        db::query("INSERT INTO kiosks (id, label, credential_hash, created_at) VALUES ($1, $2, $3, $4)")
            .bind(id)
            .bind(label)
            .bind(credential_hash)
            .bind(now)
            .execute(&mut tx)
            .await?;
        let data = json!({ "kiosk": id, "label": label });
        let change = Change { event: AuditEvent::KioskRegistered, by: &Actor::Vendor, data, detail: None };
        audit::append_change(&mut tx, audit::VENDOR_CHAIN, change, now).await?;
        tx.commit().await
    }

    pub async fn kiosks(&self) -> Result<Vec<KioskInfo>, StoreError> {
        let rows = db::query("SELECT * FROM kiosks ORDER BY created_at, id").fetch_all(self).await?;
        Ok(rows.iter().map(kiosk).collect::<Result<_, _>>()?)
    }

    pub async fn find_kiosk(&self, credential_hash: &str) -> Result<Option<KioskInfo>, StoreError> {
        let row = db::query("SELECT * FROM kiosks WHERE credential_hash = $1 AND revoked_at IS NULL")
            .bind(credential_hash)
            .fetch_optional(self)
            .await?;
        Ok(row.as_ref().map(kiosk).transpose()?)
    }

    pub async fn revoke_kiosk(&self, id: &str, now: Millis) -> Result<bool, StoreError> {
        let statement =
            db::query("UPDATE kiosks SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL").bind(now).bind(id);
        let change =
            Change { event: AuditEvent::KioskRevoked, by: &Actor::Vendor, data: json!({ "kiosk": id }), detail: None };
        self.update_one_with_change(statement, audit::VENDOR_CHAIN, change, now).await
    }
}
