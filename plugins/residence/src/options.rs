//! The resident's choices, read once per call.

use kofu_plugin_sdk::Request;

/// Lists every resident member of the household; unlocks `household`.
pub const INCLUDE_HOUSEHOLD: &str = "include-household";
/// Prints 世帯主 and 続柄; unlocks `household-head` and `relationship`.
pub const INCLUDE_RELATIONSHIP: &str = "include-relationship";
/// Prints 本籍 and 筆頭者; unlocks `registered-domicile`.
pub const INCLUDE_DOMICILE: &str = "include-domicile";
/// Prints 個人番号; unlocks `my-number`.
pub const INCLUDE_MY_NUMBER: &str = "include-my-number";

/// Which optional parts this request prints. A gated field is read only when
/// its flag here is true.
pub struct Options {
    pub household: bool,
    pub relationship: bool,
    pub domicile: bool,
    pub my_number: bool,
}

impl Options {
    pub fn of(request: &Request) -> Options {
        Options {
            household: request.flag(INCLUDE_HOUSEHOLD),
            relationship: request.flag(INCLUDE_RELATIONSHIP),
            domicile: request.flag(INCLUDE_DOMICILE),
            my_number: request.flag(INCLUDE_MY_NUMBER),
        }
    }
}
