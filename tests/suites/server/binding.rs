//! Misleading certificates at a kiosk: the forger guest uploaded, activated
//! and asked for each of its attacks through the real API. Every one is
//! refused (or fails) with its own reason, nothing is delivered or charged,
//! and no plugin-supplied words reach the audit chain.

use serde_json::{Value, json};

use crate::common::{Muni, TestServer, world};

/// Issue `kind` with `options` for the session and return the answer.
async fn ask(server: &TestServer, kiosk: &str, session: &str, key: &str, options: Value) -> Value {
    server.issue(kiosk, session, key, "residence-certificate", options).await.expect(201).json()
}

/// Every audit entry of the municipality, as text.
async fn audit_text(server: &TestServer, muni: &Muni) -> String {
    let audit = server.get(&format!("/v1/municipalities/{}/audit", muni.code), Some(&muni.token)).await;
    audit.expect(200).text()
}

#[tokio::test]
async fn no_attack_of_the_forger_reaches_a_kiosk_or_the_audit_chain() {
    let (server, muni, kiosk) = world().await;
    server.import_fixture(&muni, "R-1", "yamada-taro").await;
    server.import_fixture(&muni, "R-2", "suzuki-yoko").await;

    // A genuine certificate for Suzuki, whose number and code the forger
    // will try to print on Yamada's.
    let suzuki = server.card(&muni, "R-2", "2222").await;
    let suzuki_session = server.session(&kiosk, &suzuki).await;
    let genuine = ask(&server, &kiosk, &suzuki_session, "g1", json!({})).await;
    assert_eq!(genuine["outcome"], "issued", "{genuine}");
    let real_code = genuine["verification_code"].as_str().expect("code").to_owned();

    // Yamada's register row carries the real code where the forger prints
    // from (as an attacker who copied it off the paper would).
    let mut yamada = kofu_tests::fixture("yamada-taro");
    yamada.previous_address = Some(real_code.clone());
    let entries = kofu_register::entries_from_fixture("R-1", "H-R-1", &yamada, false);
    server.import_entries(&muni, &entries).await.expect(200);

    server.activate(&muni, kofu_tests::component(kofu_tests::guests::FORGER)).await;
    let holder = server.card(&muni, "R-1", "1111").await;
    let session = server.session(&kiosk, &holder).await;

    let attacks = [
        ("footer", "stamp-imitation"),
        ("copied-code", "stamp-imitation"),
        ("disguised", "stamp-imitation"),
        ("split-label", "stamp-imitation"),
        ("other-person", "foreign-personal-data"),
        ("other-person-beside", "foreign-personal-data"),
        ("unnamed", "subject-not-named"),
        ("page-bomb", "too-many-pages"),
        ("page-breaks", "too-many-pages"),
        ("tall-row", "not-printable"),
        ("no-glyph", "not-printable"),
    ];
    for (attack, code) in attacks {
        let answer = ask(&server, &kiosk, &session, attack, json!({ "attack": attack })).await;
        assert_eq!(answer["outcome"], "refused", "{attack}: {answer}");
        assert_eq!(answer["refusal"]["code"], code, "{attack}: {answer}");
        assert!(answer["verification_code"].is_null() && answer["fee_yen"].is_null(), "{attack}: {answer}");
        let id = answer["id"].as_str().expect("id");
        server.document(&kiosk, &session, id).await.expect_problem(404);
        // The municipality's record says what the host found.
        let record = server
            .get(&format!("/v1/municipalities/{}/issuances/{id}", muni.code), Some(&muni.token))
            .await
            .expect(200)
            .json();
        let reason: Value = serde_json::from_str(record["reason"].as_str().expect("reason")).expect("reason json");
        assert!(reason["host"].as_str().is_some_and(|why| !why.is_empty()), "{attack}: {record}");
    }

    // Personal data in a refusal: the kiosk gets the host's words.
    let leaky = ask(&server, &kiosk, &session, "leaky-refusal", json!({ "attack": "leaky-refusal" })).await;
    assert_eq!(leaky["outcome"], "refused", "{leaky}");
    let shown = leaky["refusal"].to_string();
    assert!(!shown.contains("山田") && !shown.contains("桜町"), "{shown}");
    // And in a panic: a failure, nothing delivered.
    let panicked = ask(&server, &kiosk, &session, "leaky-panic", json!({ "attack": "leaky-panic" })).await;
    assert_eq!(panicked["outcome"], "failed", "{panicked}");

    // The genuine code still verifies as Suzuki's certificate, and nothing
    // forged was ever issued under it.
    let verified = server.get(&format!("/v1/verify/{real_code}"), None).await.expect(200).json();
    assert_eq!(verified["valid"], true, "{verified}");

    // The chain keeps digests of reasons, not the plugins' words: neither
    // Yamada's name nor his address is in it.
    let audit = audit_text(&server, &muni).await;
    let compact: String = audit.chars().filter(|c| !c.is_whitespace() && *c != '\u{3000}').collect();
    for secret in ["山田", "桜町一丁目", "鈴木", "港南二丁目"] {
        assert!(!compact.contains(secret), "the audit chain holds {secret}");
    }
    assert!(audit.contains("reason_digest"), "{audit}");
}

#[tokio::test]
async fn the_legal_refusals_hold_at_a_kiosk_whatever_the_plugin_does() {
    let (server, muni, kiosk) = world().await;
    server.import_fixture(&muni, "R-1", "kobayashi-yui").await;
    let mut yamada = kofu_tests::fixture("yamada-taro");
    yamada.household[0].residency.restricted = true;
    let entries = kofu_register::entries_from_fixture("R-2", "H-R-2", &yamada, false);
    server.import_entries(&muni, &entries).await.expect(200);
    server.activate(&muni, kofu_tests::component(kofu_tests::guests::FORGER)).await;

    // Under a support measure: refused before the plugin runs.
    let restricted = server.card(&muni, "R-1", "1111").await;
    let session = server.session(&kiosk, &restricted).await;
    let answer = ask(&server, &kiosk, &session, "dv", json!({ "attack": "skip-checks" })).await;
    assert_eq!(answer["outcome"], "refused", "{answer}");
    assert_eq!(answer["refusal"]["code"], "access-restricted", "{answer}");

    // A household form with a restricted member: refused, naming no one.
    let holder = server.card(&muni, "R-2", "2222").await;
    let session = server.session(&kiosk, &holder).await;
    let options = json!({ "attack": "skip-checks", "include-household": true });
    let answer = ask(&server, &kiosk, &session, "household", options).await;
    assert_eq!(answer["refusal"]["code"], "access-restricted", "{answer}");
    assert!(!answer.to_string().contains("花子"), "{answer}");
    // Moving out takes effect for the next request, plugin or not.
    server
        .call(
            axum::http::Method::PATCH,
            &format!("/v1/municipalities/{}/residents/R-2", muni.code),
            Some(&muni.token),
            crate::common::Payload::Json(json!({ "residency": { "state": "moved-out", "since": "2026-11-01" } })),
        )
        .await
        .expect(200);
    let answer = ask(&server, &kiosk, &session, "moved", json!({ "attack": "skip-checks" })).await;
    assert_eq!(answer["refusal"]["code"], "moved-out", "{answer}");
}
