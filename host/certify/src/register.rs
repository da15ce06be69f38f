//! What the municipality's register holds that a certificate could print:
//! every resident's name, kana, address, previous address, head of
//! household, domicile head and individual number, as one Aho–Corasick
//! automaton over their [`skeleton`]s. The binding check looks for them in
//! what a plugin returned, after removing the values the host handed to
//! that evaluation: anything found then is someone else's data, printed as
//! a constant.

use aho_corasick::{AhoCorasick, MatchKind};
use kofu_model::Resident;
use kofu_model::text::skeleton;

/// Which kind of personal data a pattern is, for the municipality's record
/// (never the value itself).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum PersonalKind {
    Name,
    Kana,
    Address,
    MyNumber,
}

impl PersonalKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PersonalKind::Name => "the name",
            PersonalKind::Kana => "the name in kana",
            PersonalKind::Address => "the address",
            PersonalKind::MyNumber => "the individual number",
        }
    }
}

/// Shortest skeletons indexed, per kind: shorter ones are words, not data
/// that identifies anyone (a two-character name such as 林一 is still a
/// full name; a four-character address is a town, not a home).
fn min_chars(kind: PersonalKind) -> usize {
    match kind {
        PersonalKind::Name => 2,
        PersonalKind::Kana => 4,
        PersonalKind::Address => 6,
        PersonalKind::MyNumber => 12,
    }
}

/// The register could not be indexed (the automaton's own limits); the
/// caller must not issue without the check.
#[derive(Debug, thiserror::Error)]
#[error("the register's personal data could not be indexed: {0}")]
pub struct RegisterIndexError(String);

/// The register's personal data, searchable in one pass.
pub struct RegisterIndex {
    automaton: Option<AhoCorasick>,
    kinds: Vec<PersonalKind>,
    residents: usize,
}

impl std::fmt::Debug for RegisterIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegisterIndex")
            .field("residents", &self.residents)
            .field("patterns", &self.kinds.len())
            .finish()
    }
}

/// The texts of one resident a certificate could print, with their kinds.
pub fn personal_texts(person: &Resident) -> impl Iterator<Item = (PersonalKind, &str)> {
    let domicile = person.registered_domicile.as_ref();
    [
        (PersonalKind::Name, Some(person.name.as_str())),
        (PersonalKind::Kana, Some(person.name_kana.as_str())),
        (PersonalKind::Address, Some(person.address.as_str())),
        (PersonalKind::Address, person.previous_address.as_deref()),
        (PersonalKind::Name, Some(person.household_head.as_str())),
        (PersonalKind::Name, domicile.map(|d| d.head.as_str())),
        (PersonalKind::Address, domicile.map(|d| d.place.as_str())),
        (PersonalKind::MyNumber, person.my_number.as_deref()),
    ]
    .into_iter()
    .filter_map(|(kind, text)| text.map(|text| (kind, text)))
}

impl RegisterIndex {
    /// An index of nothing: every check against it passes. For re-rendering
    /// a recorded issuance, which was checked when it was issued.
    pub fn empty() -> RegisterIndex {
        RegisterIndex { automaton: None, kinds: Vec::new(), residents: 0 }
    }

    /// Index `residents` and the members of their households.
    pub fn build<'r>(residents: impl IntoIterator<Item = &'r Resident>) -> Result<RegisterIndex, RegisterIndexError> {
        let mut patterns: Vec<(String, PersonalKind)> = Vec::new();
        let mut count = 0;
        for resident in residents {
            for person in std::iter::once(resident).chain(&resident.household) {
                count += 1;
                for (kind, text) in personal_texts(person) {
                    let folded = skeleton(text);
                    if folded.chars().count() >= min_chars(kind) {
                        patterns.push((folded, kind));
                    }
                }
            }
        }
        patterns.sort();
        patterns.dedup_by(|a, b| a.0 == b.0);
        let automaton = if patterns.is_empty() {
            None
        } else {
            // Leftmost-longest: a longer pattern (a full address) is reported
            // rather than a shorter one inside it.
            let built =
                AhoCorasick::builder().match_kind(MatchKind::LeftmostLongest).build(patterns.iter().map(|(p, _)| p));
            Some(built.map_err(|e| RegisterIndexError(e.to_string()))?)
        };
        Ok(RegisterIndex { automaton, kinds: patterns.into_iter().map(|(_, kind)| kind).collect(), residents: count })
    }

    /// How many people the index covers.
    pub fn residents(&self) -> usize {
        self.residents
    }

    /// The kind of the first personal datum of the register found in
    /// `folded` (a skeleton), if any.
    pub fn find(&self, folded: &str) -> Option<PersonalKind> {
        let automaton = self.automaton.as_ref()?;
        automaton.find(folded).and_then(|found| self.kinds.get(found.pattern().as_usize()).copied())
    }
}
