//! The embedded subset fonts carry valid sfnt checksums. kofu builds with a
//! patched copy of subsetter whose checksum function was rewritten for speed
//! (vendor/subsetter/KOFU-PATCH.md); this checks its output against a plain,
//! independent word sum, over subsets whose tables end on every remainder.

use subsetter::GlyphRemapper;

static GOTHIC: &[u8] = include_bytes!("../fonts/ipaexg.ttf");
static MINCHO: &[u8] = include_bytes!("../fonts/ipaexm.ttf");

/// The sfnt checksum, spelled out: big-endian u32 words of the data padded
/// with zeros to a multiple of four, summed with wrap-around.
fn word_sum(data: &[u8]) -> u32 {
    let mut padded = data.to_vec();
    padded.resize(data.len().div_ceil(4) * 4, 0);
    padded.chunks(4).fold(0u32, |sum, w| sum.wrapping_add(u32::from_be_bytes([w[0], w[1], w[2], w[3]])))
}

fn u16_at(data: &[u8], at: usize) -> usize {
    usize::from(u16::from_be_bytes([data[at], data[at + 1]]))
}

fn u32_at(data: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([data[at], data[at + 1], data[at + 2], data[at + 3]])
}

/// Check every table's recorded checksum and the whole-font adjustment.
fn assert_checksums_valid(font: &[u8], what: &str) {
    let tables = u16_at(font, 4);
    let mut remainders = Vec::new();
    for i in 0..tables {
        let record = 12 + 16 * i;
        let tag = String::from_utf8_lossy(&font[record..record + 4]).into_owned();
        let (offset, length) = (u32_at(font, record + 8) as usize, u32_at(font, record + 12) as usize);
        let mut table = font[offset..offset + length].to_vec();
        if tag == "head" {
            // The checksum of `head` is taken with checkSumAdjustment zero.
            table[8..12].fill(0);
        }
        assert_eq!(u32_at(font, record + 4), word_sum(&table), "{what}: checksum of table {tag}");
        remainders.push(length % 4);
    }
    assert_eq!(word_sum(font), 0xB1B0_AFBA, "{what}: whole-font checksum adjustment");
    remainders.sort_unstable();
    remainders.dedup();
    assert!(remainders.len() > 1, "{what}: the tables should not all be whole words: {remainders:?}");
}

#[test]
fn subset_fonts_have_valid_checksums() {
    for (name, font) in [("IPAexGothic", GOTHIC), ("IPAexMincho", MINCHO)] {
        for glyphs in [&[0u16][..], &[0, 1, 2, 3], &[0, 17, 300, 1200, 4100, 9000, 12000], &[0, 5, 6, 7, 8, 9, 10, 11]]
        {
            let mut remapper = GlyphRemapper::new();
            for &glyph in glyphs {
                remapper.remap(glyph);
            }
            let subset = subsetter::subset(font, 0, &remapper).expect("subset");
            assert_checksums_valid(&subset, &format!("{name} with glyphs {glyphs:?}"));
        }
    }
}
