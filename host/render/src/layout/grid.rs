//! Bordered grids: key-value rows and tables. A row moves whole to the next
//! page when it does not fit, and a table repeats its header row there.

use std::ops::Range;

use kofu_model::{Align, Face, KeyValue, Table};

use super::{BLOCK_GAP, BOTTOM, EPSILON, LEFT, Layout, MM, TOP, WIDTH, aligned_x, baseline_offset};
use crate::RenderError;
use crate::canvas::{Color, Pen};
use crate::fonts::Fonts;
use crate::text::{Glyph, Place, shape};
use crate::wrap::{Line, wrap};

/// Tighter leading inside grid cells, where borders already separate rows.
const CELL_LEADING: f32 = 1.45;
const CELL_PAD_X: f32 = 2.0 * MM;
const CELL_PAD_Y: f32 = 1.2 * MM;
const BORDER: f32 = 0.6;
/// Share of the width given to the labels of a key-value grid.
const KEY_SHARE: f32 = 0.28;
const KEY_FILL: Color = Color::Gray(0.93);
const HEADER_FILL: Color = Color::Gray(0.87);
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

/// Where a cell sits in its row and how its text is set.
#[derive(Clone, Copy)]
struct Slot {
    x: f32,
    width: f32,
    face: Face,
    align: Align,
    fill: Option<Color>,
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

    /// Shape and wrap `text` into a new cell at `slot`.
    fn add_cell(&mut self, fonts: &Fonts, text: &str, slot: Slot, place: Place) -> Result<(), RenderError> {
        let Slot { x, width, face, align, fill } = slot;
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

/// A row never splits across pages (the WIT promises it), so a row taller
/// than a whole page, below a repeated header of `header_height`, cannot be
/// printed at all.
fn fits_a_page(row: &Row, header_height: f32, place: Place) -> Result<(), RenderError> {
    if row.height() > TOP - BOTTOM - header_height + EPSILON {
        return Err(RenderError::RowTooTall { place: place.to_string(), lines: row.line_count() });
    }
    Ok(())
}

/// All grid text is body size.
const CELL_SIZE: f32 = 10.5;

fn cell_line_height() -> f32 {
    CELL_SIZE * CELL_LEADING
}

fn row_height(lines: usize) -> f32 {
    lines as f32 * cell_line_height() + 2.0 * CELL_PAD_Y
}

impl Layout<'_> {
    pub(super) fn key_values(&mut self, rows: &[KeyValue], place: Place) -> Result<(), RenderError> {
        let key_width = (WIDTH * KEY_SHARE).round();
        let value_x = LEFT + key_width;
        let mut laid_out = Vec::with_capacity(rows.len());
        for entry in rows {
            let mut row = Row::default();
            let key = Slot { x: LEFT, width: key_width, face: Face::Gothic, align: Align::Left, fill: Some(KEY_FILL) };
            let value =
                Slot { x: value_x, width: WIDTH - key_width, face: Face::Mincho, align: Align::Left, fill: None };
            row.add_cell(self.fonts, &entry.key, key, place)?;
            row.add_cell(self.fonts, &entry.value, value, place)?;
            laid_out.push(row);
        }
        // A group is one person on a household certificate: keep it on one
        // page when it fits on one, so no page starts mid-person.
        let group_height: f32 = laid_out.iter().map(Row::height).sum();
        if group_height <= TOP - BOTTOM {
            self.ensure(group_height);
        }
        for row in &laid_out {
            fits_a_page(row, 0.0, place)?;
            self.place_row(row, None);
            if self.overflow {
                break;
            }
        }
        self.y -= BLOCK_GAP;
        Ok(())
    }

    pub(super) fn table(&mut self, table: &Table, place: Place) -> Result<(), RenderError> {
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
            let slot = Slot { x, width, face: Face::Gothic, align: Align::Center, fill: Some(HEADER_FILL) };
            header.add_cell(self.fonts, &column.header, slot, place)?;
        }

        let fonts = self.fonts;
        let mut row = Row::default();
        let fill_row = |row: &mut Row, cells: &[String]| -> Result<(), RenderError> {
            row.clear();
            for (i, column) in table.columns.iter().enumerate() {
                let (x, width) = column_x(i);
                let text = cells.get(i).map_or("", String::as_str);
                let slot = Slot { x, width, face: Face::Mincho, align: column.align, fill: None };
                row.add_cell(fonts, text, slot, place)?;
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
        fits_a_page(&header, 0.0, place)?;
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
            fits_a_page(&row, header.height(), place)?;
            self.place_row(&row, Some(&header));
            if self.overflow {
                break;
            }
        }
        self.y -= BLOCK_GAP;
        Ok(())
    }

    /// Place a grid row below `y`. A row moves whole to the next page when it
    /// does not fit; callers refuse rows taller than a page first
    /// (`fits_a_page`), so the split below is only a backstop.
    /// On every new page the table's header row is repeated first.
    fn place_row(&mut self, row: &Row, header: Option<&Row>) {
        let total = row.line_count();
        let line_height = cell_line_height();
        let header_height = header.map_or(0.0, Row::height);
        let lines_fitting = |space: f32| ((space - 2.0 * CELL_PAD_Y + EPSILON) / line_height).floor().max(0.0) as usize;
        let fresh_capacity = lines_fitting(TOP - BOTTOM - header_height);
        let mut first = 0;
        while first < total && !self.overflow {
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
                self.canvas.text(Pen::new(cell.face, CELL_SIZE, Color::Black), x, y, run);
            }
        }
        for cell in &row.cells {
            self.canvas.stroke_rect(cell.x, bottom, cell.width, height, BORDER, Color::Black);
        }
        self.y = bottom;
    }
}
