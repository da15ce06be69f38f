//! Test guest (well-behaved): reports what the sandbox shows it of the
//! outside world — the wall clock, the monotonic clock, randomness (through
//! `HashMap`'s seed and `getrandom`-style std entropy), environment variables
//! and arguments — as text in the document, so tests can check that the host
//! hands out virtual, deterministic values and nothing of its own. It also
//! counts, in its own memory, the evaluations and subjects it has seen: in a
//! fresh sandbox that is always this one evaluation and no one before.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use kofu_plugin_sdk::{
    Certificate, Document, DocumentBuilder, Field, Manifest, Refusal, Request, Subject, export_certificate,
};

struct EnvironmentProbe;

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
            .certification("上記のとおり証明する。")
            .signed_by(request)
            .build())
    }
}

export_certificate!(EnvironmentProbe);
