//! The document a plugin returns: validated by the sandbox
//! (`Document::validate` with the output limit), then rendered, stamped and
//! read back (`check_stamps`) before any kiosk may fetch it.

use std::sync::OnceLock;

use kofu_model::{Block, Document, DocumentError};
use kofu_render::{Compression, PageStamp, RenderError, RenderOptions, Renderer, check_stamps, page_texts};
use kofu_sandbox::Limits;

use crate::input::Input;

const ISSUANCE_NUMBER: &str = "R07-000123";
const VERIFICATION_CODE: &str = "7Q4K-M2XD-9PLT";

/// A document from `data`, then its properties:
/// - JSON that is a document round-trips through serde and hashes the same;
///   bytes not starting with `{` are read as a document value directly;
/// - a document that passes validation renders, unless a character has no
///   glyph (the renderer's own check, on a character that is in the
///   document); the PDF is the same bytes when rendered again, and
///   `check_stamps` finds every page's footer and the page count the
///   renderer reported, with or without compression and the preview marker;
/// - a document that fails validation (but is within the size limits) still
///   renders to a PDF or an error, never a panic, as the renderer promises;
/// - a damaged PDF fails `check_stamps` with an error, never a panic.
pub fn document(data: &[u8]) {
    let Some(document) = read(data) else { return };
    let bytes = serde_json::to_vec(&document).unwrap_or_default();
    match serde_json::from_slice::<Document>(&bytes) {
        Ok(again) => assert_eq!(again, document, "the document reads back differently from its JSON"),
        Err(err) => panic!("a document's own JSON does not read back: {err}"),
    }
    assert_eq!(document.canonical_hash(), document.clone().canonical_hash());

    let flags = data.last().copied().unwrap_or(0);
    let stamp = PageStamp {
        issuance_number: ISSUANCE_NUMBER.into(),
        verification_code: VERIFICATION_CODE.into(),
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
        // A plugin's document as JSON, the way `kofu plugin render` and the
        // tests write one; JSON that is no document is simply refused.
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
        Renderer::with_options(RenderOptions { compression })
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
        Err(err) => panic!("the renderer refused a validated document: {err}\n{document:?}"),
    };
    assert!(pdf.pages >= 1, "a validated document rendered to no pages");
    match check_stamps(&pdf.bytes, ISSUANCE_NUMBER, VERIFICATION_CODE) {
        Ok(pages) => assert_eq!(pages, pdf.pages, "the PDF's page tree disagrees with the renderer's page count"),
        Err(err) => panic!("the pre-delivery check refused a rendered document: {err}\n{document:?}"),
    }
    match renderer.render(document, stamp) {
        Ok(again) => assert!(again.bytes == pdf.bytes, "the same document rendered to different bytes"),
        Err(err) => panic!("the same document failed the second time: {err}"),
    }
    damaged(pdf.bytes, data);
}

/// Change a few bytes of the PDF, at places and to values taken from the
/// input, and read it back: the reader must fail closed, not panic.
fn damaged(mut pdf: Vec<u8>, data: &[u8]) {
    let seed = data.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3));
    let len = pdf.len() as u64;
    if len == 0 {
        return;
    }
    for round in 0..3u64 {
        let at = (seed.rotate_left(round as u32 * 21) % len) as usize;
        pdf[at] = pdf[at].wrapping_add((seed >> (round * 8)) as u8 | 1);
    }
    let _ = check_stamps(&pdf, ISSUANCE_NUMBER, VERIFICATION_CODE);
    let _ = page_texts(&pdf);
    let truncated = (seed % len) as usize;
    let _ = check_stamps(&pdf[..truncated], ISSUANCE_NUMBER, VERIFICATION_CODE);
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
