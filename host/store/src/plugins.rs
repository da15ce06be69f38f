//! Plugin versions (immutable, stored by content hash with their manifest)
//! and activations (which version serves kiosks for each certificate kind).
//!
//! Activations on several hosts at once: each takes the lock of its kind's
//! `active_plugins` row (an upsert) and numbers its history entry after the
//! highest so far. Two activations of different kinds can pick the same
//! number; the primary key lets one in and the other runs again with the
//! next one. A rollback reads what to go back to under that same row lock.

use crate::audit::{self, Actor, AuditEvent, Change};
use crate::db::{self, DbError, Row};
use crate::issuances::Outcome;
use serde::Serialize;
use serde_json::json;

use crate::write::WriteTx;
use crate::{Millis, Store, StoreError};

/// A stored version without its bytes.
#[derive(Debug, Clone, Serialize)]
pub struct PluginInfo {
    pub hash: String,
    pub kind: String,
    pub version: String,
    /// The manifest as JSON (kofu_model::Manifest).
    pub manifest: serde_json::Value,
    pub size: i64,
    pub uploaded_by: String,
    pub uploaded_at: Millis,
    pub active: bool,
    /// What kiosks are charged while this version serves its kind: the
    /// fee set at activation, else the manifest's. `None` when inactive.
    pub fee_yen: Option<i64>,
}

/// The version serving a kind, and the fee set for it at activation
/// (`None`: the manifest's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActiveVersion {
    pub hash: String,
    pub fee_yen: Option<i64>,
}

/// A stored version with its component.
#[derive(Debug, Clone)]
pub struct PluginVersion {
    pub info: PluginInfo,
    pub component: Vec<u8>,
}

/// A validated version, as [`Store::insert_plugin`] records it.
#[derive(Debug, Clone, Copy)]
pub struct NewPlugin<'a> {
    /// The component's content hash, in hex.
    pub hash: &'a str,
    pub kind: &'a str,
    pub version: &'a str,
    /// The manifest as JSON (kofu_model::Manifest).
    pub manifest: &'a serde_json::Value,
    pub component: &'a [u8],
}

#[derive(Debug, Clone, Serialize)]
pub struct Activation {
    pub seq: i64,
    pub kind: String,
    pub hash: String,
    /// `activate`, `override` (past a dry-run that did not issue),
    /// `rollback` or `demo`.
    pub action: String,
    pub actor: String,
    pub at: Millis,
    /// The fee set for the kind (`None`: the manifest's).
    pub fee_yen: Option<i64>,
}

const INFO_COLUMNS: &str = "p.hash, p.kind, p.version, p.manifest, p.size, p.uploaded_by, p.uploaded_at, \
     CASE WHEN a.hash IS NULL THEN 0 ELSE 1 END AS active, a.fee_yen AS active_fee";

fn info(row: &Row) -> Result<PluginInfo, StoreError> {
    let manifest: String = row.try_get("manifest")?;
    let manifest: serde_json::Value =
        serde_json::from_str(&manifest).map_err(|e| StoreError::corrupt("a plugin manifest", e))?;
    let active = row.try_get::<i64, _>("active")? != 0;
    let set_fee: Option<i64> = row.try_get("active_fee")?;
    let fee_yen = active.then(|| set_fee.or_else(|| manifest["fee_yen"].as_i64())).flatten();
    Ok(PluginInfo {
        hash: row.try_get("hash")?,
        kind: row.try_get("kind")?,
        version: row.try_get("version")?,
        manifest,
        size: row.try_get("size")?,
        uploaded_by: row.try_get("uploaded_by")?,
        uploaded_at: row.try_get("uploaded_at")?,
        active,
        fee_yen,
    })
}

fn activation(row: &Row) -> Result<Activation, DbError> {
    Ok(Activation {
        seq: row.try_get("seq")?,
        kind: row.try_get("kind")?,
        hash: row.try_get("hash")?,
        action: row.try_get("action")?,
        actor: row.try_get("actor")?,
        at: row.try_get("at")?,
        fee_yen: row.try_get("fee_yen")?,
    })
}

/// How often an activation runs again after losing its history number to
/// a concurrent one.
const ACTIVATION_RETRIES: u32 = 8;

/// Who activates a version, how (`activate`, or `override` past a failed
/// or missing dry-run), at what fee (`None`: the manifest's), what else the
/// audit entry says (the dry-run relied on) and its detail (the override's
/// reason, in staff's words).
pub struct ActivationBy<'a> {
    pub by: &'a Actor,
    pub action: &'a str,
    pub fee_yen: Option<i64>,
    pub data: serde_json::Value,
    pub detail: Option<serde_json::Value>,
}

/// What one activation sets: `kind` served by `hash` at `fee_yen`.
struct Pointing<'a> {
    kind: &'a str,
    hash: &'a str,
    fee_yen: Option<i64>,
    action: &'a str,
    actor: &'a str,
}

/// Point the kind at the version and append the history entry, in the
/// caller's transaction.
async fn activate(
    tx: &mut WriteTx,
    municipality: &str,
    pointing: Pointing<'_>,
    now: Millis,
) -> Result<Activation, DbError> {
    let Pointing { kind, hash, fee_yen, action, actor } = pointing;
    db::query(
        "INSERT INTO active_plugins (municipality, kind, hash, fee_yen) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (municipality, kind) DO UPDATE SET hash = excluded.hash, fee_yen = excluded.fee_yen",
    )
    .bind(municipality)
    .bind(kind)
    .bind(hash)
    .bind(fee_yen)
    .execute(&mut *tx)
    .await?;
    let seq: i64 = db::query(
        "INSERT INTO activations (municipality, seq, kind, hash, action, actor, at, fee_yen) \
         VALUES ($1, (SELECT COALESCE(MAX(seq), 0) + 1 FROM activations WHERE municipality = $1), \
         $2, $3, $4, $5, $6, $7) RETURNING seq",
    )
    .bind(municipality)
    .bind(kind)
    .bind(hash)
    .bind(action)
    .bind(actor)
    .bind(now)
    .bind(fee_yen)
    .fetch_one(&mut *tx)
    .await?
    .try_get(0)?;
    Ok(Activation {
        seq,
        kind: kind.into(),
        hash: hash.into(),
        action: action.into(),
        actor: actor.into(),
        at: now,
        fee_yen,
    })
}

impl Store {
    /// Store a validated version. Versions are immutable: the same kind and
    /// version with different bytes is a conflict.
    pub async fn insert_plugin(
        &self,
        municipality: &str,
        plugin: NewPlugin<'_>,
        by: &Actor,
        now: Millis,
    ) -> Result<bool, StoreError> {
        let NewPlugin { hash, kind, version, manifest, component } = plugin;
        if self.plugin_info(municipality, hash).await?.is_some() {
            return Ok(false);
        }
        let mut tx = self.begin().await?;
        let result = db::query(
            "INSERT INTO plugins (municipality, hash, kind, version, manifest, size, uploaded_by, uploaded_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(municipality)
        .bind(hash)
        .bind(kind)
        .bind(version)
        .bind(manifest.to_string())
        .bind(component.len() as i64)
        .bind(by.to_string())
        .bind(now)
        .execute(&mut tx)
        .await;
        match result {
            Ok(_) => {
                db::query("INSERT INTO plugin_components (municipality, hash, component) VALUES ($1, $2, $3)")
                    .bind(municipality)
                    .bind(hash)
                    .bind(component.to_vec())
                    .execute(&mut tx)
                    .await?;
                let data = json!({ "hash": hash, "kind": kind, "version": version, "size": component.len() });
                let change = Change { event: AuditEvent::PluginUploaded, by, data, detail: None };
                audit::append_change(&mut tx, municipality, change, now).await?;
                tx.commit().await.map(|()| true)
            }
            Err(e) if e.is_unique_violation() => {
                if self.plugin_info(municipality, hash).await?.is_some() {
                    // A concurrent upload of the same bytes won; same result.
                    return Ok(false);
                }
                Err(StoreError::Conflict(format!(
                    "{kind} version {version} already exists with different content: versions are immutable, \
                     so give this build a new version number"
                )))
            }
            Err(e) => Err(e.into()),
        }
    }

    pub async fn plugins(&self, municipality: &str) -> Result<Vec<PluginInfo>, StoreError> {
        let rows = db::query(format!(
            "SELECT {INFO_COLUMNS} FROM plugins p LEFT JOIN active_plugins a \
             ON a.municipality = p.municipality AND a.kind = p.kind AND a.hash = p.hash \
             WHERE p.municipality = $1 ORDER BY p.kind, p.uploaded_at, p.hash"
        ))
        .bind(municipality)
        .fetch_all(self)
        .await?;
        rows.iter().map(info).collect()
    }

    pub async fn plugin_info(&self, municipality: &str, hash: &str) -> Result<Option<PluginInfo>, StoreError> {
        let row = db::query(format!(
            "SELECT {INFO_COLUMNS} FROM plugins p LEFT JOIN active_plugins a \
             ON a.municipality = p.municipality AND a.kind = p.kind AND a.hash = p.hash \
             WHERE p.municipality = $1 AND p.hash = $2"
        ))
        .bind(municipality)
        .bind(hash)
        .fetch_optional(self)
        .await?;
        row.as_ref().map(info).transpose()
    }

    /// The component bytes of a stored version.
    pub async fn plugin_component(&self, municipality: &str, hash: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let row = db::query("SELECT component FROM plugin_components WHERE municipality = $1 AND hash = $2")
            .bind(municipality)
            .bind(hash)
            .fetch_optional(self)
            .await?;
        Ok(row.map(|row| row.try_get::<Vec<u8>, _>(0)).transpose()?)
    }

    /// The versions serving kiosks now, one per kind.
    pub async fn active_plugins(&self, municipality: &str) -> Result<Vec<PluginInfo>, StoreError> {
        let rows = db::query(format!(
            "SELECT {INFO_COLUMNS} FROM active_plugins a JOIN plugins p \
             ON a.municipality = p.municipality AND a.hash = p.hash \
             WHERE a.municipality = $1 ORDER BY p.kind"
        ))
        .bind(municipality)
        .fetch_all(self)
        .await?;
        rows.iter().map(info).collect()
    }

    /// The version serving `kind` now, if any, with its fee. The caller
    /// takes the manifest from the loaded plugin of that hash (its own,
    /// checked against the hash), so it is not read or parsed here.
    pub async fn active_plugin(&self, municipality: &str, kind: &str) -> Result<Option<ActiveVersion>, StoreError> {
        let row = db::query("SELECT hash, fee_yen FROM active_plugins WHERE municipality = $1 AND kind = $2")
            .bind(municipality)
            .bind(kind)
            .fetch_optional(self)
            .await?;
        let active = row.map(|row| Ok::<_, DbError>(ActiveVersion { hash: row.try_get(0)?, fee_yen: row.try_get(1)? }));
        Ok(active.transpose()?)
    }

    /// Make `hash` the version serving its kind.
    pub async fn activate_plugin(
        &self,
        municipality: &str,
        hash: &str,
        activation: &ActivationBy<'_>,
        now: Millis,
    ) -> Result<Activation, StoreError> {
        let mut attempt = 0;
        loop {
            let mut tx = self.begin().await?;
            let kind: String = db::query("SELECT kind FROM plugins WHERE municipality = $1 AND hash = $2")
                .bind(municipality)
                .bind(hash)
                .fetch_optional(&mut tx)
                .await?
                .ok_or_else(|| StoreError::NotFound(format!("there is no plugin version {hash} in this municipality")))?
                .try_get(0)?;
            let actor = activation.by.to_string();
            let pointing =
                Pointing { kind: &kind, hash, fee_yen: activation.fee_yen, action: activation.action, actor: &actor };
            match activate(&mut tx, municipality, pointing, now).await {
                Ok(activated) => {
                    let mut data = activation.data.clone();
                    data["hash"] = json!(hash);
                    data["kind"] = json!(kind);
                    data["action"] = json!(activation.action);
                    data["fee_yen"] = json!(activation.fee_yen);
                    let detail = activation.detail.clone();
                    let change = Change { event: AuditEvent::PluginActivated, by: activation.by, data, detail };
                    audit::append_change(&mut tx, municipality, change, now).await?;
                    tx.commit().await?;
                    return Ok(activated);
                }
                Err(e) if e.is_unique_violation() && attempt < ACTIVATION_RETRIES => attempt += 1,
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Go back to the version that served `kind` before the current one;
    /// `None` when there is none. Reading the current version takes its
    /// row's lock, so concurrent activations and rollbacks of the kind apply
    /// one after another, each from the state the previous one left.
    pub async fn rollback_plugin(
        &self,
        municipality: &str,
        kind: &str,
        by: &Actor,
        now: Millis,
    ) -> Result<Option<Activation>, StoreError> {
        let actor = by.to_string();
        let mut attempt = 0;
        loop {
            let mut tx = self.begin().await?;
            let current =
                db::query("UPDATE active_plugins SET hash = hash WHERE municipality = $1 AND kind = $2 RETURNING hash")
                    .bind(municipality)
                    .bind(kind)
                    .fetch_optional(&mut tx)
                    .await?;
            let Some(current) = current else {
                tx.commit().await?;
                return Ok(None);
            };
            let current: String = current.try_get(0)?;
            let previous = db::query(
                "SELECT hash, fee_yen FROM activations WHERE municipality = $1 AND kind = $2 AND hash <> $3 \
                 ORDER BY seq DESC LIMIT 1",
            )
            .bind(municipality)
            .bind(kind)
            .bind(&current)
            .fetch_optional(&mut tx)
            .await?;
            let Some(previous) = previous else {
                tx.commit().await?;
                return Ok(None);
            };
            let fee_yen: Option<i64> = previous.try_get(1)?;
            let previous: String = previous.try_get(0)?;
            let pointing = Pointing { kind, hash: &previous, fee_yen, action: "rollback", actor: &actor };
            match activate(&mut tx, municipality, pointing, now).await {
                Ok(activation) => {
                    let data = json!({ "kind": kind, "hash": previous, "from": current, "fee_yen": fee_yen });
                    let change = Change { event: AuditEvent::PluginRolledBack, by, data, detail: None };
                    audit::append_change(&mut tx, municipality, change, now).await?;
                    tx.commit().await?;
                    return Ok(Some(activation));
                }
                Err(e) if e.is_unique_violation() && attempt < ACTIVATION_RETRIES => attempt += 1,
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// The activation history of a municipality, newest first.
    pub async fn activations(&self, municipality: &str) -> Result<Vec<Activation>, StoreError> {
        let rows = db::query("SELECT * FROM activations WHERE municipality = $1 ORDER BY seq DESC")
            .bind(municipality)
            .fetch_all(self)
            .await?;
        Ok(rows.iter().map(activation).collect::<Result<_, _>>()?)
    }

    /// A stored native artifact of plugin `hash` for `engine`, with its MAC.
    pub async fn compiled_artifact(&self, hash: &str, engine: &str) -> Result<Option<(Vec<u8>, String)>, StoreError> {
        let row = db::query("SELECT artifact, mac FROM compiled_plugins WHERE hash = $1 AND engine = $2")
            .bind(hash)
            .bind(engine)
            .fetch_optional(self)
            .await?;
        Ok(row.map(|row| Ok::<_, DbError>((row.try_get(0)?, row.try_get(1)?))).transpose()?)
    }

    /// Keep a native artifact; the first one stored for a hash and engine wins.
    pub async fn store_compiled_artifact(
        &self,
        hash: &str,
        engine: &str,
        artifact: &[u8],
        mac: &str,
        now: Millis,
    ) -> Result<(), StoreError> {
        let statement = db::query(
            "INSERT INTO compiled_plugins (hash, engine, artifact, mac, created_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (hash, engine) DO NOTHING",
        )
        .bind(hash)
        .bind(engine)
        .bind(artifact.to_vec())
        .bind(mac)
        .bind(now);
        self.write_one(statement).await?;
        Ok(())
    }
}

/// A version's latest dry-run against a test resident of the register.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct DryRunRecord {
    pub at: Millis,
    pub resident: String,
    pub outcome: Outcome,
    /// The refusal code or failure cause.
    pub cause: Option<String>,
}

impl Store {
    /// Record a dry-run of `hash` (replacing the one before), with its
    /// audit entry.
    pub async fn record_dry_run(
        &self,
        municipality: &str,
        hash: &str,
        run: &DryRunRecord,
        by: &Actor,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        db::query(
            "INSERT INTO dry_runs (municipality, hash, at, resident, outcome, cause) VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (municipality, hash) DO UPDATE SET at = excluded.at, resident = excluded.resident, \
             outcome = excluded.outcome, cause = excluded.cause",
        )
        .bind(municipality)
        .bind(hash)
        .bind(run.at)
        .bind(&run.resident)
        .bind(run.outcome.as_str())
        .bind(&run.cause)
        .execute(&mut tx)
        .await?;
        let data = json!({ "hash": hash, "resident": run.resident, "outcome": run.outcome, "cause": run.cause });
        audit::append_change(
            &mut tx,
            municipality,
            Change { event: AuditEvent::PluginDryRun, by, data, detail: None },
            run.at,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The latest dry-run of `hash` against a test resident, if any.
    pub async fn latest_dry_run(&self, municipality: &str, hash: &str) -> Result<Option<DryRunRecord>, StoreError> {
        let row = db::query("SELECT at, resident, outcome, cause FROM dry_runs WHERE municipality = $1 AND hash = $2")
            .bind(municipality)
            .bind(hash)
            .fetch_optional(self)
            .await?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some(DryRunRecord {
            at: row.try_get(0)?,
            resident: row.try_get(1)?,
            outcome: Outcome::parse(&row.try_get::<String, _>(2)?)?,
            cause: row.try_get(3)?,
        }))
    }
}
