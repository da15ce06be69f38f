//! The vendor operator's API: municipalities, their tokens, kiosks.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use kofu_model::{Date, Municipality};
use kofu_store::{Actor, KioskInfo, MayorTerm, MunicipalityUpdate, TokenInfo, now_millis, random_id};
use serde::{Deserialize, Serialize};

use crate::auth::{Vendor, VendorOrMunicipality};
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath};
use crate::secrets::{KIOSK_TOKEN_PREFIX, MUNICIPALITY_TOKEN_PREFIX, new_token, token_hash};
use crate::state::AppState;

fn check_text(field: &str, value: &str, max: usize) -> Result<(), ApiError> {
    if value.trim().is_empty() || value.chars().count() > max || value.chars().any(char::is_control) {
        return Err(ApiError::unprocessable(format!(
            "`{field}` must be 1 to {max} characters without control characters"
        )));
    }
    Ok(())
}

/// A 6-digit local government code (全国地方公共団体コード).
pub fn check_code(code: &str) -> Result<(), ApiError> {
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ApiError::unprocessable(format!(
            "`{code}` is not a local government code: use the 6 digits, e.g. 131016"
        )));
    }
    if !kofu_model::is_local_government_code(code) {
        let first_five: [u8; 5] = code.as_bytes()[..5].try_into().map_err(|_| ApiError::Internal("code".into()))?;
        let digit = kofu_model::code_check_digit(&first_five);
        return Err(ApiError::unprocessable(format!(
            "`{code}` has the wrong check digit (JIS X 0401): a code starting {} ends in {digit}; check the code \
             against the official list",
            &code[..5]
        )));
    }
    Ok(())
}

pub async fn create_municipality(
    State(state): State<AppState>,
    _vendor: Vendor,
    ApiJson(m): ApiJson<Municipality>,
) -> Result<(StatusCode, Json<Municipality>), ApiError> {
    check_code(&m.code)?;
    check_text("name", &m.name, 64)?;
    check_text("mayor_title", &m.mayor_title, 64)?;
    check_text("mayor_name", &m.mayor_name, 64)?;
    state.store().create_municipality(&m, now_millis()).await?;
    tracing::info!(municipality = %m.code, "municipality created");
    Ok((StatusCode::CREATED, Json(m)))
}

pub async fn list_municipalities(
    State(state): State<AppState>,
    _vendor: Vendor,
) -> Result<Json<Vec<Municipality>>, ApiError> {
    Ok(Json(state.store().municipalities().await?))
}

/// A municipality as the API shows it: the record with the mayor in
/// office today, and every mayor's term entered.
#[derive(Serialize)]
pub struct MunicipalityView {
    #[serde(flatten)]
    pub record: Municipality,
    /// Earliest first; a certificate names the mayor whose term had begun
    /// on its issue date (before the first, the mayor above at creation).
    pub mayor_terms: Vec<MayorTerm>,
}

async fn view(state: &AppState, code: &str) -> Result<Json<MunicipalityView>, ApiError> {
    let found = state.store().municipality(code).await?;
    let record = found.ok_or_else(|| ApiError::NotFound(format!("there is no municipality {code}")))?;
    Ok(Json(MunicipalityView { record, mayor_terms: state.store().mayor_terms(code).await? }))
}

pub async fn get_municipality(
    State(state): State<AppState>,
    access: VendorOrMunicipality,
) -> Result<Json<MunicipalityView>, ApiError> {
    view(&state, &access.code).await
}

/// The body of `PATCH /v1/municipalities/{code}`: what changes.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MunicipalityEdit {
    pub name: Option<String>,
    /// A new mayor: name and/or title (the other is kept), in office from
    /// `mayor_from` (today in Japan when absent).
    pub mayor_name: Option<String>,
    pub mayor_title: Option<String>,
    pub mayor_from: Option<Date>,
}

/// Rename a municipality or enter a mayor's term (an election is entered
/// ahead of the first day in office), by the vendor or the municipality.
pub async fn update_municipality(
    State(state): State<AppState>,
    access: VendorOrMunicipality,
    ApiJson(edit): ApiJson<MunicipalityEdit>,
) -> Result<Json<MunicipalityView>, ApiError> {
    let code = access.code;
    for (field, value) in [("name", &edit.name), ("mayor_title", &edit.mayor_title), ("mayor_name", &edit.mayor_name)] {
        if let Some(value) = value {
            check_text(field, value, 64)?;
        }
    }
    let mayor = match (&edit.mayor_title, &edit.mayor_name, edit.mayor_from) {
        (None, None, None) => None,
        (None, None, Some(_)) => {
            return Err(ApiError::unprocessable(
                "`mayor_from` dates a new mayor: give `mayor_name` (and `mayor_title` if it changes) with it",
            ));
        }
        (title, name, from) => {
            let from = from.unwrap_or_else(|| Date::in_japan_at((now_millis() / 1000) as u64));
            let current = state
                .store()
                .municipality_on(&code, from)
                .await?
                .ok_or_else(|| ApiError::NotFound(format!("there is no municipality {code}")))?;
            Some(MayorTerm {
                from,
                title: title.clone().unwrap_or(current.mayor_title),
                name: name.clone().unwrap_or(current.mayor_name),
            })
        }
    };
    if edit.name.is_none() && mayor.is_none() {
        return Err(ApiError::unprocessable(
            "the edit changes nothing: give `name`, or `mayor_name`/`mayor_title` (with `mayor_from`)",
        ));
    }
    let update = MunicipalityUpdate { name: edit.name, mayor };
    let updated = state.store().update_municipality(&code, &update, &access.actor, now_millis()).await?;
    if updated.is_none() {
        return Err(ApiError::NotFound(format!("there is no municipality {code}")));
    }
    tracing::info!(municipality = %code, by = %access.actor, "municipality updated");
    view(&state, &code).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewCredential {
    /// Who or what the credential is for, e.g. "register import job".
    pub label: String,
}

/// A credential, shown once: only its hash is kept.
#[derive(Serialize)]
pub struct IssuedCredential {
    pub id: String,
    pub label: String,
    pub token: String,
}

async fn existing_municipality(state: &AppState, code: &str) -> Result<(), ApiError> {
    match state.store().municipality(code).await? {
        Some(_) => Ok(()),
        None => Err(ApiError::NotFound(format!("there is no municipality {code}"))),
    }
}

pub async fn create_token(
    State(state): State<AppState>,
    _vendor: Vendor,
    ApiPath(code): ApiPath<String>,
    ApiJson(body): ApiJson<NewCredential>,
) -> Result<(StatusCode, Json<IssuedCredential>), ApiError> {
    check_text("label", &body.label, 100)?;
    existing_municipality(&state, &code).await?;
    let id = random_id(16)?;
    let token = new_token(MUNICIPALITY_TOKEN_PREFIX)?;
    state
        .store()
        .create_municipality_token(&id, &code, &token_hash(&token), &body.label, &Actor::Vendor, now_millis())
        .await?;
    tracing::info!(municipality = %code, token = %id, "municipality token issued");
    Ok((StatusCode::CREATED, Json(IssuedCredential { id, label: body.label, token })))
}

pub async fn list_tokens(
    State(state): State<AppState>,
    _vendor: Vendor,
    ApiPath(code): ApiPath<String>,
) -> Result<Json<Vec<TokenInfo>>, ApiError> {
    existing_municipality(&state, &code).await?;
    Ok(Json(state.store().municipality_tokens(&code).await?))
}

pub async fn revoke_token(
    State(state): State<AppState>,
    _vendor: Vendor,
    ApiPath((code, id)): ApiPath<(String, String)>,
) -> Result<StatusCode, ApiError> {
    if state.store().revoke_municipality_token(&code, &id, &Actor::Vendor, now_millis()).await? {
        tracing::info!(municipality = %code, token = %id, "municipality token revoked");
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound(format!("municipality {code} has no live token {id}")))
    }
}

pub async fn create_kiosk(
    State(state): State<AppState>,
    _vendor: Vendor,
    ApiJson(body): ApiJson<NewCredential>,
) -> Result<(StatusCode, Json<IssuedCredential>), ApiError> {
    check_text("label", &body.label, 100)?;
    let id = random_id(16)?;
    let token = new_token(KIOSK_TOKEN_PREFIX)?;
    state.store().create_kiosk(&id, &body.label, &token_hash(&token), now_millis()).await?;
    tracing::info!(kiosk = %id, "kiosk registered");
    Ok((StatusCode::CREATED, Json(IssuedCredential { id, label: body.label, token })))
}

pub async fn list_kiosks(State(state): State<AppState>, _vendor: Vendor) -> Result<Json<Vec<KioskInfo>>, ApiError> {
    Ok(Json(state.store().kiosks().await?))
}

pub async fn revoke_kiosk(
    State(state): State<AppState>,
    _vendor: Vendor,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    if state.store().revoke_kiosk(&id, now_millis()).await? {
        tracing::info!(kiosk = %id, "kiosk revoked");
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound(format!("there is no live kiosk {id}")))
    }
}
