//! ToUnicode CMaps with 2-byte codes, the kind our Type0 fonts carry. The
//! PostScript around the mappings is skipped; the mappings themselves
//! (bfchar, bfrange) are read strictly: a code mapped twice, or mapped to
//! text that is not UTF-16, is an error, since we could not say what the
//! page shows.

use super::lexer::{Lexer, Token, ascii, decode_hex};

/// The longest text one code may stand for, in UTF-16 bytes.
const MAX_TARGET_BYTES: usize = 64;

/// Code to text, for codes 0 to 0xFFFF.
pub(super) struct ToUnicode {
    /// For each code, the byte range of its text in `text`; an empty range
    /// means unmapped (no mapping is to empty text).
    slots: Vec<(u32, u32)>,
    text: String,
}

impl ToUnicode {
    /// Append the text of `code` to `out`; false if the code is unmapped.
    #[inline]
    pub fn push(&self, code: u16, out: &mut String) -> bool {
        let Some(&(start, end)) = self.slots.get(usize::from(code)) else { return false };
        match self.text.get(start as usize..end as usize) {
            Some(text) if start < end => {
                out.push_str(text);
                true
            }
            _ => false,
        }
    }

    pub fn parse(data: &[u8]) -> Result<ToUnicode, String> {
        // Room for as many entries as the data could hold (an entry takes
        // at least 12 bytes), and never more than there are codes, so that
        // neither buffer grows one entry at a time.
        let entries = (data.len() / 12).min(0x1_0000);
        let mut map = ToUnicode { slots: Vec::with_capacity(entries + 1), text: String::with_capacity(4 * entries) };
        let mut lexer = Lexer::new(data, 0);
        let mut scratch = Vec::with_capacity(8);
        let mut codespace = false;
        loop {
            let token = match lexer.next() {
                Ok(Some((_, token))) => token,
                Ok(None) => break,
                Err(e) => return Err(format!("the CMap could not be read at byte {}: {}", e.offset, e.reason)),
            };
            match token {
                Token::Keyword(b"begincodespacerange") => loop {
                    match next(&mut lexer)? {
                        Token::Keyword(b"endcodespacerange") => break,
                        Token::Hex(low) => {
                            let high = next(&mut lexer)?;
                            if code(low, &mut scratch) != Some(0)
                                || !matches!(high, Token::Hex(h) if code(h, &mut scratch) == Some(0xFFFF))
                            {
                                return Err("the CMap's code space is not <0000> <FFFF> (2-byte codes)".into());
                            }
                            codespace = true;
                        }
                        _ => return Err("the CMap's code space range is malformed".into()),
                    }
                },
                Token::Keyword(b"beginbfchar") => loop {
                    // The entry our writer emits for nearly every code,
                    // `<XXXX> <YYYY>` (one code, one UTF-16 unit), is read
                    // straight from the bytes: lexing it as two tokens was
                    // most of a map's reading. Anything else, white space
                    // inside the brackets or a longer target included,
                    // takes the general path below.
                    if let Some((source, unit)) = lexer.take_short_hex_pair() {
                        map.set_unit(source, unit)?;
                        continue;
                    }
                    match next(&mut lexer)? {
                        Token::Keyword(b"endbfchar") => break,
                        Token::Hex(source) => {
                            let source = code(source, &mut scratch).ok_or("a bfchar source is not a 2-byte code")?;
                            let Token::Hex(target) = next(&mut lexer)? else {
                                return Err(format!("code <{source:04X}> is not mapped to a hex string"));
                            };
                            map.set(source, target, 0, &mut scratch)?;
                        }
                        _ => return Err("a bfchar section is malformed".into()),
                    }
                },
                Token::Keyword(b"beginbfrange") => loop {
                    let low = match next(&mut lexer)? {
                        Token::Keyword(b"endbfrange") => break,
                        Token::Hex(low) => code(low, &mut scratch),
                        _ => None,
                    };
                    let high = match next(&mut lexer)? {
                        Token::Hex(high) => code(high, &mut scratch),
                        _ => None,
                    };
                    let (Some(low), Some(high)) = (low, high) else {
                        return Err("a bfrange does not start with two 2-byte codes".into());
                    };
                    if low > high {
                        return Err(format!("the bfrange <{low:04X}> <{high:04X}> is empty"));
                    }
                    match next(&mut lexer)? {
                        // One target for the range: each next code maps to
                        // the target with its last UTF-16 unit incremented.
                        Token::Hex(target) => {
                            for source in low..=high {
                                map.set(source, target, source - low, &mut scratch)?;
                            }
                        }
                        Token::ArrayOpen => {
                            for source in low..=high {
                                let Token::Hex(target) = next(&mut lexer)? else {
                                    return Err(format!("the bfrange array for <{low:04X}> is too short"));
                                };
                                map.set(source, target, 0, &mut scratch)?;
                            }
                            if next(&mut lexer)? != Token::ArrayClose {
                                return Err(format!("the bfrange array for <{low:04X}> is too long"));
                            }
                        }
                        _ => return Err(format!("the bfrange <{low:04X}> has no target")),
                    }
                },
                Token::Keyword(
                    word @ (b"begincidchar" | b"begincidrange" | b"beginnotdefchar" | b"beginnotdefrange" | b"usecmap"),
                ) => {
                    return Err(format!("the CMap uses {}, which a ToUnicode map of ours never does", ascii(word)));
                }
                _ => {}
            }
        }
        if !codespace {
            return Err("the CMap has no code space range".into());
        }
        Ok(map)
    }

    /// Map `source` to the UTF-16BE text of hex string `target`, its last
    /// unit increased by `increment`.
    fn set(&mut self, source: u16, target: &[u8], increment: u16, scratch: &mut Vec<u8>) -> Result<(), String> {
        scratch.clear();
        decode_hex(target, scratch);
        if scratch.is_empty() || !scratch.len().is_multiple_of(2) {
            return Err(format!("code <{source:04X}> is mapped to a string of {} bytes, not UTF-16", scratch.len()));
        }
        // A glyph stands for a character or a short ligature; a long target
        // repeated over a range could take gigabytes.
        if scratch.len() > MAX_TARGET_BYTES {
            return Err(format!("code <{source:04X}> is mapped to {} bytes of text", scratch.len()));
        }
        // A range's increment must stay within the last unit.
        let count = scratch.len() / 2;
        let last = u16::from_be_bytes([scratch[scratch.len() - 2], scratch[scratch.len() - 1]]);
        if last.checked_add(increment).is_none() {
            return Err(format!("the bfrange ending at <{source:04X}> overflows"));
        }
        let units = scratch.chunks_exact(2).enumerate().map(|(i, pair)| {
            let unit = u16::from_be_bytes([pair[0], pair[1]]);
            if i + 1 == count { unit.wrapping_add(increment) } else { unit }
        });
        let start = self.text.len();
        for unit in char::decode_utf16(units) {
            let ch = unit.map_err(|_| malformed(source))?;
            self.text.push(ch);
        }
        self.fill(source, start)
    }

    /// Map `source` to the single UTF-16 unit `unit`: the same as
    /// [`ToUnicode::set`] with a 2-byte target.
    fn set_unit(&mut self, source: u16, unit: u16) -> Result<(), String> {
        // A lone surrogate is no character.
        let ch = char::from_u32(u32::from(unit)).ok_or_else(|| malformed(source))?;
        let start = self.text.len();
        self.text.push(ch);
        self.fill(source, start)
    }

    /// Point `source`'s slot at the text from `start` to the end, unless the
    /// code is mapped already.
    fn fill(&mut self, source: u16, start: usize) -> Result<(), String> {
        let index = usize::from(source);
        if self.slots.len() <= index {
            self.slots.resize(index + 1, (0, 0));
        }
        if self.slots[index].0 < self.slots[index].1 {
            return Err(format!("code <{source:04X}> is mapped twice"));
        }
        let range = u32::try_from(start).ok().zip(u32::try_from(self.text.len()).ok());
        self.slots[index] = range.ok_or("the CMap is too large")?;
        Ok(())
    }
}

fn malformed(source: u16) -> String {
    format!("code <{source:04X}> is mapped to malformed UTF-16")
}

/// The next token inside a section, which must be there.
fn next<'t>(lexer: &mut Lexer<'t>) -> Result<Token<'t>, String> {
    match lexer.next() {
        Ok(Some((_, token))) => Ok(token),
        Ok(None) => Err("the CMap ends inside a section".into()),
        Err(e) => Err(format!("the CMap could not be read at byte {}: {}", e.offset, e.reason)),
    }
}

/// The 2-byte code of hex string `raw`.
fn code(raw: &[u8], scratch: &mut Vec<u8>) -> Option<u16> {
    scratch.clear();
    decode_hex(raw, scratch);
    match scratch[..] {
        [high, low] => Some(u16::from_be_bytes([high, low])),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(map: &ToUnicode, code: u16) -> Option<String> {
        let mut out = String::new();
        map.push(code, &mut out).then_some(out)
    }

    #[test]
    fn reads_bfchar_and_both_kinds_of_bfrange() {
        let data = b"/CIDInit /ProcSet findresource begin 12 dict begin begincmap\n\
            /CIDSystemInfo 3 dict dup begin /Registry (Adobe) def end def\n\
            1 begincodespacerange <0000> <FFFF> endcodespacerange\n\
            2 beginbfchar <0001> <767A> <0002> <D842DF9F> endbfchar\n\
            2 beginbfrange <0010> <0012> <0030> <0020> <0021> [<3042> <00660069>] endbfrange\n\
            endcmap CMapName currentdict /CMap defineresource pop end end";
        let map = ToUnicode::parse(data).unwrap();
        assert_eq!(text(&map, 1).as_deref(), Some("発"));
        assert_eq!(text(&map, 2).as_deref(), Some("𠮟"));
        assert_eq!(text(&map, 0x11).as_deref(), Some("1"));
        assert_eq!(text(&map, 0x12).as_deref(), Some("2"));
        assert_eq!(text(&map, 0x20).as_deref(), Some("あ"));
        assert_eq!(text(&map, 0x21).as_deref(), Some("fi"));
        assert_eq!(text(&map, 0), None);
        assert_eq!(text(&map, 0x13), None);
        assert_eq!(text(&map, 0xFFFF), None);
    }

    #[test]
    fn reads_short_entries_however_they_are_spaced() {
        // The first section is all short pairs, read straight from the
        // bytes; the others are the same mappings written so that the
        // general path reads them (no gap, space inside, a comment first).
        let space = "1 begincodespacerange <0000> <FFFF> endcodespacerange\n";
        let forms = [
            "3 beginbfchar <0001> <767A>\n<0002> <0041>\r\n<00ff>\t<3042> endbfchar",
            "3 beginbfchar <0001><767A> <0002><0041> <00FF><3042> endbfchar",
            "3 beginbfchar <00 01> <767A> <0002> <00 41> % a comment\n<00FF> <3042> endbfchar",
        ];
        for form in forms {
            let map = ToUnicode::parse(format!("{space}{form}").as_bytes()).unwrap();
            assert_eq!(text(&map, 1).as_deref(), Some("発"), "{form}");
            assert_eq!(text(&map, 2).as_deref(), Some("A"), "{form}");
            assert_eq!(text(&map, 0xFF).as_deref(), Some("あ"), "{form}");
            assert_eq!(text(&map, 3), None, "{form}");
        }
    }

    #[test]
    fn refuses_what_it_cannot_vouch_for() {
        let space = "1 begincodespacerange <0000> <FFFF> endcodespacerange\n";
        for body in [
            "1 beginbfchar <0001> <0041> endbfchar",                         // no code space
            "1 begincodespacerange <00> <FF> endcodespacerange",             // 1-byte codes
            "SPACE 2 beginbfchar <0001> <0041> <0001> <0042> endbfchar",     // mapped twice
            "SPACE 1 beginbfchar <0001> <D800> endbfchar",                   // lone surrogate
            "SPACE 1 beginbfchar <0001> <41> endbfchar",                     // odd length
            "SPACE 1 beginbfchar <0001> /A endbfchar",                       // glyph name
            "SPACE 1 beginbfrange <0002> <0001> <0041> endbfrange",          // empty range
            "SPACE 1 beginbfrange <0001> <0003> [<0041> <0042>] endbfrange", // short array
            "SPACE 1 beginbfrange <0000> <0002> <FFFF> endbfrange",          // overflow
            "SPACE 1 begincidrange <0000> <0002> 0 endcidrange",             // not ToUnicode
            "SPACE 1 beginbfchar <0001> <0041>",                             // unterminated
            "SPACE 1 beginbfchar <0001> (A) endbfchar",                      // literal target
        ] {
            let data = body.replace("SPACE ", space);
            assert!(ToUnicode::parse(data.as_bytes()).is_err(), "{body}");
        }
        // A long target over a long range would take gigabytes.
        let long = format!("{space}1 beginbfrange <0000> <FFFF> <{}> endbfrange", "0041".repeat(10_000));
        assert!(ToUnicode::parse(long.as_bytes()).is_err());
    }
}
