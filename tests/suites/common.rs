//! Helpers shared by the suites: one certifier per test binary, and a
//! request builder.

// Each suite uses a different subset of these helpers.
#![allow(dead_code)]

use std::sync::{Arc, OnceLock};

use kofu_certify::{Certificate, Certified, Certifier, Stamp};
use kofu_model::{Date, Municipality, RequestContext, Resident};
use kofu_render::RenderOptions;
use kofu_sandbox::{Limits, Plugin, Request};

pub fn certifier() -> &'static Certifier {
    static CERTIFIER: OnceLock<Certifier> = OnceLock::new();
    CERTIFIER.get_or_init(|| Certifier::new(Limits::default(), RenderOptions::default()).expect("certifier"))
}

pub fn load(path: &str) -> Arc<Plugin> {
    certifier().sandbox().load(&kofu_tests::component(path)).unwrap_or_else(|err| panic!("{path}: {err}"))
}

pub fn issue_date() -> Date {
    Date::new(2025, 11, 21).expect("date")
}

pub fn request(plugin: &Plugin, subject: Resident, options: &[(&str, &str)]) -> Request {
    let options: Vec<(String, String)> = options.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    let options = plugin.manifest().resolve_options(&options).expect("options");
    Request {
        subject: Arc::new(subject),
        context: RequestContext { issue_date: issue_date(), municipality: Municipality::preview(), options },
    }
}

pub fn stamp(number: &str) -> Stamp {
    Stamp { issuance_number: number.to_owned(), preview: false }
}

/// Certify and expect a certificate.
pub fn issue(plugin: &Plugin, request: &Request, number: &str) -> Certificate {
    match certifier().certify(plugin, request, &stamp(number)) {
        Ok(Certified::Issued { certificate, .. }) => certificate,
        Ok(Certified::Refused { refusal, .. }) => panic!("unexpected refusal: {refusal:?}"),
        Err(err) => panic!("certify failed: {err}"),
    }
}

/// Every page carries this issuance's number and "n / N".
pub fn assert_pages_stamped(certificate: &Certificate, number: &str) {
    assert!(certificate.pages() >= 1);
    for page in 1..=certificate.pages() {
        let text = kofu_tests::normalize(&kofu_tests::pdf_text(certificate.pdf(), Some(page)));
        let expected_number = kofu_tests::normalize(&format!("発行番号 {number}"));
        assert!(text.contains(&expected_number), "page {page} lacks {expected_number}: {text}");
        let expected_page = format!("{page}/{}", certificate.pages());
        assert!(text.contains(&expected_page), "page {page} lacks {expected_page}: {text}");
        assert!(text.contains(certificate.verification_code()), "page {page} lacks the verification code");
    }
}
