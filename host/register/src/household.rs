//! Between register rows and a request subject: a plugin sees one `Resident`
//! with the other members of the household embedded, the register holds one
//! row per person.

use kofu_model::Resident;

use crate::RegisterEntry;

/// The subject as a plugin sees it: `subject.person` with `household` = the
/// other entries of `household_members` (which may or may not include the
/// subject itself; matched by id) in register order (the order given).
pub fn assemble(subject: &RegisterEntry, household_members: &[RegisterEntry]) -> Resident {
    let mut person = subject.person.clone();
    person.household = household_members
        .iter()
        .filter(|member| member.id != subject.id)
        .map(|member| {
            // Rows never hold a household; clearing it anyway keeps one bad
            // row from nesting another person's household in the request.
            Resident { household: Vec::new(), ..member.person.clone() }
        })
        .collect();
    person
}

/// Split a fixture (a Resident with embedded household) into entries: the
/// subject gets `subject_id`, members get `{subject_id}-{n}` (n from 1), all
/// in household `household_id`, subject first. Used by the demo.
pub fn entries_from_fixture(
    subject_id: &str,
    household_id: &str,
    fixture: &Resident,
    test: bool,
) -> Vec<RegisterEntry> {
    let entry = |id: String, person: &Resident| RegisterEntry {
        id,
        household: household_id.to_owned(),
        test,
        person: Resident { household: Vec::new(), ..person.clone() },
    };
    std::iter::once(entry(subject_id.to_owned(), fixture))
        .chain(fixture.household.iter().enumerate().map(|(i, member)| entry(format!("{subject_id}-{}", i + 1), member)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Resident {
        let path = format!("{}/../../tests/fixtures/residents/{name}", env!("CARGO_MANIFEST_DIR"));
        Resident::from_json(&std::fs::read_to_string(path).unwrap()).unwrap()
    }

    #[test]
    fn fixture_members_get_numbered_ids_in_one_household() {
        let entries = entries_from_fixture("yamada", "H-yamada", &fixture("yamada-taro.json"), true);
        let ids: Vec<&str> = entries.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(ids, ["yamada", "yamada-1", "yamada-2", "yamada-3"]);
        assert!(entries.iter().all(|e| e.household == "H-yamada" && e.test && e.person.household.is_empty()));
        assert_eq!(entries[2].person.name, "山田　一郎");
    }

    #[test]
    fn assemble_takes_the_others_in_the_order_given() {
        let entries = entries_from_fixture("s", "h", &fixture("suzuki-yoko.json"), false);
        // The subject is a member, not the head: the others keep their order
        // whether or not the subject is in the list.
        let without_subject = &entries[1..];
        assert_eq!(assemble(&entries[0], &entries), assemble(&entries[0], without_subject));
        let head = assemble(&entries[1], &entries);
        let names: Vec<&str> = head.household.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(names, ["鈴木　陽子", "鈴木　陽太"]);
        assert_eq!(head.name, "鈴木　健一");
        head.validate().unwrap();
    }

    #[test]
    fn a_household_of_one_assembles_alone() {
        let entries = entries_from_fixture("n", "h", &fixture("nakamura-kenta.json"), false);
        assert_eq!(entries.len(), 1);
        assert_eq!(assemble(&entries[0], &entries), fixture("nakamura-kenta.json"));
        assert_eq!(assemble(&entries[0], &[]), fixture("nakamura-kenta.json"));
    }
}
