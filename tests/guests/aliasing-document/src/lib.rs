//! Hostile guest: returns a document whose lists alias each other, written
//! in the canonical ABI by hand (no generated export glue could do it).
//!
//! A table of 65,536 rows, every row the same list of 65,536 cells, every
//! cell the same one-byte string: 1 MiB of its own memory that, lifted
//! naively, would be four thousand million strings in the host's. With
//! `attack` = `refusal`, `check` refuses with two messages that are the
//! same 16 MiB. Tests that the host stops lifting at its limits and stays
//! up.
//!
//! `wit_bindgen::generate!` supplies only the component's type information;
//! the exports are the core functions below.

#![allow(clippy::missing_safety_doc)]

mod world {
    wit_bindgen::generate!({
        path: "../../../wit",
        world: "certificate",
    });
}

use std::alloc::{Layout, alloc, realloc};

#[link(wasm_import_module = "kofu:certificate/resident@0.2.0")]
unsafe extern "C" {
    /// Ends the borrow of the subject handle the call received, as the
    /// canonical ABI requires before the call returns.
    #[link_name = "[resource-drop]subject"]
    fn drop_subject(handle: i32);
}

/// A (pointer, length) pair: a `string` or a `list<T>` in wasm32 memory.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct Pair {
    ptr: u32,
    len: u32,
}

fn text(s: &'static str) -> Pair {
    Pair { ptr: s.as_ptr() as u32, len: s.len() as u32 }
}

fn list<T>(items: &'static [T]) -> Pair {
    Pair { ptr: items.as_ptr() as u32, len: items.len() as u32 }
}

fn leak<T>(items: Vec<T>) -> &'static [T] {
    Vec::leak(items)
}

#[repr(C)]
pub struct Manifest {
    kind: Pair,
    name_ja: Pair,
    name_en: Pair,
    version: Pair,
    reads: Pair,
    options: Pair,
    fee_yen: u32,
    max_pages: u16,
}

#[repr(C)]
struct Choice {
    value: Pair,
    label_ja: Pair,
    label_en: Pair,
}

/// An `option-spec`, laid out by hand: its variants hold 64-bit integers,
/// so the record is 8-aligned, 72 bytes.
#[repr(C, align(8))]
struct OptionSpec([u8; 72]);

impl OptionSpec {
    fn put(&mut self, offset: usize, pair: Pair) {
        self.0[offset..offset + 4].copy_from_slice(&pair.ptr.to_le_bytes());
        self.0[offset + 4..offset + 8].copy_from_slice(&pair.len.to_le_bytes());
    }
}

#[repr(C)]
struct Column {
    header: Pair,
    weight: u8,
    align: u8,
}

#[repr(C)]
struct TableBlock {
    tag: u8,
    columns: Pair,
    rows: Pair,
}

#[repr(C)]
pub struct Document {
    tag: u8,
    title: Pair,
    blocks: Pair,
    certification: Pair,
    date_line: Pair,
    signer_title: Pair,
    signer_name: Pair,
    seal: Pair,
}

#[repr(C)]
pub struct Refusal {
    code: u8,
    message_ja: Pair,
    message_en: Pair,
}

/// `result<_, refusal>`: the refusal at offset 4.
#[repr(C)]
pub struct CheckResult {
    tag: u8,
    refusal: Refusal,
}

const ROWS: usize = 1 << 16;
const FIELD_NAME: u8 = 0;
const BLOCK_TABLE: u8 = 3;
const REFUSAL_OTHER: u8 = 8;

#[unsafe(no_mangle)]
pub unsafe extern "C" fn cabi_realloc(old: *mut u8, old_size: usize, align: usize, new_size: usize) -> *mut u8 {
    let Ok(layout) = Layout::from_size_align(new_size.max(1), align.max(1)) else { std::process::abort() };
    // SAFETY: the host asks for memory as the canonical ABI says: a fresh
    // block (old null) or one this function returned with `old_size`.
    unsafe {
        if old.is_null() {
            alloc(layout)
        } else {
            let Ok(old_layout) = Layout::from_size_align(old_size.max(1), align.max(1)) else { std::process::abort() };
            realloc(old, old_layout, new_size.max(1))
        }
    }
}

#[unsafe(export_name = "manifest")]
pub extern "C" fn manifest() -> *const Manifest {
    static READS: [u8; 1] = [FIELD_NAME];
    let choices = leak(vec![
        Choice { value: text("document"), label_ja: text("文書"), label_en: text("Document") },
        Choice { value: text("refusal"), label_ja: text("拒否"), label_en: text("Refusal") },
    ]);
    // key, labels, kind = choice(choices) (tag at 24, list at 32),
    // default = choice("document") (tag at 48, string at 56), no unlocks.
    let mut option = OptionSpec([0; 72]);
    option.put(0, text("attack"));
    option.put(8, text("攻撃"));
    option.put(16, text("Attack"));
    option.0[24] = 1;
    option.put(32, list(choices));
    option.0[48] = 1;
    option.put(56, text("document"));
    let options = leak(vec![option]);
    let manifest = Box::new(Manifest {
        kind: text("hostile-aliasing-document"),
        name_ja: text("重複参照文書"),
        name_en: text("Aliasing document"),
        version: text("0.1.0"),
        reads: list(&READS),
        options: list(options),
        fee_yen: 0,
        max_pages: 1,
    });
    Box::leak(manifest)
}

/// Whether the request's options (the last pair of the flattened context)
/// choose `refusal`. A `chosen-option` is its key (8 bytes) and the value
/// variant (tag at 8, a `choice`'s string at 16): 24 bytes.
fn wants_refusal(options_ptr: i32, options_len: i32) -> bool {
    let base = options_ptr as usize;
    (0..options_len as usize).any(|i| {
        // SAFETY: the host lowered `options_len` records at `options_ptr`
        // into this memory before the call.
        let (ptr, len) = unsafe {
            let at = (base + i * 24 + 16) as *const u32;
            (std::ptr::read(at), std::ptr::read(at.add(1)))
        };
        // SAFETY: as above: the chosen value's string.
        let bytes = unsafe { std::slice::from_raw_parts(ptr as *const u8, len as usize) };
        bytes == b"refusal"
    })
}

#[unsafe(export_name = "check")]
#[allow(clippy::too_many_arguments)]
pub extern "C" fn check(
    subject: i32,
    _year: i32,
    _month: i32,
    _day: i32,
    _code_ptr: i32,
    _code_len: i32,
    _name_ptr: i32,
    _name_len: i32,
    _title_ptr: i32,
    _title_len: i32,
    _mayor_ptr: i32,
    _mayor_len: i32,
    options_ptr: i32,
    options_len: i32,
) -> *const CheckResult {
    // SAFETY: `subject` is the borrow this call received, dropped once.
    unsafe { drop_subject(subject) };
    let none = Pair { ptr: 0, len: 0 };
    if !wants_refusal(options_ptr, options_len) {
        let accepted = Refusal { code: 0, message_ja: none, message_en: none };
        return Box::leak(Box::new(CheckResult { tag: 0, refusal: accepted }));
    }
    // Both messages the same 16 MiB of fresh memory: zero bytes (valid
    // UTF-8) that cost no fuel to write.
    let pages = core::arch::wasm32::memory_grow(0, 256);
    if pages == usize::MAX {
        std::process::abort();
    }
    let message = Pair { ptr: (pages * 65536) as u32, len: 16 << 20 };
    let refusal = Refusal { code: REFUSAL_OTHER, message_ja: message, message_en: message };
    Box::leak(Box::new(CheckResult { tag: 1, refusal }))
}

#[unsafe(export_name = "render")]
#[allow(clippy::too_many_arguments)]
pub extern "C" fn render(
    subject: i32,
    _year: i32,
    _month: i32,
    _day: i32,
    _code_ptr: i32,
    _code_len: i32,
    _name_ptr: i32,
    _name_len: i32,
    _title_ptr: i32,
    _title_len: i32,
    _mayor_ptr: i32,
    _mayor_len: i32,
    _options_ptr: i32,
    _options_len: i32,
) -> *const Document {
    // SAFETY: as in `check`.
    unsafe { drop_subject(subject) };
    static CELL: &str = "a";
    let cells = leak(vec![text(CELL); ROWS]);
    let rows = leak(vec![list(cells); ROWS]);
    let columns = leak(vec![Column { header: text("氏名"), weight: 1, align: 0 }]);
    let blocks = leak(vec![TableBlock { tag: BLOCK_TABLE, columns: list(columns), rows: list(rows) }]);
    Box::leak(Box::new(Document {
        tag: 0,
        title: text("住民票の写し"),
        blocks: list(blocks),
        certification: text("証明する。"),
        date_line: text("令和8年1月1日"),
        signer_title: text("見本市長"),
        signer_name: text("見本 一郎"),
        seal: text("見本市長之印"),
    }))
}
