//! What anyone may call: certificate verification, health, readiness,
//! metrics and the OpenAPI document.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::json;

use crate::error::ApiError;
use crate::extract::ApiPath;
use crate::state::{AppState, HOST_BUILD};

#[derive(Serialize)]
pub struct Verification {
    pub valid: bool,
    pub number: String,
    pub kind: String,
    pub municipality: MunicipalityName,
    pub issue_date: String,
    pub pages: Option<i64>,
    pub document_hash: Option<String>,
}

#[derive(Serialize)]
pub struct MunicipalityName {
    pub code: String,
    pub name: String,
}

/// Normalise a code as typed off paper: case, spaces, and the Crockford
/// look-alikes (O→0, I/L→1).
fn normalise(code: &str) -> String {
    let chars: String = code
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| match c.to_ascii_uppercase() {
            'O' => '0',
            'I' | 'L' => '1',
            other => other,
        })
        .collect();
    if chars.len() == 12 { format!("{}-{}-{}", &chars[0..4], &chars[4..8], &chars[8..12]) } else { chars }
}

/// Does this printed code belong to a real issuance? Answers with the kind,
/// municipality, issue date and document hash — no personal data.
pub async fn verify(
    State(state): State<AppState>,
    ApiPath(code): ApiPath<String>,
) -> Result<Json<Verification>, ApiError> {
    let code = normalise(&code);
    let found = state.store.issuance_by_code(&code).await?.filter(|i| i.outcome == "issued");
    let Some(i) = found else {
        return Err(ApiError::NotFound(format!(
            "no certificate was issued with verification code {code}; check the code printed at the foot of each page"
        )));
    };
    let municipality = state.store.municipality(&i.municipality).await?;
    Ok(Json(Verification {
        valid: true,
        number: i.number,
        kind: i.kind,
        municipality: MunicipalityName { name: municipality.map(|m| m.name).unwrap_or_default(), code: i.municipality },
        issue_date: i.issue_date,
        pages: i.pages,
        document_hash: i.document_hash,
    }))
}

pub async fn healthz() -> Json<serde_json::Value> {
    Json(json!({ "status": "ok", "build": HOST_BUILD }))
}

pub async fn readyz(State(state): State<AppState>) -> Response {
    match state.store.ping().await {
        Ok(()) => Json(json!({ "status": "ready", "build": HOST_BUILD })).into_response(),
        Err(err) => ApiError::Unavailable(err.to_string()).into_response(),
    }
}

pub async fn metrics(State(state): State<AppState>) -> Response {
    let mut text = state.metrics.render_text();
    if let Some(batches) = state.store.write_batches() {
        use std::fmt::Write;
        let _ = write!(
            text,
            "# HELP kofu_store_write_batches_total SQLite write batches committed, one fsync each.\n\
             # TYPE kofu_store_write_batches_total counter\nkofu_store_write_batches_total {}\n\
             # HELP kofu_store_batched_writes_total Write transactions committed in those batches.\n\
             # TYPE kofu_store_batched_writes_total counter\nkofu_store_batched_writes_total {}\n\
             # HELP kofu_store_commit_seconds_total Time SQLite write batches spent in COMMIT, when no write can start.\n\
             # TYPE kofu_store_commit_seconds_total counter\nkofu_store_commit_seconds_total {}\n",
            batches.batches, batches.writes, batches.commit_seconds
        );
    }
    if let Some(checkpoints) = state.store.checkpoints() {
        use std::fmt::Write;
        let _ = write!(
            text,
            "# HELP kofu_store_checkpoints_total SQLite WAL checkpoints run by the checkpoint thread.\n\
             # TYPE kofu_store_checkpoints_total counter\nkofu_store_checkpoints_total {}\n\
             # HELP kofu_store_checkpoints_failed_total SQLite WAL checkpoints that could not run (logged).\n\
             # TYPE kofu_store_checkpoints_failed_total counter\nkofu_store_checkpoints_failed_total {}\n\
             # HELP kofu_store_writer_checkpoints_total SQLite WAL checkpoints the writer ran after a commit so that the WAL starts over.\n\
             # TYPE kofu_store_writer_checkpoints_total counter\nkofu_store_writer_checkpoints_total {}\n",
            checkpoints.runs, checkpoints.failed, checkpoints.by_writer
        );
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response()
}

/// The OpenAPI 3.1 description of every endpoint.
pub const OPENAPI: &str = include_str!("../openapi.json");

pub async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI).into_response()
}

pub async fn not_found() -> ApiError {
    ApiError::NotFound("there is no such endpoint; see /openapi.json for the API".into())
}

pub async fn method_not_allowed() -> Response {
    let mut response = ApiError::Refused {
        slug: "method-not-allowed",
        status: StatusCode::METHOD_NOT_ALLOWED,
        title: "Method not allowed",
        detail: "this endpoint does not support this method; see /openapi.json".into(),
        extra: serde_json::Value::Null,
    }
    .into_response();
    *response.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
    response
}
