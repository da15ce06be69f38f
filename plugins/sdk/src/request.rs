//! Typed access to what the host says about one request.

use crate::{Date, Municipality, OptionValue, RequestContext};

/// The current request: issue date, issuing municipality, chosen options.
///
/// The host passes every option of the manifest, with the resident's choice
/// or the default, so a lookup only misses when the key is not one the
/// manifest declares (or has another kind); then the accessors answer
/// `false` / `None` rather than panicking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    context: RequestContext,
}

impl Request {
    /// Wrap the context the host passed to `check` or `render`.
    pub fn new(context: RequestContext) -> Request {
        Request { context }
    }

    /// Date of issue (Japan time).
    pub fn issue_date(&self) -> Date {
        self.context.issue_date
    }

    /// The issuing municipality.
    pub fn municipality(&self) -> &Municipality {
        &self.context.municipality
    }

    /// The raw context, for anything the accessors do not cover.
    pub fn context(&self) -> &RequestContext {
        &self.context
    }

    /// The value of option `key`, if the request carries it.
    pub fn option(&self, key: &str) -> Option<&OptionValue> {
        self.context.options.iter().find(|chosen| chosen.key == key).map(|chosen| &chosen.value)
    }

    /// Whether flag option `key` is on; `false` when missing or not a flag.
    ///
    /// Check this before reading a field the flag unlocks: reading it while
    /// the flag is off traps the plugin.
    pub fn flag(&self, key: &str) -> bool {
        matches!(self.option(key), Some(OptionValue::Flag(true)))
    }

    /// The chosen value of choice option `key`; `None` when missing or not
    /// a choice.
    pub fn choice(&self, key: &str) -> Option<&str> {
        match self.option(key) {
            Some(OptionValue::Choice(value)) => Some(value.as_str()),
            _ => None,
        }
    }

    /// The value of integer option `key`; `None` when missing or not an
    /// integer.
    pub fn integer(&self, key: &str) -> Option<i64> {
        match self.option(key) {
            Some(OptionValue::Integer(value)) => Some(*value),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ChosenOption;

    fn request() -> Request {
        let chosen = |key: &str, value| ChosenOption { key: key.into(), value };
        Request::new(RequestContext {
            issue_date: Date { year: 2025, month: 11, day: 21 },
            municipality: Municipality {
                code: "999999".into(),
                name: "見本市".into(),
                mayor_title: "見本市長".into(),
                mayor_name: "見本 一郎".into(),
            },
            options: vec![
                chosen("include-household", OptionValue::Flag(true)),
                chosen("include-my-number", OptionValue::Flag(false)),
                chosen("form", OptionValue::Choice("individual".into())),
                chosen("fiscal-year", OptionValue::Integer(2024)),
            ],
        })
    }

    #[test]
    fn typed_lookups() {
        let r = request();
        assert!(r.flag("include-household"));
        assert!(!r.flag("include-my-number"));
        assert_eq!(r.choice("form"), Some("individual"));
        assert_eq!(r.integer("fiscal-year"), Some(2024));
        assert_eq!(r.issue_date(), Date { year: 2025, month: 11, day: 21 });
        assert_eq!(r.municipality().mayor_title, "見本市長");
    }

    #[test]
    fn missing_or_mistyped_options_are_off() {
        let r = request();
        assert!(!r.flag("no-such-option"));
        assert!(!r.flag("fiscal-year"));
        assert_eq!(r.choice("include-household"), None);
        assert_eq!(r.integer("form"), None);
        assert_eq!(r.integer("no-such-option"), None);
    }
}
