//! Page layout: the document's blocks flowed top to bottom over A4 pages,
//! then the certification and signature closing the last page.

mod closing;
mod grid;

use kofu_model::{Align, Block, Document, Face, Text, TextSize};

use crate::RenderError;
use crate::canvas::{Canvas, Color, Pen};
use crate::fonts::Fonts;
use crate::seal;
use crate::text::{Glyph, Place, shape};
use crate::wrap::{Line, wrap};

pub(crate) const MM: f32 = 72.0 / 25.4;
pub(crate) const PAGE_WIDTH: f32 = 595.276;
pub(crate) const PAGE_HEIGHT: f32 = 841.89;
pub(crate) const MARGIN: f32 = 20.0 * MM;
pub(crate) const LEFT: f32 = MARGIN;
pub(crate) const RIGHT: f32 = PAGE_WIDTH - MARGIN;
pub(crate) const WIDTH: f32 = RIGHT - LEFT;
const TOP: f32 = PAGE_HEIGHT - MARGIN;
const BOTTOM: f32 = MARGIN;

/// Line height as a multiple of the text size. Japanese body text reads
/// best with generous leading.
const LEADING: f32 = 1.6;
/// Space after grids, rules and seals.
const BLOCK_GAP: f32 = 3.0 * MM;

/// Rounding slack for comparisons of accumulated positions.
const EPSILON: f32 = 0.01;

/// Offset of the baseline below the top of a line box of height `leading`,
/// with the em box centred in it.
fn baseline_offset(fonts: &Fonts, face: Face, size: f32, leading: f32) -> f32 {
    let font = fonts.get(face);
    let scale = font.scale(size);
    let ascent = f32::from(font.ascender) * scale;
    let em = (f32::from(font.ascender) - f32::from(font.descender)) * scale;
    (leading - em) / 2.0 + ascent
}

fn aligned_x(x: f32, width: f32, line_width: f32, align: Align) -> f32 {
    match align {
        Align::Left => x,
        Align::Center => x + (width - line_width) / 2.0,
        Align::Right => x + width - line_width,
    }
}

/// How running lines are set: face, size, alignment and leading (line
/// height as a multiple of the size).
#[derive(Clone, Copy)]
struct LineStyle {
    face: Face,
    size: f32,
    align: Align,
    leading: f32,
}

pub(crate) struct Layout<'f> {
    fonts: &'f Fonts,
    pub canvas: Canvas<'f>,
    /// Top of the free space on the current page.
    y: f32,
    /// While `y` is at or above this, the page holds nothing that moving to
    /// a new page would leave behind (at most a repeated table header).
    fresh_y: f32,
    /// Scratch buffers for running text.
    glyphs: Vec<Glyph>,
    lines: Vec<Line>,
    /// Most pages the document may take.
    max_pages: usize,
    /// Set once a page past `max_pages` was started: layout stops early,
    /// so a page bomb costs no more than the limit's worth of pages.
    overflow: bool,
}

impl<'f> Layout<'f> {
    pub fn new(fonts: &'f Fonts, max_pages: usize) -> Layout<'f> {
        let mut canvas = Canvas::new(fonts);
        canvas.new_page();
        Layout {
            fonts,
            canvas,
            y: TOP,
            fresh_y: TOP,
            glyphs: Vec::with_capacity(512),
            lines: Vec::new(),
            max_pages: max_pages.max(1),
            overflow: false,
        }
    }

    /// Lay out the whole document, leaving the footers to the caller.
    pub fn document(&mut self, document: &Document) -> Result<(), RenderError> {
        let too_many = |layout: &Layout<'_>| RenderError::TooManyPages { limit: layout.max_pages };
        self.title(&document.title)?;
        for (index, block) in document.blocks.iter().enumerate() {
            let place = Place::Block { number: index + 1, kind: block.kind_name() };
            self.block(block, place)?;
            if self.overflow {
                return Err(too_many(self));
            }
        }
        self.closing(document)?;
        if self.overflow {
            return Err(too_many(self));
        }
        Ok(())
    }

    fn new_page(&mut self) {
        if self.canvas.page_count() >= self.max_pages {
            self.overflow = true;
        }
        self.canvas.new_page();
        self.y = TOP;
        self.fresh_y = TOP;
    }

    fn is_fresh(&self) -> bool {
        self.y >= self.fresh_y - EPSILON
    }

    /// Move to a new page unless `height` fits below `y` or the page is empty
    /// (then the content overflows rather than loop over blank pages).
    fn ensure(&mut self, height: f32) {
        if self.y - height < BOTTOM - EPSILON && !self.is_fresh() {
            self.new_page();
        }
    }

    fn title(&mut self, title: &str) -> Result<(), RenderError> {
        let size = TextSize::Title.points();
        self.flow(title, LineStyle { face: Face::Gothic, size, align: Align::Center, leading: 1.4 }, Place::Title)?;
        self.y -= 8.0 * MM;
        Ok(())
    }

    fn block(&mut self, block: &Block, place: Place) -> Result<(), RenderError> {
        match block {
            Block::Heading(text) => self.heading(text, place),
            Block::Paragraph(text) => {
                let size = text.size.points();
                self.flow(
                    &text.content,
                    LineStyle { face: text.face, size, align: text.align, leading: LEADING },
                    place,
                )?;
                self.y -= 0.5 * size;
                Ok(())
            }
            Block::KeyValues(rows) => self.key_values(rows, place),
            Block::Table(table) => self.table(table, place),
            Block::Rule => {
                self.ensure(4.0 * MM);
                self.y -= 2.0 * MM;
                self.canvas.line(LEFT, self.y, RIGHT, self.y, 0.5, Color::Black);
                self.y -= 2.0 * MM;
                Ok(())
            }
            Block::Spacing(mm) => {
                let space = f32::from(*mm) * MM;
                // Space that runs past the page bottom is not carried over:
                // the next block simply starts the next page. On an empty
                // page it is dropped, so spacing never makes a blank page.
                if self.y - space >= BOTTOM {
                    self.y -= space;
                } else if !self.is_fresh() {
                    self.new_page();
                }
                Ok(())
            }
            Block::SealImpression(chars) => {
                let mut glyphs = std::mem::take(&mut self.glyphs);
                glyphs.clear();
                let result = shape(self.fonts.get(Face::Mincho), chars, place, &mut glyphs);
                if result.is_ok() {
                    glyphs.retain(|g| !g.is_break());
                    let diameter = seal::IMPRESSION_DIAMETER;
                    self.ensure(diameter + 4.0 * MM);
                    self.y -= 2.0 * MM;
                    let cy = self.y - diameter / 2.0;
                    seal::draw_impression(&mut self.canvas, self.fonts, LEFT + WIDTH / 2.0, cy, &glyphs);
                    self.y -= diameter + BLOCK_GAP;
                }
                self.glyphs = glyphs;
                result
            }
            Block::PageBreak => {
                if !self.is_fresh() {
                    self.new_page();
                }
                Ok(())
            }
        }
    }

    fn heading(&mut self, text: &Text, place: Place) -> Result<(), RenderError> {
        let size = text.size.points();
        if !self.is_fresh() {
            self.y -= 0.6 * size;
        }
        // Keep a heading with at least two lines of what follows it.
        self.ensure(size * LEADING + 2.0 * TextSize::Normal.points() * LEADING);
        self.flow(&text.content, LineStyle { face: text.face, size, align: text.align, leading: LEADING }, place)?;
        self.y -= 0.3 * size;
        Ok(())
    }

    /// Running text over the full width, line by line across pages.
    fn flow(&mut self, text: &str, style: LineStyle, place: Place) -> Result<(), RenderError> {
        let LineStyle { face, size, .. } = style;
        let mut glyphs = std::mem::take(&mut self.glyphs);
        let mut lines = std::mem::take(&mut self.lines);
        glyphs.clear();
        lines.clear();
        let result = shape(self.fonts.get(face), text, place, &mut glyphs);
        if result.is_ok() {
            wrap(&glyphs, 0, WIDTH / self.fonts.get(face).scale(size), &mut lines);
            self.draw_lines(&glyphs, &lines, style, LEFT, WIDTH);
        }
        self.glyphs = glyphs;
        self.lines = lines;
        result
    }

    /// Lines of `glyphs` set in `style`, each aligned within the span of
    /// `width` from `x`, line by line across pages.
    fn draw_lines(&mut self, glyphs: &[Glyph], lines: &[Line], style: LineStyle, x: f32, width: f32) {
        let LineStyle { face, size, align, leading } = style;
        let line_height = size * leading;
        let baseline = baseline_offset(self.fonts, face, size, line_height);
        let scale = self.fonts.get(face).scale(size);
        for line in lines {
            if self.overflow {
                return;
            }
            self.ensure(line_height);
            let line_x = aligned_x(x, width, line.units as f32 * scale, align);
            let run = glyphs.get(line.range()).unwrap_or_default();
            self.canvas.text(Pen::new(face, size, Color::Black), line_x, self.y - baseline, run);
            self.y -= line_height;
        }
    }
}
