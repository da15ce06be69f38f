//! Drawing onto pages: text runs, lines, boxes and circles, written straight
//! into each page's content stream. Glyphs get their subset ids (CIDs) here,
//! in order of first use, so no second pass over the text is needed.
//!
//! Each page's content starts by scaling its coordinates to hundredths of a
//! point, and every coordinate, font size and line width is then written as
//! a whole number of them. pdf-writer writes a whole number with integer
//! formatting but a fraction with the shortest round-trip float formatting,
//! which is a large share of the renderer's time; the whole numbers are
//! shorter to write and to read back too. A hundredth of a point
//! (3.5 µm) is far below a printer's dot (42 µm at 600 dpi).

use kofu_model::Face;
use pdf_writer::{Content, Name, Str, TextStr};

use crate::fonts::{Font, Fonts, face_index};
use crate::text::Glyph;

/// Colours used on a certificate.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Color {
    Black,
    /// Seal red (朱色), for seals and the preview marker.
    Red,
    /// A light grey for label cells.
    Gray(f32),
}

impl Color {
    fn rgb(self) -> [f32; 3] {
        match self {
            Color::Black => [0.0, 0.0, 0.0],
            Color::Red => [0.84, 0.11, 0.09],
            Color::Gray(level) => [level, level, level],
        }
    }
}

/// How a run of text is drawn: face, size, colour, and a vertical stretch
/// (1 for none; seal characters are stretched to fill their cells).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Pen {
    pub face: Face,
    pub size: f32,
    pub color: Color,
    pub stretch: f32,
}

impl Pen {
    /// An unstretched pen.
    pub fn new(face: Face, size: f32, color: Color) -> Pen {
        Pen { face, size, color, stretch: 1.0 }
    }
}

/// Content-stream units per point.
const UNITS_PER_POINT: f32 = 100.0;

/// `points` in content-stream units: a whole number, which pdf-writer
/// writes without a fraction. Page coordinates are far inside `i32`.
#[inline]
fn units(points: f32) -> f32 {
    (points * UNITS_PER_POINT).round()
}

/// Resource names of the two fonts on every page.
pub(crate) fn font_resource(face: Face) -> Name<'static> {
    match face {
        Face::Gothic => Name(b"G"),
        Face::Mincho => Name(b"M"),
    }
}

/// The glyphs of one face the document uses, in CID order: one CID per
/// character, so a glyph drawn for two characters appears twice. CID 0 is
/// .notdef, as in the subset the subsetter builds from this list.
pub(crate) struct UsedGlyphs {
    /// Full-font glyph id to the CID of the first character drawn with it;
    /// 0 while unused. Allocated on first use so that a face the document
    /// never uses costs nothing.
    cid_of: Vec<u16>,
    /// `(glyph, character, CID)` for each further character drawn with an
    /// already used glyph (IPAex Gothic draws U+2010–U+2012 with the glyph
    /// of `-`): a CID of its own, since the ToUnicode map gives each CID one
    /// character, and the footers are checked by reading their text back.
    aliases: Vec<(u16, char, u16)>,
    /// Full-font glyph id of each CID.
    pub glyphs: Vec<u16>,
    /// The character each CID stands for, for the ToUnicode map.
    pub chars: Vec<char>,
    /// Advance of each CID in font units, for the widths array.
    pub advances: Vec<u16>,
}

/// Room for the distinct glyphs a one-page certificate uses in one face:
/// the benchmark's residence certificate uses about 70 in the gothic face
/// and 150 in the mincho.
const TYPICAL_GLYPHS: usize = 256;

impl UsedGlyphs {
    fn new() -> UsedGlyphs {
        UsedGlyphs { cid_of: Vec::new(), aliases: Vec::new(), glyphs: vec![0], chars: vec!['\0'], advances: vec![0] }
    }

    pub fn is_empty(&self) -> bool {
        self.glyphs.len() <= 1
    }

    #[inline]
    fn cid(&mut self, font: &Font, glyph: Glyph) -> u16 {
        if self.cid_of.is_empty() {
            self.cid_of = vec![0; font.glyph_count()];
            // Room for the glyphs of a typical certificate, so that these
            // grow rarely rather than from one entry up.
            self.glyphs.reserve(TYPICAL_GLYPHS);
            self.chars.reserve(TYPICAL_GLYPHS);
            self.advances.reserve(TYPICAL_GLYPHS);
        }
        let Some(slot) = self.cid_of.get_mut(usize::from(glyph.id)) else { return 0 };
        if *slot == 0 {
            // A font maps fewer than 65,536 characters, so the count fits a CID.
            *slot = u16::try_from(self.glyphs.len()).unwrap_or(0);
            self.glyphs.push(glyph.id);
            self.chars.push(glyph.ch);
            self.advances.push(glyph.advance);
            return *slot;
        }
        let cid = *slot;
        if self.chars.get(usize::from(cid)) == Some(&glyph.ch) {
            return cid;
        }
        if let Some(&(_, _, alias)) = self.aliases.iter().find(|&&(id, ch, _)| id == glyph.id && ch == glyph.ch) {
            return alias;
        }
        let alias = u16::try_from(self.glyphs.len()).unwrap_or(0);
        self.glyphs.push(glyph.id);
        self.chars.push(glyph.ch);
        self.advances.push(glyph.advance);
        self.aliases.push((glyph.id, glyph.ch, alias));
        alias
    }
}

/// Graphics state of the page being drawn, so colours and line widths are
/// set only when they change. `None` means unknown: set it before use.
/// Line widths are in points.
struct PageState {
    fill: Option<Color>,
    stroke: Option<Color>,
    line_width: Option<f32>,
}

impl PageState {
    /// The state PDF gives every page's content stream at its start. Its
    /// line width, one unit, is a hundredth of a point once the page is
    /// scaled, so it is set before the first line.
    const INITIAL: PageState = PageState { fill: Some(Color::Black), stroke: Some(Color::Black), line_width: None };
    const UNKNOWN: PageState = PageState { fill: None, stroke: None, line_width: None };
}

pub(crate) struct Canvas<'f> {
    fonts: &'f Fonts,
    pub pages: Vec<Content>,
    pub used: [UsedGlyphs; 2],
    /// Index of the page being drawn.
    current: usize,
    state: PageState,
    /// Reused buffer for the CID bytes of one text run.
    scratch: Vec<u8>,
    /// Reused buffer for the text of a run that holds spaces.
    actual_text: String,
}

impl<'f> Canvas<'f> {
    pub fn new(fonts: &'f Fonts) -> Canvas<'f> {
        Canvas {
            fonts,
            pages: Vec::new(),
            used: [UsedGlyphs::new(), UsedGlyphs::new()],
            current: 0,
            state: PageState::INITIAL,
            scratch: Vec::with_capacity(256),
            actual_text: String::new(),
        }
    }

    pub fn new_page(&mut self) {
        let mut content = Content::with_capacity(16 * 1024);
        let scale = 1.0 / UNITS_PER_POINT;
        content.transform([scale, 0.0, 0.0, scale, 0.0, 0.0]);
        self.pages.push(content);
        self.current = self.pages.len() - 1;
        self.state = PageState::INITIAL;
    }

    /// Continue drawing on an earlier page (the footers, once the page count
    /// is known).
    pub fn select_page(&mut self, index: usize) {
        if index < self.pages.len() {
            self.current = index;
            self.state = PageState::UNKNOWN;
        }
    }

    pub fn page_count(&self) -> usize {
        self.pages.len()
    }

    fn content(&mut self) -> &mut Content {
        if self.pages.is_empty() {
            self.new_page();
        }
        let index = self.current.min(self.pages.len() - 1);
        &mut self.pages[index]
    }

    fn set_fill(&mut self, color: Color) {
        if self.state.fill != Some(color) {
            self.state.fill = Some(color);
            let [r, g, b] = color.rgb();
            self.content().set_fill_rgb(r, g, b);
        }
    }

    fn set_stroke(&mut self, color: Color, width: f32) {
        if self.state.stroke != Some(color) {
            self.state.stroke = Some(color);
            let [r, g, b] = color.rgb();
            self.content().set_stroke_rgb(r, g, b);
        }
        if self.state.line_width != Some(width) {
            self.state.line_width = Some(width);
            self.content().set_line_width(units(width));
        }
    }

    /// Draw a run of glyphs with `pen`, its baseline starting at (x, y).
    pub fn text(&mut self, pen: Pen, x: f32, y: f32, glyphs: &[Glyph]) {
        let Pen { face, size, color, stretch } = pen;
        if glyphs.is_empty() {
            return;
        }
        let font = self.fonts.get(face);
        let used = &mut self.used[face_index(face)];
        self.scratch.clear();
        let mut spaced = false;
        for &glyph in glyphs {
            if glyph.is_break() {
                continue;
            }
            spaced |= glyph.ch.is_whitespace();
            self.scratch.extend_from_slice(&used.cid(font, glyph).to_be_bytes());
        }
        self.set_fill(color);
        let scratch = std::mem::take(&mut self.scratch);
        let mut actual_text = std::mem::take(&mut self.actual_text);
        let content = self.content();
        if spaced {
            // Extractors turn a space, above all a full-width one (U+3000,
            // common in names), into a gap and may then split one value
            // into separate text blocks. ActualText gives them the run as
            // one piece, spaces included.
            actual_text.clear();
            actual_text.extend(glyphs.iter().filter(|g| !g.is_break()).map(|g| g.ch));
            content.begin_marked_content_with_properties(Name(b"Span")).properties().actual_text(TextStr(&actual_text));
        }
        content
            .begin_text()
            .set_font(font_resource(face), units(size))
            .set_text_matrix([1.0, 0.0, 0.0, stretch, units(x), units(y)])
            .show(Str(&scratch))
            .end_text();
        if spaced {
            content.end_marked_content();
        }
        self.scratch = scratch;
        self.actual_text = actual_text;
    }

    /// Width of glyphs in points at `size`.
    pub fn width(&self, face: Face, size: f32, glyphs: &[Glyph]) -> f32 {
        crate::text::units(glyphs) as f32 * self.fonts.get(face).scale(size)
    }

    pub fn line(&mut self, x1: f32, y1: f32, x2: f32, y2: f32, width: f32, color: Color) {
        self.set_stroke(color, width);
        self.content().move_to(units(x1), units(y1)).line_to(units(x2), units(y2)).stroke();
    }

    /// A rectangle with its lower left corner at (x, y).
    pub fn stroke_rect(&mut self, x: f32, y: f32, w: f32, h: f32, width: f32, color: Color) {
        self.set_stroke(color, width);
        self.content().rect(units(x), units(y), units(w), units(h)).stroke();
    }

    pub fn fill_rect(&mut self, x: f32, y: f32, w: f32, h: f32, color: Color) {
        self.set_fill(color);
        self.content().rect(units(x), units(y), units(w), units(h)).fill_nonzero();
    }

    pub fn stroke_circle(&mut self, cx: f32, cy: f32, r: f32, width: f32, color: Color) {
        // Four cubic Bézier quarter arcs; KAPPA puts the control points where
        // the curve deviates from a true circle by under 0.03 %.
        const KAPPA: f32 = 0.552_284_8;
        let k = r * KAPPA;
        self.set_stroke(color, width);
        let [(x0, x1, x2, x3, x4), (y0, y1, y2, y3, y4)] =
            [cx, cy].map(|c| (units(c - r), units(c - k), units(c), units(c + k), units(c + r)));
        self.content()
            .move_to(x4, y2)
            .cubic_to(x4, y3, x3, y4, x2, y4)
            .cubic_to(x1, y4, x0, y3, x0, y2)
            .cubic_to(x0, y1, x1, y0, x2, y0)
            .cubic_to(x3, y0, x4, y1, x4, y2)
            .close_path()
            .stroke();
    }
}
