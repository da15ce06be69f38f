//! The files a local preview reads — a resident, a municipality, a register
//! to check printed data against — shared by `plugin render`, `plugin test`
//! and `plugin watch`, so a case file and the command line mean the same.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use kofu_certify::{Certifier, RegisterIndex};
use kofu_model::{Date, Municipality, Resident};
use kofu_sandbox::{LoadError, Plugin};

use crate::report;

/// Load a component through the production load checks; a manifest call
/// that fails prints its cause, backtrace and logs.
pub fn load_plugin(certifier: &Certifier, path: &Path) -> anyhow::Result<std::sync::Arc<Plugin>> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    match certifier.sandbox().load(&bytes) {
        Ok(plugin) => Ok(plugin),
        Err(LoadError::ManifestFailed(err)) => {
            eprint!("{}", report::evaluation_failure(&err));
            bail!("{} is not a usable plugin: its manifest() call failed", path.display());
        }
        Err(err) => bail!("{} is not a usable plugin: {err}", path.display()),
    }
}

pub fn read_resident(path: &Path) -> anyhow::Result<Resident> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    Resident::from_json(&text).with_context(|| format!("{} is not a valid resident", path.display()))
}

pub fn read_municipality(path: &Path) -> anyhow::Result<Municipality> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| {
        format!("{} is not a municipality: give code, name, mayor_title and mayor_name", path.display())
    })
}

/// The register a preview checks against: the residents in `path` (a JSON
/// file of one resident or an array of them, or a directory of such files),
/// and the subject.
pub fn read_register(path: &Path, subject: &Resident) -> anyhow::Result<RegisterIndex> {
    let mut residents = vec![subject.clone()];
    let files: Vec<PathBuf> = if path.is_dir() {
        let mut files: Vec<PathBuf> = std::fs::read_dir(path)
            .with_context(|| format!("cannot read the directory {}", path.display()))?
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|ext| ext == "json"))
            .collect();
        files.sort();
        files
    } else {
        vec![path.to_owned()]
    };
    for file in files {
        let text = std::fs::read_to_string(&file).with_context(|| format!("cannot read {}", file.display()))?;
        if text.trim_start().starts_with('[') {
            let values: Vec<serde_json::Value> = serde_json::from_str(&text)
                .with_context(|| format!("{} is not a JSON array of residents", file.display()))?;
            for value in values {
                residents.push(
                    Resident::from_json(&value.to_string())
                        .with_context(|| format!("{} holds an invalid resident", file.display()))?,
                );
            }
        } else {
            residents.push(read_resident(&file)?);
        }
    }
    Ok(RegisterIndex::build(residents.iter())?)
}

/// `key=value` pairs from the command line.
pub fn parse_options(raw: &[String]) -> anyhow::Result<Vec<(String, String)>> {
    raw.iter()
        .map(|pair| match pair.split_once('=') {
            Some((key, value)) if !key.is_empty() => Ok((key.to_owned(), value.to_owned())),
            _ => bail!("--option `{pair}` is not key=value, e.g. --option include-household=true"),
        })
        .collect()
}

pub fn today_in_japan() -> Date {
    let seconds = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    Date::in_japan_at(seconds)
}
