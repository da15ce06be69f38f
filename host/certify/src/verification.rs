use sha2::{Digest, Sha256};

/// Crockford's base32: no I, L, O or U, so a code read off paper is not
/// mistyped.
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// The short code printed on every page, derived from the issuance number
/// and the document's hash: `XXXX-XXXX-XXXX` (60 bits). It names one
/// issuance of one document; `GET /v1/verify/{code}` looks it up.
pub fn verification_code(issuance_number: &str, document_hash: &[u8; 32]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(b"kofu verification code v1\0");
    hasher.update(issuance_number.as_bytes());
    hasher.update(b"\0");
    hasher.update(document_hash);
    let digest = hasher.finalize();
    let mut bits =
        u64::from_be_bytes([digest[0], digest[1], digest[2], digest[3], digest[4], digest[5], digest[6], digest[7]])
            >> 4;
    let mut chars = [0u8; 12];
    for slot in chars.iter_mut().rev() {
        *slot = ALPHABET[(bits & 31) as usize];
        bits >>= 5;
    }
    let text: String = chars.iter().map(|&b| b as char).collect();
    format!("{}-{}-{}", &text[0..4], &text[4..8], &text[8..12])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_depends_on_issuance_and_document() {
        let a = verification_code("2025-000001", &[1; 32]);
        assert_eq!(a.len(), 14);
        assert_eq!(a, verification_code("2025-000001", &[1; 32]));
        assert_ne!(a, verification_code("2025-000002", &[1; 32]));
        assert_ne!(a, verification_code("2025-000001", &[2; 32]));
        assert!(a.chars().all(|c| c == '-' || ALPHABET.contains(&(c as u8))));
    }
}
