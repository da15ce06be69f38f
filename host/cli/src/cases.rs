//! A plugin's test cases: each `tests/*.toml` file of a plugin project is one
//! request (a resident, options, a date) and what must come of it (issued or
//! refused with a code, text per page, a page count, a PDF hash, page
//! images). Cases run through the production path — sandbox, limits, host
//! policy, renderer, stamp check — with the preview stamp, so a case's PDF
//! is the same bytes on every run and every machine.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use kofu_certify::{Certified, Certifier, CertifyError, RegisterIndex, Stamp};
use kofu_model::{Date, Municipality, RequestContext, Resident};
use kofu_sandbox::{Plugin, Request};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::inputs::{read_municipality, read_register, read_resident};
use crate::report;

/// The issue date of a case that names none: fixed, so that a case's PDF
/// (whose dates are printed) stays the same from one day to the next.
pub const DEFAULT_DATE: &str = "2026-04-01";

/// One case file, as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CaseFile {
    /// What the case is about, shown when it fails.
    description: Option<String>,
    /// The subject, a resident JSON file (relative to the case file).
    resident: Option<PathBuf>,
    /// Or a generated subject: a seed and a profile.
    generate: Option<kofu_fixtures::Generate>,
    /// The request's options; values may be written as TOML strings,
    /// booleans or integers.
    #[serde(default)]
    options: BTreeMap<String, toml::Value>,
    /// The issue date (default [`DEFAULT_DATE`]).
    date: Option<Date>,
    /// The municipality JSON (default: the fictional 見本市).
    municipality: Option<PathBuf>,
    /// The register printed data is checked against (default: the
    /// subject's household).
    register: Option<PathBuf>,
    expect: Expect,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Expect {
    outcome: Outcome,
    /// For `refused`: the refusal code, e.g. `moved-out`.
    code: Option<String>,
    /// The page count.
    pages: Option<u32>,
    /// Text the document (or, refused, the refusal message) must hold.
    #[serde(default)]
    contains: Vec<String>,
    /// Text it must not hold.
    #[serde(default)]
    lacks: Vec<String>,
    /// Text a given page must hold.
    #[serde(default)]
    page: Vec<PageExpect>,
    /// The PDF's SHA-256, hex.
    pdf_sha256: Option<String>,
    /// Compare each page, drawn as PNG, with `tests/snapshots/<case>-<page>.png`.
    #[serde(default)]
    snapshot: bool,
}

#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
enum Outcome {
    Issued,
    Refused,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PageExpect {
    number: usize,
    #[serde(default)]
    contains: Vec<String>,
    #[serde(default)]
    lacks: Vec<String>,
}

/// A case ready to run.
pub struct Case {
    pub name: String,
    pub path: PathBuf,
    description: Option<String>,
    subject: Resident,
    options: Vec<(String, String)>,
    date: Date,
    municipality: Municipality,
    register: Option<PathBuf>,
    expect: Expect,
}

/// What a case run produced and how it compares.
pub struct CaseRun {
    /// Every way the result differs from the expectation; empty if it passed.
    pub differences: Vec<String>,
    /// One line: the outcome, pages, fuel and time.
    pub summary: String,
    pub pdf: Option<Vec<u8>>,
    pub fuel_used: u64,
    pub elapsed: Duration,
    /// What the plugin logged.
    pub logs: String,
}

impl CaseRun {
    pub fn passed(&self) -> bool {
        self.differences.is_empty()
    }
}

/// The case files of a project: `tests/*.toml`, in name order.
pub fn case_files(project: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let dir = project.join("tests");
    let entries = std::fs::read_dir(&dir).with_context(|| {
        format!("cannot read {}: a plugin's cases are tests/*.toml files (`kofu plugin new` makes one)", dir.display())
    })?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "toml"))
        .collect();
    files.sort();
    if files.is_empty() {
        bail!("{} holds no case (*.toml): write one, e.g. as `kofu plugin new` does", dir.display());
    }
    Ok(files)
}

/// Read a case file and the files it names.
pub fn load(path: &Path) -> anyhow::Result<Case> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let file: CaseFile = toml::from_str(&text).with_context(|| format!("{} is not a valid case", path.display()))?;
    let base = path.parent().unwrap_or(Path::new("."));
    let subject = match (&file.resident, &file.generate) {
        (Some(resident), None) => read_resident(&base.join(resident))?,
        (None, Some(generate)) => generate.resident(),
        _ => bail!(
            "{}: give the subject either as `resident = \"FILE.json\"` or as `generate = {{ seed = 1 }}`, not both \
             or neither",
            path.display()
        ),
    };
    let municipality = match &file.municipality {
        Some(municipality) => read_municipality(&base.join(municipality))?,
        None => Municipality::preview(),
    };
    if file.expect.outcome == Outcome::Issued && file.expect.code.is_some() {
        bail!("{}: `expect.code` is a refusal's code; an issued case has none", path.display());
    }
    let options: anyhow::Result<Vec<(String, String)>> =
        file.options.iter().map(|(key, value)| Ok((key.clone(), option_text(path, key, value)?))).collect();
    let default_date: Date = DEFAULT_DATE.parse().context("the default case date")?;
    Ok(Case {
        name: path.file_stem().map_or_else(String::new, |stem| stem.to_string_lossy().into_owned()),
        path: path.to_owned(),
        description: file.description,
        subject,
        options: options?,
        date: file.date.unwrap_or(default_date),
        municipality,
        register: file.register.map(|register| base.join(register)),
        expect: file.expect,
    })
}

fn option_text(path: &Path, key: &str, value: &toml::Value) -> anyhow::Result<String> {
    match value {
        toml::Value::String(text) => Ok(text.clone()),
        toml::Value::Boolean(flag) => Ok(flag.to_string()),
        toml::Value::Integer(number) => Ok(number.to_string()),
        _ => bail!("{}: option `{key}` must be a string, true/false or a whole number", path.display()),
    }
}

/// Run `case` against `plugin` and compare what came out with what it
/// expects. Errors only when the case cannot be run at all (its options do
/// not fit the manifest, say); a plugin that fails is a difference.
pub fn run(certifier: &Certifier, plugin: &Plugin, case: &Case, snapshots: &Path) -> anyhow::Result<CaseRun> {
    let options = plugin
        .manifest()
        .resolve_options(&case.options)
        .with_context(|| format!("{}: the options do not fit the manifest", case.path.display()))?;
    let request = Request {
        subject: Arc::new(case.subject.clone()),
        context: RequestContext { issue_date: case.date, municipality: case.municipality.clone(), options },
    };
    let register = match &case.register {
        Some(path) => read_register(path, &request.subject)?,
        None => RegisterIndex::build([request.subject.as_ref()])?,
    };
    let started = Instant::now();
    let result = certifier.certify_with(plugin, &request, &Stamp::preview(), &register);
    let elapsed = started.elapsed();
    let mut run = CaseRun {
        differences: Vec::new(),
        summary: String::new(),
        pdf: None,
        fuel_used: 0,
        elapsed,
        logs: String::new(),
    };
    let expect = &case.expect;
    match result {
        Ok(Certified::Issued { certificate, evaluation }) => {
            run.fuel_used = evaluation.fuel_used;
            run.logs = report::logs(&evaluation.logs);
            let pages = certificate.pages();
            run.summary = format!("issued, {pages} page{}", if pages == 1 { "" } else { "s" });
            if expect.outcome == Outcome::Refused {
                run.differences
                    .push(format!("expected refused ({}), got issued", expect.code.as_deref().unwrap_or("any code")));
            }
            let pdf = certificate.into_pdf();
            compare_document(case, &pdf, pages, snapshots, &mut run.differences)?;
            run.pdf = Some(pdf);
        }
        Ok(Certified::Refused { refusal, evaluation, host_reason }) => {
            run.fuel_used = evaluation.fuel_used;
            run.logs = report::logs(&evaluation.logs);
            let code = refusal.code.as_str();
            run.summary = format!("refused ({code})");
            match (expect.outcome, expect.code.as_deref()) {
                (Outcome::Issued, _) => {
                    let mut why =
                        format!("expected issued, got refused ({code}): {}", report::shown(&refusal.message_en));
                    if let Some(reason) = host_reason {
                        let _ = write!(why, "\n  refused by the host, not the plugin: {reason}");
                    }
                    run.differences.push(why);
                }
                (Outcome::Refused, Some(expected)) if expected != code => {
                    run.differences.push(format!("expected refusal code {expected}, got {code}"));
                }
                _ => {
                    let message = format!("{}\n{}", refusal.message_ja, refusal.message_en);
                    compare_text(
                        "the refusal message",
                        &message,
                        &expect.contains,
                        &expect.lacks,
                        &mut run.differences,
                    );
                }
            }
        }
        Err(CertifyError::Evaluation(err)) => {
            run.summary = format!("plugin failed: {}", err.cause);
            run.logs = report::logs(&err.logs);
            run.differences.push(format!("the plugin failed:\n{}", indent(&report::evaluation_failure(&err))));
        }
        Err(err) => {
            run.summary = "failed".to_owned();
            run.differences.push(format!("the certificate could not be made: {err}"));
        }
    }
    Ok(run)
}

fn compare_document(
    case: &Case,
    pdf: &[u8],
    pages: u32,
    snapshots: &Path,
    differences: &mut Vec<String>,
) -> anyhow::Result<()> {
    let expect = &case.expect;
    if let Some(expected) = expect.pages
        && expected != pages
    {
        differences.push(format!("expected {expected} page{}, got {pages}", if expected == 1 { "" } else { "s" }));
    }
    let texts = kofu_render::page_texts(pdf).context("the PDF's text cannot be read back")?;
    compare_text("the document", &texts.join("\n"), &expect.contains, &expect.lacks, differences);
    for page in &expect.page {
        match texts.get(page.number.wrapping_sub(1)) {
            Some(text) => {
                compare_text(&format!("page {}", page.number), text, &page.contains, &page.lacks, differences);
            }
            None => differences.push(format!("expected a page {}, but the document has {pages}", page.number)),
        }
    }
    if let Some(expected) = &expect.pdf_sha256 {
        let actual = hex(&Sha256::digest(pdf));
        if !expected.eq_ignore_ascii_case(&actual) {
            differences.push(format!(
                "the PDF's SHA-256 is {actual}, not {expected}: if the change is meant, write pdf_sha256 = \"{actual}\""
            ));
        }
    }
    if expect.snapshot {
        compare_snapshots(&case.name, pdf, snapshots, differences)?;
    }
    Ok(())
}

/// Each page drawn as PNG against its snapshot. A missing snapshot is
/// written and reported, so a first run records them; a different one is a
/// difference, and the new drawing is written beside it for a look.
fn compare_snapshots(name: &str, pdf: &[u8], snapshots: &Path, differences: &mut Vec<String>) -> anyhow::Result<()> {
    let images = kofu_server::page_pngs(pdf, usize::MAX).map_err(anyhow::Error::msg)?;
    for (index, png) in images.iter().enumerate() {
        let path = snapshots.join(format!("{name}-{}.png", index + 1));
        match std::fs::read(&path) {
            Ok(stored) if stored == *png => {}
            Ok(_) => {
                let new = path.with_extension("new.png");
                std::fs::write(&new, png).with_context(|| format!("cannot write {}", new.display()))?;
                differences.push(format!(
                    "page {} does not look like {}: the new drawing is {} (rename it over the snapshot if the change \
                     is meant)",
                    index + 1,
                    path.display(),
                    new.display()
                ));
            }
            Err(_) => {
                std::fs::create_dir_all(snapshots).with_context(|| format!("cannot create {}", snapshots.display()))?;
                std::fs::write(&path, png).with_context(|| format!("cannot write {}", path.display()))?;
                eprintln!("note: recorded snapshot {}", path.display());
            }
        }
    }
    Ok(())
}

/// Fragments are matched with white space ignored (U+3000 included), so a
/// line break the layout puts inside a long address does not fail a case.
fn compare_text(what: &str, text: &str, contains: &[String], lacks: &[String], differences: &mut Vec<String>) {
    let flat = without_spaces(text);
    let missing: Vec<&String> = contains.iter().filter(|f| !flat.contains(&without_spaces(f))).collect();
    let present: Vec<&String> = lacks.iter().filter(|f| flat.contains(&without_spaces(f))).collect();
    if missing.is_empty() && present.is_empty() {
        return;
    }
    let mut out = String::new();
    for fragment in missing {
        let _ = writeln!(out, "{what} lacks    {}", quoted(fragment));
    }
    for fragment in present {
        let _ = writeln!(out, "{what} holds    {} (it must not)", quoted(fragment));
    }
    let _ = write!(out, "{what} reads:");
    for line in text.lines().filter(|line| !line.trim().is_empty()) {
        let _ = write!(out, "\n  | {}", report::shown(line));
    }
    differences.push(out);
}

fn without_spaces(text: &str) -> String {
    text.chars().filter(|c| !c.is_whitespace()).collect()
}

fn quoted(text: &str) -> String {
    format!("「{}」", report::shown(text))
}

fn indent(text: &str) -> String {
    text.lines().map(|line| format!("  {line}")).collect::<Vec<_>>().join("\n")
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A run's differences, for the terminal.
pub fn describe(case: &Case, run: &CaseRun) -> String {
    let mut out = String::new();
    if let Some(description) = &case.description {
        let _ = writeln!(out, "    {}", report::shown(description));
    }
    let _ = writeln!(out, "    {}", case.path.display());
    for difference in &run.differences {
        for line in difference.lines() {
            let _ = writeln!(out, "    {line}");
        }
    }
    out
}
