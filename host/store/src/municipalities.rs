//! Municipalities, their API tokens, and kiosks: the vendor's records.
//! Tokens and kiosk credentials are stored only as SHA-256 hashes (they are
//! long random strings, so a fast hash is enough: there is nothing to guess).

use crate::db::{self, DbError, Row};
use kofu_model::Municipality;
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
            Ok(_) => tx.commit().await,
            Err(e) if e.is_unique_violation() => {
                Err(StoreError::Conflict(format!("municipality {} already exists", m.code)))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// The municipality `code`. Rows are never changed or deleted once
    /// created (no statement in this crate does either), so a row found is
    /// kept in memory and every later call is answered from there: two
    /// queries fewer per kiosk issuance. A code not found is asked again.
    pub async fn municipality(&self, code: &str) -> Result<Option<Municipality>, StoreError> {
        if let Some(known) = self.municipalities.read().ok().and_then(|m| m.get(code).cloned()) {
            return Ok(Some(known));
        }
        let row = db::query("SELECT * FROM municipalities WHERE code = $1").bind(code).fetch_optional(self).await?;
        let found = row.as_ref().map(municipality).transpose()?;
        if let (Some(found), Ok(mut known)) = (&found, self.municipalities.write()) {
            known.insert(code.to_owned(), found.clone());
        }
        Ok(found)
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
        let statement =
            db::query("INSERT INTO kiosks (id, label, credential_hash, created_at) VALUES ($1, $2, $3, $4)")
                .bind(id)
                .bind(label)
                .bind(credential_hash)
                .bind(now);
        self.write_one(statement).await?;
        Ok(())
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
        let done = self.write_one(statement).await?;
        Ok(done.rows_affected() == 1)
    }
}
