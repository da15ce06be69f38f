//! What the vendor's operators see: metrics per municipality, HTTP
//! requests by route and status, PIN failures and locks (counted, logged,
//! and the lock in the municipality's chain), an access log without
//! personal data, and the vendor's own audit chain.

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use axum::http::Method;
use serde_json::{Value, json};

use crate::common::{ADMIN, Payload, TestServer, world};

/// A log sink the test reads back.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Captured {
        self.clone()
    }
}

/// Every log line of this test binary, as JSON. A global subscriber: one
/// set per test (`set_default`) misses events whose interest another test's
/// thread cached first.
fn captured_log() -> &'static Captured {
    static LOG: OnceLock<Captured> = OnceLock::new();
    LOG.get_or_init(|| {
        let captured = Captured::default();
        let subscriber = tracing_subscriber::fmt().json().with_writer(captured.clone()).finish();
        tracing::subscriber::set_global_default(subscriber).expect("no other subscriber in the server suite");
        captured
    })
}

async fn metrics(server: &TestServer) -> String {
    server.get("/metrics", None).await.expect(200).text()
}

fn value(metrics: &str, series: &str) -> u64 {
    metrics
        .lines()
        .find_map(|line| line.strip_prefix(series).and_then(|rest| rest.strip_prefix(' ')))
        .map_or(0, |v| v.parse().unwrap())
}

#[tokio::test]
async fn pin_failures_and_locks_are_counted_logged_and_the_lock_audited() {
    let captured = captured_log();

    let (server, muni, kiosk) = world().await;
    server.import_fixture(&muni, "R-1", "yamada-taro").await;
    let holder = server.card(&muni, "R-1", "1234").await;
    let sign_in =
        |pin: &str| server.post("/v1/kiosk/sessions", Some(&kiosk), json!({ "card_id": holder.card, "pin": pin }));
    sign_in("0000").await.expect_problem(403);
    sign_in("0000").await.expect_problem(403);
    let locked = sign_in("0000").await.expect_problem(403);
    assert_eq!(locked["type"], "urn:kofu:problem:card-locked");
    sign_in("1234").await.expect_problem(403);
    let card = format!("/v1/municipalities/{}/cards/{}", muni.code, holder.card);
    server.post(&format!("{card}/unlock"), Some(&muni.token), json!({})).await.expect(200);
    let session = server.session(&kiosk, &holder).await;
    server.issue(&kiosk, &session, "ops-1", "residence-certificate", json!({})).await.expect(201);

    let text = metrics(&server).await;
    let pin =
        |result: &str| value(&text, &format!("kofu_pin_checks_total{{municipality=\"999997\",result=\"{result}\"}}"));
    assert_eq!((pin("wrong"), pin("locked"), pin("refused-locked"), pin("opened")), (2, 1, 1, 1), "{text}");
    assert_eq!(value(&text, "kofu_card_unlocks_total{municipality=\"999997\"}"), 1, "{text}");
    let issued = "kofu_issuances_total{kind=\"residence-certificate\",municipality=\"999997\",outcome=\"issued\"}";
    assert_eq!(value(&text, issued), 1, "{text}");
    let refused = "kofu_http_requests_total{method=\"POST\",route=\"/v1/kiosk/sessions\",status=\"403\"}";
    assert_eq!(value(&text, refused), 4, "{text}");
    let unlocks = "kofu_http_requests_total{method=\"POST\",route=\"/v1/municipalities/{code}/cards/{id}/unlock\",status=\"200\"}";
    assert_eq!(value(&text, unlocks), 1, "{text}");
    server.get("/no/such/route", None).await.expect_problem(404);
    // Made-up methods are one series, not one each.
    for method in ["BREW", "WHEN"] {
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        server.call(method, "/healthz", None, Payload::None).await;
    }
    let text = metrics(&server).await;
    assert_eq!(value(&text, "kofu_http_requests_total{method=\"GET\",route=\"unmatched\",status=\"404\"}"), 1);
    let other = text.lines().filter(|l| l.starts_with("kofu_http_requests_total{method=\"other\"")).count();
    assert_eq!(other, 1, "{text}");
    assert!(!text.contains("BREW") && !text.contains("WHEN"), "{text}");

    // The lock is in the municipality's chain, by the host, with the kiosk.
    let audit = server.get(&format!("/v1/municipalities/{}/audit?limit=1000", muni.code), Some(&muni.token)).await;
    let audit = audit.expect(200).json();
    let entries = audit["entries"].as_array().unwrap();
    let lock = entries.iter().find(|e| e["event"] == "card-locked").expect("a card-locked entry");
    assert_eq!(lock["data"]["card"], holder.card.as_str());
    assert_eq!(lock["data"]["by"]["role"], "host");
    assert_eq!(lock["data"]["failed_attempts"], 3);

    // Every line is JSON; wrong PINs and the lock are warnings naming the
    // kiosk and municipality; the access log names route templates, never
    // a path with a resident's id or a token.
    let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let lines: Vec<Value> =
        log.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|_| panic!("not JSON: {l}"))).collect();
    let this_card = |l: &&Value| l["level"] == "WARN" && l["fields"]["card"] == holder.card.as_str();
    let warnings: Vec<&Value> = lines.iter().filter(this_card).collect();
    let messages: Vec<&str> = warnings.iter().map(|w| w["fields"]["message"].as_str().unwrap()).collect();
    let locked = "card locked after its last wrong PIN (audited as card-locked)";
    assert_eq!(messages, ["wrong PIN at a kiosk", "wrong PIN at a kiosk", locked]);
    assert!(warnings.iter().all(|w| w["fields"]["municipality"] == "999997" && w["fields"]["kiosk"].is_string()));
    let access: Vec<&Value> = lines.iter().filter(|l| l["target"] == "kofu::access").collect();
    assert!(
        access
            .iter()
            .any(|l| l["fields"]["route"] == "/v1/municipalities/{code}/cards/{id}/unlock"
                && l["fields"]["status"] == 200)
    );
    for line in &access {
        let text = line.to_string();
        assert!(!text.contains(&holder.card) && !text.contains(&muni.token) && !text.contains("R-1"), "{text}");
    }
    assert!(!log.contains("\"pin\""), "no PIN is logged");
}

#[tokio::test]
async fn the_vendor_chain_holds_municipalities_created_and_kiosk_changes() {
    let server = TestServer::new().await;
    server.municipality("111112", "一市").await;
    let kiosk = server.post("/v1/kiosks", Some(ADMIN), json!({ "label": "store 9" })).await.expect(201).json();
    let id = kiosk["id"].as_str().unwrap();
    server.call(Method::DELETE, &format!("/v1/kiosks/{id}"), Some(ADMIN), Payload::None).await.expect(204);
    let chain = server.get("/v1/audit", Some(ADMIN)).await.expect(200).json();
    let events: Vec<(&str, &Value)> =
        chain["entries"].as_array().unwrap().iter().map(|e| (e["event"].as_str().unwrap(), &e["data"])).collect();
    let names: Vec<&str> = events.iter().map(|(e, _)| *e).collect();
    assert_eq!(names, ["municipality-created", "kiosk-registered", "kiosk-revoked"]);
    assert_eq!(events[0].1["code"], "111112");
    assert_eq!((&events[2].1["kiosk"], &events[2].1["by"]["role"]), (&json!(id), &json!("vendor")));
    let certifier = Arc::clone(server.state.issuer().certifier());
    let report = kofu_issue::verify_audit(server.state.issuer().store(), &certifier, 10).await.unwrap();
    assert!(report.ok() && report.chain.chains == 2, "{report:?}");
}
