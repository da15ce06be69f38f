//! The kiosk flow: sign in with card and PIN, list certificates, request an
//! issuance, fetch the document, confirm printing, close the session. Every
//! call after sign-in names its session, which must belong to the calling
//! kiosk and still be open.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use kofu_issue::{IdempotencyKey, IssueRequest};
use kofu_store::{CloseReason, Delivery, Issuance, Outcome, PinCheck, Session, SessionProblem, now_millis, random_id};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::auth::{Kiosk, SessionLookup};
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath, SmallJson};
use crate::secrets::is_valid_pin;
use crate::state::AppState;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignIn {
    pub card_id: String,
    pub pin: String,
}

#[derive(Serialize)]
pub struct SessionView {
    pub session_id: String,
    pub municipality: MunicipalityView,
    /// The session closes after this many seconds without a request.
    pub idle_timeout_secs: u64,
}

#[derive(Serialize)]
pub struct MunicipalityView {
    pub code: String,
    pub name: String,
}

fn refused(slug: &'static str, title: &'static str, detail: impl Into<String>, extra: Value) -> ApiError {
    ApiError::Refused { slug, status: StatusCode::FORBIDDEN, title, detail: detail.into(), extra }
}

pub async fn open(
    State(state): State<AppState>,
    kiosk: Kiosk,
    SmallJson(body): SmallJson<SignIn>,
) -> Result<(StatusCode, Json<SessionView>), ApiError> {
    if !is_valid_pin(&body.pin) {
        // A malformed PIN is a keypad fault, not a guess: it does not count.
        return Err(ApiError::unprocessable("`pin` must be exactly four digits 0-9"));
    }
    let session_id = random_id(26)?;
    let mac = state.pin_key().mac(&body.card_id, &body.pin);
    match state.store().sign_in(&kiosk.id, &body.card_id, &mac, &session_id, now_millis()).await? {
        PinCheck::Opened(session) => {
            let municipality =
                state.store().municipality(&session.municipality).await?.ok_or_else(|| {
                    ApiError::Internal(format!("card {} names an unknown municipality", session.card))
                })?;
            state.issuer().metrics().pin_check(&session.municipality, "opened");
            tracing::info!(session = %session.id, kiosk = %kiosk.id, municipality = %session.municipality, "kiosk session opened");
            Ok((
                StatusCode::CREATED,
                Json(SessionView {
                    session_id: session.id,
                    municipality: MunicipalityView { code: municipality.code, name: municipality.name },
                    idle_timeout_secs: state.config().session_idle.as_secs(),
                }),
            ))
        }
        PinCheck::WrongPin { municipality, attempts_left } => {
            state.issuer().metrics().pin_check(&municipality, "wrong");
            tracing::warn!(kiosk = %kiosk.id, card = %body.card_id, %municipality, attempts_left, "wrong PIN at a kiosk");
            Err(refused(
                "wrong-pin",
                "Wrong PIN",
                format!("the PIN is wrong; {attempts_left} attempt(s) left before the card locks"),
                json!({ "attempts_left": attempts_left }),
            ))
        }
        PinCheck::Locked { municipality, now } => {
            state.issuer().metrics().pin_check(&municipality, if now { "locked" } else { "refused-locked" });
            if now {
                tracing::warn!(
                    kiosk = %kiosk.id, card = %body.card_id, %municipality,
                    "card locked after its last wrong PIN (audited as card-locked)"
                );
            }
            Err(refused(
                "card-locked",
                "Card locked",
                "the card is locked after three wrong PINs; the resident must have it unlocked at the municipality's \
                 counter",
                Value::Null,
            ))
        }
        PinCheck::Unknown => Err(refused(
            "card-not-accepted",
            "Card not accepted",
            "this card is not registered for kiosk issuance or was revoked; the resident should ask at the counter",
            Value::Null,
        )),
    }
}

/// The open session `id` of this kiosk.
async fn session(state: &AppState, kiosk: &Kiosk, id: &str) -> Result<Session, ApiError> {
    let idle = state.config().session_idle.as_millis() as i64;
    let checked = match kiosk.session_read(id) {
        SessionLookup::Read(found) => state.store().check_session(&kiosk.id, found, now_millis(), idle).await?,
        SessionLookup::NotRead => state.store().use_session(&kiosk.id, id, now_millis(), idle).await?,
    };
    match checked {
        Ok(session) => Ok(session),
        Err(SessionProblem::NotFound) => Err(ApiError::NotFound(format!("this kiosk has no session {id}"))),
        Err(SessionProblem::Closed) => Err(ApiError::Gone("the session is closed; sign in again".into())),
        Err(SessionProblem::Expired) => {
            Err(ApiError::Gone("the session expired after being idle too long; sign in again".into()))
        }
    }
}

pub async fn close(
    State(state): State<AppState>,
    kiosk: Kiosk,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    let session = session(&state, &kiosk, &id).await?;
    state.store().close_session(&kiosk.id, &session.id, CloseReason::Closed, now_millis()).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize)]
pub struct CertificateOffer {
    pub kind: String,
    pub name_ja: String,
    pub name_en: String,
    pub version: String,
    pub fee_yen: Value,
    pub options: Value,
}

pub async fn certificates(
    State(state): State<AppState>,
    kiosk: Kiosk,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Vec<CertificateOffer>>, ApiError> {
    let session = session(&state, &kiosk, &id).await?;
    let active = state.store().active_plugins(&session.municipality).await?;
    Ok(Json(
        active
            .into_iter()
            .map(|p| {
                let field = |name: &str| p.manifest.get(name).cloned().unwrap_or(Value::Null);
                CertificateOffer {
                    name_ja: field("name_ja").as_str().unwrap_or_default().to_owned(),
                    name_en: field("name_en").as_str().unwrap_or_default().to_owned(),
                    // The fee set at activation, else the manifest's.
                    fee_yen: p.fee_yen.map_or_else(|| field("fee_yen"), Value::from),
                    options: field("options"),
                    kind: p.kind,
                    version: p.version,
                }
            })
            .collect(),
    ))
}

/// What a kiosk sees of an issuance: the outcome, never internals.
#[derive(Serialize)]
pub struct IssuanceView {
    pub id: String,
    pub number: String,
    pub kind: String,
    pub options: Value,
    pub outcome: Outcome,
    pub refusal: Option<Value>,
    pub failure: Option<String>,
    pub fee_yen: Option<i64>,
    pub pages: Option<i64>,
    pub verification_code: Option<String>,
    /// `ready`, `printed`, `expired` or `none`.
    pub delivery: Delivery,
    /// Where to fetch the PDF while it is ready.
    pub document: Option<String>,
    pub created_at: i64,
}

impl IssuanceView {
    fn of(i: Issuance) -> IssuanceView {
        let refusal = match (i.outcome, &i.reason) {
            (Outcome::Refused, Some(reason)) => {
                let messages: Value = serde_json::from_str(reason).unwrap_or(Value::Null);
                Some(
                    json!({ "code": i.reason_code, "message_ja": messages.get("ja"), "message_en": messages.get("en") }),
                )
            }
            _ => None,
        };
        let failure = (i.outcome == Outcome::Failed).then(|| {
            format!(
                "the certificate could not be produced; nothing was charged. Quote issuance {} at the counter.",
                i.id
            )
        });
        let document = (i.delivery == Delivery::Ready)
            .then(|| format!("/v1/kiosk/sessions/{}/issuances/{}/document", i.session, i.id));
        IssuanceView {
            id: i.id,
            number: i.number,
            kind: i.kind,
            options: i.options,
            outcome: i.outcome,
            refusal,
            failure,
            fee_yen: i.fee,
            pages: i.pages,
            verification_code: i.verification_code,
            delivery: i.delivery,
            document,
            created_at: i.created_at,
        }
    }
}

pub async fn request(
    State(state): State<AppState>,
    kiosk: Kiosk,
    ApiPath(id): ApiPath<String>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<IssueRequest>,
) -> Result<(StatusCode, Json<IssuanceView>), ApiError> {
    let key = headers.get("idempotency-key").and_then(|v| v.to_str().ok()).ok_or_else(|| {
        ApiError::BadRequest(
            "send an `Idempotency-Key` header: a new random value per request, the same value when retrying it".into(),
        )
    })?;
    let key = IdempotencyKey::new(key)?;
    // Option values are checked before the session is: a request
    // openapi.json refuses is answered 422 whatever state the session is in,
    // never 410 for an expired session.
    kofu_issue::option_texts(&body.options)?;
    let session = session(&state, &kiosk, &id).await?;
    // The issuance runs as its own task: if the kiosk disconnects, it still
    // completes and records (or fails closed), and a retry finds it.
    let task_state = state.clone();
    let task = state.issuances().spawn(async move { task_state.issuer().issue(&session, &key, body).await });
    let issued = task.await.map_err(|e| ApiError::Internal(format!("the issuance task failed: {e}")))??;
    Ok((StatusCode::CREATED, Json(IssuanceView::of(issued))))
}

pub async fn show(
    State(state): State<AppState>,
    kiosk: Kiosk,
    ApiPath((session_id, id)): ApiPath<(String, String)>,
) -> Result<Json<IssuanceView>, ApiError> {
    let session = session(&state, &kiosk, &session_id).await?;
    Ok(Json(IssuanceView::of(state.issuer().issuance_of(&session, &id).await?)))
}

/// The PDF, to this kiosk and session only, once.
pub async fn document(
    State(state): State<AppState>,
    kiosk: Kiosk,
    ApiPath((session_id, id)): ApiPath<(String, String)>,
) -> Result<Response, ApiError> {
    let session = session(&state, &kiosk, &session_id).await?;
    let pdf = state.issuer().fetch(&session, &id).await?;
    Ok(([(header::CONTENT_TYPE, "application/pdf"), (header::CACHE_CONTROL, "no-store")], pdf).into_response())
}

/// The kiosk printed the document: charge the fee (and purge the bytes if it
/// was never fetched).
pub async fn printed(
    State(state): State<AppState>,
    kiosk: Kiosk,
    ApiPath((session_id, id)): ApiPath<(String, String)>,
) -> Result<Json<IssuanceView>, ApiError> {
    let session = session(&state, &kiosk, &session_id).await?;
    Ok(Json(IssuanceView::of(state.issuer().confirm_printed(&session, &id).await?)))
}
