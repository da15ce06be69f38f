//! The three bundled plugins against every resident fixture: the right
//! outcome, the subject's data in the PDF (read back by pdftotext), and
//! nothing of any other fixture's household.

mod common;

use std::thread;

use common::{assert_pages_stamped, certifier, issue, load, request, stamp};
use kofu_certify::Certified;
use kofu_model::RefusalCode;
use kofu_tests::{fixture, fixtures, guests, identifying_strings, normalize, pdf_text};

#[derive(Debug, Clone, Copy, PartialEq)]
enum Expect {
    Issued,
    Refused(RefusalCode),
}

fn common_refusal(fixture: &str) -> Option<RefusalCode> {
    match fixture {
        "takahashi-jiro" => Some(RefusalCode::MovedOut),
        "watanabe-shigeru" => Some(RefusalCode::Deceased),
        "kobayashi-yui" => Some(RefusalCode::AccessRestricted),
        _ => None,
    }
}

fn expected(plugin: &str, fixture: &str) -> Expect {
    if let Some(code) = common_refusal(fixture) {
        return Expect::Refused(code);
    }
    match (plugin, fixture) {
        ("seal", "ito-misaki") => Expect::Refused(RefusalCode::SealCancelled),
        ("seal", "nakamura-kenta" | "kimura-aoi") => Expect::Refused(RefusalCode::SealNotRegistered),
        ("tax", "suzuki-yoko") => Expect::Refused(RefusalCode::TaxUnpaid),
        _ => Expect::Issued,
    }
}

/// Issue `plugin` for every fixture and check outcome and content.
fn check_plugin(name: &str, path: &str, options: &[(&str, &str)], household_form: bool) {
    let plugin = load(path);
    let all = fixtures();
    assert!(all.len() >= 8, "fixtures are missing");
    for (index, (stem, resident)) in all.iter().enumerate() {
        let number = format!("TEST-{name}-{index:04}");
        let req = request(&plugin, resident.clone(), options);
        let outcome = certifier().certify(&plugin, &req, &stamp(&number)).unwrap_or_else(|err| panic!("{stem}: {err}"));
        match (expected(name, stem), outcome) {
            (Expect::Refused(code), Certified::Refused { refusal, .. }) => {
                assert_eq!(refusal.code, code, "{name} × {stem}");
                assert!(!refusal.message_ja.is_empty() && !refusal.message_en.is_empty());
            }
            (Expect::Issued, Certified::Issued { certificate, evaluation }) => {
                let text = normalize(&pdf_text(certificate.pdf(), None));
                assert!(text.contains(&normalize(&resident.name)), "{name} × {stem}: name missing in\n{text}");
                assert!(text.contains(&normalize(&resident.address)), "{name} × {stem}: address missing");
                for (other_stem, other) in &all {
                    if other_stem == stem {
                        continue;
                    }
                    for needle in identifying_strings(other) {
                        assert!(!text.contains(&needle), "{name} × {stem}: holds `{needle}` of {other_stem}");
                    }
                }
                let resident_members =
                    resident.household.iter().filter(|m| m.residency.state == kofu_model::ResidencyState::Resident);
                for member in resident_members {
                    let present = text.contains(&normalize(&member.name));
                    let is_head = member.relationship == "世帯主";
                    if household_form {
                        assert!(present, "{name} × {stem}: household member {} missing", member.name);
                    } else if !is_head {
                        assert!(!present, "{name} × {stem}: individual form lists {}", member.name);
                    }
                }
                for member in
                    resident.household.iter().filter(|m| m.residency.state != kofu_model::ResidencyState::Resident)
                {
                    assert!(
                        !text.contains(&normalize(&member.name)),
                        "{stem}: lists {} who left the household",
                        member.name
                    );
                }
                assert_pages_stamped(&certificate, &number);
                assert!(evaluation.fuel_used > 0 && evaluation.fuel_used < certifier().sandbox().limits().fuel);
            }
            (expect, Certified::Issued { .. }) => panic!("{name} × {stem}: expected {expect:?}, got a certificate"),
            (expect, Certified::Refused { refusal, .. }) => {
                panic!("{name} × {stem}: expected {expect:?}, got refusal {refusal:?}")
            }
        }
    }
}

#[test]
fn residence_individual_form_for_every_fixture() {
    check_plugin("residence", guests::RESIDENCE, &[], false);
}

#[test]
fn residence_household_form_for_every_fixture() {
    check_plugin("residence", guests::RESIDENCE, &[("include-household", "true")], true);
}

#[test]
fn seal_certificate_for_every_fixture() {
    check_plugin("seal", guests::SEAL, &[], false);
}

#[test]
fn tax_certificate_for_every_fixture() {
    check_plugin("tax", guests::TAX, &[], false);
}

#[test]
fn my_number_and_domicile_print_only_when_chosen() {
    let plugin = load(guests::RESIDENCE);
    let yamada = fixture("yamada-taro");
    let my_number = yamada.my_number.clone().expect("fixture has a number");
    let domicile = normalize(&yamada.registered_domicile.clone().expect("domicile").place);

    let plain = issue(&plugin, &request(&plugin, yamada.clone(), &[]), "TEST-PLAIN");
    let text = normalize(&pdf_text(plain.pdf(), None));
    assert!(!text.contains(&my_number) && !text.contains(&domicile));

    let options = [("include-my-number", "true"), ("include-domicile", "true")];
    let full = issue(&plugin, &request(&plugin, yamada, &options), "TEST-FULL");
    let text = normalize(&pdf_text(full.pdf(), None));
    assert!(text.contains(&my_number), "my number missing");
    assert!(text.contains(&domicile), "domicile missing");
}

#[test]
fn large_household_breaks_pages_and_stamps_each() {
    let plugin = load(guests::RESIDENCE);
    let sato = fixture("sato-makoto");
    let req = request(&plugin, sato.clone(), &[("include-household", "true")]);
    let certificate = issue(&plugin, &req, "TEST-SATO");
    assert!(certificate.pages() >= 2, "11 members should need more than one page");
    assert_pages_stamped(&certificate, "TEST-SATO");
    // The certification sentence closes the last page only.
    let last = normalize(&pdf_text(certificate.pdf(), Some(certificate.pages())));
    assert!(last.contains("相違ないことを証明する"));
    let first = normalize(&pdf_text(certificate.pdf(), Some(1)));
    assert!(!first.contains("相違ないことを証明する"));
    assert!(first.contains(&normalize(&sato.name)));
}

#[test]
fn tax_certificate_for_a_chosen_year() {
    let plugin = load(guests::TAX);
    let suzuki = fixture("suzuki-yoko");
    // 2025 is partly unpaid, 2024 is paid, 2019 has no record.
    let paid = issue(&plugin, &request(&plugin, suzuki.clone(), &[("fiscal-year", "2024")]), "TEST-TAX-2024");
    let text = normalize(&pdf_text(paid.pdf(), None));
    assert!(text.contains("令和6年度"), "{text}");
    assert!(text.contains("98,600"), "{text}");
    let missing = request(&plugin, suzuki, &[("fiscal-year", "2019")]);
    match certifier().certify(&plugin, &missing, &stamp("TEST-TAX-2019")).expect("certify") {
        Certified::Refused { refusal, .. } => assert_eq!(refusal.code, RefusalCode::NoRecord),
        Certified::Issued { .. } => panic!("issued a tax certificate for a year without a record"),
    }
}

#[test]
fn concurrent_requests_never_mix_residents() {
    let plugin = load(guests::RESIDENCE);
    let people = ["yamada-taro", "suzuki-yoko", "nakamura-kenta", "sato-makoto", "kimura-aoi", "ito-misaki"];
    let all = fixtures();
    thread::scope(|scope| {
        for (t, stem) in people.iter().enumerate() {
            let plugin = &plugin;
            let all = &all;
            scope.spawn(move || {
                let resident = fixture(stem);
                for round in 0..6 {
                    let number = format!("TEST-CONC-{t}-{round}");
                    let req = request(plugin, resident.clone(), &[("include-household", "true")]);
                    let certificate = issue(plugin, &req, &number);
                    let text = normalize(&pdf_text(certificate.pdf(), None));
                    assert!(text.contains(&normalize(&resident.name)));
                    for (other_stem, other) in all.iter().filter(|(s, _)| s != stem) {
                        for needle in identifying_strings(other) {
                            assert!(!text.contains(&needle), "{stem} got `{needle}` of {other_stem}");
                        }
                    }
                    assert_pages_stamped(&certificate, &number);
                }
            });
        }
    });
}

#[test]
fn a_household_past_the_declared_page_maximum_goes_to_the_counter() {
    let plugin = load(guests::RESIDENCE);
    // The bundled residence plugin declares 10 pages (WIT 0.2.0), fewer
    // than the host's 20.
    assert_eq!(plugin.manifest().max_pages, Some(10));
    assert_eq!(plugin.manifest().page_limit(20), 10);
    let mut sato = fixture("sato-makoto");
    let child = sato.household.last().expect("a member").clone();
    for i in 0..120 {
        let mut member = child.clone();
        member.name = format!("佐藤　{i}");
        member.my_number = None;
        sato.household.push(member);
    }
    let req = request(&plugin, sato, &[("include-household", "true")]);
    match certifier().certify(&plugin, &req, &stamp("TEST-BIG-HOUSEHOLD")) {
        Ok(Certified::Refused { refusal, host_reason, .. }) => {
            assert_eq!(refusal.code, RefusalCode::TooManyPages, "{refusal:?}");
            let why = host_reason.expect("a host refusal says why");
            assert!(why.contains("10 pages"), "{why}");
        }
        Ok(Certified::Issued { certificate, .. }) => panic!("issued {} pages", certificate.pages()),
        Err(err) => panic!("expected a refusal, got {err}"),
    }
}

#[test]
fn the_tax_plugins_own_refusal_words_reach_the_resident() {
    // The host shows a plugin's refusal message only if it passes the
    // checks printed text passes; the bundled plugins' messages do.
    let plugin = load(guests::TAX);
    let req = request(&plugin, fixture("suzuki-yoko"), &[]);
    match certifier().certify(&plugin, &req, &stamp("TEST-TAX-REFUSED")) {
        Ok(Certified::Refused { refusal, host_reason, .. }) => {
            assert_eq!(refusal.code, RefusalCode::TaxUnpaid);
            assert_eq!(host_reason, None, "the host replaced the plugin's words");
            assert!(refusal.message_en.contains("is not fully paid"), "{refusal:?}");
            assert!(refusal.message_ja.contains("未納"), "{refusal:?}");
        }
        other => panic!("expected tax-unpaid, got {other:?}"),
    }
}
