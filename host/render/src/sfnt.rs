//! A trimmed copy of a font file for the subsetter, built once at start-up.
//!
//! The subsetter re-reads the `post` table's 12,000 glyph names on every
//! call, which was a quarter of the time of a render, though PDF never uses
//! glyph names. The copy holds only the tables a TrueType subset is built
//! from, with `post` as version 3.0 (no glyph names).

/// Tables the subsetter reads for a TrueType font, in the sorted order a
/// table directory needs.
const KEPT: [&[u8; 4]; 11] =
    [b"cvt ", b"fpgm", b"glyf", b"head", b"hhea", b"hmtx", b"loca", b"maxp", b"name", b"post", b"prep"];

fn read_u16(data: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(data.get(at..at + 2)?.try_into().ok()?))
}

fn read_u32(data: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(data.get(at..at + 4)?.try_into().ok()?))
}

fn find_table<'a>(data: &'a [u8], tag: &[u8; 4]) -> Option<&'a [u8]> {
    let count = usize::from(read_u16(data, 4)?);
    (0..count).find_map(|i| {
        let record = 12 + 16 * i;
        if data.get(record..record + 4)? != tag {
            return None;
        }
        let offset = read_u32(data, record + 8)? as usize;
        let length = read_u32(data, record + 12)? as usize;
        data.get(offset..offset.checked_add(length)?)
    })
}

fn checksum(table: &[u8]) -> u32 {
    table.chunks(4).fold(0u32, |sum, chunk| {
        let mut word = [0u8; 4];
        word[..chunk.len()].copy_from_slice(chunk);
        sum.wrapping_add(u32::from_be_bytes(word))
    })
}

/// The trimmed font, or why the font file could not be read.
pub(crate) fn trim_for_subsetting(data: &[u8]) -> Result<Vec<u8>, String> {
    let version = data.get(0..4).ok_or("the file is too short")?;
    let mut post = [0u8; 32];
    let mut tables: Vec<(&[u8; 4], &[u8])> = Vec::with_capacity(KEPT.len());
    for tag in KEPT {
        let Some(table) = find_table(data, tag) else {
            // Hinting tables are optional; everything else is needed.
            if matches!(tag, b"cvt " | b"fpgm" | b"prep") {
                continue;
            }
            return Err(format!("it has no {} table", String::from_utf8_lossy(tag)));
        };
        if tag == b"post" {
            // Version 3.0 is the 32-byte version 2.0 header, renumbered.
            post.copy_from_slice(table.get(..32).ok_or("its post table is truncated")?);
            post[..4].copy_from_slice(&0x0003_0000u32.to_be_bytes());
        }
        tables.push((tag, table));
    }
    let count = u16::try_from(tables.len()).map_err(|_| "too many tables")?;
    let entry_selector = 15 - count.leading_zeros() as u16;
    let search_range = (1u16 << entry_selector) * 16;
    let bodies: Vec<&[u8]> =
        tables.iter().map(|&(tag, table)| if tag == b"post" { &post[..] } else { table }).collect();
    let size = 12 + 16 * tables.len() + bodies.iter().map(|b| b.len().div_ceil(4) * 4).sum::<usize>();
    let mut out = Vec::with_capacity(size);
    out.extend_from_slice(version);
    for value in [count, search_range, entry_selector, count * 16 - search_range] {
        out.extend_from_slice(&value.to_be_bytes());
    }
    let mut offset = 12 + 16 * tables.len();
    for (&(tag, _), body) in tables.iter().zip(&bodies) {
        out.extend_from_slice(tag);
        out.extend_from_slice(&checksum(body).to_be_bytes());
        out.extend_from_slice(&u32::try_from(offset).map_err(|_| "the font is too large")?.to_be_bytes());
        out.extend_from_slice(&u32::try_from(body.len()).map_err(|_| "a table is too large")?.to_be_bytes());
        offset += body.len().div_ceil(4) * 4;
    }
    for body in bodies {
        out.extend_from_slice(body);
        out.resize(out.len().div_ceil(4) * 4, 0);
    }
    Ok(out)
}
