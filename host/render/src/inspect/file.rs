//! The file's objects. The body is read object by object from the header to
//! the xref table, and every object must sit exactly where the xref table
//! says: a viewer finds objects through the xref table, we through the
//! body, and agreeing on both means that the objects we check are the ones a
//! viewer shows. Anything our writer never produces (incremental updates,
//! object streams, encryption, filters other than Flate) is refused.

use std::borrow::Cow;

use super::InspectError;
use super::lexer::{Lexer, SyntaxError, Token, ascii, int, is_white, unsigned};
use super::object::{Dict, Object, parse_object};

/// The most an inflated stream may hold, against deflate bombs: a page's
/// content stream is some tens of KB.
const MAX_INFLATED: usize = 64 << 20;

/// One indirect object: its value, and its raw data if it is a stream.
pub(super) struct Indirect<'a> {
    pub value: Object<'a>,
    pub stream: Option<&'a [u8]>,
}

pub(super) struct Document<'a> {
    /// Indexed by object number; `None` for free entries.
    objects: Vec<Option<Indirect<'a>>>,
    /// The catalog's object number, from the trailer.
    pub root: u32,
}

fn syntax(error: SyntaxError) -> InspectError {
    InspectError::Syntax { offset: error.offset, reason: error.reason.into_owned() }
}

fn structure(reason: impl Into<String>) -> InspectError {
    InspectError::Structure(reason.into())
}

/// Where the xref table starts, and where the `startxref` line is.
fn read_tail(pdf: &[u8]) -> Result<(usize, usize), InspectError> {
    let end = pdf.len() - pdf.iter().rev().take_while(|&&b| is_white(b)).count();
    let Some(eof) = end.checked_sub(5).filter(|&at| pdf.get(at..end) == Some(b"%%EOF")) else {
        return Err(syntax(SyntaxError::new(end, "it does not end with %%EOF: the file is truncated or no PDF")));
    };
    let window = eof.saturating_sub(256);
    let at = pdf
        .get(window..eof)
        .and_then(|tail| tail.windows(9).rposition(|w| w == b"startxref"))
        .map(|at| window + at)
        .ok_or_else(|| syntax(SyntaxError::new(eof, "there is no startxref before %%EOF")))?;
    let mut lexer = Lexer::new(pdf, at + 9);
    let xref = match lexer.next().map_err(syntax)? {
        Some((_, Token::Number(raw))) => unsigned::<usize>(raw),
        _ => None,
    };
    let xref = xref.ok_or_else(|| syntax(SyntaxError::new(at, "startxref is not followed by an offset")))?;
    // Only white space may stand between the offset and %%EOF.
    if pdf.get(lexer.pos..eof).is_none_or(|gap| !gap.iter().all(|&b| is_white(b))) {
        return Err(syntax(SyntaxError::new(lexer.pos, "something stands between startxref and %%EOF")));
    }
    Ok((xref, at))
}

/// The xref table's offsets by object number (`None` for free entries), and
/// the trailer.
fn read_xref(pdf: &[u8], xref: usize, startxref: usize) -> Result<(Vec<Option<usize>>, Dict<'_>), InspectError> {
    let mut lexer = Lexer::new(pdf, xref);
    match lexer.next().map_err(syntax)? {
        Some((at, Token::Keyword(b"xref"))) if at == xref => {}
        _ => return Err(syntax(SyntaxError::new(xref, "startxref does not point at an xref table"))),
    }
    let mut entries: Vec<(usize, Option<usize>)> = Vec::new();
    loop {
        let (at, token) = lexer.expect().map_err(syntax)?;
        let first = match token {
            Token::Keyword(b"trailer") => break,
            Token::Number(raw) => unsigned::<usize>(raw),
            _ => None,
        };
        let count = match lexer.expect().map_err(syntax)? {
            (_, Token::Number(raw)) => unsigned::<usize>(raw),
            _ => None,
        };
        let (Some(first), Some(count)) = (first, count) else {
            return Err(syntax(SyntaxError::new(at, "an xref subsection does not start with two numbers")));
        };
        // Each entry takes 18 bytes or more: a count the file cannot hold
        // is refused before anything is allocated for it.
        if count > pdf.len().saturating_sub(lexer.pos) / 18 {
            return Err(syntax(SyntaxError::new(at, "an xref subsection has more entries than the file has room for")));
        }
        for number in first..first.saturating_add(count) {
            let (at, offset) = lexer.expect().map_err(syntax)?;
            let (_, generation) = lexer.expect().map_err(syntax)?;
            let (_, kind) = lexer.expect().map_err(syntax)?;
            let entry = match (offset, generation, kind) {
                (Token::Number(o), Token::Number(g), Token::Keyword(b"n")) if int(g) == Some(0) => {
                    let offset = unsigned::<usize>(o);
                    Some(offset.ok_or_else(|| syntax(SyntaxError::new(at, "an xref entry's offset is too large")))?)
                }
                (Token::Number(_), Token::Number(_), Token::Keyword(b"f")) => None,
                _ => return Err(syntax(SyntaxError::new(at, "an xref entry is not \"offset 0 n\" or a free entry"))),
            };
            entries.push((number, entry));
        }
    }
    let trailer = match parse_object(&mut lexer, 0).map_err(syntax)? {
        Object::Dict(dict) => dict,
        other => return Err(structure(format!("the trailer is {}, not a dictionary", other.kind()))),
    };
    match lexer.next().map_err(syntax)? {
        Some((at, Token::Keyword(b"startxref"))) if at == startxref => {}
        _ => return Err(syntax(SyntaxError::new(lexer.pos, "the trailer is not followed by startxref"))),
    }
    for (key, what) in
        [(&b"Prev"[..], "incremental updates"), (b"XRefStm", "cross-reference streams"), (b"Encrypt", "encryption")]
    {
        if trailer.get(key).is_some() {
            return Err(structure(format!("the file uses {what}, which our renderer never writes")));
        }
    }
    let size = match trailer.get(b"Size") {
        Some(Object::Number(raw)) => unsigned::<usize>(raw),
        _ => None,
    };
    let size = size.ok_or_else(|| structure("the trailer has no /Size"))?;
    if size != entries.len() {
        return Err(structure(format!(
            "the trailer's /Size is {size} but the xref table has {} entries",
            entries.len()
        )));
    }
    let mut offsets = vec![None; size];
    let mut seen = vec![false; size];
    for (number, offset) in entries {
        match seen.get_mut(number) {
            Some(slot @ false) => *slot = true,
            _ => return Err(structure(format!("the xref table lists object {number} twice or beyond /Size"))),
        }
        offsets[number] = offset;
    }
    if offsets.first().is_some_and(Option::is_some) {
        return Err(structure("the xref table lists object 0 as in use"));
    }
    Ok((offsets, trailer))
}

impl<'a> Document<'a> {
    pub fn parse(pdf: &'a [u8]) -> Result<Document<'a>, InspectError> {
        if pdf.is_empty() {
            return Err(InspectError::Empty);
        }
        if !pdf.starts_with(b"%PDF-") {
            return Err(syntax(SyntaxError::new(0, "it does not start with %PDF-: this is no PDF")));
        }
        let (xref, startxref) = read_tail(pdf)?;
        let (offsets, trailer) = read_xref(pdf, xref, startxref)?;
        let mut objects: Vec<Option<Indirect<'a>>> = offsets.iter().map(|_| None).collect();

        // The header line and the binary-marker line are comments.
        let mut lexer = Lexer::new(pdf, 0);
        loop {
            lexer.skip_space();
            if lexer.pos >= xref {
                if lexer.pos > xref {
                    return Err(structure("startxref points into an object, not between the objects and the trailer"));
                }
                break;
            }
            let start = lexer.pos;
            let number = match (lexer.expect(), lexer.expect(), lexer.expect()) {
                (Ok((_, Token::Number(n))), Ok((_, Token::Number(g))), Ok((_, Token::Keyword(b"obj"))))
                    if int(g) == Some(0) =>
                {
                    unsigned::<usize>(n)
                }
                _ => None,
            };
            let Some(number) = number else {
                return Err(syntax(SyntaxError::new(start, "expected an object (\"N 0 obj\")")));
            };
            if offsets.get(number).copied().flatten() != Some(start) {
                return Err(structure(format!(
                    "object {number} at byte {start} is not where the xref table puts it: \
                     the file was altered or spliced"
                )));
            }
            let value = parse_object(&mut lexer, 0).map_err(syntax)?;
            let stream = match lexer.expect().map_err(syntax)? {
                (_, Token::Keyword(b"endobj")) => None,
                (at, Token::Keyword(b"stream")) => Some(read_stream(pdf, &mut lexer, at, number, &value)?),
                (at, _) => return Err(syntax(SyntaxError::new(at, format!("object {number} has no endobj")))),
            };
            if let Some(slot) = objects.get_mut(number) {
                *slot = Some(Indirect { value, stream });
            }
        }
        // Offsets match and are distinct, so each object was read once; one
        // that the xref table lists but the body lacks is caught here.
        if let Some(number) = offsets.iter().zip(&objects).position(|(o, object)| o.is_some() && object.is_none()) {
            return Err(structure(format!("the xref table lists object {number}, which the file does not hold")));
        }
        let root = match trailer.get(b"Root") {
            Some(&Object::Ref(root)) => root,
            _ => return Err(structure("the trailer has no /Root reference")),
        };
        Ok(Document { objects, root })
    }

    /// Object numbers run from 0 to this, exclusive.
    pub fn object_count(&self) -> usize {
        self.objects.len()
    }

    pub fn object(&self, number: u32) -> Result<&Indirect<'a>, String> {
        usize::try_from(number)
            .ok()
            .and_then(|n| self.objects.get(n))
            .and_then(Option::as_ref)
            .ok_or_else(|| format!("object {number} does not exist"))
    }

    /// `object`, or what it refers to.
    pub fn resolve<'s>(&'s self, object: &'s Object<'a>) -> Result<&'s Object<'a>, String> {
        match object {
            &Object::Ref(number) => Ok(&self.object(number)?.value),
            direct => Ok(direct),
        }
    }

    /// The dictionary `object` is or refers to.
    pub fn dict<'s>(&'s self, object: &'s Object<'a>, what: &str) -> Result<&'s Dict<'a>, String> {
        match self.resolve(object)? {
            Object::Dict(dict) => Ok(dict),
            other => Err(format!("{what} is {}, not a dictionary", other.kind())),
        }
    }

    /// The dictionary that object `number` is.
    pub fn dict_at(&self, number: u32, what: &str) -> Result<&Dict<'a>, String> {
        match &self.object(number)?.value {
            Object::Dict(dict) => Ok(dict),
            other => Err(format!("{what} (object {number}) is {}, not a dictionary", other.kind())),
        }
    }

    /// The decoded data of stream object `number`.
    pub fn stream(&self, number: u32) -> Result<Cow<'a, [u8]>, String> {
        let object = self.object(number)?;
        let (Object::Dict(dict), Some(data)) = (&object.value, object.stream) else {
            return Err(format!("object {number} is not a stream"));
        };
        if dict.get(b"DecodeParms").is_some() {
            return Err(format!("stream {number} has /DecodeParms, which our renderer never writes"));
        }
        let flate = match dict.get(b"Filter") {
            None => false,
            Some(Object::Name(b"FlateDecode")) => true,
            Some(Object::Array(filters)) if matches!(filters[..], [Object::Name(b"FlateDecode")]) => true,
            Some(Object::Name(name)) => {
                return Err(format!("stream {number} uses filter /{}, which the check does not read", ascii(name)));
            }
            Some(other) => return Err(format!("stream {number} has {} as /Filter, not /FlateDecode", other.kind())),
        };
        if !flate {
            return Ok(Cow::Borrowed(data));
        }
        miniz_oxide::inflate::decompress_to_vec_zlib_with_limit(data, MAX_INFLATED)
            .map(Cow::Owned)
            .map_err(|e| format!("stream {number} could not be inflated ({:?})", e.status))
    }
}

/// The raw data of the stream whose `stream` keyword starts at `at`, leaving
/// `lexer` past its `endobj`.
fn read_stream<'a>(
    pdf: &'a [u8],
    lexer: &mut Lexer<'a>,
    at: usize,
    number: usize,
    value: &Object<'a>,
) -> Result<&'a [u8], InspectError> {
    let Object::Dict(dict) = value else {
        return Err(structure(format!("object {number} has stream data but is not a dictionary")));
    };
    // An indirect /Length would need objects not read yet; ours is direct.
    let length = match dict.get(b"Length") {
        Some(Object::Number(raw)) => unsigned::<usize>(raw),
        _ => None,
    };
    let length = length.ok_or_else(|| structure(format!("stream {number} has no direct /Length")))?;
    let rest = pdf.get(lexer.pos..).unwrap_or_default();
    let eol = if rest.starts_with(b"\r\n") {
        2
    } else if rest.starts_with(b"\n") {
        1
    } else {
        return Err(syntax(SyntaxError::new(at, "the stream keyword is not followed by an end of line")));
    };
    let start = lexer.pos + eol;
    let data = start
        .checked_add(length)
        .and_then(|end| pdf.get(start..end))
        .ok_or_else(|| syntax(SyntaxError::new(start, format!("stream {number} runs past the end of the file"))))?;
    lexer.pos = start + length;
    for keyword in [&b"endstream"[..], b"endobj"] {
        match lexer.expect().map_err(syntax)? {
            (_, Token::Keyword(word)) if word == keyword => {}
            (at, _) => {
                return Err(syntax(SyntaxError::new(
                    at,
                    format!("stream {number} is not followed by {}", String::from_utf8_lossy(keyword)),
                )));
            }
        }
    }
    Ok(data)
}
