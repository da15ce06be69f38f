//! Hostile guest: makes the host work for it, in the way the option
//! `attack` chooses. Every attack goes through a call on the import
//! allow-list: sleeps (through `std::thread::sleep`, which waits on
//! `wasi:clocks/monotonic-clock` and `wasi:io/poll`), a poll on a pollable
//! that never fires, and calls that hand the host large strings or lists or
//! ask it for many bytes. `none`, `sleep-brief` and `stdin` (a blocking
//! read of stdin) issue a certificate;
//! `spin` burns most of its fuel and then issues one (the fair-share
//! benchmark's tenant).
//!
//! Tests that each ends by the evaluation's deadline or limits, with its
//! own reason, and costs the host no more than the limits allow.

use std::hint::black_box;
use std::time::Duration;

use kofu_plugin_sdk::{
    Certificate, Choice, Document, DocumentBuilder, Field, Manifest, OptionSpec, Refusal, Request, Subject,
    export_certificate,
};

/// The WASI version Rust's std is built against; its type information is
/// in every std component, so raw imports of it need no bindings.
mod wasi {
    #[link(wasm_import_module = "wasi:clocks/monotonic-clock@0.2.6")]
    unsafe extern "C" {
        #[link_name = "subscribe-duration"]
        pub fn subscribe_duration(nanos: i64) -> i32;
    }

    #[link(wasm_import_module = "wasi:io/poll@0.2.6")]
    unsafe extern "C" {
        #[link_name = "poll"]
        pub fn poll(list: *const i32, len: usize, ret: *mut [usize; 2]);
    }

    #[link(wasm_import_module = "wasi:random/random@0.2.6")]
    unsafe extern "C" {
        #[link_name = "get-random-bytes"]
        pub fn get_random_bytes(len: i64, ret: *mut [usize; 2]);
    }

    #[link(wasm_import_module = "wasi:cli/stdout@0.2.6")]
    unsafe extern "C" {
        #[link_name = "get-stdout"]
        pub fn get_stdout() -> i32;
    }

    #[link(wasm_import_module = "wasi:io/streams@0.2.6")]
    unsafe extern "C" {
        #[link_name = "[method]output-stream.write"]
        pub fn write(stream: i32, ptr: *const u8, len: usize, ret: *mut [u8; 12]);
    }
}

const ATTACKS: &[&str] = &[
    "none",
    "sleep-brief",
    "sleep-check-long",
    "sleep-check-forever",
    "sleep-render-long",
    "sleep-render-forever",
    "sleep-loop",
    "poll-forever",
    "log",
    "random",
    "stdout",
    "poll-list",
    "spin",
    "stdin",
];

/// 16 MiB: fresh zero pages, cheap for the plugin to hand over.
const BIG: usize = 16 << 20;

/// `BIG` bytes of fresh zero pages, made without touching them (a memset
/// or a copy would cost the plugin fuel; growing memory costs nothing).
fn zero_pages() -> &'static [u8] {
    let old = core::arch::wasm32::memory_grow(0, BIG / 65_536);
    assert!(old != usize::MAX, "memory.grow failed");
    // SAFETY: the pages were just added to linear memory, are zero and
    // belong to no allocation.
    unsafe { std::slice::from_raw_parts((old * 65_536) as *const u8, BIG) }
}

struct HostCalls;

fn attack(request: &Request) -> &str {
    request.choice("attack").unwrap_or("none")
}

fn sleep_for_ever() {
    loop {
        std::thread::sleep(Duration::MAX);
    }
}

fn run(attack: &str) {
    match attack {
        "sleep-brief" => std::thread::sleep(Duration::from_millis(10)),
        "sleep-loop" => loop {
            std::thread::sleep(Duration::from_millis(1));
        },
        "poll-forever" => unsafe {
            let pollable = wasi::subscribe_duration(-1);
            let mut ret = [0usize; 2];
            loop {
                wasi::poll(&pollable, 1, &mut ret);
            }
        },
        "log" => {
            // SAFETY: zero bytes are valid UTF-8 (checking would cost fuel).
            let big = unsafe { std::str::from_utf8_unchecked(zero_pages()) };
            for _ in 0..200 {
                kofu_plugin_sdk::log::info(black_box(big));
            }
        }
        "random" => {
            for _ in 0..5 {
                let mut ret = [0usize; 2];
                unsafe { wasi::get_random_bytes(30 << 20, &mut ret) };
                black_box(ret);
            }
        }
        "stdout" => {
            let big = zero_pages();
            let stdout = unsafe { wasi::get_stdout() };
            for _ in 0..200 {
                let mut ret = [0u8; 12];
                unsafe { wasi::write(stdout, big.as_ptr(), big.len(), &mut ret) };
                black_box(ret);
            }
        }
        "poll-list" => {
            // 4 Mi handles (zeros: the host must refuse the length before
            // it looks at a single one).
            let list = zero_pages();
            for _ in 0..200 {
                let mut ret = [0usize; 2];
                unsafe { wasi::poll(list.as_ptr().cast(), list.len() / 4, &mut ret) };
                black_box(ret);
            }
        }
        "spin" => {
            // About 93% of the default 11 M fuel (9.3 fuel an iteration).
            let mut counter: u64 = 0;
            for _ in 0..black_box(1_100_000u64) {
                counter = black_box(counter.wrapping_add(1));
            }
        }
        "stdin" => {
            // A blocking read of stdin: the host's stdin is closed, so this
            // ends at once (end of file), never waiting for input.
            let mut input = Vec::new();
            let read = std::io::Read::read_to_end(&mut std::io::stdin(), &mut input);
            assert!(matches!(read, Ok(0)), "stdin gave {read:?}");
        }
        _ => {}
    }
}

impl Certificate for HostCalls {
    fn manifest() -> Manifest {
        let choices = ATTACKS.iter().map(|a| Choice::new(*a, *a, *a)).collect();
        Manifest::new("hostile-host-calls", "ホスト呼び出し", "Host calls", "0.1.0", 0)
            .reads(&[Field::Name])
            .option(OptionSpec::choice("attack", "攻撃", "Attack", choices, "none"))
    }

    fn check(_subject: &Subject, request: &Request) -> Result<(), Refusal> {
        match attack(request) {
            "sleep-check-long" => std::thread::sleep(Duration::from_secs(12)),
            "sleep-check-forever" => sleep_for_ever(),
            _ => {}
        }
        Ok(())
    }

    fn render(subject: &Subject, request: &Request) -> Result<Document, Refusal> {
        match attack(request) {
            "sleep-render-long" => std::thread::sleep(Duration::from_secs(3_600)),
            "sleep-render-forever" => sleep_for_ever(),
            other => run(other),
        }
        Ok(DocumentBuilder::new("ホスト呼び出し")
            .row("氏名", subject.name())
            .certification("上記のとおり証明する。")
            .signed_by(request)
            .build())
    }
}

export_certificate!(HostCalls);
