use serde::{Deserialize, Serialize};

use crate::{ChosenOption, Date};

/// A municipality as printed on its certificates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Municipality {
    /// 6-digit local government code.
    pub code: String,
    pub name: String,
    pub mayor_title: String,
    pub mayor_name: String,
}

/// The check digit of a local government code (JIS X 0401) from its first
/// five digits: weights 6, 5, 4, 3, 2, then `(11 - sum mod 11) mod 10`.
pub fn code_check_digit(first_five: &[u8; 5]) -> u8 {
    let sum: u32 = first_five.iter().zip([6, 5, 4, 3, 2]).map(|(d, w)| u32::from(d - b'0') * w).sum();
    ((11 - sum % 11) % 10) as u8
}

/// Whether `code` is a local government code: six digits, the last the
/// check digit of the first five (131016 is; 131017 is not).
pub fn is_local_government_code(code: &str) -> bool {
    let bytes = code.as_bytes();
    let Ok(digits) = <&[u8; 6]>::try_from(bytes) else { return false };
    if !digits.iter().all(u8::is_ascii_digit) {
        return false;
    }
    let first_five = [digits[0], digits[1], digits[2], digits[3], digits[4]];
    digits[5] - b'0' == code_check_digit(&first_five)
}

impl Municipality {
    /// The fictional municipality used by local previews and the demo. Its
    /// code, 999999, fails the check digit on purpose: no real municipality
    /// has it, and the vendor API cannot create it.
    pub fn preview() -> Municipality {
        Municipality {
            code: "999999".into(),
            name: "見本市".into(),
            mayor_title: "見本市長".into(),
            mayor_name: "見本 一郎".into(),
        }
    }
}

/// What the host tells a plugin about one request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestContext {
    pub issue_date: Date,
    pub municipality: Municipality,
    /// Every option of the manifest, resolved to a value.
    pub options: Vec<ChosenOption>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_digits_are_those_of_jis_x_0401() {
        // 千代田区, 札幌市, 大阪市, 那覇市.
        for real in ["131016", "011002", "271004", "472018"] {
            assert!(is_local_government_code(real), "{real}");
        }
        for wrong in ["131017", "999999", "13101", "1310160", "13101a", "１３１０１６"] {
            assert!(!is_local_government_code(wrong), "{wrong}");
        }
    }
}
