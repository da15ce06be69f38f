//! Rendering is deterministic: the same input gives the same bytes, in the
//! same sandbox and in a freshly built one.

mod common;

use common::{issue, load, request};
use kofu_certify::{Certified, Certifier, Stamp};
use kofu_render::RenderOptions;
use kofu_sandbox::Limits;
use kofu_tests::{component, fixture, guests};

#[test]
fn same_input_same_bytes() {
    let plugin = load(guests::RESIDENCE);
    let req = request(&plugin, fixture("sato-makoto"), &[("include-household", "true"), ("include-domicile", "true")]);
    let first = issue(&plugin, &req, "TEST-DET-1");
    let second = issue(&plugin, &req, "TEST-DET-1");
    assert_eq!(first.pdf(), second.pdf(), "two renders of one input differ");
    assert_eq!(first.document_hash(), second.document_hash());

    // A different issuance number changes the stamp, and only the stamp.
    let other = issue(&plugin, &req, "TEST-DET-2");
    assert_ne!(first.pdf(), other.pdf());
    assert_eq!(first.document_hash(), other.document_hash());
    assert_ne!(first.verification_code(), other.verification_code());
}

#[test]
fn compiled_plugins_are_cached_by_content_hash() {
    let sandbox = common::certifier().sandbox();
    let bytes = component(guests::SEAL);
    let first = sandbox.load(&bytes).expect("load");
    let second = sandbox.load(&bytes.clone()).expect("load again");
    assert!(std::sync::Arc::ptr_eq(&first, &second), "the same component was compiled twice");
    assert_eq!(first.id().hash, kofu_sandbox::ContentHash::of(&bytes));
    let other = sandbox.load(&component(guests::TAX)).expect("load tax");
    assert_ne!(other.id().hash, first.id().hash);
}

#[test]
fn a_fresh_sandbox_renders_the_same_bytes() {
    let plugin = load(guests::TAX);
    let req = request(&plugin, fixture("yamada-taro"), &[]);
    let shared = issue(&plugin, &req, "TEST-DET-3");

    let fresh = Certifier::new(Limits::default(), RenderOptions::default()).expect("certifier");
    let fresh_plugin = fresh.sandbox().load(&component(guests::TAX)).expect("load");
    let stamp = Stamp { issuance_number: "TEST-DET-3".into(), preview: false };
    match fresh.certify(&fresh_plugin, &req, &stamp).expect("certify") {
        Certified::Issued { certificate, .. } => assert_eq!(certificate.pdf(), shared.pdf()),
        Certified::Refused { refusal, .. } => panic!("refused: {refusal:?}"),
    }
}

#[test]
fn preview_stamp_is_fixed_and_marked() {
    let plugin = load(guests::SEAL);
    let req = request(&plugin, fixture("yamada-taro"), &[]);
    let render = || match common::certifier().certify(&plugin, &req, &Stamp::preview()).expect("certify") {
        Certified::Issued { certificate, .. } => certificate,
        Certified::Refused { refusal, .. } => panic!("refused: {refusal:?}"),
    };
    let (a, b) = (render(), render());
    assert_eq!(a.pdf(), b.pdf());
    let text = kofu_tests::normalize(&kofu_tests::pdf_text(a.pdf(), None));
    assert!(text.contains(&kofu_tests::normalize("見本（プレビュー）")), "preview marker missing");
    assert!(text.contains(&kofu_tests::normalize(kofu_certify::PREVIEW_ISSUANCE_NUMBER)));
}

/// Clocks, randomness and the environment are virtual: the wall clock is
/// midnight of the issue date in Japan, time does not pass, "random" values
/// repeat, and there are no variables or arguments. Nothing survives an
/// evaluation (invariant 2): the plugin's statics and heap start afresh.
#[test]
fn plugins_see_a_virtual_deterministic_environment() {
    let plugin = load(guests::ENVIRONMENT_PROBE);
    let req = request(&plugin, fixture("yamada-taro"), &[]);
    let other = request(&plugin, fixture("sato-makoto"), &[]);
    let evaluate = |req| match common::certifier().sandbox().evaluate(&plugin, req).expect("evaluate").outcome {
        kofu_sandbox::Outcome::Document(document) => document,
        other => panic!("unexpected {other:?}"),
    };
    let probe = || evaluate(&req);
    let rows = |document: &kofu_model::Document| -> Vec<(String, String)> {
        document
            .blocks
            .iter()
            .filter_map(|block| match block {
                kofu_model::Block::KeyValues(rows) => Some(rows.clone()),
                _ => None,
            })
            .flatten()
            .map(|row| (row.key, row.value))
            .collect()
    };
    let first = rows(&probe());
    let value = |key: &str| first.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone()).expect(key);
    // 2025-11-21T00:00:00+09:00
    assert_eq!(value("wall"), "1763650800");
    assert_eq!(value("elapsed"), "0");
    assert_eq!(value("env"), "0");
    assert_eq!(value("args"), "0");
    assert_eq!(value("evaluations"), "1");
    assert_eq!(value("seen-before"), "0");
    // 3 MiB written past its initial memory by every evaluation, and none
    // of it seen by the next (the host resets written pages in place up to
    // 2 MiB, the rest by giving them back).
    assert_eq!(value("grown-bytes"), (3 << 20).to_string());
    assert_eq!(value("stale-bytes"), "0");
    // Another resident in between, on the same pooled instance slots.
    for _ in 0..8 {
        let between = rows(&evaluate(&other));
        assert!(between.contains(&("evaluations".into(), "1".into())), "{between:?}");
        assert!(between.contains(&("seen-before".into(), "0".into())), "{between:?}");
        assert!(between.contains(&("stale-bytes".into(), "0".into())), "{between:?}");
    }
    assert_eq!(rows(&probe()), first, "a later evaluation saw different values or what came before");
}
