//! Part 4, the peers: Typst (with one compiler reused across documents) and
//! WeasyPrint render the same certificate content, each in a tight loop on
//! one thread, through `peers/peers.py` in the virtual environment that
//! `peers/setup.sh` makes.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, bail};
use serde::Deserialize;
use serde_json::json;

use crate::certificate::BenchCertificate;

#[derive(Debug, Clone, Deserialize)]
pub struct Peer {
    pub version: String,
    pub docs: u64,
    pub docs_per_s: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub bytes: u64,
    pub pages: u64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Peers {
    pub typst: Peer,
    pub weasyprint: Peer,
}

/// The directory of the peers' scripts, in the source tree.
pub fn scripts_dir() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/peers"))
}

/// The IPAex fonts the host embeds, which the peers use too.
fn font(name: &str) -> String {
    format!("{}/../../host/render/fonts/{name}", env!("CARGO_MANIFEST_DIR"))
}

pub fn measure(python: &Path, certificate: &BenchCertificate, seconds: Duration) -> anyhow::Result<Peers> {
    if !python.exists() {
        bail!(
            "{} does not exist: run `tests/bench/peers/setup.sh` (scripts/bench does) to install Typst and \
             WeasyPrint, or pass --no-peers",
            python.display()
        );
    }
    let stamp = &certificate.stamp;
    let input = json!({
        "document": certificate.document,
        "footer": format!(
            "発行番号 {}\u{3000}{{n}} / {{total}}\u{3000}照合コード {}",
            stamp.issuance_number, stamp.verification_code
        ),
        "fonts": { "mincho": font("ipaexm.ttf"), "gothic": font("ipaexg.ttf") },
    });
    let file = tempfile::Builder::new().prefix("kofu-bench-document-").suffix(".json").tempfile()?;
    std::fs::write(file.path(), serde_json::to_vec(&input)?)?;
    let output = Command::new(python)
        .arg(scripts_dir().join("peers.py"))
        .arg(file.path())
        .args(["--seconds", &seconds.as_secs_f64().to_string()])
        .output()
        .with_context(|| format!("cannot run {}", python.display()))?;
    if !output.status.success() {
        bail!("the peers' benchmark failed ({}): {}", output.status, String::from_utf8_lossy(&output.stderr));
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line =
        stdout.lines().rev().find(|l| l.trim_start().starts_with('{')).context("the peers printed no figures")?;
    serde_json::from_str(line).with_context(|| format!("the peers' figures are not as expected: {line}"))
}
