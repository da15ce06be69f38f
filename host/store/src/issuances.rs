//! Issuances: recorded once, atomically with their audit entry and a check
//! that the register still holds what the plugin evaluated. What is recorded
//! is the evaluated input, the document and PDF hashes and the delivery
//! state, never the PDF bytes: the issuing host holds those in memory until
//! the one fetch, and any other host re-renders them from the recorded input
//! and delivers them only if they hash to the recorded PDF hash (see
//! kofu-issue's `documents` and `delivery` modules). The `pdf` column is
//! never written; the purges clear it anyway, should an old row hold bytes.
//!
//! With several hosts, two requests with the same kiosk and idempotency key
//! can be recorded at the same moment: the unique index on `(kiosk,
//! idempotency_key)` lets one in and the other returns it. Delivery moves
//! forward only through conditional updates (`WHERE delivery = 'ready'`),
//! so of two hosts fetching, printing or expiring the same document at once
//! exactly one makes the change and writes its audit entry.

use crate::db::{self, DbError, Row};
use serde::Serialize;

use crate::audit::{self, AuditEntry, AuditEvent};
use crate::{Millis, Store, StoreError};

/// Where a document is in its delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Delivery {
    /// Issued; the kiosk may fetch it, once.
    Ready,
    /// Fetched by the kiosk and purged; printing not yet confirmed.
    Fetched,
    /// Printed (the fee is charged) and purged.
    Printed,
    /// Never confirmed printed; purged.
    Expired,
    /// Refused or failed: there was never a document.
    None,
}

impl Delivery {
    pub fn as_str(self) -> &'static str {
        match self {
            Delivery::Ready => "ready",
            Delivery::Fetched => "fetched",
            Delivery::Printed => "printed",
            Delivery::Expired => "expired",
            Delivery::None => "none",
        }
    }

    fn parse(text: &str) -> Result<Delivery, StoreError> {
        Ok(match text {
            "ready" => Delivery::Ready,
            "fetched" => Delivery::Fetched,
            "printed" => Delivery::Printed,
            "expired" => Delivery::Expired,
            "none" => Delivery::None,
            other => return Err(StoreError::corrupt("an issuance's delivery state", other)),
        })
    }
}

/// What came of an issuance request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// A document was made; it awaits its fetch.
    Issued,
    /// The plugin or the host declined to issue, with a reason.
    Refused,
    /// The plugin or the renderer failed: nothing to deliver, nothing charged.
    Failed,
}

impl Outcome {
    /// The stored (and serialised) form.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Issued => "issued",
            Outcome::Refused => "refused",
            Outcome::Failed => "failed",
        }
    }

    pub(crate) fn parse(text: &str) -> Result<Outcome, StoreError> {
        Ok(match text {
            "issued" => Outcome::Issued,
            "refused" => Outcome::Refused,
            "failed" => Outcome::Failed,
            other => return Err(StoreError::corrupt("an issuance's outcome", other)),
        })
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An issuance as recorded (without the document and the evaluated input).
#[derive(Debug, Clone, Serialize)]
pub struct Issuance {
    pub id: String,
    pub number: String,
    pub municipality: String,
    pub kiosk: String,
    pub session: String,
    pub card: String,
    pub subject: String,
    pub kind: String,
    pub options: serde_json::Value,
    pub idempotency_key: String,
    pub request_fingerprint: String,
    pub plugin_hash: String,
    pub host_build: String,
    pub issue_date: String,
    pub outcome: Outcome,
    pub reason_code: Option<String>,
    pub reason: Option<String>,
    pub fields_read: serde_json::Value,
    pub document_hash: Option<String>,
    pub pdf_hash: Option<String>,
    pub verification_code: Option<String>,
    pub pages: Option<i64>,
    pub fee: Option<i64>,
    pub delivery: Delivery,
    pub timings: serde_json::Value,
    pub created_at: Millis,
    pub printed_at: Option<Millis>,
    pub purged_at: Option<Millis>,
    /// Set when the municipality voided the certificate.
    pub void: Option<Void>,
}

/// A municipality's void of an issued certificate.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Void {
    pub at: Millis,
    pub reason: VoidReason,
}

/// Why a certificate was voided: a closed list, since `/v1/verify` shows it
/// to anyone holding the paper (the staff's own words stay in the audit
/// entry's detail).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum VoidReason {
    /// Issued for, or showing, the wrong person.
    WrongPerson,
    /// The content was wrong (a register error, a plugin defect).
    WrongContent,
    /// Issued against the law or the municipality's rules (e.g. a
    /// restriction not yet entered in the register).
    NotAllowed,
    Other,
}

impl VoidReason {
    pub fn as_str(self) -> &'static str {
        match self {
            VoidReason::WrongPerson => "wrong-person",
            VoidReason::WrongContent => "wrong-content",
            VoidReason::NotAllowed => "not-allowed",
            VoidReason::Other => "other",
        }
    }

    /// In plain words, for whoever verifies the paper.
    pub fn describe(self) -> (&'static str, &'static str) {
        match self {
            VoidReason::WrongPerson => ("交付対象者の誤り", "issued for or showing the wrong person"),
            VoidReason::WrongContent => ("記載内容の誤り", "its content was wrong"),
            VoidReason::NotAllowed => ("交付できない証明書", "it should not have been issued"),
            VoidReason::Other => ("その他", "voided by the municipality"),
        }
    }

    fn parse(text: &str) -> Result<VoidReason, StoreError> {
        Ok(match text {
            "wrong-person" => VoidReason::WrongPerson,
            "wrong-content" => VoidReason::WrongContent,
            "not-allowed" => VoidReason::NotAllowed,
            "other" => VoidReason::Other,
            other => return Err(StoreError::corrupt("an issuance's void reason", other)),
        })
    }
}

/// Everything needed to record an issuance.
#[derive(Debug, Clone)]
pub struct NewIssuance {
    pub issuance: Issuance,
    /// The subject and context exactly as evaluated (JSON), so that the
    /// document can be re-rendered and compared later.
    pub input: String,
}

/// The kiosk session an issuance was requested in: only it may move the
/// document on.
#[derive(Debug, Clone, Copy)]
pub struct Owner<'a> {
    pub session: &'a str,
    pub kiosk: &'a str,
}

/// The register row versions an evaluation saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisterVersion {
    pub id: String,
    pub version: i64,
}

/// What recording came to.
#[derive(Debug, Clone)]
pub enum Recorded {
    New {
        issuance: Box<Issuance>,
        audit: AuditEntry,
    },
    /// This kiosk already used the idempotency key: here is that issuance.
    Existing(Box<Issuance>),
    /// The register changed after the plugin read it; evaluate again.
    RegisterChanged,
}

/// The versions of a household's rows, in no particular order (the caller
/// sorts them). `ORDER BY id` here makes SQLite walk the primary key through
/// every resident of the municipality, inside the write lock, instead of
/// seeking the household: `query_plans.rs` checks every hot statement's plan.
pub(crate) const HOUSEHOLD_VERSIONS: &str =
    "SELECT id, version FROM residents WHERE municipality = $1 AND household = $2 AND removed_at IS NULL";

/// Documents not confirmed printed in time, up to a thousand per sweep, in
/// no particular order (the sweeper comes back for the rest; sorting would
/// read every candidate before the limit).
pub(crate) const UNDELIVERED: &str =
    "SELECT id FROM issuances WHERE delivery IN ('ready', 'fetched') AND created_at <= $1 LIMIT 1000";

/// The columns an issuance is recorded with (`input` apart).
macro_rules! recorded_columns {
    () => {
        "id, number, municipality, kiosk, session, card, subject, kind, options, idempotency_key, \
         request_fingerprint, plugin_hash, host_build, issue_date, outcome, reason_code, reason, fields_read, \
         document_hash, pdf_hash, verification_code, pages, fee, delivery, timings, created_at, printed_at, purged_at"
    };
}

const COLUMNS: &str = recorded_columns!();

/// What a read returns: the recorded columns and the void, if any.
pub(crate) const READ_COLUMNS: &str = concat!(recorded_columns!(), ", voided_at, void_reason");

fn json(row: &Row, column: &str) -> Result<serde_json::Value, StoreError> {
    let text: String = row.try_get(column)?;
    serde_json::from_str(&text).map_err(|e| StoreError::corrupt(column, e))
}

pub(crate) fn issuance(row: &Row) -> Result<Issuance, StoreError> {
    Ok(Issuance {
        id: row.try_get("id")?,
        number: row.try_get("number")?,
        municipality: row.try_get("municipality")?,
        kiosk: row.try_get("kiosk")?,
        session: row.try_get("session")?,
        card: row.try_get("card")?,
        subject: row.try_get("subject")?,
        kind: row.try_get("kind")?,
        options: json(row, "options")?,
        idempotency_key: row.try_get("idempotency_key")?,
        request_fingerprint: row.try_get("request_fingerprint")?,
        plugin_hash: row.try_get("plugin_hash")?,
        host_build: row.try_get("host_build")?,
        issue_date: row.try_get("issue_date")?,
        outcome: Outcome::parse(&row.try_get::<String, _>("outcome")?)?,
        reason_code: row.try_get("reason_code")?,
        reason: row.try_get("reason")?,
        fields_read: json(row, "fields_read")?,
        document_hash: row.try_get("document_hash")?,
        pdf_hash: row.try_get("pdf_hash")?,
        verification_code: row.try_get("verification_code")?,
        pages: row.try_get("pages")?,
        fee: row.try_get("fee")?,
        delivery: Delivery::parse(&row.try_get::<String, _>("delivery")?)?,
        timings: json(row, "timings")?,
        created_at: row.try_get("created_at")?,
        printed_at: row.try_get("printed_at")?,
        purged_at: row.try_get("purged_at")?,
        void: match (row.try_get::<Option<Millis>, _>("voided_at")?, row.try_get::<Option<String>, _>("void_reason")?) {
            (Some(at), Some(reason)) => Some(Void { at, reason: VoidReason::parse(&reason)? }),
            _ => None,
        },
    })
}

impl Store {
    /// Record an issuance and its audit entry in one transaction, after
    /// checking that the subject's household rows still have the versions
    /// the plugin saw (no row changed, none added or removed).
    ///
    /// The transaction first takes the municipality's chain-head lock, which
    /// every register write also takes. A register change therefore either
    /// committed before the version check below (which then sees it) or
    /// waits until this issuance has committed: none can slip in between.
    pub async fn record_issuance(
        &self,
        new: &NewIssuance,
        household: &str,
        seen: &[RegisterVersion],
        audit_data: &serde_json::Value,
    ) -> Result<Recorded, StoreError> {
        self.record(new, Some((household, seen)), audit_data).await
    }

    /// Record a failed issuance that evaluated nothing (its host stopped
    /// first), with its audit entry: there are no register rows to check.
    /// A record already made under the same kiosk and key wins, as above.
    pub async fn record_abandoned(
        &self,
        new: &NewIssuance,
        audit_data: &serde_json::Value,
    ) -> Result<Recorded, StoreError> {
        if new.issuance.outcome != Outcome::Failed || new.issuance.fee.is_some() {
            return Err(StoreError::Conflict("an abandoned issuance is recorded as failed and charged nothing".into()));
        }
        self.record(new, None, audit_data).await
    }

    async fn record(
        &self,
        new: &NewIssuance,
        register_check: Option<(&str, &[RegisterVersion])>,
        audit_data: &serde_json::Value,
    ) -> Result<Recorded, StoreError> {
        let i = &new.issuance;
        let mut tx = self.begin().await?;
        audit::lock_head(&mut tx, &i.municipality).await?;
        // Under the lock, so a duplicate recorded for this municipality by
        // another host is seen here rather than as a unique violation.
        let existing =
            db::query(format!("SELECT {READ_COLUMNS} FROM issuances WHERE kiosk = $1 AND idempotency_key = $2"))
                .bind(&i.kiosk)
                .bind(&i.idempotency_key)
                .fetch_optional(&mut tx)
                .await?;
        if let Some(row) = existing {
            let existing = issuance(&row)?;
            tx.commit().await?;
            return Ok(Recorded::Existing(Box::new(existing)));
        }
        if let Some((household, seen)) = register_check {
            let rows = db::query(HOUSEHOLD_VERSIONS).bind(&i.municipality).bind(household).fetch_all(&mut tx).await?;
            let mut current = rows
                .iter()
                .map(|row| Ok(RegisterVersion { id: row.try_get(0)?, version: row.try_get(1)? }))
                .collect::<Result<Vec<_>, DbError>>()?;
            let mut seen = seen.to_vec();
            current.sort_by(|a, b| a.id.cmp(&b.id));
            seen.sort_by(|a, b| a.id.cmp(&b.id));
            if current != seen {
                // Committed, not dropped: the retry then reads the register
                // as this transaction saw it (see "answers" in write.rs).
                tx.commit().await?;
                return Ok(Recorded::RegisterChanged);
            }
        }
        let inserted = db::query(format!(
            "INSERT INTO issuances ({COLUMNS}, input) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, \
             $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, $28, $29)"
        ))
        .bind(&i.id)
        .bind(&i.number)
        .bind(&i.municipality)
        .bind(&i.kiosk)
        .bind(&i.session)
        .bind(&i.card)
        .bind(&i.subject)
        .bind(&i.kind)
        .bind(i.options.to_string())
        .bind(&i.idempotency_key)
        .bind(&i.request_fingerprint)
        .bind(&i.plugin_hash)
        .bind(&i.host_build)
        .bind(&i.issue_date)
        .bind(i.outcome.as_str())
        .bind(&i.reason_code)
        .bind(&i.reason)
        .bind(i.fields_read.to_string())
        .bind(&i.document_hash)
        .bind(&i.pdf_hash)
        .bind(&i.verification_code)
        .bind(i.pages)
        .bind(i.fee)
        .bind(i.delivery.as_str())
        .bind(i.timings.to_string())
        .bind(i.created_at)
        .bind(i.printed_at)
        .bind(i.purged_at)
        .bind(&new.input)
        .execute(&mut tx)
        .await;
        match inserted {
            Ok(_) => {}
            Err(e) if e.is_unique_violation() => {
                drop(tx);
                // The same kiosk and key, recorded meanwhile for another
                // municipality's session (whose lock this one does not hold).
                return match self.issuance_by_key(&i.kiosk, &i.idempotency_key).await? {
                    Some(existing) => Ok(Recorded::Existing(Box::new(existing))),
                    None => Err(StoreError::Conflict("an issuance with the same number already exists".into())),
                };
            }
            Err(e) => return Err(e.into()),
        }
        let audit =
            audit::append(&mut tx, &i.municipality, AuditEvent::Issuance, &i.id, audit_data, i.created_at).await?;
        tx.commit().await?;
        Ok(Recorded::New { issuance: Box::new(i.clone()), audit })
    }

    pub async fn issuance_by_key(&self, kiosk: &str, key: &str) -> Result<Option<Issuance>, StoreError> {
        let row = db::query(format!("SELECT {READ_COLUMNS} FROM issuances WHERE kiosk = $1 AND idempotency_key = $2"))
            .bind(kiosk)
            .bind(key)
            .fetch_optional(self)
            .await?;
        row.as_ref().map(issuance).transpose()
    }

    pub async fn issuance(&self, id: &str) -> Result<Option<Issuance>, StoreError> {
        let row = db::query(format!("SELECT {READ_COLUMNS} FROM issuances WHERE id = $1"))
            .bind(id)
            .fetch_optional(self)
            .await?;
        row.as_ref().map(issuance).transpose()
    }

    /// The subject and context issuance `id` was evaluated with (JSON), to
    /// re-render its document; `None` too once retention erased it.
    pub async fn issuance_input(&self, id: &str) -> Result<Option<String>, StoreError> {
        let row = db::query("SELECT input FROM issuances WHERE id = $1 AND input <> ''")
            .bind(id)
            .fetch_optional(self)
            .await?;
        Ok(row.map(|row| row.try_get(0)).transpose()?)
    }

    /// The issuance whose printed verification code is `code`.
    pub async fn issuance_by_code(&self, code: &str) -> Result<Option<Issuance>, StoreError> {
        let row = db::query(format!("SELECT {READ_COLUMNS} FROM issuances WHERE verification_code = $1"))
            .bind(code)
            .fetch_optional(self)
            .await?;
        row.as_ref().map(issuance).transpose()
    }

    /// The kiosk takes the document: the one delivery. Moves it from ready
    /// to fetched and audits it, or returns false when it
    /// is no longer ready (fetched, printed or expired meanwhile, on this
    /// host or another). The caller hands out the bytes it read before only
    /// when this returns true.
    pub async fn mark_fetched(
        &self,
        id: &str,
        audit_data: &serde_json::Value,
        now: Millis,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin().await?;
        let changed = db::query(
            "UPDATE issuances SET delivery = 'fetched', purged_at = $1, pdf = NULL \
             WHERE id = $2 AND delivery = 'ready' AND voided_at IS NULL RETURNING municipality",
        )
        .bind(now)
        .bind(id)
        .fetch_optional(&mut tx)
        .await?;
        let Some(row) = changed else {
            tx.commit().await?;
            return Ok(false);
        };
        let municipality: String = row.try_get(0)?;
        audit::append(&mut tx, &municipality, AuditEvent::Fetched, id, audit_data, now).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// The kiosk printed the document: charge the fee (purging the bytes if
    /// it was never fetched) and audit it, with the audit data `audit_data`
    /// makes of the issuance. Only the issuance's own session and kiosk
    /// (`owner`) can change it; ownership and delivery state are checked by
    /// the one conditional update. Returns whether this call made the change,
    /// and the issuance as it is now (whoever it belongs to: the caller
    /// explains a refusal from it). Repeating it changes nothing.
    pub async fn mark_printed(
        &self,
        id: &str,
        owner: Owner<'_>,
        audit_data: impl FnOnce(&Issuance) -> serde_json::Value,
        now: Millis,
    ) -> Result<(bool, Option<Issuance>), StoreError> {
        self.finish_delivery(id, Some(owner), Delivery::Printed, AuditEvent::Printed, audit_data, now).await
    }

    /// Move a ready or fetched document to `to`, if it belongs to `owner`
    /// (any, when `None`); true when this call made the change. Returns the
    /// issuance as it is now.
    async fn finish_delivery(
        &self,
        id: &str,
        owner: Option<Owner<'_>>,
        to: Delivery,
        event: AuditEvent,
        audit_data: impl FnOnce(&Issuance) -> serde_json::Value,
        now: Millis,
    ) -> Result<(bool, Option<Issuance>), StoreError> {
        let mut tx = self.begin().await?;
        let printed_at = if to == Delivery::Printed { Some(now) } else { None };
        let owned = if owner.is_some() { "AND session = $5 AND kiosk = $6" } else { "" };
        let mut update = db::query(format!(
            "UPDATE issuances SET delivery = $1, printed_at = $2, purged_at = COALESCE(purged_at, $3), pdf = NULL \
             WHERE id = $4 AND delivery IN ('ready', 'fetched') {owned} RETURNING {READ_COLUMNS}"
        ))
        .bind(to.as_str())
        .bind(printed_at)
        .bind(now)
        .bind(id);
        if let Some(owner) = owner {
            update = update.bind(owner.session).bind(owner.kiosk);
        }
        let changed = update.fetch_optional(&mut tx).await?;
        let Some(row) = changed else {
            // Committed first, so the read below sees whatever change made
            // this one a no-op.
            tx.commit().await?;
            return Ok((false, self.issuance(id).await?));
        };
        let updated = issuance(&row)?;
        let data = audit_data(&updated);
        audit::append(&mut tx, &updated.municipality, event, id, &data, now).await?;
        tx.commit().await?;
        Ok((true, Some(updated)))
    }

    /// Expire documents issued before `cutoff` and never confirmed printed
    /// (fetched or not), purging any bytes left. Returns the issuances
    /// expired. Hosts sweeping at once expire each document once.
    pub async fn expire_undelivered(&self, cutoff: Millis, now: Millis) -> Result<Vec<Issuance>, StoreError> {
        let ids: Vec<String> = db::query(UNDELIVERED)
            .bind(cutoff)
            .fetch_all(self)
            .await?
            .iter()
            .map(|row| row.try_get(0))
            .collect::<Result<_, _>>()?;
        let mut purged = Vec::new();
        for id in ids {
            let data = |_: &Issuance| serde_json::json!({ "reason": "not confirmed printed in time" });
            if let (true, Some(issuance)) =
                self.finish_delivery(&id, None, Delivery::Expired, AuditEvent::Expired, data, now).await?
            {
                purged.push(issuance);
            }
        }
        Ok(purged)
    }

    /// A random sample of issued documents with their recorded inputs, for
    /// re-rendering; those whose input retention erased are not sampled.
    pub async fn issued_inputs(&self, limit: i64) -> Result<Vec<(Issuance, String)>, StoreError> {
        self.sample_inputs(None, limit).await
    }

    /// [`Store::issued_inputs`] of one municipality's issuances.
    pub async fn issued_inputs_of(
        &self,
        municipality: &str,
        limit: i64,
    ) -> Result<Vec<(Issuance, String)>, StoreError> {
        self.sample_inputs(Some(municipality), limit).await
    }

    async fn sample_inputs(
        &self,
        municipality: Option<&str>,
        limit: i64,
    ) -> Result<Vec<(Issuance, String)>, StoreError> {
        // Two statements, not `$3 IS NULL OR ...`: a plan made for either
        // case would have to scan every municipality's issuances.
        let narrowed = if municipality.is_some() { " AND municipality = $3" } else { "" };
        let mut query = db::query(format!(
            "SELECT {READ_COLUMNS}, input FROM issuances WHERE outcome = $1 AND input <> ''{narrowed} \
             ORDER BY random() LIMIT $2"
        ))
        .bind(Outcome::Issued.as_str())
        .bind(limit);
        if let Some(municipality) = municipality {
            query = query.bind(municipality);
        }
        let rows = query.fetch_all(self).await?;
        rows.iter().map(|row| Ok((issuance(row)?, row.try_get::<String, _>("input")?))).collect()
    }

    /// Ids of every issuance of a municipality, for cross-checking the audit.
    pub async fn issuance_ids(&self, municipality: &str) -> Result<Vec<String>, StoreError> {
        let rows = db::query("SELECT id FROM issuances WHERE municipality = $1 ORDER BY id")
            .bind(municipality)
            .fetch_all(self)
            .await?;
        Ok(rows.iter().map(|row| row.try_get(0)).collect::<Result<_, _>>()?)
    }
}

#[cfg(test)]
mod tests {
    use super::Outcome;

    /// The stored strings, which rows and audit entries already hold, read
    /// back as their outcomes and serialise as themselves.
    #[test]
    fn outcomes_keep_their_stored_strings() {
        for (outcome, text) in [(Outcome::Issued, "issued"), (Outcome::Refused, "refused"), (Outcome::Failed, "failed")]
        {
            assert_eq!(outcome.as_str(), text);
            assert_eq!(outcome.to_string(), text);
            assert_eq!(Outcome::parse(text).ok(), Some(outcome));
            assert_eq!(serde_json::to_value(outcome).ok(), Some(serde_json::json!(text)));
        }
        assert!(Outcome::parse("Issued").is_err());
    }
}
