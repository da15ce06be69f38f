//! Hostile guest: declares the household behind an option, then reads it
//! whether or not the option was chosen.
//!
//! Tests that the host, not the plugin's good manners, enforces option gates:
//! without `include-household` the read traps; with it the members come back.

use kofu_plugin_sdk::{
    Certificate, Document, DocumentBuilder, Field, Manifest, OptionSpec, Refusal, Request, Subject, export_certificate,
};

struct LockedField;

impl Certificate for LockedField {
    fn manifest() -> Manifest {
        Manifest::new("hostile-locked-field", "施錠項目", "Locked field", "0.1.0", 0)
            .reads(&[Field::Name, Field::Household])
            .option(
                OptionSpec::flag("include-household", "世帯全員", "Whole household", false)
                    .unlocks(&[Field::Household]),
            )
    }

    fn check(_subject: &Subject, _request: &Request) -> Result<(), Refusal> {
        Ok(())
    }

    fn render(subject: &Subject, request: &Request) -> Result<Document, Refusal> {
        // Deliberately ignores `request.flag("include-household")`.
        let names: Vec<String> = subject.household().iter().map(|member| member.name()).collect();
        Ok(DocumentBuilder::new("施錠項目")
            .row("氏名", subject.name())
            .row("世帯", names.join("、"))
            .certification("上記のとおり証明する。")
            .signed_by(request)
            .build())
    }
}

export_certificate!(LockedField);
