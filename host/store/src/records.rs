//! What a municipality asks of its issuance records: a filtered list, a
//! lookup by the printed issuance number, and voiding a certificate.

use serde_json::json;

use crate::audit::{self, Actor, AuditEvent, Change};
use crate::db::{self, Value};
use crate::issuances::{Issuance, Outcome, READ_COLUMNS, VoidReason, issuance};
use crate::{Millis, Store, StoreError};

/// Which issuances to list. Every field narrows the list; `before` is the
/// cursor, the (created_at, id) of the last row of the previous page.
#[derive(Debug, Clone, Default)]
pub struct IssuanceFilter {
    /// From this instant, inclusive.
    pub from: Option<Millis>,
    /// Up to this instant, exclusive.
    pub to: Option<Millis>,
    pub kind: Option<String>,
    pub outcome: Option<Outcome>,
    /// The register id of the resident the certificate was for.
    pub subject: Option<String>,
    pub kiosk: Option<String>,
    pub before: Option<(Millis, String)>,
}

/// A municipality's void of one certificate.
pub struct VoidRequest<'a> {
    pub reason: VoidReason,
    /// The staff's own words: kept in the audit entry's detail, which
    /// retention may erase, never in the chain or on `/v1/verify`.
    pub note: &'a str,
    pub by: &'a Actor,
}

impl Store {
    /// A page of the municipality's issuances, newest first.
    pub async fn list_issuances(
        &self,
        municipality: &str,
        filter: &IssuanceFilter,
        limit: i64,
    ) -> Result<Vec<Issuance>, StoreError> {
        let mut sql = format!("SELECT {READ_COLUMNS} FROM issuances WHERE municipality = $1");
        let mut args: Vec<Value> = vec![municipality.to_owned().into()];
        let mut condition = |sql: &mut String, clause: &str, value: Value| {
            args.push(value);
            sql.push_str(&clause.replace('?', &format!("${}", args.len())));
        };
        if let Some(from) = filter.from {
            condition(&mut sql, " AND created_at >= ?", from.into());
        }
        if let Some(to) = filter.to {
            condition(&mut sql, " AND created_at < ?", to.into());
        }
        if let Some(kind) = &filter.kind {
            condition(&mut sql, " AND kind = ?", kind.clone().into());
        }
        if let Some(outcome) = filter.outcome {
            condition(&mut sql, " AND outcome = ?", outcome.as_str().to_owned().into());
        }
        if let Some(subject) = &filter.subject {
            condition(&mut sql, " AND subject = ?", subject.clone().into());
        }
        if let Some(kiosk) = &filter.kiosk {
            condition(&mut sql, " AND kiosk = ?", kiosk.clone().into());
        }
        if let Some((at, id)) = &filter.before {
            condition(&mut sql, " AND (created_at < ?", (*at).into());
            condition(&mut sql, " OR (created_at = ?", (*at).into());
            condition(&mut sql, " AND id < ?))", id.clone().into());
        }
        condition(&mut sql, " ORDER BY created_at DESC, id DESC LIMIT ?", limit.into());
        let mut query = db::query(sql);
        for arg in args {
            query = query.bind(arg);
        }
        let rows = query.fetch_all(self).await?;
        rows.iter().map(issuance).collect()
    }

    /// The municipality's issuance with the printed number `number`.
    pub async fn issuance_by_number(&self, municipality: &str, number: &str) -> Result<Option<Issuance>, StoreError> {
        let row = db::query(format!("SELECT {READ_COLUMNS} FROM issuances WHERE number = $1 AND municipality = $2"))
            .bind(number)
            .bind(municipality)
            .fetch_optional(self)
            .await?;
        row.as_ref().map(issuance).transpose()
    }

    /// Void an issued certificate, with its audit entry. A document not yet
    /// fetched is then never delivered (`mark_fetched` skips voided ones).
    pub async fn void_issuance(
        &self,
        municipality: &str,
        id: &str,
        void: &VoidRequest<'_>,
        now: Millis,
    ) -> Result<Issuance, StoreError> {
        let mut tx = self.begin().await?;
        let voided = db::query(format!(
            "UPDATE issuances SET voided_at = $1, void_reason = $2 \
             WHERE municipality = $3 AND id = $4 AND outcome = 'issued' AND voided_at IS NULL RETURNING {READ_COLUMNS}"
        ))
        .bind(now)
        .bind(void.reason.as_str())
        .bind(municipality)
        .bind(id)
        .fetch_optional(&mut tx)
        .await?;
        let Some(row) = voided else {
            tx.commit().await?;
            return Err(match self.issuance(id).await?.filter(|i| i.municipality == municipality) {
                None => StoreError::NotFound(format!("there is no issuance {id} in this municipality")),
                Some(i) if i.void.is_some() => StoreError::Conflict(format!("issuance {id} is already voided")),
                Some(i) => StoreError::Conflict(format!(
                    "issuance {id} was {}: only an issued certificate can be voided",
                    i.outcome
                )),
            });
        };
        let voided = issuance(&row)?;
        let data = json!({ "issuance": id, "number": voided.number, "reason": void.reason.as_str() });
        let detail = Some(json!({ "note": void.note }));
        audit::append_change(
            &mut tx,
            municipality,
            Change { event: AuditEvent::Voided, by: void.by, data, detail },
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(voided)
    }
}

impl Store {
    /// The names of residents `ids` of the municipality, as the register
    /// holds them now (a removed resident has none).
    pub async fn resident_names(
        &self,
        municipality: &str,
        ids: &[String],
    ) -> Result<std::collections::BTreeMap<String, String>, StoreError> {
        let mut names = std::collections::BTreeMap::new();
        for chunk in ids.chunks(200) {
            let marks: Vec<String> = (0..chunk.len()).map(|n| format!("${}", n + 2)).collect();
            let mut query = db::query(format!(
                "SELECT id, record FROM residents WHERE municipality = $1 AND id IN ({})",
                marks.join(", ")
            ))
            .bind(municipality);
            for id in chunk {
                query = query.bind(id);
            }
            for row in query.fetch_all(self).await? {
                let record: String = row.try_get(1)?;
                let name = serde_json::from_str::<serde_json::Value>(&record)
                    .ok()
                    .and_then(|r| r.get("name").and_then(|n| n.as_str()).map(str::to_owned))
                    .unwrap_or_default();
                names.insert(row.try_get(0)?, name);
            }
        }
        Ok(names)
    }
}
