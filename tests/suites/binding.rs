//! No plugin can deliver a misleading certificate: the host's policy and
//! its checks of what a plugin returned, through the certifier that
//! `kofu plugin render`, dry-runs and kiosks share. Each attack of the
//! forger guest is refused with its own reason, and an honest plugin is
//! still served in the same sandbox right after.

mod common;

use common::{certifier, issue, load, request, stamp};
use kofu_certify::{Certified, CertifyError, RegisterIndex};
use kofu_model::{RefusalCode, Resident};
use kofu_sandbox::{FailureCause, LoadError};
use kofu_tests::{component, fixture, fixtures, guests, normalize, pdf_text};

/// The register of every fixture, as a municipality's would be.
fn register() -> RegisterIndex {
    let residents: Vec<Resident> = fixtures().into_iter().map(|(_, resident)| resident).collect();
    RegisterIndex::build(residents.iter()).expect("index")
}

/// What the forger's `attack` comes to for `subject`.
fn attack(name: &str, subject: Resident, extra: &[(&str, &str)]) -> Result<Certified, CertifyError> {
    let plugin = load(guests::FORGER);
    let mut options = vec![("attack", name)];
    options.extend_from_slice(extra);
    let req = request(&plugin, subject, &options);
    certifier().certify_with(&plugin, &req, &stamp("TEST-BIND-0001"), &register())
}

/// Expect a host refusal with `code`; returns the host's reason.
fn refused_by_host(result: Result<Certified, CertifyError>, code: RefusalCode) -> String {
    match result {
        Ok(Certified::Refused { refusal, host_reason, .. }) => {
            assert_eq!(refusal.code, code, "{refusal:?} ({host_reason:?})");
            assert_eq!(refusal, kofu_model::Refusal::by_host(code), "the kiosk sees the host's words");
            host_reason.expect("a host refusal says why")
        }
        Ok(Certified::Issued { .. }) => panic!("a misleading certificate was issued (expected {code:?})"),
        Err(err) => panic!("expected a refusal {code:?}, got {err}"),
    }
}

fn honest_plugin_still_served() {
    let plugin = load(guests::RESIDENCE);
    let yamada = fixture("yamada-taro");
    let certificate = issue(&plugin, &request(&plugin, yamada.clone(), &[]), "TEST-AFTER");
    assert!(normalize(&pdf_text(certificate.pdf(), None)).contains(&normalize(&yamada.name)));
}

#[test]
fn a_footer_in_the_body_is_refused() {
    let why = refused_by_host(attack("footer", fixture("yamada-taro"), &[]), RefusalCode::StampImitation);
    assert!(why.contains("発行番号"), "{why}");
    honest_plugin_still_served();
}

#[test]
fn a_copied_code_of_a_real_issuance_is_refused() {
    // A real issuance's number and code, as an attacker would copy them off
    // a certificate: the plugin prints them from a field, without a label.
    let mut yamada = fixture("yamada-taro");
    yamada.previous_address = Some("7Q4M-2KXH-9TDA".into());
    let why = refused_by_host(attack("copied-code", yamada, &[]), RefusalCode::StampImitation);
    assert!(why.contains("7Q4M-2KXH-9TDA"), "{why}");
    let mut yamada = fixture("yamada-taro");
    yamada.previous_address = Some("7q4m 2kxh 9tda".into());
    refused_by_host(attack("copied-code", yamada, &[]), RefusalCode::StampImitation);
}

#[test]
fn disguised_and_split_stamps_are_refused() {
    refused_by_host(attack("disguised", fixture("yamada-taro"), &[]), RefusalCode::StampImitation);
    let why = refused_by_host(attack("split-label", fixture("yamada-taro"), &[]), RefusalCode::StampImitation);
    assert!(why.contains("発行番号"), "{why}");
}

#[test]
fn another_residents_data_as_constants_is_refused() {
    // Read only residency, printed someone else's name, birth and address.
    let why = refused_by_host(attack("other-person", fixture("yamada-taro"), &[]), RefusalCode::ForeignPersonalData);
    assert!(!why.contains("鈴木"), "the reason must not repeat the data: {why}");
    // Beside the subject's own data.
    refused_by_host(attack("other-person-beside", fixture("yamada-taro"), &[]), RefusalCode::ForeignPersonalData);
    // Even on Suzuki's own certificate: register data the plugin did not
    // read (and so was not handed, under its manifest and options) is never
    // printed, whoever's it is.
    refused_by_host(attack("other-person", fixture("suzuki-yoko"), &[]), RefusalCode::ForeignPersonalData);
    honest_plugin_still_served();
}

#[test]
fn a_certificate_that_names_no_one_is_refused() {
    refused_by_host(attack("unnamed", fixture("yamada-taro"), &[]), RefusalCode::SubjectNotNamed);
}

#[test]
fn the_legal_refusals_are_the_hosts_whatever_the_plugin_does() {
    let cases = [
        ("kobayashi-yui", RefusalCode::AccessRestricted),
        ("takahashi-jiro", RefusalCode::MovedOut),
        ("watanabe-shigeru", RefusalCode::Deceased),
    ];
    for (stem, code) in cases {
        match attack("skip-checks", fixture(stem), &[]) {
            Ok(Certified::Refused { refusal, evaluation, host_reason }) => {
                assert_eq!(refusal.code, code, "{stem}");
                assert!(evaluation.fields_read.is_empty(), "{stem}: the plugin never ran");
                assert!(host_reason.is_some());
            }
            other => panic!("{stem}: {other:?}"),
        }
    }
    // Moving in (or to a new address) on the issue day.
    let mut nakamura = fixture("nakamura-kenta");
    nakamura.address_since = common::issue_date();
    refused_by_host(attack("skip-checks", nakamura, &[]), RefusalCode::MovedInToday);
    // A household form with a member under a support measure, who must not
    // be named by the refusal either.
    let mut yamada = fixture("yamada-taro");
    yamada.household[0].residency.restricted = true;
    let refusal = match attack("skip-checks", yamada.clone(), &[("include-household", "true")]) {
        Ok(Certified::Refused { refusal, .. }) => refusal,
        other => panic!("{other:?}"),
    };
    assert_eq!(refusal.code, RefusalCode::AccessRestricted);
    assert!(!refusal.message_ja.contains("花子") && !refusal.message_en.contains("Hanako"));
    // The individual form does not print the member: it is issued.
    let individual = attack("skip-checks", yamada, &[]).expect("certify");
    assert!(matches!(individual, Certified::Issued { .. }), "{individual:?}");
}

#[test]
fn page_bombs_are_refused_at_the_page_limit() {
    for name in ["page-bomb", "page-breaks"] {
        let started = std::time::Instant::now();
        let why = refused_by_host(attack(name, fixture("yamada-taro"), &[]), RefusalCode::TooManyPages);
        assert!(why.contains("20 pages"), "{name}: {why}");
        // Layout stops at the limit rather than lay out 1,400 pages; a
        // generous bound, only against running to the end.
        assert!(started.elapsed() < std::time::Duration::from_secs(5), "{name} took {:?}", started.elapsed());
    }
}

#[test]
fn rows_that_cannot_be_printed_are_not_printable_refusals() {
    let why = refused_by_host(attack("tall-row", fixture("yamada-taro"), &[]), RefusalCode::NotPrintable);
    assert!(why.contains("never split"), "{why}");
    let why = refused_by_host(attack("no-glyph", fixture("yamada-taro"), &[]), RefusalCode::NotPrintable);
    assert!(why.contains("U+1F600"), "{why}");
}

#[test]
fn personal_data_in_a_refusal_is_replaced_by_the_hosts_words() {
    let yamada = fixture("yamada-taro");
    match attack("leaky-refusal", yamada.clone(), &[]) {
        Ok(Certified::Refused { refusal, host_reason, .. }) => {
            assert_eq!(refusal.code, RefusalCode::Other);
            for message in [&refusal.message_ja, &refusal.message_en] {
                assert!(!normalize(message).contains(&normalize(&yamada.name)), "{message}");
                assert!(!normalize(message).contains(&normalize(&yamada.address)), "{message}");
            }
            assert!(host_reason.expect("why").contains("personal data"));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_panic_with_personal_data_fails_the_issuance() {
    match attack("leaky-panic", fixture("yamada-taro"), &[]) {
        Err(CertifyError::Evaluation(err)) => assert!(matches!(err.cause, FailureCause::Panic { .. }), "{err}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn deceptive_manifest_text_is_refused_at_load() {
    let err = certifier().sandbox().load(&component(guests::DECEPTIVE_MANIFEST)).expect_err("must not load");
    let message = err.to_string();
    assert!(matches!(err, LoadError::InvalidManifest(_)), "{message}");
    assert!(message.contains("name-en") && message.contains("U+001B"), "{message}");
    assert!(!message.contains('\u{1b}') && !message.contains('\u{202E}'), "the message must escape it: {message:?}");
}

#[test]
fn an_honest_plugin_passes_every_check() {
    // The bundled plugins print only what they read, name the subject and
    // leave the stamp to the host, against the whole register.
    let register = register();
    for path in [guests::RESIDENCE, guests::SEAL, guests::TAX] {
        let plugin = load(path);
        for (stem, subject) in fixtures() {
            let req = request(&plugin, subject, &[]);
            match certifier().certify_with(&plugin, &req, &stamp("TEST-HONEST"), &register) {
                Ok(Certified::Issued { .. }) => {}
                Ok(Certified::Refused { refusal, host_reason, .. }) => {
                    assert!(
                        !matches!(
                            refusal.code,
                            RefusalCode::StampImitation
                                | RefusalCode::ForeignPersonalData
                                | RefusalCode::SubjectNotNamed
                                | RefusalCode::TooManyPages
                        ),
                        "{path} for {stem}: {refusal:?} {host_reason:?}"
                    );
                }
                Err(err) => panic!("{path} for {stem}: {err}"),
            }
        }
    }
    // The household form, for every household.
    let plugin = load(guests::RESIDENCE);
    for (stem, subject) in fixtures() {
        let req = request(&plugin, subject, &[("include-household", "true"), ("include-domicile", "true")]);
        match certifier().certify_with(&plugin, &req, &stamp("TEST-HONEST"), &register) {
            Ok(Certified::Issued { .. }) => {}
            Ok(Certified::Refused { refusal, host_reason, .. }) => {
                assert!(
                    host_reason.is_none() || refusal.code != RefusalCode::ForeignPersonalData,
                    "{stem}: {refusal:?}"
                );
            }
            Err(err) => panic!("household form for {stem}: {err}"),
        }
    }
}
