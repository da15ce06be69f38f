//! End-to-end checks of rendered PDFs with poppler-utils and qpdf, which
//! must be installed: a missing tool fails the test rather than skip it.

mod common;

use common::*;
use kofu_model::{Align, Block, Document, Face, Table, TextSize};
use kofu_render::{Compression, PREVIEW_MARKER, RenderError, RenderOptions, Renderer, footer_text};

fn render(document: &Document, preview: bool) -> kofu_render::RenderedPdf {
    let renderer = Renderer::new().expect("renderer");
    let pdf = renderer.render(document, &stamp(preview)).expect("render");
    dump(&pdf.bytes);
    pdf
}

/// With KOFU_RENDER_DUMP_DIR set, keep every rendering for a human to look at.
fn dump(bytes: &[u8]) {
    if let Some(dir) = std::env::var_os("KOFU_RENDER_DUMP_DIR") {
        let name = format!(
            "{:016x}.pdf",
            bytes.iter().fold(0xcbf29ce484222325u64, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x100000001b3))
        );
        std::fs::write(std::path::Path::new(&dir).join(name), bytes).expect("dump PDF");
    }
}

fn assert_contains(haystack: &str, needle: &str, what: &str) {
    assert!(squash(haystack).contains(&squash(needle)), "{what} {needle:?} not found in extracted text:\n{haystack}");
}

#[test]
fn extracts_every_part_of_a_certificate() {
    let document = residence_certificate();
    let pdf = render(&document, false);
    assert_eq!(pdf.pages, 1);
    let text = pdftotext(&pdf.bytes, None);

    assert_contains(&text, &document.title, "title");
    for block in &document.blocks {
        match block {
            Block::KeyValues(rows) => {
                for row in rows {
                    assert_contains(&text, &row.key, "key");
                    // A multi-line value comes out line by line.
                    for line in row.value.lines() {
                        assert_contains(&text, line, "value");
                    }
                }
            }
            Block::Table(table) => {
                for column in &table.columns {
                    assert_contains(&text, &column.header, "header");
                }
                for cell in table.rows.iter().flatten() {
                    assert_contains(&text, cell, "cell");
                }
            }
            Block::Heading(t) => assert_contains(&text, &t.content, "heading"),
            _ => {}
        }
    }
    assert_contains(&text, &document.certification, "certification");
    let signature = &document.signature;
    assert_contains(&text, &signature.date_line, "date line");
    assert_contains(&text, &format!("{}　{}", signature.title, signature.name), "title and name");
    assert_contains(&text, &footer_text(&stamp(false), 1, 1), "footer");
    // Full-width spaces survive extraction, not just the characters around them.
    assert!(text.contains("見本　太郎"), "U+3000 lost in:\n{text}");
}

#[test]
fn long_tables_span_pages_with_footer_and_header_on_each() {
    let document = long_table(120);
    let pdf = render(&document, false);
    let pages = pdf.pages;
    assert!(pages >= 3, "120 rows took only {pages} pages");
    let stamp = stamp(false);
    for page in 1..=pages {
        let text = pdftotext(&pdf.bytes, Some(page));
        assert_contains(&text, &format!("発行番号 {}", stamp.issuance_number), "issuance number");
        assert!(text.contains(&format!("{page} / {pages}")), "page {page}: no \"{page} / {pages}\" in:\n{text}");
        assert_contains(&text, &footer_text(&stamp, page as usize, pages as usize), "footer");
        // The table spans every page but the last may hold only the closing.
        if page < pages {
            for header in ["年度", "税目", "税額", "納付済額"] {
                assert_contains(&text, header, &format!("page {page} header"));
            }
        }
    }
    let all = pdftotext(&pdf.bytes, None);
    for i in [1, 60, 120] {
        assert_contains(&all, &format!("市民税・県民税 第{i}期"), "row");
    }
    // The certification closes the last page only.
    let last = pdftotext(&pdf.bytes, Some(pages));
    assert_contains(&last, &document.certification, "certification");
    assert!(!squash(&pdftotext(&pdf.bytes, Some(1))).contains(&squash(&document.certification)));
}

#[test]
fn rows_never_split_across_pages() {
    // Rows of several lines each: a row either fits on a page or moves whole.
    let mut document = long_table(0);
    let Some(Block::Table(table)) = document.blocks.get_mut(1) else { panic!("table expected") };
    table.rows = (1..=40).map(|i| vec![format!("{i}"), format!("甲{i}\n乙\n丙"), "1円".into(), "1円".into()]).collect();
    let pdf = render(&document, false);
    assert!(pdf.pages >= 2);
    for page in 1..=pdf.pages {
        let text = squash(&pdftotext(&pdf.bytes, Some(page)));
        let starts = text.matches('甲').count();
        assert_eq!(starts, text.matches('丙').count(), "page {page} splits a row:\n{text}");
        assert_eq!(starts, text.matches('乙').count(), "page {page} splits a row:\n{text}");
    }
}

#[test]
fn key_value_groups_stay_on_one_page_when_they_fit() {
    // Twelve people of six rows each: a household certificate. No person may
    // start on one page and end on the next.
    let mut document = residence_certificate();
    document.blocks = (1..=12)
        .map(|i| {
            Block::KeyValues(vec![
                kv("氏名", &format!("見本　{i}郎")),
                kv("生年月日", "昭和60年4月1日"),
                kv("性別", "男"),
                kv("続柄", "子"),
                kv("住民となった年月日", "平成22年4月1日"),
                kv("住所を定めた年月日", &format!("令和3年10月{i}日終")),
            ])
        })
        .collect();
    let pdf = render(&document, false);
    assert!(pdf.pages >= 2, "twelve groups should need several pages");
    for page in 1..=pdf.pages {
        let text = squash(&pdftotext(&pdf.bytes, Some(page)));
        let starts = text.matches("見本").count() - text.matches("見本市長").count() - text.matches("見本一郎").count();
        let ends = text.matches("日終").count();
        assert_eq!(starts, ends, "page {page} splits a group:\n{text}");
    }
}

#[test]
fn renders_deterministically() {
    let document = long_table(50);
    let renderer = Renderer::new().expect("renderer");
    let a = renderer.render(&document, &stamp(false)).expect("render");
    let b = Renderer::new().expect("renderer").render(&document, &stamp(false)).expect("render");
    assert_eq!(a.bytes, b.bytes);

    let flate = Renderer::with_options(RenderOptions {
        compression: Compression::Flate { level: 6 },
        ..RenderOptions::default()
    })
    .expect("renderer");
    let c = flate.render(&document, &stamp(false)).expect("render");
    let d = flate.render(&document, &stamp(false)).expect("render");
    assert_eq!(c.bytes, d.bytes);
    assert!(c.bytes.len() < a.bytes.len() / 2, "flate {} vs plain {}", c.bytes.len(), a.bytes.len());
    assert_eq!(c.pages, a.pages);
    assert_eq!(squash(&pdftotext(&c.bytes, None)), squash(&pdftotext(&a.bytes, None)));
    assert!(String::from_utf8_lossy(&c.bytes).contains("/FlateDecode"));
    assert!(!String::from_utf8_lossy(&a.bytes).contains("/FlateDecode"));
    let (ok, report) = qpdf_check(&c.bytes);
    assert!(ok, "qpdf --check failed on flate output:\n{report}");
    assert!(!String::from_utf8_lossy(&a.bytes).contains("CreationDate"));
}

#[test]
fn passes_qpdf_check_and_embeds_subset_fonts() {
    for document in [residence_certificate(), seal_certificate(), long_table(120)] {
        let pdf = render(&document, true);
        let (ok, report) = qpdf_check(&pdf.bytes);
        assert!(ok, "qpdf --check failed:\n{report}");

        let fonts = pdffonts(&pdf.bytes);
        let rows: Vec<&str> = fonts.lines().skip(2).collect();
        assert_eq!(rows.len(), 2, "expected Gothic and Mincho:\n{fonts}");
        for row in rows {
            let fields: Vec<&str> = row.split_whitespace().collect();
            let name = fields[0];
            let tag = name.split('+').next().unwrap_or("");
            assert!(tag.len() == 6 && tag.chars().all(|c| c.is_ascii_uppercase()), "bad subset tag: {row}");
            assert!(name.ends_with("+IPAexGothic") || name.ends_with("+IPAexMincho"), "{row}");
            assert!(row.contains("CID TrueType") && row.contains("Identity-H"), "{row}");
            // emb, sub, uni
            assert_eq!(&fields[fields.len() - 5..fields.len() - 2], ["yes", "yes", "yes"], "{row}");
        }
    }
}

#[test]
fn unprintable_characters_are_refused_with_their_place() {
    let renderer = Renderer::new().expect("renderer");
    let mut document = residence_certificate();
    if let Some(Block::KeyValues(rows)) = document.blocks.get_mut(0) {
        rows[2].value = "昭和60年\u{E000}月".into();
    }
    let error = renderer.render(&document, &stamp(false)).expect_err("private-use character");
    match &error {
        RenderError::UnprintableCharacter { character, place, .. } => {
            assert_eq!(*character, '\u{E000}');
            assert_eq!(place, "block 1 (key-values)");
        }
        other => panic!("unexpected error {other:?}"),
    }
    let message = error.to_string();
    assert!(
        message.contains("U+E000") && message.contains("block 1 (key-values)") && message.contains("IPAex Mincho"),
        "{message}"
    );
    assert!(message.contains("cannot be printed at a kiosk"), "{message}");

    let mut document = residence_certificate();
    document.signature.name = "見本 太郎😀".into();
    match renderer.render(&document, &stamp(false)) {
        Err(RenderError::UnprintableCharacter { character: '😀', place, .. }) => assert_eq!(place, "signature"),
        other => panic!("unexpected {other:?}"),
    }

    let mut document = residence_certificate();
    document.title = "住民票\u{1F600}".into();
    assert!(matches!(
        renderer.render(&document, &stamp(false)),
        Err(RenderError::UnprintableCharacter { place, .. }) if place == "title"
    ));

    let mut bad_stamp = stamp(false);
    bad_stamp.verification_code = "\u{E000}".into();
    assert!(matches!(
        renderer.render(&residence_certificate(), &bad_stamp),
        Err(RenderError::UnprintableCharacter { place, .. }) if place == "footer"
    ));

    let mut document = residence_certificate();
    document.certification = "証明\u{7}する".into();
    assert!(matches!(
        renderer.render(&document, &stamp(false)),
        Err(RenderError::UnprintableCharacter { place, .. }) if place == "certification"
    ));
}

#[test]
fn ascii_and_supplementary_characters_render() {
    // 𠮟 (U+20B9F) is in IPAex; ASCII and U+3000 must work everywhere.
    let mut document = residence_certificate();
    document.blocks.push(Block::Paragraph(text(
        "Address: 1-2-3 Hon-cho, Mihon City　𠮟る",
        Face::Gothic,
        TextSize::Normal,
        Align::Right,
    )));
    let pdf = render(&document, false);
    let text = pdftotext(&pdf.bytes, None);
    assert_contains(&text, "Address: 1-2-3 Hon-cho, Mihon City　𠮟る", "paragraph");
}

#[test]
fn preview_marker_only_on_previews() {
    let document = long_table(120);
    let preview = render(&document, true);
    for page in 1..=preview.pages {
        assert_contains(&pdftotext(&preview.bytes, Some(page)), PREVIEW_MARKER, &format!("page {page} marker"));
    }
    let real = render(&document, false);
    let text = pdftotext(&real.bytes, None);
    assert!(!squash(&text).contains("プレビュー"), "marker on a real certificate:\n{text}");
    assert_eq!(preview.pages, real.pages);
}

#[test]
fn page_breaks_and_seals() {
    let mut document = seal_certificate();
    document.blocks.insert(1, Block::PageBreak);
    document.blocks.push(Block::PageBreak);
    document.blocks.push(Block::PageBreak); // a second break adds no blank page
    let pdf = render(&document, false);
    assert_eq!(pdf.pages, 3);
    let first = squash(&pdftotext(&pdf.bytes, Some(1)));
    assert!(first.contains("印鑑登録証明書") && first.contains("印影") && !first.contains("見本太郎"), "{first}");
    // The seal impression's characters are on page 2.
    assert_contains(&pdftotext(&pdf.bytes, Some(2)), "登録番号", "key on page 2");
    assert_contains(&pdftotext(&pdf.bytes, Some(3)), &document.certification, "certification alone on page 3");
}

#[test]
fn hostile_documents_do_not_panic() {
    let renderer = Renderer::new().expect("renderer");
    let huge_cell = "長".repeat(20_000);
    let documents = vec![
        Document { title: String::new(), blocks: vec![], certification: String::new(), signature: signature() },
        Document {
            title: "表".into(),
            blocks: vec![
                Block::Table(Table { columns: vec![], rows: vec![vec!["x".into()]] }),
                Block::Table(Table {
                    columns: vec![column("", 0, Align::Left); 40],
                    rows: vec![vec!["ａ".repeat(50)], vec![]],
                }),
                Block::Table(Table {
                    columns: vec![column(&"見出し".repeat(300), 1, Align::Left); 8],
                    rows: vec![vec![huge_cell.clone(); 8]],
                }),
                Block::KeyValues(vec![]),
                Block::KeyValues(vec![kv(&huge_cell, &huge_cell)]),
                Block::Spacing(255),
                Block::SealImpression("".into()),
                Block::SealImpression("あいうえおかきくけこさしすせそ".into()),
                Block::Paragraph(text("\n\n\n", Face::Mincho, TextSize::Title, Align::Center)),
            ],
            certification: "証".repeat(5_000),
            signature: kofu_model::Signature {
                date_line: "日".repeat(500),
                title: "長".repeat(500),
                name: String::new(),
                seal: "印".repeat(40),
            },
        },
    ];
    for document in documents {
        // Either a sound PDF, or the refusal of what paper cannot hold.
        match renderer.render(&document, &stamp(true)) {
            Ok(pdf) => {
                let (ok, report) = qpdf_check(&pdf.bytes);
                assert!(ok, "{report}");
            }
            Err(RenderError::RowTooTall { .. } | RenderError::TooManyPages { .. }) => {}
            Err(err) => panic!("render: {err:?}"),
        }
    }
}

/// Each glyph poppler finds in `pdf` whose text is one of `chars`, with its
/// box (x min, y min, x max, y max; y from the top of the page).
fn glyph_boxes(pdf: &[u8], chars: &[char]) -> Vec<(char, [f32; 4])> {
    use std::io::Write;
    let mut child = std::process::Command::new("pdftotext")
        .args(["-bbox", "-", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("pdftotext (poppler-utils)");
    child.stdin.take().expect("stdin").write_all(pdf).expect("write");
    let output = child.wait_with_output().expect("pdftotext");
    let text = String::from_utf8_lossy(&output.stdout);
    let attribute = |line: &str, name: &str| -> f32 {
        let start = line.find(&format!("{name}=\"")).expect("attribute") + name.len() + 2;
        line[start..].split('"').next().expect("value").parse().expect("number")
    };
    text.lines()
        .filter_map(|line| {
            let word = line.split('>').nth(1)?.split('<').next()?;
            let mut letters = word.chars();
            let (Some(c), None) = (letters.next(), letters.next()) else { return None };
            chars.contains(&c).then(|| {
                (
                    c,
                    [
                        attribute(line, "xMin"),
                        attribute(line, "yMin"),
                        attribute(line, "xMax"),
                        attribute(line, "yMax"),
                    ],
                )
            })
        })
        .collect()
}

#[test]
fn official_seals_of_every_length_fill_their_frame_column_by_column() {
    // Characters that appear nowhere else on the certificate.
    let all: Vec<char> = "甲乙丙丁戊己庚辛壬癸卯辰".chars().collect();
    let mm = 72.0 / 25.4;
    let inner = 18.0 * mm - 4.0;
    for count in 2..=12 {
        let seal = &all[..count];
        let mut document = residence_certificate();
        document.signature.seal = seal.iter().collect();
        let pdf = render(&document, false);
        let boxes = glyph_boxes(&pdf.bytes, seal);
        assert_eq!(boxes.len(), count, "{count}: {boxes:?}");
        let span = |i: usize, j: usize| {
            boxes.iter().map(|(_, b)| b[j]).fold(f32::MIN, f32::max)
                - boxes.iter().map(|(_, b)| b[i]).fold(f32::MAX, f32::min)
        };
        assert!(span(0, 2) <= inner + 0.5 && span(1, 3) <= inner + 0.5, "{count}: the seal spills out: {boxes:?}");
        // Reading order: down each column, columns from right to left; no
        // column is a lone character beside longer ones, and each column
        // of several characters runs down most of the frame.
        let mut columns: Vec<Vec<[f32; 4]>> = Vec::new();
        for c in seal {
            let b = boxes.iter().find(|(g, _)| g == c).expect("glyph").1;
            match columns.last_mut() {
                Some(column) if (column[0][0] - b[0]).abs() < 1.0 => {
                    assert!(b[1] > column.last().expect("glyph")[1], "{count}: {c} is not below the one before it");
                    column.push(b);
                }
                Some(column) => {
                    assert!(b[0] < column[0][0], "{count}: column of {c} is not left of the one before it");
                    columns.push(vec![b]);
                }
                None => columns.push(vec![b]),
            }
        }
        let lengths: Vec<usize> = columns.iter().map(Vec::len).collect();
        let (long, short) = (lengths.iter().max().copied().unwrap_or(0), lengths.iter().min().copied().unwrap_or(0));
        assert!(long - short <= 1 && !(short == 1 && long > 1), "{count}: columns {lengths:?}");
        for column in columns.iter().filter(|c| c.len() > 1) {
            let height = column.last().expect("glyph")[3] - column[0][1];
            assert!(height > 0.6 * inner, "{count}: a column of {} runs only {height} of {inner} pt", column.len());
        }
    }
}
