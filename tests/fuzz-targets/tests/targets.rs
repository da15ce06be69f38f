//! Every fuzz target over its seed corpus (`fuzz/seeds/<target>`) and a few
//! thousand deterministic mutations of it: the targets keep compiling, their
//! properties keep holding on what the seeds reach, and the seeds stay
//! meaningful (the real plugins are accepted, real imports parse, real
//! documents validate). No timing: the same inputs on every run.

use std::path::PathBuf;

use kofu_fuzz_targets::mutate::{Rng, mutate};

/// The seeds of `target`, by file name. Names starting `regression-` are
/// inputs that once broke a property, kept so that it stays fixed.
fn named_seeds(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/seeds").join(target);
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .collect();
    paths.sort();
    assert!(!paths.is_empty(), "no seeds in {}", dir.display());
    paths
        .iter()
        .map(|path| (path.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read(path).unwrap()))
        .collect()
}

fn seeds(target: &str) -> Vec<Vec<u8>> {
    named_seeds(target).into_iter().map(|(_, bytes)| bytes).collect()
}

/// Run `target` on every seed, then on `rounds` mutations of them.
fn exercise(target: fn(&[u8]), seeds: &[Vec<u8>], tokens: &[&[u8]], rounds: usize, rng_seed: u64) {
    for seed in seeds {
        target(seed);
    }
    let mut rng = Rng::new(rng_seed);
    for round in 0..rounds {
        let input = mutate(&mut rng, &seeds[round % seeds.len()], seeds, tokens);
        target(&input);
    }
}

#[test]
fn register_import_holds_on_seeds_and_mutations() {
    // The seeds are real imports and changes: each must parse one way.
    for (name, seed) in named_seeds("register_import") {
        let parsed = kofu_register::parse_json(&seed).is_ok()
            || kofu_register::parse_csv(&seed).is_ok()
            || kofu_register::StatusChange::parse(&seed).is_ok();
        assert!(parsed || name.starts_with("regression-"), "the seed {name} parses as nothing");
    }
    let seeds = seeds("register_import");
    let tokens: &[&[u8]] = &[
        b"\"id\": \"R-1\", ",
        b"\"tax\": [{\"fiscal_year\": 2025, \"items\": [{\"name\": \" x\", \"assessed\": 2, \"paid\": 1}]}], ",
        b"\"residency\": {\"state\": \"moved-out\", \"since\": \"2025-09-30\"}, ",
        b"\"seal_state\": \"cancelled\", ",
        b"\"restricted\": true, ",
        b"\"test\": true, ",
        b"\"",
        b",",
        b";2025: x :1:0",
        b"\r\n",
        b"\"\"",
        b"\xEF\xBB\xBF",
        b"\xE3\x80\x80",
        b"2024-02-29",
        b"526018159084",
    ];
    exercise(kofu_fuzz_targets::register_import, &seeds, tokens, 10_000, 1);
}

#[test]
fn document_holds_on_seeds_and_mutations() {
    let seeds = seeds("document");
    let valid = seeds
        .iter()
        .filter_map(|seed| serde_json::from_slice::<kofu_model::Document>(seed).ok())
        .filter(|document| document.validate(256 << 10).is_ok())
        .count();
    assert!(valid >= 3, "only {valid} seeds are valid JSON documents");
    let tokens: &[&[u8]] = &[
        b"\\n",
        b"\\u0000",
        b"\\u3000",
        b"\"page-break\", ",
        b"\"rule\", ",
        b"{\"spacing\": 255}, ",
        b"{\"seal-impression\": \"\xE5\x8D\xB0\"}, ",
        b"\"weight\": 0",
        b"\xF0\x9F\x98\x80",
        b"\xE3\x80\x82",
    ];
    exercise(kofu_fuzz_targets::document, &seeds, tokens, 5_000, 2);
}

#[test]
fn upload_holds_on_seeds_and_mutations() {
    let mut seeds = seeds("upload");
    // The real plugins, built from the current sources: they must be
    // accepted, or the target only ever sees refusals.
    for plugin in kofu_bundled::ALL {
        seeds.push(plugin.component.to_vec());
    }
    let sandbox = kofu_sandbox::Sandbox::new(kofu_sandbox::Limits::default()).unwrap();
    for plugin in kofu_bundled::ALL {
        // Three tries: `manifest()` runs under the wall-clock limit, which a
        // machine busy with the rest of the suite can exceed.
        let accepted = (0..3).any(|_| sandbox.load(plugin.component).is_ok());
        assert!(accepted, "the bundled plugin `{}` is refused", plugin.name);
    }
    let tokens: &[&[u8]] = &[b"\0asm", b"\x0d\x00\x01\x00", b"\x01\x00\x00\x00", b"wasi:filesystem/types@0.2.0"];
    exercise(kofu_fuzz_targets::upload, &seeds, tokens, 1_000, 3);
}
