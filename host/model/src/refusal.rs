use serde::{Deserialize, Serialize};

/// Why issuance was refused. The first nine mirror the WIT `refusal-code`
/// a plugin may return; the rest only the host gives, when its own policy
/// refuses (`kofu-certify`'s policy and binding checks), whatever the plugin
/// returned.
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
    /// Host only: the register records a move into the municipality, or to
    /// a new address in it, on the issue date.
    MovedInToday,
    /// Host only: the document holds text in the form of the host's page
    /// stamp (its labels, an issuance number or code, "n / N").
    StampImitation,
    /// Host only: the document holds personal data of someone in the
    /// register that the host did not hand to this evaluation.
    ForeignPersonalData,
    /// Host only: the document does not name its subject.
    SubjectNotNamed,
    /// Host only: the document runs past the page limit.
    TooManyPages,
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
            RefusalCode::MovedInToday => "moved-in-today",
            RefusalCode::StampImitation => "stamp-imitation",
            RefusalCode::ForeignPersonalData => "foreign-personal-data",
            RefusalCode::SubjectNotNamed => "subject-not-named",
            RefusalCode::TooManyPages => "too-many-pages",
        }
    }

    /// Every code, in declaration order (for documentation and tests).
    pub const ALL: [RefusalCode; 14] = [
        RefusalCode::MovedOut,
        RefusalCode::Deceased,
        RefusalCode::AccessRestricted,
        RefusalCode::SealNotRegistered,
        RefusalCode::SealCancelled,
        RefusalCode::TaxUnpaid,
        RefusalCode::NoRecord,
        RefusalCode::NotPrintable,
        RefusalCode::Other,
        RefusalCode::MovedInToday,
        RefusalCode::StampImitation,
        RefusalCode::ForeignPersonalData,
        RefusalCode::SubjectNotNamed,
        RefusalCode::TooManyPages,
    ];
}

/// A refusal to issue, shown to the resident.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refusal {
    pub code: RefusalCode,
    pub message_ja: String,
    pub message_en: String,
}

impl Refusal {
    /// The host's own refusal for `code`, with the message a resident reads
    /// at the kiosk. It names no one: a refusal for a household member's
    /// support measure must not reveal that member.
    pub fn by_host(code: RefusalCode) -> Refusal {
        let (ja, en) = match code {
            RefusalCode::MovedOut => (
                "転出の届出がされているため、この証明書はコンビニエンスストアでは発行できません。窓口でお問い合わせください。",
                "The register records a move out of the municipality, so this certificate cannot be issued here. Please ask at the municipal office.",
            ),
            RefusalCode::Deceased => (
                "この証明書はコンビニエンスストアでは発行できません。窓口でお問い合わせください。",
                "This certificate cannot be issued here. Please ask at the municipal office.",
            ),
            RefusalCode::AccessRestricted => (
                "この証明書はコンビニエンスストアでは発行できません。窓口でお問い合わせください。",
                "This certificate cannot be issued at a kiosk. Please ask at the municipal office.",
            ),
            RefusalCode::MovedInToday => (
                "本日、住所の異動の届出があったため、この証明書は明日以降に発行できます。お急ぎの場合は窓口でお申し込みください。",
                "An address change was registered today; this certificate can be issued at a kiosk from tomorrow, or today at the municipal office.",
            ),
            _ => (
                "この証明書はコンビニエンスストアでは発行できません。窓口でお問い合わせください。料金はかかっていません。",
                "This certificate cannot be issued at a kiosk. Please ask at the municipal office. You have not been charged.",
            ),
        };
        Refusal { code, message_ja: ja.to_owned(), message_en: en.to_owned() }
    }
}
