//! A kofu server in a temporary data directory, driven through its real
//! router without a socket, with helpers for the common setup steps. Its
//! database is a fresh one on the backend `KOFU_TEST_BACKEND` names (see
//! `kofu-test-db`): the whole suite runs on SQLite and, from `scripts/test`,
//! again on PostgreSQL.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use http_body_util::BodyExt;
use kofu_server::{AppState, Config, Server};
use kofu_test_db::{Backend, TEST_PIN_KEY, TestDb};
use serde_json::{Value, json};
use tower::ServiceExt;

pub const ADMIN: &str = "test-admin-token-0123456789";

#[derive(Clone)]
pub struct TestServer {
    pub app: Router,
    pub state: AppState,
    pub dir: Arc<tempfile::TempDir>,
    /// Dropped (on PostgreSQL: the database dropped) with the last host.
    pub db: Arc<TestDb>,
}

#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub content_type: String,
    pub headers: axum::http::HeaderMap,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// Assert the status, showing the body when it differs.
    #[track_caller]
    pub fn expect(&self, status: u16) -> &Reply {
        assert_eq!(self.status.as_u16(), status, "unexpected status; body: {}", self.text());
        self
    }

    /// Assert an RFC 9457 problem document with this status.
    #[track_caller]
    pub fn expect_problem(&self, status: u16) -> Value {
        self.expect(status);
        assert_eq!(self.content_type, "application/problem+json", "body: {}", self.text());
        let problem = self.json();
        assert_eq!(problem["status"], status, "{problem}");
        assert!(problem["type"].as_str().is_some_and(|t| t.starts_with("urn:kofu:problem:")), "{problem}");
        assert!(problem["detail"].as_str().is_some_and(|d| !d.is_empty()), "{problem}");
        problem
    }
}

/// A request body.
pub enum Payload {
    None,
    Json(Value),
    Raw(&'static str, Vec<u8>),
}

/// A municipality with a token.
#[derive(Clone)]
pub struct Muni {
    pub code: String,
    pub token: String,
}

/// A resident with a card.
#[derive(Clone)]
pub struct Holder {
    pub resident: String,
    pub card: String,
    pub pin: String,
}

impl TestServer {
    pub async fn new() -> TestServer {
        TestServer::with(|_| {}).await
    }

    pub async fn with(adjust: impl FnOnce(&mut Config)) -> TestServer {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = TestDb::new();
        let mut config = Config {
            data_dir: dir.path().to_path_buf(),
            database_url: Some(db.url().to_owned()),
            admin_token: Some(ADMIN.into()),
            ..Config::default()
        };
        config.sqlite_synchronous = "NORMAL".into();
        if db.backend() == Backend::Postgres {
            // A shared database needs the key given explicitly; on SQLite the
            // key file in the data directory is what is tested.
            config.pin_key = Some(TEST_PIN_KEY.into());
        }
        adjust(&mut config);
        let server = Server::start(config).await.expect("server starts");
        TestServer { app: server.router(), state: server.state, dir: Arc::new(dir), db: Arc::new(db) }
    }

    /// Another host on the same database (and, for its PIN key file on
    /// SQLite, the same data directory), with caches of its own.
    pub async fn host(&self) -> TestServer {
        let mut config = self.state.config().clone();
        config.admin_token = Some(ADMIN.into());
        let server = Server::start(config).await.expect("another host starts");
        TestServer { app: server.router(), state: server.state, dir: Arc::clone(&self.dir), db: Arc::clone(&self.db) }
    }

    pub async fn call(&self, method: Method, path: &str, token: Option<&str>, payload: Payload) -> Reply {
        self.call_with(method, path, token, payload, &[]).await
    }

    pub async fn call_with(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        payload: Payload,
        headers: &[(&str, &str)],
    ) -> Reply {
        let mut request = Request::builder().method(method).uri(path);
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let body = match payload {
            Payload::None => Body::empty(),
            Payload::Json(value) => {
                request = request.header("content-type", "application/json");
                Body::from(value.to_string())
            }
            Payload::Raw(content_type, bytes) => {
                if !content_type.is_empty() {
                    request = request.header("content-type", content_type);
                }
                Body::from(bytes)
            }
        };
        let response = self.app.clone().oneshot(request.body(body).expect("request")).await.expect("infallible");
        let status = response.status();
        let content_type =
            response.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
        let headers = response.headers().clone();
        let body = response.into_body().collect().await.expect("body").to_bytes().to_vec();
        Reply { status, content_type, headers, body }
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Reply {
        self.call(Method::GET, path, token, Payload::None).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> Reply {
        self.call(Method::POST, path, token, Payload::Json(body)).await
    }

    /// Create a municipality and a token for it.
    pub async fn municipality(&self, code: &str, name: &str) -> Muni {
        self.post(
            "/v1/municipalities",
            Some(ADMIN),
            json!({ "code": code, "name": name, "mayor_title": format!("{name}長"), "mayor_name": "見本 一郎" }),
        )
        .await
        .expect(201);
        let token =
            self.post(&format!("/v1/municipalities/{code}/tokens"), Some(ADMIN), json!({ "label": "test" })).await;
        Muni { code: code.into(), token: token.expect(201).json()["token"].as_str().expect("token").into() }
    }

    /// Register a kiosk; returns its token.
    pub async fn kiosk(&self, label: &str) -> String {
        let reply = self.post("/v1/kiosks", Some(ADMIN), json!({ "label": label })).await;
        reply.expect(201).json()["token"].as_str().expect("token").into()
    }

    /// Upload a component; returns the reply.
    pub async fn upload(&self, muni: &Muni, component: Vec<u8>) -> Reply {
        self.call(
            Method::POST,
            &format!("/v1/municipalities/{}/plugins", muni.code),
            Some(&muni.token),
            Payload::Raw("application/wasm", component),
        )
        .await
    }

    /// Upload and activate a component; returns its hash.
    pub async fn activate(&self, muni: &Muni, component: Vec<u8>) -> String {
        let reply = self.upload(muni, component).await;
        assert!(reply.status.is_success(), "upload: {}", reply.text());
        let hash = reply.json()["hash"].as_str().expect("hash").to_owned();
        // The suites test each plugin's own behaviour, not the dry-run
        // rule (lifecycle.rs does): activated by an audited override.
        let body = json!({ "override_reason": "test setup" });
        self.post(&format!("/v1/municipalities/{}/plugins/{hash}/activate", muni.code), Some(&muni.token), body)
            .await
            .expect(200);
        hash
    }

    /// Upload and activate the three bundled plugins.
    pub async fn activate_bundled(&self, muni: &Muni) {
        for bundled in kofu_bundled_components() {
            self.activate(muni, bundled).await;
        }
    }

    /// Import a fixture (with its household) as resident `id`.
    pub async fn import_fixture(&self, muni: &Muni, id: &str, stem: &str) {
        let entries = kofu_register::entries_from_fixture(id, &format!("H-{id}"), &kofu_tests::fixture(stem), false);
        let reply = self.import_entries(muni, &entries).await;
        reply.expect(200);
    }

    pub async fn import_entries(&self, muni: &Muni, entries: &[kofu_register::RegisterEntry]) -> Reply {
        let residents: Vec<Value> = entries.iter().map(entry_json).collect();
        self.post(
            &format!("/v1/municipalities/{}/residents", muni.code),
            Some(&muni.token),
            json!({ "residents": residents }),
        )
        .await
    }

    /// Issue a card for a resident.
    pub async fn card(&self, muni: &Muni, resident: &str, pin: &str) -> Holder {
        let reply = self
            .post(
                &format!("/v1/municipalities/{}/cards", muni.code),
                Some(&muni.token),
                json!({ "resident_id": resident, "pin": pin }),
            )
            .await;
        Holder {
            resident: resident.into(),
            card: reply.expect(201).json()["id"].as_str().expect("id").into(),
            pin: pin.into(),
        }
    }

    /// Sign in at a kiosk; returns the session id.
    pub async fn session(&self, kiosk: &str, holder: &Holder) -> String {
        let reply =
            self.post("/v1/kiosk/sessions", Some(kiosk), json!({ "card_id": holder.card, "pin": holder.pin })).await;
        reply.expect(201).json()["session_id"].as_str().expect("session").into()
    }

    pub async fn issue(&self, kiosk: &str, session: &str, key: &str, kind: &str, options: Value) -> Reply {
        self.call_with(
            Method::POST,
            &format!("/v1/kiosk/sessions/{session}/issuances"),
            Some(kiosk),
            Payload::Json(json!({ "kind": kind, "options": options })),
            &[("idempotency-key", key)],
        )
        .await
    }

    /// Fetch an issuance's document.
    /// The municipality's audit events of issuances and their delivery, in
    /// order (the chain also holds its register, card, plugin and token
    /// changes).
    pub async fn issuance_events(&self, muni: &Muni) -> Vec<String> {
        let audit = self.get(&format!("/v1/municipalities/{}/audit?limit=1000", muni.code), Some(&muni.token)).await;
        let audit = audit.expect(200).json();
        audit["entries"]
            .as_array()
            .expect("entries")
            .iter()
            .map(|e| e["event"].as_str().expect("event").to_owned())
            .filter(|e| ["issuance", "fetched", "printed", "expired", "voided"].contains(&e.as_str()))
            .collect()
    }

    pub async fn document(&self, kiosk: &str, session: &str, issuance: &str) -> Reply {
        self.get(&format!("/v1/kiosk/sessions/{session}/issuances/{issuance}/document"), Some(kiosk)).await
    }
}

/// A server with a municipality like the demo (999997), the bundled plugins active,
/// and one kiosk: the starting point of most tests.
pub async fn world() -> (TestServer, Muni, String) {
    world_with(|_| {}).await
}

/// [`world`] with adjusted settings.
pub async fn world_with(adjust: impl FnOnce(&mut Config)) -> (TestServer, Muni, String) {
    let server = TestServer::with(adjust).await;
    let muni = server.municipality("999997", "見本市").await;
    server.activate_bundled(&muni).await;
    let kiosk = server.kiosk("store 1").await;
    (server, muni, kiosk)
}

/// The JSON import form of a register entry.
pub fn entry_json(entry: &kofu_register::RegisterEntry) -> Value {
    let mut value = serde_json::to_value(&entry.person).expect("person");
    let object = value.as_object_mut().expect("object");
    object.remove("household");
    object.insert("id".into(), json!(entry.id));
    object.insert("household".into(), json!(entry.household));
    object.insert("test".into(), json!(entry.test));
    value
}

pub fn kofu_bundled_components() -> Vec<Vec<u8>> {
    use kofu_tests::guests;
    [guests::RESIDENCE, guests::SEAL, guests::TAX].iter().map(|p| kofu_tests::component(p)).collect()
}

/// Text of a PDF, normalised for searching (see kofu_tests::normalize).
pub fn pdf_text(pdf: &[u8]) -> String {
    kofu_tests::normalize(&kofu_tests::pdf_text(pdf, None))
}
