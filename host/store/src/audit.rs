//! The audit log: append-only and hash-chained per municipality. Entry `n`
//! stores `hash = sha256(prev_hash || "\n" || entry)`, where `entry` is the
//! canonical JSON of the event (sorted keys, no spaces) and `prev_hash` is
//! entry `n-1`'s hash (or [`GENESIS_HASH`]). Changing, removing or
//! reordering any entry breaks every hash after it. Each municipality has its
//! own chain, so its export verifies on its own and hosts appending for
//! different municipalities never contend.
//!
//! Appends for one municipality are serialised by its row in `audit_heads`
//! (the newest entry's seq and hash): an append first bumps the head's seq
//! with an upsert, which takes the row's lock until the transaction ends, so
//! a concurrent append on any host waits and then reads the new head. Two
//! entries can never claim the same seq or the same predecessor. Register
//! changes take the same lock ([`lock_head`]), which orders them against
//! issuances (see `Store::record_issuance`).

use crate::db::{self, DbError, Row};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::write::WriteTx;
use crate::{Millis, Store, StoreError, hex};

/// The `prev_hash` of a chain's first entry.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditEvent {
    /// An issuance was decided: issued, refused or failed.
    Issuance,
    /// The kiosk fetched the document, its one delivery; the bytes were
    /// purged as they left.
    Fetched,
    /// The kiosk confirmed printing; the fee is charged.
    Printed,
    /// The document was never confirmed printed and was purged.
    Expired,
    /// The municipality voided an issued certificate.
    Voided,
    /// A register import: counts and the file's digest.
    RegisterImport,
    /// One resident's status changed: which fields, by whom; before, after
    /// and why in the entry's detail.
    StatusChange,
    CardIssued,
    CardUnlocked,
    CardRevoked,
    PluginUploaded,
    /// A dry-run of a version against a test resident, and its outcome.
    PluginDryRun,
    PluginActivated,
    PluginRolledBack,
    TokenCreated,
    TokenRevoked,
    /// The municipality's record (name, mayor, ...) changed.
    MunicipalityUpdated,
    /// A card locked after its last wrong PIN: the municipality unlocks it.
    CardLocked,
    /// A resident removed from the register (their cards revoked); the
    /// reason in the entry's detail.
    ResidentRemoved,
    /// What retention erased of a municipality's data, by count.
    RetentionPurge,
    /// In the vendor's chain ([`VENDOR_CHAIN`]): a municipality created.
    MunicipalityCreated,
    /// In the vendor's chain: a kiosk registered.
    KioskRegistered,
    /// In the vendor's chain: a kiosk's credential revoked.
    KioskRevoked,
}

/// The chain of what the vendor changes that belongs to no municipality
/// (kiosks, municipalities created). Not a 6-digit code, so it is no
/// municipality's; verified with the others.
pub const VENDOR_CHAIN: &str = "vendor";

impl AuditEvent {
    pub fn as_str(self) -> &'static str {
        match self {
            AuditEvent::Issuance => "issuance",
            AuditEvent::Fetched => "fetched",
            AuditEvent::Printed => "printed",
            AuditEvent::Expired => "expired",
            AuditEvent::Voided => "voided",
            AuditEvent::RegisterImport => "register-import",
            AuditEvent::StatusChange => "status-change",
            AuditEvent::CardIssued => "card-issued",
            AuditEvent::CardUnlocked => "card-unlocked",
            AuditEvent::CardRevoked => "card-revoked",
            AuditEvent::PluginUploaded => "plugin-uploaded",
            AuditEvent::PluginDryRun => "plugin-dry-run",
            AuditEvent::PluginActivated => "plugin-activated",
            AuditEvent::PluginRolledBack => "plugin-rolled-back",
            AuditEvent::TokenCreated => "token-created",
            AuditEvent::TokenRevoked => "token-revoked",
            AuditEvent::MunicipalityUpdated => "municipality-updated",
            AuditEvent::CardLocked => "card-locked",
            AuditEvent::ResidentRemoved => "resident-removed",
            AuditEvent::RetentionPurge => "retention-purge",
            AuditEvent::MunicipalityCreated => "municipality-created",
            AuditEvent::KioskRegistered => "kiosk-registered",
            AuditEvent::KioskRevoked => "kiosk-revoked",
        }
    }
}

/// Longest note, reason or override reason in staff's words, in characters.
pub const MAX_NOTE_CHARS: usize = 1_000;

/// Largest detail of one entry, in bytes: a status change's values before
/// and after, or a note. Past it the change is refused, not cut.
const MAX_DETAIL_BYTES: usize = 64 << 10;

/// Who made a change, as its audit entry names them.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(tag = "role", rename_all = "kebab-case")]
pub enum Actor {
    /// A municipality token: its id and the label it was given (a desk or
    /// a role; the chain keeps it for ever).
    Municipality { token: String, name: String },
    /// The vendor operator (the admin token).
    Vendor,
    /// The host itself (retention, expiry).
    Host,
}

impl std::fmt::Display for Actor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Actor::Municipality { token, name } => write!(f, "token {token} ({name})"),
            Actor::Vendor => f.write_str("the vendor operator"),
            Actor::Host => f.write_str("the host"),
        }
    }
}

/// A change to record in the chain: what, by whom, with the event's data
/// (no personal data: it is never erased) and, apart, its detail (which may
/// hold personal data: the chain keeps its digest, retention may delete it).
pub struct Change<'a> {
    pub event: AuditEvent,
    pub by: &'a Actor,
    pub data: serde_json::Value,
    pub detail: Option<serde_json::Value>,
}

impl Store {
    /// Run `statement` and, if it changed exactly one row, append `change`
    /// for `municipality`, in one transaction. Returns whether it changed
    /// the row (false: nothing changed, nothing audited).
    pub(crate) async fn update_one_with_change(
        &self,
        statement: db::Query<'_>,
        municipality: &str,
        change: Change<'_>,
        now: Millis,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin().await?;
        if statement.execute(&mut tx).await?.rows_affected() != 1 {
            tx.commit().await?;
            return Ok(false);
        }
        append_change(&mut tx, municipality, change, now).await?;
        tx.commit().await?;
        Ok(true)
    }
}

/// Append a change's entry (and its detail) inside the caller's transaction.
pub(crate) async fn append_change(
    tx: &mut WriteTx,
    municipality: &str,
    change: Change<'_>,
    now: Millis,
) -> Result<AuditEntry, StoreError> {
    let Change { event, by, mut data, detail } = change;
    let Some(object) = data.as_object_mut() else {
        return Err(StoreError::Invalid("an audit entry's data is a JSON object".into()));
    };
    object.insert("by".into(), serde_json::json!(by));
    let detail = detail.map(|d| d.to_string());
    if detail.as_ref().is_some_and(|d| d.len() > MAX_DETAIL_BYTES) {
        return Err(StoreError::Invalid(format!(
            "what this change records is over {} KiB; send a shorter note or change fewer fields at once",
            MAX_DETAIL_BYTES >> 10
        )));
    }
    if let Some(detail) = &detail {
        object.insert("detail_digest".into(), serde_json::json!(hex(&Sha256::digest(detail.as_bytes()))));
    }
    let entry = append(tx, municipality, event, "", &data, now).await?;
    if let Some(detail) = detail {
        db::query("INSERT INTO audit_details (municipality, seq, detail) VALUES ($1, $2, $3)")
            .bind(municipality)
            .bind(entry.seq)
            .bind(detail)
            .execute(&mut *tx)
            .await?;
    }
    Ok(entry)
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct AuditEntry {
    pub municipality: String,
    pub seq: i64,
    pub at: Millis,
    pub event: String,
    pub issuance: String,
    /// Canonical JSON of everything above plus the event's data.
    pub entry: String,
    pub prev_hash: String,
    pub hash: String,
}

/// The hash of an entry given its predecessor's.
pub fn chain_hash(prev_hash: &str, entry: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(prev_hash.as_bytes());
    hasher.update(b"\n");
    hasher.update(entry.as_bytes());
    hex(&hasher.finalize())
}

/// The canonical text of an entry: a JSON object with its keys in sorted
/// order and no spaces, as serde_json writes a map (the workspace does not
/// enable `preserve_order`; a test pins this), so the same event always
/// serialises to the same bytes.
fn canonical_entry(
    municipality: &str,
    seq: i64,
    at: Millis,
    event: &str,
    issuance: &str,
    data: &serde_json::Value,
) -> Result<String, serde_json::Error> {
    // The fields in sorted order, written straight from the borrowed data:
    // a `json!` object would first copy `data` into a tree of its own.
    #[derive(Serialize)]
    struct Canonical<'a> {
        at: Millis,
        data: &'a serde_json::Value,
        event: &'a str,
        issuance: &'a str,
        municipality: &'a str,
        seq: i64,
    }
    serde_json::to_string(&Canonical { at, data, event, issuance, municipality, seq })
}

fn entry(row: &Row) -> Result<AuditEntry, DbError> {
    Ok(AuditEntry {
        municipality: row.try_get("municipality")?,
        seq: row.try_get("seq")?,
        at: row.try_get("at")?,
        event: row.try_get("event")?,
        issuance: row.try_get("issuance")?,
        entry: row.try_get("entry")?,
        prev_hash: row.try_get("prev_hash")?,
        hash: row.try_get("hash")?,
    })
}

/// Lock the municipality's chain head until the transaction ends, without
/// appending. Every transaction that changes the register, or records an
/// issuance against it, takes this lock first.
pub(crate) async fn lock_head(tx: &mut WriteTx, municipality: &str) -> Result<(), StoreError> {
    db::query(
        "INSERT INTO audit_heads (municipality, seq, hash) VALUES ($1, 0, $2) \
         ON CONFLICT (municipality) DO UPDATE SET seq = audit_heads.seq",
    )
    .bind(municipality)
    .bind(GENESIS_HASH)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// Append an entry inside the caller's transaction.
pub(crate) async fn append(
    tx: &mut WriteTx,
    municipality: &str,
    event: AuditEvent,
    issuance: &str,
    data: &serde_json::Value,
    now: Millis,
) -> Result<AuditEntry, StoreError> {
    // The head row holds the newest entry's hash: after this statement it
    // holds the new seq and, still, the predecessor's hash.
    let head = db::query(
        "INSERT INTO audit_heads (municipality, seq, hash) VALUES ($1, 1, $2) \
         ON CONFLICT (municipality) DO UPDATE SET seq = audit_heads.seq + 1 RETURNING seq, hash",
    )
    .bind(municipality)
    .bind(GENESIS_HASH)
    .fetch_one(&mut *tx)
    .await?;
    let seq: i64 = head.try_get(0)?;
    let prev_hash: String = head.try_get(1)?;
    let text = canonical_entry(municipality, seq, now, event.as_str(), issuance, data)
        .map_err(|e| StoreError::Invalid(format!("the audit entry could not be written as JSON: {e}")))?;
    let hash = chain_hash(&prev_hash, &text);
    db::query(
        "INSERT INTO audit_log (municipality, seq, at, event, issuance, entry, prev_hash, hash) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(municipality)
    .bind(seq)
    .bind(now)
    .bind(event.as_str())
    .bind(issuance)
    .bind(&text)
    .bind(&prev_hash)
    .bind(&hash)
    .execute(&mut *tx)
    .await?;
    db::query("UPDATE audit_heads SET hash = $1 WHERE municipality = $2")
        .bind(&hash)
        .bind(municipality)
        .execute(&mut *tx)
        .await?;
    Ok(AuditEntry {
        municipality: municipality.into(),
        seq,
        at: now,
        event: event.as_str().into(),
        issuance: issuance.into(),
        entry: text,
        prev_hash,
        hash,
    })
}

/// Entries read per statement while checking a chain.
const CHAIN_PAGE: i64 = 5_000;

/// What a chain check found.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ChainReport {
    /// Chains checked: each municipality's and the vendor's.
    pub chains: u64,
    pub entries: u64,
    /// One line per broken link, in plain words.
    pub problems: Vec<String>,
}

/// Check one chain's entries, in seq order, appending problems to `report`.
pub fn check_chain(entries: &[AuditEntry], report: &mut ChainReport) {
    let mut check = ChainCheck::default();
    for e in entries {
        check.entry(e, report);
    }
}

/// A chain checked one entry at a time, in seq order: a long chain is read
/// page by page and never held in memory whole.
struct ChainCheck {
    expected_prev: String,
    expected_seq: i64,
    /// The seq the chain head names, and the hash of the entry found there.
    head_seq: Option<i64>,
    hash_at_head: Option<String>,
}

impl Default for ChainCheck {
    fn default() -> ChainCheck {
        ChainCheck { expected_prev: GENESIS_HASH.to_owned(), expected_seq: 1, head_seq: None, hash_at_head: None }
    }
}

impl ChainCheck {
    /// A check that also keeps the hash of the entry the head names.
    fn with_head(head_seq: i64) -> ChainCheck {
        ChainCheck { head_seq: Some(head_seq), ..ChainCheck::default() }
    }

    fn entry(&mut self, e: &AuditEntry, report: &mut ChainReport) {
        report.entries += 1;
        let place = format!("municipality {} entry {}", e.municipality, e.seq);
        if e.seq != self.expected_seq {
            report.problems.push(format!("{place}: expected entry {} here: entries are missing", self.expected_seq));
            self.expected_seq = e.seq;
        }
        if e.prev_hash != self.expected_prev {
            report.problems.push(format!("{place}: does not link to the entry before it"));
        }
        if chain_hash(&e.prev_hash, &e.entry) != e.hash {
            report.problems.push(format!("{place}: its content does not match its hash (it was altered)"));
        }
        match serde_json::from_str::<serde_json::Value>(&e.entry) {
            Ok(value) => {
                let data = value.get("data").cloned().unwrap_or(serde_json::Value::Null);
                if canonical_entry(&e.municipality, e.seq, e.at, &e.event, &e.issuance, &data).ok().as_ref()
                    != Some(&e.entry)
                {
                    report.problems.push(format!("{place}: its columns disagree with its hashed content"));
                }
            }
            Err(_) => report.problems.push(format!("{place}: its content is not valid JSON")),
        }
        if self.head_seq == Some(e.seq) && self.hash_at_head.is_none() {
            self.hash_at_head = Some(e.hash.clone());
        }
        self.expected_prev = e.hash.clone();
        self.expected_seq += 1;
    }
}

/// The chain head must name an entry of the log, with its hash: removing
/// entries from the end of a chain leaves every remaining link intact, but
/// not the head. `hash_at_head` is the hash of the entry found at the head's
/// seq, if any.
fn check_head(municipality: &str, head: Option<(i64, String)>, hash_at_head: Option<&str>, report: &mut ChainReport) {
    let Some((seq, hash)) = head else {
        report.problems.push(format!("municipality {municipality}: its chain has no head record"));
        return;
    };
    if seq == 0 {
        return;
    }
    match hash_at_head {
        Some(found) if found == hash => {}
        Some(_) => report.problems.push(format!(
            "municipality {municipality}: the chain head's hash does not match entry {seq} (it was altered)"
        )),
        None => report.problems.push(format!(
            "municipality {municipality}: the chain head names entry {seq}, which is not in the log: entries at \
             the end were removed"
        )),
    }
}

impl Store {
    /// A page of a municipality's audit entries, oldest first.
    pub async fn audit_entries(
        &self,
        municipality: &str,
        after_seq: i64,
        limit: i64,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let rows = db::query("SELECT * FROM audit_log WHERE municipality = $1 AND seq > $2 ORDER BY seq LIMIT $3")
            .bind(municipality)
            .bind(after_seq)
            .bind(limit)
            .fetch_all(self)
            .await?;
        Ok(rows.iter().map(entry).collect::<Result<_, _>>()?)
    }

    /// Up to `limit` entries after `after_seq` appended in `from` <= at <
    /// `to` (either open), in chain order: the export of a span.
    pub async fn audit_entries_in(
        &self,
        municipality: &str,
        span: (Option<Millis>, Option<Millis>),
        after_seq: i64,
        limit: i64,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let rows = db::query(
            "SELECT * FROM audit_log WHERE municipality = $1 AND seq > $2 AND at >= $3 AND at < $4 \
             ORDER BY seq LIMIT $5",
        )
        .bind(municipality)
        .bind(after_seq)
        .bind(span.0.unwrap_or(Millis::MIN))
        .bind(span.1.unwrap_or(Millis::MAX))
        .bind(limit)
        .fetch_all(self)
        .await?;
        Ok(rows.iter().map(entry).collect::<Result<_, _>>()?)
    }

    /// The details still kept of entries `after_seq` < seq <= `until_seq`,
    /// by seq.
    pub async fn audit_details(
        &self,
        municipality: &str,
        after_seq: i64,
        until_seq: i64,
    ) -> Result<std::collections::BTreeMap<i64, String>, StoreError> {
        let rows =
            db::query("SELECT seq, detail FROM audit_details WHERE municipality = $1 AND seq > $2 AND seq <= $3")
                .bind(municipality)
                .bind(after_seq)
                .bind(until_seq)
                .fetch_all(self)
                .await?;
        rows.iter()
            .map(|row| Ok((row.try_get(0)?, row.try_get(1)?)))
            .collect::<Result<_, DbError>>()
            .map_err(Into::into)
    }

    /// Issuance ids with an `issuance` entry in the municipality's chain.
    pub async fn audited_issuances(&self, municipality: &str) -> Result<Vec<String>, StoreError> {
        let rows = db::query(
            "SELECT issuance FROM audit_log WHERE municipality = $1 AND event = 'issuance' ORDER BY issuance",
        )
        .bind(municipality)
        .fetch_all(self)
        .await?;
        Ok(rows.iter().map(|row| row.try_get(0)).collect::<Result<_, _>>()?)
    }

    /// The municipality's chain head as recorded now: (seq, hash).
    async fn head(&self, municipality: &str) -> Result<Option<(i64, String)>, StoreError> {
        let head = db::query("SELECT seq, hash FROM audit_heads WHERE municipality = $1")
            .bind(municipality)
            .fetch_optional(self)
            .await?;
        Ok(head.map(|row| Ok::<_, DbError>((row.try_get(0)?, row.try_get(1)?))).transpose()?)
    }

    /// Check every municipality's chain, and the vendor's, from its first
    /// entry.
    pub async fn verify_chains(&self) -> Result<ChainReport, StoreError> {
        let municipalities: Vec<String> = db::query(
            "SELECT municipality FROM audit_log UNION SELECT municipality FROM audit_heads WHERE seq > 0 \
                 ORDER BY municipality",
        )
        .fetch_all(self)
        .await?
        .iter()
        .map(|row| row.try_get(0))
        .collect::<Result<_, _>>()?;
        let mut report = ChainReport::default();
        for municipality in municipalities {
            self.check_stored_chain(&municipality, &mut report).await?;
        }
        Ok(report)
    }

    /// Check one municipality's chain from its first entry. A chain with no
    /// entries and no head (nothing was ever appended) verifies.
    pub async fn verify_chain(&self, municipality: &str) -> Result<ChainReport, StoreError> {
        let mut report = ChainReport::default();
        self.check_stored_chain(municipality, &mut report).await?;
        Ok(report)
    }

    /// Check `municipality`'s chain and head into `report`, a page of
    /// entries at a time.
    async fn check_stored_chain(&self, municipality: &str, report: &mut ChainReport) -> Result<(), StoreError> {
        report.chains += 1;
        // The head is read before the entries: hosts may append while this
        // runs, so the log may reach past the head, never fall short.
        let head = self.head(municipality).await?;
        let mut check = match &head {
            Some((seq, _)) => ChainCheck::with_head(*seq),
            None => ChainCheck::default(),
        };
        let mut after = 0;
        let mut entries = 0;
        loop {
            let page = self.audit_entries(municipality, after, CHAIN_PAGE).await?;
            let Some(last) = page.last() else { break };
            after = last.seq;
            entries += page.len();
            for e in &page {
                check.entry(e, report);
            }
        }
        // A chain never begun has neither entries nor a head: nothing to
        // check (a municipality with no change or issuance yet).
        if entries > 0 || head.is_some() {
            check_head(municipality, head, check.hash_at_head.as_deref(), report);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_canonical_text_is_the_sorted_json_object() {
        // Entries written before the text was built from a struct were
        // `json!({...}).to_string()`: the same bytes, or they would no
        // longer verify.
        let data = json!({ "outcome": "issued", "fields_read": ["name", "address"], "timings": { "render_us": 61 } });
        let text = canonical_entry("131016", 42, 1_760_000_000_123, "issuance", "ISS-1", &data).unwrap();
        let object = json!({
            "municipality": "131016",
            "seq": 42,
            "at": 1_760_000_000_123_i64,
            "event": "issuance",
            "issuance": "ISS-1",
            "data": data,
        });
        assert_eq!(text, object.to_string());
        assert!(text.starts_with(r#"{"at":1760000000123,"data":{"fields_read":["name","address"],"#), "{text}");
    }
}
