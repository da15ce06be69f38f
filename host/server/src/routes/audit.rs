//! A municipality's own audit log and issuance records, the verification of
//! its log, and the vendor's chain.

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use kofu_issue::AuditReport;
use kofu_model::{parse_instant, rfc3339_in_japan};
use kofu_store::{AuditEntry, Issuance};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use super::paging::{check_limit, default_limit};
use crate::auth::{MunicipalityAccess, Vendor};
use crate::error::ApiError;
use crate::extract::{ApiPath, ApiQuery, OptionalJson};
use crate::state::AppState;

/// A span of time for the export.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Span {
    pub from: Option<String>,
    pub to: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Page {
    /// Entries after this sequence number (0 for the start).
    #[serde(default)]
    pub after: i64,
    #[serde(default = "default_limit")]
    pub limit: i64,
}

/// An audit entry as people and tools read it: the hashed text (`entry`,
/// what `kofu audit verify` checks) and the same content as JSON (`data`),
/// its time in RFC 3339 (Japan time), and the detail kept apart from the
/// chain while retention keeps it.
#[derive(Serialize)]
pub struct AuditView {
    pub seq: i64,
    pub at: String,
    pub at_ms: i64,
    pub event: String,
    pub issuance: String,
    pub data: Value,
    /// Personal detail (a status before and after, a staff note) whose
    /// digest `data.detail_digest` holds; null when there is none or
    /// retention has erased it.
    pub detail: Option<Value>,
    pub entry: String,
    pub prev_hash: String,
    pub hash: String,
}

async fn views(state: &AppState, code: &str, entries: Vec<AuditEntry>) -> Result<Vec<AuditView>, ApiError> {
    let (Some(first), Some(last)) = (entries.first(), entries.last()) else { return Ok(Vec::new()) };
    let mut details = state.store().audit_details(code, first.seq - 1, last.seq).await?;
    Ok(entries
        .into_iter()
        .map(|e| {
            let data =
                serde_json::from_str::<Value>(&e.entry).ok().and_then(|v| v.get("data").cloned()).unwrap_or_default();
            let detail = details.remove(&e.seq).and_then(|d| serde_json::from_str(&d).ok());
            AuditView {
                seq: e.seq,
                at: rfc3339_in_japan(e.at),
                at_ms: e.at,
                event: e.event,
                issuance: e.issuance,
                data,
                detail,
                entry: e.entry,
                prev_hash: e.prev_hash,
                hash: e.hash,
            }
        })
        .collect())
}

#[derive(Serialize)]
pub struct AuditPage {
    pub entries: Vec<AuditView>,
    /// Pass as `after` for the next page; null at the end.
    pub next_after: Option<i64>,
}

pub async fn list(
    State(state): State<AppState>,
    access: MunicipalityAccess,
    ApiQuery(page): ApiQuery<Page>,
) -> Result<Json<AuditPage>, ApiError> {
    page_of(&state, &access.code, page).await
}

/// The vendor's own chain: municipalities created, kiosks registered and
/// revoked.
pub async fn vendor_list(
    State(state): State<AppState>,
    _vendor: Vendor,
    ApiQuery(page): ApiQuery<Page>,
) -> Result<Json<AuditPage>, ApiError> {
    page_of(&state, kofu_store::VENDOR_CHAIN, page).await
}

async fn page_of(state: &AppState, chain: &str, page: Page) -> Result<Json<AuditPage>, ApiError> {
    check_limit(page.limit)?;
    if page.after < 0 {
        return Err(ApiError::unprocessable("`after` is a sequence number: 0 or more (the `next_after` of a page)"));
    }
    let entries = state.store().audit_entries(chain, page.after, page.limit).await?;
    let next_after = (entries.len() as i64 == page.limit).then(|| entries.last().map(|e| e.seq)).flatten();
    Ok(Json(AuditPage { entries: views(state, chain, entries).await?, next_after }))
}

/// Every entry as JSON lines, oldest first: the file `kofu audit verify`
/// style checks can run on outside the host.
///
/// `from` and `to` (RFC 3339 instants or dates, as for the issuance list)
/// keep the entries of that span; the chain of a span verifies from its
/// first entry's `prev_hash`.
pub async fn export(
    State(state): State<AppState>,
    access: MunicipalityAccess,
    ApiQuery(span): ApiQuery<Span>,
) -> Result<Response, ApiError> {
    let bound = |name: &str, text: &Option<String>| {
        text.as_deref()
            .map(|t| {
                parse_instant(t).ok_or_else(|| {
                    ApiError::unprocessable(format!(
                        "`{name}` must be an RFC 3339 instant or a date such as 2026-12-07"
                    ))
                })
            })
            .transpose()
    };
    let (from, to) = (bound("from", &span.from)?, bound("to", &span.to)?);
    let mut body = String::new();
    let mut after = 0;
    loop {
        let page = state.store().audit_entries_in(&access.code, (from, to), after, 5_000).await?;
        let Some(last) = page.last() else { break };
        after = last.seq;
        for entry in &views(&state, &access.code, page).await? {
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

/// Documents a verification re-renders unless the body says otherwise.
const DEFAULT_SAMPLE: i64 = 20;
/// The most one verification re-renders: each takes an upload slot in
/// turn, for as long as a dry-run does.
const MAX_SAMPLE: i64 = 200;

/// The body of `POST /v1/municipalities/{code}/audit/verify`, which may be
/// left out.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerifyRequest {
    /// Read as any JSON value, so that everything but a whole number in
    /// range (a string, a fraction, null) gets the same plain answer.
    #[serde(default, deserialize_with = "present")]
    sample: Option<Value>,
}

/// A member that is there, even as `null`.
fn present<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(deserializer).map(Some)
}

impl VerifyRequest {
    fn sample(&self) -> Result<i64, ApiError> {
        let Some(value) = &self.sample else { return Ok(DEFAULT_SAMPLE) };
        value.as_i64().filter(|n| (1..=MAX_SAMPLE).contains(n)).ok_or_else(|| {
            ApiError::BadRequest(format!(
                "`sample` is how many issued documents to re-render: a whole number from 1 to {MAX_SAMPLE}, or \
                 leave it out for {DEFAULT_SAMPLE}"
            ))
        })
    }
}

/// What a verification found: `ok` when nothing is wrong.
#[derive(Serialize)]
pub struct Verified {
    pub ok: bool,
    /// Entries of the municipality's chain checked.
    pub entries: u64,
    /// Issuance records cross-checked against the chain.
    pub issuances_checked: u64,
    pub rerendered: u64,
    /// Re-renders of documents from another host build, compared by
    /// document hash only.
    pub other_build: u64,
    /// Everything wrong, in plain words; empty when `ok`.
    pub problems: Vec<String>,
}

impl From<AuditReport> for Verified {
    fn from(report: AuditReport) -> Verified {
        Verified {
            ok: report.ok(),
            entries: report.chain.entries,
            issuances_checked: report.issuances_checked,
            rerendered: report.rerendered,
            other_build: report.other_build,
            problems: report.all_problems().cloned().collect(),
        }
    }
}

/// Verify the municipality's own audit log, as `kofu audit verify` does
/// every one: a broken chain is a report with `ok: false`, not an error.
pub async fn verify(
    State(state): State<AppState>,
    access: MunicipalityAccess,
    OptionalJson(request): OptionalJson<VerifyRequest>,
) -> Result<Json<Verified>, ApiError> {
    let sample = request.sample()?;
    let report = state.issuer().verify_municipality_audit(&access.code, sample).await?;
    if report.ok() {
        tracing::info!(municipality = %access.code, rerendered = report.rerendered, "audit log verified");
    } else {
        tracing::warn!(municipality = %access.code, problems = report.all_problems().count(), "audit log does not verify");
    }
    Ok(Json(report.into()))
}
