//! The text a page's content streams show. Only text operators are
//! interpreted; graphics operators are recognised, their operands checked,
//! and skipped. Operators that would draw content we do not read (XObjects,
//! inline images, Type 3 glyphs) or that we do not know are errors, so
//! nothing a page draws goes unread.

use super::cmap::ToUnicode;
use super::file::Document;
use super::lexer::{Lexer, Token, ascii, decode_hex, decode_literal};
use super::object::{Dict, Object};
use super::pages::Page;

/// Arrays and dictionaries in a content stream (TJ arrays, marked-content
/// properties) nest no deeper than this.
const MAX_NESTING: usize = 32;

/// The ToUnicode maps read so far, by font object number: pages share
/// their fonts, so each map is read once per file.
#[derive(Default)]
pub(super) struct Fonts(Vec<(u32, ToUnicode)>);

/// The text of one page: all of it, and where each text object sits.
pub(super) struct PageText {
    /// Every text object's text, each ending in a line break, trimmed at
    /// the end.
    pub text: String,
    pub runs: Vec<Run>,
}

/// One text object (BT … ET): its text, as a range of [`PageText::text`],
/// and the lowest and highest baseline it shows text at, in points from
/// the bottom of the page.
pub(super) struct Run {
    pub range: std::ops::Range<usize>,
    pub y_min: f32,
    pub y_max: f32,
}

/// The text of `page`, or why it could not be read.
pub(super) fn page_text(document: &Document<'_>, page: &Page<'_, '_>, fonts: &mut Fonts) -> Result<PageText, String> {
    let mut reader = Reader {
        document,
        resources: page.resources,
        fonts,
        font: None,
        in_text: false,
        out: String::with_capacity(1024),
        scratch: Vec::with_capacity(256),
        ctm: IDENTITY,
        saved: Vec::new(),
        tm: IDENTITY,
        tlm: IDENTITY,
        leading: 0.0,
        run_start: 0,
        run_y: None,
        runs: Vec::new(),
    };
    for number in contents(document, page.dict)? {
        let data = document.stream(number)?;
        reader.run(&data).map_err(|e| format!("content stream {number}: {e}"))?;
    }
    if reader.in_text {
        return Err("the content ends inside a text object (BT without ET)".into());
    }
    let mut text = reader.out;
    text.truncate(text.trim_end().len());
    let mut runs = reader.runs;
    for run in &mut runs {
        run.range.end = run.range.end.min(text.len());
    }
    Ok(PageText { text, runs })
}

/// A PDF matrix [a b c d e f].
type Matrix = [f32; 6];
const IDENTITY: Matrix = [1.0, 0.0, 0.0, 1.0, 0.0, 0.0];
/// Most graphics states saved at once (q without Q).
const MAX_SAVED: usize = 64;

/// `m` then `n`: the PDF product m × n.
fn multiply(m: &Matrix, n: &Matrix) -> Matrix {
    [
        m[0] * n[0] + m[1] * n[2],
        m[0] * n[1] + m[1] * n[3],
        m[2] * n[0] + m[3] * n[2],
        m[2] * n[1] + m[3] * n[3],
        m[4] * n[0] + m[5] * n[2] + n[4],
        m[4] * n[1] + m[5] * n[3] + n[5],
    ]
}

fn numbers<const N: usize>(operands: &[Token<'_>]) -> Result<[f32; N], String> {
    let mut out = [0.0; N];
    if operands.len() != N {
        return Err("an operator has the wrong number of operands".into());
    }
    for (slot, token) in out.iter_mut().zip(operands) {
        let value = match token {
            Token::Number(raw) => std::str::from_utf8(raw).ok().and_then(|text| text.parse::<f32>().ok()),
            _ => None,
        };
        *slot = value.filter(|v| v.is_finite()).ok_or("an operator's operand is not a number")?;
    }
    Ok(out)
}

/// The object numbers of a page's content streams, in order.
fn contents(document: &Document<'_>, page: &Dict<'_>) -> Result<Vec<u32>, String> {
    let items = match page.get(b"Contents") {
        None => return Ok(Vec::new()),
        Some(&Object::Ref(number)) => match document.object(number)? {
            object if object.stream.is_some() => return Ok(vec![number]),
            object => match &object.value {
                Object::Array(items) => items,
                other => return Err(format!("the page's /Contents is {}", other.kind())),
            },
        },
        Some(Object::Array(items)) => items,
        Some(other) => return Err(format!("the page's /Contents is {}", other.kind())),
    };
    items
        .iter()
        .map(|item| match item {
            &Object::Ref(number) => Ok(number),
            other => Err(format!("an entry of the page's /Contents is {}, not a reference", other.kind())),
        })
        .collect()
}

struct Reader<'r, 'd, 'a> {
    document: &'d Document<'a>,
    resources: Option<&'d Dict<'a>>,
    fonts: &'r mut Fonts,
    /// The current font: its index in `fonts` and its resource name.
    font: Option<(usize, &'a [u8])>,
    in_text: bool,
    out: String,
    /// The bytes of the string being shown.
    scratch: Vec<u8>,
    /// Where text lands: the current transformation matrix and its saved
    /// copies (q/Q), the text and line matrices, the leading (TL).
    ctm: Matrix,
    saved: Vec<Matrix>,
    tm: Matrix,
    tlm: Matrix,
    leading: f32,
    /// The current text object: where its text starts in `out`, and the
    /// range of baselines it has shown text at.
    run_start: usize,
    run_y: Option<(f32, f32)>,
    runs: Vec<Run>,
}

impl<'a> Reader<'_, '_, 'a> {
    fn run(&mut self, data: &[u8]) -> Result<(), String> {
        let mut lexer = Lexer::new(data, 0);
        let mut operands: Vec<Token<'_>> = Vec::with_capacity(8);
        let mut open: Vec<Token<'_>> = Vec::new();
        loop {
            let (at, token) = match lexer.next() {
                Ok(Some(next)) => next,
                Ok(None) => break,
                Err(e) => return Err(format!("byte {}: {}", e.offset, e.reason)),
            };
            match token {
                Token::Keyword(b"true" | b"false" | b"null") => operands.push(token),
                Token::Keyword(operator) => {
                    if !open.is_empty() {
                        return Err(format!("byte {at}: an operator inside an array or dictionary"));
                    }
                    self.operator(operator, &operands).map_err(|e| format!("byte {at}: {e}"))?;
                    operands.clear();
                }
                Token::ArrayOpen | Token::DictOpen => {
                    if open.len() >= MAX_NESTING {
                        return Err(format!("byte {at}: arrays or dictionaries are nested too deeply"));
                    }
                    open.push(token);
                    operands.push(token);
                }
                Token::ArrayClose | Token::DictClose => {
                    let opening = if token == Token::ArrayClose { Token::ArrayOpen } else { Token::DictOpen };
                    if open.pop() != Some(opening) {
                        return Err(format!("byte {at}: a closing bracket does not match"));
                    }
                    operands.push(token);
                }
                _ => operands.push(token),
            }
        }
        if !operands.is_empty() {
            return Err("it ends with operands but no operator".into());
        }
        Ok(())
    }

    fn operator(&mut self, operator: &[u8], operands: &[Token<'_>]) -> Result<(), String> {
        match (operator, operands) {
            (b"BT", []) if !self.in_text => {
                self.in_text = true;
                self.tm = IDENTITY;
                self.tlm = IDENTITY;
                self.run_start = self.out.len();
                self.run_y = None;
            }
            (b"BT", _) => return Err("BT inside a text object, or with operands".into()),
            (b"ET", []) if self.in_text => {
                self.in_text = false;
                // A line break even after other white space (a text ending
                // in U+3000, say), so that the next text object, such as a
                // footer, starts a line of its own.
                if self.out.chars().next_back().is_some_and(|last| last != '\n') {
                    self.out.push('\n');
                }
                if let Some((y_min, y_max)) = self.run_y {
                    self.runs.push(Run { range: self.run_start..self.out.len(), y_min, y_max });
                }
            }
            (b"q", []) => {
                if self.saved.len() >= MAX_SAVED {
                    return Err("graphics states are saved too deeply (q without Q)".into());
                }
                self.saved.push(self.ctm);
            }
            (b"Q", []) => self.ctm = self.saved.pop().ok_or("Q without a saved graphics state")?,
            (b"cm", _) => self.ctm = multiply(&numbers::<6>(operands)?, &self.ctm),
            (b"TL", _) => self.leading = numbers::<1>(operands)?[0],
            (b"ET", _) => return Err("ET outside a text object, or with operands".into()),
            (b"Tf", [Token::Name(name), Token::Number(_)]) => self.select(name)?,
            (b"Tj", [string]) => self.show(string)?,
            (b"'", [string]) | (b"\"", [Token::Number(_), Token::Number(_), string]) => {
                // Both move to the next line first.
                self.next_line(0.0, -self.leading);
                self.separate(' ');
                self.show(string)?;
            }
            (b"TJ", [Token::ArrayOpen, items @ .., Token::ArrayClose]) => {
                for item in items {
                    // Numbers are kerning, not text.
                    if !matches!(item, Token::Number(_)) {
                        self.show(item)?;
                    }
                }
            }
            (b"Td" | b"TD" | b"T*" | b"Tm", _) => {
                let arity = match operator {
                    b"Tm" => 6,
                    b"T*" => 0,
                    _ => 2,
                };
                if operands.len() != arity || !operands.iter().all(|t| matches!(t, Token::Number(_))) {
                    return Err(format!("{} has operands of the wrong kind or number", ascii(operator)));
                }
                if !self.in_text {
                    return Err(format!("{} outside a text object", ascii(operator)));
                }
                match operator {
                    b"Tm" => {
                        self.tm = numbers::<6>(operands)?;
                        self.tlm = self.tm;
                    }
                    b"T*" => self.next_line(0.0, -self.leading),
                    _ => {
                        let [tx, ty] = numbers::<2>(operands)?;
                        if operator == b"TD" {
                            self.leading = -ty;
                        }
                        self.next_line(tx, ty);
                    }
                }
                self.separate(' ');
            }
            (b"Tf" | b"Tj" | b"'" | b"\"" | b"TJ", _) => {
                return Err(format!("{} has operands of the wrong kind or number", ascii(operator)));
            }
            (b"BI" | b"ID" | b"EI", _) => return Err("an inline image, which our renderer never writes".into()),
            (b"Do", _) => return Err("an XObject (Do), whose content would go unchecked".into()),
            (b"d0" | b"d1", _) => return Err("a Type 3 glyph operator".into()),
            (b"BX" | b"EX", _) => return Err("a compatibility section, which may hide unknown operators".into()),
            _ => match fits_graphics_operator(operator, operands) {
                Some(true) => {}
                Some(false) => return Err(format!("{} has operands of the wrong kind or number", ascii(operator))),
                None => return Err(format!("unknown operator '{}'", ascii(operator))),
            },
        }
        Ok(())
    }

    /// Start a new line offset by (tx, ty) from the start of the current one.
    fn next_line(&mut self, tx: f32, ty: f32) {
        self.tlm = multiply(&[1.0, 0.0, 0.0, 1.0, tx, ty], &self.tlm);
        self.tm = self.tlm;
    }

    /// Record the baseline that text is about to be shown at. Only upright
    /// text is read: a rotated, skewed or mirrored matrix, which our
    /// renderer never writes, could put text anywhere.
    fn note_position(&mut self) -> Result<(), String> {
        let m = multiply(&self.tm, &self.ctm);
        if m[1] != 0.0 || m[2] != 0.0 || m[0] <= 0.0 || m[3] <= 0.0 {
            return Err("text is rotated, skewed or mirrored, which our renderer never writes".into());
        }
        let y = m[5];
        if !y.is_finite() {
            return Err("text is placed at a position that is not a number".into());
        }
        self.run_y = Some(match self.run_y {
            Some((low, high)) => (low.min(y), high.max(y)),
            None => (y, y),
        });
        Ok(())
    }

    /// Separate what follows from the text so far, unless white space
    /// already does.
    fn separate(&mut self, separator: char) {
        if self.out.chars().next_back().is_some_and(|last| !last.is_whitespace()) {
            self.out.push(separator);
        }
    }

    /// Make font resource `name` the current font.
    fn select(&mut self, name: &[u8]) -> Result<(), String> {
        let fonts =
            self.resources.and_then(|resources| resources.get(b"Font")).ok_or("the page has no font resources")?;
        let fonts = self.document.dict(fonts, "the page's /Font resources")?;
        let (key, font) = fonts
            .entries()
            .find(|&(key, _)| key == name)
            .ok_or_else(|| format!("no font /{} on the page", ascii(name)))?;
        let &Object::Ref(number) = font else {
            return Err(format!("font /{} is not an indirect object", ascii(name)));
        };
        let index = match self.fonts.0.iter().position(|(n, _)| *n == number) {
            Some(index) => index,
            None => {
                let map = load(self.document, number).map_err(|e| format!("font /{}: {e}", ascii(name)))?;
                self.fonts.0.push((number, map));
                self.fonts.0.len() - 1
            }
        };
        self.font = Some((index, key));
        Ok(())
    }

    /// Append the text of a string operand in the current font.
    fn show(&mut self, string: &Token<'_>) -> Result<(), String> {
        if !self.in_text {
            return Err("text shown outside a text object".into());
        }
        let (index, name) = self.font.ok_or("text shown before a font was selected")?;
        self.note_position()?;
        self.scratch.clear();
        match *string {
            Token::Literal(raw) => decode_literal(raw, &mut self.scratch),
            Token::Hex(raw) => decode_hex(raw, &mut self.scratch),
            _ => return Err("text to show is not a string".into()),
        }
        if !self.scratch.len().is_multiple_of(2) {
            return Err(format!("a string in font /{} has an odd number of bytes: its codes are 2 bytes", ascii(name)));
        }
        let map = self.fonts.0.get(index).map(|(_, map)| map).ok_or("a selected font was not loaded")?;
        for pair in self.scratch.chunks_exact(2) {
            let code = u16::from_be_bytes([pair[0], pair[1]]);
            if !map.push(code, &mut self.out) {
                return Err(format!("code <{code:04X}> of font /{} has no Unicode mapping", ascii(name)));
            }
        }
        Ok(())
    }
}

/// Whether `operands` fit graphics (or text state) operator `operator`;
/// `None` if there is no such operator. Checking them keeps a damaged
/// stream from passing as operators we skip.
fn fits_graphics_operator(operator: &[u8], operands: &[Token<'_>]) -> Option<bool> {
    let number = |token: &Token<'_>| matches!(token, Token::Number(_));
    let numbers = |count: usize| operands.len() == count && operands.iter().all(number);
    Some(match operator {
        b"q" | b"Q" | b"h" | b"S" | b"s" | b"f" | b"F" | b"f*" | b"B" | b"B*" | b"b" | b"b*" | b"n" | b"W" | b"W*"
        | b"EMC" => operands.is_empty(),
        b"w" | b"J" | b"j" | b"M" | b"i" | b"Tc" | b"Tw" | b"Tz" | b"TL" | b"Tr" | b"Ts" | b"G" | b"g" => numbers(1),
        b"m" | b"l" => numbers(2),
        b"RG" | b"rg" => numbers(3),
        b"v" | b"y" | b"re" | b"K" | b"k" => numbers(4),
        b"cm" | b"c" => numbers(6),
        b"SC" | b"sc" => (1..=4).contains(&operands.len()) && operands.iter().all(number),
        // Colour components, a pattern name, or both.
        b"SCN" | b"scn" => match operands.split_last() {
            Some((Token::Name(_), components)) => components.iter().all(number),
            Some(_) => operands.iter().all(number),
            None => false,
        },
        b"ri" | b"gs" | b"CS" | b"cs" | b"sh" | b"MP" | b"BMC" => matches!(operands, [Token::Name(_)]),
        // A tag with a properties name or an inline dictionary (run()
        // has checked that the brackets balance).
        b"DP" | b"BDC" => {
            matches!(
                operands,
                [Token::Name(_), Token::Name(_)] | [Token::Name(_), Token::DictOpen, .., Token::DictClose]
            )
        }
        b"d" => {
            matches!(operands, [Token::ArrayOpen, dashes @ .., Token::ArrayClose, Token::Number(_)] if dashes.iter().all(number))
        }
        _ => return None,
    })
}

/// The ToUnicode map of font object `number`, which must be a Type0 font
/// with 2-byte Identity-H codes, as ours are.
fn load(document: &Document<'_>, number: u32) -> Result<ToUnicode, String> {
    let font = document.dict_at(number, "the font")?;
    if font.name(b"Subtype") != Some(b"Type0") {
        return Err("not a Type0 font, which is all our renderer writes".into());
    }
    if font.name(b"Encoding") != Some(b"Identity-H") {
        return Err("its encoding is not /Identity-H".into());
    }
    let Some(&Object::Ref(map)) = font.get(b"ToUnicode") else {
        return Err("it has no /ToUnicode map, so its text cannot be read".into());
    };
    ToUnicode::parse(&document.stream(map)?).map_err(|e| format!("its ToUnicode map: {e}"))
}
