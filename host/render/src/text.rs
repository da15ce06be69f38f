//! Characters to glyphs. No shaping: IPAex maps one character to one glyph,
//! which is all Japanese certificate text needs.

use std::fmt;

use crate::RenderError;
use crate::fonts::Font;

/// One character as the layout sees it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Glyph {
    pub ch: char,
    /// Glyph id in the full font; 0 only for a '\n' break marker.
    pub id: u16,
    /// Advance width in font units.
    pub advance: u16,
}

impl Glyph {
    pub fn is_break(self) -> bool {
        self.ch == '\n'
    }
}

/// Where a piece of text sits in the document, for error messages. Built
/// without allocating; turned into words only when an error is reported.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Place {
    Title,
    Block { number: usize, kind: &'static str },
    Certification,
    Signature,
    Footer,
    PreviewMarker,
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Place::Title => f.write_str("title"),
            Place::Block { number, kind } => write!(f, "block {number} ({kind})"),
            Place::Certification => f.write_str("certification"),
            Place::Signature => f.write_str("signature"),
            Place::Footer => f.write_str("footer"),
            Place::PreviewMarker => f.write_str("preview marker"),
        }
    }
}

/// Append the glyphs of `text` to `out`. '\n' becomes a break marker; any
/// other character without a glyph, control characters included, is refused
/// rather than printed as a blank box on an official document.
pub(crate) fn shape(font: &Font, text: &str, place: Place, out: &mut Vec<Glyph>) -> Result<(), RenderError> {
    // At most one glyph per byte: reserved once, never grown (digits and
    // Latin letters take one byte each).
    out.reserve(text.len());
    for ch in text.chars() {
        if ch == '\n' {
            out.push(Glyph { ch, id: 0, advance: 0 });
            continue;
        }
        let id = if ch.is_control() { 0 } else { font.glyph(ch) };
        if id == 0 {
            return Err(RenderError::UnprintableCharacter {
                character: ch,
                place: place.to_string(),
                font: font.display_name,
            });
        }
        out.push(Glyph { ch, id, advance: font.advance(id) });
    }
    Ok(())
}

/// Width of glyphs in font units.
pub(crate) fn units(glyphs: &[Glyph]) -> u32 {
    glyphs.iter().map(|g| u32::from(g.advance)).sum()
}
