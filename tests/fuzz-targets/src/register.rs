//! A register import (JSON or CSV) and a status change: what the server does
//! with the body of a municipality's import or `PATCH` of one resident.

use std::collections::{HashMap, HashSet};

use kofu_register::{
    ImportError, MAX_HOUSEHOLD_MEMBERS, MAX_PROBLEMS, MAX_ROWS, RegisterEntry, StatusChange, assemble,
    entries_from_fixture, is_valid_id, parse_csv, parse_json, to_csv,
};

/// Read `data` as a JSON import, as a CSV import and as a status change.
/// Properties:
/// - each is all or nothing: every entry, or a non-empty list of at most
///   [`MAX_PROBLEMS`] problems, never a panic;
/// - an accepted register holds only what an import promises (valid unique
///   ids, households of at most [`MAX_HOUSEHOLD_MEMBERS`], all test or all
///   real, every person valid, every subject assembled with their household
///   valid);
/// - JSON and CSV accept the same registers: an accepted register written
///   as CSV (`to_csv`) and as a JSON import reads back the same both ways;
/// - an accepted status change sets something, and applying it either leaves
///   the entry untouched or gives an entry that an import accepts.
pub fn register_import(data: &[u8]) {
    for (format, parsed) in [("JSON", parse_json(data)), ("CSV", parse_csv(data))] {
        match parsed {
            Ok(entries) => accepted(format, &entries),
            Err(err) => refused(format, &err),
        }
    }
    match StatusChange::parse(data) {
        Ok(change) => status_change(&change),
        Err(err) => refused("status change", &err),
    }
}

fn refused(format: &str, err: &ImportError) {
    let count = err.problems.len();
    assert!((1..=MAX_PROBLEMS).contains(&count), "a refused {format} import lists {count} problems");
    assert!(err.problems.iter().all(|p| !p.problem.trim().is_empty()), "a {format} problem says nothing: {err:?}");
    // Both are shown to the municipality; neither may fail to format.
    assert!(!err.to_string().is_empty() && !err.report().is_empty());
}

fn accepted(format: &str, entries: &[RegisterEntry]) {
    assert!(entries.len() <= MAX_ROWS, "a {format} import accepted {} rows", entries.len());
    let mut ids = HashSet::new();
    let mut households: HashMap<&str, Vec<&RegisterEntry>> = HashMap::new();
    for entry in entries {
        assert!(is_valid_id(&entry.id) && is_valid_id(&entry.household), "{format}: invalid id in {entry:?}");
        assert!(ids.insert(entry.id.as_str()), "{format}: id `{}` accepted twice", entry.id);
        assert!(entry.person.household.is_empty(), "{format}: a row holds a household of its own");
        if let Err(err) = entry.person.validate() {
            panic!("{format}: an accepted row is invalid: {err}");
        }
        households.entry(&entry.household).or_default().push(entry);
    }
    for (household, members) in &households {
        assert!(members.len() <= MAX_HOUSEHOLD_MEMBERS, "{format}: household `{household}` is too large");
        assert!(
            members.iter().all(|m| m.test == members[0].test),
            "{format}: household `{household}` mixes test and real residents"
        );
        let members: Vec<RegisterEntry> = members.iter().map(|&m| m.clone()).collect();
        for member in &members {
            if let Err(err) = assemble(member, &members).validate() {
                panic!(
                    "{format}: the request subject `{}` assembled from an accepted import is invalid: {err}",
                    member.id
                );
            }
        }
    }
    let csv = to_csv(entries);
    match parse_csv(csv.as_bytes()) {
        Ok(again) => assert_eq!(again, entries, "{format}: the CSV export reads back differently:\n{csv}"),
        Err(err) => panic!("{format}: the CSV export of an accepted register is refused: {}\n{csv}", err.report()),
    }
    let json = json_import(entries);
    match parse_json(json.as_bytes()) {
        Ok(again) => assert_eq!(again, entries, "{format}: the register reads back differently as JSON:\n{json}"),
        Err(err) => panic!("{format}: the JSON import of an accepted register is refused: {}\n{json}", err.report()),
    }
}

/// The JSON import of `entries`, written the way a municipality would: each
/// resident's fields flat beside `id`, `household` and `test`.
fn json_import(entries: &[RegisterEntry]) -> String {
    kofu_register::to_json(entries).map(|body| body.to_string()).unwrap_or_default()
}

fn status_change(change: &StatusChange) {
    assert!(!change.changed_fields().is_empty(), "an accepted status change changes nothing: {change:?}");
    for entry in fixture_entries() {
        let mut changed = entry.clone();
        match change.apply(&mut changed) {
            Err(_) => assert_eq!(&changed, entry, "a refused status change altered the entry"),
            Ok(()) => {
                let csv = to_csv(std::slice::from_ref(&changed));
                match parse_csv(csv.as_bytes()) {
                    Ok(again) => assert_eq!(again, [changed], "a changed entry reads back differently:\n{csv}"),
                    Err(err) => panic!("a changed entry fails the import's checks: {}\n{csv}", err.report()),
                }
            }
        }
    }
}

/// Residents with a seal (active), a cancelled seal and tax years, and with
/// neither: the states a status change behaves differently on.
fn fixture_entries() -> &'static [RegisterEntry] {
    static ENTRIES: std::sync::OnceLock<Vec<RegisterEntry>> = std::sync::OnceLock::new();
    ENTRIES.get_or_init(|| {
        [
            ("yamada", include_str!("../../fixtures/residents/yamada-taro.json")),
            ("ito", include_str!("../../fixtures/residents/ito-misaki.json")),
            ("nakamura", include_str!("../../fixtures/residents/nakamura-kenta.json")),
        ]
        .into_iter()
        .map(|(id, json)| {
            let person = kofu_model::Resident::from_json(json)
                .unwrap_or_else(|err| panic!("the fixture `{id}` is invalid: {err}"));
            entries_from_fixture(id, &format!("H-{id}"), &person, false).remove(0)
        })
        .collect()
    })
}
