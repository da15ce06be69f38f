//! The document a plugin returns: validated by the sandbox
//! (`Document::validate` with the output limit), then rendered, stamped and
//! read back (`check_stamps`) before any kiosk may fetch it.

use std::sync::OnceLock;

use kofu_model::{Block, Document, DocumentError};
use kofu_render::{
    Compression, InspectError, PageStamp, RenderError, RenderOptions, Renderer, check_stamps, page_texts,
};
use kofu_sandbox::Limits;

use crate::input::Input;

const ISSUANCE_NUMBER: &str = "R07-000123";
const VERIFICATION_CODE: &str = "7Q4K-M2XD-9PLT";
const SUBJECT_NAME: &str = "見本 太郎";

/// A document from `data`, then its properties:
/// - JSON that is a document round-trips through serde, and its canonical
///   hash is stable; bytes not starting with `{` are read as a document
///   value directly (see `input.rs`);
/// - a document that passes validation renders, unless a character has no
///   glyph (the renderer's own check, on a character that is in the
///   document); the PDF is the same bytes when rendered again, and
///   `check_stamps` finds every page's footer and the page count the
///   renderer reported, with or without compression and the preview marker;
/// - a document that fails validation (but is within the size limits) still
///   renders to a PDF or an error, never a panic, as the renderer promises;
/// - a PDF cut short fails `check_stamps`, and one with changed bytes gives
///   an answer, never a panic.
pub fn document(data: &[u8]) {
    let Some(document) = read(data) else { return };
    let bytes = serde_json::to_vec(&document).unwrap_or_default();
    match serde_json::from_slice::<Document>(&bytes) {
        Ok(again) => assert_eq!(again, document, "the document reads back differently from its JSON"),
        Err(err) => panic!("a document's own JSON does not read back: {err}"),
    }
    assert_eq!(document.canonical_hash(), document.clone().canonical_hash(), "the canonical hash is not stable");

    let flags = data.last().copied().unwrap_or(0);
    let stamp = PageStamp {
        issuance_number: ISSUANCE_NUMBER.into(),
        verification_code: VERIFICATION_CODE.into(),
        subject_name: SUBJECT_NAME.into(),
        preview: flags & 1 == 1,
    };
    let renderer = renderer(flags & 2 == 2);
    match document.validate(Limits::default().output_bytes) {
        Ok(()) => valid(renderer, &document, &stamp, data),
        Err(DocumentError::TooLarge { .. } | DocumentError::TooManyBlocks { .. }) => {}
        // The renderer promises errors, never panics, whatever it is given.
        Err(DocumentError::Invalid { .. }) => drop(renderer.render(&document, &stamp)),
    }
}

fn read(data: &[u8]) -> Option<Document> {
    if data.first() == Some(&b'{') {
        // A document as JSON, the model's serde form; JSON that is no
        // document is simply refused.
        serde_json::from_slice(data).ok()
    } else {
        Some(Input::new(data).document())
    }
}

fn renderer(compressed: bool) -> &'static Renderer {
    static PLAIN: OnceLock<Renderer> = OnceLock::new();
    static FLATE: OnceLock<Renderer> = OnceLock::new();
    let (cell, compression) =
        if compressed { (&FLATE, Compression::Flate { level: 6 }) } else { (&PLAIN, Compression::None) };
    cell.get_or_init(|| {
        Renderer::with_options(RenderOptions { compression, ..RenderOptions::default() })
            .unwrap_or_else(|err| panic!("the fuzz harness cannot build a renderer: {err}"))
    })
}

fn valid(renderer: &Renderer, document: &Document, stamp: &PageStamp, data: &[u8]) {
    let pdf = match renderer.render(document, stamp) {
        Ok(pdf) => pdf,
        Err(RenderError::UnprintableCharacter { character, .. }) => {
            assert!(
                character != '\n' && texts(document).any(|text| text.contains(character)),
                "the renderer refused U+{:04X}, which the document does not hold",
                u32::from(character)
            );
            return;
        }
        // Limits of the paper, not faults: a page bomb, a row taller than a page.
        Err(RenderError::TooManyPages { .. } | RenderError::RowTooTall { .. }) => return,
        Err(err) => panic!("the renderer refused a validated document: {err}\n{document:?}"),
    };
    assert!(pdf.pages >= 1, "a validated document rendered to no pages");
    let imitates = kofu_model::text::stamp_like_in(texts(document));
    match check_stamps(&pdf.bytes, stamp) {
        Ok(pages) => {
            assert_eq!(pages, pdf.pages, "the PDF's page tree disagrees with the renderer's page count");
            assert_eq!(imitates, None, "a document imitating the stamp passed the pre-delivery check");
        }
        // The host refuses such a document before rendering it; read back,
        // the PDF check finds it too.
        Err(InspectError::StampImitation { .. }) if imitates.is_some() => {}
        Err(err) => panic!("the pre-delivery check refused a rendered document: {err}\n{document:?}"),
    }
    match renderer.render(document, stamp) {
        Ok(again) => assert!(again.bytes == pdf.bytes, "the same document rendered to different bytes"),
        Err(err) => panic!("the same document failed the second time: {err}"),
    }
    damaged(&pdf.bytes, stamp, data);
}

/// Cut the PDF short, and change a few of its bytes, at places and to
/// values taken from the input, then read it back: a cut file never passes
/// (`check_stamps`'s promise), and a changed one gives an answer, not a
/// panic (a change in a font program may leave a sound file).
fn damaged(pdf: &[u8], stamp: &PageStamp, data: &[u8]) {
    let seed = data.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3));
    let len = pdf.len() as u64;
    let cut = (seed % len.max(1)) as usize;
    let result = check_stamps(&pdf[..cut], stamp);
    assert!(result.is_err(), "a PDF cut short at byte {cut} of {len} passed the pre-delivery check");
    let mut changed = pdf.to_vec();
    for round in 0..3u64 {
        let at = (seed.rotate_left(round as u32 * 21) % len.max(1)) as usize;
        if let Some(byte) = changed.get_mut(at) {
            *byte = byte.wrapping_add((seed >> (round * 8)) as u8 | 1);
        }
    }
    let _ = check_stamps(&changed, stamp);
    let _ = page_texts(&changed);
}

/// Every text of the document, wherever it is printed.
fn texts(document: &Document) -> impl Iterator<Item = &str> {
    let signature = &document.signature;
    let fixed = [
        &document.title,
        &document.certification,
        &signature.date_line,
        &signature.title,
        &signature.name,
        &signature.seal,
    ];
    let blocks = document.blocks.iter().flat_map(|block| -> Vec<&str> {
        match block {
            Block::Heading(text) | Block::Paragraph(text) => vec![&text.content],
            Block::KeyValues(rows) => rows.iter().flat_map(|row| [row.key.as_str(), &row.value]).collect(),
            Block::Table(table) => table
                .columns
                .iter()
                .map(|column| column.header.as_str())
                .chain(table.rows.iter().flatten().map(String::as_str))
                .collect(),
            Block::SealImpression(text) => vec![text],
            Block::Rule | Block::Spacing(_) | Block::PageBreak => Vec::new(),
        }
    });
    fixed.into_iter().map(String::as_str).chain(blocks)
}
