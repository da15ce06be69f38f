//! The end of a certificate: the certification sentence, the date, the
//! certifier's title and name, and the official seal stamped over the name.

use kofu_model::{Align, Document, Face, TextSize};

use super::{LEADING, LEFT, Layout, LineStyle, MM, RIGHT, WIDTH};
use crate::RenderError;
use crate::seal;
use crate::text::{Glyph, Place, shape};
use crate::wrap::{Line, wrap};

/// How far the official seal overlaps the end of the name line.
const SEAL_OVERLAP: f32 = 7.0 * MM;

/// A text shaped and broken into lines.
#[derive(Default)]
struct Wrapped {
    glyphs: Vec<Glyph>,
    lines: Vec<Line>,
}

impl Layout<'_> {
    /// The certification sentence, date, certifier and official seal, kept
    /// together at the end of the last page.
    pub(super) fn closing(&mut self, document: &Document) -> Result<(), RenderError> {
        let fonts = self.fonts;
        let body = TextSize::Normal.points();
        let large = TextSize::Large.points();
        let mincho = fonts.get(Face::Mincho);

        let mut certification = Wrapped::default();
        shape(mincho, &document.certification, Place::Certification, &mut certification.glyphs)?;
        wrap(&certification.glyphs, 0, WIDTH / mincho.scale(body), &mut certification.lines);

        let signature = &document.signature;
        let mut date = Wrapped::default();
        shape(mincho, &signature.date_line, Place::Signature, &mut date.glyphs)?;
        let name_right = RIGHT - seal::OFFICIAL_SIDE + SEAL_OVERLAP;
        wrap(&date.glyphs, 0, (name_right - LEFT) / mincho.scale(body), &mut date.lines);

        // Title and name on one line, parted by a full-width space as on a
        // printed certificate.
        let mut name = Wrapped::default();
        shape(mincho, &signature.title, Place::Signature, &mut name.glyphs)?;
        shape(mincho, "\u{3000}", Place::Signature, &mut name.glyphs)?;
        shape(mincho, &signature.name, Place::Signature, &mut name.glyphs)?;
        wrap(&name.glyphs, 0, (name_right - LEFT) / mincho.scale(large), &mut name.lines);

        let mut seal_text = Vec::new();
        shape(mincho, &signature.seal, Place::Signature, &mut seal_text)?;
        seal_text.retain(|g| !g.is_break());

        let body_line = body * LEADING;
        let large_line = large * LEADING;
        let gap_before = 5.0 * MM;
        let gap_after_text = 6.0 * MM;
        let seal_below = (seal::OFFICIAL_SIDE - large_line).max(0.0) / 2.0;
        // The seal reaches as far above the name line as below it: keep the
        // date line clear of it.
        let gap_after_date = seal_below + 1.5 * MM;
        let signature_height = gap_after_text
            + date.lines.len() as f32 * body_line
            + gap_after_date
            + name.lines.len() as f32 * large_line
            + seal_below;
        let text_height = certification.lines.len() as f32 * body_line;

        self.ensure(gap_before + text_height + signature_height);
        if !self.is_fresh() {
            self.y -= gap_before;
        }
        let set = |size, align| LineStyle { face: Face::Mincho, size, align, leading: LEADING };
        self.draw_lines(&certification.glyphs, &certification.lines, set(body, Align::Left), LEFT, WIDTH);
        self.ensure(signature_height);
        self.y -= gap_after_text;
        self.draw_lines(&date.glyphs, &date.lines, set(body, Align::Right), LEFT, name_right - LEFT);
        self.y -= gap_after_date;
        self.draw_lines(&name.glyphs, &name.lines, set(large, Align::Right), LEFT, name_right - LEFT);
        // Stamped over the end of the name, centred on its last line.
        let seal_y = self.y + large_line / 2.0;
        let seal_x = name_right - SEAL_OVERLAP + seal::OFFICIAL_SIDE / 2.0;
        seal::draw_official(&mut self.canvas, fonts, seal_x, seal_y, &seal_text);
        self.y -= seal_below;
        Ok(())
    }
}
