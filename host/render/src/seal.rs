//! Seals: the registered seal impression (印影) drawn as a red circle, and the
//! municipality's official seal (公印) drawn as a red square. Seal text reads
//! in vertical columns, top to bottom, the first column on the right, as it
//! does on a real seal.

use kofu_model::Face;

use crate::canvas::{Canvas, Color};
use crate::fonts::Fonts;
use crate::text::Glyph;

/// Diameter of a registered seal impression.
pub(crate) const IMPRESSION_DIAMETER: f32 = 22.0 * crate::layout::MM;
/// Side of the official seal.
pub(crate) const OFFICIAL_SIDE: f32 = 18.0 * crate::layout::MM;

/// Columns and rows for `count` characters in a round seal: up to three in
/// one column, more fill two or three columns.
fn impression_grid(count: usize) -> (usize, usize) {
    let columns = match count {
        0..=3 => 1,
        4..=6 => 2,
        _ => 3,
    };
    (columns, count.div_ceil(columns).max(1))
}

/// Columns and rows for a square seal: as square a grid as the count
/// allows, e.g. 見本市長之印 in three columns of two.
fn official_grid(count: usize) -> (usize, usize) {
    let columns = (1..=count.max(1)).find(|c| c * c >= count).unwrap_or(1);
    (columns, count.div_ceil(columns).max(1))
}

/// A registered seal impression centred on (cx, cy).
pub(crate) fn draw_impression(canvas: &mut Canvas, fonts: &Fonts, cx: f32, cy: f32, glyphs: &[Glyph]) {
    let radius = IMPRESSION_DIAMETER / 2.0;
    canvas.stroke_circle(cx, cy, radius, 1.4, Color::Red);
    canvas.stroke_circle(cx, cy, radius - 1.6, 0.5, Color::Red);
    // The characters fill the square inscribed in the inner ring.
    let inner = (radius - 2.5) * std::f32::consts::SQRT_2;
    draw_grid(canvas, fonts, cx, cy, inner, glyphs, impression_grid(glyphs.len()));
}

/// The official seal centred on (cx, cy).
pub(crate) fn draw_official(canvas: &mut Canvas, fonts: &Fonts, cx: f32, cy: f32, glyphs: &[Glyph]) {
    let side = OFFICIAL_SIDE;
    canvas.stroke_rect(cx - side / 2.0, cy - side / 2.0, side, side, 1.8, Color::Red);
    let inner = side - 4.0;
    draw_grid(canvas, fonts, cx, cy, inner, glyphs, official_grid(glyphs.len()));
}

/// Lay glyphs out in `grid` (columns, rows) within a square of side `inner`
/// centred on (cx, cy): column by column from the right, top to bottom. A
/// short last column is centred vertically.
fn draw_grid(
    canvas: &mut Canvas,
    fonts: &Fonts,
    cx: f32,
    cy: f32,
    inner: f32,
    glyphs: &[Glyph],
    (columns, rows): (usize, usize),
) {
    let font = fonts.get(Face::Mincho);
    let cell_width = inner / columns as f32;
    let cell_height = inner / rows as f32;
    // Characters fill their cells as carved seal characters do: as wide as
    // the column, stretched (never squashed) to the row height. A lone
    // character is kept from filling the whole seal.
    let size = (cell_width.min(cell_height) * 0.92).min(inner * 0.6);
    let stretch = (cell_height * 0.92 / size).clamp(1.0, 2.0);
    let em_middle = (f32::from(font.ascender) + f32::from(font.descender)) / 2.0 * font.scale(size) * stretch;
    for (column, chunk) in glyphs.chunks(rows).enumerate() {
        let x = cx + ((columns as f32 - 1.0) / 2.0 - column as f32) * cell_width;
        let top = cy + (chunk.len() as f32 - 1.0) / 2.0 * cell_height;
        for (row, glyph) in chunk.iter().enumerate() {
            let y = top - row as f32 * cell_height;
            let width = f32::from(glyph.advance) * font.scale(size);
            let glyph = std::slice::from_ref(glyph);
            canvas.text_scaled(Face::Mincho, size, x - width / 2.0, y - em_middle, glyph, Color::Red, stretch);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grids_hold_every_character() {
        for count in 1..=8 {
            let (c, r) = impression_grid(count);
            assert!(c * r >= count && r <= 3, "{count}: {c}x{r}");
            let (c, r) = official_grid(count);
            assert!(c * r >= count, "{count}: {c}x{r}");
        }
        assert_eq!(official_grid(6), (3, 2));
        assert_eq!(impression_grid(4), (2, 2));
    }
}
