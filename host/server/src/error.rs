//! The one error type of the HTTP API. Every error leaves as an RFC 9457
//! problem details document (`application/problem+json`) that says what went
//! wrong and what to do; internal causes are logged, never sent.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use kofu_issue::{Busy, IssueError};
use kofu_store::StoreError;
use serde_json::{Value, json};

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("missing or invalid credentials")]
    Unauthorized,
    #[error("{0}")]
    Forbidden(String),
    /// A forbidden answer of a named kind, with extra members.
    #[error("{detail}")]
    Refused { slug: &'static str, status: StatusCode, title: &'static str, detail: String, extra: Value },
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Gone(String),
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("{detail}")]
    Unprocessable { detail: String, extra: Value },
    #[error("{0}")]
    Unavailable(String),
    /// No sandbox slot could be had: the queue is full or the wait ran out.
    #[error("{detail}")]
    Busy { detail: String, retry_after: u32 },
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    /// The answer when no sandbox slot came: what happened and when to retry.
    pub fn busy(reason: Busy) -> ApiError {
        let detail = match reason {
            Busy::QueueFull { depth } => format!(
                "every sandbox slot is busy and {depth} requests already wait for one; nothing was done or charged, \
                 retry after the time in Retry-After (with the same Idempotency-Key)"
            ),
            Busy::WaitedTooLong { waited } => format!(
                "no sandbox slot came free within {} ms; nothing was done or charged, retry after the time in \
                 Retry-After (with the same Idempotency-Key)",
                waited.as_millis()
            ),
            Busy::Closed => "the server is shutting down; nothing was done or charged, retry on another host or \
                             after the restart"
                .into(),
        };
        ApiError::Busy { detail, retry_after: 1 }
    }

    pub fn unprocessable(detail: impl Into<String>) -> ApiError {
        ApiError::Unprocessable { detail: detail.into(), extra: Value::Null }
    }

    fn parts(&self) -> (StatusCode, &'static str, &'static str) {
        match self {
            ApiError::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad-request", "The request is malformed"),
            ApiError::Unauthorized => (StatusCode::UNAUTHORIZED, "unauthorized", "Authentication required"),
            ApiError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden", "Not allowed"),
            ApiError::Refused { slug, status, title, .. } => (*status, slug, title),
            ApiError::NotFound(_) => (StatusCode::NOT_FOUND, "not-found", "Not found"),
            ApiError::Conflict(_) => (StatusCode::CONFLICT, "conflict", "Conflict"),
            ApiError::Gone(_) => (StatusCode::GONE, "gone", "No longer available"),
            ApiError::PayloadTooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "payload-too-large", "Request too large"),
            ApiError::UnsupportedMediaType(_) => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported-media-type", "Unsupported content type")
            }
            ApiError::Unprocessable { .. } => {
                (StatusCode::UNPROCESSABLE_ENTITY, "invalid-input", "The request could not be processed")
            }
            ApiError::Unavailable(_) => {
                (StatusCode::SERVICE_UNAVAILABLE, "unavailable", "The service is temporarily unavailable")
            }
            ApiError::Busy { .. } => (StatusCode::SERVICE_UNAVAILABLE, "busy", "The server is busy"),
            ApiError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal", "Internal error"),
        }
    }

    fn detail(&self) -> String {
        match self {
            ApiError::Unauthorized => {
                "Send a valid token in the `Authorization: Bearer <token>` header; tokens are issued by the vendor \
                 operator (municipalities, kiosks) or set in the server configuration (vendor)."
                    .into()
            }
            ApiError::Unavailable(_) => {
                "The database cannot be reached or is refusing writes. Nothing was changed; retry shortly.".into()
            }
            ApiError::Internal(_) => {
                "Something failed inside the server. Nothing was delivered or charged; the operator has the details \
                 in the server log."
                    .into()
            }
            other => other.to_string(),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> ApiError {
        match err {
            StoreError::NotFound(message) => ApiError::NotFound(message),
            StoreError::Conflict(message) => ApiError::Conflict(message),
            StoreError::Invalid(message) => ApiError::unprocessable(message),
            StoreError::Unavailable(message) => ApiError::Unavailable(message),
            StoreError::Config(message) | StoreError::Corrupt(message) => ApiError::Internal(message),
        }
    }
}

/// Each of the pipeline's errors as one HTTP answer.
impl From<IssueError> for ApiError {
    fn from(err: IssueError) -> ApiError {
        match err {
            IssueError::InvalidKey => ApiError::BadRequest(err.to_string()),
            IssueError::Invalid(detail) => ApiError::unprocessable(detail),
            IssueError::Forbidden(detail) => ApiError::Forbidden(detail),
            IssueError::NotFound(detail) => ApiError::NotFound(detail),
            IssueError::Gone(detail) => ApiError::Gone(detail),
            IssueError::Conflict(detail) => ApiError::Conflict(detail),
            IssueError::NotAccepted(_) => ApiError::Unprocessable {
                detail: err.to_string(),
                extra: json!({ "hint": "check it locally first with `kofu plugin check <file.wasm>`" }),
            },
            IssueError::Busy(reason) => ApiError::busy(reason),
            IssueError::CompileTimeout { .. } => ApiError::Busy { detail: err.to_string(), retry_after: 30 },
            IssueError::OtherBuild => ApiError::Refused {
                slug: "document-elsewhere",
                status: StatusCode::SERVICE_UNAVAILABLE,
                title: "Document not available from this server",
                detail: err.to_string(),
                extra: Value::Null,
            },
            IssueError::Store(err) => err.into(),
            IssueError::Internal(cause) => ApiError::Internal(cause),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, slug, title) = self.parts();
        match &self {
            ApiError::Internal(cause) => tracing::error!(%cause, "internal error"),
            ApiError::Unavailable(cause) => tracing::warn!(%cause, "database unavailable"),
            _ => {}
        }
        let mut body = json!({
            "type": format!("urn:kofu:problem:{slug}"),
            "title": title,
            "status": status.as_u16(),
            "detail": self.detail(),
        });
        let extra = match &self {
            ApiError::Refused { extra, .. } | ApiError::Unprocessable { extra, .. } => Some(extra),
            _ => None,
        };
        if let (Some(Value::Object(extra)), Some(object)) = (extra, body.as_object_mut()) {
            for (key, value) in extra {
                object.insert(key.clone(), value.clone());
            }
        }
        let mut response = (status, body.to_string()).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
        if status == StatusCode::UNAUTHORIZED {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let ApiError::Busy { retry_after, .. } = &self {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(*retry_after));
        } else if status == StatusCode::SERVICE_UNAVAILABLE {
            headers.insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn busy_says_when_to_retry() {
        let response = ApiError::busy(Busy::QueueFull { depth: 3 }).into_response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.headers().get(header::RETRY_AFTER).and_then(|v| v.to_str().ok()), Some("1"));
        assert_eq!(
            response.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()),
            Some("application/problem+json")
        );
    }
}
