//! Sample documents shared by the tests and examples; the PDF tools come
//! from `kofu-pdf-check`.
#![allow(dead_code)]

use kofu_model::{Align, Block, Column, Document, Face, KeyValue, Signature, Table, Text, TextSize};
use kofu_render::PageStamp;

pub fn kv(key: &str, value: &str) -> KeyValue {
    KeyValue { key: key.into(), value: value.into() }
}

pub fn text(content: &str, face: Face, size: TextSize, align: Align) -> Text {
    Text { content: content.into(), face, size, align }
}

pub fn column(header: &str, weight: u8, align: Align) -> Column {
    Column { header: header.into(), weight, align }
}

pub fn signature() -> Signature {
    Signature {
        date_line: "令和7年11月21日".into(),
        title: "見本市長".into(),
        name: "見本　一郎".into(),
        seal: "見本市長之印".into(),
    }
}

/// The subject every test stamp names.
pub const SUBJECT_NAME: &str = "試験 花子";

pub fn stamp(preview: bool) -> PageStamp {
    PageStamp {
        issuance_number: "R07-000123".into(),
        verification_code: "7Q4K-M2XD-9PLT".into(),
        subject_name: SUBJECT_NAME.into(),
        preview,
    }
}

/// A one-page residence certificate of about 300 Japanese characters.
pub fn residence_certificate() -> Document {
    Document {
        title: "住民票の写し".into(),
        blocks: vec![
            Block::KeyValues(vec![
                kv("氏名", "見本　太郎"),
                kv("氏名の振り仮名", "ミホン　タロウ"),
                kv("生年月日", "昭和60年4月1日"),
                kv("性別", "男"),
                kv("住所", "見本県見本市中央区本町一丁目2番3号　見本マンション405号室"),
                kv("住所を定めた年月日", "令和3年10月15日"),
                kv("住民となった年月日", "平成22年4月1日（転入）"),
                kv("前住所", "東京都千代田区霞が関二丁目1番2号"),
                kv("世帯主", "見本　太郎"),
                kv("続柄", "世帯主"),
                kv("本籍・筆頭者", "見本県見本市北区大通り五丁目6番地\n筆頭者　見本　一郎"),
            ]),
            Block::Spacing(4),
            Block::Heading(text("世帯員", Face::Gothic, TextSize::Large, Align::Left)),
            Block::Table(Table {
                columns: vec![
                    column("氏名", 3, Align::Left),
                    column("続柄", 2, Align::Center),
                    column("生年月日", 3, Align::Center),
                    column("性別", 1, Align::Center),
                ],
                rows: vec![
                    vec!["見本　太郎".into(), "世帯主".into(), "昭和60年4月1日".into(), "男".into()],
                    vec!["見本　花子".into(), "妻".into(), "昭和62年8月12日".into(), "女".into()],
                    vec!["見本　次郎".into(), "子".into(), "平成27年2月3日".into(), "男".into()],
                ],
            }),
            Block::Rule,
            Block::Paragraph(text(
                "備考：この証明書は、コンビニエンスストア等の端末で交付したものです。偽造防止のため、用紙には特殊な地紋が施されています。記載事項に誤りがある場合は、市民課（電話 012-345-6789）までお問い合わせください。",
                Face::Mincho,
                TextSize::Small,
                Align::Left,
            )),
        ],
        certification: "この写しは、住民票の原本と相違ないことを証明する。".into(),
        signature: signature(),
    }
}

/// A seal registration certificate, with a seal impression.
pub fn seal_certificate() -> Document {
    Document {
        title: "印鑑登録証明書".into(),
        blocks: vec![
            Block::Heading(text("印影", Face::Gothic, TextSize::Normal, Align::Left)),
            Block::SealImpression("見本太郎".into()),
            Block::KeyValues(vec![
                kv("登録番号", "第000123号"),
                kv("氏名", "見本　太郎"),
                kv("生年月日", "昭和60年4月1日"),
                kv("住所", "見本県見本市中央区本町一丁目2番3号"),
            ]),
        ],
        certification: "この写しは、登録されている印影と相違ないことを証明します。".into(),
        signature: signature(),
    }
}

/// A tax certificate whose table runs over several pages.
pub fn long_table(rows: usize) -> Document {
    let rows = (1..=rows)
        .map(|i| {
            vec![
                format!("令和{}年度", i % 7 + 1),
                format!("市民税・県民税 第{i}期"),
                format!("{}円", 10_000 + i * 37),
                format!("{}円", 10_000 + i * 37),
            ]
        })
        .collect();
    Document {
        title: "納税証明書".into(),
        blocks: vec![
            Block::KeyValues(vec![kv("氏名", "見本　太郎"), kv("住所", "見本県見本市中央区本町一丁目2番3号")]),
            Block::Table(Table {
                columns: vec![
                    column("年度", 2, Align::Center),
                    column("税目", 4, Align::Left),
                    column("税額", 2, Align::Right),
                    column("納付済額", 2, Align::Right),
                ],
                rows,
            }),
        ],
        certification: "上記のとおり納付済みであることを証明します。".into(),
        signature: signature(),
    }
}

// The render_loop example shares this module but needs only the documents.
#[allow(unused_imports)]
pub use kofu_pdf_check::{pdf_text as pdftotext, pdffonts, qpdf_check, squash};
