//! What anyone may call: certificate verification, health, readiness,
//! metrics and the OpenAPI document.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use kofu_issue::HOST_BUILD;
use kofu_store::Outcome;
use serde::Serialize;
use serde_json::json;

use super::verify_page;
use crate::error::ApiError;
use crate::extract::ApiPath;
use crate::state::AppState;

#[derive(Serialize)]
pub struct Verification {
    /// False once the municipality has voided it.
    pub valid: bool,
    /// When and why the municipality voided it, if it did.
    pub voided: Option<Voided>,
    pub number: String,
    pub kind: String,
    pub municipality: MunicipalityName,
    pub issue_date: String,
    pub pages: Option<i64>,
    pub document_hash: Option<String>,
}

#[derive(Serialize)]
pub struct Voided {
    /// RFC 3339, Japan time.
    pub at: String,
    pub reason: kofu_store::VoidReason,
    pub reason_ja: &'static str,
    pub reason_en: &'static str,
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
/// municipality, issue date and document hash — no personal data; as a
/// page in Japanese to a browser.
pub async fn verify(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiPath(code): ApiPath<String>,
) -> Result<Response, ApiError> {
    let code = normalise(&code);
    let html = verify_page::wants_html(&headers);
    let found = state.store().issuance_by_code(&code).await?.filter(|i| i.outcome == Outcome::Issued);
    let Some(i) = found else {
        if html {
            return Ok(verify_page::not_found(&code));
        }
        return Err(ApiError::NotFound(format!(
            "no certificate was issued with verification code {code}; check the code printed at the foot of each page"
        )));
    };
    let municipality = state.store().municipality(&i.municipality).await?;
    let voided = i.void.as_ref().map(|v| {
        let (reason_ja, reason_en) = v.reason.describe();
        Voided { at: kofu_model::rfc3339_in_japan(v.at), reason: v.reason, reason_ja, reason_en }
    });
    let name_ja = if html {
        let plugin = state.store().plugin_info(&i.municipality, &i.plugin_hash).await?;
        plugin.and_then(|p| p.manifest["name_ja"].as_str().map(str::to_owned)).unwrap_or_default()
    } else {
        String::new()
    };
    let verification = Verification {
        valid: voided.is_none(),
        voided,
        number: i.number,
        kind: i.kind,
        municipality: MunicipalityName { name: municipality.map(|m| m.name).unwrap_or_default(), code: i.municipality },
        issue_date: i.issue_date,
        pages: i.pages,
        document_hash: i.document_hash,
    };
    if html {
        return Ok(verify_page::found(&verification, &name_ja));
    }
    Ok(Json(verification).into_response())
}

pub async fn healthz() -> Json<serde_json::Value> {
    Json(json!({ "status": "ok", "build": HOST_BUILD }))
}

pub async fn readyz(State(state): State<AppState>) -> Response {
    if let Err(err) = state.store().ping().await {
        return ApiError::Unavailable(err.to_string()).into_response();
    }
    // An evaluation ends by its time limit; a slot held far longer means
    // sandbox work is wedged. A queue at its depth refuses new requests.
    let wedged_after = state.config().limits.wall_clock * 10 + Duration::from_secs(10);
    for (name, pool) in state.issuer().sandboxes().pools() {
        let status = pool.status();
        let problem = if status.oldest_held > wedged_after {
            Some(format!(
                "a {name} sandbox slot has been held for {} s, far past the evaluation time limit: sandbox work is \
                 wedged; the operator should look at the server log and restart this host",
                status.oldest_held.as_secs()
            ))
        } else if status.busy >= status.slots && status.queued >= status.queue_depth {
            Some(format!(
                "the {name} sandbox queue is full ({} waiting, {} slots busy): send traffic to another host",
                status.queued, status.busy
            ))
        } else {
            None
        };
        if let Some(detail) = problem {
            return ApiError::Busy { detail, retry_after: 5 }.into_response();
        }
    }
    Json(json!({ "status": "ready", "build": HOST_BUILD })).into_response()
}

pub async fn metrics(State(state): State<AppState>) -> Response {
    let mut text = state.issuer().metrics().render_text();
    for (name, pool) in state.issuer().sandboxes().pools() {
        use std::fmt::Write;
        let s = pool.status();
        let settings = pool.settings();
        let _ = write!(
            text,
            "# HELP kofu_sandbox_{name}_slots Sandbox slots of the {name} pool.\n\
             # TYPE kofu_sandbox_{name}_slots gauge\nkofu_sandbox_{name}_slots {}\n\
             # HELP kofu_sandbox_{name}_share Most {name} slots one tenant holds while another waits.\n\
             # TYPE kofu_sandbox_{name}_share gauge\nkofu_sandbox_{name}_share {}\n\
             # HELP kofu_sandbox_{name}_busy {name} slots in use.\n\
             # TYPE kofu_sandbox_{name}_busy gauge\nkofu_sandbox_{name}_busy {}\n\
             # HELP kofu_sandbox_{name}_queued Requests waiting for a {name} slot.\n\
             # TYPE kofu_sandbox_{name}_queued gauge\nkofu_sandbox_{name}_queued {}\n\
             # HELP kofu_sandbox_{name}_queue_depth Most requests that may wait for a {name} slot.\n\
             # TYPE kofu_sandbox_{name}_queue_depth gauge\nkofu_sandbox_{name}_queue_depth {}\n\
             # HELP kofu_sandbox_{name}_queue_wait_limit_seconds Longest wait for a {name} slot.\n\
             # TYPE kofu_sandbox_{name}_queue_wait_limit_seconds gauge\nkofu_sandbox_{name}_queue_wait_limit_seconds {}\n\
             # HELP kofu_sandbox_{name}_granted_total {name} slots granted.\n\
             # TYPE kofu_sandbox_{name}_granted_total counter\nkofu_sandbox_{name}_granted_total {}\n\
             # HELP kofu_sandbox_{name}_wait_seconds_total Time granted requests waited for a {name} slot.\n\
             # TYPE kofu_sandbox_{name}_wait_seconds_total counter\nkofu_sandbox_{name}_wait_seconds_total {}\n\
             # HELP kofu_sandbox_{name}_rejected_total Requests answered 503 for want of a {name} slot, by reason.\n\
             # TYPE kofu_sandbox_{name}_rejected_total counter\n\
             kofu_sandbox_{name}_rejected_total{{reason=\"queue-full\"}} {}\n\
             kofu_sandbox_{name}_rejected_total{{reason=\"wait\"}} {}\n",
            s.slots,
            settings.share,
            s.busy,
            s.queued,
            s.queue_depth,
            settings.queue_wait.as_secs_f64(),
            s.granted,
            s.waited.as_secs_f64(),
            s.rejected_full,
            s.rejected_wait,
        );
    }
    if let Some(batches) = state.store().write_batches() {
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
    if let Some(checkpoints) = state.store().checkpoints() {
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
