//! Numbers as printed on Japanese certificates.

/// Replace ASCII digits with full-width ones (0-9 → ０-９); other characters
/// stay as they are. For layouts that print numbers in full width, e.g.
/// addresses in vertical-style templates.
pub fn to_full_width_digits(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            // '０' is U+FF10; the offset keeps the digit's value.
            '0'..='9' => char::from_u32(c as u32 - '0' as u32 + '０' as u32).unwrap_or(c),
            _ => c,
        })
        .collect()
}

/// An amount in yen with thousands separators, e.g. `123,400円`.
pub fn format_yen(amount: u64) -> String {
    let digits = amount.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + "円".len());
    for (i, digit) in digits.chars().enumerate() {
        // A separator before every group of three counted from the right.
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out.push('円');
    out
}

/// `text` cut to at most `max_bytes` bytes, on a character boundary.
pub(crate) fn truncate(text: &str, max_bytes: usize) -> &str {
    if text.len() <= max_bytes {
        return text;
    }
    let mut end = max_bytes;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_width_digits() {
        assert_eq!(to_full_width_digits("1丁目23番4号"), "１丁目２３番４号");
        assert_eq!(to_full_width_digits("0123456789"), "０１２３４５６７８９");
        assert_eq!(to_full_width_digits("A-1 ｂ"), "A-１ ｂ");
        assert_eq!(to_full_width_digits(""), "");
    }

    #[test]
    fn yen() {
        assert_eq!(format_yen(0), "0円");
        assert_eq!(format_yen(999), "999円");
        assert_eq!(format_yen(1_000), "1,000円");
        assert_eq!(format_yen(123_400), "123,400円");
        assert_eq!(format_yen(1_234_567), "1,234,567円");
        assert_eq!(format_yen(u64::MAX), "18,446,744,073,709,551,615円");
    }

    #[test]
    fn truncation_keeps_characters_whole() {
        assert_eq!(truncate("世帯主", 4), "世");
        assert_eq!(truncate("世帯主", 9), "世帯主");
        assert_eq!(truncate("abc", 0), "");
    }
}
