//! Test guest (well-behaved): reports what the sandbox shows it of the
//! outside world — the wall clock, the monotonic clock, randomness (through
//! `HashMap`'s seed and `getrandom`-style std entropy), environment variables
//! and arguments — as text in the document, so tests can check that the host
//! hands out virtual, deterministic values and nothing of its own. It also
//! counts, in its own memory, the evaluations and subjects it has seen: in a
//! fresh sandbox that is always this one evaluation and no one before. And it
//! grows its memory by 3 MiB and writes to every page of it, after checking
//! that what it writes over is zero, as in a fresh memory: the host resets
//! the first 2 MiB a sandbox wrote with memset and the rest otherwise, so a
//! reset that missed a page would show in the next evaluation's count.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use kofu_plugin_sdk::{
    Certificate, Document, DocumentBuilder, Field, Manifest, Refusal, Request, Subject, export_certificate,
};

struct EnvironmentProbe;

/// Grows the memory and checks the new pages are fresh (see the top).
#[cfg(target_arch = "wasm32")]
mod fresh_memory {
    /// What the probe grows its memory by: more than the host resets in
    /// place (2 MiB), in WebAssembly pages of 64 KiB.
    const GROWN_PAGES: usize = 48;
    const WASM_PAGE: usize = 64 << 10;
    /// Bytes of a host page: the unit in which the host resets memory.
    const HOST_PAGE: usize = 4 << 10;

    /// Grow the memory, and in every 4 KiB page of what it grew by, read the
    /// first and the last word, count the bytes there that are not zero, and
    /// write to both: every page is then written, and a page the reset
    /// missed would show. Returns (bytes not zero, bytes grown). Not every
    /// byte: the evaluation has a fuel budget.
    pub fn probe() -> (usize, usize) {
        let old_pages = core::arch::wasm32::memory_grow::<0>(GROWN_PAGES);
        if old_pages == usize::MAX {
            return (usize::MAX, 0);
        }
        let start = old_pages * WASM_PAGE;
        let len = GROWN_PAGES * WASM_PAGE;
        // SAFETY: `memory_grow` just added exactly this range to the memory,
        // and nothing else knows of it: the allocator grows the memory beyond
        // it when it needs more. It starts on a page boundary, so it is
        // aligned for u64, and any bit pattern is a valid u64.
        let grown = unsafe { std::slice::from_raw_parts_mut(start as *mut u64, len / 8) };
        let mut stale = 0;
        for page in grown.chunks_exact_mut(HOST_PAGE / 8) {
            let last = page.len() - 1;
            for word in [0, last] {
                let seen = std::hint::black_box(page[word]);
                stale += seen.to_le_bytes().iter().filter(|&&b| b != 0).count();
                page[word] = 0xA5A5_A5A5_A5A5_A5A5;
            }
        }
        (stale, len)
    }
}

/// The guest runs only as WebAssembly; built for the host (by the
/// workspace's lints) it has no linear memory to probe.
#[cfg(not(target_arch = "wasm32"))]
mod fresh_memory {
    pub fn probe() -> (usize, usize) {
        (usize::MAX, 0)
    }
}

/// Evaluations made by this instance (a static, in linear memory).
static EVALUATIONS: AtomicU32 = AtomicU32::new(0);
/// Names of the subjects this instance has rendered (on its heap).
static SEEN: Mutex<Vec<String>> = Mutex::new(Vec::new());

impl Certificate for EnvironmentProbe {
    fn manifest() -> Manifest {
        Manifest::new("probe-environment", "環境確認", "Environment probe", "0.1.0", 0).reads(&[Field::Name])
    }

    fn check(_subject: &Subject, _request: &Request) -> Result<(), Refusal> {
        Ok(())
    }

    fn render(subject: &Subject, request: &Request) -> Result<Document, Refusal> {
        let (stale, grown) = fresh_memory::probe();
        let wall = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let start = Instant::now();
        let elapsed = start.elapsed().as_nanos();
        let hash = RandomState::new().hash_one("kofu");
        let variables = std::env::vars().count();
        let arguments = std::env::args().count();
        let evaluations = EVALUATIONS.fetch_add(1, Ordering::Relaxed) + 1;
        let seen_before = SEEN.lock().map_or(usize::MAX, |mut seen| {
            seen.push(subject.name().to_owned());
            seen.len() - 1
        });
        Ok(DocumentBuilder::new("環境確認")
            .row("氏名", subject.name())
            .row("wall", wall.to_string())
            .row("elapsed", elapsed.to_string())
            .row("hash", hash.to_string())
            .row("env", variables.to_string())
            .row("args", arguments.to_string())
            .row("evaluations", evaluations.to_string())
            .row("seen-before", seen_before.to_string())
            .row("grown-bytes", grown.to_string())
            .row("stale-bytes", stale.to_string())
            .certification("上記のとおり証明する。")
            .signed_by(request)
            .build())
    }
}

export_certificate!(EnvironmentProbe);
