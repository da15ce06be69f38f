//! The municipality's resident register as data: one [`RegisterEntry`] per
//! person, bulk imports from JSON ([`parse_json`]) and CSV ([`parse_csv`]),
//! status changes ([`StatusChange`]), and the request subject a plugin sees
//! ([`assemble`]), and a CSV export ([`to_csv`]). Pure code: storing rows is
//! the server's job.
//!
//! An import is all or nothing: it returns every entry or every problem
//! found, each naming its row, id and field in the sender's own terms. The
//! wire formats are described for municipalities in `docs/REGISTER.md`.

mod csv;
mod csv_export;
mod entry;
mod fields;
mod household;
mod import;
mod json;
mod json_export;
mod problems;
mod status;
mod tax_list;

pub use crate::csv::parse_csv;
pub use csv_export::to_csv;
pub use entry::{MAX_ID_CHARS, RegisterEntry, is_valid_id};
pub use household::{assemble, entries_from_fixture};
pub use import::{MAX_HOUSEHOLD_MEMBERS, MAX_ROWS};
pub use json::parse_json;
pub use json_export::to_json;
pub use problems::{ImportError, MAX_PROBLEMS, RowProblem};
pub use status::StatusChange;
