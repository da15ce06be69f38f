//! A PDF's pages as PNG images for a page (`data:` URLs), drawn from the
//! PDF's own bytes by a rasterizer written in Rust (hayro), so what the
//! console shows is the document itself, not a second rendering of its
//! layout. The host's PDFs embed their fonts, so no font is looked up.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hayro::hayro_interpret::InterpreterSettings;
use hayro::hayro_syntax::Pdf;
use hayro::vello_cpu::color::palette::css::WHITE;
use hayro::{PixmapSettings, RenderCache, RenderSettings};

/// At most this many pages are drawn: a certificate has one or two, and the
/// page shows the rest as a count.
pub const MAX_PAGES: usize = 6;

/// Pixels per PDF point: 1.25 draws an A4 page 744 pixels wide, legible on
/// a screen beside another.
const SCALE: f32 = 1.25;

/// The pages as `data:image/png` URLs, drawn off the async runtime.
pub async fn page_images(pdf: Vec<u8>) -> Result<Vec<String>, String> {
    tokio::task::spawn_blocking(move || draw(pdf)).await.map_err(|e| format!("the page drawing task failed: {e}"))?
}

fn draw(pdf: Vec<u8>) -> Result<Vec<String>, String> {
    Ok(page_pngs(&pdf, MAX_PAGES)?
        .iter()
        .map(|png| format!("data:image/png;base64,{}", STANDARD.encode(png)))
        .collect())
}

/// The first `max_pages` pages of `pdf` as PNG files; the same drawing the
/// console shows, and what `kofu plugin test` snapshots and `watch` writes.
pub fn page_pngs(pdf: &[u8], max_pages: usize) -> Result<Vec<Vec<u8>>, String> {
    let pdf = Pdf::new(pdf.to_vec()).map_err(|e| format!("the PDF cannot be read: {e:?}"))?;
    let cache = RenderCache::new();
    let interpreter = InterpreterSettings::default();
    let render = RenderSettings::default();
    let pixmap = PixmapSettings { x_scale: SCALE, y_scale: SCALE, bg_color: WHITE };
    pdf.pages()
        .iter()
        .take(max_pages)
        .map(|page| {
            hayro::render(page, &cache, &interpreter, &render, &pixmap)
                .into_png()
                .map_err(|e| format!("a page cannot be encoded as PNG: {e}"))
        })
        .collect()
}
