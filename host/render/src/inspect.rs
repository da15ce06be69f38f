//! The pre-delivery check: reads a rendered PDF back from its bytes, not
//! from the renderer's layout, and confirms that every page carries its
//! issuance's footer. A fault anywhere between layout and the bytes handed
//! to a kiosk (a page from another issuance, a truncated file, a renderer
//! bug) then stops the delivery.
//!
//! The reader understands the PDFs our renderer writes (classic xref table,
//! Type0 fonts with 2-byte codes and ToUnicode maps, uncompressed or Flate
//! streams) and nothing more: whatever else it meets is an error, never a
//! guess and never a panic. It reads the text operators of each page; it
//! does not render, so it cannot tell visible text from text drawn in white
//! or outside the page. Our renderer writes neither.

mod cmap;
mod content;
mod file;
mod lexer;
mod object;
mod pages;

use crate::PageStamp;
use crate::stamp::footer_text;

/// Why a PDF failed the check, in words for the operator who reads the logs.
#[derive(Debug, thiserror::Error)]
pub enum InspectError {
    #[error("the PDF is empty")]
    Empty,

    /// The bytes are not PDF syntax as our renderer writes it.
    #[error("the PDF could not be read at byte {offset}: {reason}")]
    Syntax { offset: usize, reason: String },

    /// The objects do not fit together as in a file our renderer wrote.
    #[error("the PDF is not built as our renderer builds it: {0}")]
    Structure(String),

    #[error("the PDF's page tree could not be read: {0}")]
    PageTree(String),

    #[error("the PDF has no pages")]
    NoPages,

    /// A page's content streams, fonts or ToUnicode maps could not be read.
    #[error("the text of page {page} could not be read: {reason}")]
    Page { page: u32, reason: String },

    #[error("page {page} of {pages} does not carry issuance number {number}")]
    IssuanceNumberMissing { page: u32, pages: u32, number: String },

    #[error("page {page} of {pages} does not carry its page number \"{page} / {pages}\"")]
    PageNumberMissing { page: u32, pages: u32 },

    #[error("page {page} of {pages} does not carry verification code {code}")]
    VerificationCodeMissing { page: u32, pages: u32, code: String },

    /// Every piece is on the page, but not as the footer, one text of its own.
    #[error("page {page} of {pages} does not carry its footer \"{footer}\" as a text of its own")]
    FooterMissing { page: u32, pages: u32, footer: String },

    /// The caller passed an empty issuance number or code, which any page
    /// would "carry".
    #[error("nothing to check against: the expected {what} is empty")]
    NothingExpected { what: &'static str },
}

/// The text of each page, in page-tree order, decoded through each font's
/// ToUnicode map. Text objects end in a line break; moves within one give
/// a space. Marked-content /ActualText is ignored: this is the text the
/// glyphs themselves stand for.
pub fn page_texts(pdf: &[u8]) -> Result<Vec<String>, InspectError> {
    let document = file::Document::parse(pdf)?;
    let pages = pages::pages(&document).map_err(InspectError::PageTree)?;
    let mut fonts = content::Fonts::default();
    let mut texts = Vec::with_capacity(pages.len());
    for (index, page) in pages.iter().enumerate() {
        let text = content::page_text(&document, page, &mut fonts)
            .map_err(|reason| InspectError::Page { page: page_number(index), reason })?;
        texts.push(text);
    }
    Ok(texts)
}

/// Checks that page i of N carries the footer of `issuance_number` with
/// "i / N" and `verification_code`, N being the page count of the PDF's own
/// page tree. Returns the page count, which the caller compares with the
/// count the renderer reported.
///
/// The footer must be one text object of its own, compared with all white
/// space removed on both sides (U+3000 included): matching anywhere in the
/// page's text would accept a prefix of a longer number or code, and pieces
/// found apart could come from different places on the page.
pub fn check_stamps(pdf: &[u8], issuance_number: &str, verification_code: &str) -> Result<u32, InspectError> {
    let number = squash(issuance_number);
    if number.is_empty() {
        return Err(InspectError::NothingExpected { what: "issuance number" });
    }
    let code = squash(verification_code);
    if code.is_empty() {
        return Err(InspectError::NothingExpected { what: "verification code" });
    }
    let texts = page_texts(pdf)?;
    if texts.is_empty() {
        return Err(InspectError::NoPages);
    }
    let pages = u32::try_from(texts.len()).map_err(|_| InspectError::PageTree("it has too many pages".into()))?;
    // The footer exactly as the renderer prints it, from the same function.
    let stamp = PageStamp { issuance_number: number.clone(), verification_code: code.clone(), preview: false };
    for (index, text) in texts.iter().enumerate() {
        let footer = squash(&footer_text(&stamp, index + 1, texts.len()));
        // page_texts ends every text object with a line break.
        if text.lines().any(|line| line.chars().filter(|c| !c.is_whitespace()).eq(footer.chars())) {
            continue;
        }
        // Name the piece that is missing, for the log.
        let page = page_number(index);
        let text = squash(text);
        return Err(if !text.contains(&format!("発行番号{number}")) {
            InspectError::IssuanceNumberMissing { page, pages, number }
        } else if !text.contains(&format!("{page}/{pages}")) {
            InspectError::PageNumberMissing { page, pages }
        } else if !text.contains(&format!("照合コード{code}")) {
            InspectError::VerificationCodeMissing { page, pages, code }
        } else {
            InspectError::FooterMissing { page, pages, footer: footer_text(&stamp, index + 1, texts.len()) }
        });
    }
    Ok(pages)
}

fn page_number(index: usize) -> u32 {
    u32::try_from(index).map_or(u32::MAX, |index| index.saturating_add(1))
}

/// `text` without any white space.
fn squash(text: &str) -> String {
    text.chars().filter(|c| !c.is_whitespace()).collect()
}
