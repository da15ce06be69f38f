//! Renders kofu's document model to a deterministic A4 PDF.
//!
//! Plugins describe a certificate as blocks ([`kofu_model::Document`]); this
//! crate lays them out on A4 pages with the embedded IPAex fonts, adds the
//! certification and official seal, stamps every page with the issuance
//! number, page number and verification code, and writes a PDF with font
//! subsets. The same document and stamp always give the same bytes.
//!
//! ```no_run
//! # fn demo(document: &kofu_model::Document) -> Result<(), kofu_render::RenderError> {
//! let renderer = kofu_render::Renderer::new()?; // once, at start-up
//! let stamp = kofu_render::PageStamp {
//!     issuance_number: "2025-000123".into(),
//!     verification_code: "7Q4K-M2XD-9PLT".into(),
//!     subject_name: "見本 太郎".into(),
//!     preview: false,
//! };
//! let pdf = renderer.render(document, &stamp)?;
//! # let _ = pdf.bytes; Ok(()) }
//! ```

mod canvas;
mod deflate;
mod error;
mod fonts;
mod inspect;
mod layout;
mod pdf;
mod seal;
mod sfnt;
mod stamp;
mod text;
mod wrap;

pub use error::RenderError;
pub use inspect::{InspectError, check_stamps, page_texts};
pub use stamp::{PREVIEW_MARKER, footer_text, subject_line};

/// How streams are written.
#[derive(Default, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compression {
    /// Streams as they are: fastest, largest.
    #[default]
    None,
    /// Content streams, font files and ToUnicode maps deflated at `level`
    /// (0 to 10; higher is smaller and slower).
    Flate { level: u8 },
}

#[derive(Clone, Copy, Debug)]
pub struct RenderOptions {
    pub compression: Compression,
    /// Most pages a document may take; past it, rendering stops with
    /// [`RenderError::TooManyPages`].
    pub max_pages: usize,
}

/// The page limit of certificates: a household form of a large household
/// with every option takes a handful of pages, not dozens.
pub const DEFAULT_MAX_PAGES: usize = 20;

impl Default for RenderOptions {
    fn default() -> RenderOptions {
        RenderOptions { compression: Compression::None, max_pages: DEFAULT_MAX_PAGES }
    }
}

/// What the host prints on every page besides the plugin's document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PageStamp {
    /// 発行番号, printed in every page's footer.
    pub issuance_number: String,
    /// 照合コード, with which a recipient verifies the certificate.
    pub verification_code: String,
    /// The name of the resident the certificate was issued to, printed in
    /// the footer band of every page: each page names its subject.
    pub subject_name: String,
    /// Marks every page as a preview that is no certificate.
    pub preview: bool,
}

/// A rendered certificate.
#[derive(Clone, Debug)]
pub struct RenderedPdf {
    pub bytes: Vec<u8>,
    pub pages: u32,
}

/// Renders documents. Build one at start-up and share it: the fonts are
/// parsed once, and rendering only reads them.
pub struct Renderer {
    fonts: fonts::Fonts,
    options: RenderOptions,
}

impl Renderer {
    /// A renderer with the embedded IPAex fonts and uncompressed output.
    pub fn new() -> Result<Renderer, RenderError> {
        Renderer::with_options(RenderOptions::default())
    }

    pub fn with_options(options: RenderOptions) -> Result<Renderer, RenderError> {
        Ok(Renderer { fonts: fonts::Fonts::embedded()?, options })
    }

    pub fn options(&self) -> RenderOptions {
        self.options
    }

    /// Lay out and write `document` as PDF. The document should have passed
    /// [`kofu_model::Document::validate`]; whatever it holds, failures are
    /// errors, never panics. A character the fonts cannot draw fails with
    /// [`RenderError::UnprintableCharacter`].
    pub fn render(&self, document: &kofu_model::Document, stamp: &PageStamp) -> Result<RenderedPdf, RenderError> {
        self.render_within(document, stamp, self.options.max_pages)
    }

    /// [`Renderer::render`] with a page limit of `max_pages`, at most the
    /// renderer's own (a plugin's declared maximum; see
    /// [`kofu_model::Manifest::page_limit`]). Within the limit, the bytes do
    /// not depend on it.
    pub fn render_within(
        &self,
        document: &kofu_model::Document,
        stamp: &PageStamp,
        max_pages: usize,
    ) -> Result<RenderedPdf, RenderError> {
        let mut layout = layout::Layout::new(&self.fonts, max_pages.min(self.options.max_pages));
        layout.document(document)?;
        // The footer needs the page count, known only once layout is done.
        let mut canvas = layout.canvas;
        stamp::stamp_pages(&mut canvas, &self.fonts, stamp)?;
        pdf::write(canvas, &self.fonts, self.options.compression, &stamp::file_id(stamp))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn renderer_is_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<super::Renderer>();
    }
}
