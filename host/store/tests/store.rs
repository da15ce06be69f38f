//! The storage layer on its own: register versions guard issuances, the
//! audit chain links and detects changes, PIN lockout holds under
//! concurrency.

use kofu_model::Municipality;
use kofu_store::{
    AuditEntry, ChainReport, Delivery, Issuance, NewIssuance, PinCheck, Recorded, RegisterVersion, Store, StoreOptions,
    check_chain,
};
use serde_json::json;

async fn store() -> (Store, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("kofu.db").display());
    let store = Store::open(&StoreOptions::new(url)).await.unwrap();
    store.create_municipality(&Municipality::preview(), 1).await.unwrap();
    let fixture: kofu_model::Resident =
        serde_json::from_str(include_str!("../../../tests/fixtures/residents/yamada-taro.json")).unwrap();
    let entries = kofu_register::entries_from_fixture("R-1", "H-1", &fixture, false);
    store.import_residents("999999", &entries, 1).await.unwrap();
    (store, dir)
}

fn issuance(id: &str, key: &str) -> NewIssuance {
    NewIssuance {
        issuance: Issuance {
            id: id.into(),
            number: format!("N-{id}"),
            municipality: "999999".into(),
            kiosk: "K".into(),
            session: "S".into(),
            card: "C".into(),
            subject: "R-1".into(),
            kind: "tax-certificate".into(),
            options: json!({}),
            idempotency_key: key.into(),
            request_fingerprint: "f".into(),
            plugin_hash: "h".into(),
            host_build: "test".into(),
            issue_date: "2026-11-21".into(),
            outcome: "refused".into(),
            reason_code: Some("tax-unpaid".into()),
            reason: None,
            fields_read: json!([]),
            document_hash: None,
            pdf_hash: None,
            verification_code: None,
            pages: None,
            fee: None,
            delivery: Delivery::None,
            timings: json!({}),
            created_at: 10,
            printed_at: None,
            purged_at: None,
        },
        input: "{}".into(),
        pdf: None,
    }
}

async fn versions(store: &Store) -> Vec<RegisterVersion> {
    let subject = store.subject("999999", "R-1").await.unwrap().unwrap();
    subject.household.iter().map(|r| RegisterVersion { id: r.entry.id.clone(), version: r.version }).collect()
}

#[tokio::test]
async fn an_issuance_records_only_against_the_register_it_read() {
    let (store, _dir) = store().await;
    let seen = versions(&store).await;
    assert_eq!(seen.len(), 4, "yamada's household of four");
    // A member's record changes after the plugin read it.
    let change = kofu_register::StatusChange::parse(br#"{"restricted": true}"#).unwrap();
    store.change_status("999999", "R-1-2", &change, 5).await.unwrap();
    let recorded = store.record_issuance(&issuance("I1", "k1"), "H-1", &seen, &json!({})).await.unwrap();
    assert!(matches!(recorded, Recorded::RegisterChanged));
    assert!(store.issuance("I1").await.unwrap().is_none(), "nothing recorded");
    assert!(store.audit_entries("999999", 0, 10).await.unwrap().is_empty(), "nothing audited");

    // With what is current, it records, and the same key returns it.
    let seen = versions(&store).await;
    assert!(matches!(
        store.record_issuance(&issuance("I1", "k1"), "H-1", &seen, &json!({})).await.unwrap(),
        Recorded::New { .. }
    ));
    match store.record_issuance(&issuance("I2", "k1"), "H-1", &seen, &json!({})).await.unwrap() {
        Recorded::Existing(existing) => assert_eq!(existing.id, "I1"),
        other => panic!("expected the existing issuance, got {other:?}"),
    }

    // A member added to the household also counts as a change.
    let mut newcomer = kofu_register::entries_from_fixture(
        "R-9",
        "H-1",
        &kofu_model::Resident {
            household: Vec::new(),
            ..serde_json::from_str(include_str!("../../../tests/fixtures/residents/nakamura-kenta.json")).unwrap()
        },
        false,
    );
    newcomer.truncate(1);
    store.import_residents("999999", &newcomer, 6).await.unwrap();
    assert!(matches!(
        store.record_issuance(&issuance("I3", "k3"), "H-1", &seen, &json!({})).await.unwrap(),
        Recorded::RegisterChanged
    ));
}

#[tokio::test]
async fn the_audit_chain_links_every_entry_and_detects_changes() {
    let (store, _dir) = store().await;
    for n in 0..5 {
        let seen = versions(&store).await;
        let recorded = store
            .record_issuance(&issuance(&format!("I{n}"), &format!("k{n}")), "H-1", &seen, &json!({ "n": n }))
            .await;
        assert!(matches!(recorded.unwrap(), Recorded::New { .. }));
    }
    let report = store.verify_chains().await.unwrap();
    assert!(report.problems.is_empty(), "{report:?}");
    assert_eq!(report.entries, 5);
    let entries: Vec<AuditEntry> = store.audit_entries("999999", 0, 100).await.unwrap();
    assert_eq!(entries[0].prev_hash, kofu_store::GENESIS_HASH);
    for pair in entries.windows(2) {
        assert_eq!(pair[1].prev_hash, pair[0].hash);
    }
    let check = |entries: &[AuditEntry]| {
        let mut report = ChainReport::default();
        check_chain(entries, &mut report);
        report.problems
    };
    // Removing an entry in the middle.
    let mut removed = entries.clone();
    removed.remove(2);
    assert!(check(&removed).iter().any(|p| p.contains("missing")));
    // Editing an entry, even with its hash recomputed, breaks the next link.
    let mut edited = entries.clone();
    edited[1].entry = edited[1].entry.replace("\"n\":1", "\"n\":7");
    assert!(check(&edited).iter().any(|p| p.contains("altered")));
    edited[1].hash = kofu_store::chain_hash(&edited[1].prev_hash, &edited[1].entry);
    assert!(check(&edited).iter().any(|p| p.contains("entry 3") && p.contains("does not link")));
    // Changing a column without the content.
    let mut relabelled = entries.clone();
    relabelled[0].event = "printed".into();
    assert!(check(&relabelled).iter().any(|p| p.contains("columns disagree")));
}

#[test]
fn canonical_json_keeps_keys_sorted() {
    // The audit hash depends on serde_json's map ordering keys; a dependency
    // enabling `preserve_order` would silently change every hash.
    let text = json!({ "b": 1, "a": { "d": 2, "c": 3 } }).to_string();
    assert_eq!(text, r#"{"a":{"c":3,"d":2},"b":1}"#);
}

#[tokio::test]
async fn concurrent_wrong_pins_lock_the_card_exactly() {
    let (store, _dir) = store().await;
    store.create_card("CARD", "999999", "R-1", "right-mac", 1).await.unwrap();
    store.create_kiosk("K", "kiosk", "kiosk-hash", 1).await.unwrap();
    let mut tasks = Vec::new();
    for n in 0..10 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move { store.sign_in("K", "CARD", "wrong-mac", &format!("S{n}"), 2).await }));
    }
    let mut wrong = 0;
    let mut locked = 0;
    for task in tasks {
        match task.await.unwrap().unwrap() {
            PinCheck::WrongPin { .. } => wrong += 1,
            PinCheck::Locked => locked += 1,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(wrong, 2, "two wrong PINs are counted before the lock");
    assert_eq!(locked, 8);
    let card = store.card("999999", "CARD").await.unwrap().unwrap();
    assert_eq!(card.failed_attempts, 3);
    assert!(card.locked_at.is_some());
    assert!(matches!(store.sign_in("K", "CARD", "right-mac", "S-ok", 3).await.unwrap(), PinCheck::Locked));
    assert!(store.unlock_card("999999", "CARD").await.unwrap());
    assert!(matches!(store.sign_in("K", "CARD", "right-mac", "S-ok", 4).await.unwrap(), PinCheck::Opened(_)));
}
