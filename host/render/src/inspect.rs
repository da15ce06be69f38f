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
use crate::stamp::{BAND_TOP, footer_text, subject_line};

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

    #[error("page {page} of {pages} does not name its subject: the line \"{line}\" is missing from its footer band")]
    SubjectLineMissing { page: u32, pages: u32, line: String },

    /// The band at the foot of the page belongs to the host's stamp alone.
    #[error("page {page} of {pages} has text in its footer band besides its stamp: \"{text}\"")]
    TextInFooterBand { page: u32, pages: u32, text: String },

    /// Text in the body imitates the host's stamp.
    #[error("page {page} of {pages} has text in the body that imitates the page stamp: {what}")]
    StampImitation { page: u32, pages: u32, what: String },

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
    Ok(read_pages(pdf)?.into_iter().map(|page| page.text).collect())
}

fn read_pages(pdf: &[u8]) -> Result<Vec<content::PageText>, InspectError> {
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

/// Checks that page i of N is bound to the issuance `expected` describes,
/// N being the page count of the PDF's own page tree, and returns N for the
/// caller to compare with the count the renderer reported:
///
/// - the footer band at the foot of the page ([`BAND_TOP`]) holds exactly
///   two texts, the footer with `expected`'s issuance number, "i / N" and
///   verification code, and the subject line naming `expected`'s subject —
///   nothing else;
/// - no text above the band imitates the stamp
///   ([`kofu_model::text::stamp_like_in`] over the body's texts, so a stamp
///   split over several texts is found).
///
/// Each footer text is compared whole, with all white space removed on both
/// sides (U+3000 included): matching anywhere would accept a prefix of a
/// longer number or code, and pieces found apart could come from different
/// places on the page.
pub fn check_stamps(pdf: &[u8], expected: &PageStamp) -> Result<u32, InspectError> {
    let number = squash(&expected.issuance_number);
    if number.is_empty() {
        return Err(InspectError::NothingExpected { what: "issuance number" });
    }
    let code = squash(&expected.verification_code);
    if code.is_empty() {
        return Err(InspectError::NothingExpected { what: "verification code" });
    }
    let subject = squash(&subject_line(expected));
    let texts = read_pages(pdf)?;
    if texts.is_empty() {
        return Err(InspectError::NoPages);
    }
    let pages = u32::try_from(texts.len()).map_err(|_| InspectError::PageTree("it has too many pages".into()))?;
    // The footer exactly as the renderer prints it, from the same function.
    let stamp = PageStamp { issuance_number: number.clone(), verification_code: code.clone(), ..expected.clone() };
    let mut body: Vec<&str> = Vec::new();
    for (index, page_text) in texts.iter().enumerate() {
        let page = page_number(index);
        let footer = squash(&footer_text(&stamp, index + 1, texts.len()));
        let (mut footers, mut subjects) = (0, 0);
        let mut extra: Option<&str> = None;
        body.clear();
        for run in &page_text.runs {
            let text = page_text.text.get(run.range.clone()).unwrap_or_default();
            if run.y_min >= BAND_TOP {
                body.push(text);
                continue;
            }
            let squashed = squash(text);
            if run.y_max < BAND_TOP && squashed == footer && footers == 0 {
                footers += 1;
            } else if run.y_max < BAND_TOP && squashed == subject && subjects == 0 {
                subjects += 1;
            } else if !(squashed.is_empty() && run.y_max < BAND_TOP) {
                extra = extra.or(Some(text));
            }
        }
        if footers == 0 {
            // Name the piece that is missing, for the log.
            let text = squash(&page_text.text);
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
        if subjects == 0 {
            return Err(InspectError::SubjectLineMissing { page, pages, line: subject_line(expected) });
        }
        if let Some(text) = extra {
            return Err(InspectError::TextInFooterBand { page, pages, text: excerpt(text) });
        }
        if let Some(what) = kofu_model::text::stamp_like_in(body.iter().copied()) {
            return Err(InspectError::StampImitation { page, pages, what: what.to_string() });
        }
    }
    Ok(pages)
}

/// Untrusted page text for an error message: escaped, at most 80 characters.
fn excerpt(text: &str) -> String {
    let shown = kofu_model::text::shown(text.trim());
    match shown.char_indices().nth(80) {
        Some((cut, _)) => format!("{}…", &shown[..cut]),
        None => shown,
    }
}

fn page_number(index: usize) -> u32 {
    u32::try_from(index).map_or(u32::MAX, |index| index.saturating_add(1))
}

/// `text` without any white space.
fn squash(text: &str) -> String {
    text.chars().filter(|c| !c.is_whitespace()).collect()
}
