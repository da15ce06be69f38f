//! A municipality's plugin versions: an upload validated, precompiled and
//! stored, and a dry-run that evaluates a stored version as production
//! would, stamped as a preview.

use std::collections::BTreeMap;
use std::sync::Arc;

use kofu_certify::{Certified, CertifyError, Stamp};
use kofu_model::{Date, Manifest, RequestContext, Resident};
use kofu_sandbox::Request;
use kofu_store::{Activation, ActivationBy, Actor, DryRunRecord, NewPlugin, Outcome, PluginInfo, now_millis};
use serde::Deserialize;
use serde_json::Value;

use crate::context::Issuer;
use crate::error::IssueError;
use crate::issuance::option_texts;
use crate::slots::Tenant;

/// The highest fee a municipality may set, as for a manifest's.
pub const MAX_FEE_YEN: u32 = kofu_model::MAX_FEE_YEN;

/// The body of `POST /v1/municipalities/{code}/plugins/{hash}/activate`
/// (all optional).
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Activate {
    /// The fee kiosks charge for the kind, in yen; the manifest's default
    /// when absent.
    pub fee_yen: Option<i64>,
    /// Why this version may serve kiosks without a dry-run that issued
    /// (recorded in the audit entry's detail).
    pub override_reason: Option<String>,
}

/// The body of `POST /v1/municipalities/{code}/plugins/{hash}/dry-run`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DryRun {
    /// A test resident of the municipality's register.
    pub resident_id: Option<String>,
    /// Or a resident record supplied with the request (fixture format).
    pub resident: Option<Value>,
    #[serde(default)]
    pub options: BTreeMap<String, Value>,
    /// The issue date to evaluate as; today in Japan by default.
    pub issue_date: Option<Date>,
}

impl Issuer {
    /// Validate, precompile and store an upload of `municipality` by
    /// `actor`. Returns whether the version is new, and the stored version.
    pub async fn store_plugin(
        &self,
        municipality: &str,
        actor: &Actor,
        bytes: Vec<u8>,
    ) -> Result<(bool, PluginInfo), IssueError> {
        let plugin = self
            .plugins
            .compile(&self.store, &self.sandboxes, bytes.clone())
            .await?
            .map_err(IssueError::NotAccepted)?;
        let manifest = serde_json::to_value(plugin.manifest())
            .map_err(|e| IssueError::Internal(format!("manifest serialisation: {e}")))?;
        let hash = plugin.id().hash.to_hex();
        let id = plugin.id();
        let new =
            NewPlugin { hash: &hash, kind: &id.kind, version: &id.version, manifest: &manifest, component: &bytes };
        let created = self.store.insert_plugin(municipality, new, actor, now_millis()).await?;
        let info = self
            .store
            .plugin_info(municipality, &hash)
            .await?
            .ok_or_else(|| IssueError::Internal(format!("plugin {hash} missing right after it was stored")))?;
        if created {
            tracing::info!(municipality, plugin = %hash, kind = %id.kind, version = %id.version, "plugin uploaded");
        }
        Ok((created, info))
    }

    /// Validate and compile a component without storing it as anyone's
    /// version, and return its manifest (the catalog's listing).
    pub async fn inspect_plugin(&self, bytes: Vec<u8>) -> Result<Manifest, IssueError> {
        let plugin =
            self.plugins.compile(&self.store, &self.sandboxes, bytes).await?.map_err(IssueError::NotAccepted)?;
        Ok(plugin.manifest().clone())
    }

    /// Evaluate `municipality`'s stored version `hash` as production would,
    /// register check included, but stamped as a preview. A dry-run is not
    /// an issuance: no issuance is recorded. One against a test resident of
    /// the register is recorded as the version's latest dry-run (what
    /// activation asks for), with its audit entry.
    pub async fn dry_run(
        &self,
        municipality: &str,
        hash: &str,
        request: DryRun,
        by: &Actor,
    ) -> Result<Result<Certified, CertifyError>, IssueError> {
        let resident = request.resident_id.clone();
        let result = self.evaluate_dry_run(municipality, hash, request).await?;
        if let Some(resident) = resident {
            let (outcome, cause) = match &result {
                Ok(Certified::Issued { .. }) => (Outcome::Issued, None),
                Ok(Certified::Refused { refusal, .. }) => (Outcome::Refused, Some(refusal.code.as_str().to_owned())),
                Err(CertifyError::Evaluation(e)) => (Outcome::Failed, Some(e.cause.slug().to_owned())),
                Err(_) => (Outcome::Failed, Some("render".to_owned())),
            };
            let run = DryRunRecord { at: now_millis(), resident, outcome, cause };
            self.store.record_dry_run(municipality, hash, &run, by).await?;
        }
        Ok(result)
    }

    /// Make `hash` the version serving its kind, at the fee the request
    /// sets (the manifest's when it sets none). Its latest dry-run against
    /// a test resident must have issued a certificate, unless
    /// `override_reason` says why not (recorded in the audit entry); the
    /// version already serving its kind is activated again (a new fee)
    /// without one. Returns the activation and what changes for kiosks:
    /// the options added, removed or changed against the version active
    /// before, and the fee.
    pub async fn activate(
        &self,
        municipality: &str,
        hash: &str,
        by: &Actor,
        request: &Activate,
    ) -> Result<(Activation, Vec<String>), IssueError> {
        let info =
            self.store.plugin_info(municipality, hash).await?.ok_or_else(|| {
                IssueError::NotFound(format!("there is no plugin version {hash} in this municipality"))
            })?;
        if let Some(fee) = request.fee_yen
            && !(0..=i64::from(MAX_FEE_YEN)).contains(&fee)
        {
            return Err(IssueError::Invalid(format!(
                "`fee_yen` is {fee}: a fee is 0 to {MAX_FEE_YEN} yen (omit it for the plugin's default, {} yen)",
                info.manifest["fee_yen"]
            )));
        }
        let dry_run = self.store.latest_dry_run(municipality, hash).await?;
        let override_reason = request.override_reason.as_deref().map(str::trim).filter(|r| !r.is_empty());
        if override_reason.is_some_and(|r| r.chars().count() > kofu_store::MAX_NOTE_CHARS) {
            return Err(IssueError::Invalid(format!(
                "`override_reason` is longer than {} characters: say why in a sentence or two",
                kofu_store::MAX_NOTE_CHARS
            )));
        }
        let passed = dry_run.as_ref().is_some_and(|run| run.outcome == Outcome::Issued);
        if !passed && !info.active && override_reason.is_none() {
            return Err(IssueError::Conflict(match &dry_run {
                None => format!(
                    "version {hash} has not been dry-run: dry-run it against a test resident (POST \
                     .../plugins/{hash}/dry-run with `resident_id`) and activate it once that issues a certificate, \
                     or activate with `override_reason` saying why not"
                ),
                Some(run) => format!(
                    "version {hash}'s latest dry-run (test resident `{}`) {}{}: fix the plugin or the test \
                     resident and dry-run again, or activate with `override_reason` saying why",
                    run.resident,
                    if run.outcome == Outcome::Refused { "was refused" } else { "failed" },
                    run.cause.as_deref().map(|c| format!(" ({c})")).unwrap_or_default()
                ),
            }));
        }
        let previous = self.store.active_plugins(municipality).await?.into_iter().find(|p| p.kind == info.kind);
        let mut changes = previous.as_ref().map(|p| option_changes(&p.manifest, &info.manifest)).unwrap_or_default();
        let fee_now = request.fee_yen.or_else(|| info.manifest["fee_yen"].as_i64());
        if let Some(before) = previous.as_ref().and_then(|p| p.fee_yen)
            && fee_now != Some(before)
        {
            let now = fee_now.map_or_else(|| "the plugin's default".to_owned(), |f| format!("{f} yen"));
            changes.push(format!("fee: {before} yen becomes {now}"));
        }
        let data = serde_json::json!({
            "dry_run": dry_run,
            "replaces": previous.as_ref().map(|p| p.hash.clone()),
            "fee_before": previous.as_ref().and_then(|p| p.fee_yen),
            "option_changes": changes,
        });
        // Staff's words may name people: the detail, beside the chain.
        let detail = override_reason.map(|reason| serde_json::json!({ "override_reason": reason }));
        let action = if passed || (info.active && override_reason.is_none()) { "activate" } else { "override" };
        let activation = ActivationBy { by, action, fee_yen: request.fee_yen, data, detail };
        let activation = self.store.activate_plugin(municipality, hash, &activation, now_millis()).await?;
        Ok((activation, changes))
    }

    async fn evaluate_dry_run(
        &self,
        municipality: &str,
        hash: &str,
        request: DryRun,
    ) -> Result<Result<Certified, CertifyError>, IssueError> {
        // Option values are checked before anything is looked up, so a
        // request openapi.json refuses is 422, not 403 or 404 for its
        // resident.
        let option_texts = option_texts(&request.options)?;
        let subject = match (&request.resident_id, &request.resident) {
            (Some(id), None) => {
                let found = self
                    .store
                    .subject(municipality, id)
                    .await?
                    .ok_or_else(|| IssueError::NotFound(format!("there is no resident `{id}` in the register")))?;
                if !found.subject.entry.test {
                    return Err(IssueError::Forbidden(format!(
                        "resident `{id}` is not a test resident: dry-runs use test residents (`\"test\": true` in \
                         the register) or a supplied record, never real residents' data"
                    )));
                }
                let members: Vec<_> = found.household.iter().map(|r| r.entry.clone()).collect();
                kofu_register::assemble(&found.subject.entry, &members)
            }
            (None, Some(record)) => {
                Resident::from_json(&record.to_string()).map_err(|e| IssueError::Invalid(e.to_string()))?
            }
            _ => {
                return Err(IssueError::Invalid(
                    "give exactly one of `resident_id` (a test resident) or `resident` (a record in the fixture \
                     format)"
                        .into(),
                ));
            }
        };
        let info = self
            .store
            .plugin_info(municipality, hash)
            .await?
            .ok_or_else(|| IssueError::NotFound(format!("there is no plugin version {hash}")))?;
        let manifest: Manifest = serde_json::from_value(info.manifest.clone())
            .map_err(|e| IssueError::Internal(format!("stored manifest of {hash}: {e}")))?;
        let options = manifest.resolve_options(&option_texts).map_err(|e| IssueError::Invalid(e.to_string()))?;
        let issue_date = request.issue_date.unwrap_or_else(|| Date::in_japan_at((now_millis() / 1000) as u64));
        let municipality_record = self
            .store
            .municipality_on(municipality, issue_date)
            .await?
            .ok_or_else(|| IssueError::NotFound(format!("there is no municipality {municipality}")))?;
        let plugin = self.plugins.get(&self.store, &self.sandboxes, municipality, hash).await?;
        let context = RequestContext { issue_date, municipality: municipality_record, options };
        let request = Request { subject: Arc::new(subject), context };
        // The same register check as at kiosks: a dry-run previews what
        // production prints, refusals included.
        let register = self.registers.get(&self.store, municipality).await?;
        self.sandboxes
            .run(Tenant::Uploads, move |certifier| {
                certifier.certify_with(&plugin, &request, &Stamp::preview(), &register)
            })
            .await
    }
}

/// What changes for kiosks between two manifests' options, in plain words.
fn option_changes(before: &Value, after: &Value) -> Vec<String> {
    let options = |manifest: &Value| -> BTreeMap<String, Value> {
        manifest
            .get("options")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|o| Some((o.get("key")?.as_str()?.to_owned(), o.clone())))
            .collect()
    };
    let (before, after) = (options(before), options(after));
    let mut changes = Vec::new();
    for (key, option) in &after {
        match before.get(key) {
            None => changes.push(format!("option `{key}` is new")),
            Some(old) if old != option => changes.push(format!("option `{key}` changes: {old} → {option}")),
            Some(_) => {}
        }
    }
    for key in before.keys().filter(|k| !after.contains_key(*k)) {
        changes.push(format!("option `{key}` is removed: kiosks that send it are refused"));
    }
    changes
}
