use serde::{Deserialize, Serialize};

/// Why a plugin refused issuance; mirrors the WIT `refusal-code`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RefusalCode {
    MovedOut,
    Deceased,
    AccessRestricted,
    SealNotRegistered,
    SealCancelled,
    TaxUnpaid,
    NoRecord,
    NotPrintable,
    Other,
}

impl RefusalCode {
    /// The stable kebab-case name used in APIs, logs and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            RefusalCode::MovedOut => "moved-out",
            RefusalCode::Deceased => "deceased",
            RefusalCode::AccessRestricted => "access-restricted",
            RefusalCode::SealNotRegistered => "seal-not-registered",
            RefusalCode::SealCancelled => "seal-cancelled",
            RefusalCode::TaxUnpaid => "tax-unpaid",
            RefusalCode::NoRecord => "no-record",
            RefusalCode::NotPrintable => "not-printable",
            RefusalCode::Other => "other",
        }
    }
}

/// A refusal to issue, shown to the resident.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refusal {
    pub code: RefusalCode,
    pub message_ja: String,
    pub message_en: String,
}
