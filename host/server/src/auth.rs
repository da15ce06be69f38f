//! Who is calling. Every request is one of: the vendor operator (the admin
//! token from configuration), a municipality (a token scoped to one
//! municipality), a kiosk (its credential), or anonymous. Handlers state the
//! role they need with the `require_*` methods; there is no other way in.
//!
//! A credential arrives as a bearer token, or (for the console's in-process
//! calls only) as a [`SessionCredential`] in the request's extensions: the
//! token hash a verified console cookie carries. Extensions never come from
//! the network, and either way the same live lookup decides who is calling,
//! so a revoked token ends its console sessions at their next request.

use axum::extract::{FromRequestParts, RawPathParams};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;

use crate::error::ApiError;
use kofu_store::{Actor, Session, constant_time_eq};

use crate::secrets::{KIOSK_TOKEN_PREFIX, MUNICIPALITY_TOKEN_PREFIX, token_hash};
use crate::state::AppState;

#[derive(Debug, Clone)]
pub enum Caller {
    Vendor,
    Municipality { code: String, token_id: String, label: String },
    Kiosk { id: String },
    Anonymous,
}

impl Caller {
    pub fn require_vendor(&self) -> Result<(), ApiError> {
        match self {
            Caller::Vendor => Ok(()),
            Caller::Anonymous => Err(ApiError::Unauthorized),
            _ => Err(ApiError::Forbidden("only the vendor operator may do this".into())),
        }
    }

    /// The caller must be a token of municipality `code`. Returns who, for
    /// the records.
    pub fn require_municipality(&self, code: &str) -> Result<Actor, ApiError> {
        match self {
            Caller::Municipality { code: own, token_id, label } if own == code => {
                Ok(Actor::Municipality { token: token_id.clone(), name: label.clone() })
            }
            Caller::Municipality { .. } => {
                Err(ApiError::Forbidden("this token belongs to another municipality".into()))
            }
            Caller::Anonymous => Err(ApiError::Unauthorized),
            _ => Err(ApiError::Forbidden("only the municipality's own tokens may do this".into())),
        }
    }

    /// The vendor or municipality `code` itself. Returns who, for the
    /// records.
    pub fn require_vendor_or_municipality(&self, code: &str) -> Result<Actor, ApiError> {
        match self {
            Caller::Vendor => Ok(Actor::Vendor),
            _ => self.require_municipality(code),
        }
    }

    pub fn require_kiosk(&self) -> Result<&str, ApiError> {
        match self {
            Caller::Kiosk { id } => Ok(id),
            Caller::Anonymous => Err(ApiError::Unauthorized),
            _ => Err(ApiError::Forbidden("only a registered kiosk may do this".into())),
        }
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Caller, ApiError> {
        match credential(parts)? {
            None => Ok(Caller::Anonymous),
            Some(credential) => Caller::of(state, &credential).await,
        }
    }
}

impl Caller {
    /// Who holds `credential`, looked up live: a revoked token or kiosk is
    /// refused from the moment it is revoked.
    pub(crate) async fn of(state: &AppState, credential: &SessionCredential) -> Result<Caller, ApiError> {
        let hash = &credential.hash;
        match credential.role {
            Role::Municipality => {
                let found = state.store().find_municipality_token(hash).await?.ok_or(ApiError::Unauthorized)?;
                Ok(Caller::Municipality { code: found.municipality, token_id: found.id, label: found.label })
            }
            Role::Kiosk => {
                let found = state.store().find_kiosk(hash).await?.ok_or(ApiError::Unauthorized)?;
                Ok(Caller::Kiosk { id: found.id })
            }
            Role::Vendor => match state.admin_token_hash() {
                Some(admin) if constant_time_eq(admin, hash) => Ok(Caller::Vendor),
                _ => Err(ApiError::Unauthorized),
            },
        }
    }
}

/// Which kind of credential a token is, told by its prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Vendor,
    Municipality,
    Kiosk,
}

impl Role {
    pub fn of_token(token: &str) -> Role {
        if token.starts_with(MUNICIPALITY_TOKEN_PREFIX) {
            Role::Municipality
        } else if token.starts_with(KIOSK_TOKEN_PREFIX) {
            Role::Kiosk
        } else {
            Role::Vendor
        }
    }
}

/// A credential by its stored hash: what a bearer token amounts to, and what
/// a console session cookie carries.
#[derive(Debug, Clone)]
pub struct SessionCredential {
    pub role: Role,
    pub hash: String,
}

impl SessionCredential {
    pub fn of_token(token: &str) -> SessionCredential {
        SessionCredential { role: Role::of_token(token), hash: token_hash(token) }
    }
}

/// The request's credential: the console's extension, else the bearer token.
fn credential(parts: &Parts) -> Result<Option<SessionCredential>, ApiError> {
    if let Some(credential) = parts.extensions.get::<SessionCredential>() {
        return Ok(Some(credential.clone()));
    }
    Ok(bearer_token(parts)?.map(SessionCredential::of_token))
}

/// The bearer token of the `Authorization` header: `None` without the
/// header, 401 when it is not a bearer token.
fn bearer_token(parts: &Parts) -> Result<Option<&str>, ApiError> {
    let Some(value) = parts.headers.get(AUTHORIZATION) else {
        return Ok(None);
    };
    // The scheme is case-insensitive (RFC 9110 §11.1).
    let token = value
        .to_str()
        .ok()
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
        .filter(|t| !t.is_empty())
        .ok_or(ApiError::Unauthorized)?;
    Ok(Some(token))
}

/// The vendor operator, checked before the request body is read.
pub struct Vendor;

impl FromRequestParts<AppState> for Vendor {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Vendor, ApiError> {
        Caller::from_request_parts(parts, state).await?.require_vendor()?;
        Ok(Vendor)
    }
}

/// A token of the municipality named by the `{code}` path segment.
pub struct MunicipalityAccess {
    pub code: String,
    /// Who acted, for the audit entries of what they change.
    pub actor: Actor,
}

async fn path_code(parts: &mut Parts, state: &AppState) -> Result<String, ApiError> {
    let axum::extract::Path(params) =
        axum::extract::Path::<std::collections::HashMap<String, String>>::from_request_parts(parts, state)
            .await
            .map_err(|e| ApiError::BadRequest(format!("the URL path is not valid: {e}")))?;
    params.get("code").cloned().ok_or_else(|| ApiError::Internal("route without a {code} segment".into()))
}

impl FromRequestParts<AppState> for MunicipalityAccess {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<MunicipalityAccess, ApiError> {
        let caller = Caller::from_request_parts(parts, state).await?;
        let code = path_code(parts, state).await?;
        let actor = caller.require_municipality(&code)?;
        Ok(MunicipalityAccess { code, actor })
    }
}

/// The vendor, or a token of the municipality named by `{code}`.
pub struct VendorOrMunicipality {
    pub code: String,
    /// Who acted, for the audit entries of what they change.
    pub actor: Actor,
}

impl FromRequestParts<AppState> for VendorOrMunicipality {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<VendorOrMunicipality, ApiError> {
        let caller = Caller::from_request_parts(parts, state).await?;
        let code = path_code(parts, state).await?;
        let actor = caller.require_vendor_or_municipality(&code)?;
        Ok(VendorOrMunicipality { code, actor })
    }
}

/// A registered kiosk.
pub struct Kiosk {
    pub id: String,
    /// The session the path names (`{session}`), read together with the
    /// credential; the handler still decides whether it may be used.
    session: Option<NamedSession>,
}

/// A session as read with the kiosk's credential.
struct NamedSession {
    id: String,
    found: Option<Session>,
}

/// What the extractor already knows of the session a handler asks for.
#[derive(Debug, Clone)]
pub enum SessionLookup {
    /// Read with the kiosk's credential: the kiosk's session by that id, or
    /// `None` when this kiosk has none.
    Read(Option<Session>),
    /// Not read: the path named no session, or another one.
    NotRead,
}

impl Kiosk {
    /// The session `id` as far as it was read with the credential.
    pub fn session_read(&self, id: &str) -> SessionLookup {
        match self.session.as_ref().filter(|s| s.id == id) {
            Some(named) => SessionLookup::Read(named.found.clone()),
            None => SessionLookup::NotRead,
        }
    }
}

/// The `{session}` segment of the matched route, if it has one.
async fn session_in_path(parts: &mut Parts, state: &AppState) -> Option<String> {
    let params = RawPathParams::from_request_parts(parts, state).await.ok()?;
    params.iter().find(|(name, _)| *name == "session").map(|(_, value)| value.to_owned())
}

impl FromRequestParts<AppState> for Kiosk {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Kiosk, ApiError> {
        // Every kiosk call after sign-in names its session: the credential
        // and the session are read in one statement. The credential decides
        // alone whether the caller is a kiosk, exactly as for any other call.
        if let (Some(hash), Some(session_id)) = (kiosk_credential(parts), session_in_path(parts, state).await) {
            let found = state.store().kiosk_session(&hash, &session_id).await?;
            let found = found.ok_or(ApiError::Unauthorized)?;
            let session = Some(NamedSession { id: session_id, found: found.session });
            return Ok(Kiosk { id: found.kiosk, session });
        }
        let caller = Caller::from_request_parts(parts, state).await?;
        Ok(Kiosk { id: caller.require_kiosk()?.to_owned(), session: None })
    }
}

/// The hash of the request's credential, if it is a kiosk's.
fn kiosk_credential(parts: &Parts) -> Option<String> {
    credential(parts).ok().flatten().filter(|c| c.role == Role::Kiosk).map(|c| c.hash)
}
