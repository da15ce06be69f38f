//! What the municipality's register holds that a certificate could print:
//! every resident's name, kana, address, previous address, head of
//! household, domicile head and individual number, as one Aho–Corasick
//! automaton over their [`skeleton`]s. The binding check looks for them in
//! what a plugin returned; any found where no value the host handed to
//! that evaluation spells it out is data the plugin had no way to read,
//! printed as a constant.

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
            // Standard semantics, for every overlapping match: a datum inside
            // an allowed value must not hide one that runs past it.
            let built = AhoCorasick::builder().match_kind(MatchKind::Standard).build(patterns.iter().map(|(p, _)| p));
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
        self.find_outside(folded, &[])
    }

    /// The kind of the first personal datum of the register found in
    /// `folded` that no occurrence of one of `allowed` (skeletons) covers
    /// whole, if any. Every match counts, overlapping ones included, so a
    /// name inside an allowed address is covered, and one beside it is not.
    pub fn find_outside(&self, folded: &str, allowed: &[String]) -> Option<PersonalKind> {
        let automaton = self.automaton.as_ref()?;
        let mut covered: Vec<(usize, usize)> = Vec::new();
        for value in allowed.iter().filter(|value| !value.is_empty()) {
            covered.extend(folded.match_indices(value.as_str()).map(|(at, found)| (at, at + found.len())));
        }
        // The automaton is built with Standard semantics, which overlapping
        // search requires; should it ever refuse, fail closed: a datum found.
        let Ok(mut matches) = automaton.try_find_overlapping_iter(folded) else {
            return Some(PersonalKind::Name);
        };
        matches
            .find(|found| !covered.iter().any(|&(start, end)| start <= found.start() && found.end() <= end))
            .map(|found| self.kinds.get(found.pattern().as_usize()).copied().unwrap_or(PersonalKind::Name))
    }
}
