//! Seals: the registered seal impression (印影) drawn as a red circle, and the
//! municipality's official seal (公印) drawn as a red square. Seal text reads
//! in vertical columns, top to bottom, the first column on the right, as it
//! does on a real seal.

use kofu_model::Face;

use crate::canvas::{Canvas, Color, Pen};
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

/// Column lengths for a square seal, right to left: as many columns as a
/// square grid needs, the characters shared out as evenly as they go, the
/// longer columns first, and no character alone in a column beside longer
/// ones — 見本市長之印 as 見本|市長|之印, 千代田区長之印 as 千代田|区長|之印,
/// 津市長之印 as 津市長|之印.
fn official_columns(count: usize) -> Vec<usize> {
    let shared = |columns: usize| -> Vec<usize> {
        let (base, extra) = (count / columns, count % columns);
        (0..columns).map(|column| base + usize::from(column < extra)).filter(|&len| len > 0).collect()
    };
    let square = (1..=count.max(1)).find(|c| c * c >= count).unwrap_or(1);
    let lengths = shared(square);
    let lone = lengths.iter().min() == Some(&1) && lengths.iter().max() > Some(&1);
    if lone && square > 1 { shared(square - 1) } else { lengths }
}

/// A registered seal impression centred on (cx, cy).
pub(crate) fn draw_impression(canvas: &mut Canvas, fonts: &Fonts, cx: f32, cy: f32, glyphs: &[Glyph]) {
    let radius = IMPRESSION_DIAMETER / 2.0;
    canvas.stroke_circle(cx, cy, radius, 1.4, Color::Red);
    canvas.stroke_circle(cx, cy, radius - 1.6, 0.5, Color::Red);
    // The characters fill the square inscribed in the inner ring.
    let inner = (radius - 2.5) * std::f32::consts::SQRT_2;
    let (columns, rows) = impression_grid(glyphs.len());
    let lengths: Vec<usize> = glyphs.chunks(rows).map(<[Glyph]>::len).collect();
    let layout = Columns { lengths: &lengths, count: columns.max(lengths.len()), fill: Fill::Centred(rows) };
    draw_columns(canvas, fonts, Square { cx, cy, side: inner }, glyphs, layout);
}

/// The official seal centred on (cx, cy).
pub(crate) fn draw_official(canvas: &mut Canvas, fonts: &Fonts, cx: f32, cy: f32, glyphs: &[Glyph]) {
    let side = OFFICIAL_SIDE;
    canvas.stroke_rect(cx - side / 2.0, cy - side / 2.0, side, side, 1.8, Color::Red);
    let inner = side - 4.0;
    let lengths = official_columns(glyphs.len());
    let layout = Columns { lengths: &lengths, count: lengths.len(), fill: Fill::Height };
    draw_columns(canvas, fonts, Square { cx, cy, side: inner }, glyphs, layout);
}

/// How a column shorter than the longest is laid out.
#[derive(Clone, Copy)]
enum Fill {
    /// In cells of the grid's row height (`rows` to a column), centred
    /// vertically: the round impression.
    Centred(usize),
    /// Stretched over the whole height, as carved official seals are.
    Height,
}

/// The square seal text fills: side `side`, centred on (cx, cy).
#[derive(Clone, Copy)]
struct Square {
    cx: f32,
    cy: f32,
    side: f32,
}

/// How seal text is split into columns.
struct Columns<'a> {
    /// Characters per column, right to left.
    lengths: &'a [usize],
    /// Columns of the grid (at least as many as `lengths`).
    count: usize,
    fill: Fill,
}

/// Lay glyphs out in `layout`'s columns within `square`: column by column
/// from the right, top to bottom. Every glyph's box stays inside the square.
fn draw_columns(canvas: &mut Canvas, fonts: &Fonts, square: Square, glyphs: &[Glyph], layout: Columns<'_>) {
    let Square { cx, cy, side: inner } = square;
    let Columns { lengths, count: columns, fill } = layout;
    let font = fonts.get(Face::Mincho);
    let columns = columns.max(1);
    let longest = lengths.iter().copied().max().unwrap_or(1).max(1);
    let grid_rows = match fill {
        Fill::Centred(rows) => rows.max(1),
        Fill::Height => longest,
    };
    let cell_width = inner / columns as f32;
    // One size for every character, as wide as the narrowest cell allows;
    // a lone character is kept from filling the whole seal.
    let size = (cell_width.min(inner / grid_rows as f32) * 0.92).min(inner * 0.6);
    let em = (f32::from(font.ascender) - f32::from(font.descender)) * font.scale(size);
    let mut rest = glyphs;
    for (column, &len) in lengths.iter().enumerate() {
        let (chunk, after) = rest.split_at(len.min(rest.len()));
        rest = after;
        let rows = match fill {
            Fill::Centred(_) => grid_rows,
            Fill::Height => chunk.len().max(1),
        };
        let cell_height = inner / rows as f32;
        // Characters are stretched (never squashed) to their cell's height,
        // at most to twice their width.
        let stretch = (cell_height * 0.92 / em).clamp(1.0, 2.0);
        let em_middle = (f32::from(font.ascender) + f32::from(font.descender)) / 2.0 * font.scale(size) * stretch;
        let x = cx + ((columns as f32 - 1.0) / 2.0 - column as f32) * cell_width;
        let top = cy + (chunk.len() as f32 - 1.0) / 2.0 * cell_height;
        for (row, glyph) in chunk.iter().enumerate() {
            let y = top - row as f32 * cell_height;
            let width = f32::from(glyph.advance) * font.scale(size);
            let glyph = std::slice::from_ref(glyph);
            let pen = Pen { stretch, ..Pen::new(Face::Mincho, size, Color::Red) };
            canvas.text(pen, x - width / 2.0, y - em_middle, glyph);
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
        }
        for count in 1..=16 {
            let columns = official_columns(count);
            assert_eq!(columns.iter().sum::<usize>(), count, "{count}: {columns:?}");
            let (long, short) = (columns.iter().max().unwrap(), columns.iter().min().unwrap());
            assert!(long - short <= 1 && columns.windows(2).all(|w| w[0] >= w[1]), "{count}: {columns:?}");
        }
        assert_eq!(official_columns(6), [2, 2, 2]);
        assert_eq!(official_columns(7), [3, 2, 2]);
        assert_eq!(official_columns(5), [3, 2]);
        assert_eq!(official_columns(3), [3]);
        assert_eq!(impression_grid(4), (2, 2));
    }
}
