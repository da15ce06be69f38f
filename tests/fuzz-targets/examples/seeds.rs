//! Writes the checked-in seed corpus (`fuzz/seeds/`) from the project's own
//! fixtures, documentation examples and bundled plugins, so that the seeds
//! can be brought up to date when those change:
//!
//! ```sh
//! cargo run --release -p kofu-fuzz-targets --example seeds
//! ```
//!
//! The wasm seeds of the upload target are not written here: they are the
//! bundled plugins, which the test and `scripts/fuzz` take from the current
//! build instead of a checked-in binary that would go stale.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use kofu_model::{Date, Municipality, RequestContext, Resident};
use kofu_register::{RegisterEntry, entries_from_fixture, to_csv};
use kofu_sandbox::{Limits, Outcome, Request, Sandbox};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn fixture(name: &str) -> Resident {
    let path = root().join("tests/fixtures/residents").join(format!("{name}.json"));
    Resident::from_json(&std::fs::read_to_string(path).expect("the seed corpus could not be written from the fixtures"))
        .expect("the seed corpus could not be written from the fixtures")
}

fn write(dir: &Path, name: &str, bytes: &[u8]) {
    std::fs::create_dir_all(dir).expect("the seed corpus could not be written from the fixtures");
    std::fs::write(dir.join(name), bytes).expect("the seed corpus could not be written from the fixtures");
}

/// The code block after `<!-- example: {name} -->` in docs/REGISTER.md.
fn example(name: &str) -> String {
    let doc = std::fs::read_to_string(root().join("docs/REGISTER.md"))
        .expect("the seed corpus could not be written from the fixtures");
    let marker = format!("<!-- example: {name} -->");
    let rest =
        &doc[doc.find(&marker).expect("the seed corpus could not be written from the fixtures") + marker.len()..];
    let body = &rest[rest.find("```").expect("the seed corpus could not be written from the fixtures")..];
    let body = &body[body.find('\n').expect("the seed corpus could not be written from the fixtures") + 1..];
    body[..body.find("```").expect("the seed corpus could not be written from the fixtures")].to_owned()
}

fn json_import(entries: &[RegisterEntry]) -> String {
    kofu_register::to_json(entries)
        .and_then(|body| serde_json::to_string_pretty(&body))
        .expect("the seed corpus could not be written from the fixtures")
}

const FIXTURES: [&str; 4] = ["yamada-taro", "suzuki-yoko", "kobayashi-yui", "takahashi-jiro"];

/// Run by hand when the fixtures, docs or plugins change.
fn main() {
    let register = root().join("fuzz/seeds/register_import");
    for name in FIXTURES {
        let entries = entries_from_fixture("R-1", "H-1", &fixture(name), false);
        write(&register, &format!("{name}.json"), json_import(&entries).as_bytes());
        write(&register, &format!("{name}.csv"), to_csv(&entries).as_bytes());
    }
    for name in ["import-json", "import-csv", "import-csv-minimal", "change-moved-out", "change-tax-year"] {
        let extension = if name.contains("csv") { "csv" } else { "json" };
        write(&register, &format!("doc-{name}.{extension}"), example(name).as_bytes());
    }

    let documents = root().join("fuzz/seeds/document");
    let sandbox = Sandbox::new(Limits::default()).expect("the seed corpus could not be written from the fixtures");
    for plugin in kofu_bundled::ALL {
        let loaded = sandbox.load(plugin.component).expect("the seed corpus could not be written from the fixtures");
        for name in FIXTURES {
            let request = Request {
                subject: Arc::new(fixture(name)),
                context: RequestContext {
                    issue_date: Date { year: 2025, month: 11, day: 21 },
                    municipality: Municipality::preview(),
                    options: loaded
                        .manifest()
                        .resolve_options(&[])
                        .expect("the seed corpus could not be written from the fixtures"),
                },
            };
            if let Outcome::Document(document) = sandbox
                .evaluate(&loaded, &request)
                .expect("the seed corpus could not be written from the fixtures")
                .outcome
            {
                let json = serde_json::to_string_pretty(&document)
                    .expect("the seed corpus could not be written from the fixtures");
                write(&documents, &format!("{}-{name}.json", plugin.name), json.as_bytes());
            }
        }
    }
    for (name, bytes) in value_seeds() {
        write(&documents, name, &bytes);
    }
}

/// Seeds for the byte-driven reader (`src/input.rs`): a length byte and
/// palette indices per text, then a kind byte and fields per block.
fn value_seeds() -> Vec<(&'static str, Vec<u8>)> {
    // Palette indices: 証明書 = 3 4 5, 漢字 = 1 2, 。= 17, 　= 8, 1 = 14.
    let fixed = [
        vec![3, 3, 4, 5],  // title
        vec![3, 1, 2, 17], // certification
        vec![2, 14, 15],   // date line
        vec![2, 1, 2],     // signature title
        vec![3, 1, 8, 2],  // name
        vec![2, 3, 4],     // seal
    ]
    .concat();
    let heading = [0, 2, 1, 2, 1, 2, 0];
    let paragraph = [1, 6, 1, 2, 17, 10, 1, 2, 0, 1, 0];
    let key_values = [2, 2, 2, 1, 2, 3, 3, 4, 5, 2, 3, 4, 1, 14];
    // Two columns (漢字, weight 1; 証, weight 4), then runs of rows: 8 × (証明,
    // 漢字) and 4 × (1, 0).
    let table = [3, 2, 2, 1, 2, 1, 0, 1, 3, 4, 2, 2, 0, 2, 3, 4, 2, 1, 2, 7, 0, 1, 14, 1, 15, 3];
    let seal = [6, 2, 1, 2];
    let long_word = [1, 0xF4, 13, 1, 0, 0];
    vec![
        ("value-simple.bin", [fixed.as_slice(), &heading, &paragraph, &key_values].concat()),
        ("value-table.bin", [fixed.as_slice(), &table, &[4], &table, &[7], &seal].concat()),
        ("value-long.bin", [fixed.as_slice(), &long_word, &[5, 90], &paragraph].concat()),
    ]
}
