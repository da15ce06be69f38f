//! How a rejected import or status change tells the municipality what to fix.
//! An import is all or nothing, so the whole list of problems is what the
//! sender needs: fixing them one round trip at a time would be slow.

use serde::Serialize;

/// At most this many problems are listed; past that, more are likely the same
/// mistake repeated (a wrong date format in every row, say), and a shorter
/// list is easier to act on.
pub const MAX_PROBLEMS: usize = 100;

/// One thing wrong with an import or a status change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{}", describe(self))]
pub struct RowProblem {
    /// Where: for JSON the record number in `residents` (1-based), for CSV
    /// the line number in the file (the header is line 1). 0 when the
    /// problem is not tied to a row: the file as a whole, or a status change.
    pub row: usize,
    /// The row's `id`, when it has one.
    pub id: Option<String>,
    /// The field (JSON), column (CSV) or status-change field concerned.
    pub field: Option<String>,
    /// What is wrong and what to do, naming the field; complete on its own.
    pub problem: String,
    /// The same in Japanese, for the municipal staff who fix the register.
    pub problem_ja: String,
}

impl RowProblem {
    pub(crate) fn new(row: usize, id: Option<&str>, field: Option<&str>, reason: Reason) -> RowProblem {
        RowProblem {
            row,
            id: id.map(str::to_owned),
            field: field.map(str::to_owned),
            problem: reason.en,
            problem_ja: reason.ja,
        }
    }
}

/// What is wrong, in English and in Japanese. Every problem is written in
/// both where it is found, so that neither language is a translation made
/// later from the other's words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Reason {
    pub en: String,
    pub ja: String,
}

impl Reason {
    pub(crate) fn new(en: impl Into<String>, ja: impl Into<String>) -> Reason {
        Reason { en: en.into(), ja: ja.into() }
    }

    /// Both texts rewritten the same way: field names renamed for a format.
    pub(crate) fn map(self, rewrite: impl Fn(&str) -> String) -> Reason {
        Reason { en: rewrite(&self.en), ja: rewrite(&self.ja) }
    }
}

/// The English text: what `#[serde(try_from)]` needs to report it.
impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.en)
    }
}

/// What the wrong value's type error said, in a Japanese sentence: serde's
/// and the csv reader's messages exist in English only, so they are kept as
/// the detail after the Japanese instruction.
pub(crate) fn detail_ja(instruction: &str, detail: &impl std::fmt::Display) -> String {
    format!("{instruction}（詳細: {detail}）")
}

fn describe(problem: &RowProblem) -> String {
    let mut out = String::new();
    if problem.row > 0 {
        out.push_str(&format!("row {}", problem.row));
    }
    if let Some(id) = &problem.id {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(&format!("(id {})", quote(id)));
    }
    if !out.is_empty() {
        out.push_str(": ");
    }
    out.push_str(&problem.problem);
    out
}

/// Why an import (or a status change body) was rejected. Nothing was
/// imported; `problems` lists everything found, up to [`MAX_PROBLEMS`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{}", summarize(.problems, true))]
pub struct ImportError {
    pub problems: Vec<RowProblem>,
}

impl ImportError {
    pub(crate) fn single(problem: RowProblem) -> ImportError {
        ImportError { problems: vec![problem] }
    }

    /// The summary, then every problem on a line of its own: what a person
    /// reads in a terminal or a log.
    pub fn report(&self) -> String {
        let mut out = summarize(&self.problems, false);
        for problem in &self.problems {
            out.push_str("\n  - ");
            out.push_str(&problem.to_string());
        }
        out
    }
}

/// The count and what to do, with the first problem when it stands alone.
fn summarize(problems: &[RowProblem], with_first: bool) -> String {
    let count = match problems.len() {
        1 => "1 problem".to_owned(),
        n if n >= MAX_PROBLEMS => format!("at least {n} problems (only the first {MAX_PROBLEMS} are listed)"),
        n => format!("{n} problems"),
    };
    let mut out = format!("rejected, nothing was changed: {count}; fix them and send it all again");
    if let Some(first) = problems.first().filter(|_| with_first) {
        out.push_str(&format!(". First: {first}"));
    }
    out
}

/// Quote a value from the input for a message: in backticks, control
/// characters escaped and long values cut, so that a message stays one
/// readable line whatever was sent.
pub(crate) fn quote(value: &str) -> String {
    const SHOWN: usize = 40;
    let mut shown: String = value.chars().take(SHOWN).collect::<String>().escape_debug().collect();
    if value.chars().count() > SHOWN {
        shown.push('…');
    }
    format!("`{shown}`")
}

/// Problems collected while reading one import, capped at [`MAX_PROBLEMS`].
#[derive(Debug, Default)]
pub(crate) struct Problems {
    list: Vec<RowProblem>,
    found: usize,
}

impl Problems {
    pub(crate) fn push(&mut self, problem: RowProblem) {
        self.found += 1;
        if !self.is_full() {
            self.list.push(problem);
        }
    }

    /// Whether reading on can still add to the report.
    pub(crate) fn is_full(&self) -> bool {
        self.list.len() >= MAX_PROBLEMS
    }

    /// How many problems were found, listed or not: a reader compares counts
    /// to tell whether a row failed, even once the list is full.
    pub(crate) fn found(&self) -> usize {
        self.found
    }

    pub(crate) fn into_error(self) -> ImportError {
        ImportError { problems: self.list }
    }

    pub(crate) fn into_result<T>(self, value: T) -> Result<T, ImportError> {
        if self.list.is_empty() { Ok(value) } else { Err(ImportError { problems: self.list }) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_problem_reads_as_one_line_naming_row_and_id() {
        let problem =
            RowProblem::new(3, Some("A-1"), Some("birth_date"), Reason::new("`birth_date` is empty", "空です"));
        assert_eq!(problem.to_string(), "row 3 (id `A-1`): `birth_date` is empty");
        assert_eq!(problem.problem_ja, "空です");
        let whole = RowProblem::new(0, None, None, Reason::new("the file is empty", "空です"));
        assert_eq!(whole.to_string(), "the file is empty");
    }

    #[test]
    fn the_summary_counts_and_shows_the_first() {
        let error = ImportError {
            problems: vec![
                RowProblem::new(2, None, None, Reason::new("one", "一")),
                RowProblem::new(3, None, None, Reason::new("two", "二")),
            ],
        };
        let text = error.to_string();
        assert!(text.contains("2 problems") && text.contains("First: row 2: one"), "{text}");
        assert_eq!(error.report().lines().count(), 3);
    }

    #[test]
    fn collection_stops_at_the_cap() {
        let mut problems = Problems::default();
        for row in 0..MAX_PROBLEMS + 5 {
            problems.push(RowProblem::new(row, None, None, Reason::new("x", "x")));
        }
        assert!(problems.is_full());
        let error = problems.into_result(()).unwrap_err();
        assert_eq!(error.problems.len(), MAX_PROBLEMS);
        assert!(error.to_string().contains("at least 100 problems"));
    }

    #[test]
    fn quoted_values_stay_on_one_line() {
        assert_eq!(quote("a\nb"), "`a\\nb`");
        assert!(quote(&"x".repeat(100)).ends_with("…`"));
    }
}
