//! The PDF file: pages with their content streams, and for each face the
//! document uses a CIDFontType2 font with an embedded subset, its widths and
//! a ToUnicode map so that the text can be searched and extracted.
//!
//! Object ids follow a fixed scheme and nothing time- or randomness-dependent
//! is written, so the same document always gives the same bytes.

use std::borrow::Cow;

use pdf_writer::types::{CidFontType, FontFlags, SystemInfo, UnicodeCmap};
use pdf_writer::{Filter, Finish, Name, Pdf, Rect, Ref, Str, TextStr};
use sha2::{Digest, Sha256};
use subsetter::GlyphRemapper;

use crate::canvas::{Canvas, UsedGlyphs, font_resource};
use crate::deflate::Deflater;
use crate::fonts::{FACES, Font, Fonts, face_index};
use crate::layout::{PAGE_HEIGHT, PAGE_WIDTH};
use crate::{Compression, RenderError, RenderedPdf};

const IDENTITY: SystemInfo<'static> = SystemInfo { registry: Str(b"Adobe"), ordering: Str(b"Identity"), supplement: 0 };

/// Object ids of one embedded face.
struct FontRefs {
    type0: Ref,
    cid_font: Ref,
    descriptor: Ref,
    file: Ref,
    to_unicode: Ref,
}

struct Ids(i32);

impl Ids {
    fn next(&mut self) -> Ref {
        self.0 += 1;
        Ref::new(self.0)
    }
}

/// Streams are written through this, compressed or not as the options say.
struct Encoder(Option<Deflater>);

impl Encoder {
    fn new(compression: Compression) -> Encoder {
        Encoder(match compression {
            Compression::None => None,
            Compression::Flate { level } => Some(Deflater::new(level)),
        })
    }

    fn encode<'a>(&mut self, data: &'a [u8]) -> Result<(Cow<'a, [u8]>, Option<Filter>), RenderError> {
        Ok(match &mut self.0 {
            None => (Cow::Borrowed(data), None),
            Some(deflater) => (Cow::Owned(deflater.zlib(data)?), Some(Filter::FlateDecode)),
        })
    }
}

pub(crate) fn write(
    canvas: Canvas,
    fonts: &Fonts,
    compression: Compression,
    file_id: &[u8; 16],
) -> Result<RenderedPdf, RenderError> {
    let Canvas { pages, used, .. } = canvas;

    let mut encoder = Encoder::new(compression);
    let mut ids = Ids(0);
    let catalog = ids.next();
    let page_tree = ids.next();
    let info = ids.next();
    let mut font_refs: [Option<FontRefs>; 2] = [None, None];
    for face in FACES {
        if !used[face_index(face)].is_empty() {
            font_refs[face_index(face)] = Some(FontRefs {
                type0: ids.next(),
                cid_font: ids.next(),
                descriptor: ids.next(),
                file: ids.next(),
                to_unicode: ids.next(),
            });
        }
    }
    let page_refs: Vec<(Ref, Ref)> = pages.iter().map(|_| (ids.next(), ids.next())).collect();

    let contents: Vec<_> = pages.into_iter().map(|content| content.finish()).collect();
    let mut subsets = Vec::with_capacity(2);
    for face in FACES {
        let glyphs = &used[face_index(face)];
        if !glyphs.is_empty() {
            subsets.push((face, subset(fonts.get(face), glyphs)?));
        }
    }

    // Room for everything, so that the buffer never grows (a copy of all
    // written so far): the streams, each glyph's width and ToUnicode entry
    // (about 30 bytes), and each object's dictionary and xref line.
    let glyphs: usize = used.iter().map(|u| u.glyphs.len()).sum();
    // Every object is numbered by now but the CIDToGIDMaps, one per face.
    let objects = usize::try_from(ids.0).unwrap_or(0) + FACES.len();
    let estimate = 4096
        + contents.iter().map(|c| c.len()).sum::<usize>()
        + subsets.iter().map(|(_, s)| s.data.len() + 64 * s.name.len()).sum::<usize>()
        + 32 * glyphs
        + 256 * objects;
    let mut pdf = Pdf::with_capacity(estimate);
    pdf.catalog(catalog).pages(page_tree);
    pdf.document_info(info).producer(TextStr("kofu"));
    // PDF 2.0 requires a file identifier; ours names the issuance, so equal
    // inputs still give equal bytes.
    pdf.set_file_id((file_id.to_vec(), file_id.to_vec()));
    pdf.pages(page_tree)
        .kids(page_refs.iter().map(|&(page, _)| page))
        .count(i32::try_from(page_refs.len()).map_err(|_| RenderError::Internal("too many pages".into()))?);

    for (face, subset) in &subsets {
        let Some(refs) = &font_refs[face_index(*face)] else {
            return Err(RenderError::Internal("a used font has no object ids".into()));
        };
        write_font(&mut pdf, fonts.get(*face), &used[face_index(*face)], subset, refs, &mut ids, &mut encoder)?;
    }

    for ((page, content_ref), content) in page_refs.iter().zip(&contents) {
        let mut writer = pdf.page(*page);
        writer.parent(page_tree).media_box(Rect::new(0.0, 0.0, PAGE_WIDTH, PAGE_HEIGHT)).contents(*content_ref);
        let mut resources = writer.resources();
        let mut font_dict = resources.fonts();
        for face in FACES {
            if let Some(refs) = &font_refs[face_index(face)] {
                font_dict.pair(font_resource(face), refs.type0);
            }
        }
        font_dict.finish();
        resources.finish();
        writer.finish();

        let (data, filter) = encoder.encode(content)?;
        let mut stream = pdf.stream(*content_ref, &data);
        if let Some(filter) = filter {
            stream.filter(filter);
        }
    }

    let bytes = pdf.finish();
    let pages = u32::try_from(page_refs.len()).map_err(|_| RenderError::Internal("too many pages".into()))?;
    Ok(RenderedPdf { bytes, pages })
}

struct Subset {
    /// "ABCDEF+IPAexGothic".
    name: String,
    data: Vec<u8>,
    /// The CIDToGIDMap stream (each CID's glyph in the subset, 2 bytes big
    /// endian) when some glyph has two CIDs; `None` when CID = glyph.
    cid_to_gid: Option<Vec<u8>>,
}

fn subset(font: &Font, used: &UsedGlyphs) -> Result<Subset, RenderError> {
    let mut remapper = GlyphRemapper::new();
    let mut cid_to_gid = Vec::with_capacity(2 * used.glyphs.len());
    let mut identity = true;
    for (cid, &glyph) in used.glyphs.iter().enumerate() {
        // The subset numbers glyphs in first-use order, so CID = glyph until
        // a glyph comes again for another character.
        let gid = remapper.remap(glyph);
        identity &= usize::from(gid) == cid;
        cid_to_gid.extend_from_slice(&gid.to_be_bytes());
    }
    let data = subsetter::subset(&font.subset_source, 0, &remapper)
        .map_err(|e| RenderError::Subset { font: font.display_name, reason: e.to_string() })?;
    Ok(Subset {
        name: format!("{}+{}", subset_tag(font, used), font.postscript_name),
        data,
        cid_to_gid: (!identity).then_some(cid_to_gid),
    })
}

/// The six-letter subset tag PDF asks for, derived from the glyph set so
/// that equal subsets share a name and output stays reproducible.
fn subset_tag(font: &Font, used: &UsedGlyphs) -> String {
    let mut hash = Sha256::new();
    hash.update(font.postscript_name.as_bytes());
    for glyph in &used.glyphs {
        hash.update(glyph.to_be_bytes());
    }
    hash.finalize().iter().take(6).map(|byte| char::from(b'A' + byte % 26)).collect()
}

fn write_font(
    pdf: &mut Pdf,
    font: &Font,
    used: &UsedGlyphs,
    subset: &Subset,
    refs: &FontRefs,
    ids: &mut Ids,
    encoder: &mut Encoder,
) -> Result<(), RenderError> {
    let name = Name(subset.name.as_bytes());
    // Numbered after every other object, so documents without a map keep
    // the object numbers they always had.
    let cid_to_gid = subset.cid_to_gid.as_ref().map(|map| (ids.next(), map));

    pdf.type0_font(refs.type0)
        .base_font(name)
        .encoding_predefined(Name(b"Identity-H"))
        .descendant_font(refs.cid_font)
        .to_unicode(refs.to_unicode);

    let scale = 1000.0 / f32::from(font.units_per_em);
    let mut cid_font = pdf.cid_font(refs.cid_font);
    cid_font
        .subtype(CidFontType::Type2)
        .base_font(name)
        .system_info(IDENTITY)
        .font_descriptor(refs.descriptor)
        .default_width(1000.0);
    match cid_to_gid {
        Some((map, _)) => cid_font.cid_to_gid_map_stream(map),
        None => cid_font.cid_to_gid_map_predefined(Name(b"Identity")),
    };
    // CID 0 (.notdef) is never drawn: the default width covers it.
    cid_font.widths().consecutive(1, used.advances.iter().skip(1).map(|&a| f32::from(a) * scale));
    cid_font.finish();
    if let Some((map, data)) = cid_to_gid {
        let (data, filter) = encoder.encode(data)?;
        let mut stream = pdf.stream(map, &data);
        if let Some(filter) = filter {
            stream.filter(filter);
        }
    }

    let [x_min, y_min, x_max, y_max] = font.bbox;
    pdf.font_descriptor(refs.descriptor)
        .name(name)
        // Symbolic: the glyphs are outside the standard Latin character set.
        .flags(FontFlags::SYMBOLIC)
        .bbox(Rect::new(
            font.to_pdf_units(x_min),
            font.to_pdf_units(y_min),
            font.to_pdf_units(x_max),
            font.to_pdf_units(y_max),
        ))
        .italic_angle(0.0)
        .ascent(font.to_pdf_units(font.ascender))
        .descent(font.to_pdf_units(font.descender))
        .cap_height(font.to_pdf_units(font.cap_height))
        .stem_v(80.0)
        .font_file2(refs.file);

    let (data, filter) = encoder.encode(&subset.data)?;
    let mut file = pdf.stream(refs.file, &data);
    file.pair(Name(b"Length1"), i32::try_from(subset.data.len()).unwrap_or(i32::MAX));
    if let Some(filter) = filter {
        file.filter(filter);
    }
    file.finish();

    let mut cmap = UnicodeCmap::new(Name(b"Custom"), IDENTITY);
    for (cid, &ch) in used.chars.iter().enumerate().skip(1) {
        if let Ok(cid) = u16::try_from(cid) {
            cmap.pair(cid, ch);
        }
    }
    let cmap = cmap.finish();
    let (data, filter) = encoder.encode(&cmap)?;
    let mut stream = pdf.stream(refs.to_unicode, &data);
    if let Some(filter) = filter {
        stream.filter(filter);
    }
    Ok(())
}
