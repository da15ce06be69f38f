//! The pre-delivery check (`page_texts`, `check_stamps`) against real
//! renders, poppler's reading of the same bytes, spliced and damaged files.

mod common;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::process::{Command, Stdio};
use std::time::Instant;

use common::*;
use kofu_model::{Align, Block, Document, Face, TextSize};
use kofu_render::{
    Compression, InspectError, PageStamp, RenderOptions, RenderedPdf, Renderer, check_stamps, footer_text, page_texts,
};

const PLAIN: Compression = Compression::None;
const FLATE: Compression = Compression::Flate { level: 6 };

fn render_with(document: &Document, stamp: &PageStamp, compression: Compression) -> RenderedPdf {
    let renderer = Renderer::with_options(RenderOptions { compression, ..RenderOptions::default() }).expect("renderer");
    renderer.render(document, stamp).expect("render")
}

fn render(document: &Document, compression: Compression) -> RenderedPdf {
    render_with(document, &stamp(false), compression)
}

fn check(pdf: &[u8]) -> Result<u32, InspectError> {
    check_stamps(pdf, &stamp(false))
}

/// The check against another issuance number and code, the same subject.
fn check_as(pdf: &[u8], number: &str, code: &str) -> Result<u32, InspectError> {
    let expected = PageStamp { issuance_number: number.into(), verification_code: code.into(), ..stamp(false) };
    check_stamps(pdf, &expected)
}

/// Documents that between them use both faces, seals, page breaks, ASCII,
/// U+3000 and a character outside the BMP (a surrogate pair in ToUnicode).
fn documents() -> Vec<(&'static str, Document)> {
    let mut mixed = seal_certificate();
    mixed.blocks.insert(1, Block::PageBreak);
    mixed.blocks.push(Block::Paragraph(text(
        "Address: 1-2-3 Hon-cho, Mihon City　𠮟る (a) \\ b",
        Face::Gothic,
        TextSize::Normal,
        Align::Right,
    )));
    // IPAex Gothic draws U+2010–U+2012 with the glyph of `-`, which the
    // footers print: each must still read back as itself.
    let mut hyphens = residence_certificate();
    hyphens.title = "住民票‐写し".into();
    hyphens.blocks.push(Block::Paragraph(text(HYPHENS, Face::Gothic, TextSize::Normal, Align::Left)));
    // The last text before a footer ends in white space: the footer is
    // still a line of its own.
    let mut trailing = seal_certificate();
    trailing.blocks.insert(0, Block::Paragraph(text("前頁\u{2002}", Face::Gothic, TextSize::Normal, Align::Left)));
    trailing.blocks.insert(1, Block::PageBreak);
    trailing.signature.name.push('\u{3000}');
    vec![
        ("residence", residence_certificate()),
        ("seal", seal_certificate()),
        ("mixed", mixed),
        ("long table", long_table(120)),
        ("trailing white space", trailing),
        ("hyphens", hyphens),
    ]
}

const HYPHENS: &str = "1‐2‐3　1‑2　1‒2　1-2";

/// `pdftotext -raw`: text in content-stream order, as ours is. The layout
/// mode that kofu-pdf-check uses orders text by position instead.
fn pdftotext_raw(pdf: &[u8], page: u32) -> String {
    let page = page.to_string();
    let mut child = Command::new("pdftotext")
        .args(["-raw", "-enc", "UTF-8", "-f", &page, "-l", &page, "-", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("pdftotext (poppler-utils) must be installed");
    std::io::Write::write_all(&mut child.stdin.take().expect("stdin"), pdf).expect("write PDF");
    let output = child.wait_with_output().expect("pdftotext");
    assert!(output.status.success());
    String::from_utf8(output.stdout).expect("UTF-8")
}

fn sorted_chars(text: &str) -> Vec<char> {
    let mut chars: Vec<char> = squash(text).chars().collect();
    chars.sort_unstable();
    chars
}

#[test]
fn page_texts_agree_with_pdftotext() {
    for compression in [PLAIN, FLATE] {
        for (name, document) in documents() {
            let pdf = render(&document, compression);
            let texts = page_texts(&pdf.bytes).expect("page_texts");
            assert_eq!(texts.len(), pdf.pages as usize, "{name}");
            for (index, ours) in texts.iter().enumerate() {
                let page = index as u32 + 1;
                let what = format!("{name}, {compression:?}, page {page}");
                assert_eq!(squash(ours), squash(&pdftotext_raw(&pdf.bytes, page)), "{what}");
                // Layout mode reorders but must read the same characters.
                assert_eq!(sorted_chars(ours), sorted_chars(&pdftotext(&pdf.bytes, Some(page))), "{what}");
                let footer = footer_text(&stamp(false), page as usize, pdf.pages as usize);
                assert!(ours.lines().any(|line| squash(line) == squash(&footer)), "{what}: no footer in\n{ours}");
            }
        }
    }
    // Spaces survive: a key and its value are separate text objects.
    let texts = page_texts(&render(&residence_certificate(), PLAIN).bytes).expect("page_texts");
    assert!(texts[0].contains("見本　太郎") && texts[0].contains("氏名\n見本　太郎"), "{}", texts[0]);
    // Characters drawn with one glyph keep their own code points.
    let (_, hyphens) = documents().pop().expect("documents");
    let texts = page_texts(&render(&hyphens, PLAIN).bytes).expect("page_texts");
    assert!(texts[0].contains("住民票‐写し") && texts[0].contains(HYPHENS), "{}", texts[0]);
}

#[test]
fn check_stamps_passes_real_renders() {
    for compression in [PLAIN, FLATE, Compression::Flate { level: 0 }] {
        for (name, document) in documents() {
            for preview in [false, true] {
                let stamp = stamp(preview);
                let pdf = render_with(&document, &stamp, compression);
                let result = check_as(&pdf.bytes, &stamp.issuance_number, &stamp.verification_code);
                assert_eq!(result.ok(), Some(pdf.pages), "{name}, {compression:?}, preview {preview}");
            }
        }
    }
    // White space in the expected values does not matter, as on paper.
    let pdf = render(&residence_certificate(), PLAIN);
    assert_eq!(check_as(&pdf.bytes, " R07-000123 ", "7Q4K-M2XD-9PLT\u{3000}").ok(), Some(1));
}

#[test]
fn check_stamps_refuses_another_number_or_code() {
    let pdf = render(&long_table(120), FLATE);
    let pages = pdf.pages;
    let code = stamp(false).verification_code;
    match check_as(&pdf.bytes, "R07-000124", &code) {
        Err(e @ InspectError::IssuanceNumberMissing { page: 1, .. }) => {
            assert_eq!(e.to_string(), format!("page 1 of {pages} does not carry issuance number R07-000124"))
        }
        other => panic!("{other:?}"),
    }
    match check_as(&pdf.bytes, "R07-000123", "7Q4K-M2XD-9PLX") {
        Err(e @ InspectError::VerificationCodeMissing { page: 1, .. }) => {
            assert_eq!(e.to_string(), format!("page 1 of {pages} does not carry verification code 7Q4K-M2XD-9PLX"))
        }
        other => panic!("{other:?}"),
    }
    // Prefixes of the printed number or code are no match.
    assert!(matches!(check_as(&pdf.bytes, "R07-00012", &code), Err(InspectError::FooterMissing { page: 1, .. })));
    assert!(matches!(
        check_as(&pdf.bytes, "R07-000123", "7Q4K-M2XD"),
        Err(InspectError::FooterMissing { page: 1, .. })
    ));
    assert!(matches!(
        check_as(&pdf.bytes, "R07-0001234", &code),
        Err(InspectError::IssuanceNumberMissing { page: 1, .. })
    ));
    // A page lost from the page tree: the others still say "i / N+1".
    let plain = render(&long_table(120), PLAIN);
    let kids_at = find(&plain.bytes, b"/Kids [", 0).expect("kids");
    let close = find(&plain.bytes, b"]", kids_at).expect("]");
    let kids = std::str::from_utf8(&plain.bytes[kids_at..=close]).expect("ASCII");
    let refs: Vec<&str> = kids["/Kids [".len()..kids.len() - 1].split(" 0 R").map(str::trim).collect();
    let fewer = format!("/Kids [{} 0 R]", refs[..refs.len() - 2].join(" 0 R "));
    let fewer = format!("{fewer:<width$}", width = kids.len());
    let lost = replaced(
        &replaced(&plain.bytes, kids, &fewer),
        &format!("/Count {}", plain.pages),
        &format!("/Count {}", plain.pages - 1),
    );
    match check(&lost) {
        Err(e @ InspectError::PageNumberMissing { page: 1, .. }) => assert_eq!(
            e.to_string(),
            format!("page 1 of {0} does not carry its page number \"1 / {0}\"", plain.pages - 1)
        ),
        other => panic!("{other:?}"),
    }
    for (number, code) in [("", "7Q4K"), ("R07-000123", "\u{3000} ")] {
        assert!(matches!(check_as(&pdf.bytes, number, code), Err(InspectError::NothingExpected { .. })));
    }
}

/// The byte range of object `number`, from its line to past `endobj`.
fn object_range(pdf: &[u8], number: u32) -> std::ops::Range<usize> {
    let head = format!("\n{number} 0 obj\n");
    let start = find(pdf, head.as_bytes(), 0).expect("object") + 1;
    let end = find(pdf, b"\nendobj\n", start).expect("endobj") + 8;
    start..end
}

fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    haystack[from..].windows(needle.len()).position(|w| w == needle).map(|at| at + from)
}

/// The first `N 0 R` after `key` in object `number`.
fn reference(pdf: &[u8], number: u32, key: &str, nth: usize) -> u32 {
    let object = String::from_utf8_lossy(&pdf[object_range(pdf, number)]).into_owned();
    let after = &object[object.find(key).expect("key") + key.len()..];
    let refs: Vec<&str> = after.trim_start_matches([' ', '[']).split(" 0 R").collect();
    refs[nth].trim().parse().expect("object number")
}

/// Rewrite the xref table and startxref for objects that moved, as a tool
/// that splices pages between files would.
fn rebuild_xref(pdf: &[u8]) -> Vec<u8> {
    let xref = if pdf.starts_with(b"xref\n") { 0 } else { find(pdf, b"\nxref\n", 0).expect("xref") + 1 };
    let text = String::from_utf8_lossy(&pdf[xref..]).into_owned();
    let size: u32 = text.lines().nth(1).expect("subsection").split(' ').nth(1).expect("count").parse().expect("size");
    let trailer = &text[text.find("trailer").expect("trailer")..text.find("startxref").expect("startxref")];
    let mut out = pdf[..xref].to_vec();
    // Where each "N 0 obj" line first starts, found in one pass.
    let mut offsets = vec![0usize; size as usize];
    let mut from = 0;
    while let Some(at) = find(&out, b" 0 obj\n", from) {
        let line = out[..at].iter().rposition(|&b| b == b'\n').map_or(0, |n| n + 1);
        let number = std::str::from_utf8(&out[line..at]).ok().and_then(|n| n.parse::<usize>().ok());
        if let Some(slot) = number.and_then(|n| offsets.get_mut(n)).filter(|slot| **slot == 0) {
            *slot = line;
        }
        from = at + 1;
    }
    let mut table = format!("xref\n0 {size}\n0000000000 65535 f\r\n");
    for offset in &offsets[1..] {
        table += &format!("{offset:010} 00000 n\r\n");
    }
    table += &format!("{trailer}startxref\n{xref}\n%%EOF");
    out.extend_from_slice(table.as_bytes());
    out
}

#[test]
fn a_page_from_another_issuance_is_caught() {
    let ours = stamp(false);
    // Another issuance of the same document. Its number uses the same
    // characters in the same order of first use, so both files give their
    // glyphs the same codes and the spliced page reads as the other number.
    let theirs = PageStamp { issuance_number: "R07-001123".into(), ..ours.clone() };
    for compression in [PLAIN, FLATE] {
        let document = long_table(120);
        let a = render_with(&document, &ours, compression);
        let b = render_with(&document, &theirs, compression);
        assert!(a.pages >= 3);
        // Page 2's content stream of B replaces that of A.
        let page = reference(&a.bytes, 2, "/Kids", 1);
        let content = reference(&a.bytes, page, "/Contents", 0);
        assert_eq!(content, reference(&b.bytes, reference(&b.bytes, 2, "/Kids", 1), "/Contents", 0));
        let (ra, rb) = (object_range(&a.bytes, content), object_range(&b.bytes, content));
        let mut spliced = a.bytes[..ra.start].to_vec();
        spliced.extend_from_slice(&b.bytes[rb]);
        spliced.extend_from_slice(&a.bytes[ra.end..]);
        let spliced = rebuild_xref(&spliced);

        // A well-formed PDF whose page 2 shows the other issuance.
        let (ok, report) = qpdf_check(&spliced);
        assert!(ok, "{report}");
        assert!(squash(&pdftotext(&spliced, Some(2))).contains("発行番号R07-001123"));
        let texts = page_texts(&spliced).expect("page_texts");
        assert!(squash(&texts[1]).contains("発行番号R07-001123"));

        match check_as(&spliced, &ours.issuance_number, &ours.verification_code) {
            Err(e @ InspectError::IssuanceNumberMissing { page: 2, .. }) => {
                assert_eq!(e.to_string(), format!("page 2 of {} does not carry issuance number R07-000123", a.pages))
            }
            other => panic!("{compression:?}: {other:?}"),
        }
        assert!(matches!(
            check_as(&spliced, &theirs.issuance_number, &theirs.verification_code),
            Err(InspectError::IssuanceNumberMissing { page: 1, .. })
        ));
        // The untouched files pass; the rebuilt xref alone changes nothing.
        assert_eq!(check(&rebuild_xref(&a.bytes)).ok(), Some(a.pages));
        assert_eq!(check_as(&b.bytes, "R07-001123", &theirs.verification_code).ok(), Some(b.pages));
    }
}

#[test]
fn empty_and_garbage_input_fail_cleanly() {
    assert!(matches!(page_texts(b""), Err(InspectError::Empty)));
    assert!(matches!(check(b""), Err(InspectError::Empty)));
    let mut noise = Vec::with_capacity(100_000);
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    for _ in 0..100_000 {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        noise.push(state as u8);
    }
    let mut pdf_noise = b"%PDF-1.7\n".to_vec();
    pdf_noise.extend_from_slice(&noise);
    pdf_noise.extend_from_slice(b"\nstartxref\n9\n%%EOF");
    let inputs: Vec<&[u8]> = vec![
        b"x",
        b"%PDF-1.7",
        b"%PDF-1.7\n%%EOF",
        b"%PDF-1.7\nstartxref\n0\n%%EOF",
        b"%PDF-1.7\nxref\n0 99999999999\ntrailer\n<<>>\nstartxref\n9\n%%EOF",
        b"%PDF-1.7\nxref\n0 1\n0000000000 65535 f\ntrailer\n<< /Size 1 >>\nstartxref\n9\n%%EOF",
        &noise,
        &pdf_noise,
    ];
    for input in inputs {
        let error = check(input).expect_err("garbage accepted");
        assert!(!error.to_string().is_empty());
    }
    // Nesting deep enough to overflow a naive recursive parser.
    let mut deep = b"%PDF-1.7\n1 0 obj\n".to_vec();
    deep.extend(std::iter::repeat_n(b'[', 100_000));
    deep.extend_from_slice(b"\nendobj\nxref\n0 2\n0000000000 65535 f\r\n0000000009 00000 n\r\n");
    let xref = find(&deep, b"xref", 0).expect("xref");
    deep.extend_from_slice(format!("trailer\n<< /Size 2 /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF").as_bytes());
    assert!(matches!(check(&deep), Err(InspectError::Syntax { .. })), "{:?}", check(&deep));
}

/// `check_stamps` on `input`, failing the test with `what` if it panics.
fn check_no_panic(input: &[u8], what: &str) -> Result<u32, InspectError> {
    catch_unwind(AssertUnwindSafe(|| check(input))).unwrap_or_else(|_| panic!("check_stamps panicked on {what}"))
}

#[test]
fn truncated_pdfs_never_pass() {
    for (document, compression, step) in
        [(residence_certificate(), PLAIN, 1), (residence_certificate(), FLATE, 1), (long_table(60), FLATE, 3)]
    {
        let pdf = render(&document, compression).bytes;
        assert!(check(&pdf).is_ok());
        for cut in (0..pdf.len()).step_by(step) {
            let result = check_no_panic(&pdf[..cut], &format!("a cut at {cut}"));
            assert!(result.is_err(), "{compression:?} cut at {cut} of {} accepted", pdf.len());
        }
        // Cut short in the body, with the xref table rebuilt to fit, or with
        // a piece cut out of the body and the xref rebuilt: these get past
        // the checks of the file's tail into its objects. A piece of white
        // space only may leave a sound file, so a hole need not fail.
        let xref = find(&pdf, b"\nxref\n", 0).expect("xref") + 1;
        let last_object = pdf[..xref].windows(6).rposition(|w| w == b"endobj").expect("endobj") + 6;
        for cut in (0..xref).step_by(step * 37) {
            let mut glued = pdf[..cut].to_vec();
            glued.extend_from_slice(&pdf[xref - 1..]);
            let result = check_no_panic(&rebuild_xref(&glued), &format!("a cut at {cut}, xref rebuilt"));
            assert!(result.is_err() || cut >= last_object, "cut at {cut} with a rebuilt xref accepted");
            let mut holed = pdf[..cut].to_vec();
            holed.extend_from_slice(&pdf[(cut + 1 + cut % 300).min(xref - 1)..]);
            let _ = check_no_panic(&rebuild_xref(&holed), &format!("a hole at {cut}, xref rebuilt"));
        }
    }
}

#[test]
fn damaged_bytes_never_panic() {
    let pdf = render(&long_table(20), FLATE).bytes;
    let plain = render(&long_table(20), PLAIN).bytes;
    for (bytes, step) in [(&pdf, 31), (&plain, 53)] {
        for at in (0..bytes.len()).step_by(step) {
            for value in [0x00, b'(', b'<', b'[', b'9', b' ', !bytes[at]] {
                let mut damaged = bytes.clone();
                damaged[at] = value;
                let _ = check_no_panic(&damaged, &format!("byte {at} set to {value:#04x}"));
            }
        }
    }
}

/// `pdf` with the first `from` at or after `start` replaced by `to` (of the
/// same length, so that offsets stay right).
fn replaced_from(pdf: &[u8], start: usize, from: &str, to: &str) -> Vec<u8> {
    assert_eq!(from.len(), to.len());
    let at = find(pdf, from.as_bytes(), start).unwrap_or_else(|| panic!("{from:?} not found"));
    let mut out = pdf.to_vec();
    out[at..at + to.len()].copy_from_slice(to.as_bytes());
    out
}

fn replaced(pdf: &[u8], from: &str, to: &str) -> Vec<u8> {
    replaced_from(pdf, 0, from, to)
}

/// Where the last page object starts; its content stream follows it.
fn last_page(pdf: &[u8]) -> usize {
    pdf.windows(12).rposition(|w| w == b"/Type /Page\n").expect("a page")
}

#[test]
fn what_our_renderer_never_writes_is_refused() {
    let plain = render(&residence_certificate(), PLAIN).bytes;
    let flate = render(&residence_certificate(), FLATE).bytes;
    let page_error = |pdf: &[u8], words: &str| match check(pdf) {
        Err(e @ InspectError::Page { page: 1, .. }) => assert!(e.to_string().contains(words), "{e}"),
        other => panic!("expected a page error with {words:?}: {other:?}"),
    };
    let content = last_page(&plain);
    page_error(&replaced_from(&flate, last_page(&flate), "/FlateDecode", "/LZWDecode  "), "/LZWDecode");
    page_error(&replaced_from(&plain, content, " Tm\n", " Tq\n"), "unknown operator 'Tq'");
    page_error(&replaced_from(&plain, content, " re\n", " Do\n"), "XObject");
    page_error(&replaced_from(&plain, content, "\nBT\n", "\nET\n"), "ET outside a text object");
    page_error(&replaced_from(&plain, content, ") Tj", ") Tz"), "Tz has operands of the wrong kind");
    page_error(&replaced(&plain, "/ToUnicode", "/ToUnicodX"), "no /ToUnicode map");
    page_error(&replaced(&plain, "/Identity-H", "/Identity-V"), "Identity-H");
    page_error(&replaced(&plain, "<0000> <FFFF>", "<00>   <FF>  "), "code space");

    let tree_error = |pdf: &[u8], words: &str| match check(pdf) {
        Err(e @ InspectError::PageTree(_)) => assert!(e.to_string().contains(words), "{e}"),
        other => panic!("expected a page tree error with {words:?}: {other:?}"),
    };
    tree_error(&replaced(&plain, "/Count 1", "/Count 2"), "/Count");
    tree_error(&replaced(&plain, "/Parent 2 0 R", "/Parent 1 0 R"), "/Parent");
    tree_error(&replaced(&plain, "/Type /Page\n", "/Type /Pagx\n"), "neither /Pages nor /Page");
    // Keys that could hide or cover a footer without changing the text.
    tree_error(&replaced(&plain, "/MediaBox", "/CropBox "), "page 1 has /CropBox");
    tree_error(&replaced(&plain, "/Font <<", "/Fonx <<"), "has /Fonx");
    tree_error(
        &replaced(&plain, "/Type /Catalog\n  /Pages 2 0 R", "/Type/Catalog/Pages 2 0 R/A 1"),
        "the catalog has /A,",
    );

    // No pages at all.
    let empty = replaced(&replaced(&plain, "/Kids [14 0 R]", "/Kids []      "), "/Count 1", "/Count 0");
    assert_eq!(page_texts(&empty).expect("page_texts"), Vec::<String>::new());
    assert!(matches!(check(&empty), Err(InspectError::NoPages)));

    // An incremental update after %%EOF, as an editor would append.
    let mut updated = plain.clone();
    let old_xref = find(&plain, b"\nxref\n", 0).expect("xref") + 1;
    let object = updated.len() + 1;
    updated.extend_from_slice(b"\n3 0 obj\n<< /Producer (someone else) >>\nendobj\n");
    let xref = updated.len();
    updated.extend_from_slice(
        format!(
            "xref\n0 1\n0000000000 65535 f\r\n3 1\n{object:010} 00000 n\r\n\
             trailer\n<< /Size 16 /Root 1 0 R /Prev {old_xref} >>\nstartxref\n{xref}\n%%EOF"
        )
        .as_bytes(),
    );
    assert!(matches!(check(&updated), Err(InspectError::Structure(_))), "{:?}", check(&updated));

    // An object moved without its xref entry.
    let moved = replaced(&plain, "\n\n3 0 obj", "\n3 0 obj\n");
    assert!(matches!(check(&moved), Err(InspectError::Structure(_))), "{:?}", check(&moved));
}

/// How long the check takes; run with `--nocapture` to see the figures.
#[test]
fn check_time() {
    for (name, document, compression) in [
        ("one page, uncompressed", residence_certificate(), PLAIN),
        ("one page, flate", residence_certificate(), FLATE),
        ("long table, uncompressed", long_table(120), PLAIN),
        ("long table, flate", long_table(120), FLATE),
    ] {
        let pdf = render(&document, compression);
        let rounds = 300;
        assert!(check(&pdf.bytes).is_ok());
        let start = Instant::now();
        for _ in 0..rounds {
            assert!(check(&pdf.bytes).is_ok());
        }
        let each = start.elapsed().as_secs_f64() / f64::from(rounds) * 1e6;
        println!("check_stamps, {name} ({} page(s), {} bytes): {each:.1} µs", pdf.pages, pdf.bytes.len());
    }
}

/// A one-page PDF written by hand around `content`, with font /F whose
/// ToUnicode map sends <0001> <0002> <0003> to A B C and <0010>..<0019> to
/// the digits: for operators and string forms our renderer does not use.
fn handmade(content: &str) -> Vec<u8> {
    let cmap = "/CIDInit /ProcSet findresource begin 12 dict begin begincmap\n\
                1 begincodespacerange <0000> <FFFF> endcodespacerange\n\
                3 beginbfchar <0001> <0041> <0002> <0042> <0003> <0043> endbfchar\n\
                1 beginbfrange <0010> <0019> <0030> endbfrange\n\
                endcmap CMapName currentdict /CMap defineresource pop end end";
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_string(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".into(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] /Contents 4 0 R /Resources << /Font << /F 5 0 R >> >> >>"
            .into(),
        format!("<< /Length {} >>\nstream\n{content}\nendstream", content.len() + 1),
        "<< /Type /Font /Subtype /Type0 /BaseFont /X /Encoding /Identity-H /DescendantFonts [] /ToUnicode 6 0 R >>"
            .into(),
        format!("<< /Length {} >>\nstream\n{cmap}\nendstream", cmap.len() + 1),
    ];
    let mut pdf = b"%PDF-1.7\n".to_vec();
    let mut offsets = Vec::new();
    for (index, object) in objects.iter().enumerate() {
        offsets.push(pdf.len());
        pdf.extend_from_slice(format!("{} 0 obj\n{object}\nendobj\n", index + 1).as_bytes());
    }
    let xref = pdf.len();
    let mut tail = format!("xref\n0 {}\n0000000000 65535 f\r\n", objects.len() + 1);
    for offset in offsets {
        tail += &format!("{offset:010} 00000 n\r\n");
    }
    tail += &format!("trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF", objects.len() + 1);
    pdf.extend_from_slice(tail.as_bytes());
    pdf
}

#[test]
fn reads_every_text_operator_and_string_form() {
    let content = "BT /F 12 Tf 10 180 Td (\\000\\001) Tj [(\\000\\002) -250 <0003>] TJ (\\000\\021\\000\\022) ' \
                   1 2 <00 1 3> \" 0 -14 TD <0010> Tj T* [<0001>10<0002>] TJ ET\n\
                   q 1 0 0 1 0 0 cm BT /F 12 Tf 1 0 0 1 10 100 Tm (\\0\\1\\0\\2) Tj ET Q\n\
                   /Span << /ActualText (ignored) /MCID [1 2] >> BDC BT /F 9 Tf <0003 0003> Tj ET EMC";
    let pdf = handmade(content);
    let (ok, report) = qpdf_check(&pdf);
    assert!(ok, "{report}");
    let texts = page_texts(&pdf).expect("page_texts");
    assert_eq!(texts, ["ABC 12 3 0 AB\nAB\nCC"]);
    // Poppler prints a span's /ActualText in place of its glyphs; we read
    // the glyphs, which are what the page shows.
    assert_eq!(squash(&texts[0]).replace("CC", "ignored"), squash(&pdftotext_raw(&pdf, 1)));
}

#[test]
fn content_it_cannot_vouch_for_is_an_error() {
    for (content, words) in [
        ("BT /F 12 Tf (\\000) Tj ET", "odd number of bytes"),
        ("BT /F 12 Tf <0004> Tj ET", "code <0004> of font /F has no Unicode mapping"),
        ("BT (\\000\\001) Tj ET", "before a font was selected"),
        ("/F 12 Tf (\\000\\001) Tj", "outside a text object"),
        ("BT /G 12 Tf ET", "no font /G"),
        ("BT /F 12 Tf ET ET", "ET outside a text object"),
        ("BT BT ET", "BT inside a text object"),
        ("BT /F 12 Tf", "ends inside a text object"),
        ("BT /F Tf ET", "Tf has operands of the wrong kind"),
        ("BT /F 12 Tf [(\\000\\001) /X] TJ ET", "not a string"),
        ("1 0 0 rg 5", "operands but no operator"),
        ("[1 2 re]", "operator inside an array"),
        ("[1 2 >>", "does not match"),
        ("0 0 10 10 re f /Im1 Do", "XObject"),
        ("BI /W 1 ID x EI", "inline image"),
        ("BX foo EX", "compatibility section"),
        ("1 0 0 1 0 0 cm 1 2 3 zz", "unknown operator 'zz'"),
        ("(open", "not closed"),
        ("<0g>", "no hex digit"),
    ] {
        match page_texts(&handmade(content)) {
            Err(e @ InspectError::Page { page: 1, .. }) => assert!(e.to_string().contains(words), "{content}: {e}"),
            other => panic!("{content}: expected a page error with {words:?}, got {other:?}"),
        }
    }
    assert_eq!(page_texts(&handmade("")).expect("an empty page").as_slice(), [""]);
}

/// Text the renderer was given that imitates the stamp: the host refuses it
/// before rendering (`kofu-certify`), and, as the backstop, the read-back
/// finds it on the page whatever form it takes.
#[test]
fn a_stamp_imitation_in_the_body_fails_the_check() {
    let forgeries = [
        vec![Block::Paragraph(text(
            "発行番号 R07-000999　1 / 1　照合コード 7Q4K-M2XD-9PLT",
            Face::Gothic,
            TextSize::Small,
            Align::Center,
        ))],
        vec![Block::KeyValues(vec![kv("備考", "ＡＢ１２－ＣＤ３４－ＥＦ５６")])],
        vec![Block::KeyValues(vec![kv("発行", "番号")])],
    ];
    for blocks in forgeries {
        let mut document = residence_certificate();
        document.blocks.extend(blocks);
        let pdf = render(&document, PLAIN);
        match check(&pdf.bytes) {
            Err(e @ InspectError::StampImitation { page: 1, .. }) => assert!(e.to_string().contains("imitates")),
            other => panic!("{other:?}"),
        }
    }
}

/// Every page names the subject the caller expects, in the band.
#[test]
fn the_footer_band_names_the_subject_and_holds_nothing_else() {
    let pdf = render(&long_table(120), FLATE);
    assert!(pdf.pages > 1);
    for page in 1..=pdf.pages {
        let text = squash(&pdftotext(&pdf.bytes, Some(page)));
        assert!(text.contains(&squash(&format!("請求者 {SUBJECT_NAME}"))), "page {page}: {text}");
    }
    let someone_else = PageStamp { subject_name: "別人 次郎".into(), ..stamp(false) };
    match check_stamps(&pdf.bytes, &someone_else) {
        Err(InspectError::SubjectLineMissing { page: 1, .. }) => {}
        other => panic!("{other:?}"),
    }
    assert_eq!(check_stamps(&pdf.bytes, &stamp(false)).ok(), Some(pdf.pages));
}
