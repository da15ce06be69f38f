//! The kiosk flow, end to end, for every certificate kind.

use axum::http::Method;
use serde_json::json;

use kofu_test_db::Backend;

use crate::common::{Payload, TestServer, world, world_with};

#[tokio::test]
async fn whole_flow_for_every_kind() {
    let (server, muni, kiosk) = world().await;
    server.import_fixture(&muni, "R-1", "yamada-taro").await;
    let fixture = kofu_tests::fixture("yamada-taro");
    let holder = server.card(&muni, "R-1", "1234").await;
    let session = server.session(&kiosk, &holder).await;

    let offers = server.get(&format!("/v1/kiosk/sessions/{session}/certificates"), Some(&kiosk)).await;
    let kinds: Vec<String> =
        offers.expect(200).json().as_array().unwrap().iter().map(|o| o["kind"].as_str().unwrap().to_owned()).collect();
    assert_eq!(kinds, ["residence-certificate", "seal-registration-certificate", "tax-certificate"]);

    for (n, (kind, options)) in [
        ("residence-certificate", json!({ "include-household": true })),
        ("seal-registration-certificate", json!({})),
        ("tax-certificate", json!({})),
    ]
    .into_iter()
    .enumerate()
    {
        let reply = server.issue(&kiosk, &session, &format!("key-{n}"), kind, options).await;
        let issuance = reply.expect(201).json();
        assert_eq!(issuance["outcome"], "issued", "{issuance}");
        assert_eq!(issuance["delivery"], "ready");
        assert_eq!(issuance["fee_yen"], 300);
        let id = issuance["id"].as_str().unwrap();
        let number = issuance["number"].as_str().unwrap();

        let document = server.document(&kiosk, &session, id).await;
        document.expect(200);
        assert_eq!(document.content_type, "application/pdf");
        let text = crate::common::pdf_text(&document.body);
        assert!(text.contains(&kofu_tests::normalize(&fixture.name)), "{kind}: subject's name missing");
        assert!(text.contains(number), "{kind}: issuance number missing");
        for (_, other) in kofu_tests::fixtures().iter().filter(|(stem, _)| stem != "yamada-taro") {
            assert!(!text.contains(&kofu_tests::normalize(&other.name)), "{kind}: another resident's name printed");
        }

        let printed = server
            .call(
                Method::POST,
                &format!("/v1/kiosk/sessions/{session}/issuances/{id}/printed"),
                Some(&kiosk),
                Payload::None,
            )
            .await;
        assert_eq!(printed.expect(200).json()["delivery"], "printed");
        // The bytes are purged; fetching again is refused.
        server.document(&kiosk, &session, id).await.expect_problem(410);

        // Anyone can verify the printed code, and learns no personal data.
        let code = issuance["verification_code"].as_str().unwrap();
        let verified = server.get(&format!("/v1/verify/{code}"), None).await;
        let verified = verified.expect(200).json();
        assert_eq!(verified["kind"], kind);
        assert_eq!(verified["municipality"]["code"], "999997");
        assert!(!verified.to_string().contains(&fixture.name), "verification leaks the name");
        // Typed in lower case without hyphens, it still verifies.
        let typed = code.replace('-', "").to_lowercase();
        server.get(&format!("/v1/verify/{typed}"), None).await.expect(200);
    }
    server.get("/v1/verify/0000-0000-0000", None).await.expect_problem(404);

    let closed =
        server.call(Method::DELETE, &format!("/v1/kiosk/sessions/{session}"), Some(&kiosk), Payload::None).await;
    closed.expect(204);
    server.get(&format!("/v1/kiosk/sessions/{session}/certificates"), Some(&kiosk)).await.expect_problem(410);

    let metrics = server.get("/metrics", None).await.expect(200).text();
    assert!(
        metrics.contains("kofu_issuances_total{kind=\"tax-certificate\",municipality=\"999997\",outcome=\"issued\"} 1"),
        "{metrics}"
    );
    // On SQLite, the group commit's counters: the flow committed writes, and
    // its COMMITs took time. PostgreSQL commits each write itself: none.
    let counter =
        |name: &str| metrics.lines().find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.parse::<f64>().ok());
    match server.db.backend() {
        Backend::Sqlite => {
            let batches = counter("kofu_store_write_batches_total").expect("batches");
            assert!(batches >= 1.0, "{metrics}");
            assert!(counter("kofu_store_batched_writes_total").expect("writes") >= batches, "{metrics}");
            assert!(counter("kofu_store_commit_seconds_total").expect("commit time") > 0.0, "{metrics}");
            // And the WAL checkpoints' counters.
            assert!(counter("kofu_store_checkpoints_total").is_some(), "{metrics}");
            assert!(counter("kofu_store_writer_checkpoints_total").is_some(), "{metrics}");
        }
        Backend::Postgres => assert_eq!(counter("kofu_store_write_batches_total"), None, "{metrics}"),
    }
}

#[tokio::test]
async fn refusals_are_recorded_and_deliver_nothing() {
    let (server, muni, kiosk) = world().await;
    server.import_fixture(&muni, "R-1", "takahashi-jiro").await;
    let holder = server.card(&muni, "R-1", "0000").await;
    let session = server.session(&kiosk, &holder).await;
    let reply = server.issue(&kiosk, &session, "k", "residence-certificate", json!({})).await;
    let issuance = reply.expect(201).json();
    assert_eq!(issuance["outcome"], "refused");
    assert_eq!(issuance["refusal"]["code"], "moved-out");
    assert_eq!(issuance["delivery"], "none");
    assert!(issuance["document"].is_null());
    let id = issuance["id"].as_str().unwrap();
    server.document(&kiosk, &session, id).await.expect_problem(404);
    let printed = server
        .call(
            Method::POST,
            &format!("/v1/kiosk/sessions/{session}/issuances/{id}/printed"),
            Some(&kiosk),
            Payload::None,
        )
        .await;
    printed.expect_problem(409);
}

#[tokio::test]
async fn a_retry_with_the_same_key_returns_the_same_issuance() {
    let (server, muni, kiosk) = world().await;
    server.import_fixture(&muni, "R-1", "yamada-taro").await;
    let holder = server.card(&muni, "R-1", "1234").await;
    let session = server.session(&kiosk, &holder).await;
    let first = server.issue(&kiosk, &session, "same", "tax-certificate", json!({})).await.expect(201).json();
    let again = server.issue(&kiosk, &session, "same", "tax-certificate", json!({})).await.expect(201).json();
    assert_eq!(first["id"], again["id"]);
    assert_eq!(first["number"], again["number"]);
    // Concurrent retries also converge on one issuance.
    let replies = futures_join(&server, &kiosk, &session, "burst", 8).await;
    let ids: std::collections::BTreeSet<String> =
        replies.iter().map(|r| r["id"].as_str().unwrap().to_owned()).collect();
    assert_eq!(ids.len(), 1, "{replies:?}");
    // The same key for a different request is an error, and changes nothing.
    let other = server.issue(&kiosk, &session, "same", "seal-registration-certificate", json!({})).await;
    other.expect_problem(422);
    assert_eq!(server.issuance_events(&muni).await, ["issuance", "issuance"], "one entry per issuance");
}

async fn futures_join(server: &TestServer, kiosk: &str, session: &str, key: &str, n: usize) -> Vec<serde_json::Value> {
    let mut tasks = Vec::new();
    for _ in 0..n {
        let app = server.app.clone();
        let (kiosk, session, key) = (kiosk.to_owned(), session.to_owned(), key.to_owned());
        tasks.push(tokio::spawn(async move {
            use http_body_util::BodyExt;
            use tower::ServiceExt;
            let request = axum::http::Request::post(format!("/v1/kiosk/sessions/{session}/issuances"))
                .header("authorization", format!("Bearer {kiosk}"))
                .header("content-type", "application/json")
                .header("idempotency-key", key)
                .body(axum::body::Body::from(json!({ "kind": "seal-registration-certificate" }).to_string()))
                .unwrap();
            let response = app.oneshot(request).await.unwrap();
            assert_eq!(response.status(), 201);
            let body = response.into_body().collect().await.unwrap().to_bytes();
            serde_json::from_slice::<serde_json::Value>(&body).unwrap()
        }));
    }
    let mut out = Vec::new();
    for task in tasks {
        out.push(task.await.unwrap());
    }
    out
}

#[tokio::test]
async fn three_wrong_pins_lock_the_card_until_the_municipality_unlocks_it() {
    let (server, muni, kiosk) = world().await;
    server.import_fixture(&muni, "R-1", "yamada-taro").await;
    let holder = server.card(&muni, "R-1", "1234").await;
    let wrong = json!({ "card_id": holder.card, "pin": "9999" });
    let first = server.post("/v1/kiosk/sessions", Some(&kiosk), wrong.clone()).await.expect_problem(403);
    assert_eq!(first["attempts_left"], 2);
    assert_eq!(
        server.post("/v1/kiosk/sessions", Some(&kiosk), wrong.clone()).await.expect_problem(403)["attempts_left"],
        1
    );
    let third = server.post("/v1/kiosk/sessions", Some(&kiosk), wrong.clone()).await.expect_problem(403);
    assert_eq!(third["type"], "urn:kofu:problem:card-locked");
    // Now even the right PIN is refused.
    let right = json!({ "card_id": holder.card, "pin": "1234" });
    let locked = server.post("/v1/kiosk/sessions", Some(&kiosk), right.clone()).await.expect_problem(403);
    assert_eq!(locked["type"], "urn:kofu:problem:card-locked");
    // A malformed PIN is not a guess and does not count.
    server
        .post("/v1/kiosk/sessions", Some(&kiosk), json!({ "card_id": holder.card, "pin": "12" }))
        .await
        .expect_problem(422);
    let unlock = format!("/v1/municipalities/{}/cards/{}/unlock", muni.code, holder.card);
    server.post(&unlock, Some(&muni.token), json!({})).await.expect(200);
    server.post("/v1/kiosk/sessions", Some(&kiosk), right).await.expect(201);
    // A right PIN resets the count: two wrong ones do not lock.
    for left in [2, 1] {
        let reply = server.post("/v1/kiosk/sessions", Some(&kiosk), wrong.clone()).await.expect_problem(403);
        assert_eq!(reply["attempts_left"], left);
    }
}

#[tokio::test]
async fn an_idle_session_expires() {
    let (server, muni, kiosk) = world_with(|c| c.session_idle = std::time::Duration::from_millis(300)).await;
    server.import_fixture(&muni, "R-1", "yamada-taro").await;
    let holder = server.card(&muni, "R-1", "1234").await;
    let session = server.session(&kiosk, &holder).await;
    server.get(&format!("/v1/kiosk/sessions/{session}/certificates"), Some(&kiosk)).await.expect(200);
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    let expired = server.get(&format!("/v1/kiosk/sessions/{session}/certificates"), Some(&kiosk)).await;
    assert!(expired.expect_problem(410)["detail"].as_str().unwrap().contains("idle"));
    server.issue(&kiosk, &session, "k", "tax-certificate", json!({})).await.expect_problem(410);
}

#[tokio::test]
async fn only_the_requesting_kiosk_and_session_can_fetch_the_document() {
    let (server, muni, kiosk) = world().await;
    let other_kiosk = server.kiosk("store 2").await;
    server.import_fixture(&muni, "R-1", "yamada-taro").await;
    server.import_fixture(&muni, "R-2", "suzuki-yoko").await;
    let yamada = server.card(&muni, "R-1", "1234").await;
    let suzuki = server.card(&muni, "R-2", "4321").await;
    let session = server.session(&kiosk, &yamada).await;
    let same_kiosk_other_session = server.session(&kiosk, &suzuki).await;
    let other_kiosk_session = server.session(&other_kiosk, &suzuki).await;
    let issuance =
        server.issue(&kiosk, &session, "k", "seal-registration-certificate", json!({})).await.expect(201).json();
    let id = issuance["id"].as_str().unwrap();
    // Another session at the same kiosk.
    server.document(&kiosk, &same_kiosk_other_session, id).await.expect_problem(404);
    // Another kiosk, with its own session, or naming this session.
    server.document(&other_kiosk, &other_kiosk_session, id).await.expect_problem(404);
    server.document(&other_kiosk, &session, id).await.expect_problem(404);
    // Another kiosk cannot confirm it printed either.
    let printed = format!("/v1/kiosk/sessions/{session}/issuances/{id}/printed");
    server.call(Method::POST, &printed, Some(&other_kiosk), Payload::None).await.expect_problem(404);
    // The right kiosk and session still can.
    server.document(&kiosk, &session, id).await.expect(200);
}

#[tokio::test]
async fn undelivered_documents_expire_and_are_purged() {
    let (server, muni, kiosk) = world_with(|c| c.delivery_ttl = std::time::Duration::ZERO).await;
    server.import_fixture(&muni, "R-1", "yamada-taro").await;
    let holder = server.card(&muni, "R-1", "1234").await;
    let session = server.session(&kiosk, &holder).await;
    let issuance = server.issue(&kiosk, &session, "k", "tax-certificate", json!({})).await.expect(201).json();
    let id = issuance["id"].as_str().unwrap();
    kofu_server::sweeper::sweep(&server.state).await;
    let gone = server.document(&kiosk, &session, id).await.expect_problem(410);
    assert!(gone["detail"].as_str().unwrap().contains("not printed in time"));
    assert_eq!(server.issuance_events(&muni).await, ["issuance", "expired"]);
}

#[tokio::test]
async fn revoking_a_card_ends_its_open_sessions() {
    let (server, muni, kiosk) = world().await;
    server.import_fixture(&muni, "R-1", "yamada-taro").await;
    let holder = server.card(&muni, "R-1", "1234").await;
    let session = server.session(&kiosk, &holder).await;
    let revoke = format!("/v1/municipalities/{}/cards/{}", muni.code, holder.card);
    server.call(Method::DELETE, &revoke, Some(&muni.token), Payload::None).await.expect(204);
    server.issue(&kiosk, &session, "k", "tax-certificate", json!({})).await.expect_problem(410);
    let again = json!({ "card_id": holder.card, "pin": holder.pin });
    let refused = server.post("/v1/kiosk/sessions", Some(&kiosk), again).await.expect_problem(403);
    assert_eq!(refused["type"], "urn:kofu:problem:card-not-accepted");
}

#[tokio::test]
async fn the_bearer_scheme_is_case_insensitive() {
    let (server, _muni, kiosk) = world().await;
    let reply = server
        .call_with(
            Method::GET,
            "/v1/kiosks",
            None,
            Payload::None,
            &[("authorization", &format!("bearer {}", crate::common::ADMIN))],
        )
        .await;
    reply.expect(200);
    let kiosk_as_vendor = server
        .call_with(Method::GET, "/v1/kiosks", None, Payload::None, &[("authorization", &format!("BEARER {kiosk}"))])
        .await;
    kiosk_as_vendor.expect_problem(403);
}
