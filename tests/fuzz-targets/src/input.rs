//! Any bytes as a document model value. A plugin hands the host a document
//! through the component model, not as JSON, so every value of the type is
//! reachable; this reader reaches them from short inputs, with the
//! characters the layout treats specially (line breaks, kinsoku, spaces,
//! Latin words, glyphs the fonts lack, control characters) one byte away.

use kofu_model::{Align, Block, Column, Document, Face, KeyValue, Signature, Table, Text, TextSize};

/// Characters one byte away: what the validator, the shaper and the line
/// breaker decide on.
const PALETTE: [char; 48] = [
    'あ', '漢', '字', '証', '明', '書', 'ア', 'ン', '　', ' ', '\n', 'A', 'b', 'W', '1', '0', '、', '。', '（', '）',
    '「', '」', 'ー', '・', 'ッ', '々', '：', '!', '?', '%', '(', '[', '円', '〒', '-', '.', ',', '\t', '\u{0}',
    '\u{7f}', '\u{85}', '\u{200b}', '\u{feff}', '\u{301}', '😀', '\u{e000}', '髙', '﨑',
];

/// Where a byte reads from: the bytes, then zeros for ever, so that every
/// input is some document.
pub(crate) struct Input<'a> {
    bytes: &'a [u8],
}

impl<'a> Input<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Input<'a> {
        Input { bytes }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    fn byte(&mut self) -> u8 {
        match self.bytes.split_first() {
            Some((&first, rest)) => {
                self.bytes = rest;
                first
            }
            None => 0,
        }
    }

    fn char(&mut self) -> char {
        let b = self.byte();
        match PALETTE.get(usize::from(b)) {
            Some(&c) => c,
            // The rest of the byte range picks from the CJK, kana and
            // full-width blocks, where most glyph coverage questions are.
            None => {
                let base = [0x4E00, 0x3040, 0xFF00, 0x2000, 0x0000][usize::from(b % 5)];
                char::from_u32(base + u32::from(self.byte())).unwrap_or('?')
            }
        }
    }

    /// A text: a length byte, then that many characters; lengths from 0xF0
    /// repeat one character up to 2,048 times, for lines and words that do
    /// not fit.
    fn text(&mut self) -> String {
        let n = self.byte();
        if n >= 0xF0 {
            let count = usize::from(n - 0xEF) * 128;
            let c = self.char();
            return std::iter::repeat_n(c, count).collect();
        }
        (0..n % 48).map(|_| self.char()).collect()
    }

    fn face(&mut self) -> Face {
        if self.byte().is_multiple_of(2) { Face::Mincho } else { Face::Gothic }
    }

    fn size(&mut self) -> TextSize {
        [TextSize::Small, TextSize::Normal, TextSize::Large, TextSize::Title][usize::from(self.byte() % 4)]
    }

    fn align(&mut self) -> Align {
        [Align::Left, Align::Center, Align::Right][usize::from(self.byte() % 3)]
    }

    fn styled(&mut self) -> Text {
        Text { content: self.text(), face: self.face(), size: self.size(), align: self.align() }
    }

    fn block(&mut self) -> Block {
        match self.byte() % 8 {
            0 => Block::Heading(self.styled()),
            1 => Block::Paragraph(self.styled()),
            2 => {
                let rows = self.byte() % 8;
                Block::KeyValues((0..rows).map(|_| KeyValue { key: self.text(), value: self.text() }).collect())
            }
            3 => self.table(),
            4 => Block::Rule,
            5 => Block::Spacing(self.byte()),
            6 => Block::SealImpression(self.text()),
            _ => Block::PageBreak,
        }
    }

    fn table(&mut self) -> Block {
        // 0 and 9 columns are out of bounds; validation must catch them.
        let count = self.byte() % 10;
        let columns: Vec<Column> =
            (0..count).map(|_| Column { header: self.text(), weight: self.byte() % 12, align: self.align() }).collect();
        // Rows come in runs so that a table can span pages from a short input.
        let mut rows = Vec::new();
        for _ in 0..self.byte() % 6 {
            let cells = if self.byte() == 0xFF { usize::from(count) + 1 } else { usize::from(count) };
            let row: Vec<String> = (0..cells).map(|_| self.text()).collect();
            let repeat = usize::from(self.byte() % 16) + 1;
            rows.extend(std::iter::repeat_n(row, repeat));
        }
        Block::Table(Table { columns, rows })
    }

    /// The whole document: the fixed parts first, then blocks until the
    /// input runs out.
    pub(crate) fn document(&mut self) -> Document {
        let title = self.text();
        let certification = self.text();
        let signature = Signature { date_line: self.text(), title: self.text(), name: self.text(), seal: self.text() };
        let mut blocks = Vec::new();
        while !self.is_empty() {
            blocks.push(self.block());
        }
        Document { title, blocks, certification, signature }
    }
}
