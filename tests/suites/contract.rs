//! Plugins built against the published `kofu:certificate@0.1.0` keep
//! working: the host links their imports under the old names, runs them
//! through the same capability checks and limits, and gives them the host's
//! page limit, since their manifest declares none.

mod common;

use common::{certifier, issue, load, request, stamp};
use kofu_certify::{Certified, CertifyError, Stamp};
use kofu_model::{Field, RefusalCode};
use kofu_sandbox::{Contract, FailureCause, Limits};
use kofu_tests::{fixture, guests, normalize, pdf_text};

#[test]
fn a_0_1_0_plugin_loads_and_issues() {
    let plugin = load(guests::CONTRACT_V0_1);
    assert_eq!(plugin.contract(), Contract::V0_1);
    assert_eq!(plugin.manifest().max_pages, None);
    assert!(
        plugin.imports().iter().any(|import| import == "kofu:certificate/resident@0.1.0"),
        "{:?}",
        plugin.imports()
    );
    let yamada = fixture("yamada-taro");
    let certificate = issue(&plugin, &request(&plugin, yamada.clone(), &[("household", "true")]), "TEST-V01");
    let text = normalize(&pdf_text(certificate.pdf(), None));
    assert!(text.contains(&normalize(&yamada.name)), "{text}");
    for member in &yamada.household {
        assert!(text.contains(&normalize(&member.name)), "household() through the adapter: {text}");
    }
    // Its log reached the host through `log@0.1.0`.
    let Ok(Certified::Issued { evaluation, .. }) =
        certifier().certify(&plugin, &request(&plugin, yamada, &[]), &stamp("TEST-V01-LOG"))
    else {
        panic!("not issued")
    };
    assert!(evaluation.logs.iter().any(|entry| entry.message.contains("log@0.1.0")), "{:?}", evaluation.logs);
    assert_eq!(evaluation.fields_read, vec![Field::Name, Field::Address, Field::Residency]);
}

#[test]
fn the_current_plugins_are_0_2_0() {
    for path in [guests::RESIDENCE, guests::SEAL, guests::TAX] {
        let plugin = load(path);
        assert_eq!(plugin.contract(), Contract::V0_2, "{path}");
        assert!(plugin.manifest().max_pages.is_some(), "{path}");
    }
}

#[test]
fn a_0_1_0_plugin_gets_the_capability_check() {
    let plugin = load(guests::CONTRACT_V0_1);
    let req = request(&plugin, fixture("yamada-taro"), &[("read-undeclared", "true")]);
    match certifier().certify(&plugin, &req, &Stamp::preview()) {
        Err(CertifyError::Evaluation(err)) => {
            assert_eq!(err.cause, FailureCause::UndeclaredField { field: Field::BirthDate, declared_but_locked: false })
        }
        Err(other) => panic!("expected an evaluation error, got {other}"),
        Ok(_) => panic!("an undeclared read came to an outcome"),
    }
}

#[test]
fn a_0_1_0_plugin_gets_the_hosts_page_limit() {
    let plugin = load(guests::CONTRACT_V0_1);
    let host = Limits::default().max_pages;
    let within = host.to_string();
    let certificate = issue(&plugin, &request(&plugin, fixture("yamada-taro"), &[("pages", &within)]), "TEST-V01-20");
    assert_eq!(certificate.pages() as usize, host);
    let past = (host + 1).to_string();
    match certifier().certify(&plugin, &request(&plugin, fixture("yamada-taro"), &[("pages", &past)]), &stamp("T")) {
        Ok(Certified::Refused { refusal, host_reason, .. }) => {
            assert_eq!(refusal.code, RefusalCode::TooManyPages);
            assert!(host_reason.expect("why").contains(&format!("{host} pages")));
        }
        other => panic!("expected too-many-pages, got {other:?}"),
    }
}

#[test]
fn a_0_1_0_plugin_gets_the_hosts_legal_refusals() {
    let plugin = load(guests::CONTRACT_V0_1);
    // The DV-restricted fixture: refused by the host before the plugin runs.
    let req = request(&plugin, fixture("kobayashi-yui"), &[]);
    match certifier().certify(&plugin, &req, &Stamp::preview()) {
        Ok(Certified::Refused { refusal, .. }) => assert_eq!(refusal.code, RefusalCode::AccessRestricted),
        other => panic!("expected access-restricted, got {other:?}"),
    }
}
