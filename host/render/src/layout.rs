//! Page layout: the document's blocks flowed top to bottom over A4 pages,
//! then the certification and signature closing the last page.

use std::ops::Range;

use kofu_model::{Align, Block, Document, Face, KeyValue, Table, Text, TextSize};

use crate::RenderError;
use crate::canvas::{Canvas, Color};
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
/// Tighter leading inside grid cells, where borders already separate rows.
const CELL_LEADING: f32 = 1.45;
const CELL_PAD_X: f32 = 2.0 * MM;
const CELL_PAD_Y: f32 = 1.2 * MM;
const BORDER: f32 = 0.6;
/// Share of the width given to the labels of a key-value grid.
const KEY_SHARE: f32 = 0.28;
const KEY_FILL: Color = Color::Gray(0.93);
const HEADER_FILL: Color = Color::Gray(0.87);
/// Space after grids, rules and seals.
const BLOCK_GAP: f32 = 3.0 * MM;
/// How far the official seal overlaps the end of the name line.
const SEAL_OVERLAP: f32 = 7.0 * MM;

/// Rounding slack for comparisons of accumulated positions.
const EPSILON: f32 = 0.01;

/// Block kind names for error messages, as the model's validation uses them.
fn kind_name(block: &Block) -> &'static str {
    match block {
        Block::Heading(_) => "heading",
        Block::Paragraph(_) => "paragraph",
        Block::KeyValues(_) => "key-values",
        Block::Table(_) => "table",
        Block::Rule => "rule",
        Block::Spacing(_) => "spacing",
        Block::SealImpression(_) => "seal-impression",
        Block::PageBreak => "page-break",
    }
}

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

/// One cell of a grid row: where it sits and which of the row's lines it
/// shows.
struct Cell {
    x: f32,
    width: f32,
    face: Face,
    align: Align,
    fill: Option<Color>,
    lines: Range<usize>,
}

/// A row of a key-value grid or table, shaped and wrapped, ready to place.
/// Buffers are kept between rows to avoid allocating per row.
#[derive(Default)]
struct Row {
    glyphs: Vec<Glyph>,
    lines: Vec<Line>,
    cells: Vec<Cell>,
}

impl Row {
    fn clear(&mut self) {
        self.glyphs.clear();
        self.lines.clear();
        self.cells.clear();
    }

    #[allow(clippy::too_many_arguments)]
    fn add_cell(
        &mut self,
        fonts: &Fonts,
        text: &str,
        face: Face,
        align: Align,
        x: f32,
        width: f32,
        fill: Option<Color>,
        place: Place,
    ) -> Result<(), RenderError> {
        let font = fonts.get(face);
        let first_glyph = self.glyphs.len();
        shape(font, text, place, &mut self.glyphs)?;
        let first_line = self.lines.len();
        let max_units = (width - 2.0 * CELL_PAD_X).max(0.0) / font.scale(CELL_SIZE);
        wrap(&self.glyphs[first_glyph..], first_glyph, max_units, &mut self.lines);
        self.cells.push(Cell { x, width, face, align, fill, lines: first_line..self.lines.len() });
        Ok(())
    }

    fn line_count(&self) -> usize {
        self.cells.iter().map(|c| c.lines.len()).max().unwrap_or(0).max(1)
    }

    fn height(&self) -> f32 {
        row_height(self.line_count())
    }
}

/// All grid text is body size.
const CELL_SIZE: f32 = 10.5;

fn cell_line_height() -> f32 {
    CELL_SIZE * CELL_LEADING
}

fn row_height(lines: usize) -> f32 {
    lines as f32 * cell_line_height() + 2.0 * CELL_PAD_Y
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
}

impl<'f> Layout<'f> {
    pub fn new(fonts: &'f Fonts) -> Layout<'f> {
        let mut canvas = Canvas::new(fonts);
        canvas.new_page();
        Layout { fonts, canvas, y: TOP, fresh_y: TOP, glyphs: Vec::with_capacity(512), lines: Vec::new() }
    }

    /// Lay out the whole document, leaving the footers to the caller.
    pub fn document(&mut self, document: &Document) -> Result<(), RenderError> {
        self.title(&document.title)?;
        for (index, block) in document.blocks.iter().enumerate() {
            let place = Place::Block { number: index + 1, kind: kind_name(block) };
            self.block(block, place)?;
        }
        self.closing(document)
    }

    fn new_page(&mut self) {
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
        self.flow(title, Face::Gothic, size, Align::Center, 1.4, Place::Title)?;
        self.y -= 8.0 * MM;
        Ok(())
    }

    fn block(&mut self, block: &Block, place: Place) -> Result<(), RenderError> {
        match block {
            Block::Heading(text) => self.heading(text, place),
            Block::Paragraph(text) => {
                let size = text.size.points();
                self.flow(&text.content, text.face, size, text.align, LEADING, place)?;
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
                // the next block simply starts the next page.
                if self.y - space < BOTTOM {
                    self.new_page();
                } else {
                    self.y -= space;
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
        self.ensure(size * LEADING + 2.0 * CELL_SIZE * LEADING);
        self.flow(&text.content, text.face, size, text.align, LEADING, place)?;
        self.y -= 0.3 * size;
        Ok(())
    }

    /// Running text over the full width, line by line across pages.
    fn flow(
        &mut self,
        text: &str,
        face: Face,
        size: f32,
        align: Align,
        leading: f32,
        place: Place,
    ) -> Result<(), RenderError> {
        let mut glyphs = std::mem::take(&mut self.glyphs);
        let mut lines = std::mem::take(&mut self.lines);
        glyphs.clear();
        lines.clear();
        let result = shape(self.fonts.get(face), text, place, &mut glyphs);
        if result.is_ok() {
            wrap(&glyphs, 0, WIDTH / self.fonts.get(face).scale(size), &mut lines);
            self.draw_lines(&glyphs, &lines, face, size, align, leading, LEFT, WIDTH);
        }
        self.glyphs = glyphs;
        self.lines = lines;
        result
    }

    #[allow(clippy::too_many_arguments)]
    fn draw_lines(
        &mut self,
        glyphs: &[Glyph],
        lines: &[Line],
        face: Face,
        size: f32,
        align: Align,
        leading: f32,
        x: f32,
        width: f32,
    ) {
        let line_height = size * leading;
        let baseline = baseline_offset(self.fonts, face, size, line_height);
        let scale = self.fonts.get(face).scale(size);
        for line in lines {
            self.ensure(line_height);
            let line_x = aligned_x(x, width, line.units as f32 * scale, align);
            let run = glyphs.get(line.range()).unwrap_or_default();
            self.canvas.text(face, size, line_x, self.y - baseline, run, Color::Black);
            self.y -= line_height;
        }
    }

    fn key_values(&mut self, rows: &[KeyValue], place: Place) -> Result<(), RenderError> {
        let key_width = (WIDTH * KEY_SHARE).round();
        let mut row = Row::default();
        for entry in rows {
            row.clear();
            let fonts = self.fonts;
            row.add_cell(fonts, &entry.key, Face::Gothic, Align::Left, LEFT, key_width, Some(KEY_FILL), place)?;
            let value_x = LEFT + key_width;
            row.add_cell(fonts, &entry.value, Face::Mincho, Align::Left, value_x, WIDTH - key_width, None, place)?;
            self.place_row(&row, None);
        }
        self.y -= BLOCK_GAP;
        Ok(())
    }

    fn table(&mut self, table: &Table, place: Place) -> Result<(), RenderError> {
        if table.columns.is_empty() {
            return Ok(());
        }
        // A weight of 0 is refused by validation; here it counts as 1 so a
        // column never collapses to nothing.
        let weights = || table.columns.iter().map(|c| f32::from(c.weight.max(1)));
        let total: f32 = weights().sum();
        let mut edges = Vec::with_capacity(table.columns.len() + 1);
        let mut x = LEFT;
        edges.push(x);
        for weight in weights() {
            x += WIDTH * weight / total;
            edges.push(x);
        }
        let column_x = |i: usize| (edges[i], edges[i + 1] - edges[i]);

        let mut header = Row::default();
        for (i, column) in table.columns.iter().enumerate() {
            let (x, width) = column_x(i);
            header.add_cell(self.fonts, &column.header, Face::Gothic, Align::Center, x, width, Some(HEADER_FILL), place)?;
        }

        let fonts = self.fonts;
        let mut row = Row::default();
        let fill_row = |row: &mut Row, cells: &[String]| -> Result<(), RenderError> {
            row.clear();
            for (i, column) in table.columns.iter().enumerate() {
                let (x, width) = column_x(i);
                let text = cells.get(i).map_or("", String::as_str);
                row.add_cell(fonts, text, Face::Mincho, column.align, x, width, None, place)?;
            }
            Ok(())
        };

        // The header never ends a page on its own: it moves with the first row.
        let first_height = match table.rows.first() {
            Some(cells) => {
                fill_row(&mut row, cells)?;
                row.height()
            }
            None => 0.0,
        };
        self.ensure(header.height() + first_height);
        let was_fresh = self.is_fresh();
        self.place_row(&header, None);
        if was_fresh {
            self.fresh_y = self.y;
        }
        for (index, cells) in table.rows.iter().enumerate() {
            if index > 0 {
                fill_row(&mut row, cells)?;
            }
            self.place_row(&row, Some(&header));
        }
        self.y -= BLOCK_GAP;
        Ok(())
    }

    /// Place a grid row below `y`. A row moves whole to the next page when it
    /// does not fit; only a row taller than a page is split between lines.
    /// On every new page the table's header row is repeated first.
    fn place_row(&mut self, row: &Row, header: Option<&Row>) {
        let total = row.line_count();
        let line_height = cell_line_height();
        let header_height = header.map_or(0.0, Row::height);
        let lines_fitting = |space: f32| ((space - 2.0 * CELL_PAD_Y + EPSILON) / line_height).floor().max(0.0) as usize;
        let fresh_capacity = lines_fitting(TOP - BOTTOM - header_height);
        let mut first = 0;
        while first < total {
            let remaining = total - first;
            let available = lines_fitting(self.y - BOTTOM);
            if available >= remaining {
                self.draw_row_part(row, first, remaining);
                return;
            }
            if first == 0 && !self.is_fresh() && remaining <= fresh_capacity {
                self.page_break_with(header);
                continue;
            }
            // The row cannot fit whole anywhere: fill this page with as much
            // as fits (at least a line, so layout always progresses).
            let count = if available > 0 {
                available
            } else if self.is_fresh() {
                1
            } else {
                self.page_break_with(header);
                continue;
            };
            self.draw_row_part(row, first, count.min(remaining));
            first += count;
            if first < total {
                self.page_break_with(header);
            }
        }
    }

    fn page_break_with(&mut self, header: Option<&Row>) {
        self.new_page();
        if let Some(header) = header {
            self.place_row(header, None);
            self.fresh_y = self.y;
        }
    }

    /// Draw lines `first..first + count` of every cell of `row` as one band
    /// of the grid.
    fn draw_row_part(&mut self, row: &Row, first: usize, count: usize) {
        let line_height = cell_line_height();
        let height = row_height(count);
        let top = self.y;
        let bottom = top - height;
        for cell in &row.cells {
            if let Some(fill) = cell.fill {
                self.canvas.fill_rect(cell.x, bottom, cell.width, height, fill);
            }
        }
        for cell in &row.cells {
            let baseline = baseline_offset(self.fonts, cell.face, CELL_SIZE, line_height);
            let scale = self.fonts.get(cell.face).scale(CELL_SIZE);
            let lines = row.lines.get(cell.lines.clone()).unwrap_or_default();
            for (k, line) in lines.iter().skip(first).take(count).enumerate() {
                let line_width = line.units as f32 * scale;
                let inner = cell.width - 2.0 * CELL_PAD_X;
                let x = aligned_x(cell.x + CELL_PAD_X, inner, line_width, cell.align);
                let y = top - CELL_PAD_Y - k as f32 * line_height - baseline;
                let run = row.glyphs.get(line.range()).unwrap_or_default();
                self.canvas.text(cell.face, CELL_SIZE, x, y, run, Color::Black);
            }
        }
        for cell in &row.cells {
            self.canvas.stroke_rect(cell.x, bottom, cell.width, height, BORDER, Color::Black);
        }
        self.y = bottom;
    }

    /// The certification sentence, date, certifier and official seal, kept
    /// together at the end of the last page.
    fn closing(&mut self, document: &Document) -> Result<(), RenderError> {
        let fonts = self.fonts;
        let body = TextSize::Normal.points();
        let large = TextSize::Large.points();
        let mincho = fonts.get(Face::Mincho);

        let mut certification = Row::default();
        shape(mincho, &document.certification, Place::Certification, &mut certification.glyphs)?;
        wrap(&certification.glyphs, 0, WIDTH / mincho.scale(body), &mut certification.lines);

        let signature = &document.signature;
        let mut date = Row::default();
        shape(mincho, &signature.date_line, Place::Signature, &mut date.glyphs)?;
        let name_right = RIGHT - seal::OFFICIAL_SIDE + SEAL_OVERLAP;
        wrap(&date.glyphs, 0, (name_right - LEFT) / mincho.scale(body), &mut date.lines);

        // Title and name on one line, parted by a full-width space as on a
        // printed certificate.
        let mut name = Row::default();
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
        self.draw_lines(&certification.glyphs, &certification.lines, Face::Mincho, body, Align::Left, LEADING, LEFT, WIDTH);
        self.ensure(signature_height);
        self.y -= gap_after_text;
        self.draw_lines(&date.glyphs, &date.lines, Face::Mincho, body, Align::Right, LEADING, LEFT, name_right - LEFT);
        self.y -= gap_after_date;
        self.draw_lines(&name.glyphs, &name.lines, Face::Mincho, large, Align::Right, LEADING, LEFT, name_right - LEFT);
        // Stamped over the end of the name, centred on its last line.
        let seal_y = self.y + large_line / 2.0;
        let seal_x = name_right - SEAL_OVERLAP + seal::OFFICIAL_SIDE / 2.0;
        seal::draw_official(&mut self.canvas, fonts, seal_x, seal_y, &seal_text);
        self.y -= seal_below;
        Ok(())
    }
}
