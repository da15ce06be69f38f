//! Tokens of PDF syntax, shared by the readers of the file's objects, of
//! content streams and of ToUnicode CMaps (which use the same token syntax).
//! Tokens borrow the input; strings are decoded only when their text is
//! needed, into a caller's buffer, so lexing a content stream allocates
//! nothing.

use std::borrow::Cow;

/// Where the input stopped making sense, and why.
#[derive(Debug)]
pub(super) struct SyntaxError {
    pub offset: usize,
    pub reason: Cow<'static, str>,
}

impl SyntaxError {
    pub fn new(offset: usize, reason: impl Into<Cow<'static, str>>) -> SyntaxError {
        SyntaxError { offset, reason: reason.into() }
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum Token<'a> {
    /// An integer or real, as written; see [`int`].
    Number(&'a [u8]),
    /// A name without its '/'. `#xx` escapes are kept as written: our writer
    /// uses none, and an escaped name then simply matches nothing.
    Name(&'a [u8]),
    /// The bytes between the parentheses of a literal string, undecoded.
    Literal(&'a [u8]),
    /// The digits between the angle brackets of a hex string.
    Hex(&'a [u8]),
    ArrayOpen,
    ArrayClose,
    DictOpen,
    DictClose,
    /// Any other run of regular characters: `obj`, `R`, `true`, operators.
    Keyword(&'a [u8]),
}

/// Byte classes of PDF syntax, looked up rather than matched: lexing is
/// most of the time a check takes.
const REGULAR: u8 = 0;
const WHITE: u8 = 1;
const DELIMITER: u8 = 2;
static CLASS: [u8; 256] = {
    let mut class = [REGULAR; 256];
    let white = [0u8, b'\t', b'\n', 0x0C, b'\r', b' '];
    let mut i = 0;
    while i < white.len() {
        class[white[i] as usize] = WHITE;
        i += 1;
    }
    let delimiters = *b"()<>[]{}/%";
    let mut i = 0;
    while i < delimiters.len() {
        class[delimiters[i] as usize] = DELIMITER;
        i += 1;
    }
    class
};

#[inline]
pub(super) fn is_white(byte: u8) -> bool {
    CLASS[usize::from(byte)] == WHITE
}

#[inline]
fn is_regular(byte: u8) -> bool {
    CLASS[usize::from(byte)] == REGULAR
}

/// The value of an integer token; `None` for a real, or one too large.
pub(super) fn int(raw: &[u8]) -> Option<i64> {
    let (negative, digits) = match raw.split_first() {
        Some((b'-', rest)) => (true, rest),
        Some((b'+', rest)) => (false, rest),
        _ => (false, raw),
    };
    if digits.is_empty() {
        return None;
    }
    let mut value: i64 = 0;
    for &byte in digits {
        if !byte.is_ascii_digit() {
            return None;
        }
        value = value.checked_mul(10)?.checked_add(i64::from(byte - b'0'))?;
    }
    Some(if negative { -value } else { value })
}

/// A non-negative integer token that fits `T` (object numbers, offsets).
pub(super) fn unsigned<T: TryFrom<i64>>(raw: &[u8]) -> Option<T> {
    if raw.first().is_some_and(|b| !b.is_ascii_digit()) {
        return None;
    }
    int(raw).and_then(|value| T::try_from(value).ok())
}

#[derive(Clone)]
pub(super) struct Lexer<'a> {
    data: &'a [u8],
    pub pos: usize,
}

impl<'a> Lexer<'a> {
    pub fn new(data: &'a [u8], pos: usize) -> Lexer<'a> {
        Lexer { data, pos }
    }

    /// Skip white space and comments.
    #[inline(always)]
    pub fn skip_space(&mut self) {
        let data = self.data;
        let mut pos = self.pos;
        while let Some(&byte) = data.get(pos) {
            if is_white(byte) {
                pos += 1;
            } else if byte == b'%' {
                pos += data.get(pos..).unwrap_or_default().iter().take_while(|&&b| b != b'\n' && b != b'\r').count();
            } else {
                break;
            }
        }
        self.pos = pos;
    }

    /// Whether a reference's "G R" follows (after an object number): a
    /// look at the bytes, cheaper than lexing two tokens ahead for every
    /// number in an array. Moves past them if so.
    #[inline]
    pub fn take_reference_tail(&mut self) -> Option<&'a [u8]> {
        let data = self.data;
        // Plain loops over the bytes: this runs for every whole number in an
        // array (a font's widths are hundreds of them), and most are
        // followed by another number, not by "0 R".
        let mut at = self.pos;
        while data.get(at).is_some_and(|&b| is_white(b)) {
            at += 1;
        }
        let start = at;
        while data.get(at).is_some_and(u8::is_ascii_digit) {
            at += 1;
        }
        let digits = at - start;
        let gap_start = at;
        while data.get(at).is_some_and(|&b| is_white(b)) {
            at += 1;
        }
        if digits == 0
            || at == gap_start
            || data.get(at) != Some(&b'R')
            || data.get(at + 1).is_some_and(|&b| is_regular(b))
        {
            return None;
        }
        self.pos = at + 1;
        data.get(start..start + digits)
    }

    /// Two hex strings of exactly four digits each, white space between them
    /// (`<0001> <4F4F>`), as two 2-byte values, if they come next; moves
    /// past them if so. Anything else, even two hex strings written
    /// otherwise, leaves the position as it was, for [`Lexer::next`].
    pub fn take_short_hex_pair(&mut self) -> Option<(u16, u16)> {
        let data = self.data;
        let mut pos = self.pos;
        while data.get(pos).is_some_and(|&b| is_white(b)) {
            pos += 1;
        }
        let first = short_hex(data.get(pos..pos + 6)?)?;
        let gap = data.get(pos + 6..).unwrap_or_default().iter().take_while(|&&b| is_white(b)).count();
        if gap == 0 {
            return None;
        }
        let second = pos + 6 + gap;
        let second_value = short_hex(data.get(second..second + 6)?)?;
        self.pos = second + 6;
        Some((first, second_value))
    }

    /// The next token and where it starts; `None` at the end of the data.
    ///
    /// Inlined into its loops: numbers, operators and names are most of the
    /// tokens of a content stream, and take the short path here; strings,
    /// brackets and errors take [`Lexer::delimited`].
    #[inline(always)]
    pub fn next(&mut self) -> Result<Option<(usize, Token<'a>)>, SyntaxError> {
        self.skip_space();
        let start = self.pos;
        let Some(&byte) = self.data.get(start) else { return Ok(None) };
        if matches!(byte, b'0'..=b'9' | b'+' | b'-' | b'.') {
            return self.number(start).map(|run| Some((start, Token::Number(run))));
        }
        if is_regular(byte) {
            return Ok(Some((start, Token::Keyword(self.regular_run()))));
        }
        self.pos += 1;
        if byte == b'/' {
            return Ok(Some((start, Token::Name(self.regular_run()))));
        }
        self.delimited(start, byte).map(|token| Some((start, token)))
    }

    /// The token that starts with delimiter `byte` at `start` (other than
    /// '/'); `self.pos` is just past it.
    #[inline(never)]
    fn delimited(&mut self, start: usize, byte: u8) -> Result<Token<'a>, SyntaxError> {
        Ok(match byte {
            b'[' => Token::ArrayOpen,
            b']' => Token::ArrayClose,
            b'(' => self.literal(start)?,
            b'<' if self.data.get(self.pos) == Some(&b'<') => {
                self.pos += 1;
                Token::DictOpen
            }
            b'<' => self.hex(start)?,
            b'>' if self.data.get(self.pos) == Some(&b'>') => {
                self.pos += 1;
                Token::DictClose
            }
            _ => return Err(SyntaxError::new(start, format!("unexpected '{}'", char::from(byte)))),
        })
    }

    /// The next token, which must be there.
    #[inline]
    pub fn expect(&mut self) -> Result<(usize, Token<'a>), SyntaxError> {
        self.next()?.ok_or_else(|| SyntaxError::new(self.pos, "the data ends too early"))
    }

    /// A number starting at `start`: a sign, digits, at most one point, at
    /// least one digit, then no other regular character. Scanned as digits
    /// directly, not as a run of regular characters checked afterwards.
    #[inline(always)]
    fn number(&mut self, start: usize) -> Result<&'a [u8], SyntaxError> {
        let data = self.data;
        let digits =
            |from: usize| data.get(from..).unwrap_or_default().iter().take_while(|b| b.is_ascii_digit()).count();
        let mut end = start + usize::from(matches!(data.get(start), Some(b'+' | b'-')));
        let whole = digits(end);
        end += whole;
        let mut fraction = 0;
        if data.get(end) == Some(&b'.') {
            fraction = digits(end + 1);
            end += 1 + fraction;
        }
        if whole + fraction == 0 || data.get(end).is_some_and(|&b| is_regular(b)) {
            return Err(SyntaxError::new(start, "malformed number"));
        }
        self.pos = end;
        Ok(data.get(start..end).unwrap_or_default())
    }

    #[inline]
    fn regular_run(&mut self) -> &'a [u8] {
        let rest = self.data.get(self.pos..).unwrap_or_default();
        let length = rest.iter().take_while(|&&b| is_regular(b)).count();
        self.pos += length;
        rest.get(..length).unwrap_or_default()
    }

    /// A literal string; `self.pos` is just past its '('. Balanced
    /// parentheses may appear unescaped, so nesting is counted.
    fn literal(&mut self, start: usize) -> Result<Token<'a>, SyntaxError> {
        let rest = self.data.get(self.pos..).unwrap_or_default();
        let mut depth = 1u32;
        let mut i = 0;
        while let Some(&byte) = rest.get(i) {
            match byte {
                b'\\' => i += 1,
                b'(' => depth += 1,
                b')' => {
                    depth -= 1;
                    if depth == 0 {
                        self.pos += i + 1;
                        return Ok(Token::Literal(rest.get(..i).unwrap_or_default()));
                    }
                }
                _ => {}
            }
            i += 1;
        }
        Err(SyntaxError::new(start, "a string is not closed"))
    }

    /// A hex string; `self.pos` is just past its '<'.
    fn hex(&mut self, start: usize) -> Result<Token<'a>, SyntaxError> {
        let rest = self.data.get(self.pos..).unwrap_or_default();
        let length = rest.iter().take_while(|&&b| b.is_ascii_hexdigit() || is_white(b)).count();
        match rest.get(length) {
            Some(b'>') => {
                self.pos += length + 1;
                Ok(Token::Hex(rest.get(..length).unwrap_or_default()))
            }
            Some(_) => Err(SyntaxError::new(self.pos + length, "a hex string holds a character that is no hex digit")),
            None => Err(SyntaxError::new(start, "a hex string is not closed")),
        }
    }
}

/// The value of `<XXXX>`: a hex string of exactly four digits.
fn short_hex(bytes: &[u8]) -> Option<u16> {
    let [b'<', digits @ .., b'>'] = bytes else { return None };
    let mut value = 0u16;
    for &byte in digits {
        let digit = match byte {
            b'0'..=b'9' => byte - b'0',
            b'a'..=b'f' => byte - b'a' + 10,
            b'A'..=b'F' => byte - b'A' + 10,
            _ => return None,
        };
        value = value << 4 | u16::from(digit);
    }
    Some(value)
}

/// A name or keyword for a message.
pub(super) fn ascii(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Append the bytes a literal string stands for to `out`. Indexes the
/// bytes rather than peeking an iterator: our glyph codes are written as
/// octal escapes, four bytes for each byte of a code.
pub(super) fn decode_literal(raw: &[u8], out: &mut Vec<u8>) {
    out.reserve(raw.len());
    let octal = |at: usize| raw.get(at).copied().filter(|b| (b'0'..=b'7').contains(b)).map(|b| b - b'0');
    let mut i = 0;
    while let Some(&byte) = raw.get(i) {
        i += 1;
        match byte {
            b'\\' => {
                let Some(&escaped) = raw.get(i) else { break };
                i += 1;
                match escaped {
                    b'n' => out.push(b'\n'),
                    b'r' => out.push(b'\r'),
                    b't' => out.push(b'\t'),
                    b'b' => out.push(0x08),
                    b'f' => out.push(0x0C),
                    b'0'..=b'7' => {
                        // One to three octal digits; the spec says to ignore
                        // overflow of the high-order bits.
                        let mut value = escaped - b'0';
                        for _ in 0..2 {
                            let Some(digit) = octal(i) else { break };
                            value = value.wrapping_mul(8).wrapping_add(digit);
                            i += 1;
                        }
                        out.push(value);
                    }
                    // A backslash at the end of a line continues the string.
                    b'\r' => {
                        if raw.get(i) == Some(&b'\n') {
                            i += 1;
                        }
                    }
                    b'\n' => {}
                    // Any other escaped byte, '(' ')' '\' included, is itself.
                    other => out.push(other),
                }
            }
            // An unescaped end of line of any kind reads as one LF.
            b'\r' => {
                if raw.get(i) == Some(&b'\n') {
                    i += 1;
                }
                out.push(b'\n');
            }
            _ => out.push(byte),
        }
    }
}

/// Append the bytes of a hex string's digits to `out`. The lexer has checked
/// that only hex digits and white space are there; an odd last digit is
/// followed by an implied 0, as the spec says.
pub(super) fn decode_hex(raw: &[u8], out: &mut Vec<u8>) {
    let mut high = None;
    for &byte in raw {
        let value = match byte {
            b'0'..=b'9' => byte - b'0',
            b'a'..=b'f' => byte - b'a' + 10,
            b'A'..=b'F' => byte - b'A' + 10,
            _ => continue,
        };
        match high.take() {
            None => high = Some(value),
            Some(h) => out.push(h << 4 | value),
        }
    }
    if let Some(h) = high {
        out.push(h << 4);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(data: &[u8]) -> Vec<Token<'_>> {
        let mut lexer = Lexer::new(data, 0);
        let mut out = Vec::new();
        while let Some((_, token)) = lexer.next().unwrap() {
            out.push(token);
        }
        out
    }

    #[test]
    fn lexes_the_token_kinds() {
        let data = b"%c\n1 0 obj<</A [1.5 -2 (a(b)\\)) <0A 1>]>> /N true T* ' \"";
        assert_eq!(
            tokens(data),
            [
                Token::Number(b"1"),
                Token::Number(b"0"),
                Token::Keyword(b"obj"),
                Token::DictOpen,
                Token::Name(b"A"),
                Token::ArrayOpen,
                Token::Number(b"1.5"),
                Token::Number(b"-2"),
                Token::Literal(b"a(b)\\)"),
                Token::Hex(b"0A 1"),
                Token::ArrayClose,
                Token::DictClose,
                Token::Name(b"N"),
                Token::Keyword(b"true"),
                Token::Keyword(b"T*"),
                Token::Keyword(b"'"),
                Token::Keyword(b"\""),
            ]
        );
    }

    #[test]
    fn rejects_broken_tokens() {
        for data in [&b"(open"[..], b"<12", b"<1x>", b"1.2.3", b"-", b".", b"--1", b"1-2", b"12a", b"+.", b">", b"}"] {
            assert!(Lexer::new(data, 0).next().is_err(), "{:?}", String::from_utf8_lossy(data));
        }
    }

    #[test]
    fn reads_numbers_as_written() {
        for data in [&b"0"[..], b"-12", b"+3", b"1.", b".5", b"-.5", b"+0.25", b"007"] {
            assert_eq!(tokens(data), [Token::Number(data)], "{:?}", String::from_utf8_lossy(data));
        }
        // A number ends where a delimiter or white space starts.
        assert_eq!(tokens(b"12/N"), [Token::Number(b"12"), Token::Name(b"N")]);
        assert_eq!(tokens(b"1.5]"), [Token::Number(b"1.5"), Token::ArrayClose]);
    }

    #[test]
    fn decodes_strings() {
        let mut out = Vec::new();
        decode_literal(b"a\\n\\101\\0\\\\\\(\\\r\nb\r\nc\\q\\777", &mut out);
        assert_eq!(out, b"a\nA\0\\(b\ncq\xFF");
        out.clear();
        decode_hex(b"0A f 1", &mut out);
        assert_eq!(out, [0x0A, 0xF1]);
        out.clear();
        decode_hex(b"ABC", &mut out);
        assert_eq!(out, [0xAB, 0xC0]);
    }

    #[test]
    fn reads_integers() {
        assert_eq!(int(b"-12"), Some(-12));
        assert_eq!(int(b"1.0"), None);
        assert_eq!(int(b"99999999999999999999"), None);
        assert_eq!(unsigned::<u32>(b"+3"), None);
        assert_eq!(unsigned::<u32>(b"4294967296"), None);
        assert_eq!(unsigned::<usize>(b"42"), Some(42));
    }
}
