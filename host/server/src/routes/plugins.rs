//! The plugin lifecycle of a municipality: upload, list, dry-run, activate,
//! roll back. Versions are immutable; only the active version of a kind
//! serves kiosks.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use kofu_certify::{Certified, CertifyError, Stamp};
use kofu_model::{Date, Manifest, RequestContext, Resident};
use kofu_sandbox::Request;
use kofu_store::{Activation, PluginInfo, now_millis};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::auth::MunicipalityAccess;
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath, body_error, media_type};
use crate::plugins::compile;
use crate::slots::Tenant;
use crate::state::AppState;

/// Validate, precompile and store an upload; returns the stored version.
pub async fn store_upload(
    state: &AppState,
    code: &str,
    actor: &str,
    bytes: Vec<u8>,
) -> Result<(bool, PluginInfo), ApiError> {
    let plugin = compile(state, bytes.clone()).await?.map_err(|e| ApiError::Unprocessable {
        detail: format!("the component was not accepted: {e}"),
        extra: json!({ "hint": "check it locally first with `kofu plugin check <file.wasm>`" }),
    })?;
    let manifest = serde_json::to_value(plugin.manifest())
        .map_err(|e| ApiError::Internal(format!("manifest serialisation: {e}")))?;
    let hash = plugin.id().hash.to_hex();
    let id = plugin.id();
    let created =
        state.store.insert_plugin(code, &hash, &id.kind, &id.version, &manifest, &bytes, actor, now_millis()).await?;
    let info = state
        .store
        .plugin_info(code, &hash)
        .await?
        .ok_or_else(|| ApiError::Internal(format!("plugin {hash} missing right after it was stored")))?;
    if created {
        tracing::info!(municipality = code, plugin = %hash, kind = %id.kind, version = %id.version, "plugin uploaded");
    }
    Ok((created, info))
}

pub async fn upload(
    State(state): State<AppState>,
    access: MunicipalityAccess,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<PluginInfo>), ApiError> {
    if media_type(&headers).as_deref() != Some("application/wasm") {
        return Err(ApiError::UnsupportedMediaType(
            "upload the component as the raw request body with `Content-Type: application/wasm`".into(),
        ));
    }
    let limit = state.config.limits.component_bytes;
    let bytes = body.map_err(|e| body_error(e, limit))?;
    if bytes.len() > limit {
        return Err(ApiError::PayloadTooLarge(format!(
            "the component is {} bytes, over the limit of {limit} bytes",
            bytes.len()
        )));
    }
    let (created, info) = store_upload(&state, &access.code, &access.actor, bytes.to_vec()).await?;
    Ok((if created { StatusCode::CREATED } else { StatusCode::OK }, Json(info)))
}

#[derive(Serialize)]
pub struct PluginList {
    pub versions: Vec<PluginInfo>,
    /// Newest first.
    pub activations: Vec<Activation>,
}

pub async fn list(State(state): State<AppState>, access: MunicipalityAccess) -> Result<Json<PluginList>, ApiError> {
    let versions = state.store.plugins(&access.code).await?;
    let activations = state.store.activations(&access.code).await?;
    Ok(Json(PluginList { versions, activations }))
}

pub async fn show(
    State(state): State<AppState>,
    access: MunicipalityAccess,
    ApiPath((_, hash)): ApiPath<(String, String)>,
) -> Result<Json<PluginInfo>, ApiError> {
    let info = state.store.plugin_info(&access.code, &hash).await?;
    Ok(Json(info.ok_or_else(|| ApiError::NotFound(format!("there is no plugin version {hash}")))?))
}

pub async fn activate(
    State(state): State<AppState>,
    access: MunicipalityAccess,
    ApiPath((_, hash)): ApiPath<(String, String)>,
) -> Result<Json<Activation>, ApiError> {
    let activation = state.store.activate_plugin(&access.code, &hash, "activate", &access.actor, now_millis()).await?;
    tracing::info!(municipality = %access.code, plugin = %hash, kind = %activation.kind, "plugin activated");
    Ok(Json(activation))
}

pub async fn rollback(
    State(state): State<AppState>,
    access: MunicipalityAccess,
    ApiPath((_, kind)): ApiPath<(String, String)>,
) -> Result<Json<Activation>, ApiError> {
    let activation =
        state.store.rollback_plugin(&access.code, &kind, &access.actor, now_millis()).await?.ok_or_else(|| {
            ApiError::Conflict(format!(
                "`{kind}` has no earlier version to roll back to; activate a specific version instead"
            ))
        })?;
    tracing::info!(municipality = %access.code, plugin = %activation.hash, %kind, "plugin rolled back");
    Ok(Json(activation))
}

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

/// Evaluate a stored version like production would, but stamped as a
/// preview, and return the PDF (or the refusal or failure as a problem).
pub async fn dry_run(
    State(state): State<AppState>,
    access: MunicipalityAccess,
    ApiPath((_, hash)): ApiPath<(String, String)>,
    ApiJson(body): ApiJson<DryRun>,
) -> Result<Response, ApiError> {
    // Option values are checked before anything is looked up, so a request
    // openapi.json refuses is 422, not 403 or 404 for its resident.
    let option_texts = crate::issuance::option_texts(&body.options)?;
    let subject = match (&body.resident_id, &body.resident) {
        (Some(id), None) => {
            let found = state
                .store
                .subject(&access.code, id)
                .await?
                .ok_or_else(|| ApiError::NotFound(format!("there is no resident `{id}` in the register")))?;
            if !found.subject.entry.test {
                return Err(ApiError::Forbidden(format!(
                    "resident `{id}` is not a test resident: dry-runs use test residents (`\"test\": true` in the \
                     register) or a supplied record, never real residents' data"
                )));
            }
            let members: Vec<_> = found.household.iter().map(|r| r.entry.clone()).collect();
            kofu_register::assemble(&found.subject.entry, &members)
        }
        (None, Some(record)) => {
            Resident::from_json(&record.to_string()).map_err(|e| ApiError::unprocessable(e.to_string()))?
        }
        _ => {
            return Err(ApiError::unprocessable(
                "give exactly one of `resident_id` (a test resident) or `resident` (a record in the fixture format)",
            ));
        }
    };
    let info = state
        .store
        .plugin_info(&access.code, &hash)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("there is no plugin version {hash}")))?;
    let manifest: Manifest = serde_json::from_value(info.manifest.clone())
        .map_err(|e| ApiError::Internal(format!("stored manifest of {hash}: {e}")))?;
    let options = manifest.resolve_options(&option_texts).map_err(|e| ApiError::unprocessable(e.to_string()))?;
    let municipality = state
        .store
        .municipality(&access.code)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("there is no municipality {}", access.code)))?;
    let issue_date = body.issue_date.unwrap_or_else(|| Date::in_japan_at((now_millis() / 1000) as u64));
    let plugin = state.plugins.get(&state, &access.code, &hash).await?;
    let request = Request { subject: Arc::new(subject), context: RequestContext { issue_date, municipality, options } };
    // The same register check as at kiosks: a dry-run previews what
    // production prints, refusals included.
    let register = state.register_indexes.get(&state, &access.code).await?;
    let result = state
        .in_sandbox(Tenant::Uploads, move |certifier| {
            certifier.certify_with(&plugin, &request, &Stamp::preview(), &register)
        })
        .await?;
    match result {
        Ok(Certified::Issued { certificate, .. }) => {
            Ok(([(header::CONTENT_TYPE, "application/pdf"), (header::CACHE_CONTROL, "no-store")], certificate.pdf)
                .into_response())
        }
        Ok(Certified::Refused { refusal, host_reason, .. }) => Err(ApiError::Refused {
            slug: "refused",
            status: StatusCode::UNPROCESSABLE_ENTITY,
            title: "Issuance was refused",
            detail: match &host_reason {
                Some(why) => format!("the host refused ({}): {why}", refusal.code.as_str()),
                None => format!("the plugin refused ({}): {}", refusal.code.as_str(), refusal.message_en),
            },
            extra: json!({ "refusal": refusal, "host_reason": host_reason }),
        }),
        Err(CertifyError::Evaluation(e)) => Err(ApiError::Refused {
            slug: "plugin-failed",
            status: StatusCode::UNPROCESSABLE_ENTITY,
            title: "The plugin failed",
            detail: e.to_string(),
            extra: json!({
                "cause": e.cause.slug(),
                "stage": e.stage.to_string(),
                "backtrace": e.backtrace,
                "logs": e.logs.iter().map(|l| format!("{:?}: {}", l.level, l.message)).collect::<Vec<_>>(),
            }),
        }),
        Err(e) => Err(ApiError::unprocessable(e.to_string())),
    }
}
