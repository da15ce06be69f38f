//! Field names as each input format spells them. Checks name fields by their
//! JSON path (`residency.since`); a problem is reported in the words of the
//! format the municipality sent (`residency_since` in a CSV header,
//! `seal_state` in a status change), so the name matches what they can see.

/// The format a problem is reported in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    Json,
    Csv,
    Change,
}

/// The paths that some format spells differently.
const RENAMED: [&str; 13] = [
    "registered_domicile.place",
    "registered_domicile.head",
    "registered_domicile",
    "residency.restricted",
    "residency.state",
    "residency.since",
    "residency",
    "seal.registered_on",
    "seal.impression",
    "seal.number",
    "seal.state",
    "seal",
    "tax",
];

/// Every path a check may name.
pub(crate) const PATHS: [&str; 27] = [
    "id",
    "household",
    "test",
    "name",
    "name_kana",
    "birth_date",
    "sex",
    "address",
    "address_since",
    "resident_since",
    "previous_address",
    "household_head",
    "relationship",
    "registered_domicile",
    "registered_domicile.place",
    "registered_domicile.head",
    "my_number",
    "residency",
    "residency.state",
    "residency.since",
    "residency.restricted",
    "seal",
    "seal.number",
    "seal.registered_on",
    "seal.impression",
    "seal.state",
    "tax",
];

impl Format {
    /// The name of `path` in this format.
    pub(crate) fn field(self, path: &str) -> &str {
        match self {
            Format::Json => path,
            Format::Csv => match path {
                "registered_domicile" | "registered_domicile.place" => "domicile_place",
                "registered_domicile.head" => "domicile_head",
                "residency" | "residency.state" => "residency_state",
                "residency.since" => "residency_since",
                "residency.restricted" => "restricted",
                "seal" | "seal.number" => "seal_number",
                "seal.registered_on" => "seal_registered_on",
                "seal.impression" => "seal_impression",
                "seal.state" => "seal_state",
                other => other,
            },
            Format::Change => match path {
                "residency.restricted" => "restricted",
                "seal" | "seal.state" | "seal.number" | "seal.registered_on" | "seal.impression" => "seal_state",
                "tax" => "tax_year",
                other => other,
            },
        }
    }

    /// Where row `row` is, in Japanese: a CSV file has lines, a JSON import
    /// a list of residents.
    pub(crate) fn row_ja(self, row: usize) -> String {
        match self {
            Format::Csv => format!("{row} 行目"),
            Format::Json | Format::Change => format!("{row} 件目"),
        }
    }

    /// `text` with every backticked path renamed for this format.
    pub(crate) fn rename_in(self, text: &str) -> String {
        let mut out = text.to_owned();
        // The backticks delimit whole paths, so `seal` never clips `seal.state`.
        for path in RENAMED {
            let name = self.field(path);
            if name != path {
                out = out.replace(&format!("`{path}`"), &format!("`{name}`"));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_renamed_per_format() {
        let text = "`residency.since` is required when the state is not `resident`";
        assert_eq!(Format::Json.rename_in(text), text);
        assert_eq!(Format::Csv.rename_in(text), "`residency_since` is required when the state is not `resident`");
        assert_eq!(Format::Csv.rename_in("`seal.state` and `seal`"), "`seal_state` and `seal_number`");
        assert_eq!(Format::Change.field("seal.number"), "seal_state");
        assert_eq!(Format::Change.field("tax"), "tax_year");
    }
}
