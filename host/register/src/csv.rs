//! The CSV import: UTF-8 (a BOM is accepted), a header row naming the
//! columns, one row per resident. An empty cell means absent (or the
//! default). Spaces around a cell are ignored except in text columns, where
//! they are part of the text.

use ::csv::{ByteRecord, ReaderBuilder};
use kofu_model::{
    Date, RegisteredDomicile, Residency, ResidencyState, Resident, SealRegistration, SealState, Sex, TaxYear,
};
use serde::de::{DeserializeOwned, IntoDeserializer};

use crate::RegisterEntry;
use crate::fields::Format;
use crate::import::{MAX_ROWS, finish, too_many_rows};
use crate::problems::{ImportError, Problems, Reason, RowProblem, detail_ja, quote};
use crate::tax_list;

const ID: usize = 0;
const HOUSEHOLD: usize = 1;
const TEST: usize = 2;
const NAME: usize = 3;
const NAME_KANA: usize = 4;
const BIRTH_DATE: usize = 5;
const SEX: usize = 6;
const ADDRESS: usize = 7;
const ADDRESS_SINCE: usize = 8;
const RESIDENT_SINCE: usize = 9;
const PREVIOUS_ADDRESS: usize = 10;
const HOUSEHOLD_HEAD: usize = 11;
const RELATIONSHIP: usize = 12;
const DOMICILE_PLACE: usize = 13;
const DOMICILE_HEAD: usize = 14;
const MY_NUMBER: usize = 15;
const RESIDENCY_STATE: usize = 16;
const RESIDENCY_SINCE: usize = 17;
const RESTRICTED: usize = 18;
const SEAL_NUMBER: usize = 19;
const SEAL_REGISTERED_ON: usize = 20;
const SEAL_IMPRESSION: usize = 21;
const SEAL_STATE: usize = 22;
const TAX: usize = 23;

/// Every column, in the order an export writes them, and whether the header
/// must have it. Indexed by the constants above.
pub(crate) const COLUMNS: [(&str, bool); 24] = [
    ("id", true),
    ("household", true),
    ("test", false),
    ("name", true),
    ("name_kana", true),
    ("birth_date", true),
    ("sex", true),
    ("address", true),
    ("address_since", true),
    ("resident_since", true),
    ("previous_address", false),
    ("household_head", true),
    ("relationship", true),
    ("domicile_place", false),
    ("domicile_head", false),
    ("my_number", false),
    ("residency_state", false),
    ("residency_since", false),
    ("restricted", false),
    ("seal_number", false),
    ("seal_registered_on", false),
    ("seal_impression", false),
    ("seal_state", false),
    ("tax", false),
];

const NOT_UTF8: &str = "save the file as UTF-8 (in Excel: \"CSV UTF-8\"); Shift_JIS is not accepted";
const NOT_UTF8_JA: &str = "ファイルを UTF-8 で保存してください（Excel では「CSV UTF-8」）。Shift_JIS は受け付けません";

/// Parse a CSV import. Returns every resident, or every problem found (up to
/// [`crate::MAX_PROBLEMS`]); nothing in between.
pub fn parse_csv(body: &[u8]) -> Result<Vec<RegisterEntry>, ImportError> {
    // Excel writes a byte-order mark before "CSV UTF-8"; it is not part of
    // the first column's name.
    let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    let mut reader = ReaderBuilder::new().has_headers(false).flexible(true).from_reader(body);
    let mut records = reader.byte_records();
    let header = match records.next() {
        Some(Ok(header)) => header,
        Some(Err(err)) => {
            return Err(whole_file(Reason::new(
                format!("the header row cannot be read: {err}"),
                detail_ja("見出し行を読み取れません", &err),
            )));
        }
        None => {
            let columns = required_columns().join(",");
            return Err(whole_file(Reason::new(
                format!(
                    "the file is empty: it needs a header row naming the columns, e.g. {columns}, then one row per \
                     resident"
                ),
                format!(
                    "ファイルが空です。1 行目に列名を並べた見出し行（例: {columns}）を、2 行目から 1 行に 1 人ずつ書いてください"
                ),
            )));
        }
    };
    let columns = read_header(&header)?;
    let mut problems = Problems::default();
    let mut rows = Vec::new();
    let mut count = 0;
    let mut first_line_over = 0;
    for record in records {
        let record = match record {
            Ok(record) => record,
            Err(err) => {
                let line = err.position().map_or(0, |p| line_at(body, p.byte()));
                let reason = Reason::new(
                    format!("the row cannot be read: {err}"),
                    detail_ja("この行を読み取れません。二重引用符の閉じ忘れがないか確かめてください", &err),
                );
                problems.push(RowProblem::new(line, None, None, reason));
                break;
            }
        };
        // Spreadsheets export rows that were only formatted as commas alone.
        if record.iter().all(|cell| cell.trim_ascii().is_empty()) {
            continue;
        }
        count += 1;
        let line = record.position().map_or(0, |p| line_at(body, p.byte()));
        if count > MAX_ROWS {
            // Keep counting, so that the error can say how many rows there are.
            if first_line_over == 0 {
                first_line_over = line;
            }
            continue;
        }
        if problems.is_full() {
            continue;
        }
        if record.len() != columns.len() {
            let (cells, header) = (record.len(), columns.len());
            let reason = Reason::new(
                format!(
                    "the row has {cells} cells but the header has {header} columns: look for a missing or extra \
                     comma, or a value holding a comma that is not in double quotes"
                ),
                format!(
                    "この行のセルは {cells} 個ですが、見出しの列は {header} 個です。カンマの抜けや余分なカンマ、\
                     二重引用符で囲まれていないカンマを含む値がないか確かめてください"
                ),
            );
            problems.push(RowProblem::new(line, None, None, reason));
            continue;
        }
        if let Some(entry) = read_row(line, &columns, &record, &mut problems) {
            rows.push((line, entry));
        }
    }
    if count > MAX_ROWS {
        return Err(too_many_rows(first_line_over, count, Format::Csv));
    }
    finish(rows, Format::Csv, problems)
}

/// The 1-based line a record starts on. Counted from the byte offset rather
/// than taken from the csv crate's line counter, which counts CRLF line ends
/// wrongly (BurntSushi/rust-csv#395) — and Excel writes CRLF.
fn line_at(body: &[u8], byte: u64) -> usize {
    let mut start = usize::try_from(byte).unwrap_or(usize::MAX).min(body.len());
    // The crate's byte offset can also land on the line end before the
    // record (after a CR); the record starts after any line ends there.
    while body.get(start).is_some_and(|b| matches!(b, b'\r' | b'\n')) {
        start += 1;
    }
    body[..start].iter().filter(|&&b| b == b'\n').count() + 1
}

fn whole_file(reason: Reason) -> ImportError {
    ImportError::single(RowProblem::new(0, None, None, reason))
}

fn required_columns() -> Vec<&'static str> {
    COLUMNS.iter().filter(|(_, required)| *required).map(|(name, _)| *name).collect()
}

/// For each header position, the column it holds.
fn read_header(header: &ByteRecord) -> Result<Vec<usize>, ImportError> {
    let line = 1;
    let mut problems = Problems::default();
    let mut columns = Vec::with_capacity(header.len());
    for (position, cell) in header.iter().enumerate() {
        let Ok(name) = std::str::from_utf8(cell) else {
            let reason = Reason::new(
                format!("the header is not UTF-8 text: {NOT_UTF8}"),
                format!("見出し行が UTF-8 の文字ではありません。{NOT_UTF8_JA}"),
            );
            problems.push(RowProblem::new(line, None, None, reason));
            return problems.into_result(columns);
        };
        let name = name.trim();
        let Some(column) = COLUMNS.iter().position(|(known, _)| *known == name) else {
            let number = position + 1;
            let problem = if name.is_empty() {
                Reason::new(
                    format!("header column {number} has no name: name every column, or remove the empty one"),
                    format!(
                        "見出しの {number} 列目に名前がありません。すべての列に名前を付けるか、空の列を削除してください"
                    ),
                )
            } else {
                let known = COLUMNS.iter().map(|(known, _)| *known).collect::<Vec<_>>().join(", ");
                let quoted = quote(name);
                Reason::new(
                    format!("{quoted} is not a column of the import (header column {number}): the columns are {known}"),
                    format!("{quoted} は取り込みの列ではありません（見出しの {number} 列目）。列は {known} です"),
                )
            };
            problems.push(RowProblem::new(line, None, (!name.is_empty()).then_some(name), problem));
            continue;
        };
        if columns.contains(&column) {
            problems.push(RowProblem::new(
                line,
                None,
                Some(name),
                Reason::new(
                    format!("the header names column `{name}` twice: keep one of them"),
                    format!("見出しに `{name}` 列が 2 回あります。どちらか一方だけを残してください"),
                ),
            ));
        }
        columns.push(column);
    }
    let required = required_columns().join(", ");
    for (column, (name, is_required)) in COLUMNS.iter().enumerate() {
        if *is_required && !columns.contains(&column) {
            problems.push(RowProblem::new(
                line,
                None,
                Some(name),
                Reason::new(
                    format!("the header has no `{name}` column: it is required (the required columns are {required})"),
                    format!("見出しに `{name}` 列がありません。必須の列です（必須の列: {required}）"),
                ),
            ));
        }
    }
    problems.into_result(columns)
}

/// One data row's cells by column, reporting as it decodes.
struct Row<'a> {
    line: usize,
    id: Option<String>,
    /// The cell of each column; `None` when absent from the header or blank.
    cells: Vec<Option<String>>,
    /// Columns whose cell is not UTF-8: reported once as such, not again as
    /// empty.
    unreadable: Vec<usize>,
    problems: &'a mut Problems,
}

fn read_row(line: usize, columns: &[usize], record: &ByteRecord, problems: &mut Problems) -> Option<RegisterEntry> {
    let mut cells = vec![None; COLUMNS.len()];
    let mut unreadable = Vec::new();
    for (&column, cell) in columns.iter().zip(record.iter()) {
        match std::str::from_utf8(cell) {
            Ok(text) if text.trim().is_empty() => {}
            Ok(text) => cells[column] = Some(text.to_owned()),
            Err(_) => unreadable.push(column),
        }
    }
    let id = cells[ID].as_deref().map(|id| id.trim().to_owned());
    for &column in &unreadable {
        let name = COLUMNS[column].0;
        let reason = Reason::new(
            format!("`{name}` is not UTF-8 text: {NOT_UTF8}"),
            format!("`{name}` が UTF-8 の文字ではありません。{NOT_UTF8_JA}"),
        );
        problems.push(RowProblem::new(line, id.as_deref(), Some(name), reason));
    }
    let failed = !unreadable.is_empty();
    let entry = Row { line, id, cells, unreadable, problems }.entry();
    if failed { None } else { entry }
}

impl Row<'_> {
    fn problem(&mut self, column: usize, reason: Reason) {
        if self.unreadable.contains(&column) {
            return;
        }
        self.problems.push(RowProblem::new(self.line, self.id.as_deref(), Some(COLUMNS[column].0), reason));
    }

    fn empty(&mut self, column: usize) {
        let name = COLUMNS[column].0;
        self.problem(
            column,
            Reason::new(
                format!("`{name}` is empty: every resident needs it"),
                format!("`{name}` が空です。すべての住民に必要です"),
            ),
        );
    }

    /// A text cell as written.
    fn text(&self, column: usize) -> Option<String> {
        self.cells[column].clone()
    }

    /// A text cell that must be filled in.
    fn required_text(&mut self, column: usize) -> Option<String> {
        let text = self.text(column);
        if text.is_none() {
            self.empty(column);
        }
        text
    }

    /// A value cell, parsed: `Some(None)` when blank, `None` when wrong.
    fn value<T>(&mut self, column: usize, parse: impl FnOnce(&str) -> Result<T, Reason>) -> Option<Option<T>> {
        let Some(cell) = self.cells[column].clone() else {
            return Some(None);
        };
        match parse(cell.trim()) {
            Ok(value) => Some(Some(value)),
            Err(why) => {
                let name = COLUMNS[column].0;
                self.problem(column, why.map(|why| format!("`{name}`: {why}")));
                None
            }
        }
    }

    /// A value cell that must be filled in.
    fn required_value<T>(&mut self, column: usize, parse: impl FnOnce(&str) -> Result<T, Reason>) -> Option<T> {
        let value = self.value(column, parse)?;
        if value.is_none() {
            self.empty(column);
        }
        value
    }

    fn entry(&mut self) -> Option<RegisterEntry> {
        let id = self.required_value(ID, |id| Ok(id.to_owned()));
        let household = self.required_value(HOUSEHOLD, |id| Ok(id.to_owned()));
        let test = self.value(TEST, boolean);
        let name = self.required_text(NAME);
        let name_kana = self.required_text(NAME_KANA);
        let birth_date = self.required_value(BIRTH_DATE, date);
        let sex = self.required_value(SEX, |s| variant::<Sex>(s, "male, female"));
        let address = self.required_text(ADDRESS);
        let address_since = self.required_value(ADDRESS_SINCE, date);
        let resident_since = self.required_value(RESIDENT_SINCE, date);
        let previous_address = self.text(PREVIOUS_ADDRESS);
        let household_head = self.required_text(HOUSEHOLD_HEAD);
        let relationship = self.required_text(RELATIONSHIP);
        let registered_domicile = self.domicile();
        let my_number = self.value(MY_NUMBER, |n| Ok(n.to_owned()));
        let residency = self.residency();
        let seal = self.seal();
        let tax = self.tax();
        let (
            Some(id),
            Some(household),
            Some(test),
            Some(name),
            Some(name_kana),
            Some(birth_date),
            Some(sex),
            Some(address),
            Some(address_since),
            Some(resident_since),
            Some(household_head),
            Some(relationship),
            Some(registered_domicile),
            Some(my_number),
            Some(residency),
            Some(seal),
            Some(tax),
        ) = (
            id,
            household,
            test,
            name,
            name_kana,
            birth_date,
            sex,
            address,
            address_since,
            resident_since,
            household_head,
            relationship,
            registered_domicile,
            my_number,
            residency,
            seal,
            tax,
        )
        else {
            return None;
        };
        Some(RegisterEntry {
            id,
            household,
            test: test.unwrap_or(false),
            person: Resident {
                name,
                name_kana,
                birth_date,
                sex,
                address,
                address_since,
                resident_since,
                previous_address,
                household_head,
                relationship,
                registered_domicile,
                my_number,
                residency,
                seal,
                tax,
                household: Vec::new(),
            },
        })
    }

    fn domicile(&mut self) -> Option<Option<RegisteredDomicile>> {
        match (self.text(DOMICILE_PLACE), self.text(DOMICILE_HEAD)) {
            (Some(place), Some(head)) => Some(Some(RegisteredDomicile { place, head })),
            (None, None) => Some(None),
            (place, _) => {
                let (missing, given) =
                    if place.is_none() { (DOMICILE_PLACE, DOMICILE_HEAD) } else { (DOMICILE_HEAD, DOMICILE_PLACE) };
                let (missing_name, given_name) = (COLUMNS[missing].0, COLUMNS[given].0);
                self.problem(
                    missing,
                    Reason::new(
                        format!(
                            "`{missing_name}` is empty but `{given_name}` is filled in: the registered domicile (本籍) \
                             needs both its place and its head (筆頭者), or neither"
                        ),
                        format!(
                            "`{given_name}` は書かれていますが `{missing_name}` が空です。本籍は本籍地と筆頭者の両方を\
                             書くか、両方とも空にしてください"
                        ),
                    ),
                );
                None
            }
        }
    }

    fn residency(&mut self) -> Option<Residency> {
        let state = self.value(RESIDENCY_STATE, |s| variant::<ResidencyState>(s, "resident, moved-out, deceased"));
        let since = self.value(RESIDENCY_SINCE, date);
        let restricted = self.value(RESTRICTED, boolean);
        Some(Residency { state: state?.unwrap_or_default(), since: since?, restricted: restricted?.unwrap_or(false) })
    }

    fn seal(&mut self) -> Option<Option<SealRegistration>> {
        let number = self.text(SEAL_NUMBER);
        let registered_on = self.value(SEAL_REGISTERED_ON, date);
        let impression = self.text(SEAL_IMPRESSION);
        let state = self.value(SEAL_STATE, |s| variant::<SealState>(s, "active, cancelled"));
        let any =
            [SEAL_NUMBER, SEAL_REGISTERED_ON, SEAL_IMPRESSION, SEAL_STATE].iter().any(|&c| self.cells[c].is_some());
        if !any {
            return Some(None);
        }
        for (column, present) in [
            (SEAL_NUMBER, number.is_some()),
            (SEAL_REGISTERED_ON, self.cells[SEAL_REGISTERED_ON].is_some()),
            (SEAL_IMPRESSION, impression.is_some()),
        ] {
            if !present {
                let name = COLUMNS[column].0;
                self.problem(
                    column,
                    Reason::new(
                        format!(
                            "`{name}` is empty but other seal columns are filled in: a seal registration needs \
                             seal_number, seal_registered_on and seal_impression (seal_state is active unless \
                             given); leave all four empty if the person has no seal registration"
                        ),
                        format!(
                            "印鑑登録のほかの列は書かれていますが `{name}` が空です。印鑑登録には seal_number、\
                             seal_registered_on、seal_impression が必要です（seal_state は書かなければ active）。\
                             印鑑登録のない人は 4 列とも空にしてください"
                        ),
                    ),
                );
            }
        }
        let (Some(number), Some(Some(registered_on)), Some(impression), Some(state)) =
            (number, registered_on, impression, state)
        else {
            return None;
        };
        Some(Some(SealRegistration { number, registered_on, impression, state: state.unwrap_or(SealState::Active) }))
    }

    fn tax(&mut self) -> Option<Vec<TaxYear>> {
        let Some(cell) = self.cells[TAX].clone() else {
            return Some(Vec::new());
        };
        match tax_list::parse(&cell) {
            Ok(years) => Some(years),
            Err(problems) => {
                for problem in problems {
                    self.problem(TAX, problem);
                }
                None
            }
        }
    }
}

fn boolean(cell: &str) -> Result<bool, Reason> {
    // Spreadsheets turn true into TRUE, so the case is not significant.
    if cell.eq_ignore_ascii_case("true") {
        Ok(true)
    } else if cell.eq_ignore_ascii_case("false") {
        Ok(false)
    } else {
        let quoted = quote(cell);
        Err(Reason::new(
            format!("{quoted} is not true or false: write true or false, or leave the cell empty for false"),
            format!("{quoted} は true でも false でもありません。true か false を書くか、false なら空にしてください"),
        ))
    }
}

fn date(cell: &str) -> Result<Date, Reason> {
    cell.parse::<Date>().map_err(|err| Reason::new(err.to_string(), date_ja(cell)))
}

/// Why a cell is not a date, in Japanese.
pub(crate) fn date_ja(cell: &str) -> String {
    format!(
        "{} は日付ではありません。YYYY-MM-DD の形（例: 2025-11-21）で、1868 年以降の日付を書いてください",
        quote(cell)
    )
}

/// One of a model enum's values, spelled as in JSON.
fn variant<T: DeserializeOwned>(cell: &str, accepted: &str) -> Result<T, Reason> {
    let deserializer: serde::de::value::StrDeserializer<'_, serde::de::value::Error> = cell.into_deserializer();
    T::deserialize(deserializer).map_err(|_| {
        let quoted = quote(cell);
        Reason::new(
            format!("{quoted} is not one of the accepted values: {accepted}"),
            format!("{quoted} は使える値ではありません。使える値: {accepted}"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str =
        "id,household,name,name_kana,birth_date,sex,address,address_since,resident_since,household_head,relationship";
    const ROW: &str = "R-1,H-1,中村　健太,ナカムラ　ケンタ,2001-04-02,male,見本市本町一丁目1番1号,2024-04-01,2024-04-01,中村　健太,世帯主";

    fn wheres(err: &ImportError) -> Vec<(usize, Option<&str>, Option<&str>)> {
        err.problems.iter().map(|p| (p.row, p.id.as_deref(), p.field.as_deref())).collect()
    }

    fn texts(err: &ImportError) -> Vec<&str> {
        err.problems.iter().map(|p| p.problem.as_str()).collect()
    }

    #[test]
    fn required_columns_are_enough() {
        let entries = parse_csv(format!("{HEADER}\n{ROW}\n").as_bytes()).unwrap();
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].person.name, "中村　健太");
        assert!(!entries[0].test && entries[0].person.seal.is_none());
        assert_eq!(parse_csv(format!("{HEADER}\n").as_bytes()).unwrap(), vec![]);
    }

    #[test]
    fn a_bom_crlf_and_blank_lines_are_accepted() {
        let plain = parse_csv(format!("{HEADER}\n{ROW}\n").as_bytes()).unwrap();
        let excel = parse_csv(format!("\u{FEFF}{HEADER}\r\n\r\n{ROW}\r\n,,, ,\r\n").as_bytes()).unwrap();
        assert_eq!(plain, excel);
    }

    #[test]
    fn header_problems_are_all_reported() {
        let header = HEADER.replace("sex,", "gender,").replace(",relationship", ",relationship,name,");
        let err = parse_csv(format!("{header}\n").as_bytes()).unwrap_err();
        assert_eq!(
            wheres(&err),
            [(1, None, Some("gender")), (1, None, Some("name")), (1, None, None), (1, None, Some("sex"))]
        );
        let texts = texts(&err);
        assert!(texts[0].contains("not a column") && texts[0].contains("seal_registered_on"), "{}", texts[0]);
        assert!(texts[1].contains("twice"), "{}", texts[1]);
        assert!(texts[2].contains("header column 13 has no name"), "{}", texts[2]);
        assert!(texts[3].contains("no `sex` column"), "{}", texts[3]);
    }

    #[test]
    fn an_empty_file_or_a_shift_jis_one_is_explained() {
        let err = parse_csv(b"").unwrap_err();
        assert!(texts(&err)[0].contains("the file is empty"), "{err}");
        let err = parse_csv(b"\xEF\xBB\xBF").unwrap_err();
        assert!(texts(&err)[0].contains("the file is empty"), "{err}");
        // 氏名 in Shift_JIS.
        let err = parse_csv(b"id,\x8e\x81\x96\xbc\n").unwrap_err();
        assert_eq!(wheres(&err), [(1, None, None)]);
        assert!(texts(&err)[0].contains("Shift_JIS"), "{err}");
        let row = ROW.replace("中村　健太,ナカ", "X,ナカ");
        let body = [format!("{HEADER}\n").as_bytes(), row.replace('X', "\u{1}").as_bytes()].concat();
        let body: Vec<u8> = body.iter().map(|&b| if b == 1 { 0x8e } else { b }).collect();
        let err = parse_csv(&body).unwrap_err();
        assert_eq!(wheres(&err), [(2, Some("R-1"), Some("name"))]);
    }

    #[test]
    fn every_cell_problem_names_its_line_id_and_column() {
        let header =
            format!("{HEADER},test,residency_state,restricted,seal_number,seal_registered_on,domicile_head,tax");
        let good = format!("{ROW},TRUE,,false,,,,");
        let bad_cells = ROW
            .replace("R-1", "R-2")
            .replace("2001-04-02", "2001/4/2")
            .replace("male", "男")
            .replace("中村　健太,ナカ", ",ナカ");
        let bad_cells = format!("{bad_cells},yes,gone,1,第1号,,本籍の人,\"2025:市民税:1,000:0\"");
        let short = "R-3,H-1,only three";
        let quoted = format!("\"R-4\",H-1,\"中村,\n健太\",{}", &ROW["R-1,H-1,中村　健太,".len()..]);
        let quoted = format!("{quoted},true,,,,,,");
        let body = format!("{header}\n{good}\n{bad_cells}\n{short}\n{quoted}\n");
        let err = parse_csv(body.as_bytes()).unwrap_err();
        assert_eq!(
            wheres(&err),
            [
                (3, Some("R-2"), Some("test")),
                (3, Some("R-2"), Some("name")),
                (3, Some("R-2"), Some("birth_date")),
                (3, Some("R-2"), Some("sex")),
                (3, Some("R-2"), Some("domicile_place")),
                (3, Some("R-2"), Some("residency_state")),
                (3, Some("R-2"), Some("restricted")),
                (3, Some("R-2"), Some("seal_registered_on")),
                (3, Some("R-2"), Some("seal_impression")),
                (3, Some("R-2"), Some("tax")),
                (4, None, None),
                // The name with a line break: read whole, then refused.
                (5, Some("R-4"), Some("name")),
            ]
        );
        let texts = texts(&err);
        assert!(texts[0].contains("`yes` is not true or false"), "{}", texts[0]);
        assert!(texts[2].contains("YYYY-MM-DD"), "{}", texts[2]);
        assert!(texts[3].contains("male, female"), "{}", texts[3]);
        assert!(texts[5].contains("resident, moved-out, deceased"), "{}", texts[5]);
        assert!(texts[7].contains("other seal columns are filled in"), "{}", texts[7]);
        assert!(texts[9].contains("plain digits"), "{}", texts[9]);
        assert!(texts[10].contains("3 cells but the header has 18 columns"), "{}", texts[10]);
        assert!(texts[11].contains("control characters"), "{}", texts[11]);
    }

    #[test]
    fn model_problems_use_column_names() {
        let header = format!("{HEADER},residency_state");
        let body = format!("{header}\n{ROW},moved-out\n");
        let err = parse_csv(body.as_bytes()).unwrap_err();
        assert_eq!(wheres(&err), [(2, Some("R-1"), Some("residency_since"))]);
        assert!(texts(&err)[0].starts_with("`residency_since` is required"), "{err}");
    }

    #[test]
    fn more_than_10000_rows_are_rejected() {
        let rows = |n: usize| {
            let mut body = format!("{HEADER}\n");
            for i in 0..n {
                body.push_str(&ROW.replacen("R-1,H-1", &format!("R-{i},H-{i}"), 1));
                body.push('\n');
            }
            body
        };
        assert_eq!(parse_csv(rows(MAX_ROWS).as_bytes()).unwrap().len(), MAX_ROWS);
        let err = parse_csv(rows(MAX_ROWS + 1).as_bytes()).unwrap_err();
        // The 10,001st row is on line 10,002, after the header.
        assert_eq!(wheres(&err), [(MAX_ROWS + 2, None, None)]);
        assert!(texts(&err)[0].contains("10001 rows, more than the 10000"), "{err}");
    }
}

#[cfg(test)]
mod line_tests {
    #[test]
    fn crlf_lines_are_counted_from_bytes() {
        let body = b"a,b\r\n1,2\r\n3,4\r\n5,6\r\n";
        let mut reader = csv::ReaderBuilder::new().has_headers(false).from_reader(&body[..]);
        let lines: Vec<usize> =
            reader.byte_records().map(|r| super::line_at(body, r.unwrap().position().unwrap().byte())).collect();
        assert_eq!(lines, [1, 2, 3, 4]);
    }
}
