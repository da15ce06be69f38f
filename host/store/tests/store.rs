//! The storage layer on its own: register versions guard issuances, the
//! audit chain links and detects changes, PIN lockout holds under
//! concurrency. Runs on the backend `KOFU_TEST_BACKEND` names (SQLite by
//! default; `scripts/test` runs it again on PostgreSQL), each test on a
//! database of its own. Tests of concurrent writes run on a multi-threaded
//! runtime: on PostgreSQL they race for real, over several connections.

use kofu_model::Municipality;
use kofu_store::{
    ActivationBy, Actor, AuditEntry, ChainReport, Delivery, Issuance, NewIssuance, NewPlugin, Outcome, Owner, PinCheck,
    Recorded, RegisterImport, RegisterVersion, StatusChangeBy, Store, StoreError, StoreOptions, check_chain,
};
use kofu_test_db::{Backend, TestDb};
use serde_json::json;

/// The counter desk's token, as the audit entries of the changes below
/// name it.
fn desk() -> Actor {
    Actor::Municipality { token: "T-1".into(), name: "counter 1".into() }
}

fn import() -> RegisterImport<'static> {
    static DESK: std::sync::LazyLock<Actor> = std::sync::LazyLock::new(desk);
    RegisterImport { by: &DESK, file_digest: "test", format: "json" }
}

fn by_desk() -> StatusChangeBy<'static> {
    static DESK: std::sync::LazyLock<Actor> = std::sync::LazyLock::new(desk);
    StatusChangeBy { actor: &DESK, reason: Some("test") }
}

fn activation() -> ActivationBy<'static> {
    static DESK: std::sync::LazyLock<Actor> = std::sync::LazyLock::new(desk);
    ActivationBy { by: &DESK, action: "activate", fee_yen: None, data: json!({}), detail: None }
}

async fn store() -> (Store, TestDb) {
    let db = TestDb::new();
    let store = Store::open(&StoreOptions::new(db.url())).await.unwrap();
    store.create_municipality(&Municipality::preview(), 1).await.unwrap();
    let fixture: kofu_model::Resident =
        serde_json::from_str(include_str!("../../../tests/fixtures/residents/yamada-taro.json")).unwrap();
    let entries = kofu_register::entries_from_fixture("R-1", "H-1", &fixture, false);
    store.import_residents("999999", &entries, &import(), 1).await.unwrap();
    (store, db)
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
            outcome: Outcome::Refused,
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
            void: None,
        },
        input: format!("{{\"input of\": \"{id}\"}}"),
    }
}

async fn versions(store: &Store) -> Vec<RegisterVersion> {
    let subject = store.subject("999999", "R-1").await.unwrap().unwrap();
    subject.household.iter().map(|r| RegisterVersion { id: r.entry.id.clone(), version: r.version }).collect()
}

#[tokio::test]
async fn an_issuance_records_only_against_the_register_it_read() {
    let (store, _db) = store().await;
    let seen = versions(&store).await;
    assert_eq!(seen.len(), 4, "yamada's household of four");
    // A member's record changes after the plugin read it.
    let change = kofu_register::StatusChange::parse(br#"{"restricted": true}"#).unwrap();
    store.change_status("999999", "R-1-2", &change, &by_desk(), 5).await.unwrap();
    let recorded = store.record_issuance(&issuance("I1", "k1"), "H-1", &seen, &json!({})).await.unwrap();
    assert!(matches!(recorded, Recorded::RegisterChanged));
    assert!(store.issuance("I1").await.unwrap().is_none(), "nothing recorded");
    assert!(events(&store).await.is_empty(), "nothing audited but the register's changes");

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
    store.import_residents("999999", &newcomer, &import(), 6).await.unwrap();
    assert!(matches!(
        store.record_issuance(&issuance("I3", "k3"), "H-1", &seen, &json!({})).await.unwrap(),
        Recorded::RegisterChanged
    ));
}

/// A removal between the read and the record is a register change: the
/// issuance reads again, and finds the removed member gone (or, for the
/// subject, no one to issue for).
#[tokio::test]
async fn a_removal_after_the_read_makes_the_issuance_read_again() {
    let (store, _db) = store().await;
    let seen = versions(&store).await;
    assert!(store.remove_resident("999999", "R-1-3", "test removal", &desk(), 5).await.unwrap());
    let recorded = store.record_issuance(&issuance("I1", "k1"), "H-1", &seen, &json!({})).await.unwrap();
    assert!(matches!(recorded, Recorded::RegisterChanged));
    let household = store.subject("999999", "R-1").await.unwrap().unwrap().household;
    assert!(household.iter().all(|r| r.entry.id != "R-1-3"), "the removed member is in no household");
    assert!(!store.remove_resident("999999", "R-1-3", "again", &desk(), 6).await.unwrap(), "removed once");
    assert!(store.remove_resident("999999", "R-1", "test removal", &desk(), 7).await.unwrap());
    assert!(store.subject("999999", "R-1").await.unwrap().is_none(), "a removed subject is no one's subject");
}

#[tokio::test]
async fn the_audit_chain_links_every_entry_and_detects_changes() {
    let (store, _db) = store().await;
    for n in 0..5 {
        let seen = versions(&store).await;
        let recorded = store
            .record_issuance(&issuance(&format!("I{n}"), &format!("k{n}")), "H-1", &seen, &json!({ "n": n }))
            .await;
        assert!(matches!(recorded.unwrap(), Recorded::New { .. }));
    }
    let report = store.verify_chains().await.unwrap();
    assert!(report.problems.is_empty(), "{report:?}");
    assert_eq!(report.entries, 7, "the vendor's creation of the municipality, the setup's import and five issuances");
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
    // Entry 3 (index 2) is the issuance with n = 1, after the import and n = 0.
    edited[2].entry = edited[2].entry.replace("\"n\":1", "\"n\":7");
    assert!(check(&edited).iter().any(|p| p.contains("altered")));
    edited[2].hash = kofu_store::chain_hash(&edited[2].prev_hash, &edited[2].entry);
    assert!(check(&edited).iter().any(|p| p.contains("entry 4") && p.contains("does not link")));
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
    let (store, _db) = store().await;
    store.create_card("CARD", "999999", "R-1", "right-mac", &desk(), 1).await.unwrap();
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
            PinCheck::Locked { .. } => locked += 1,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(wrong, 2, "two wrong PINs are counted before the lock");
    assert_eq!(locked, 8);
    let card = store.card("999999", "CARD").await.unwrap().unwrap();
    assert_eq!(card.failed_attempts, 3);
    assert!(card.locked_at.is_some());
    assert!(matches!(store.sign_in("K", "CARD", "right-mac", "S-ok", 3).await.unwrap(), PinCheck::Locked { .. }));
    assert!(store.unlock_card("999999", "CARD", &desk(), 2).await.unwrap());
    assert!(matches!(store.sign_in("K", "CARD", "right-mac", "S-ok", 4).await.unwrap(), PinCheck::Opened(_)));
}

/// An issued document, ready for delivery.
/// The session and kiosk of every issuance these tests record.
const OWNER: Owner<'static> = Owner { session: "S", kiosk: "K" };

fn ready(id: &str, key: &str) -> NewIssuance {
    let mut new = issuance(id, key);
    new.issuance.outcome = Outcome::Issued;
    new.issuance.reason_code = None;
    new.issuance.delivery = Delivery::Ready;
    new.issuance.verification_code = Some(format!("V-{id}"));
    new
}

/// The issuance and delivery events of the chain (the setup's register
/// import and status changes are entries too).
async fn events(store: &Store) -> Vec<String> {
    let changes = ["register-import", "status-change"];
    store
        .audit_entries("999999", 0, 1000)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.event)
        .filter(|e| !changes.contains(&e.as_str()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_requests_with_one_key_record_one_issuance() {
    let (store, _db) = store().await;
    let seen = versions(&store).await;
    let tasks: Vec<_> = (0..8)
        .map(|n| {
            let (store, seen) = (store.clone(), seen.clone());
            tokio::spawn(async move {
                store.record_issuance(&issuance(&format!("I{n}"), "same-key"), "H-1", &seen, &json!({})).await
            })
        })
        .collect();
    let (mut new, mut ids) = (0, std::collections::BTreeSet::new());
    for task in tasks {
        match task.await.unwrap().unwrap() {
            Recorded::New { issuance, .. } => {
                new += 1;
                ids.insert(issuance.id);
            }
            Recorded::Existing(existing) => {
                ids.insert(existing.id);
            }
            Recorded::RegisterChanged => panic!("the register did not change"),
        }
    }
    assert_eq!(new, 1, "exactly one request records");
    assert_eq!(ids.len(), 1, "every request answers with that one issuance: {ids:?}");
    assert_eq!(events(&store).await, ["issuance"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_appends_make_one_unbroken_chain() {
    let (store, _db) = store().await;
    let seen = versions(&store).await;
    let tasks: Vec<_> = (0..16)
        .map(|n| {
            let (store, seen) = (store.clone(), seen.clone());
            tokio::spawn(async move {
                let id = format!("I{n}");
                let recorded = store.record_issuance(&ready(&id, &id), "H-1", &seen, &json!({ "n": n })).await?;
                assert!(matches!(recorded, Recorded::New { .. }));
                // Every issuance's delivery appends twice more, racing the rest.
                store.mark_fetched(&id, &json!({}), 20).await?;
                store.mark_printed(&id, OWNER, |_| json!({}), 30).await
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    let report = store.verify_chains().await.unwrap();
    assert!(report.problems.is_empty(), "{report:?}");
    assert_eq!(report.entries, 50, "the municipality's creation, the setup's import and 48 issuances");
    let seqs: Vec<i64> = store.audit_entries("999999", 0, 100).await.unwrap().iter().map(|e| e.seq).collect();
    assert_eq!(seqs, (1..=49).collect::<Vec<_>>(), "one entry per seq, none skipped");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_document_is_fetched_once_however_many_ask_at_once() {
    let (store, _db) = store().await;
    let seen = versions(&store).await;
    store.record_issuance(&ready("I1", "k1"), "H-1", &seen, &json!({})).await.unwrap();
    // What another host re-renders the document from.
    assert_eq!(store.issuance_input("I1").await.unwrap().as_deref(), Some(r#"{"input of": "I1"}"#));
    assert_eq!(store.issuance_input("I9").await.unwrap(), None);
    let fetches: Vec<_> = (0..8)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move { store.mark_fetched("I1", &json!({}), 20).await })
        })
        .collect();
    let mut handed_out = 0;
    for task in fetches {
        handed_out += usize::from(task.await.unwrap().unwrap());
    }
    assert_eq!(handed_out, 1, "exactly one fetch hands out the document");
    assert_eq!(store.issuance("I1").await.unwrap().unwrap().delivery, Delivery::Fetched);
    assert!(!store.mark_fetched("I1", &json!({}), 21).await.unwrap());

    // Another session, or the same session id from another kiosk, cannot
    // confirm it: nothing changes and nothing is audited.
    for other in [Owner { session: "S2", kiosk: "K" }, Owner { session: "S", kiosk: "K2" }] {
        let (changed, now) = store.mark_printed("I1", other, |_| json!({}), 25).await.unwrap();
        assert!(!changed, "{other:?}");
        assert_eq!(now.unwrap().delivery, Delivery::Fetched, "{other:?}");
    }
    assert_eq!(events(&store).await, ["issuance", "fetched"]);

    let prints: Vec<_> = (0..8)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move { store.mark_printed("I1", OWNER, |i| json!({ "fee": i.fee }), 30).await })
        })
        .collect();
    let mut printed = 0;
    for task in prints {
        let (changed, now) = task.await.unwrap().unwrap();
        printed += usize::from(changed);
        assert_eq!(now.unwrap().delivery, Delivery::Printed);
    }
    assert_eq!(printed, 1, "exactly one confirmation changes it");
    assert!(store.expire_undelivered(100, 100).await.unwrap().is_empty(), "a printed document does not expire");
    assert_eq!(events(&store).await, ["issuance", "fetched", "printed"], "each step audited once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fetched_but_unconfirmed_documents_expire_once() {
    let (store, _db) = store().await;
    let seen = versions(&store).await;
    store.record_issuance(&ready("I1", "k1"), "H-1", &seen, &json!({})).await.unwrap();
    store.record_issuance(&ready("I2", "k2"), "H-1", &seen, &json!({})).await.unwrap();
    assert!(store.mark_fetched("I1", &json!({}), 20).await.unwrap());
    let sweeps: Vec<_> = (0..4)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move { store.expire_undelivered(100, 100).await })
        })
        .collect();
    let mut expired = Vec::new();
    for task in sweeps {
        expired.extend(task.await.unwrap().unwrap().into_iter().map(|i| i.id));
    }
    expired.sort();
    assert_eq!(expired, ["I1", "I2"], "hosts sweeping at once expire each document once");
    for id in ["I1", "I2"] {
        assert_eq!(store.issuance(id).await.unwrap().unwrap().delivery, Delivery::Expired);
    }
    let mut tail = events(&store).await.split_off(3);
    tail.sort();
    assert_eq!(tail, ["expired", "expired"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_right_pin_racing_wrong_ones_never_opens_a_locked_card() {
    let (store, _db) = store().await;
    store.create_card("CARD", "999999", "R-1", "right-mac", &desk(), 1).await.unwrap();
    store.create_kiosk("K", "kiosk", "kiosk-hash", 1).await.unwrap();
    // Rounds, so that later ones race over connections the first opened.
    for round in 0..8 {
        assert!(store.unlock_card("999999", "CARD", &desk(), 2).await.unwrap());
        for n in 0..2 {
            let first = store.sign_in("K", "CARD", "wrong-mac", &format!("W{round}-{n}"), 2).await.unwrap();
            assert!(matches!(first, PinCheck::WrongPin { .. }));
        }
        // One more wrong PIN locks the card; a right one racing it opens a
        // session only if it got there first.
        let tasks: Vec<_> = (0..6)
            .map(|n| {
                let store = store.clone();
                let mac = if n == 3 { "right-mac" } else { "wrong-mac" };
                tokio::spawn(async move { store.sign_in("K", "CARD", mac, &format!("S{round}-{n}"), 3).await })
            })
            .collect();
        let (mut opened, mut wrong) = (0, 0);
        for task in tasks {
            match task.await.unwrap().unwrap() {
                PinCheck::Opened(_) => opened += 1,
                PinCheck::WrongPin { .. } => wrong += 1,
                PinCheck::Locked { .. } => {}
                PinCheck::Unknown => panic!("the card exists"),
            }
        }
        // Right first: it resets the count, and the five wrong PINs after it
        // lock the card at the third. Otherwise the first wrong PIN locks it.
        assert!(
            (opened == 1 && wrong == 2) || (opened == 0 && wrong == 0),
            "round {round}: opened {opened}, wrong {wrong}: the sign-ins did not apply one at a time"
        );
        let card = store.card("999999", "CARD").await.unwrap().unwrap();
        assert_eq!(card.failed_attempts, 3, "round {round}");
        assert!(card.locked_at.is_some());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_activations_number_their_history_in_order() {
    let (store, _db) = store().await;
    for n in 0..6 {
        let manifest = json!({ "kind": format!("kind-{n}") });
        let (hash, kind) = (format!("h{n}"), format!("kind-{n}"));
        let plugin = NewPlugin { hash: &hash, kind: &kind, version: "1.0.0", manifest: &manifest, component: b"wasm" };
        let inserted = store.insert_plugin("999999", plugin, &desk(), 1).await.unwrap();
        assert!(inserted);
    }
    let tasks: Vec<_> = (0..6)
        .map(|n| {
            let store = store.clone();
            tokio::spawn(async move { store.activate_plugin("999999", &format!("h{n}"), &activation(), 2).await })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    let mut seqs: Vec<i64> = store.activations("999999").await.unwrap().iter().map(|a| a.seq).collect();
    seqs.sort();
    assert_eq!(seqs, [1, 2, 3, 4, 5, 6]);
    assert_eq!(store.active_plugins("999999").await.unwrap().len(), 6);

    // Rollback goes back to the version active before, under the same lock.
    let plugin = NewPlugin { hash: "h0b", kind: "kind-0", version: "2.0.0", manifest: &json!({}), component: b"wasm2" };
    store.insert_plugin("999999", plugin, &desk(), 3).await.unwrap();
    store.activate_plugin("999999", "h0b", &activation(), 4).await.unwrap();
    let back = store.rollback_plugin("999999", "kind-0", &desk(), 5).await.unwrap().unwrap();
    assert_eq!((back.hash.as_str(), back.seq), ("h0", 8));
    assert!(store.rollback_plugin("999999", "kind-1", &desk(), 6).await.unwrap().is_none(), "nothing earlier");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_status_changes_lose_nothing() {
    let (store, _db) = store().await;
    let before = store.resident("999999", "R-1").await.unwrap().unwrap();
    // Each change adds a fiscal year to the record it reads and writes back;
    // rounds, so that later ones race over connections the first opened.
    let years: Vec<i64> = (2000..2024).collect();
    for round in years.chunks(8) {
        let tasks: Vec<_> = round
            .iter()
            .map(|&year| {
                let store = store.clone();
                let change = json!({ "tax_year": { "fiscal_year": year, "items": [
                    { "name": "市民税・県民税", "assessed": 1000, "paid": 1000 }
                ] } });
                let change = kofu_register::StatusChange::parse(change.to_string().as_bytes()).unwrap();
                tokio::spawn(async move { store.change_status("999999", "R-1", &change, &by_desk(), 5).await })
            })
            .collect();
        for task in tasks {
            task.await.unwrap().unwrap();
        }
    }
    let after = store.resident("999999", "R-1").await.unwrap().unwrap();
    assert_eq!(after.version, before.version + years.len() as i64);
    let record = serde_json::to_value(&after.entry.person).unwrap().to_string();
    let lost: Vec<i64> = years.iter().copied().filter(|y| !record.contains(&format!("\"fiscal_year\":{y}"))).collect();
    assert!(lost.is_empty(), "changes for these years were lost: {lost:?}");
}

#[tokio::test]
async fn removing_entries_at_the_end_of_a_chain_is_detected() {
    let (store, db) = store().await;
    for n in 0..3 {
        let seen = versions(&store).await;
        store.record_issuance(&issuance(&format!("I{n}"), &format!("k{n}")), "H-1", &seen, &json!({})).await.unwrap();
    }
    let pool = db.pool().await;
    let drop_trigger = match db.backend() {
        Backend::Sqlite => "DROP TRIGGER audit_log_no_delete",
        Backend::Postgres => "DROP TRIGGER audit_log_no_delete ON audit_log",
    };
    sqlx::query("DELETE FROM audit_log WHERE seq = 4")
        .execute(&pool)
        .await
        .expect_err("the database refuses to remove an audit entry");
    sqlx::raw_sql(drop_trigger).execute(&pool).await.unwrap();
    sqlx::query("DELETE FROM audit_log WHERE seq = 4").execute(&pool).await.unwrap();
    pool.close().await;
    let report = store.verify_chains().await.unwrap();
    assert!(report.problems.iter().any(|p| p.contains("entries at the end were removed")), "{report:?}");
}

#[tokio::test]
async fn the_audit_log_refuses_changes() {
    let (store, db) = store().await;
    let seen = versions(&store).await;
    store.record_issuance(&issuance("I1", "k1"), "H-1", &seen, &json!({})).await.unwrap();
    let pool = db.pool().await;
    for statement in ["UPDATE audit_log SET event = 'printed'", "DELETE FROM audit_log"] {
        let refused = sqlx::query(statement).execute(&pool).await.expect_err(statement).to_string();
        assert!(refused.contains("append-only"), "{refused}");
    }
    if db.backend() == Backend::Postgres {
        let refused = sqlx::query("TRUNCATE audit_log").execute(&pool).await.expect_err("truncate").to_string();
        assert!(refused.contains("append-only"), "{refused}");
    }
    pool.close().await;
    assert_eq!(events(&store).await, ["issuance"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_first_key_check_value_is_kept() {
    let (store, _db) = store().await;
    let tasks: Vec<_> = ["a", "b", "c"]
        .into_iter()
        .map(|value| {
            let store = store.clone();
            tokio::spawn(async move { (value, store.check_key("pin", value, 1).await.unwrap()) })
        })
        .collect();
    let mut accepted = Vec::new();
    for task in tasks {
        let (value, ok) = task.await.unwrap();
        if ok {
            accepted.push(value);
        }
    }
    assert_eq!(accepted.len(), 1, "concurrent first starts agree on one value: {accepted:?}");
    assert!(store.check_key("pin", accepted[0], 2).await.unwrap());
    assert!(!store.check_key("pin", "another", 2).await.unwrap());
}

/// SQLite keeps writing to a file that was moved or deleted under it; those
/// writes would vanish at the next start. They fail instead.
#[tokio::test]
async fn writes_to_a_moved_sqlite_file_fail_instead_of_vanishing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kofu.db");
    let store = Store::open(&StoreOptions::new(format!("sqlite://{}", path.display()))).await.unwrap();
    store.create_municipality(&Municipality::preview(), 1).await.unwrap();
    std::fs::rename(&path, dir.path().join("moved.db")).unwrap();
    let err = store.check_key("pin", "value", 2).await.unwrap_err();
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
    assert!(err.to_string().contains("is gone"), "{err}");
}
