//! Re-rendering an issued document from its recorded input: the plugin
//! version recorded with it, in a fresh sandbox, with the same issuance
//! number. Rendering is deterministic (invariant 5), so the result must be
//! the recorded document byte for byte. `kofu audit verify` uses this to
//! check a sample; a fetch uses it to deliver a document this host does not
//! hold (see `documents`).

use std::sync::Arc;

use axum::http::StatusCode;
use kofu_certify::{Certificate, Certified, Certifier, Stamp};
use kofu_model::{RequestContext, Resident};
use kofu_sandbox::{Plugin, Request};
use kofu_store::{Issuance, hex};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::documents::HeldDocument;
use crate::error::ApiError;
use crate::slots::Tenant;
use crate::state::{AppState, HOST_BUILD};

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
    /// straight to text, not through a `serde_json::Value` tree, which was
    /// about 4% of the server's CPU; the keys are in declaration order
    /// (issuances recorded before that have them sorted, and `parse` reads
    /// either).
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

pub fn compare(issuance: &Issuance, certificate: &Certificate) -> Comparison {
    if issuance.document_hash.as_deref() != Some(hex(&certificate.document_hash).as_str()) {
        return Comparison::Differs("the re-rendered document differs from the recorded document hash");
    }
    if issuance.host_build != HOST_BUILD {
        return Comparison::SameDocumentOtherBuild;
    }
    if issuance.pdf_hash.as_deref() != Some(hex(&Sha256::digest(&certificate.pdf)).as_str()) {
        return Comparison::Differs("the re-rendered PDF differs from the recorded PDF hash");
    }
    Comparison::Identical
}

/// Issuance `issuance`'s PDF, re-rendered and identical to the recorded one,
/// or an error that hands out nothing.
pub async fn document(state: &AppState, issuance: &Issuance) -> Result<HeldDocument, ApiError> {
    let result = reproduce(state, issuance).await;
    state.metrics.rerender(match &result {
        Ok(_) => "identical",
        Err(Failed::OtherBuild) => "other-build",
        Err(Failed::Api(_)) => "failed",
        Err(Failed::Differs(_)) => "differs",
    });
    result.map_err(|failed| match failed {
        Failed::OtherBuild => ApiError::Refused {
            slug: "document-elsewhere",
            status: StatusCode::SERVICE_UNAVAILABLE,
            title: "Document not available from this server",
            detail: "the document was made by another version of the server and only a server of that version can \
                     deliver it; try again shortly, and if it still fails request the certificate again (nothing is \
                     charged until printing is confirmed)"
                .into(),
            extra: serde_json::Value::Null,
        },
        Failed::Differs(why) => {
            tracing::error!(issuance = %issuance.id, %why, "a document could not be reproduced; refusing delivery");
            ApiError::Internal(format!("issuance {}: {why}", issuance.id))
        }
        Failed::Api(err) => err,
    })
}

enum Failed {
    OtherBuild,
    /// The re-render is not the recorded document, or could not be made.
    Differs(String),
    Api(ApiError),
}

impl From<ApiError> for Failed {
    fn from(err: ApiError) -> Failed {
        Failed::Api(err)
    }
}

async fn reproduce(state: &AppState, issuance: &Issuance) -> Result<HeldDocument, Failed> {
    if issuance.host_build != HOST_BUILD {
        // Another build may render other bytes than the recorded PDF hash:
        // only a host of that build (the issuing one, normally) delivers it.
        tracing::warn!(issuance = %issuance.id, build = %issuance.host_build, "a document of another host build was asked for here");
        return Err(Failed::OtherBuild);
    }
    let input = state
        .store
        .issuance_input(&issuance.id)
        .await
        .map_err(ApiError::from)?
        .ok_or_else(|| Failed::Differs("it has no recorded input".into()))?;
    let recorded = RecordedInput::parse(&input).map_err(Failed::Differs)?;
    let subject_name = recorded.subject.name.clone();
    let plugin = state.plugins.get(state, &issuance.municipality, &issuance.plugin_hash).await?;
    let number = issuance.number.clone();
    let certificate = state
        .in_sandbox(Tenant::Municipality(issuance.municipality.clone()), move |certifier| {
            rerender(certifier, &plugin, recorded, number)
        })
        .await?
        .map_err(Failed::Differs)?;
    match compare(issuance, &certificate) {
        Comparison::Identical => {
            tracing::info!(issuance = %issuance.id, "document re-rendered identical to the recorded one");
            Ok(HeldDocument { pdf: certificate.pdf.into(), subject_name })
        }
        Comparison::SameDocumentOtherBuild => Err(Failed::OtherBuild),
        Comparison::Differs(why) => Err(Failed::Differs(why.into())),
    }
}

#[cfg(test)]
mod tests {
    use kofu_model::{Date, Municipality, RequestContext, Resident};
    use serde_json::json;

    use super::RecordedInput;

    /// What an issuance records reads back as the same subject and context,
    /// and so does the form recorded before (a `Value` tree, keys sorted).
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
