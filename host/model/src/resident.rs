//! The resident record as the host holds it: the shape of the register's
//! rows and of the JSON fixtures that `kofu plugin render --resident` reads.

use serde::{Deserialize, Serialize};

use crate::Date;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Sex {
    Male,
    Female,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ResidencyState {
    #[default]
    Resident,
    MovedOut,
    Deceased,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Residency {
    #[serde(default)]
    pub state: ResidencyState,
    /// When the state took effect (required unless `resident`).
    #[serde(default)]
    pub since: Option<Date>,
    /// A support measure (e.g. DV protection) restricts kiosk issuance.
    #[serde(default)]
    pub restricted: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegisteredDomicile {
    pub place: String,
    pub head: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SealState {
    Active,
    Cancelled,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SealRegistration {
    pub number: String,
    pub registered_on: Date,
    /// The characters of the seal impression.
    pub impression: String,
    pub state: SealState,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaxItem {
    pub name: String,
    pub assessed: u64,
    pub paid: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaxYear {
    pub fiscal_year: u16,
    pub items: Vec<TaxItem>,
}

/// One resident. As a fixture, `household` lists the *other* members of the
/// resident's household in register order; members carry no household of
/// their own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Resident {
    pub name: String,
    pub name_kana: String,
    pub birth_date: Date,
    pub sex: Sex,
    pub address: String,
    pub address_since: Date,
    pub resident_since: Date,
    #[serde(default)]
    pub previous_address: Option<String>,
    pub household_head: String,
    pub relationship: String,
    #[serde(default)]
    pub registered_domicile: Option<RegisteredDomicile>,
    #[serde(default)]
    pub my_number: Option<String>,
    #[serde(default)]
    pub residency: Residency,
    #[serde(default)]
    pub seal: Option<SealRegistration>,
    #[serde(default)]
    pub tax: Vec<TaxYear>,
    #[serde(default)]
    pub household: Vec<Resident>,
}

/// What is wrong with a resident record, naming the record and the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("resident {who}: {problem}")]
pub struct ResidentError {
    who: String,
    problem: String,
}

/// The relationship (続柄) that marks the head of household.
pub const HEAD_OF_HOUSEHOLD: &str = "世帯主";

const MAX_TEXT_CHARS: usize = 200;
const MAX_HOUSEHOLD: usize = 64;

impl Resident {
    /// Parse a JSON fixture and validate it.
    pub fn from_json(text: &str) -> Result<Resident, ResidentError> {
        let resident: Resident = serde_json::from_str(text).map_err(|err| ResidentError {
            who: "(unparsed)".into(),
            problem: format!("the JSON does not match the resident format: {err}"),
        })?;
        resident.validate()?;
        Ok(resident)
    }

    /// Check the record and its household members.
    pub fn validate(&self) -> Result<(), ResidentError> {
        self.validate_person()?;
        if self.household.len() >= MAX_HOUSEHOLD {
            return Err(self.error(format!("a household has at most {MAX_HOUSEHOLD} members")));
        }
        for member in &self.household {
            if !member.household.is_empty() {
                return Err(member.error("a household member cannot list a household of its own".into()));
            }
            member.validate_person()?;
        }
        Ok(())
    }

    fn error(&self, problem: String) -> ResidentError {
        ResidentError { who: format!("`{}`", self.name), problem }
    }

    fn validate_person(&self) -> Result<(), ResidentError> {
        let texts = [
            ("name", self.name.as_str()),
            ("name_kana", self.name_kana.as_str()),
            ("address", self.address.as_str()),
            ("household_head", self.household_head.as_str()),
            ("relationship", self.relationship.as_str()),
        ];
        for (field, text) in texts {
            if text.trim().is_empty() {
                return Err(self.error(format!("`{field}` is empty")));
            }
            if text.chars().count() > MAX_TEXT_CHARS || text.chars().any(char::is_control) {
                return Err(self.error(format!(
                    "`{field}` is longer than {MAX_TEXT_CHARS} characters or holds control characters"
                )));
            }
        }
        if !self.name_kana.chars().all(|c| matches!(c, 'ァ'..='ヶ' | 'ー' | '・' | ' ' | '　')) {
            return Err(self.error("`name_kana` must be written in katakana".into()));
        }
        if let Some(number) = &self.my_number
            && !is_valid_my_number(number)
        {
            return Err(self.error("`my_number` must be 12 digits with a valid check digit".into()));
        }
        if self.residency.state != ResidencyState::Resident && self.residency.since.is_none() {
            return Err(self.error("`residency.since` is required when the state is not `resident`".into()));
        }
        for year in &self.tax {
            if year.items.iter().any(|item| item.paid > item.assessed) {
                return Err(self.error(format!("tax year {}: `paid` exceeds `assessed`", year.fiscal_year)));
            }
        }
        Ok(())
    }

    /// The household in register order, this resident included: the head
    /// first, then the others as listed, with this resident right after the
    /// head when they are not the head themselves. `None` stands for this
    /// resident, `Some(i)` for `household[i]`.
    pub fn household_order(&self) -> Vec<Option<usize>> {
        let mut order: Vec<Option<usize>> = (0..self.household.len()).map(Some).collect();
        let position = if self.relationship == HEAD_OF_HOUSEHOLD {
            0
        } else {
            self.household.iter().position(|m| m.relationship == HEAD_OF_HOUSEHOLD).map_or(0, |head| head + 1)
        };
        order.insert(position, None);
        order
    }

    /// The member at a position of [`Resident::household_order`].
    pub fn member(&self, slot: Option<usize>) -> Option<&Resident> {
        match slot {
            None => Some(self),
            Some(index) => self.household.get(index),
        }
    }
}

/// A 12-digit individual number with its check digit (番号法施行令 §8).
pub fn is_valid_my_number(number: &str) -> bool {
    let digits: Vec<u32> = number.chars().filter_map(|c| c.to_digit(10)).collect();
    if digits.len() != 12 || number.len() != 12 {
        return false;
    }
    let sum: u32 = (1..=11)
        .map(|n| {
            let p = digits[11 - n];
            let q = if n <= 6 { n as u32 + 1 } else { n as u32 - 5 };
            p * q
        })
        .sum();
    let remainder = sum % 11;
    let check = if remainder <= 1 { 0 } else { 11 - remainder };
    digits[11] == check
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn my_number_check_digit() {
        assert!(is_valid_my_number("123456789018"));
        assert!(!is_valid_my_number("123456789012"));
        assert!(!is_valid_my_number("12345678901"));
    }
}
