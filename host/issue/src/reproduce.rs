//! Re-rendering an issued document from its recorded input: the plugin
//! version recorded with it, in a fresh sandbox, with the same issuance
//! number. Rendering is deterministic (invariant 5), so the result must be
//! the recorded document byte for byte. `kofu audit verify` uses this to
//! check a sample (`audit.rs`); a fetch uses it to deliver a document this
//! host does not hold (`delivery.rs`).

use std::sync::Arc;

use kofu_certify::{Certificate, Certified, Certifier, Stamp};
use kofu_model::{RequestContext, Resident};
use kofu_sandbox::{Plugin, Request};
use kofu_store::{Issuance, hex};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::HOST_BUILD;

/// An issuance's input as recorded: the subject and context the plugin was
/// given.
#[derive(Deserialize)]
pub struct RecordedInput {
    pub subject: Resident,
    pub context: RequestContext,
}

/// The same, borrowed: what an issuance records.
#[derive(Serialize)]
struct InputToRecord<'a> {
    subject: &'a Resident,
    context: &'a RequestContext,
}

impl RecordedInput {
    /// The text an issuance records for `subject` and `context`. Written
    /// straight to text, not through a `serde_json::Value` tree (a
    /// noticeable share of the server's CPU), with the keys in declaration
    /// order; older records have them sorted, and `parse` reads either.
    pub fn text(subject: &Resident, context: &RequestContext) -> Result<String, serde_json::Error> {
        serde_json::to_string(&InputToRecord { subject, context })
    }

    pub fn parse(text: &str) -> Result<RecordedInput, String> {
        serde_json::from_str(text).map_err(|e| format!("its recorded input is unreadable: {e}"))
    }
}

/// Evaluate and render `recorded` again as issuance `number`.
pub fn rerender(
    certifier: &Certifier,
    plugin: &Plugin,
    recorded: RecordedInput,
    number: String,
) -> Result<Certificate, String> {
    let request = Request { subject: Arc::new(recorded.subject), context: recorded.context };
    let stamp = Stamp { issuance_number: number, preview: false };
    match certifier.certify(plugin, &request, &stamp) {
        Ok(Certified::Issued { certificate, .. }) => Ok(certificate),
        Ok(Certified::Refused { refusal, .. }) => {
            Err(format!("re-evaluated, the plugin now refuses ({})", refusal.code.as_str()))
        }
        Err(e) => Err(format!("could not be re-rendered: {e}")),
    }
}

/// How a re-render compares with what was recorded.
#[derive(Debug, PartialEq, Eq)]
pub enum Comparison {
    /// The same document and the same PDF bytes.
    Identical,
    /// The same document; the PDF was made by another host build, whose
    /// bytes may legitimately differ, so they were not compared.
    SameDocumentOtherBuild,
    /// What differs, in plain words.
    Differs(&'static str),
}

/// How `certificate`, re-rendered, compares with the recorded `issuance`.
pub fn compare(issuance: &Issuance, certificate: &Certificate) -> Comparison {
    if issuance.document_hash.as_deref() != Some(hex(certificate.document_hash()).as_str()) {
        return Comparison::Differs("the re-rendered document differs from the recorded document hash");
    }
    if issuance.host_build != HOST_BUILD {
        return Comparison::SameDocumentOtherBuild;
    }
    if issuance.pdf_hash.as_deref() != Some(hex(&Sha256::digest(certificate.pdf())).as_str()) {
        return Comparison::Differs("the re-rendered PDF differs from the recorded PDF hash");
    }
    Comparison::Identical
}

#[cfg(test)]
mod tests {
    use kofu_model::{Date, Municipality, RequestContext, Resident};
    use serde_json::json;

    use super::RecordedInput;

    /// What an issuance records reads back as the same subject and context,
    /// and so does the older form (a `Value` tree, keys sorted).
    #[test]
    fn the_recorded_input_reads_back_in_either_form() {
        let subject =
            Resident::from_json(include_str!("../../../tests/fixtures/residents/suzuki-yoko.json")).expect("fixture");
        assert!(!subject.household.is_empty(), "the fixture has a household");
        let context = RequestContext {
            issue_date: Date::new(2026, 11, 22).expect("date"),
            municipality: Municipality {
                code: "999999".into(),
                name: "テスト市".into(),
                mayor_title: "テスト市長".into(),
                mayor_name: "試験 太郎".into(),
            },
            options: Vec::new(),
        };
        let now = RecordedInput::text(&subject, &context).expect("text");
        let before = json!({ "subject": &subject, "context": &context }).to_string();
        assert_ne!(now, before, "the two forms differ in key order");
        for text in [now, before] {
            let read = RecordedInput::parse(&text).expect("parse");
            assert_eq!(read.subject, subject);
            assert_eq!(read.context, context);
        }
    }
}
