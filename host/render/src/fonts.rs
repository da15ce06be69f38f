//! The two embedded IPAex typefaces, parsed once when the renderer is built so
//! that rendering only does table look-ups.

use kofu_model::Face;

use crate::RenderError;

static GOTHIC_DATA: &[u8] = include_bytes!("../fonts/ipaexg.ttf");
static MINCHO_DATA: &[u8] = include_bytes!("../fonts/ipaexm.ttf");

/// One typeface with its character map and advances flattened into arrays.
/// ttf-parser's own look-ups walk the cmap subtables on every call; a flat
/// table makes the per-character cost of a render a single index.
pub(crate) struct Font {
    /// Name used in error messages, e.g. "IPAex Mincho".
    pub display_name: &'static str,
    /// PostScript name, the base of the subset's font name.
    pub postscript_name: &'static str,
    /// The font file trimmed to what a subset is built from (see sfnt.rs).
    pub subset_source: Box<[u8]>,
    pub units_per_em: u16,
    pub ascender: i16,
    pub descender: i16,
    pub cap_height: i16,
    /// Bounding box of all glyphs: x_min, y_min, x_max, y_max in font units.
    pub bbox: [i16; 4],
    /// Glyph id of every Basic Multilingual Plane code point; 0 when missing.
    bmp: Box<[u16]>,
    /// Glyph ids of the supplementary planes, sorted by code point.
    astral: Box<[(u32, u16)]>,
    /// Advance width of every glyph id, in font units.
    advances: Box<[u16]>,
}

impl Font {
    fn load(
        display_name: &'static str,
        postscript_name: &'static str,
        data: &'static [u8],
    ) -> Result<Font, RenderError> {
        let broken = |reason: String| RenderError::Font { font: display_name, reason };
        let face = ttf_parser::Face::parse(data, 0).map_err(|e| broken(e.to_string()))?;
        let cmap = face.tables().cmap.ok_or_else(|| broken("it has no cmap table".into()))?;

        let mut bmp = vec![0u16; 0x1_0000].into_boxed_slice();
        let mut astral = Vec::new();
        for subtable in cmap.subtables.into_iter().filter(|s| s.is_unicode()) {
            subtable.codepoints(|code| {
                let Some(character) = char::from_u32(code) else { return };
                // Face::glyph_index applies ttf-parser's subtable preference,
                // so the table agrees with what a direct look-up would give.
                let Some(glyph) = face.glyph_index(character) else { return };
                match bmp.get_mut(code as usize) {
                    Some(slot) => *slot = glyph.0,
                    None => astral.push((code, glyph.0)),
                }
            });
        }
        astral.sort_unstable();
        astral.dedup_by_key(|entry| entry.0);

        let advances = (0..face.number_of_glyphs())
            .map(|id| face.glyph_hor_advance(ttf_parser::GlyphId(id)).unwrap_or(0))
            .collect();
        let units_per_em = face.units_per_em();
        if units_per_em == 0 {
            return Err(broken("its units per em is 0".into()));
        }
        let bbox = face.global_bounding_box();
        Ok(Font {
            display_name,
            postscript_name,
            subset_source: crate::sfnt::trim_for_subsetting(data).map_err(broken)?.into_boxed_slice(),
            units_per_em,
            ascender: face.ascender(),
            descender: face.descender(),
            cap_height: face.capital_height().unwrap_or(face.ascender()),
            bbox: [bbox.x_min, bbox.y_min, bbox.x_max, bbox.y_max],
            bmp,
            astral: astral.into_boxed_slice(),
            advances,
        })
    }

    /// Glyph id for a character, 0 (.notdef) when the font has none.
    #[inline]
    pub fn glyph(&self, character: char) -> u16 {
        let code = character as u32;
        match self.bmp.get(code as usize) {
            Some(&glyph) => glyph,
            None => self
                .astral
                .binary_search_by_key(&code, |entry| entry.0)
                .ok()
                .and_then(|index| self.astral.get(index))
                .map_or(0, |entry| entry.1),
        }
    }

    /// Advance width of a glyph in font units.
    #[inline]
    pub fn advance(&self, glyph: u16) -> u16 {
        self.advances.get(glyph as usize).copied().unwrap_or(0)
    }

    pub fn glyph_count(&self) -> usize {
        self.advances.len()
    }

    /// Font units to points at `size`.
    #[inline]
    pub fn scale(&self, size: f32) -> f32 {
        size / f32::from(self.units_per_em)
    }

    /// Font units to the 1/1000 em of PDF glyph space.
    pub fn to_pdf_units(&self, value: i16) -> f32 {
        f32::from(value) * 1000.0 / f32::from(self.units_per_em)
    }
}

/// Both typefaces, indexed by [`Face`].
pub(crate) struct Fonts {
    gothic: Font,
    mincho: Font,
}

impl Fonts {
    pub fn embedded() -> Result<Fonts, RenderError> {
        Ok(Fonts {
            gothic: Font::load("IPAex Gothic", "IPAexGothic", GOTHIC_DATA)?,
            mincho: Font::load("IPAex Mincho", "IPAexMincho", MINCHO_DATA)?,
        })
    }

    #[inline]
    pub fn get(&self, face: Face) -> &Font {
        match face {
            Face::Gothic => &self.gothic,
            Face::Mincho => &self.mincho,
        }
    }
}

/// Faces in the fixed order the PDF lists them, so object ids are stable.
pub(crate) const FACES: [Face; 2] = [Face::Gothic, Face::Mincho];

#[inline]
pub(crate) fn face_index(face: Face) -> usize {
    match face {
        Face::Gothic => 0,
        Face::Mincho => 1,
    }
}
