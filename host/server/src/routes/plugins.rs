//! The plugin lifecycle of a municipality: upload, list, dry-run, activate,
//! roll back. Versions are immutable; only the active version of a kind
//! serves kiosks.

use std::time::{Duration, Instant};

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::prelude::BASE64_STANDARD;
use kofu_certify::{Certified, CertifyError};
use kofu_issue::{Activate, DryRun};
use kofu_store::{Activation, PluginInfo, now_millis};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::catalog;
use crate::auth::MunicipalityAccess;
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath, OptionalJson, accepts_first, body_error, media_type};
use crate::state::AppState;

/// An install from the catalog: `{"catalog": "residence"}`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Install {
    pub catalog: String,
}

/// `POST .../plugins`: a component as the raw body (`application/wasm`),
/// or a bundled plugin by its catalog name (`application/json`). Either is
/// validated, stored and audited the same way.
pub async fn upload(
    State(state): State<AppState>,
    access: MunicipalityAccess,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<PluginInfo>), ApiError> {
    let limit = state.config().limits.component_bytes;
    let bytes = match media_type(&headers).as_deref() {
        Some("application/wasm") => {
            let bytes = body.map_err(|e| body_error(e, limit))?;
            if bytes.len() > limit {
                return Err(ApiError::PayloadTooLarge(format!(
                    "the component is {} bytes, over the limit of {limit} bytes",
                    bytes.len()
                )));
            }
            bytes.to_vec()
        }
        Some("application/json") => {
            let body = body.map_err(|e| body_error(e, limit))?;
            // An object only: serde would read `["tax"]` as the struct too.
            let install = serde_json::from_slice::<serde_json::Value>(&body)
                .ok()
                .filter(serde_json::Value::is_object)
                .and_then(|value| serde_json::from_value::<Install>(value).ok())
                .ok_or_else(|| {
                    ApiError::unprocessable(format!(
                        "the body is not an install request: send {{\"catalog\": name}} with one of {}",
                        catalog::names()
                    ))
                })?;
            let plugin = catalog::bundled(&install.catalog).ok_or_else(|| {
                ApiError::NotFound(format!(
                    "the catalog has no plugin `{}`; it has {} (GET /v1/catalog lists them)",
                    install.catalog,
                    catalog::names()
                ))
            })?;
            plugin.component.to_vec()
        }
        _ => {
            return Err(ApiError::UnsupportedMediaType(
                "upload the component as the raw request body with `Content-Type: application/wasm`, or install \
                 from the catalog with `Content-Type: application/json` and {\"catalog\": name}"
                    .into(),
            ));
        }
    };
    let (created, info) = state.issuer().store_plugin(&access.code, &access.actor, bytes).await?;
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
    OptionalJson(request): OptionalJson<Activate>,
) -> Result<Json<Activated>, ApiError> {
    let (activation, changes) = state.issuer().activate(&access.code, &hash, &access.actor, &request).await?;
    tracing::info!(
        municipality = %access.code, plugin = %hash, kind = %activation.kind, action = %activation.action,
        fee_yen = ?activation.fee_yen, "plugin activated"
    );
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
/// preview. A caller asking for `application/json` gets the report (the
/// outcome, the fields read, fuel and time used, the plugin's log, and the
/// PDF in base64); any other gets the PDF, or the refusal or failure as a
/// problem.
pub async fn dry_run(
    State(state): State<AppState>,
    access: MunicipalityAccess,
    headers: HeaderMap,
    ApiPath((_, hash)): ApiPath<(String, String)>,
    ApiJson(body): ApiJson<DryRun>,
) -> Result<Response, ApiError> {
    let started = Instant::now();
    let result = state.issuer().dry_run(&access.code, &hash, body, &access.actor).await?;
    if accepts_first(&headers, "application/json", "application/pdf") {
        let fuel_limit = state.issuer().certifier().sandbox().limits().fuel;
        return Ok(Json(DryRunReport::of(result, started.elapsed(), fuel_limit)).into_response());
    }
    match result {
        Ok(Certified::Issued { certificate, .. }) => Ok((
            [(header::CONTENT_TYPE, "application/pdf"), (header::CACHE_CONTROL, "no-store")],
            certificate.into_pdf(),
        )
            .into_response()),
        Ok(Certified::Refused { refusal, host_reason, evaluation }) => Err(ApiError::Refused {
            slug: "refused",
            status: StatusCode::UNPROCESSABLE_ENTITY,
            title: "Issuance was refused",
            detail: match &host_reason {
                Some(why) => format!("the host refused ({}): {why}", refusal.code.as_str()),
                None => format!("the plugin refused ({}): {}", refusal.code.as_str(), refusal.message_en),
            },
            extra: json!({ "refusal": refusal, "host_reason": host_reason, "fields_read": evaluation.fields_read }),
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
                "fields_read": e.fields_read,
                "logs": e.logs.iter().map(|l| format!("{:?}: {}", l.level, l.message)).collect::<Vec<_>>(),
            }),
        }),
        Err(e) => Err(ApiError::unprocessable(e.to_string())),
    }
}

/// A dry-run's report: what `kofu plugin render` prints, as JSON.
#[derive(Serialize)]
pub struct DryRunReport {
    /// `issued`, `refused` or `failed`.
    pub outcome: &'static str,
    pub fields_read: Vec<kofu_model::Field>,
    /// `None` when the evaluation failed before it ended.
    pub fuel_used: Option<u64>,
    pub fuel_limit: u64,
    /// Wall time of the evaluation and rendering, in milliseconds.
    pub time_ms: f64,
    pub logs: Vec<kofu_sandbox::LogEntry>,
    pub pages: Option<u32>,
    /// The preview PDF, in base64.
    pub pdf_base64: Option<String>,
    pub refusal: Option<kofu_model::Refusal>,
    pub host_reason: Option<String>,
    pub failure: Option<serde_json::Value>,
}

impl DryRunReport {
    fn of(result: Result<Certified, CertifyError>, took: Duration, fuel_limit: u64) -> DryRunReport {
        let mut report = DryRunReport {
            outcome: "failed",
            fields_read: Vec::new(),
            fuel_used: None,
            fuel_limit,
            time_ms: took.as_secs_f64() * 1000.0,
            logs: Vec::new(),
            pages: None,
            pdf_base64: None,
            refusal: None,
            host_reason: None,
            failure: None,
        };
        let mut evaluated = |evaluation: kofu_sandbox::Evaluation| {
            report.fields_read = evaluation.fields_read;
            report.fuel_used = Some(evaluation.fuel_used);
            report.logs = evaluation.logs;
        };
        match result {
            Ok(Certified::Issued { certificate, evaluation }) => {
                evaluated(evaluation);
                report.outcome = "issued";
                report.pages = Some(certificate.pages());
                report.pdf_base64 = Some(BASE64_STANDARD.encode(certificate.into_pdf()));
            }
            Ok(Certified::Refused { refusal, evaluation, host_reason }) => {
                evaluated(evaluation);
                report.outcome = "refused";
                report.refusal = Some(refusal);
                report.host_reason = host_reason;
            }
            Err(CertifyError::Evaluation(e)) => {
                report.failure = Some(json!({
                    "cause": e.cause.slug(),
                    "stage": e.stage.to_string(),
                    "detail": e.to_string(),
                    "backtrace": e.backtrace,
                }));
                report.fields_read = e.fields_read;
                report.logs = e.logs;
            }
            Err(e) => report.failure = Some(json!({ "cause": "render", "detail": e.to_string() })),
        }
        report
    }
}
