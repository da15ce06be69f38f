//! One certificate from one request: the host's legal refusals, then the
//! municipality's plugin in a fresh sandbox, then the host's checks of what
//! it returned, then the PDF with every page stamped with the issuance
//! number, "n / N", the verification code and the subject's name — read
//! back from the bytes before it is handed out. Local previews, dry-runs
//! and the server go through this same path, so a preview is what
//! production prints.

mod binding;
mod policy;
mod register;
mod verification;

use kofu_model::Refusal;
use kofu_render::{InspectError, PageStamp, RenderError, RenderOptions, Renderer};
use kofu_sandbox::{Evaluation, EvaluationError, Limits, LoadError, Outcome, Plugin, Request, Sandbox};

pub use binding::Violation;
pub use policy::legal_refusal;
pub use register::{PersonalKind, RegisterIndex, RegisterIndexError};
pub use verification::verification_code;

/// The issuance number previews carry; it is never a real issuance's.
pub const PREVIEW_ISSUANCE_NUMBER: &str = "PREVIEW-0000-0000";

/// The sandbox and the renderer, built once and shared by every request.
pub struct Certifier {
    sandbox: Sandbox,
    renderer: Renderer,
}

/// How one issuance is to be stamped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stamp {
    pub issuance_number: String,
    /// Marks every page as a preview that is not a certificate.
    pub preview: bool,
}

impl Stamp {
    /// The stamp of a local preview: a fixed number, so that the same input
    /// renders to the same bytes.
    pub fn preview() -> Stamp {
        Stamp { issuance_number: PREVIEW_ISSUANCE_NUMBER.to_owned(), preview: true }
    }
}

/// A rendered certificate whose every page the independent reader found
/// bound to its issuance and subject ([`kofu_render::check_stamps`]), after
/// the host's policy and binding checks passed. Only
/// [`Certifier::certify_with`] makes one (its fields are private), so a value
/// of this type is the proof that a PDF may be recorded and delivered.
#[derive(Debug, Clone)]
pub struct Certificate {
    pdf: Vec<u8>,
    pages: u32,
    document_hash: [u8; 32],
    verification_code: String,
    render_time: std::time::Duration,
}

impl Certificate {
    /// The PDF.
    pub fn pdf(&self) -> &[u8] {
        &self.pdf
    }

    /// The PDF, given up.
    pub fn into_pdf(self) -> Vec<u8> {
        self.pdf
    }

    pub fn pages(&self) -> u32 {
        self.pages
    }

    /// SHA-256 of the document model the plugin returned.
    pub fn document_hash(&self) -> &[u8; 32] {
        &self.document_hash
    }

    /// The 照合コード printed on every page.
    pub fn verification_code(&self) -> &str {
        &self.verification_code
    }

    /// Time spent rendering the PDF.
    pub fn render_time(&self) -> std::time::Duration {
        self.render_time
    }
}

/// What a request came to.
#[derive(Debug, Clone)]
pub enum Certified {
    Issued {
        certificate: Certificate,
        evaluation: Evaluation,
    },
    /// Refused by the plugin, or by the host whatever the plugin said.
    Refused {
        refusal: Refusal,
        evaluation: Evaluation,
        /// When the host refused (or replaced the plugin's message), why, for
        /// the municipality's record: never shown at the kiosk.
        host_reason: Option<String>,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum CertifyError {
    #[error(transparent)]
    Load(#[from] LoadError),
    #[error(transparent)]
    Evaluation(#[from] EvaluationError),
    #[error("the certificate could not be rendered: {0}")]
    Render(#[from] RenderError),
    /// The rendered PDF, read back, is not bound to its issuance: never
    /// delivered. Only a renderer fault gets here.
    #[error("the pre-delivery check rejected the document: {0}")]
    PreDeliveryCheck(InspectError),
    #[error(transparent)]
    Register(#[from] RegisterIndexError),
}

impl Certifier {
    pub fn new(limits: Limits, render: RenderOptions) -> Result<Certifier, CertifyError> {
        // The page limit is a plugin limit like the others: the same in
        // previews and in production.
        let render = RenderOptions { max_pages: limits.max_pages, ..render };
        Ok(Certifier { sandbox: Sandbox::new(limits)?, renderer: Renderer::with_options(render)? })
    }

    pub fn sandbox(&self) -> &Sandbox {
        &self.sandbox
    }

    pub fn renderer(&self) -> &Renderer {
        &self.renderer
    }

    /// [`Certifier::certify_with`] against a register of the subject's own
    /// household: what a local preview knows of the register.
    pub fn certify(&self, plugin: &Plugin, request: &Request, stamp: &Stamp) -> Result<Certified, CertifyError> {
        let register = RegisterIndex::build([request.subject.as_ref()])?;
        self.certify_with(plugin, request, stamp, &register)
    }

    /// Decide, evaluate, check and render. Any failure fails the whole
    /// request: there is no partial certificate. `register` is the
    /// municipality's register, whose data the document may hold only where
    /// the host handed it to this evaluation.
    pub fn certify_with(
        &self,
        plugin: &Plugin,
        request: &Request,
        stamp: &Stamp,
        register: &RegisterIndex,
    ) -> Result<Certified, CertifyError> {
        let subject = &request.subject;
        let access = plugin.manifest().field_access(&request.context.options);
        if let Some(refusal) = legal_refusal(subject, request.context.issue_date, &access) {
            let host_reason = Some(format!("the host refused before the plugin ran: {}", refusal.code.as_str()));
            let evaluation = Evaluation {
                outcome: Outcome::Refused(refusal.clone()),
                fields_read: Vec::new(),
                reads: Vec::new(),
                logs: Vec::new(),
                fuel_used: 0,
            };
            return Ok(Certified::Refused { refusal, evaluation, host_reason });
        }
        let evaluation = self.sandbox.evaluate(plugin, request)?;
        let document = match &evaluation.outcome {
            Outcome::Refused(refusal) => {
                let (refusal, host_reason) = binding::screen_refusal(refusal.clone(), register, subject);
                return Ok(Certified::Refused { refusal, evaluation, host_reason });
            }
            Outcome::Document(document) => document,
        };
        if let Err(violation) =
            binding::check_document(document, subject, &evaluation.reads, &request.context, register)
        {
            return Ok(host_refusal(violation, evaluation));
        }
        let document_hash = document.canonical_hash();
        let verification_code = verification_code(&stamp.issuance_number, &document_hash);
        let page_stamp = PageStamp {
            issuance_number: stamp.issuance_number.clone(),
            verification_code: verification_code.clone(),
            subject_name: subject.name.clone(),
            preview: stamp.preview,
        };
        let started = std::time::Instant::now();
        let page_limit = plugin.manifest().page_limit(self.sandbox.limits().max_pages);
        let rendered = match self.renderer.render_within(document, &page_stamp, page_limit) {
            Ok(rendered) => rendered,
            Err(err) => {
                let code = match &err {
                    RenderError::TooManyPages { .. } => kofu_model::RefusalCode::TooManyPages,
                    RenderError::UnprintableCharacter { .. } | RenderError::RowTooTall { .. } => {
                        kofu_model::RefusalCode::NotPrintable
                    }
                    _ => return Err(err.into()),
                };
                return Ok(host_refusal(Violation { code, detail: err.to_string() }, evaluation));
            }
        };
        let render_time = started.elapsed();
        let pages = kofu_render::check_stamps(&rendered.bytes, &page_stamp).map_err(CertifyError::PreDeliveryCheck)?;
        if pages != rendered.pages {
            return Err(CertifyError::PreDeliveryCheck(InspectError::Structure(format!(
                "the PDF has {pages} pages but the renderer reported {}",
                rendered.pages
            ))));
        }
        let certificate =
            Certificate { pdf: rendered.bytes, pages: rendered.pages, document_hash, verification_code, render_time };
        Ok(Certified::Issued { certificate, evaluation })
    }
}

fn host_refusal(violation: Violation, evaluation: Evaluation) -> Certified {
    Certified::Refused { refusal: Refusal::by_host(violation.code), evaluation, host_reason: Some(violation.detail) }
}
