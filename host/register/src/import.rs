//! The checks of a whole import, after each format has read its rows: every
//! row on its own, then the rows against each other. Shared so that JSON and
//! CSV imports accept exactly the same registers.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use crate::RegisterEntry;
use crate::entry::check_entry;
use crate::fields::Format;
use crate::problems::{ImportError, Problems, Reason, RowProblem};

/// The most rows one import may hold. Imports are all or nothing, so one
/// import is one transaction and one report; a bound keeps both small.
pub const MAX_ROWS: usize = 10_000;

/// The most people in one household, the subject included: what
/// `Resident::validate` accepts for an assembled request subject.
pub const MAX_HOUSEHOLD_MEMBERS: usize = 64;

pub(crate) fn too_many_rows(row: usize, total: usize, format: Format) -> ImportError {
    let (unit, unit_ja) = if format == Format::Csv { ("rows", "行") } else { ("residents", "人") };
    ImportError::single(RowProblem::new(
        row,
        None,
        None,
        Reason::new(
            format!(
                "the import holds {total} {unit}, more than the {MAX_ROWS} one import may hold: split it into \
                 several imports of at most {MAX_ROWS} residents each, keeping each household's members together"
            ),
            format!(
                "この取り込みは {total} {unit_ja}あり、1 回に取り込める {MAX_ROWS} 人を超えています。\
                 世帯ごとにまとめたまま、{MAX_ROWS} 人以下ずつに分けて取り込んでください"
            ),
        ),
    ))
}

/// Check the rows that were read (`(row number, entry)`) and return them all,
/// or every problem found, these and the reader's.
pub(crate) fn finish(
    rows: Vec<(usize, RegisterEntry)>,
    format: Format,
    mut problems: Problems,
) -> Result<Vec<RegisterEntry>, ImportError> {
    for (row, entry) in &rows {
        for problem in check_entry(entry) {
            let field = problem.field.as_deref().map(|path| format.field(path));
            let reason = problem.reason.map(|text| format.rename_in(text));
            problems.push(RowProblem::new(*row, Some(&entry.id), field, reason));
        }
    }
    check_together(&rows, format, &mut problems);
    problems.into_result(rows.into_iter().map(|(_, entry)| entry).collect())
}

fn check_together(rows: &[(usize, RegisterEntry)], format: Format, problems: &mut Problems) {
    let mut first_row_of_id: HashMap<&str, usize> = HashMap::new();
    // Per household: its first row, whether that row is a test resident, and
    // how many rows it has.
    let mut households: HashMap<&str, (usize, bool, usize)> = HashMap::new();
    for (row, entry) in rows {
        match first_row_of_id.entry(&entry.id) {
            Entry::Vacant(vacant) => {
                vacant.insert(*row);
            }
            Entry::Occupied(first) => problems.push(RowProblem::new(
                *row,
                Some(&entry.id),
                Some("id"),
                Reason::new(
                    format!(
                        "`id` `{}` is already used on row {}: each person needs an id of their own, and an import \
                         lists each person once",
                        entry.id,
                        first.get()
                    ),
                    format!(
                        "`id` `{}` は {}ですでに使われています。一人ひとりに別の id を付け、1 回の取り込みには\
                         同じ人を 1 回だけ書いてください",
                        entry.id,
                        format.row_ja(*first.get())
                    ),
                ),
            )),
        }
        let household = households.entry(&entry.household).or_insert((*row, entry.test, 0));
        household.2 += 1;
        let (first, first_is_test, count) = *household;
        if entry.test != first_is_test {
            let (this, that) = if entry.test { ("a test", "a real") } else { ("a real", "a test") };
            let (this_ja, that_ja) = if entry.test { ("試験用", "実在") } else { ("実在", "試験用") };
            problems.push(RowProblem::new(
                *row,
                Some(&entry.id),
                Some("test"),
                Reason::new(
                    format!(
                        "this row is {this} resident in household `{}`, whose row {first} is {that} resident: a \
                         household is all test residents or all real ones, so that a test never prints a real \
                         person's data and a certificate never lists a test person",
                        entry.household
                    ),
                    format!(
                        "この住民は世帯 `{}` の{this_ja}の住民ですが、同じ世帯の {} は{that_ja}の住民です。\
                         一つの世帯は全員が試験用か全員が実在の住民でなければなりません（試験で実在の人の\
                         データを印刷しないため、証明書に試験用の人を載せないためです）",
                        entry.household,
                        format.row_ja(first)
                    ),
                ),
            ));
        }
        if count == MAX_HOUSEHOLD_MEMBERS + 1 {
            problems.push(RowProblem::new(
                *row,
                Some(&entry.id),
                Some("household"),
                Reason::new(
                    format!(
                        "household `{}` has more than {MAX_HOUSEHOLD_MEMBERS} members (its first row is {first}): \
                         check the `household` ids",
                        entry.household
                    ),
                    format!(
                        "世帯 `{}` の人数が {MAX_HOUSEHOLD_MEMBERS} 人を超えています（最初は {}）。\
                         `household` の id を確かめてください",
                        entry.household,
                        format.row_ja(first)
                    ),
                ),
            ));
        }
    }
}
