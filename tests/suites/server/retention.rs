//! The register as lists, a resident's removal, and retention: what is
//! erased when, with the audit chain verifying after every purge.

use axum::http::Method;
use serde_json::{Value, json};

use crate::common::{Muni, Payload, TestServer, pdf_text, world, world_with};

async fn audit_events(server: &TestServer, muni: &Muni) -> Vec<Value> {
    let reply = server.get(&format!("/v1/municipalities/{}/audit?limit=1000", muni.code), Some(&muni.token)).await;
    reply.expect(200).json()["entries"].as_array().expect("entries").clone()
}

fn ids(list: &Value, key: &str) -> Vec<String> {
    list[key].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn residents_and_cards_are_listed_with_filters_and_pages() {
    let (server, muni, _) = world().await;
    server.import_fixture(&muni, "R-1", "yamada-taro").await;
    server.import_fixture(&muni, "R-2", "suzuki-yoko").await;
    let tests = kofu_register::entries_from_fixture("T-1", "TH-1", &kofu_tests::fixture("ito-misaki"), true);
    server.import_entries(&muni, &tests).await.expect(200);
    server
        .call(
            Method::PATCH,
            &format!("/v1/municipalities/{}/residents/R-2", muni.code),
            Some(&muni.token),
            Payload::Json(json!({ "residency": { "state": "moved-out", "since": "2026-11-01" } })),
        )
        .await
        .expect(200);
    let list = |query: &str| {
        let path = format!("/v1/municipalities/{}/residents?{query}", muni.code);
        let (server, token) = (&server, &muni.token);
        async move { server.get(&path, Some(token)).await }
    };

    let all = list("").await.expect(200).json();
    assert_eq!(
        ids(&all, "residents"),
        ["R-1", "R-1-1", "R-1-2", "R-1-3", "R-2", "R-2-1", "R-2-2", "T-1"],
        "register order"
    );
    assert!(all["next"].is_null());
    let household = list("household=H-R-1").await.expect(200).json();
    assert_eq!(ids(&household, "residents").len(), 4);
    assert_eq!(ids(&list("test=true").await.expect(200).json(), "residents"), ["T-1"]);
    assert_eq!(ids(&list("state=moved-out").await.expect(200).json(), "residents"), ["R-2"]);
    // By name or kana, white space ignored.
    assert_eq!(ids(&list("name=%E5%B1%B1%E7%94%B0%E5%A4%AA%E9%83%8E").await.expect(200).json(), "residents"), ["R-1"]);
    assert_eq!(ids(&list("name=%E3%83%A4%E3%83%9E%E3%83%80").await.expect(200).json(), "residents").len(), 4);
    // Pages: the cursor goes on where the last one ended.
    let first = list("limit=4").await.expect(200).json();
    assert_eq!(ids(&first, "residents").len(), 4);
    let next = first["next"].as_i64().expect("a next page");
    let second = list(&format!("limit=4&after={next}")).await.expect(200).json();
    assert_eq!(ids(&second, "residents"), ["R-2", "R-2-1", "R-2-2", "T-1"]);
    list("limit=0").await.expect_problem(422);
    list("state=gone").await.expect_problem(422);
    list("colour=red").await.expect_problem(400);

    // Cards: by resident and state.
    let one = server.card(&muni, "R-1", "1234").await;
    let two = server.card(&muni, "R-1-1", "1234").await;
    let cards = format!("/v1/municipalities/{}/cards", muni.code);
    server.call(Method::DELETE, &format!("{cards}/{}", two.card), Some(&muni.token), Payload::None).await.expect(204);
    let cards_of = |query: &str| {
        let path = format!("{cards}?{query}");
        let (server, token) = (&server, &muni.token);
        async move { server.get(&path, Some(token)).await }
    };
    let mut both = ids(&cards_of("").await.expect(200).json(), "cards");
    both.sort();
    let mut expected = vec![one.card.clone(), two.card.clone()];
    expected.sort();
    assert_eq!(both, expected);
    assert_eq!(ids(&cards_of("state=live").await.expect(200).json(), "cards"), [one.card.as_str()]);
    assert_eq!(ids(&cards_of("state=revoked").await.expect(200).json(), "cards"), [two.card.as_str()]);
    assert_eq!(ids(&cards_of("resident=R-1-1").await.expect(200).json(), "cards"), [two.card.as_str()]);
    let listed = cards_of("").await.expect(200).json();
    assert!(listed["cards"][0].get("pin_mac").is_none(), "no PIN material is listed");
    cards_of("state=lost").await.expect_problem(400);
}

#[tokio::test]
async fn a_removed_resident_is_refused_left_out_of_households_and_their_cards_revoked() {
    let (server, muni, kiosk) = world().await;
    server.import_fixture(&muni, "R-1", "yamada-taro").await;
    let holder = server.card(&muni, "R-1", "1234").await;
    let member = server.card(&muni, "R-1-1", "1234").await;
    let resident = |id: &str| format!("/v1/municipalities/{}/residents/{id}", muni.code);
    let remove = |id: &str, body: Value| {
        let path = resident(id);
        let (server, token) = (&server, &muni.token);
        async move { server.call(Method::DELETE, &path, Some(token), Payload::Json(body)).await }
    };

    remove("R-1-2", json!({})).await.expect_problem(422);
    remove("R-1-2", json!({ "reason": " " })).await.expect_problem(422);
    remove("nobody", json!({ "reason": "test" })).await.expect_problem(404);
    let before = server.session(&kiosk, &holder).await;
    remove("R-1-2", json!({ "reason": "entered twice; the other entry is R-9" })).await.expect(204);
    remove("R-1-2", json!({ "reason": "again" })).await.expect_problem(404);
    remove("R-1-1", json!({ "reason": "died abroad, record closed" })).await.expect(204);

    // The household certificate no longer names them.
    let issued = server
        .issue(&kiosk, &before, "hh-1", "residence-certificate", json!({ "include-household": true }))
        .await
        .expect(201)
        .json();
    assert_eq!(issued["outcome"], "issued", "{issued}");
    let pdf = server.document(&kiosk, &before, issued["id"].as_str().unwrap()).await.expect(200).body.clone();
    let text = pdf_text(&pdf);
    assert!(
        text.contains(&kofu_tests::normalize("山田　太郎")) && text.contains(&kofu_tests::normalize("山田　さくら"))
    );
    assert!(!text.contains(&kofu_tests::normalize("山田　花子")), "a removed member is in no household");
    assert!(!text.contains(&kofu_tests::normalize("山田　一郎")), "a removed member is in no household");

    // Their card is revoked; the record stays, marked, until retention.
    server
        .post("/v1/kiosk/sessions", Some(&kiosk), json!({ "card_id": member.card, "pin": "1234" }))
        .await
        .expect_problem(403);
    let shown = server.get(&resident("R-1-1"), Some(&muni.token)).await.expect(200).json();
    assert!(shown["removed_at"].is_i64(), "{shown}");
    let listed = server.get(&format!("/v1/municipalities/{}/residents", muni.code), Some(&muni.token)).await;
    assert_eq!(ids(&listed.expect(200).json(), "residents"), ["R-1", "R-1-3"]);
    let with_removed =
        server.get(&format!("/v1/municipalities/{}/residents?removed=true", muni.code), Some(&muni.token)).await;
    assert_eq!(ids(&with_removed.expect(200).json(), "residents").len(), 4);
    let entries = audit_events(&server, &muni).await;
    let removal = entries.iter().rev().find(|e| e["event"] == "resident-removed").unwrap();
    assert_eq!(
        (removal["data"]["resident"].as_str(), removal["data"]["cards_revoked"].as_i64()),
        (Some("R-1-1"), Some(1))
    );
    assert_eq!(removal["detail"]["reason"], "died abroad, record closed");

    // The subject removed: refused, with what to do.
    remove("R-1", json!({ "reason": "moved to another municipality's register" })).await.expect(204);
    let gone = server.issue(&kiosk, &before, "hh-2", "residence-certificate", json!({})).await;
    assert!(gone.status.is_client_error(), "{}", gone.text());
    // An import brings a removed resident back.
    server.import_fixture(&muni, "R-1", "yamada-taro").await;
    assert!(server.get(&resident("R-1"), Some(&muni.token)).await.expect(200).json()["removed_at"].is_null());
}

#[tokio::test]
async fn retention_erases_inputs_details_and_removed_residents_and_the_chain_still_verifies() {
    let (server, muni, kiosk) = world_with(|c| {
        c.retention.inputs_days = 30;
        c.retention.audit_details_days = 60;
        c.retention.removed_residents_days = 10;
    })
    .await;
    server.import_fixture(&muni, "R-1", "yamada-taro").await;
    server.import_fixture(&muni, "R-2", "suzuki-yoko").await;
    let holder = server.card(&muni, "R-1", "1234").await;
    server.card(&muni, "R-2", "1234").await;
    let session = server.session(&kiosk, &holder).await;
    let issued = server.issue(&kiosk, &session, "keep-1", "residence-certificate", json!({})).await.expect(201).json();
    let id = issued["id"].as_str().unwrap().to_owned();
    let change = format!("/v1/municipalities/{}/residents/R-1", muni.code);
    let moved = json!({ "residency": { "state": "moved-out", "since": "2026-11-01" } });
    server.call(Method::PATCH, &change, Some(&muni.token), Payload::Json(moved)).await.expect(200);
    let removal = json!({ "reason": "test removal" });
    let r2 = format!("/v1/municipalities/{}/residents/R-2", muni.code);
    server.call(Method::DELETE, &r2, Some(&muni.token), Payload::Json(removal)).await.expect(204);
    let store = server.state.issuer().store();
    let now = kofu_store::now_millis();
    let day = 86_400_000;

    // Within every period nothing goes.
    kofu_server::sweeper::purge(&server.state, now + 9 * day).await;
    assert!(store.issuance_input(&id).await.unwrap().is_some());
    assert!(store.resident(&muni.code, "R-2").await.unwrap().is_some());
    assert!(!audit_events(&server, &muni).await.iter().any(|e| e["event"] == "retention-purge"));

    // Past 10 days the removed resident goes, with their card.
    kofu_server::sweeper::purge(&server.state, now + 11 * day).await;
    assert!(store.resident(&muni.code, "R-2").await.unwrap().is_none());
    let cards = server.get(&format!("/v1/municipalities/{}/cards?resident=R-2", muni.code), Some(&muni.token)).await;
    assert!(cards.expect(200).json()["cards"].as_array().unwrap().is_empty());
    assert!(store.issuance_input(&id).await.unwrap().is_some());

    // Past 30 days the input; past 60 the details. The issuance row, its
    // verification and the chain stay.
    kofu_server::sweeper::purge(&server.state, now + 31 * day).await;
    assert!(store.issuance_input(&id).await.unwrap().is_none());
    assert!(
        audit_events(&server, &muni).await.iter().any(|e| e["event"] == "status-change" && e["detail"].is_object())
    );
    kofu_server::sweeper::purge(&server.state, now + 61 * day).await;
    let entries = audit_events(&server, &muni).await;
    assert!(entries.iter().all(|e| e["detail"].is_null()), "every detail erased");
    let purges: Vec<&Value> = entries.iter().filter(|e| e["event"] == "retention-purge").collect();
    assert_eq!(purges.len(), 3, "one entry per purge that erased something");
    assert_eq!(purges[0]["data"]["residents"], 1);
    assert_eq!(purges[1]["data"]["inputs"], 1);
    assert!(purges[2]["data"]["audit_details"].as_u64().unwrap() >= 2);
    let code = issued["verification_code"].as_str().unwrap();
    assert_eq!(server.get(&format!("/v1/verify/{code}"), None).await.expect(200).json()["valid"], true);
    let record = server.get(&format!("/v1/municipalities/{}/issuances/{id}", muni.code), Some(&muni.token)).await;
    assert_eq!(record.expect(200).json()["outcome"], "issued");
    let certifier = std::sync::Arc::clone(server.state.issuer().certifier());
    let report = kofu_issue::verify_audit(store, &certifier, 10).await.unwrap();
    assert!(report.ok(), "{report:?}");
    assert_eq!(report.rerendered, 0, "no input is left to re-render from");
}
