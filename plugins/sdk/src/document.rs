//! [`DocumentBuilder`]: the certificate's layout, top to bottom.

use crate::{Align, Block, Column, Document, Face, KeyValue, Request, Sex, Signature, Table, Text, TextSize, era};

/// Most characters the host draws in a seal outline (a seal impression block
/// or the signature's official seal); longer seals fail the document.
pub const MAX_SEAL_CHARS: usize = 8;

/// Most vertical space one spacing block may take, in millimetres.
pub const MAX_SPACING_MM: u8 = 100;

/// Sex as printed on certificates: 男 or 女.
pub fn sex_label(sex: Sex) -> &'static str {
    match sex {
        Sex::Male => "男",
        Sex::Female => "女",
    }
}

/// Builds a [`Document`] block by block.
///
/// ```
/// # use kofu_plugin_sdk::{Document, DocumentBuilder, Request};
/// # fn layout(request: &Request) -> Document {
/// let document = DocumentBuilder::new("住民票の写し")
///     .row("氏名", "見本 太郎")
///     .row("住所", "見本市中央一丁目1番1号")
///     .paragraph("以下余白")
///     .certification("この写しは、住民票の原本と相違ないことを証明する。")
///     .signed_by(request)
///     .build();
/// # document
/// # }
/// ```
///
/// The host checks the result: a document needs a certification sentence and
/// a signature, so call [`certification`](Self::certification) and
/// [`signed_by`](Self::signed_by) (or [`signature`](Self::signature)).
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use = "a builder does nothing until `build` is called"]
pub struct DocumentBuilder {
    title: String,
    blocks: Vec<Block>,
    certification: String,
    signature: Option<Signature>,
}

impl DocumentBuilder {
    /// An empty document with its title, e.g. 住民票の写し.
    pub fn new(title: impl Into<String>) -> DocumentBuilder {
        DocumentBuilder { title: title.into(), blocks: Vec::new(), certification: String::new(), signature: None }
    }

    /// Append any block.
    pub fn block(mut self, block: Block) -> DocumentBuilder {
        self.blocks.push(block);
        self
    }

    /// A heading: Gothic, large, flush left. One line.
    pub fn heading(self, content: impl Into<String>) -> DocumentBuilder {
        self.block(Block::Heading(Text::new(content, Face::Gothic, TextSize::Large, Align::Left)))
    }

    /// A paragraph: Mincho, normal size, flush left. `\n` breaks lines.
    pub fn paragraph(self, content: impl Into<String>) -> DocumentBuilder {
        self.text(Text::new(content, Face::Mincho, TextSize::Normal, Align::Left))
    }

    /// A paragraph in a style of your own.
    pub fn text(self, text: Text) -> DocumentBuilder {
        self.block(Block::Paragraph(text))
    }

    /// A new group of labelled values (氏名 | 見本 太郎, ...). A group with no
    /// rows adds nothing, since the host rejects empty groups.
    pub fn key_values<K, V>(self, rows: impl IntoIterator<Item = (K, V)>) -> DocumentBuilder
    where
        K: Into<String>,
        V: Into<String>,
    {
        let rows: Vec<KeyValue> =
            rows.into_iter().map(|(key, value)| KeyValue { key: key.into(), value: value.into() }).collect();
        if rows.is_empty() {
            return self;
        }
        self.block(Block::KeyValues(rows))
    }

    /// One labelled value, added to the group the document ends with, or
    /// starting a group when the last block is something else. Separate two
    /// groups with another block, e.g. [`spacing`](Self::spacing).
    pub fn row(mut self, key: impl Into<String>, value: impl Into<String>) -> DocumentBuilder {
        let row = KeyValue { key: key.into(), value: value.into() };
        match self.blocks.last_mut() {
            Some(Block::KeyValues(rows)) => rows.push(row),
            _ => self.blocks.push(Block::KeyValues(vec![row])),
        }
        self
    }

    /// A table; each row needs exactly one cell per column.
    pub fn table(self, columns: Vec<Column>, rows: Vec<Vec<String>>) -> DocumentBuilder {
        self.block(Block::Table(Table { columns, rows }))
    }

    /// A horizontal rule.
    pub fn rule(self) -> DocumentBuilder {
        self.block(Block::Rule)
    }

    /// Vertical space in millimetres, capped at [`MAX_SPACING_MM`].
    pub fn spacing(self, mm: u8) -> DocumentBuilder {
        self.block(Block::Spacing(mm.min(MAX_SPACING_MM)))
    }

    /// A registered seal impression (at most [`MAX_SEAL_CHARS`] characters),
    /// drawn in a seal outline.
    pub fn seal_impression(self, characters: impl Into<String>) -> DocumentBuilder {
        self.block(Block::SealImpression(characters.into()))
    }

    /// Start the next block on a new page.
    pub fn page_break(self) -> DocumentBuilder {
        self.block(Block::PageBreak)
    }

    /// The certification sentence, e.g.
    /// この写しは、住民票の原本と相違ないことを証明する。
    pub fn certification(mut self, sentence: impl Into<String>) -> DocumentBuilder {
        self.certification = sentence.into();
        self
    }

    /// Sign as the issuing municipality's mayor: dated with the issue date in
    /// 和暦, the mayor's title and name, and the official seal
    /// `{mayor title}之印` (e.g. 見本市長之印).
    pub fn signed_by(self, request: &Request) -> DocumentBuilder {
        let municipality = request.municipality();
        self.signature(Signature {
            date_line: era::format_date_or_western(request.issue_date()),
            title: municipality.mayor_title.clone(),
            name: municipality.mayor_name.clone(),
            seal: format!("{}之印", municipality.mayor_title),
        })
    }

    /// A signature of your own.
    pub fn signature(mut self, signature: Signature) -> DocumentBuilder {
        self.signature = Some(signature);
        self
    }

    /// The finished document. Without a signature, its fields are empty and
    /// the host rejects the document.
    pub fn build(self) -> Document {
        let signature = self.signature.unwrap_or_else(|| Signature {
            date_line: String::new(),
            title: String::new(),
            name: String::new(),
            seal: String::new(),
        });
        Document { title: self.title, blocks: self.blocks, certification: self.certification, signature }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Date, Municipality, RequestContext};

    fn request() -> Request {
        Request::new(RequestContext {
            issue_date: Date { year: 2025, month: 11, day: 21 },
            municipality: Municipality {
                code: "999999".into(),
                name: "見本市".into(),
                mayor_title: "見本市長".into(),
                mayor_name: "見本 一郎".into(),
            },
            options: Vec::new(),
        })
    }

    #[test]
    fn rows_join_the_trailing_group() {
        let document = DocumentBuilder::new("住民票の写し")
            .row("氏名", "見本 太郎")
            .row("性別", "男")
            .spacing(3)
            .row("氏名", "見本 花子")
            .build();
        assert_eq!(document.blocks.len(), 3);
        assert!(matches!(&document.blocks[0], Block::KeyValues(rows) if rows.len() == 2));
        assert!(matches!(&document.blocks[2], Block::KeyValues(rows) if rows.len() == 1));
    }

    #[test]
    fn empty_groups_and_oversized_spacing_are_avoided() {
        let document = DocumentBuilder::new("t").key_values(Vec::<(String, String)>::new()).spacing(250).build();
        assert_eq!(document.blocks, vec![Block::Spacing(MAX_SPACING_MM)]);
    }

    #[test]
    fn default_styles() {
        let document = DocumentBuilder::new("t").heading("見出し").paragraph("本文").build();
        assert_eq!(
            document.blocks,
            vec![
                Block::Heading(Text::new("見出し", Face::Gothic, TextSize::Large, Align::Left)),
                Block::Paragraph(Text::new("本文", Face::Mincho, TextSize::Normal, Align::Left)),
            ]
        );
    }

    #[test]
    fn signed_by_the_mayor() {
        let document = DocumentBuilder::new("住民票の写し")
            .certification("この写しは、住民票の原本と相違ないことを証明する。")
            .signed_by(&request())
            .build();
        assert_eq!(
            document.signature,
            Signature {
                date_line: "令和7年11月21日".into(),
                title: "見本市長".into(),
                name: "見本 一郎".into(),
                seal: "見本市長之印".into(),
            }
        );
        assert_eq!(document.certification, "この写しは、住民票の原本と相違ないことを証明する。");
    }
}
