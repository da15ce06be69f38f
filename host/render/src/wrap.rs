//! Line breaking for Japanese text with embedded Latin words: a break may
//! fall between any two CJK characters, never inside a Latin word when a
//! better place exists, and basic kinsoku (禁則) keeps closing punctuation off
//! the start of a line and opening brackets off its end.

use std::ops::Range;

use crate::text::Glyph;

/// One laid-out line: a range of glyphs and its width in font units.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Line {
    pub start: usize,
    pub end: usize,
    pub units: u32,
}

impl Line {
    pub fn range(&self) -> Range<usize> {
        self.start..self.end
    }
}

/// Characters that may not start a line (行頭禁則).
#[rustfmt::skip]
fn no_start(c: char) -> bool {
    matches!(
        c,
        '、' | '。' | '，' | '．' | ',' | '.' | '）' | ')' | '」' | '』' | '】' | '〕' | '〉' | '》'
            | '］' | ']' | '｝' | '}' | '〙' | '〗' | '”' | '’' | 'ー' | '・' | '：' | ':' | '；'
            | ';' | '！' | '!' | '？' | '?' | '‼' | '⁇' | '⁈' | '⁉' | '々' | '〻' | 'ゝ' | 'ゞ'
            | 'ヽ' | 'ヾ' | '゛' | '゜' | 'ぁ' | 'ぃ' | 'ぅ' | 'ぇ' | 'ぉ' | 'っ' | 'ゃ' | 'ゅ'
            | 'ょ' | 'ゎ' | 'ゕ' | 'ゖ' | 'ァ' | 'ィ' | 'ゥ' | 'ェ' | 'ォ' | 'ッ' | 'ャ' | 'ュ'
            | 'ョ' | 'ヮ' | 'ヵ' | 'ヶ' | 'ㇰ'..='ㇿ' | '‐' | '゠' | '–' | '〜' | '～' | '…'
            | '‥' | '％' | '%' | '℃' | '°' | '′' | '″' | '｣' | '､' | '｡'
    )
}

/// Characters that may not end a line (行末禁則).
#[rustfmt::skip]
fn no_end(c: char) -> bool {
    matches!(
        c,
        '（' | '(' | '「' | '『' | '【' | '〔' | '〈' | '《' | '［' | '[' | '｛' | '{' | '〘' | '〖'
            | '“' | '‘' | '｢' | '＄' | '￥' | '＃' | '№'
    )
}

/// Latin letters, digits and their punctuation: characters that form words
/// which stay whole. Everything from the CJK blocks on breaks anywhere.
fn in_word(c: char) -> bool {
    !c.is_whitespace() && (c as u32) < 0x2E80
}

/// May a line end between `before` and `after`?
fn can_break(before: char, after: char) -> bool {
    if no_start(after) || no_end(before) {
        return false;
    }
    if before == ' ' || after == ' ' {
        return true;
    }
    !(in_word(before) && in_word(after))
}

/// Break `glyphs` into lines no wider than `max_units`, appending them to
/// `out` with indices offset by `base`. '\n' markers force a break. Always
/// yields at least one line, so an empty text still takes a line's height.
/// A single glyph wider than the line gets a line of its own.
pub(crate) fn wrap(glyphs: &[Glyph], base: usize, max_units: f32, out: &mut Vec<Line>) {
    let push = |out: &mut Vec<Line>, start: usize, end: usize| {
        // Spaces where a line breaks would shift the visible text: drop them.
        let mut end = end;
        while end > start && glyphs[end - 1].ch == ' ' {
            end -= 1;
        }
        let units = crate::text::units(&glyphs[start..end]);
        out.push(Line { start: base + start, end: base + end, units });
    };

    let mut start = 0;
    let mut i = 0;
    let mut width = 0.0f32;
    let mut last_break = None;
    while i < glyphs.len() {
        let glyph = glyphs[i];
        if glyph.is_break() {
            push(out, start, i);
            i += 1;
            start = i;
            width = 0.0;
            last_break = None;
            continue;
        }
        if i > start && can_break(glyphs[i - 1].ch, glyph.ch) {
            last_break = Some(i);
        }
        let advance = f32::from(glyph.advance);
        if i > start && width + advance > max_units {
            // Prefer the last allowed break; with none (one long word, or
            // kinsoku everywhere) break right here rather than overflow.
            let at = last_break.filter(|&b| b > start).unwrap_or(i);
            push(out, start, at);
            start = at;
            while start < glyphs.len() && glyphs[start].ch == ' ' {
                start += 1;
            }
            // Rescan from the new line start: its width and break points
            // are recomputed, which costs at most one line's glyphs again.
            i = start;
            width = 0.0;
            last_break = None;
            continue;
        }
        width += advance;
        i += 1;
    }
    push(out, start, glyphs.len());
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Glyphs with 1 unit per full-width character, 0.5 for ASCII.
    fn glyphs(text: &str) -> Vec<Glyph> {
        text.chars()
            .map(|ch| Glyph {
                ch,
                id: if ch == '\n' { 0 } else { 1 },
                advance: if ch == '\n' {
                    0
                } else if ch.is_ascii() {
                    1
                } else {
                    2
                },
            })
            .collect()
    }

    fn lines(text: &str, max: f32) -> Vec<String> {
        let g = glyphs(text);
        let mut out = Vec::new();
        wrap(&g, 0, max, &mut out);
        out.iter().map(|l| g[l.range()].iter().map(|g| g.ch).collect()).collect()
    }

    #[test]
    fn breaks_between_cjk_characters() {
        assert_eq!(lines("あいうえおかきくけこ", 8.0), ["あいうえ", "おかきく", "けこ"]);
    }

    #[test]
    fn keeps_latin_words_whole() {
        assert_eq!(lines("hello world again", 12.0), ["hello world", "again"]);
        assert_eq!(lines("住所ABC123", 8.0), ["住所", "ABC123"]);
    }

    #[test]
    fn breaks_an_overlong_word() {
        assert_eq!(lines("abcdefghij", 4.0), ["abcd", "efgh", "ij"]);
    }

    #[test]
    fn kinsoku_keeps_punctuation_off_line_starts() {
        // 。 would start line 2: the preceding character moves down with it.
        assert_eq!(lines("あいうえ。かき", 8.0), ["あいう", "え。かき"]);
        // 「 would end line 1.
        assert_eq!(lines("あいう「えお」", 8.0), ["あいう", "「えお」"]);
    }

    #[test]
    fn newlines_force_breaks_and_keep_empty_lines() {
        assert_eq!(lines("あ\n\nい", 100.0), ["あ", "", "い"]);
        assert_eq!(lines("", 100.0), [""]);
    }

    #[test]
    fn a_glyph_wider_than_the_line_still_progresses() {
        assert_eq!(lines("あい", 1.0), ["あ", "い"]);
    }
}
