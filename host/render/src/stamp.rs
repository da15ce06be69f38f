//! What the host adds to every page once the page count is known: the
//! footer that ties each page to its issuance, and the preview marker.

use kofu_model::{Face, TextSize};

use crate::canvas::{Canvas, Color, Pen};
use crate::fonts::Fonts;
use crate::layout::{LEFT, MM, PAGE_HEIGHT, RIGHT, WIDTH};
use crate::text::{Place, shape};
use crate::{PageStamp, RenderError};

/// Printed on every page of a preview, so it can never pass as a certificate.
pub const PREVIEW_MARKER: &str = "見本（プレビュー）— 証明書として使用できません";

const FOOTER_BASELINE: f32 = 12.0 * MM;
const SUBJECT_BASELINE: f32 = 16.0 * MM;

/// Top of the footer band, in points from the bottom of the page. The band
/// is the host's: it holds the footer and the subject line and nothing
/// else. Layout keeps every body line above the bottom margin (20 mm), so
/// no body baseline comes below this; the pre-delivery check fails a page
/// with any other text in the band.
pub const BAND_TOP: f32 = 19.0 * MM;
const MARKER_BASELINE: f32 = PAGE_HEIGHT - 13.0 * MM;
const MARKER_SIZE: f32 = 12.0;

/// The footer of page `n` of `total`, exactly as printed.
pub fn footer_text(stamp: &PageStamp, n: usize, total: usize) -> String {
    format!("発行番号 {}\u{3000}{n} / {total}\u{3000}照合コード {}", stamp.issuance_number, stamp.verification_code)
}

/// The subject line of every page, exactly as printed above the footer.
pub fn subject_line(stamp: &PageStamp) -> String {
    format!("請求者\u{3000}{}", stamp.subject_name)
}

pub(crate) fn stamp_pages(canvas: &mut Canvas, fonts: &Fonts, stamp: &PageStamp) -> Result<(), RenderError> {
    let total = canvas.page_count();
    let mut marker = Vec::new();
    if stamp.preview {
        shape(fonts.get(Face::Gothic), PREVIEW_MARKER, Place::PreviewMarker, &mut marker)?;
    }
    let mut subject = Vec::with_capacity(32);
    shape(fonts.get(Face::Gothic), &subject_line(stamp), Place::Footer, &mut subject)?;
    subject.retain(|g| !g.is_break());
    let mut footer = Vec::with_capacity(64);
    for index in 0..total {
        canvas.select_page(index);

        footer.clear();
        shape(fonts.get(Face::Gothic), &footer_text(stamp, index + 1, total), Place::Footer, &mut footer)?;
        footer.retain(|g| !g.is_break());
        band_line(canvas, &footer, FOOTER_BASELINE);
        band_line(canvas, &subject, SUBJECT_BASELINE);

        if stamp.preview {
            let width = canvas.width(Face::Gothic, MARKER_SIZE, &marker);
            let x = RIGHT - width;
            canvas.text(Pen::new(Face::Gothic, MARKER_SIZE, Color::Red), x, MARKER_BASELINE, &marker);
            let pad = 1.5 * MM;
            let bottom = MARKER_BASELINE - 0.12 * MARKER_SIZE - pad;
            canvas.stroke_rect(x - pad, bottom, width + 2.0 * pad, MARKER_SIZE + 2.0 * pad, 1.0, Color::Red);
        }
    }
    Ok(())
}

/// One centred line of the footer band. A long issuance number or name
/// shrinks its line rather than run off the page.
fn band_line(canvas: &mut Canvas, glyphs: &[crate::text::Glyph], baseline: f32) {
    let mut size = TextSize::Small.points();
    let width = canvas.width(Face::Gothic, size, glyphs);
    if width > WIDTH {
        size *= WIDTH / width;
    }
    let width = canvas.width(Face::Gothic, size, glyphs);
    canvas.text(Pen::new(Face::Gothic, size, Color::Black), LEFT + (WIDTH - width) / 2.0, baseline, glyphs);
}

/// The PDF file identifier: derived from the issuance number and the
/// verification code (which covers the document), never from the clock.
pub(crate) fn file_id(stamp: &PageStamp) -> [u8; 16] {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    hasher.update(b"kofu pdf file id v1\0");
    hasher.update(stamp.issuance_number.as_bytes());
    hasher.update(b"\0");
    hasher.update(stamp.verification_code.as_bytes());
    let digest = hasher.finalize();
    let mut id = [0u8; 16];
    id.copy_from_slice(&digest[..16]);
    id
}
