//! The host's legal refusals, decided from the register before any plugin
//! runs. A plugin may refuse more; it can never issue what these refuse.
//!
//! | register says | refusal code | why |
//! |---|---|---|
//! | a support measure (DV etc.) restricts the subject | `access-restricted` | 住民基本台帳事務処理要領: no kiosk issuance under 支援措置 |
//! | the subject moved out | `moved-out` | no longer in this municipality's register |
//! | the subject died | `deceased` | |
//! | the subject moved in, or to a new address, on the issue date | `moved-in-today` | the national service refuses on the day of a move |
//! | the request may read the household and a member is restricted | `access-restricted` | a household form would print the member; the refusal names no one |

use kofu_model::{Date, Field, FieldAccess, Refusal, RefusalCode, ResidencyState, Resident};

/// The refusal the host gives for this subject on `issue_date`, if any,
/// before the plugin is asked. `access` is what the plugin may read in this
/// request: the household rule applies only when it may read the household.
pub fn legal_refusal(subject: &Resident, issue_date: Date, access: &FieldAccess) -> Option<Refusal> {
    let code = if subject.residency.restricted {
        RefusalCode::AccessRestricted
    } else if subject.residency.state == ResidencyState::MovedOut {
        RefusalCode::MovedOut
    } else if subject.residency.state == ResidencyState::Deceased {
        RefusalCode::Deceased
    } else if subject.resident_since == issue_date || subject.address_since == issue_date {
        RefusalCode::MovedInToday
    } else if access.allows(Field::Household) && subject.household.iter().any(|member| member.residency.restricted) {
        RefusalCode::AccessRestricted
    } else {
        return None;
    };
    Some(Refusal::by_host(code))
}
