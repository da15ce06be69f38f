//! A municipality's own audit log and issuance records.

use axum::Json;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use kofu_store::{AuditEntry, Issuance};
use serde::{Deserialize, Serialize};

use crate::auth::MunicipalityAccess;
use crate::error::ApiError;
use crate::extract::ApiPath;
use crate::state::AppState;

const MAX_PAGE: i64 = 1_000;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Page {
    /// Entries after this sequence number (0 for the start).
    #[serde(default)]
    pub after: i64,
    #[serde(default = "default_limit")]
    pub limit: i64,
}

fn default_limit() -> i64 {
    100
}

#[derive(Serialize)]
pub struct AuditPage {
    pub entries: Vec<AuditEntry>,
    /// Pass as `after` for the next page; null at the end.
    pub next_after: Option<i64>,
}

pub async fn list(
    State(state): State<AppState>,
    access: MunicipalityAccess,
    query: Result<Query<Page>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<AuditPage>, ApiError> {
    let Query(page) = query.map_err(|e| ApiError::BadRequest(format!("the query string is not valid: {e}")))?;
    if !(1..=MAX_PAGE).contains(&page.limit) || page.after < 0 {
        return Err(ApiError::unprocessable(format!("`limit` must be 1 to {MAX_PAGE} and `after` 0 or more")));
    }
    let entries = state.store().audit_entries(&access.code, page.after, page.limit).await?;
    let next_after = (entries.len() as i64 == page.limit).then(|| entries.last().map(|e| e.seq)).flatten();
    Ok(Json(AuditPage { entries, next_after }))
}

/// Every entry as JSON lines, oldest first: the file `kofu audit verify`
/// style checks can run on outside the host.
pub async fn export(State(state): State<AppState>, access: MunicipalityAccess) -> Result<Response, ApiError> {
    let mut body = String::new();
    let mut after = 0;
    loop {
        let page = state.store().audit_entries(&access.code, after, 5_000).await?;
        let Some(last) = page.last() else { break };
        after = last.seq;
        for entry in &page {
            let line = serde_json::to_string(entry).map_err(|e| ApiError::Internal(e.to_string()))?;
            body.push_str(&line);
            body.push('\n');
        }
    }
    Ok(([(header::CONTENT_TYPE, "application/x-ndjson")], body).into_response())
}

/// The full record of one of the municipality's issuances, failure
/// reasons and plugin backtraces included.
pub async fn issuance(
    State(state): State<AppState>,
    access: MunicipalityAccess,
    ApiPath((_, id)): ApiPath<(String, String)>,
) -> Result<Json<Issuance>, ApiError> {
    match state.store().issuance(&id).await? {
        Some(found) if found.municipality == access.code => Ok(Json(found)),
        _ => Err(ApiError::NotFound(format!("there is no issuance {id} in this municipality"))),
    }
}
