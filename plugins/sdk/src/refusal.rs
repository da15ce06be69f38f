//! Refusals: how a plugin says "not at this kiosk", in words for the resident.

use crate::{Refusal, RefusalCode, Residency, ResidencyState};

impl Refusal {
    /// A refusal with its machine-readable code and the messages shown to
    /// the resident, in Japanese and English.
    pub fn new(code: RefusalCode, message_ja: impl Into<String>, message_en: impl Into<String>) -> Refusal {
        Refusal { code, message_ja: message_ja.into(), message_en: message_en.into() }
    }

    /// A support measure restricts kiosk issuance. The message names no
    /// reason, so it never reveals that such a measure (e.g. for victims of
    /// domestic violence) exists.
    pub fn access_restricted() -> Refusal {
        Refusal::new(
            RefusalCode::AccessRestricted,
            "この証明書はコンビニ交付では発行できません。市区町村の窓口にお問い合わせください。",
            "This certificate cannot be issued at a convenience store. Please ask at the municipal office.",
        )
    }

    /// The resident record was closed when the resident moved out (転出).
    pub fn moved_out() -> Refusal {
        Refusal::new(
            RefusalCode::MovedOut,
            "転出により住民票が消除されているため、コンビニ交付で発行できません。窓口でお問い合わせください。",
            "The resident record was closed when the resident moved out, so this certificate cannot be \
             issued at a convenience store. Please ask at the municipal office.",
        )
    }

    /// The resident record was closed upon death.
    pub fn deceased() -> Refusal {
        Refusal::new(
            RefusalCode::Deceased,
            "死亡により住民票が消除されているため、コンビニ交付で発行できません。窓口でお問い合わせください。",
            "The resident record was closed upon death, so this certificate cannot be issued at a \
             convenience store. Please ask at the municipal office.",
        )
    }
}

/// Shorthand for `Err(Refusal::new(code, ja, en))`, for `check`/`render`:
///
/// ```
/// # use kofu_plugin_sdk::{refuse, Refusal, RefusalCode};
/// # fn check(found: bool) -> Result<(), Refusal> {
/// if !found {
///     return refuse(RefusalCode::NoRecord, "該当する記録がありません。", "No record was found.");
/// }
/// # Ok(())
/// # }
/// ```
pub fn refuse<T>(
    code: RefusalCode,
    message_ja: impl Into<String>,
    message_en: impl Into<String>,
) -> Result<T, Refusal> {
    Err(Refusal::new(code, message_ja, message_en))
}

/// The common kiosk rule: only a current resident whose issuance no support
/// measure restricts may be issued a certificate here.
///
/// A restriction is checked first, so a restricted record is refused with
/// [`Refusal::access_restricted`] whatever its state: the refusal reveals
/// neither the measure nor the state behind it.
pub fn require_resident(residency: &Residency) -> Result<(), Refusal> {
    if residency.restricted {
        return Err(Refusal::access_restricted());
    }
    match residency.state {
        ResidencyState::Resident => Ok(()),
        ResidencyState::MovedOut => Err(Refusal::moved_out()),
        ResidencyState::Deceased => Err(Refusal::deceased()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Date;

    fn residency(state: ResidencyState, restricted: bool) -> Residency {
        let since = (state != ResidencyState::Resident).then_some(Date { year: 2024, month: 3, day: 31 });
        Residency { state, since, restricted }
    }

    #[test]
    fn residents_pass() {
        assert_eq!(require_resident(&residency(ResidencyState::Resident, false)), Ok(()));
    }

    #[test]
    fn closed_records_are_refused_with_their_code() {
        let code = |state| require_resident(&residency(state, false)).map_err(|r| r.code);
        assert_eq!(code(ResidencyState::MovedOut), Err(RefusalCode::MovedOut));
        assert_eq!(code(ResidencyState::Deceased), Err(RefusalCode::Deceased));
    }

    #[test]
    fn a_restriction_wins_and_reveals_nothing() {
        for state in [ResidencyState::Resident, ResidencyState::MovedOut, ResidencyState::Deceased] {
            let Err(refusal) = require_resident(&residency(state, true)) else {
                panic!("a restricted record must be refused");
            };
            assert_eq!(refusal.code, RefusalCode::AccessRestricted);
            for word in ["支援", "DV", "暴力", "転出", "死亡"] {
                assert!(!refusal.message_ja.contains(word), "{}", refusal.message_ja);
            }
            for word in ["support", "violence", "moved", "death"] {
                assert!(!refusal.message_en.to_lowercase().contains(word), "{}", refusal.message_en);
            }
        }
    }
}
