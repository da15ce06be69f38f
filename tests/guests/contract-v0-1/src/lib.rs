//! A plugin built against the published `kofu:certificate@0.1.0`
//! (`wit/v0.1.0/`), without the SDK (which follows the current contract).
//! Tests that the host still loads and runs it: its manifest has no page
//! maximum, its `resident` and `log` imports are the old names, and the
//! capability checks hold through them.
//!
//! Options: `pages` (how many pages the body takes, through page breaks),
//! `household` (list every member's name, through `household()`), and
//! `read-undeclared` (read the birth date, which the manifest does not
//! declare: the host traps the plugin).

wit_bindgen::generate!({
    path: "../../../wit/v0.1.0",
    world: "certificate",
    additional_derives: [PartialEq],
});

use kofu::certificate::log::write as log;
use kofu::certificate::types::*;

struct V0_1;

fn option(context: &RequestContext, key: &str) -> Option<OptionValue> {
    context.options.iter().find(|o| o.key == key).map(|o| o.value.clone())
}

fn text(content: String) -> Text {
    Text { content, face: Face::Mincho, size: TextSize::Normal, align: Align::Left }
}

impl Guest for V0_1 {
    fn manifest() -> Manifest {
        let flag = |key: &str, ja: &str, en: &str| OptionSpec {
            key: key.into(),
            label_ja: ja.into(),
            label_en: en.into(),
            kind: OptionKind::Flag,
            default: OptionValue::Flag(false),
            unlocks: Vec::new(),
        };
        Manifest {
            kind: "probe-contract-v0-1".into(),
            name_ja: "旧契約".into(),
            name_en: "Contract 0.1.0".into(),
            version: "0.1.0".into(),
            reads: vec![Field::Name, Field::Address, Field::Residency, Field::Household],
            options: vec![
                OptionSpec {
                    key: "pages".into(),
                    label_ja: "ページ数".into(),
                    label_en: "Pages".into(),
                    kind: OptionKind::Integer(IntegerRange { min: 1, max: 100 }),
                    default: OptionValue::Integer(1),
                    unlocks: Vec::new(),
                },
                flag("household", "世帯全員", "Whole household"),
                flag("read-undeclared", "未宣言項目を読む", "Read an undeclared field"),
            ],
            fee_yen: 0,
        }
    }

    fn check(subject: &Subject, context: RequestContext) -> Result<(), Refusal> {
        log(LogLevel::Info, "check through kofu:certificate/log@0.1.0");
        if option(&context, "read-undeclared") == Some(OptionValue::Flag(true)) {
            // Not in `reads`: the host traps the plugin here.
            let _ = subject.birth_date();
        }
        match subject.residency().state {
            ResidencyState::Resident => Ok(()),
            _ => Err(Refusal {
                code: RefusalCode::MovedOut,
                message_ja: "転出されています。".into(),
                message_en: "Moved out.".into(),
            }),
        }
    }

    fn render(subject: &Subject, context: RequestContext) -> Result<Document, Refusal> {
        let mut blocks = vec![Block::KeyValues(vec![
            KeyValue { key: "氏名".into(), value: subject.name() },
            KeyValue { key: "住所".into(), value: subject.address() },
        ])];
        if option(&context, "household") == Some(OptionValue::Flag(true)) {
            let names: Vec<String> = subject.household().iter().map(|member| member.name()).collect();
            blocks.push(Block::Paragraph(text(names.join("、"))));
        }
        let pages = match option(&context, "pages") {
            Some(OptionValue::Integer(pages)) => pages,
            _ => 1,
        };
        for page in 2..=pages {
            blocks.push(Block::PageBreak);
            blocks.push(Block::Paragraph(text(format!("{page}枚目"))));
        }
        let municipality = &context.municipality;
        Ok(Document {
            title: "旧契約の証明書".into(),
            blocks,
            certification: "上記のとおり証明する。".into(),
            signature: Signature {
                date_line: format!(
                    "{}年{}月{}日",
                    context.issue_date.year, context.issue_date.month, context.issue_date.day
                ),
                title: municipality.mayor_title.clone(),
                name: municipality.mayor_name.clone(),
                seal: format!("{}之印", municipality.mayor_title),
            },
        })
    }
}

export!(V0_1);
