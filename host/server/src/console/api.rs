//! The console's way to act: a call to the HTTP API, in process, carrying
//! the session's credential. The console reads and changes nothing the API
//! would not let the same token read or change, with the same checks, the
//! same audit entries and the same error messages.

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{Method, Request, StatusCode, header};
use serde_json::Value;
use tower::ServiceExt;

use super::page::PageError;
use crate::auth::SessionCredential;

/// What the API may answer the console at most: a dry-run report carries a
/// PDF in base64, which the host's renderer bounds well below this.
const MAX_REPLY_BYTES: usize = 64 * 1024 * 1024;

pub struct Api {
    router: Router,
    credential: Option<SessionCredential>,
}

/// An answer of the API.
pub struct Reply {
    pub status: StatusCode,
    pub body: Bytes,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    /// The answer as the console's error, when it is not a success.
    pub fn into_result(self) -> Result<Reply, PageError> {
        if self.status.is_success() {
            return Ok(self);
        }
        if self.status == StatusCode::UNAUTHORIZED {
            return Err(PageError::SignedOut);
        }
        let problem = self.json();
        Err(PageError::Api { status: self.status, title: text(&problem, "title"), detail: text(&problem, "detail") })
    }
}

fn text(value: &Value, key: &str) -> String {
    value.get(key).and_then(Value::as_str).unwrap_or_default().to_owned()
}

impl Api {
    pub fn new(router: Router, credential: Option<SessionCredential>) -> Api {
        Api { router, credential }
    }

    /// One call; any status comes back as it is.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        accept: &str,
        body: Option<(&str, Vec<u8>)>,
    ) -> Result<Reply, PageError> {
        self.call_with(method, path, accept, body, &[]).await
    }

    /// One call with extra request headers (an `Idempotency-Key`, say).
    pub async fn call_with(
        &self,
        method: Method,
        path: &str,
        accept: &str,
        body: Option<(&str, Vec<u8>)>,
        headers: &[(&str, &str)],
    ) -> Result<Reply, PageError> {
        let mut request = Request::builder().method(method).uri(path).header(header::ACCEPT, accept);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some((content_type, _)) = &body {
            request = request.header(header::CONTENT_TYPE, *content_type);
        }
        let mut request = request
            .body(body.map_or_else(Body::empty, |(_, bytes)| Body::from(bytes)))
            .map_err(|e| PageError::Internal(format!("cannot build the API request for {path}: {e}")))?;
        if let Some(credential) = &self.credential {
            request.extensions_mut().insert(credential.clone());
        }
        let response = match self.router.clone().oneshot(request).await {
            Ok(response) => response,
            Err(never) => match never {},
        };
        let status = response.status();
        let body = axum::body::to_bytes(response.into_body(), MAX_REPLY_BYTES)
            .await
            .map_err(|e| PageError::Internal(format!("cannot read the API's answer to {path}: {e}")))?;
        Ok(Reply { status, body })
    }

    pub async fn get(&self, path: &str) -> Result<Value, PageError> {
        Ok(self.call(Method::GET, path, "application/json", None).await?.into_result()?.json())
    }

    pub async fn send(&self, method: Method, path: &str, body: &Value) -> Result<Value, PageError> {
        let bytes = serde_json::to_vec(body).map_err(|e| PageError::Internal(e.to_string()))?;
        Ok(self.call(method, path, "application/json", Some(("application/json", bytes))).await?.into_result()?.json())
    }

    pub async fn post(&self, path: &str, body: &Value) -> Result<Value, PageError> {
        self.send(Method::POST, path, body).await
    }
}

/// A path segment, percent-encoded: ids come from people and files.
pub fn seg(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// A query string of the pairs whose value is not empty.
pub fn query(pairs: &[(&str, &str)]) -> String {
    let parts: Vec<String> =
        pairs.iter().filter(|(_, v)| !v.is_empty()).map(|(k, v)| format!("{k}={}", seg(v))).collect();
    if parts.is_empty() { String::new() } else { format!("?{}", parts.join("&")) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_and_queries_are_encoded() {
        assert_eq!(seg("A-1_b.c~"), "A-1_b.c~");
        assert_eq!(seg("a/b?c d"), "a%2Fb%3Fc%20d");
        assert_eq!(seg("山"), "%E5%B1%B1");
        assert_eq!(query(&[("a", "1"), ("b", ""), ("c", "x&y")]), "?a=1&c=x%26y");
        assert_eq!(query(&[("b", "")]), "");
    }
}
