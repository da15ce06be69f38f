//! Request extractors whose rejections are problem details: a JSON body
//! (content type checked, unknown fields rejected by the target type), and
//! path parameters.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use serde::de::DeserializeOwned;

use crate::error::ApiError;
use crate::state::AppState;

/// The media type of a request, lowercased, without parameters.
pub fn media_type(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(CONTENT_TYPE)?.to_str().ok()?;
    Some(value.split(';').next().unwrap_or("").trim().to_ascii_lowercase())
}

/// Whether the `Accept` header asks for `wanted` before `instead` (or at
/// all, when it does not name `instead`). The order stands for preference,
/// as browsers and clients write it; q-values are not weighed.
pub fn accepts_first(headers: &HeaderMap, wanted: &str, instead: &str) -> bool {
    let accept = headers.get(axum::http::header::ACCEPT).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let position = |media: &str| {
        accept.split(',').position(|t| t.split(';').next().unwrap_or_default().trim().eq_ignore_ascii_case(media))
    };
    match (position(wanted), position(instead)) {
        (Some(w), Some(i)) => w < i,
        (Some(_), None) => true,
        (None, _) => false,
    }
}

pub fn is_json(media: Option<&str>) -> bool {
    matches!(media, Some(m) if m == "application/json" || (m.starts_with("application/") && m.ends_with("+json")))
}

/// Map a body rejection (almost always: over the size limit).
pub fn body_error(rejection: BytesRejection, limit: usize) -> ApiError {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::PayloadTooLarge(format!("the request body is larger than the limit of {limit} bytes"))
    } else {
        ApiError::BadRequest(format!("the request body could not be read: {rejection}"))
    }
}

/// Parse JSON, telling syntax errors (400) from content errors (422): the
/// text is checked as JSON first, so a body that is not JSON at all is never
/// reported as a wrong field.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let value: serde_json::Value = serde_json::from_slice(bytes)
        .map_err(|err| ApiError::BadRequest(format!("the body is not valid JSON: {err}")))?;
    if has_nul(&value) {
        // No id, name or text kofu stores may hold one, and PostgreSQL
        // refuses it in text: refused here, before any database call.
        return Err(ApiError::BadRequest(
            "the JSON body holds a NUL character (\\u0000), which no field accepts; remove it".into(),
        ));
    }
    // Every body is an object: serde would also read a struct from an
    // array of its fields in order (`[null, 300]`), which no client means.
    if !value.is_object() {
        return Err(ApiError::unprocessable("the JSON body must be an object, e.g. {\"reason\": \"...\"}"));
    }
    serde_json::from_value(value)
        .map_err(|err| ApiError::unprocessable(format!("the JSON body does not have the expected shape: {err}")))
}

fn has_nul(value: &serde_json::Value) -> bool {
    use serde_json::Value;
    match value {
        Value::String(s) => s.contains('\0'),
        Value::Array(items) => items.iter().any(has_nul),
        Value::Object(map) => map.iter().any(|(k, v)| k.contains('\0') || has_nul(v)),
        _ => false,
    }
}

/// Whether a URL path or query, percent-decoded, holds a control character
/// (NUL included): no route's id or parameter can contain one.
fn has_control(text: &str) -> bool {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let byte = match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok().and_then(|h| u8::from_str_radix(h, 16).ok());
                match hex {
                    Some(decoded) => {
                        i += 2;
                        decoded
                    }
                    None => b'%',
                }
            }
            other => other,
        };
        if byte < 0x20 || byte == 0x7f {
            return true;
        }
        i += 1;
    }
    false
}

/// Refuse (400), before routing, any request whose path or query holds a
/// control character once percent-decoded: ids are checked before any database
/// call, on every route and both backends (PostgreSQL refuses NUL in text,
/// which would otherwise surface as a database error).
pub async fn refuse_control_characters(
    request: Request,
    next: axum::middleware::Next,
) -> Result<axum::response::Response, ApiError> {
    let uri = request.uri();
    if has_control(uri.path()) || uri.query().is_some_and(has_control) {
        // 400, which every route with parameters documents: such a URL
        // names nothing on any route.
        return Err(ApiError::BadRequest(
            "the URL holds a control character (such as %00); no id or URL parameter contains one".into(),
        ));
    }
    Ok(next.run(request).await)
}

/// Largest sign-in body: a card id and a PIN fit many times over.
pub const SIGN_IN_BODY_BYTES: usize = 4 << 10;

/// A small JSON body, read up to `SIGN_IN_BODY_BYTES` only.
pub struct SmallJson<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for SmallJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, _state: &AppState) -> Result<SmallJson<T>, ApiError> {
        if !is_json(media_type(request.headers()).as_deref()) {
            return Err(ApiError::UnsupportedMediaType(
                "send the body as JSON with `Content-Type: application/json`".into(),
            ));
        }
        let bytes = axum::body::to_bytes(request.into_body(), SIGN_IN_BODY_BYTES).await.map_err(|_| {
            ApiError::PayloadTooLarge(format!(
                "the request body is larger than the limit of {SIGN_IN_BODY_BYTES} bytes for this endpoint"
            ))
        })?;
        Ok(SmallJson(parse_json(&bytes)?))
    }
}

/// A JSON request body.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<ApiJson<T>, ApiError> {
        if !is_json(media_type(request.headers()).as_deref()) {
            return Err(ApiError::UnsupportedMediaType(
                "send the body as JSON with `Content-Type: application/json`".into(),
            ));
        }
        let limit = state.config().max_body_bytes;
        let bytes = Bytes::from_request(request, state).await.map_err(|e| body_error(e, limit))?;
        Ok(ApiJson(parse_json(&bytes)?))
    }
}

/// A JSON request body that may be left out: an empty body is
/// `T::default()`.
pub struct OptionalJson<T>(pub T);

impl<T: DeserializeOwned + Default> FromRequest<AppState> for OptionalJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<OptionalJson<T>, ApiError> {
        let media = media_type(request.headers());
        let limit = state.config().max_body_bytes;
        let bytes = Bytes::from_request(request, state).await.map_err(|e| body_error(e, limit))?;
        if bytes.is_empty() {
            return Ok(OptionalJson(T::default()));
        }
        if !is_json(media.as_deref()) {
            return Err(ApiError::UnsupportedMediaType(
                "send the body as JSON with `Content-Type: application/json`, or no body".into(),
            ));
        }
        Ok(OptionalJson(parse_json(&bytes)?))
    }
}

/// A query string; one that does not parse (an unknown parameter, a word
/// for a number) is 400 with what was wrong.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned + Send> FromRequestParts<AppState> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<ApiQuery<T>, ApiError> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(value)| ApiQuery(value))
            .map_err(|e| ApiError::BadRequest(format!("the query string is not valid: {e}")))
    }
}

/// Path parameters.
pub struct ApiPath<T>(pub T);

impl<T: DeserializeOwned + Send> FromRequestParts<AppState> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<ApiPath<T>, ApiError> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(value)| ApiPath(value))
            .map_err(|e| ApiError::BadRequest(format!("the URL path is not valid: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::has_control;

    #[test]
    fn control_characters_are_found_raw_and_percent_encoded() {
        for bad in ["/v1/kiosk/sessions/%00/certificates", "/a/%1f", "/a/%7F", "/a\tb", "x=%0a"] {
            assert!(has_control(bad), "{bad}");
        }
        for good in ["/v1/kiosk/sessions/abc/certificates", "/a/%20b", "/a/%e6%97%a5", "/a/%", "/a/%2", "/a/%zz"] {
            assert!(!has_control(good), "{good}");
        }
    }
}
