//! Untrusted text: what a plugin may put into a manifest, a document or a
//! refusal, and how it is shown and compared.
//!
//! Three jobs, one place, so that the manifest check, the document check,
//! the renderer's pre-delivery check and the CLI all agree:
//!
//! - [`unsafe_char`] finds characters no certificate text may hold: C0/C1
//!   controls (escape sequences start with ESC), bidirectional and other
//!   invisible format characters (an RLO turns "記載しない" into what reads as
//!   "記載します"), line and paragraph separators, private-use and
//!   non-characters.
//! - [`skeleton`] folds text to what a reader sees, for comparisons: NFKC
//!   (full-width letters and digits become ASCII), Greek and Cyrillic
//!   look-alikes of Latin capitals folded, dashes and slashes unified, white
//!   space removed.
//! - [`stamp_like`] says whether text imitates the host's page stamp: its
//!   labels, an issuance number or verification code, or a "n / N" page
//!   number. Only the host prints those, in the footer band.

use unicode_normalization::UnicodeNormalization;

/// The first character of `text` that no certificate text may hold, if any.
/// `newlines` allows `\n`, which some fields use to break lines.
pub fn unsafe_char(text: &str, newlines: bool) -> Option<char> {
    text.chars().find(|&c| !(newlines && c == '\n') && is_unsafe(c))
}

fn is_unsafe(c: char) -> bool {
    let code = c as u32;
    c.is_control()
        || is_format(code)
        // Line and paragraph separators break lines where the layout does not.
        || code == 0x2028
        || code == 0x2029
        // Private use: no meaning a reader could check, and no glyph either.
        || (0xE000..=0xF8FF).contains(&code)
        || code >= 0xF0000
        // Non-characters.
        || (0xFDD0..=0xFDEF).contains(&code)
        || (code & 0xFFFE) == 0xFFFE
}

/// Unicode general category Cf (format): invisible characters that change
/// how the text around them is shown or ordered.
fn is_format(code: u32) -> bool {
    matches!(code,
        0x00AD
        | 0x0600..=0x0605
        | 0x061C
        | 0x06DD
        | 0x070F
        | 0x0890..=0x0891
        | 0x08E2
        | 0x180E
        | 0x200B..=0x200F
        | 0x202A..=0x202E
        | 0x2060..=0x2064
        | 0x2066..=0x206F
        | 0xFEFF
        | 0xFFF9..=0xFFFB
        | 0x110BD
        | 0x110CD
        | 0x13430..=0x1343F
        | 0x1BCA0..=0x1BCA3
        | 0x1D173..=0x1D17A
        | 0xE0001
        | 0xE0020..=0xE007F)
}

/// `text` in Unicode normalisation form C, the form every certificate text
/// is stored, rendered and hashed in.
pub fn nfc(text: &str) -> String {
    if unicode_normalization::is_nfc(text) { text.to_owned() } else { text.nfc().collect() }
}

/// `text` with every character that [`unsafe_char`] would find written as
/// `\u{…}`, so that untrusted text printed to a terminal or a log cannot
/// move the cursor, change colours or reorder what follows.
pub fn shown(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if is_unsafe(c) {
            out.push_str(&format!("\\u{{{:04X}}}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

/// What a reader sees, for comparing texts: NFKC, Latin look-alikes folded
/// to ASCII capitals, every dash `-`, every slash `/`, no white space.
pub fn skeleton(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.nfkc() {
        if c.is_whitespace() {
            continue;
        }
        out.push(fold(c));
    }
    out
}

/// One character of a skeleton.
fn fold(c: char) -> char {
    match c {
        'a'..='z' => c.to_ascii_uppercase(),
        // Dashes and hyphens, the minus sign, the katakana-hiragana
        // prolonged sound mark (ー looks like a dash between letters).
        '\u{2010}'..='\u{2015}'
        | '\u{2043}'
        | '\u{2212}'
        | '\u{2E3A}'
        | '\u{2E3B}'
        | '\u{30FC}'
        | '\u{FE58}'
        | '\u{FE63}'
        | '\u{FF0D}'
        | '\u{FF70}'
        | '\u{2796}'
        | '\u{23AF}'
        | '\u{2500}'
        | '\u{2501}'
        | '\u{4E00}' => '-',
        '\u{2044}' | '\u{2215}' | '\u{29F8}' | '\u{FF0F}' | '\u{3033}' | '\u{4E3F}' => '/',
        _ => latin_lookalike(c).unwrap_or(c),
    }
}

/// The ASCII capital a Greek or Cyrillic letter is drawn like, if any.
fn latin_lookalike(c: char) -> Option<char> {
    Some(match c {
        'Α' | 'А' | 'а' | 'α' => 'A',
        'Β' | 'В' | 'в' | 'β' => 'B',
        'С' | 'с' | 'ϲ' | 'Ϲ' => 'C',
        'Ε' | 'Е' | 'е' | 'ε' => 'E',
        'Η' | 'Н' | 'н' => 'H',
        'Ι' | 'І' | 'і' | 'ι' | 'Ӏ' => 'I',
        'Ј' | 'ј' => 'J',
        'Κ' | 'К' | 'к' | 'κ' => 'K',
        'Μ' | 'М' | 'м' => 'M',
        'Ν' | 'ν' => 'N',
        'Ο' | 'О' | 'о' | 'ο' | '〇' | '○' => 'O',
        'Ρ' | 'Р' | 'р' | 'ρ' => 'P',
        'Ѕ' | 'ѕ' => 'S',
        'Τ' | 'Т' | 'т' | 'τ' => 'T',
        'Υ' | 'Ү' | 'υ' => 'Y',
        'Χ' | 'Х' | 'х' | 'χ' => 'X',
        'Ζ' => 'Z',
        'Ԛ' | 'ԛ' => 'Q',
        'Ԝ' | 'ԝ' => 'W',
        _ => return None,
    })
}

/// Labels of the host's page stamp (compared as skeletons). A plugin printing any of
/// them could pass its own text off as the stamp.
const STAMP_LABELS: &[&str] = &[
    "発行番号",
    "照合コード",
    "照合番号",
    "検証コード",
    "確認コード",
    "交付番号",
    "請求者",
    "ISSUANCENUMBER",
    "ISSUANCENO",
    "VERIFICATIONCODE",
    "VERIFYCODE",
];

/// What makes text look like the host's page stamp.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StampLike {
    /// One of the stamp's labels, e.g. 発行番号.
    Label(&'static str),
    /// Three groups of four letters or digits joined by dashes, the shape of
    /// issuance numbers and verification codes.
    Code(String),
    /// Twelve letters and digits in a row, mixed: a code without its dashes.
    UndashedCode(String),
    /// A page number of the form "n / N".
    PageNumber(String),
}

impl std::fmt::Display for StampLike {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StampLike::Label(label) => write!(f, "the stamp label \"{label}\""),
            StampLike::Code(code) => {
                write!(f, "\"{code}\", which has the form of an issuance number or verification code")
            }
            StampLike::UndashedCode(code) => {
                write!(f, "\"{code}\", which has the form of a verification code without its dashes")
            }
            StampLike::PageNumber(number) => write!(f, "\"{number}\", which has the form of the page number \"n / N\""),
        }
    }
}

/// Whether `text` imitates the host's page stamp, and how. The check runs
/// on the [`skeleton`], so full-width forms, look-alike letters, other
/// dashes and slashes and spaces between the characters do not hide it.
pub fn stamp_like(text: &str) -> Option<StampLike> {
    stamp_like_skeleton(&skeleton(text), true)
}

/// Whether texts shown one after another (the cells of a table, the runs
/// of a page) imitate the stamp, alone or together: a label or code split
/// over two cells is found. Twelve letters and digits in a row count only
/// within one text, since a romanised name beside a My Number would
/// otherwise read as one.
pub fn stamp_like_in<'t>(texts: impl IntoIterator<Item = &'t str>) -> Option<StampLike> {
    let mut joined = String::new();
    for text in texts {
        let folded = skeleton(text);
        if let Some(found) = stamp_like_skeleton(&folded, true) {
            return Some(found);
        }
        joined.push_str(&folded);
    }
    stamp_like_skeleton(&joined, false)
}

/// [`stamp_like`] of text that is already a [`skeleton`].
fn stamp_like_skeleton(skeleton: &str, undashed: bool) -> Option<StampLike> {
    static LABELS: std::sync::LazyLock<Vec<(&'static str, String)>> =
        std::sync::LazyLock::new(|| STAMP_LABELS.iter().map(|&label| (label, self::skeleton(label))).collect());
    if let Some((label, _)) = LABELS.iter().find(|(_, folded)| skeleton.contains(folded.as_str())) {
        return Some(StampLike::Label(label));
    }
    let chars: Vec<char> = skeleton.chars().collect();
    let alnum = |c: char| c.is_ascii_digit() || c.is_ascii_uppercase();
    // XXXX-XXXX-XXXX
    for window in chars.windows(14) {
        let groups_ok = [0..4, 5..9, 10..14].into_iter().all(|range| window[range].iter().all(|&c| alnum(c)));
        if groups_ok && window[4] == '-' && window[9] == '-' {
            return Some(StampLike::Code(window.iter().collect()));
        }
    }
    // Twelve in a row with letters and digits mixed. All digits is a My
    // Number or an amount; all letters is a romanised name.
    let mut run_start = 0;
    for end in (0..=chars.len()).filter(|_| undashed) {
        if end < chars.len() && alnum(chars[end]) {
            continue;
        }
        let run = &chars[run_start..end];
        if run.len() >= 12 {
            for window in run.windows(12) {
                if window.iter().any(char::is_ascii_digit) && window.iter().any(char::is_ascii_uppercase) {
                    return Some(StampLike::UndashedCode(window.iter().collect()));
                }
            }
        }
        run_start = end + 1;
    }
    // n / N
    for (at, &c) in chars.iter().enumerate() {
        if c != '/' {
            continue;
        }
        let before = chars[..at].iter().rev().take_while(|c| c.is_ascii_digit()).count();
        let after = chars[at + 1..].iter().take_while(|c| c.is_ascii_digit()).count();
        if before > 0 && after > 0 {
            return Some(StampLike::PageNumber(chars[at - before..at + 1 + after].iter().collect()));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsafe_characters_are_found() {
        for bad in ["\u{7}", "a\u{1b}[31m", "\0", "\r", "記載\u{202E}しない", "\u{2066}x", "\u{200B}", "\u{E000}"]
        {
            assert!(unsafe_char(bad, true).is_some(), "{bad:?}");
        }
        assert_eq!(unsafe_char("一行\n二行", true), None);
        assert_eq!(unsafe_char("一行\n二行", false), Some('\n'));
        // Ideographic variation sequences are text, not format characters.
        assert_eq!(unsafe_char("葛\u{E0100}城", false), None);
        assert_eq!(shown("a\u{1b}[31m\u{202E}b"), "a\\u{001B}[31m\\u{202E}b");
    }

    #[test]
    fn nfc_composes() {
        assert_eq!(nfc("か\u{3099}"), "が");
        assert_eq!(nfc("が"), "が");
    }

    #[test]
    fn every_disguise_of_a_stamp_is_found() {
        let forged = [
            "発行番号 AB12-CD34-EF56",
            "発 行 番 号",
            "照合コード",
            "ＡＢ１２－ＣＤ３４－ＥＦ５６",
            "ab12‐cd34‐ef56",
            "AB12 - CD34 - EF56",
            "АВ12-СD34-ЕF56",
            "7Q4KM2XDAB3C",
            "2 / 3",
            "２／３",
            "2⁄3",
            "Verification code",
        ];
        for text in forged {
            assert!(stamp_like(text).is_some(), "not found: {text}");
        }
    }

    #[test]
    fn a_stamp_split_over_texts_is_found() {
        assert!(stamp_like_in(["発行", "番号"]).is_some());
        assert!(stamp_like_in(["AB12-", "CD34-EF56"]).is_some());
        assert!(stamp_like_in(["2", " / 3"]).is_some());
        assert_eq!(stamp_like_in(["YAMADA", "123456789012"]), None);
        assert!(stamp_like_in(["7Q4KM2XDAB3C"]).is_some());
    }

    #[test]
    fn certificate_text_is_not_a_stamp() {
        let fine = [
            "見本市本町一丁目2番3号",
            "見本市本町1-2-3",
            "123456789012",
            "1234 5678 9012",
            "令和7年11月21日",
            "YAMADA TARO JOHNSON",
            "この写しは、住民票の原本と相違ないことを証明する。",
            "￥12,300",
            "第1234号",
            "ヤマダ タロー",
            "本町2ノ3",
        ];
        for text in fine {
            assert_eq!(stamp_like(text), None, "{text}");
        }
    }
}
