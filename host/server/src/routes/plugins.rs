//! The plugin lifecycle of a municipality: upload, list, dry-run, activate,
//! roll back. Versions are immutable; only the active version of a kind
//! serves kiosks.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use kofu_certify::{Certified, CertifyError};
use kofu_issue::DryRun;
use kofu_store::{Activation, PluginInfo, now_millis};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::auth::MunicipalityAccess;
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath, OptionalJson, body_error, media_type};
use crate::state::AppState;

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
    let limit = state.config().limits.component_bytes;
    let bytes = body.map_err(|e| body_error(e, limit))?;
    if bytes.len() > limit {
        return Err(ApiError::PayloadTooLarge(format!(
            "the component is {} bytes, over the limit of {limit} bytes",
            bytes.len()
        )));
    }
    let (created, info) = state.issuer().store_plugin(&access.code, &access.actor, bytes.to_vec()).await?;
    Ok((if created { StatusCode::CREATED } else { StatusCode::OK }, Json(info)))
}

#[derive(Serialize)]
pub struct PluginList {
    pub versions: Vec<PluginInfo>,
    /// Newest first.
    pub activations: Vec<Activation>,
}

pub async fn list(State(state): State<AppState>, access: MunicipalityAccess) -> Result<Json<PluginList>, ApiError> {
    let versions = state.store().plugins(&access.code).await?;
    let activations = state.store().activations(&access.code).await?;
    Ok(Json(PluginList { versions, activations }))
}

pub async fn show(
    State(state): State<AppState>,
    access: MunicipalityAccess,
    ApiPath((_, hash)): ApiPath<(String, String)>,
) -> Result<Json<PluginInfo>, ApiError> {
    let info = state.store().plugin_info(&access.code, &hash).await?;
    Ok(Json(info.ok_or_else(|| ApiError::NotFound(format!("there is no plugin version {hash}")))?))
}

/// The body of an activation: empty, or an override of the dry-run rule.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ActivateRequest {
    /// Why this version may serve kiosks without a dry-run that issued
    /// (recorded in the audit entry).
    pub override_reason: Option<String>,
}

#[derive(Serialize)]
pub struct Activated {
    #[serde(flatten)]
    pub activation: Activation,
    /// What changes for kiosks against the version active before: options
    /// added, removed or changed. Empty when nothing does.
    pub changes: Vec<String>,
}

pub async fn activate(
    State(state): State<AppState>,
    access: MunicipalityAccess,
    ApiPath((_, hash)): ApiPath<(String, String)>,
    OptionalJson(request): OptionalJson<ActivateRequest>,
) -> Result<Json<Activated>, ApiError> {
    let (activation, changes) =
        state.issuer().activate(&access.code, &hash, &access.actor, request.override_reason.as_deref()).await?;
    tracing::info!(municipality = %access.code, plugin = %hash, kind = %activation.kind, action = %activation.action, "plugin activated");
    Ok(Json(Activated { activation, changes }))
}

pub async fn rollback(
    State(state): State<AppState>,
    access: MunicipalityAccess,
    ApiPath((_, kind)): ApiPath<(String, String)>,
) -> Result<Json<Activation>, ApiError> {
    let activation =
        state.store().rollback_plugin(&access.code, &kind, &access.actor, now_millis()).await?.ok_or_else(|| {
            ApiError::Conflict(format!(
                "`{kind}` has no earlier version to roll back to; activate a specific version instead"
            ))
        })?;
    tracing::info!(municipality = %access.code, plugin = %activation.hash, %kind, "plugin rolled back");
    Ok(Json(activation))
}

/// Evaluate a stored version like production would, but stamped as a
/// preview, and return the PDF (or the refusal or failure as a problem).
pub async fn dry_run(
    State(state): State<AppState>,
    access: MunicipalityAccess,
    ApiPath((_, hash)): ApiPath<(String, String)>,
    ApiJson(body): ApiJson<DryRun>,
) -> Result<Response, ApiError> {
    let result = state.issuer().dry_run(&access.code, &hash, body, &access.actor).await?;
    match result {
        Ok(Certified::Issued { certificate, .. }) => Ok((
            [(header::CONTENT_TYPE, "application/pdf"), (header::CACHE_CONTROL, "no-store")],
            certificate.into_pdf(),
        )
            .into_response()),
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
