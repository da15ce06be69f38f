//! PDF objects as the file's body and trailer hold them, parsed from
//! tokens. Values borrow the file; strings and booleans are only skipped,
//! since nothing the check reads is one.

use super::lexer::{Lexer, SyntaxError, Token, int, unsigned};

/// Deeper nesting than this is refused rather than recursed into.
const MAX_DEPTH: u32 = 32;

/// Ours hold a dozen keys at most. The bound keeps the duplicate-key check,
/// quadratic in the keys, cheap on any input.
const MAX_KEYS: usize = 256;

#[derive(Debug)]
pub(super) enum Object<'a> {
    Null,
    Bool,
    Number(&'a [u8]),
    Name(&'a [u8]),
    String,
    Array(Vec<Object<'a>>),
    Dict(Dict<'a>),
    /// An indirect reference; only generation 0 exists in our files.
    Ref(u32),
}

impl Object<'_> {
    pub fn kind(&self) -> &'static str {
        match self {
            Object::Null => "null",
            Object::Bool => "a boolean",
            Object::Number(_) => "a number",
            Object::Name(_) => "a name",
            Object::String => "a string",
            Object::Array(_) => "an array",
            Object::Dict(_) => "a dictionary",
            Object::Ref(_) => "a reference",
        }
    }
}

#[derive(Debug)]
pub(super) struct Dict<'a>(Vec<(&'a [u8], Object<'a>)>);

impl<'a> Dict<'a> {
    pub fn get(&self, key: &[u8]) -> Option<&Object<'a>> {
        self.0.iter().find(|(k, _)| *k == key).map(|(_, value)| value)
    }

    /// The value of `key` if it is a name.
    pub fn name(&self, key: &[u8]) -> Option<&'a [u8]> {
        match self.get(key) {
            Some(Object::Name(name)) => Some(name),
            _ => None,
        }
    }

    pub fn entries(&self) -> impl Iterator<Item = (&'a [u8], &Object<'a>)> {
        self.0.iter().map(|(key, value)| (*key, value))
    }
}

pub(super) fn parse_object<'a>(lexer: &mut Lexer<'a>, depth: u32) -> Result<Object<'a>, SyntaxError> {
    let (start, token) = lexer.expect()?;
    parse_from(lexer, start, token, depth)
}

fn parse_from<'a>(
    lexer: &mut Lexer<'a>,
    start: usize,
    token: Token<'a>,
    depth: u32,
) -> Result<Object<'a>, SyntaxError> {
    if depth > MAX_DEPTH {
        return Err(SyntaxError::new(start, "arrays or dictionaries are nested too deeply"));
    }
    Ok(match token {
        Token::Number(raw) => match unsigned::<u32>(raw) {
            // "12 0 R" is a reference.
            Some(number) => match lexer.take_reference_tail() {
                Some(generation) if int(generation) == Some(0) => Object::Ref(number),
                Some(_) => return Err(SyntaxError::new(start, "a reference has a generation other than 0")),
                None => Object::Number(raw),
            },
            None => Object::Number(raw),
        },
        Token::Name(name) => Object::Name(name),
        Token::Literal(_) | Token::Hex(_) => Object::String,
        Token::ArrayOpen => {
            let mut items = Vec::new();
            loop {
                match lexer.expect()? {
                    (_, Token::ArrayClose) => break Object::Array(items),
                    (at, token) => items.push(parse_from(lexer, at, token, depth + 1)?),
                }
            }
        }
        Token::DictOpen => {
            let mut entries: Vec<(&[u8], Object)> = Vec::new();
            loop {
                match lexer.expect()? {
                    (_, Token::DictClose) => break Object::Dict(Dict(entries)),
                    (at, Token::Name(key)) => {
                        // A viewer might take either of two equal keys.
                        if entries.iter().any(|(k, _)| *k == key) {
                            return Err(SyntaxError::new(at, "a dictionary has the same key twice"));
                        }
                        if entries.len() >= MAX_KEYS {
                            return Err(SyntaxError::new(at, "a dictionary has too many keys"));
                        }
                        entries.push((key, parse_object(lexer, depth + 1)?));
                    }
                    (at, _) => return Err(SyntaxError::new(at, "a dictionary key is not a name")),
                }
            }
        }
        Token::Keyword(b"true" | b"false") => Object::Bool,
        Token::Keyword(b"null") => Object::Null,
        Token::Keyword(word) => {
            return Err(SyntaxError::new(start, format!("unexpected '{}'", String::from_utf8_lossy(word))));
        }
        Token::ArrayClose | Token::DictClose => {
            return Err(SyntaxError::new(start, "a closing bracket without its opening one"));
        }
    })
}
