//! One certificate from one request: evaluate the municipality's plugin in a
//! fresh sandbox, then render the document with every page stamped with the
//! issuance number, "n / N" and a verification code. Local previews and the
//! server go through this same path, so a preview is what production prints.

mod verification;

use kofu_model::Refusal;
use kofu_render::{PageStamp, RenderError, RenderOptions, Renderer};
use kofu_sandbox::{Evaluation, EvaluationError, Limits, LoadError, Outcome, Plugin, Request, Sandbox};

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

/// A rendered certificate.
#[derive(Debug, Clone)]
pub struct Certificate {
    pub pdf: Vec<u8>,
    pub pages: u32,
    /// SHA-256 of the document model the plugin returned.
    pub document_hash: [u8; 32],
    pub verification_code: String,
    /// Time spent rendering the PDF.
    pub render_time: std::time::Duration,
}

/// What a request came to.
#[derive(Debug, Clone)]
pub enum Certified {
    Issued { certificate: Certificate, evaluation: Evaluation },
    Refused { refusal: Refusal, evaluation: Evaluation },
}

#[derive(Debug, thiserror::Error)]
pub enum CertifyError {
    #[error(transparent)]
    Load(#[from] LoadError),
    #[error(transparent)]
    Evaluation(#[from] EvaluationError),
    #[error("the certificate could not be rendered: {0}")]
    Render(#[from] RenderError),
}

impl Certifier {
    pub fn new(limits: Limits, render: RenderOptions) -> Result<Certifier, CertifyError> {
        Ok(Certifier { sandbox: Sandbox::new(limits)?, renderer: Renderer::with_options(render)? })
    }

    pub fn sandbox(&self) -> &Sandbox {
        &self.sandbox
    }

    pub fn renderer(&self) -> &Renderer {
        &self.renderer
    }

    /// Evaluate and render. Any failure fails the whole request: there is no
    /// partial certificate.
    pub fn certify(&self, plugin: &Plugin, request: &Request, stamp: &Stamp) -> Result<Certified, CertifyError> {
        let evaluation = self.sandbox.evaluate(plugin, request)?;
        let document = match &evaluation.outcome {
            Outcome::Refused(refusal) => {
                let refusal = refusal.clone();
                return Ok(Certified::Refused { refusal, evaluation });
            }
            Outcome::Document(document) => document,
        };
        let document_hash = document.canonical_hash();
        let verification_code = verification_code(&stamp.issuance_number, &document_hash);
        let page_stamp = PageStamp {
            issuance_number: stamp.issuance_number.clone(),
            verification_code: verification_code.clone(),
            preview: stamp.preview,
        };
        let started = std::time::Instant::now();
        let rendered = self.renderer.render(document, &page_stamp)?;
        let render_time = started.elapsed();
        let certificate =
            Certificate { pdf: rendered.bytes, pages: rendered.pages, document_hash, verification_code, render_time };
        Ok(Certified::Issued { certificate, evaluation })
    }
}
