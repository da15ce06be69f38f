use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};

/// A resident field a plugin may declare and read; mirrors the WIT `field`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Field {
    Name,
    NameKana,
    BirthDate,
    Sex,
    Address,
    AddressSince,
    ResidentSince,
    PreviousAddress,
    HouseholdHead,
    Relationship,
    RegisteredDomicile,
    MyNumber,
    Residency,
    SealRegistration,
    TaxRecords,
    Household,
}

impl Field {
    /// The field's WIT name, e.g. `my-number`.
    pub fn as_str(self) -> &'static str {
        match self {
            Field::Name => "name",
            Field::NameKana => "name-kana",
            Field::BirthDate => "birth-date",
            Field::Sex => "sex",
            Field::Address => "address",
            Field::AddressSince => "address-since",
            Field::ResidentSince => "resident-since",
            Field::PreviousAddress => "previous-address",
            Field::HouseholdHead => "household-head",
            Field::Relationship => "relationship",
            Field::RegisteredDomicile => "registered-domicile",
            Field::MyNumber => "my-number",
            Field::Residency => "residency",
            Field::SealRegistration => "seal-registration",
            Field::TaxRecords => "tax-records",
            Field::Household => "household",
        }
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Choice {
    pub value: String,
    pub label_ja: String,
    pub label_en: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum OptionKind {
    Flag,
    Choice { choices: Vec<Choice> },
    Integer { min: i64, max: i64 },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OptionValue {
    Flag(bool),
    Choice(String),
    Integer(i64),
}

impl fmt::Display for OptionValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OptionValue::Flag(value) => write!(f, "{value}"),
            OptionValue::Choice(value) => f.write_str(value),
            OptionValue::Integer(value) => write!(f, "{value}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OptionSpec {
    pub key: String,
    pub label_ja: String,
    pub label_en: String,
    pub kind: OptionKind,
    pub default: OptionValue,
    pub unlocks: Vec<Field>,
}

/// An option resolved for one request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChosenOption {
    pub key: String,
    pub value: OptionValue,
}

/// The highest fee a certificate may cost, in yen: a manifest's default
/// and a fee a municipality sets at activation alike.
pub const MAX_FEE_YEN: u32 = 10_000;

/// A plugin's description of itself, validated by [`Manifest::validate`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub kind: String,
    pub name_ja: String,
    pub name_en: String,
    pub version: String,
    pub reads: Vec<Field>,
    pub options: Vec<OptionSpec>,
    pub fee_yen: u32,
    /// The most pages the certificate takes, as the plugin declares it
    /// (`kofu:certificate@0.2.0`); `None` for a 0.1.0 plugin, which declares
    /// none. See [`Manifest::page_limit`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_pages: Option<u16>,
}

/// What is wrong with a manifest, in words a plugin author can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ManifestError {
    #[error(
        "kind `{0}` is not a valid id: use 3 to 64 lowercase letters, digits and single hyphens, e.g. `residence-certificate`"
    )]
    BadKind(String),
    #[error("version `{0}` is not semver: write it as MAJOR.MINOR.PATCH, e.g. `1.0.0`")]
    BadVersion(String),
    #[error("{0} is empty: give the certificate a display name")]
    EmptyName(&'static str),
    #[error("field `{0}` is declared twice in `reads`")]
    DuplicateField(Field),
    #[error("option key `{0}` is not valid: use lowercase letters, digits and hyphens, e.g. `include-my-number`")]
    BadOptionKey(String),
    #[error("option `{0}` is declared twice")]
    DuplicateOption(String),
    #[error("option `{key}`: {problem}")]
    BadOption { key: String, problem: String },
    #[error("option `{key}` unlocks field `{field}`, which `reads` does not declare: add it to `reads`")]
    UnlocksUndeclared { key: String, field: Field },
    #[error("fee of {0} yen is implausible: certificate fees are at most {MAX_FEE_YEN} yen")]
    BadFee(u32),
    #[error("max-pages is 0: a certificate takes at least one page; declare the most pages it can take")]
    NoPages,
    #[error(
        "{place} holds {what} U+{code:04X} (shown escaped: \"{text}\"): manifest text is shown to residents and \
         operators as it is, so it may hold no control, bidirectional or other invisible formatting characters"
    )]
    UnsafeText { place: String, what: &'static str, code: u32, text: String },
    #[error("{place} is not in Unicode normalisation form C (shown escaped: \"{text}\"): normalise it to NFC")]
    NotNormalized { place: String, text: String },
}

/// Why a requested option set cannot be used, in words the caller can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OptionError {
    #[error("unknown option `{key}`: this certificate accepts {known}")]
    Unknown { key: String, known: String },
    #[error("option `{0}` is given twice")]
    Duplicate(String),
    #[error("option `{key}` does not accept `{value}`: {expected}")]
    BadValue { key: String, value: String, expected: String },
}

const MAX_OPTIONS: usize = 16;
const MAX_TEXT: usize = 200;

/// Whether `kind` may name a certificate kind: 3 to 64 lowercase letters,
/// digits and single hyphens.
pub fn is_valid_kind(kind: &str) -> bool {
    is_slug(kind, 3, 64)
}

fn is_slug(text: &str, min: usize, max: usize) -> bool {
    (min..=max).contains(&text.len())
        && text.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !text.starts_with('-')
        && !text.ends_with('-')
        && !text.contains("--")
}

fn is_semver(text: &str) -> bool {
    let core = text.split(['-', '+']).next().unwrap_or("");
    let parts: Vec<&str> = core.split('.').collect();
    parts.len() == 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) && (p.len() == 1 || !p.starts_with('0')))
        && text.len() <= 64
}

impl Manifest {
    /// Put the display texts (names and labels) into Unicode normalisation
    /// form C, as the host stores and shows them.
    pub fn normalize(&mut self) {
        let nfc = |text: &mut String| {
            if !unicode_normalization::is_nfc(text) {
                *text = crate::text::nfc(text);
            }
        };
        nfc(&mut self.name_ja);
        nfc(&mut self.name_en);
        for option in &mut self.options {
            nfc(&mut option.label_ja);
            nfc(&mut option.label_en);
            if let OptionKind::Choice { choices } = &mut option.kind {
                for choice in choices {
                    nfc(&mut choice.label_ja);
                    nfc(&mut choice.label_en);
                }
            }
        }
    }

    /// Check everything the host relies on before it serves the plugin.
    pub fn validate(&self) -> Result<(), ManifestError> {
        if !is_slug(&self.kind, 3, 64) {
            return Err(ManifestError::BadKind(crate::text::shown(&self.kind)));
        }
        if !is_semver(&self.version) {
            return Err(ManifestError::BadVersion(crate::text::shown(&self.version)));
        }
        check_text("name-ja", &self.name_ja)?;
        check_text("name-en", &self.name_en)?;
        for option in &self.options {
            let key = crate::text::shown(&option.key);
            check_text(&format!("option `{key}` label-ja"), &option.label_ja)?;
            check_text(&format!("option `{key}` label-en"), &option.label_en)?;
            if let OptionKind::Choice { choices } = &option.kind {
                for choice in choices {
                    let value = crate::text::shown(&choice.value);
                    check_text(&format!("option `{key}` choice `{value}` label-ja"), &choice.label_ja)?;
                    check_text(&format!("option `{key}` choice `{value}` label-en"), &choice.label_en)?;
                }
            }
        }
        if self.name_ja.trim().is_empty() || self.name_ja.chars().count() > MAX_TEXT {
            return Err(ManifestError::EmptyName("name-ja"));
        }
        if self.name_en.trim().is_empty() || self.name_en.chars().count() > MAX_TEXT {
            return Err(ManifestError::EmptyName("name-en"));
        }
        let mut seen = BTreeSet::new();
        for field in &self.reads {
            if !seen.insert(*field) {
                return Err(ManifestError::DuplicateField(*field));
            }
        }
        if self.options.len() > MAX_OPTIONS {
            return Err(ManifestError::BadOption {
                key: crate::text::shown(&self.options[MAX_OPTIONS].key),
                problem: format!("a certificate may offer at most {MAX_OPTIONS} options"),
            });
        }
        let mut keys = BTreeSet::new();
        for option in &self.options {
            if !is_slug(&option.key, 1, 48) {
                return Err(ManifestError::BadOptionKey(crate::text::shown(&option.key)));
            }
            if !keys.insert(option.key.as_str()) {
                return Err(ManifestError::DuplicateOption(option.key.clone()));
            }
            validate_option(option)?;
            for field in &option.unlocks {
                if !self.reads.contains(field) {
                    return Err(ManifestError::UnlocksUndeclared { key: option.key.clone(), field: *field });
                }
            }
        }
        if self.fee_yen > MAX_FEE_YEN {
            return Err(ManifestError::BadFee(self.fee_yen));
        }
        if self.max_pages == Some(0) {
            return Err(ManifestError::NoPages);
        }
        Ok(())
    }

    /// The most pages a certificate of this plugin may take: what the
    /// manifest declares, capped by the host's `host_limit`.
    pub fn page_limit(&self, host_limit: usize) -> usize {
        self.max_pages.map_or(host_limit, |declared| usize::from(declared).min(host_limit)).max(1)
    }

    /// Resolve the options a caller asked for (`key`, textual value) into a
    /// value for every declared option, defaults filling the rest.
    pub fn resolve_options(&self, requested: &[(String, String)]) -> Result<Vec<ChosenOption>, OptionError> {
        let mut given = BTreeSet::new();
        for (key, _) in requested {
            if !self.options.iter().any(|o| &o.key == key) {
                let known = if self.options.is_empty() {
                    "no options".to_owned()
                } else {
                    self.options.iter().map(|o| format!("`{}`", o.key)).collect::<Vec<_>>().join(", ")
                };
                return Err(OptionError::Unknown { key: key.clone(), known });
            }
            if !given.insert(key.as_str()) {
                return Err(OptionError::Duplicate(key.clone()));
            }
        }
        self.options
            .iter()
            .map(|spec| {
                let value = match requested.iter().find(|(key, _)| key == &spec.key) {
                    Some((_, text)) => parse_value(spec, text)?,
                    None => spec.default.clone(),
                };
                Ok(ChosenOption { key: spec.key.clone(), value })
            })
            .collect()
    }

    /// Which fields a plugin may read in a request with these options.
    pub fn field_access(&self, options: &[ChosenOption]) -> FieldAccess {
        let unlocked_by_choice = |field: &Field| {
            self.options.iter().filter(|spec| spec.unlocks.contains(field)).any(|spec| {
                options.iter().any(|chosen| chosen.key == spec.key && chosen.value == OptionValue::Flag(true))
            })
        };
        let gated = |field: &Field| self.options.iter().any(|spec| spec.unlocks.contains(field));
        let readable = self.reads.iter().copied().filter(|field| !gated(field) || unlocked_by_choice(field)).collect();
        FieldAccess { readable, declared: self.reads.iter().copied().collect() }
    }
}

/// Manifest text reaches kiosk screens, the API and terminals verbatim.
fn check_text(place: &str, text: &str) -> Result<(), ManifestError> {
    if let Some(c) = crate::text::unsafe_char(text, false) {
        let what = if c.is_control() { "the control character" } else { "the invisible formatting character" };
        return Err(ManifestError::UnsafeText {
            place: place.to_owned(),
            what,
            code: c as u32,
            text: crate::text::shown(text),
        });
    }
    if !unicode_normalization::is_nfc(text) {
        return Err(ManifestError::NotNormalized { place: place.to_owned(), text: crate::text::shown(text) });
    }
    Ok(())
}

fn validate_option(option: &OptionSpec) -> Result<(), ManifestError> {
    let bad = |problem: String| ManifestError::BadOption { key: option.key.clone(), problem };
    if option.label_ja.trim().is_empty() || option.label_en.trim().is_empty() {
        return Err(bad("give it a label in Japanese and in English".into()));
    }
    match (&option.kind, &option.default) {
        (OptionKind::Flag, OptionValue::Flag(_)) => {}
        (OptionKind::Choice { choices }, OptionValue::Choice(default)) => {
            if choices.is_empty() || choices.len() > 16 {
                return Err(bad("a choice option needs 1 to 16 choices".into()));
            }
            let mut values = BTreeSet::new();
            for choice in choices {
                if !is_slug(&choice.value, 1, 48) || !values.insert(choice.value.as_str()) {
                    return Err(bad(format!(
                        "choice value `{}` must be unique lowercase kebab-case",
                        crate::text::shown(&choice.value)
                    )));
                }
            }
            if !values.contains(default.as_str()) {
                return Err(bad(format!("default `{default}` is not one of its choices")));
            }
        }
        (OptionKind::Integer { min, max }, OptionValue::Integer(default)) => {
            if min > max || !(min..=max).contains(&default) {
                return Err(bad(format!("default {default} lies outside {min}..={max}")));
            }
        }
        _ => return Err(bad("its default is not of the option's kind".into())),
    }
    if !option.unlocks.is_empty() && option.kind != OptionKind::Flag {
        return Err(bad("only flag options can unlock fields".into()));
    }
    Ok(())
}

fn parse_value(spec: &OptionSpec, text: &str) -> Result<OptionValue, OptionError> {
    let bad = |expected: String| OptionError::BadValue { key: spec.key.clone(), value: text.to_owned(), expected };
    match &spec.kind {
        OptionKind::Flag => match text {
            "true" | "yes" | "1" => Ok(OptionValue::Flag(true)),
            "false" | "no" | "0" => Ok(OptionValue::Flag(false)),
            _ => Err(bad("write true or false".into())),
        },
        OptionKind::Choice { choices } => {
            if choices.iter().any(|c| c.value == text) {
                Ok(OptionValue::Choice(text.to_owned()))
            } else {
                let list = choices.iter().map(|c| c.value.as_str()).collect::<Vec<_>>().join(", ");
                Err(bad(format!("choose one of {list}")))
            }
        }
        OptionKind::Integer { min, max } => match text.parse::<i64>() {
            Ok(value) if (min..=max).contains(&&value) => Ok(OptionValue::Integer(value)),
            _ => Err(bad(format!("give a whole number from {min} to {max}"))),
        },
    }
}

/// The fields one request may read: declared in the manifest and, for fields
/// behind an option, unlocked by the chosen options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldAccess {
    readable: BTreeSet<Field>,
    declared: BTreeSet<Field>,
}

impl FieldAccess {
    pub fn allows(&self, field: Field) -> bool {
        self.readable.contains(&field)
    }

    pub fn is_declared(&self, field: Field) -> bool {
        self.declared.contains(&field)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest() -> Manifest {
        Manifest {
            kind: "residence-certificate".into(),
            name_ja: "住民票の写し".into(),
            name_en: "Residence certificate".into(),
            version: "1.0.0".into(),
            reads: vec![Field::Name, Field::MyNumber],
            options: vec![OptionSpec {
                key: "include-my-number".into(),
                label_ja: "個人番号を記載する".into(),
                label_en: "Include My Number".into(),
                kind: OptionKind::Flag,
                default: OptionValue::Flag(false),
                unlocks: vec![Field::MyNumber],
            }],
            fee_yen: 300,
            max_pages: Some(2),
        }
    }

    #[test]
    fn gated_fields_are_readable_only_when_unlocked() {
        let m = manifest();
        m.validate().unwrap();
        let off = m.resolve_options(&[]).unwrap();
        assert!(m.field_access(&off).allows(Field::Name));
        assert!(!m.field_access(&off).allows(Field::MyNumber));
        let on = m.resolve_options(&[("include-my-number".into(), "true".into())]).unwrap();
        assert!(m.field_access(&on).allows(Field::MyNumber));
        assert!(!m.field_access(&on).allows(Field::Address));
    }

    #[test]
    fn rejects_unlocking_an_undeclared_field() {
        let mut m = manifest();
        m.reads = vec![Field::Name];
        assert!(matches!(m.validate(), Err(ManifestError::UnlocksUndeclared { .. })));
    }

    #[test]
    fn rejects_bad_ids_and_versions() {
        let mut m = manifest();
        m.kind = "Residence".into();
        assert!(matches!(m.validate(), Err(ManifestError::BadKind(_))));
        let mut m = manifest();
        m.version = "1.0".into();
        assert!(matches!(m.validate(), Err(ManifestError::BadVersion(_))));
    }

    #[test]
    fn unknown_and_malformed_options_say_what_is_accepted() {
        let m = manifest();
        let err = m.resolve_options(&[("colour".into(), "red".into())]).unwrap_err();
        assert!(err.to_string().contains("`include-my-number`"), "{err}");
        let err = m.resolve_options(&[("include-my-number".into(), "maybe".into())]).unwrap_err();
        assert!(err.to_string().contains("true or false"), "{err}");
    }

    #[test]
    fn the_page_limit_is_the_declared_maximum_capped_by_the_host() {
        let mut m = manifest();
        assert_eq!(m.page_limit(20), 2);
        m.max_pages = Some(50);
        assert_eq!(m.page_limit(20), 20);
        m.max_pages = None;
        assert_eq!(m.page_limit(20), 20);
        m.max_pages = Some(0);
        assert_eq!(m.validate(), Err(ManifestError::NoPages));
    }
}
