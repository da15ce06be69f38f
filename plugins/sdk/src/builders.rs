//! Constructors for the manifest's records, so a manifest reads as a list of
//! facts rather than nested struct literals.

use crate::{
    Align, Choice, Column, Face, Field, IntegerRange, Manifest, OptionKind, OptionSpec, OptionValue, Text, TextSize,
};

/// The page maximum of [`Manifest::new`]: the host's default page limit.
pub const DEFAULT_MAX_PAGES: u16 = 20;

impl Manifest {
    /// A manifest that reads nothing and offers no options yet; add them
    /// with [`reads`](Manifest::reads) and [`option`](Manifest::option).
    /// Its page maximum is [`DEFAULT_MAX_PAGES`], the host's default limit;
    /// declare your certificate's own with [`max_pages`](Manifest::max_pages).
    ///
    /// `kind` is lowercase kebab-case (e.g. `residence-certificate`),
    /// `version` is semver (e.g. `1.0.0`); the host rejects anything else.
    pub fn new(
        kind: impl Into<String>,
        name_ja: impl Into<String>,
        name_en: impl Into<String>,
        version: impl Into<String>,
        fee_yen: u32,
    ) -> Manifest {
        Manifest {
            kind: kind.into(),
            name_ja: name_ja.into(),
            name_en: name_en.into(),
            version: version.into(),
            reads: Vec::new(),
            options: Vec::new(),
            fee_yen,
            max_pages: DEFAULT_MAX_PAGES,
        }
    }

    /// Declare the most pages the certificate can take (1 or more). The
    /// host refuses a document that runs past it (`too-many-pages`), so a
    /// layout bug costs the resident a refusal, not a stack of paper.
    pub fn max_pages(mut self, pages: u16) -> Manifest {
        self.max_pages = pages;
        self
    }

    /// Declare fields the plugin reads (appended to those already declared).
    /// Reading an undeclared field traps the plugin.
    pub fn reads(mut self, fields: &[Field]) -> Manifest {
        self.reads.extend_from_slice(fields);
        self
    }

    /// Offer an option to the resident.
    pub fn option(mut self, option: OptionSpec) -> Manifest {
        self.options.push(option);
        self
    }
}

impl OptionSpec {
    /// A yes/no option. Fields it [`unlocks`](OptionSpec::unlocks) are
    /// readable only in requests where it is `true`.
    pub fn flag(
        key: impl Into<String>,
        label_ja: impl Into<String>,
        label_en: impl Into<String>,
        default: bool,
    ) -> OptionSpec {
        OptionSpec {
            key: key.into(),
            label_ja: label_ja.into(),
            label_en: label_en.into(),
            kind: OptionKind::Flag,
            default: OptionValue::Flag(default),
            unlocks: Vec::new(),
        }
    }

    /// A whole number from `min` to `max` inclusive (e.g. a fiscal year).
    pub fn integer(
        key: impl Into<String>,
        label_ja: impl Into<String>,
        label_en: impl Into<String>,
        min: i64,
        max: i64,
        default: i64,
    ) -> OptionSpec {
        OptionSpec {
            key: key.into(),
            label_ja: label_ja.into(),
            label_en: label_en.into(),
            kind: OptionKind::Integer(IntegerRange { min, max }),
            default: OptionValue::Integer(default),
            unlocks: Vec::new(),
        }
    }

    /// One value out of `choices`; `default` is one of their values.
    pub fn choice(
        key: impl Into<String>,
        label_ja: impl Into<String>,
        label_en: impl Into<String>,
        choices: Vec<Choice>,
        default: impl Into<String>,
    ) -> OptionSpec {
        OptionSpec {
            key: key.into(),
            label_ja: label_ja.into(),
            label_en: label_en.into(),
            kind: OptionKind::Choice(choices),
            default: OptionValue::Choice(default.into()),
            unlocks: Vec::new(),
        }
    }

    /// Gate `fields` behind this flag option (appended to those already
    /// gated). Each must also be declared in the manifest's `reads`.
    pub fn unlocks(mut self, fields: &[Field]) -> OptionSpec {
        self.unlocks.extend_from_slice(fields);
        self
    }
}

impl Choice {
    /// A choice: stable kebab-case `value` and its labels.
    pub fn new(value: impl Into<String>, label_ja: impl Into<String>, label_en: impl Into<String>) -> Choice {
        Choice { value: value.into(), label_ja: label_ja.into(), label_en: label_en.into() }
    }
}

impl Column {
    /// A table column: header, relative width (1 or more) and cell alignment.
    pub fn new(header: impl Into<String>, weight: u8, align: Align) -> Column {
        Column { header: header.into(), weight, align }
    }
}

impl Text {
    /// A run of text in the given style.
    pub fn new(content: impl Into<String>, face: Face, size: TextSize, align: Align) -> Text {
        Text { content: content.into(), face, size, align }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_collects_reads_and_options() {
        let manifest = Manifest::new("residence-certificate", "住民票の写し", "Residence certificate", "1.0.0", 300)
            .reads(&[Field::Name, Field::MyNumber])
            .option(
                OptionSpec::flag("include-my-number", "個人番号を記載する", "Include My Number", false)
                    .unlocks(&[Field::MyNumber]),
            )
            .option(OptionSpec::integer("fiscal-year", "年度", "Fiscal year", 0, 2099, 0))
            .option(OptionSpec::choice(
                "form",
                "様式",
                "Form",
                vec![Choice::new("individual", "個人", "Individual"), Choice::new("household", "世帯", "Household")],
                "individual",
            ));
        assert_eq!(manifest.reads, vec![Field::Name, Field::MyNumber]);
        assert_eq!(manifest.options.len(), 3);
        assert_eq!(manifest.options[0].unlocks, vec![Field::MyNumber]);
        assert_eq!(manifest.options[0].default, OptionValue::Flag(false));
        assert_eq!(manifest.options[1].kind, OptionKind::Integer(IntegerRange { min: 0, max: 2099 }));
        assert_eq!(manifest.options[2].default, OptionValue::Choice("individual".into()));
        assert_eq!(manifest.fee_yen, 300);
    }
}
