//! Every resident fixture survives the register: split into rows, imported
//! as JSON and as CSV, and assembled again for a request.

use std::path::PathBuf;

use kofu_model::Resident;
use kofu_register::{RegisterEntry, assemble, entries_from_fixture, parse_csv, parse_json, to_csv};

fn fixtures() -> Vec<(String, Resident)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/residents");
    let mut fixtures: Vec<(String, Resident)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|file| {
            let path = file.unwrap().path();
            let stem = path.file_stem().unwrap().to_str().unwrap().to_owned();
            (stem, Resident::from_json(&std::fs::read_to_string(&path).unwrap()).unwrap())
        })
        .collect();
    fixtures.sort_by(|a, b| a.0.cmp(&b.0));
    assert!(fixtures.len() >= 9, "the fixtures are in {}", dir.display());
    fixtures
}

/// The JSON import of `entries`, written the way a municipality would.
fn json_import(entries: &[RegisterEntry]) -> String {
    serde_json::to_string_pretty(&kofu_register::to_json(entries).unwrap()).unwrap()
}

#[test]
fn every_fixture_assembles_back_from_its_entries() {
    for (name, fixture) in fixtures() {
        let entries = entries_from_fixture(&name, &format!("H-{name}"), &fixture, false);
        assert_eq!(entries.len(), fixture.household.len() + 1);
        assert_eq!(assemble(&entries[0], &entries), fixture, "{name}");
        assert_eq!(assemble(&entries[0], &entries[1..]), fixture, "{name}, subject not in the list");
    }
}

#[test]
fn every_fixture_survives_json_and_csv_imports() {
    for (name, fixture) in fixtures() {
        let entries = entries_from_fixture(&name, &format!("H-{name}"), &fixture, true);
        let from_json =
            parse_json(json_import(&entries).as_bytes()).unwrap_or_else(|e| panic!("{name}: {}", e.report()));
        let from_csv = parse_csv(to_csv(&entries).as_bytes()).unwrap_or_else(|e| panic!("{name}: {}", e.report()));
        assert_eq!(from_json, entries, "{name}: JSON");
        assert_eq!(from_csv, entries, "{name}: CSV");
        assert_eq!(assemble(&from_csv[0], &from_csv), fixture, "{name}");
    }
}

#[test]
fn all_fixtures_in_one_import_give_the_same_register_either_way() {
    let entries: Vec<RegisterEntry> = fixtures()
        .iter()
        .enumerate()
        .flat_map(|(n, (_, fixture))| entries_from_fixture(&format!("R-{n}"), &format!("H-{n}"), fixture, n % 2 == 0))
        .collect();
    let from_json = parse_json(json_import(&entries).as_bytes()).unwrap();
    let from_csv = parse_csv(to_csv(&entries).as_bytes()).unwrap();
    assert_eq!(from_json, from_csv);
    assert_eq!(from_json, entries);
    // A register row stores as the model's JSON and reads back the same.
    let stored = serde_json::to_string(&entries).unwrap();
    assert_eq!(serde_json::from_str::<Vec<RegisterEntry>>(&stored).unwrap(), entries);
}
