//! What a plugin returns (its manifest, a document, a refusal), lifted out
//! of its memory within a byte budget.
//!
//! The canonical ABI lets a component return lists and strings that point
//! anywhere in its memory, the same bytes as often as it likes: lifted
//! eagerly into `Vec`s and `String`s, 32 MiB of instance memory can become
//! any amount of host memory (a million rows, each the same list of a
//! thousand cells). So every string and list here is lifted through
//! [`Text`] and [`List`], which charge its length against the budget of the
//! current call *before* the host allocates anything for it, and stop the
//! lift past the budget. The charge is [`kofu_model::Document::content_size`]'s
//! measure, so a document that lifts is one the output limit accepts.
//!
//! The budget is the calling thread's: a lift runs inside
//! `TypedFunc::call`, on the thread that called it, and [`Budget::enter`]
//! brackets that call.

use std::cell::Cell;

use kofu_model as model;
use kofu_model::CONTENT_ITEM_BYTES;
use wasmtime::ValRaw;
use wasmtime::component::__internal::{CanonicalAbiInfo, InstanceType, InterfaceType, LiftContext};
use wasmtime::component::{ComponentType, Lift};

use crate::bindings::wit;

thread_local! {
    static BUDGET: Cell<Option<Charged>> = const { Cell::new(None) };
}

#[derive(Clone, Copy)]
struct Charged {
    used: usize,
    limit: usize,
    over: bool,
}

/// The byte budget of one call's results, for as long as it lives.
pub(crate) struct Budget {
    _not_send: std::marker::PhantomData<*const ()>,
}

impl Budget {
    /// Open a budget of `limit` bytes on this thread, for the results of
    /// the call about to be made.
    pub fn enter(limit: usize) -> Budget {
        BUDGET.with(|b| b.set(Some(Charged { used: 0, limit, over: false })));
        Budget { _not_send: std::marker::PhantomData }
    }

    /// What was charged, and whether the lift stopped at the limit.
    pub fn finish(self) -> (usize, bool) {
        BUDGET.with(|b| b.get()).map_or((0, false), |c| (c.used, c.over))
    }
}

impl Drop for Budget {
    fn drop(&mut self) {
        BUDGET.with(|b| b.set(None));
    }
}

/// Charge `bytes`; past the budget (or with no budget open: nothing is
/// lifted unbudgeted), an error that ends the lift.
fn charge(bytes: usize) -> wasmtime::Result<()> {
    BUDGET.with(|b| {
        let Some(mut charged) = b.get() else {
            return Err(wasmtime::format_err!("a plugin result was lifted without a budget"));
        };
        charged.used = charged.used.saturating_add(bytes);
        let over = charged.used > charged.limit;
        charged.over |= over;
        b.set(Some(charged));
        if over {
            Err(wasmtime::format_err!(
                "the plugin returned more than the limit of {} bytes (at least {})",
                charged.limit,
                charged.used
            ))
        } else {
            Ok(())
        }
    })
}

/// The length half of a (pointer, length) pair, flat or in memory. A
/// UTF-16 string's length carries a tag bit; masked off, it is the number
/// of code units, which bounds the UTF-8 the host makes of it (3 bytes
/// each at most).
fn flat_len(src: &[ValRaw; 2]) -> usize {
    (src[1].get_u32() & 0x7fff_ffff) as usize
}

fn memory_len(bytes: &[u8]) -> usize {
    match bytes.get(4..8) {
        Some(&[a, b, c, d]) => (u32::from_le_bytes([a, b, c, d]) & 0x7fff_ffff) as usize,
        // The ABI hands over exactly the 8 bytes of a pointer pair; if it
        // did not, charge everything so that the lift stops.
        _ => usize::MAX,
    }
}

/// A `string`, charged its bytes plus one item before it is copied.
pub(crate) struct Text(pub String);

// SAFETY: `Text` has exactly `String`'s canonical ABI representation, type
// check and lifting; it only charges the budget first.
unsafe impl ComponentType for Text {
    type Lower = <String as ComponentType>::Lower;
    const ABI: CanonicalAbiInfo = <String as ComponentType>::ABI;

    fn typecheck(ty: &InterfaceType, types: &InstanceType<'_>) -> wasmtime::Result<()> {
        <String as ComponentType>::typecheck(ty, types)
    }
}

// SAFETY: as above; lifting is `String`'s.
unsafe impl Lift for Text {
    fn linear_lift_from_flat(cx: &mut LiftContext<'_>, ty: InterfaceType, src: &Self::Lower) -> wasmtime::Result<Self> {
        charge(flat_len(src).saturating_add(CONTENT_ITEM_BYTES))?;
        String::linear_lift_from_flat(cx, ty, src).map(Text)
    }

    fn linear_lift_from_memory(cx: &mut LiftContext<'_>, ty: InterfaceType, bytes: &[u8]) -> wasmtime::Result<Self> {
        charge(memory_len(bytes).saturating_add(CONTENT_ITEM_BYTES))?;
        String::linear_lift_from_memory(cx, ty, bytes).map(Text)
    }
}

/// A `list<T>`, charged one item per element before its vector is made;
/// each element then charges its own content as it is lifted.
pub(crate) struct List<T>(pub Vec<T>);

// SAFETY: `List<T>` has exactly `Vec<T>`'s canonical ABI representation,
// type check and lifting; it only charges the budget first.
unsafe impl<T: ComponentType> ComponentType for List<T> {
    type Lower = <Vec<T> as ComponentType>::Lower;
    const ABI: CanonicalAbiInfo = <Vec<T> as ComponentType>::ABI;

    fn typecheck(ty: &InterfaceType, types: &InstanceType<'_>) -> wasmtime::Result<()> {
        <Vec<T> as ComponentType>::typecheck(ty, types)
    }
}

// SAFETY: as above; lifting is `Vec<T>`'s.
unsafe impl<T: Lift> Lift for List<T> {
    fn linear_lift_from_flat(cx: &mut LiftContext<'_>, ty: InterfaceType, src: &Self::Lower) -> wasmtime::Result<Self> {
        charge(flat_len(src).saturating_mul(CONTENT_ITEM_BYTES))?;
        Vec::<T>::linear_lift_from_flat(cx, ty, src).map(List)
    }

    fn linear_lift_from_memory(cx: &mut LiftContext<'_>, ty: InterfaceType, bytes: &[u8]) -> wasmtime::Result<Self> {
        charge(memory_len(bytes).saturating_mul(CONTENT_ITEM_BYTES))?;
        Vec::<T>::linear_lift_from_memory(cx, ty, bytes).map(List)
    }
}

/// The message of a `log.write` call: copied only when it is at most
/// `limit` bytes (code units, for a UTF-16 component), so that an oversized
/// one costs the host neither a copy nor a transcoding.
pub(crate) enum LogMessage {
    Kept(String),
    Oversized(usize),
}

// SAFETY: `LogMessage` has exactly `String`'s canonical ABI representation
// and type check; a kept message is lifted as a `String` is.
unsafe impl ComponentType for LogMessage {
    type Lower = <String as ComponentType>::Lower;
    const ABI: CanonicalAbiInfo = <String as ComponentType>::ABI;

    fn typecheck(ty: &InterfaceType, types: &InstanceType<'_>) -> wasmtime::Result<()> {
        <String as ComponentType>::typecheck(ty, types)
    }
}

// SAFETY: as above.
unsafe impl Lift for LogMessage {
    fn linear_lift_from_flat(cx: &mut LiftContext<'_>, ty: InterfaceType, src: &Self::Lower) -> wasmtime::Result<Self> {
        match flat_len(src) {
            len if len > crate::wasi::MAX_LOG_INPUT => Ok(LogMessage::Oversized(len)),
            _ => String::linear_lift_from_flat(cx, ty, src).map(LogMessage::Kept),
        }
    }

    fn linear_lift_from_memory(cx: &mut LiftContext<'_>, ty: InterfaceType, bytes: &[u8]) -> wasmtime::Result<Self> {
        match memory_len(bytes) {
            len if len > crate::wasi::MAX_LOG_INPUT => Ok(LogMessage::Oversized(len)),
            _ => String::linear_lift_from_memory(cx, ty, bytes).map(LogMessage::Kept),
        }
    }
}

impl<T> List<T> {
    fn map<U>(self, f: impl FnMut(T) -> U) -> Vec<U> {
        self.0.into_iter().map(f).collect()
    }
}

// The records below mirror `wit/certificate.wit` with every string and list
// budgeted. A type check compares them with the component's types by
// structure and name, so they serve every contract version whose types
// they match (0.1.0 and 0.2.0 differ only in the manifest).

#[derive(ComponentType, Lift)]
#[component(record)]
pub(crate) struct Document {
    title: Text,
    blocks: List<Block>,
    certification: Text,
    signature: Signature,
}

#[derive(ComponentType, Lift)]
#[component(record)]
pub(crate) struct Signature {
    #[component(name = "date-line")]
    date_line: Text,
    title: Text,
    name: Text,
    seal: Text,
}

#[derive(ComponentType, Lift)]
#[component(record)]
pub(crate) struct TextRun {
    content: Text,
    face: wit::Face,
    size: wit::TextSize,
    align: wit::Align,
}

#[derive(ComponentType, Lift)]
#[component(record)]
pub(crate) struct KeyValue {
    key: Text,
    value: Text,
}

#[derive(ComponentType, Lift)]
#[component(record)]
pub(crate) struct Column {
    header: Text,
    weight: u8,
    align: wit::Align,
}

#[derive(ComponentType, Lift)]
#[component(record)]
pub(crate) struct Table {
    columns: List<Column>,
    rows: List<List<Text>>,
}

#[derive(ComponentType, Lift)]
#[component(variant)]
pub(crate) enum Block {
    #[component(name = "heading")]
    Heading(TextRun),
    #[component(name = "paragraph")]
    Paragraph(TextRun),
    #[component(name = "key-values")]
    KeyValues(List<KeyValue>),
    #[component(name = "table")]
    Table(Table),
    #[component(name = "rule")]
    Rule,
    #[component(name = "spacing")]
    Spacing(u8),
    #[component(name = "seal-impression")]
    SealImpression(Text),
    #[component(name = "page-break")]
    PageBreak,
}

#[derive(ComponentType, Lift)]
#[component(record)]
pub(crate) struct Refusal {
    code: wit::RefusalCode,
    #[component(name = "message-ja")]
    message_ja: Text,
    #[component(name = "message-en")]
    message_en: Text,
}

#[derive(ComponentType, Lift)]
#[component(record)]
pub(crate) struct Choice {
    value: Text,
    #[component(name = "label-ja")]
    label_ja: Text,
    #[component(name = "label-en")]
    label_en: Text,
}

#[derive(ComponentType, Lift)]
#[component(variant)]
pub(crate) enum OptionKind {
    #[component(name = "flag")]
    Flag,
    #[component(name = "choice")]
    Choice(List<Choice>),
    #[component(name = "integer")]
    Integer(wit::IntegerRange),
}

#[derive(ComponentType, Lift)]
#[component(variant)]
pub(crate) enum OptionValue {
    #[component(name = "flag")]
    Flag(bool),
    #[component(name = "choice")]
    Choice(Text),
    #[component(name = "integer")]
    Integer(i64),
}

#[derive(ComponentType, Lift)]
#[component(record)]
pub(crate) struct OptionSpec {
    key: Text,
    #[component(name = "label-ja")]
    label_ja: Text,
    #[component(name = "label-en")]
    label_en: Text,
    kind: OptionKind,
    default: OptionValue,
    unlocks: List<wit::Field>,
}

/// The manifest of `kofu:certificate@0.2.0`.
#[derive(ComponentType, Lift)]
#[component(record)]
pub(crate) struct Manifest {
    kind: Text,
    #[component(name = "name-ja")]
    name_ja: Text,
    #[component(name = "name-en")]
    name_en: Text,
    version: Text,
    reads: List<wit::Field>,
    options: List<OptionSpec>,
    #[component(name = "fee-yen")]
    fee_yen: u32,
    #[component(name = "max-pages")]
    max_pages: u16,
}

/// The manifest of `kofu:certificate@0.1.0`: no page maximum.
#[derive(ComponentType, Lift)]
#[component(record)]
pub(crate) struct ManifestV0_1 {
    kind: Text,
    #[component(name = "name-ja")]
    name_ja: Text,
    #[component(name = "name-en")]
    name_en: Text,
    version: Text,
    reads: List<wit::Field>,
    options: List<OptionSpec>,
    #[component(name = "fee-yen")]
    fee_yen: u32,
}

impl From<Manifest> for model::Manifest {
    fn from(m: Manifest) -> model::Manifest {
        let mut manifest = model::Manifest::from(ManifestV0_1 {
            kind: m.kind,
            name_ja: m.name_ja,
            name_en: m.name_en,
            version: m.version,
            reads: m.reads,
            options: m.options,
            fee_yen: m.fee_yen,
        });
        manifest.max_pages = Some(m.max_pages);
        manifest
    }
}

impl From<ManifestV0_1> for model::Manifest {
    fn from(m: ManifestV0_1) -> model::Manifest {
        model::Manifest {
            kind: m.kind.0,
            name_ja: m.name_ja.0,
            name_en: m.name_en.0,
            version: m.version.0,
            reads: m.reads.map(crate::convert::field),
            options: m.options.map(option_spec),
            fee_yen: m.fee_yen,
            max_pages: None,
        }
    }
}

fn option_spec(o: OptionSpec) -> model::OptionSpec {
    model::OptionSpec {
        key: o.key.0,
        label_ja: o.label_ja.0,
        label_en: o.label_en.0,
        kind: match o.kind {
            OptionKind::Flag => model::OptionKind::Flag,
            OptionKind::Choice(choices) => model::OptionKind::Choice {
                choices: choices.map(|c| model::Choice {
                    value: c.value.0,
                    label_ja: c.label_ja.0,
                    label_en: c.label_en.0,
                }),
            },
            OptionKind::Integer(r) => model::OptionKind::Integer { min: r.min, max: r.max },
        },
        default: match o.default {
            OptionValue::Flag(b) => model::OptionValue::Flag(b),
            OptionValue::Choice(s) => model::OptionValue::Choice(s.0),
            OptionValue::Integer(i) => model::OptionValue::Integer(i),
        },
        unlocks: o.unlocks.map(crate::convert::field),
    }
}

impl From<Refusal> for model::Refusal {
    fn from(r: Refusal) -> model::Refusal {
        model::Refusal {
            code: crate::convert::refusal_code(r.code),
            message_ja: r.message_ja.0,
            message_en: r.message_en.0,
        }
    }
}

fn text_run(t: TextRun) -> model::Text {
    model::Text {
        content: t.content.0,
        face: crate::convert::face(t.face),
        size: crate::convert::size(t.size),
        align: crate::convert::align(t.align),
    }
}

fn block(b: Block) -> model::Block {
    match b {
        Block::Heading(t) => model::Block::Heading(text_run(t)),
        Block::Paragraph(t) => model::Block::Paragraph(text_run(t)),
        Block::KeyValues(rows) => {
            model::Block::KeyValues(rows.map(|r| model::KeyValue { key: r.key.0, value: r.value.0 }))
        }
        Block::Table(t) => model::Block::Table(model::Table {
            columns: t.columns.map(|c| model::Column {
                header: c.header.0,
                weight: c.weight,
                align: crate::convert::align(c.align),
            }),
            rows: t.rows.map(|row| row.map(|cell| cell.0)),
        }),
        Block::Rule => model::Block::Rule,
        Block::Spacing(mm) => model::Block::Spacing(mm),
        Block::SealImpression(s) => model::Block::SealImpression(s.0),
        Block::PageBreak => model::Block::PageBreak,
    }
}

impl From<Document> for model::Document {
    fn from(d: Document) -> model::Document {
        model::Document {
            title: d.title.0,
            blocks: d.blocks.map(block),
            certification: d.certification.0,
            signature: model::Signature {
                date_line: d.signature.date_line.0,
                title: d.signature.title.0,
                name: d.signature.name.0,
                seal: d.signature.seal.0,
            },
        }
    }
}
