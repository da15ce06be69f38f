//! The register written as a JSON import body, the counterpart of
//! [`crate::to_csv`]: what a municipality would send, and what the tests and
//! fuzz seeds use to hold the JSON import to the entries it came from.

use serde_json::{Value, json};

use crate::RegisterEntry;

/// `{"residents": [...]}`, each resident's fields flat beside `id`,
/// `household` and `test`. [`crate::parse_json`] reads it back to the same
/// entries.
pub fn to_json(entries: &[RegisterEntry]) -> Result<Value, serde_json::Error> {
    let residents = entries
        .iter()
        .map(|entry| {
            let mut row = serde_json::to_value(&entry.person)?;
            if let Some(object) = row.as_object_mut() {
                // The person's own household field is the entry's, below.
                object.remove("household");
                object.insert("id".into(), json!(entry.id));
                object.insert("household".into(), json!(entry.household));
                object.insert("test".into(), json!(entry.test));
            }
            Ok(row)
        })
        .collect::<Result<Vec<Value>, serde_json::Error>>()?;
    Ok(json!({ "residents": residents }))
}
