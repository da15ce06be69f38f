//! A municipality's residents and cards as lists, with filters, and a
//! resident's removal from the register (kept until retention ends).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use kofu_store::{Card, CardState, ResidentFilter, now_millis};
use serde::{Deserialize, Serialize};

use super::paging::{check_limit, default_limit};
use super::register::ResidentView;
use crate::auth::MunicipalityAccess;
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::state::AppState;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResidentQuery {
    pub household: Option<String>,
    pub test: Option<bool>,
    /// Include residents removed from the register.
    #[serde(default)]
    pub removed: bool,
    pub name: Option<String>,
    pub state: Option<String>,
    pub restricted: Option<bool>,
    /// The `next` of the previous page.
    #[serde(default)]
    pub after: i64,
    #[serde(default = "default_limit")]
    pub limit: i64,
}

#[derive(Serialize)]
pub struct ResidentList {
    pub residents: Vec<ResidentView>,
    /// Pass as `after` for the next page; null at the end. A page may hold
    /// fewer rows than `limit` and still have a next one: filters on the
    /// record look at up to 5,000 register rows per page.
    pub next: Option<i64>,
}

pub async fn list_residents(
    State(state): State<AppState>,
    access: MunicipalityAccess,
    ApiQuery(q): ApiQuery<ResidentQuery>,
) -> Result<Json<ResidentList>, ApiError> {
    check_limit(q.limit)?;
    if q.after < 0 {
        return Err(ApiError::unprocessable("`after` is a register position: 0 or more (the `next` of a page)"));
    }
    if let Some(residency) = &q.state
        && !["resident", "moved-out", "deceased"].contains(&residency.as_str())
    {
        return Err(ApiError::unprocessable(format!("`state` is `{residency}`: use resident, moved-out or deceased")));
    }
    let filter = ResidentFilter {
        household: q.household,
        test: q.test,
        removed: q.removed,
        name: q.name.filter(|n| !n.trim().is_empty()),
        state: q.state,
        restricted: q.restricted,
    };
    let page = state.store().list_residents(&access.code, &filter, q.after, q.limit).await?;
    Ok(Json(ResidentList { residents: page.residents.into_iter().map(Into::into).collect(), next: page.next }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CardQuery {
    pub resident: Option<String>,
    pub state: Option<CardState>,
    #[serde(default)]
    pub after: String,
    #[serde(default = "default_limit")]
    pub limit: i64,
}

#[derive(Serialize)]
pub struct CardList {
    pub cards: Vec<Card>,
    /// Pass as `after` for the next page; null at the end.
    pub next: Option<String>,
}

pub async fn list_cards(
    State(state): State<AppState>,
    access: MunicipalityAccess,
    ApiQuery(q): ApiQuery<CardQuery>,
) -> Result<Json<CardList>, ApiError> {
    check_limit(q.limit)?;
    let cards = state.store().list_cards(&access.code, q.resident.as_deref(), q.state, &q.after, q.limit).await?;
    let next = (cards.len() as i64 == q.limit).then(|| cards.last().map(|c| c.id.clone())).flatten();
    Ok(Json(CardList { cards, next }))
}

/// The body of a removal: why, in staff's words (kept in the audit
/// entry's detail).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Removal {
    pub reason: String,
}

/// Remove a resident from the register: refused at kiosks from now on,
/// their cards revoked, deleted when retention ends.
pub async fn remove_resident(
    State(state): State<AppState>,
    access: MunicipalityAccess,
    ApiPath((_, id)): ApiPath<(String, String)>,
    ApiJson(removal): ApiJson<Removal>,
) -> Result<StatusCode, ApiError> {
    let reason = removal.reason.trim();
    if reason.is_empty() || reason.chars().count() > kofu_store::MAX_NOTE_CHARS {
        return Err(ApiError::unprocessable(format!(
            "a removal needs a `reason` of 1 to {} characters: say why, e.g. \"entered twice; the other entry is \
             R-0042\"",
            kofu_store::MAX_NOTE_CHARS
        )));
    }
    if !state.store().remove_resident(&access.code, &id, reason, &access.actor, now_millis()).await? {
        return Err(ApiError::NotFound(format!("there is no resident `{id}` in the register (or they were removed)")));
    }
    tracing::info!(municipality = %access.code, resident = %id, "resident removed from the register");
    Ok(StatusCode::NO_CONTENT)
}
