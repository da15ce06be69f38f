//! A municipality's resident register and resident cards.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, StatusCode};
use kofu_register::{ImportError, StatusChange};
use kofu_store::{Card, ImportSummary, RegisterImport, StatusChangeBy, StoredResident, now_millis, random_id};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_json::json;
use sha2::Digest;

use crate::auth::MunicipalityAccess;
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath, body_error, is_json, media_type};
use crate::secrets::is_valid_pin;
use crate::state::AppState;

fn import_problem(err: ImportError) -> ApiError {
    ApiError::Unprocessable {
        detail: err.to_string(),
        extra: json!({ "problems": err.problems.iter().map(|p| json!({
            "row": p.row, "id": p.id, "field": p.field, "problem": p.problem, "problem_ja": p.problem_ja,
        })).collect::<Vec<_>>() }),
    }
}

/// Bulk import: `application/json` or `text/csv`; all rows or none.
pub async fn import(
    State(state): State<AppState>,
    access: MunicipalityAccess,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<ImportSummary>, ApiError> {
    let media = media_type(&headers);
    let csv = media.as_deref() == Some("text/csv");
    if !csv && !is_json(media.as_deref()) {
        return Err(ApiError::UnsupportedMediaType(
            "send the register as `Content-Type: application/json` or `Content-Type: text/csv` (see docs/REGISTER.md)"
                .into(),
        ));
    }
    let bytes = body.map_err(|e| body_error(e, state.config().max_body_bytes))?;
    let entries = if csv { kofu_register::parse_csv(&bytes) } else { kofu_register::parse_json(&bytes) }
        .map_err(import_problem)?;
    let digest = kofu_store::hex(&sha2::Sha256::digest(&bytes));
    let import = RegisterImport { by: &access.actor, file_digest: &digest, format: if csv { "csv" } else { "json" } };
    let summary = state.issuer().import_residents(&access.code, &entries, &import).await?;
    tracing::info!(municipality = %access.code, created = summary.created, updated = summary.updated, "register import");
    Ok(Json(summary))
}

#[derive(Serialize)]
pub struct ResidentView {
    pub id: String,
    pub household: String,
    pub test: bool,
    pub version: i64,
    pub updated_at: i64,
    /// When the municipality removed them from the register (refused at
    /// kiosks, kept until retention deletes them); null while registered.
    pub removed_at: Option<i64>,
    pub record: kofu_model::Resident,
}

impl From<StoredResident> for ResidentView {
    fn from(r: StoredResident) -> ResidentView {
        ResidentView {
            id: r.entry.id,
            household: r.entry.household,
            test: r.entry.test,
            version: r.version,
            updated_at: r.updated_at,
            removed_at: r.removed_at,
            record: r.entry.person,
        }
    }
}

pub async fn show(
    State(state): State<AppState>,
    access: MunicipalityAccess,
    ApiPath((_, id)): ApiPath<(String, String)>,
) -> Result<Json<ResidentView>, ApiError> {
    let found = state.store().resident(&access.code, &id).await?;
    Ok(Json(found.ok_or_else(|| ApiError::NotFound(format!("there is no resident `{id}` in the register")))?.into()))
}

/// A status change, effective for the next issuance.
pub async fn change_status(
    State(state): State<AppState>,
    access: MunicipalityAccess,
    ApiPath((_, id)): ApiPath<(String, String)>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<ResidentView>, ApiError> {
    if !is_json(media_type(&headers).as_deref()) {
        return Err(ApiError::UnsupportedMediaType("send the change as `Content-Type: application/json`".into()));
    }
    let bytes = body.map_err(|e| body_error(e, state.config().max_body_bytes))?;
    // `reason` is the change's, not the record's: taken off before the
    // status fields are read.
    let (change, reason) = match serde_json::from_slice::<serde_json::Map<String, Value>>(&bytes) {
        Ok(mut fields) => {
            let reason = match fields.remove("reason") {
                None | Some(Value::Null) => None,
                Some(Value::String(reason)) if reason.chars().count() <= kofu_store::MAX_NOTE_CHARS => Some(reason),
                Some(Value::String(_)) => {
                    return Err(ApiError::unprocessable(format!(
                        "`reason` is longer than {} characters: say why in a sentence or two",
                        kofu_store::MAX_NOTE_CHARS
                    )));
                }
                Some(_) => return Err(ApiError::unprocessable("`reason` must be a string")),
            };
            let rest = serde_json::to_vec(&fields).map_err(|e| ApiError::Internal(e.to_string()))?;
            (StatusChange::parse(&rest).map_err(import_problem)?, reason)
        }
        // Not an object: the parser says what is wrong with it, row by row.
        Err(_) => (StatusChange::parse(&bytes).map_err(import_problem)?, None),
    };
    let by = StatusChangeBy { actor: &access.actor, reason: reason.as_deref() };
    let updated = state.issuer().change_status(&access.code, &id, &change, &by).await?;
    tracing::info!(municipality = %access.code, resident = %id, version = updated.version, "register status change");
    Ok(Json(updated.into()))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewCard {
    pub resident_id: String,
    /// Four digits, chosen by the resident at the counter.
    pub pin: String,
}

pub async fn issue_card(
    State(state): State<AppState>,
    access: MunicipalityAccess,
    ApiJson(body): ApiJson<NewCard>,
) -> Result<(StatusCode, Json<Card>), ApiError> {
    if !is_valid_pin(&body.pin) {
        return Err(ApiError::unprocessable("`pin` must be exactly four digits 0-9"));
    }
    let id = random_id(16)?;
    let mac = state.pin_key().mac(&id, &body.pin);
    let card =
        state.store().create_card(&id, &access.code, &body.resident_id, &mac, &access.actor, now_millis()).await?;
    tracing::info!(municipality = %access.code, card = %id, "card issued");
    Ok((StatusCode::CREATED, Json(card)))
}

async fn card_of(state: &AppState, code: &str, id: &str) -> Result<Card, ApiError> {
    state.store().card(code, id).await?.ok_or_else(|| ApiError::NotFound(format!("there is no card {id}")))
}

pub async fn show_card(
    State(state): State<AppState>,
    access: MunicipalityAccess,
    ApiPath((_, id)): ApiPath<(String, String)>,
) -> Result<Json<Card>, ApiError> {
    Ok(Json(card_of(&state, &access.code, &id).await?))
}

/// Clear a PIN lock (after the resident proved who they are at the counter).
pub async fn unlock_card(
    State(state): State<AppState>,
    access: MunicipalityAccess,
    ApiPath((_, id)): ApiPath<(String, String)>,
) -> Result<Json<Card>, ApiError> {
    if !state.store().unlock_card(&access.code, &id, &access.actor, now_millis()).await? {
        return Err(ApiError::NotFound(format!("there is no live card {id}")));
    }
    state.issuer().metrics().card_unlock(&access.code);
    tracing::info!(municipality = %access.code, card = %id, "card unlocked");
    Ok(Json(card_of(&state, &access.code, &id).await?))
}

pub async fn revoke_card(
    State(state): State<AppState>,
    access: MunicipalityAccess,
    ApiPath((_, id)): ApiPath<(String, String)>,
) -> Result<StatusCode, ApiError> {
    if !state.store().revoke_card(&access.code, &id, &access.actor, now_millis()).await? {
        return Err(ApiError::NotFound(format!("there is no live card {id}")));
    }
    tracing::info!(municipality = %access.code, card = %id, "card revoked");
    Ok(StatusCode::NO_CONTENT)
}
