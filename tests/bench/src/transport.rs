//! The transport floor: the kiosk flow's five calls, with the same client,
//! against a server that does none of kofu's work. It answers each call
//! with bytes of the size kofu's answer has (the PDF is the benchmark
//! certificate itself) through the same HTTP stack as `kofu serve` (axum on
//! hyper, a multi-threaded tokio runtime with one worker per core), in a
//! process of its own on the same two cores.
//!
//! It bounds what any server could reach on this machine with this flow:
//! end to end can never be faster than the calls alone. Its rate against
//! the render floor says whether the ratio target (end to end ≥ half the
//! render floor) can be met here at all; end to end against it says how
//! much of an issuance is kofu's own work.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use anyhow::{Context, bail};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use serde::Deserialize;
use serde_json::json;

/// The hidden flag that makes `kofu-bench` this server instead of the
/// benchmark; the benchmark starts itself with it.
pub const SERVE_FLAG: &str = "--transport-server";

/// The server process, stopped when dropped.
pub struct TransportServer {
    child: Child,
    address: String,
}

impl TransportServer {
    /// Start this executable as the transport server, answering fetches
    /// with the bytes of `pdf` (a file), and wait for its address.
    pub fn start(pdf: &Path) -> anyhow::Result<TransportServer> {
        let child = Command::new(std::env::current_exe()?)
            .arg(SERVE_FLAG)
            .arg(pdf)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .context("cannot start the transport server")?;
        // Owned from here, so that any early return below stops it.
        let mut server = TransportServer { child, address: String::new() };
        let stdout = server.child.stdout.take().context("the transport server has no stdout")?;
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line)?;
        let Some(address) = line.trim().strip_prefix("listening on ") else {
            bail!("the transport server did not start (it said {line:?})");
        };
        server.address = address.to_owned();
        Ok(server)
    }

    /// `127.0.0.1:PORT`.
    pub fn address(&self) -> &str {
        &self.address
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for TransportServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Run as the transport server: bind a free loopback port, say where on
/// stdout, serve until killed.
pub fn serve(pdf: &Path) -> anyhow::Result<()> {
    let pdf = Bytes::from(std::fs::read(pdf).with_context(|| format!("cannot read {}", pdf.display()))?);
    // As `kofu serve` builds its runtime: one worker per core.
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let mut stdout = std::io::stdout();
        writeln!(stdout, "listening on {}", listener.local_addr()?)?;
        stdout.flush()?;
        axum::serve(listener, app(pdf)).await?;
        anyhow::Ok(())
    })
}

/// The five routes of the kiosk flow, as kofu names them. Each reads what
/// kofu's handler reads from the request (the bearer token, the path's
/// ids, the JSON body) and answers what it answers, without looking
/// anything up.
fn app(pdf: Bytes) -> Router {
    Router::new()
        .route("/v1/kiosk/sessions", post(sign_in))
        .route("/v1/kiosk/sessions/{session}", delete(sign_out))
        .route("/v1/kiosk/sessions/{session}/issuances", post(issue))
        .route("/v1/kiosk/sessions/{session}/issuances/{id}/document", get(fetch))
        .route("/v1/kiosk/sessions/{session}/issuances/{id}/printed", post(printed))
        .with_state(pdf)
}

/// Fixed ids of kofu's lengths: 26 characters for a session, 20 for an
/// issuance.
const SESSION: &str = "A5JCH6186EQ66HRCPHQX6PS9PH";
const ISSUANCE: &str = "7FCARJCZ4N30AAJMRWHD";

fn authorized(headers: &HeaderMap) -> Result<(), StatusCode> {
    match headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) {
        Some(value) if value.starts_with("Bearer ") => Ok(()),
        _ => Err(StatusCode::UNAUTHORIZED),
    }
}

#[derive(Deserialize)]
struct SignIn {
    card_id: String,
    pin: String,
}

async fn sign_in(headers: HeaderMap, axum::Json(body): axum::Json<SignIn>) -> Result<Response, StatusCode> {
    authorized(&headers)?;
    if body.card_id.is_empty() || body.pin.is_empty() {
        return Err(StatusCode::BAD_REQUEST);
    }
    let answer = json!({
        "session_id": SESSION,
        "municipality": { "code": "999999", "name": "見本市" },
        "idle_timeout_secs": 180,
    });
    Ok((StatusCode::CREATED, axum::Json(answer)).into_response())
}

#[derive(Deserialize)]
struct IssueRequest {
    kind: String,
    #[serde(default)]
    options: serde_json::Map<String, serde_json::Value>,
}

/// kofu's issuance answer, with this id and the given delivery state.
fn issuance(session: &str, delivery: &str, document: bool) -> serde_json::Value {
    json!({
        "id": ISSUANCE,
        "number": "WPV2-CNJF-3ZJ1",
        "kind": "residence-certificate",
        "options": { "include-household": true },
        "outcome": "issued",
        "refusal": null,
        "failure": null,
        "fee_yen": 300,
        "pages": 1,
        "verification_code": "FRV6-PRGN-1B7D",
        "delivery": delivery,
        "document": document.then(|| format!("/v1/kiosk/sessions/{session}/issuances/{ISSUANCE}/document")),
        "created_at": 1_796_465_194_430_i64,
    })
}

async fn issue(
    headers: HeaderMap,
    UrlPath(session): UrlPath<String>,
    axum::Json(body): axum::Json<IssueRequest>,
) -> Result<Response, StatusCode> {
    authorized(&headers)?;
    if body.kind.is_empty() || headers.get("idempotency-key").is_none() {
        return Err(StatusCode::BAD_REQUEST);
    }
    std::hint::black_box(body.options);
    Ok((StatusCode::CREATED, axum::Json(issuance(&session, "ready", true))).into_response())
}

async fn fetch(
    headers: HeaderMap,
    State(pdf): State<Bytes>,
    UrlPath((_session, _id)): UrlPath<(String, String)>,
) -> Result<Response, StatusCode> {
    authorized(&headers)?;
    Ok(([(header::CONTENT_TYPE, "application/pdf"), (header::CACHE_CONTROL, "no-store")], pdf).into_response())
}

async fn printed(
    headers: HeaderMap,
    UrlPath((session, _id)): UrlPath<(String, String)>,
) -> Result<Response, StatusCode> {
    authorized(&headers)?;
    Ok(axum::Json(issuance(&session, "printed", false)).into_response())
}

async fn sign_out(headers: HeaderMap, UrlPath(_session): UrlPath<String>) -> Result<StatusCode, StatusCode> {
    authorized(&headers)?;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::Connection;

    #[test]
    fn the_issuance_answer_has_kofus_shape_and_size() {
        let issued = issuance(SESSION, "ready", true);
        // The flow reads these three.
        assert_eq!(issued["outcome"], "issued");
        assert_eq!(issued["id"], ISSUANCE);
        let document = issued["document"].as_str().unwrap();
        assert!(document.starts_with("/v1/kiosk/sessions/") && document.ends_with("/document"));
        // kofu's answer for the same certificate is 378 bytes; within a few
        // bytes is the same work.
        let length = serde_json::to_vec(&issued).unwrap().len();
        assert!((370..=386).contains(&length), "{length} bytes");
        assert_eq!(issuance(SESSION, "printed", false)["document"], serde_json::Value::Null);
    }

    /// The benchmark's own kiosk flow runs against this server to its end,
    /// every step answered as kofu answers it, and the PDF is the one given.
    #[tokio::test]
    async fn the_kiosk_flow_completes_against_it() {
        let pdf = Bytes::from_static(b"%PDF-1.7 the benchmark certificate");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap().to_string();
        tokio::spawn(async move { axum::serve(listener, app(pdf)).await });

        let mut kiosk = Connection::open(&address, "kofu_kiosk_test").await.unwrap();
        let steps = crate::kiosks::flow(&mut kiosk, "card-1", "1234").await.unwrap();
        assert_eq!(steps.len(), 5);
        let document = format!("/v1/kiosk/sessions/{SESSION}/issuances/{ISSUANCE}/document");
        let fetched = kiosk.call(axum::http::Method::GET, &document, None, None).await.unwrap();
        assert_eq!(&fetched.body[..], b"%PDF-1.7 the benchmark certificate");
    }

    /// Like kofu, it reads the bearer token: without one, nothing.
    #[tokio::test]
    async fn a_call_without_a_bearer_token_is_refused() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app(Bytes::new())).await });
        let stream = tokio::net::TcpStream::connect(address).await.unwrap();
        let (mut sender, connection) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await.unwrap();
        tokio::spawn(connection);
        let request = axum::http::Request::delete(format!("/v1/kiosk/sessions/{SESSION}"))
            .header(header::HOST, address.to_string())
            .body(http_body_util::Full::new(Bytes::new()))
            .unwrap();
        let answer = sender.send_request(request).await.unwrap();
        assert_eq!(answer.status(), StatusCode::UNAUTHORIZED);
    }
}
