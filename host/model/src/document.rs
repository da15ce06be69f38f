//! The document model a plugin returns and the host renders. Plugins never
//! produce PDF: they describe blocks, and the host lays them out.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Face {
    Mincho,
    Gothic,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TextSize {
    Small,
    Normal,
    Large,
    Title,
}

impl TextSize {
    /// Size in PDF points.
    pub fn points(self) -> f32 {
        match self {
            TextSize::Small => 8.0,
            TextSize::Normal => 10.5,
            TextSize::Large => 13.0,
            TextSize::Title => 20.0,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Align {
    Left,
    Center,
    Right,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Text {
    pub content: String,
    pub face: Face,
    pub size: TextSize,
    pub align: Align,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyValue {
    pub key: String,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Column {
    pub header: String,
    pub weight: u8,
    pub align: Align,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Table {
    pub columns: Vec<Column>,
    pub rows: Vec<Vec<String>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Block {
    Heading(Text),
    Paragraph(Text),
    KeyValues(Vec<KeyValue>),
    Table(Table),
    Rule,
    /// Millimetres.
    Spacing(u8),
    SealImpression(String),
    PageBreak,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signature {
    pub date_line: String,
    pub title: String,
    pub name: String,
    pub seal: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Document {
    pub title: String,
    pub blocks: Vec<Block>,
    pub certification: String,
    pub signature: Signature,
}

/// Why a document cannot be rendered, naming the block at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DocumentError {
    #[error("the document is {size} bytes, over the output limit of {limit} bytes")]
    TooLarge { size: usize, limit: usize },
    #[error("the document has {count} blocks, over the limit of {limit}")]
    TooManyBlocks { count: usize, limit: usize },
    #[error("{place}: {problem}")]
    Invalid { place: String, problem: String },
}

/// What [`Document::content_size`] counts for every string and every list
/// element besides the string's own bytes.
pub const CONTENT_ITEM_BYTES: usize = 8;

const MAX_BLOCKS: usize = 2_000;
const MAX_COLUMNS: usize = 8;
const MAX_SPACING_MM: u8 = 100;
/// A seal impression on a seal certificate (a person's registered seal).
const MAX_SEAL_CHARS: usize = 8;
/// An official seal's text, e.g. いちき串木野市長之印 (10).
const MAX_OFFICIAL_SEAL_CHARS: usize = 16;

impl Document {
    /// Size of the document's content, the figure the output limit applies to:
    /// every string's bytes plus [`CONTENT_ITEM_BYTES`], and
    /// [`CONTENT_ITEM_BYTES`] for every element of every list (blocks, rows,
    /// columns, cells), so that millions of empty cells count too. The
    /// sandbox charges the same while it lifts the document out of the
    /// plugin's memory, and stops at the limit before copying more.
    pub fn content_size(&self) -> usize {
        const ITEM: usize = CONTENT_ITEM_BYTES;
        let text = |t: &str| t.len() + ITEM;
        let blocks: usize = self
            .blocks
            .iter()
            .map(|block| {
                ITEM + match block {
                    Block::Heading(t) | Block::Paragraph(t) => text(&t.content),
                    Block::KeyValues(rows) => rows.iter().map(|r| ITEM + text(&r.key) + text(&r.value)).sum(),
                    Block::Table(table) => {
                        table.columns.iter().map(|c| ITEM + text(&c.header)).sum::<usize>()
                            + table
                                .rows
                                .iter()
                                .map(|row| ITEM + row.iter().map(|cell| ITEM + text(cell)).sum::<usize>())
                                .sum::<usize>()
                    }
                    Block::SealImpression(s) => text(s),
                    Block::Rule | Block::Spacing(_) | Block::PageBreak => 0,
                }
            })
            .sum();
        let signature = &self.signature;
        text(&self.title)
            + blocks
            + text(&self.certification)
            + text(&signature.date_line)
            + text(&signature.title)
            + text(&signature.name)
            + text(&signature.seal)
    }

    /// Check the document's structure and size. Glyph coverage is the
    /// renderer's check, since it depends on the fonts.
    pub fn validate(&self, output_limit: usize) -> Result<(), DocumentError> {
        let size = self.content_size();
        if size > output_limit {
            return Err(DocumentError::TooLarge { size, limit: output_limit });
        }
        if self.blocks.len() > MAX_BLOCKS {
            return Err(DocumentError::TooManyBlocks { count: self.blocks.len(), limit: MAX_BLOCKS });
        }
        single_line("title", &self.title, true)?;
        for (index, block) in self.blocks.iter().enumerate() {
            let place = format!("block {} ({})", index + 1, block.kind_name());
            validate_block(&place, block)?;
        }
        multi_line("certification", &self.certification, true)?;
        single_line("signature date line", &self.signature.date_line, true)?;
        single_line("signature title", &self.signature.title, true)?;
        single_line("signature name", &self.signature.name, true)?;
        single_line("signature seal", &self.signature.seal, false)?;
        if self.signature.seal.chars().count() > MAX_OFFICIAL_SEAL_CHARS {
            return Err(invalid(
                "signature seal",
                format!("at most {MAX_OFFICIAL_SEAL_CHARS} characters fit in an official seal"),
            ));
        }
        Ok(())
    }

    /// Put every text of the document into Unicode normalisation form C,
    /// the form it is checked, rendered and hashed in: a name typed with a
    /// combining mark and the same name precomposed are then the same text.
    pub fn normalize(&mut self) {
        self.for_each_text_mut(|text| {
            if !unicode_normalization::is_nfc(text) {
                *text = crate::text::nfc(text);
            }
        });
    }

    /// Every text of the document, in reading order: title, blocks (table
    /// headers before cells), certification, signature.
    pub fn for_each_text<'d>(&'d self, mut visit: impl FnMut(&'d str)) {
        visit(&self.title);
        for block in &self.blocks {
            match block {
                Block::Heading(t) | Block::Paragraph(t) => visit(&t.content),
                Block::KeyValues(rows) => rows.iter().for_each(|r| {
                    visit(&r.key);
                    visit(&r.value);
                }),
                Block::Table(table) => {
                    table.columns.iter().for_each(|c| visit(&c.header));
                    table.rows.iter().flatten().for_each(|cell| visit(cell));
                }
                Block::SealImpression(s) => visit(s),
                Block::Rule | Block::Spacing(_) | Block::PageBreak => {}
            }
        }
        visit(&self.certification);
        let s = &self.signature;
        [&s.date_line, &s.title, &s.name, &s.seal].into_iter().for_each(|t| visit(t));
    }

    fn for_each_text_mut(&mut self, mut visit: impl FnMut(&mut String)) {
        visit(&mut self.title);
        for block in &mut self.blocks {
            match block {
                Block::Heading(t) | Block::Paragraph(t) => visit(&mut t.content),
                Block::KeyValues(rows) => rows.iter_mut().for_each(|r| {
                    visit(&mut r.key);
                    visit(&mut r.value);
                }),
                Block::Table(table) => {
                    table.columns.iter_mut().for_each(|c| visit(&mut c.header));
                    table.rows.iter_mut().flatten().for_each(&mut visit);
                }
                Block::SealImpression(s) => visit(s),
                Block::Rule | Block::Spacing(_) | Block::PageBreak => {}
            }
        }
        visit(&mut self.certification);
        let s = &mut self.signature;
        [&mut s.date_line, &mut s.title, &mut s.name, &mut s.seal].into_iter().for_each(visit);
    }

    /// SHA-256 of the document's canonical JSON encoding. Two documents with
    /// the same content have the same hash on every host build.
    pub fn canonical_hash(&self) -> [u8; 32] {
        // Struct fields serialize in declaration order and there are no maps,
        // so serde_json's output is canonical for this type.
        let bytes = serde_json::to_vec(self).unwrap_or_default();
        Sha256::digest(&bytes).into()
    }
}

impl Block {
    /// The block's WIT case name, e.g. `key-values`, for messages.
    pub fn kind_name(&self) -> &'static str {
        match self {
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
}

fn invalid(place: &str, problem: String) -> DocumentError {
    DocumentError::Invalid { place: place.to_owned(), problem }
}

fn check_text(place: &str, text: &str, required: bool, newlines: bool) -> Result<(), DocumentError> {
    if required && text.trim().is_empty() {
        return Err(invalid(place, "is empty".into()));
    }
    if let Some(c) = crate::text::unsafe_char(text, newlines) {
        let what = if c == '\n' {
            "a line break, which this text may not hold"
        } else if c.is_control() {
            "a control character"
        } else {
            "an invisible formatting character (e.g. a bidirectional override)"
        };
        return Err(invalid(place, format!("holds {what}, U+{:04X}; remove it", c as u32)));
    }
    if !unicode_normalization::is_nfc(text) {
        return Err(invalid(place, "is not in Unicode normalisation form C".into()));
    }
    Ok(())
}

fn single_line(place: &str, text: &str, required: bool) -> Result<(), DocumentError> {
    check_text(place, text, required, false)
}

fn multi_line(place: &str, text: &str, required: bool) -> Result<(), DocumentError> {
    check_text(place, text, required, true)
}

fn validate_block(place: &str, block: &Block) -> Result<(), DocumentError> {
    match block {
        Block::Heading(text) => single_line(place, &text.content, true),
        Block::Paragraph(text) => multi_line(place, &text.content, true),
        Block::KeyValues(rows) => {
            if rows.is_empty() {
                return Err(invalid(place, "has no rows".into()));
            }
            for (i, row) in rows.iter().enumerate() {
                single_line(&format!("{place}, row {} key", i + 1), &row.key, true)?;
                multi_line(&format!("{place}, row {} value", i + 1), &row.value, false)?;
            }
            Ok(())
        }
        Block::Table(table) => {
            let columns = table.columns.len();
            if columns == 0 || columns > MAX_COLUMNS {
                return Err(invalid(place, format!("has {columns} columns; a table has 1 to {MAX_COLUMNS}")));
            }
            for (i, column) in table.columns.iter().enumerate() {
                single_line(&format!("{place}, column {} header", i + 1), &column.header, false)?;
                if column.weight == 0 {
                    return Err(invalid(place, format!("column {} has weight 0; give it 1 or more", i + 1)));
                }
            }
            for (r, row) in table.rows.iter().enumerate() {
                if row.len() != columns {
                    return Err(invalid(
                        place,
                        format!("row {} has {} cells but the table has {columns} columns", r + 1, row.len()),
                    ));
                }
                for (c, cell) in row.iter().enumerate() {
                    multi_line(&format!("{place}, row {} cell {}", r + 1, c + 1), cell, false)?;
                }
            }
            Ok(())
        }
        Block::Spacing(mm) if *mm > MAX_SPACING_MM => {
            Err(invalid(place, format!("{mm} mm of space is over the limit of {MAX_SPACING_MM} mm")))
        }
        Block::SealImpression(chars) => {
            single_line(place, chars, true)?;
            if chars.chars().count() > MAX_SEAL_CHARS {
                return Err(invalid(place, format!("at most {MAX_SEAL_CHARS} characters fit in a seal")));
            }
            Ok(())
        }
        Block::Rule | Block::Spacing(_) | Block::PageBreak => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn document(blocks: Vec<Block>) -> Document {
        Document {
            title: "住民票の写し".into(),
            blocks,
            certification: "この写しは、住民票の原本と相違ないことを証明する。".into(),
            signature: Signature {
                date_line: "令和7年11月21日".into(),
                title: "見本市長".into(),
                name: "見本 一郎".into(),
                seal: "見本市長之印".into(),
            },
        }
    }

    #[test]
    fn table_rows_must_match_columns() {
        let doc = document(vec![Block::Table(Table {
            columns: vec![Column { header: "氏名".into(), weight: 1, align: Align::Left }],
            rows: vec![vec!["a".into(), "b".into()]],
        })]);
        let err = doc.validate(100_000).unwrap_err().to_string();
        assert!(err.contains("block 1 (table)") && err.contains("row 1 has 2 cells"), "{err}");
    }

    #[test]
    fn output_limit_applies_to_content() {
        let doc = document(vec![Block::Paragraph(Text {
            content: "あ".repeat(10_000),
            face: Face::Mincho,
            size: TextSize::Normal,
            align: Align::Left,
        })]);
        assert!(matches!(doc.validate(20_000), Err(DocumentError::TooLarge { .. })));
        assert!(doc.validate(40_000).is_ok());
    }

    #[test]
    fn canonical_hash_follows_content() {
        let a = document(vec![Block::Rule]);
        let mut b = a.clone();
        assert_eq!(a.canonical_hash(), b.canonical_hash());
        b.blocks.push(Block::Rule);
        assert_ne!(a.canonical_hash(), b.canonical_hash());
    }
}
