//! A thin HTTP client for the kofu API: one call, one answer, with the
//! transport failures and the server's "try again" answers told apart from
//! real answers so a kiosk can retry exactly like a real one would.

use std::time::Duration;

use reqwest::Method;
use serde_json::Value;

/// An answer from the server.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn json(&self) -> Option<Value> {
        serde_json::from_slice(&self.body).ok()
    }

    /// The problem type's last segment (`urn:kofu:problem:<slug>`), if any.
    pub fn problem(&self) -> String {
        problem_slug(&self.body)
    }

    /// Worth retrying unchanged: the server is restarting or overloaded.
    pub fn is_transient(&self) -> bool {
        matches!(self.status, 502..=504)
    }
}

/// The last segment of the problem type (`urn:kofu:problem:<slug>`) of an
/// answer's body, or "no-problem-document", for reports.
pub fn problem_slug(body: &[u8]) -> String {
    serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| v.get("type").and_then(Value::as_str).map(|t| t.rsplit(':').next().unwrap_or(t).to_owned()))
        .unwrap_or_else(|| "no-problem-document".into())
}

/// Why a call got no answer.
#[derive(Debug, Clone)]
pub struct Transport(pub String);

/// Calls go to one server, or round-robin to several (`a,b,c`), as a load
/// balancer in front of several hosts would send them.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    bases: std::sync::Arc<Vec<String>>,
    next: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl Client {
    pub fn new(base: &str) -> anyhow::Result<Client> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .connect_timeout(Duration::from_secs(5))
            .pool_max_idle_per_host(1024)
            .build()?;
        let bases = base.split(',').map(|b| b.trim().trim_end_matches('/').to_owned()).collect();
        Ok(Client { http, bases: std::sync::Arc::new(bases), next: Default::default() })
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Body>,
        headers: &[(&str, &str)],
    ) -> Result<Answer, Transport> {
        let turn = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let base = &self.bases[turn % self.bases.len()];
        let mut request = self.http.request(method, format!("{base}{path}"));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request = match body {
            None => request,
            Some(Body::Json(value)) => request.json(&value),
            Some(Body::Wasm(bytes)) => request.header("content-type", "application/wasm").body(bytes),
        };
        let response = request.send().await.map_err(|e| Transport(describe(&e)))?;
        let status = response.status().as_u16();
        let body = response.bytes().await.map_err(|e| Transport(describe(&e)))?.to_vec();
        Ok(Answer { status, body })
    }
}

pub enum Body {
    Json(Value),
    Wasm(Vec<u8>),
}

/// A short cause for reports: "connect", "timeout", "reset"...
fn describe(error: &reqwest::Error) -> String {
    if error.is_connect() {
        "connect".into()
    } else if error.is_timeout() {
        "timeout".into()
    } else if error.is_body() || error.is_decode() {
        "body cut off".into()
    } else {
        "connection lost".into()
    }
}
