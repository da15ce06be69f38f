//! `kofu plugin new`: a plugin project that builds, passes its cases and
//! renders a PDF with no edit. The three catalog kinds start from the
//! bundled plugin of that kind (the same source kofu ships and tests); any
//! other kind starts from the smallest complete certificate.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Args, ValueEnum};
use kofu_model::is_valid_kind;

#[derive(Args)]
pub struct NewArgs {
    /// The project's name: its directory and crate name (lowercase letters,
    /// digits and hyphens).
    pub name: String,
    /// The certificate kind (the manifest's `kind`): residence-certificate,
    /// seal-registration-certificate and tax-certificate start from kofu's
    /// plugin of that kind; another kind starts from a minimal certificate.
    #[arg(long, default_value = "residence-certificate")]
    pub kind: String,
    /// The plugin's language.
    #[arg(long, value_enum, default_value_t = Lang::Rust)]
    pub lang: Lang,
    /// The directory the project is made in (default: the current one).
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub dir: PathBuf,
    /// The kofu plugin SDK crate (`plugins/sdk` of a kofu checkout); the
    /// default is the one this kofu was built from.
    #[arg(long, value_name = "PATH")]
    pub sdk: Option<PathBuf>,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum Lang {
    Rust,
}

/// A starting point: its source files and what its sample case expects.
struct Template {
    sources: &'static [(&'static str, &'static str)],
    /// The kind the source's manifest names, replaced by the chosen kind.
    kind: &'static str,
    /// The version its manifest names, replaced by [`FIRST_VERSION`].
    version: &'static str,
    title: &'static str,
    about: &'static str,
}

const RESIDENCE: Template = Template {
    sources: &[
        ("src/lib.rs", include_str!("../../../plugins/residence/src/lib.rs")),
        ("src/options.rs", include_str!("../../../plugins/residence/src/options.rs")),
        ("src/person.rs", include_str!("../../../plugins/residence/src/person.rs")),
    ],
    kind: "residence-certificate",
    version: "1.0.0",
    title: "住民票の写し",
    about: "kofu's residence certificate (住民票の写し)",
};

const SEAL: Template = Template {
    sources: &[("src/lib.rs", include_str!("../../../plugins/seal/src/lib.rs"))],
    kind: "seal-registration-certificate",
    version: "1.0.0",
    title: "印鑑登録証明書",
    about: "kofu's seal registration certificate (印鑑登録証明書)",
};

const TAX: Template = Template {
    sources: &[
        ("src/lib.rs", include_str!("../../../plugins/tax/src/lib.rs")),
        ("src/records.rs", include_str!("../../../plugins/tax/src/records.rs")),
    ],
    kind: "tax-certificate",
    version: "1.0.0",
    title: "納税証明書",
    about: "kofu's tax certificate (納税証明書)",
};

/// The smallest complete certificate; docs/PLUGINS.md shows it.
pub const MINIMAL_SOURCE: &str = include_str!("../templates/rust/certificate.rs");

const MINIMAL: Template = Template {
    sources: &[("src/lib.rs", MINIMAL_SOURCE)],
    kind: "name-certificate",
    version: FIRST_VERSION,
    title: "氏名証明書",
    about: "a minimal certificate (氏名証明書)",
};

/// A new project's version, in Cargo.toml and in the manifest.
const FIRST_VERSION: &str = "0.1.0";

const SUBJECT: &str = include_str!("../../../tests/fixtures/residents/yamada-taro.json");

pub fn run(args: &NewArgs) -> anyhow::Result<ExitCode> {
    let Lang::Rust = args.lang;
    if !is_valid_kind(&args.name) || !args.name.starts_with(|c: char| c.is_ascii_lowercase()) {
        bail!(
            "`{}` cannot name a plugin project: use 3 to 64 lowercase letters, digits and single hyphens, starting \
             with a letter, e.g. `my-residence`",
            args.name
        );
    }
    if !is_valid_kind(&args.kind) {
        bail!(
            "`{}` cannot be a certificate kind: use 3 to 64 lowercase letters, digits and single hyphens, e.g. \
             `residence-certificate`",
            args.kind
        );
    }
    let template = match args.kind.as_str() {
        "residence-certificate" => &RESIDENCE,
        "seal-registration-certificate" => &SEAL,
        "tax-certificate" => &TAX,
        _ => &MINIMAL,
    };
    let sdk = sdk_path(args.sdk.as_deref())?;
    let project = args.dir.join(&args.name);
    if project.exists() && std::fs::read_dir(&project).map(|mut d| d.next().is_some()).unwrap_or(true) {
        bail!("{} already exists and is not empty: choose another name or --dir", project.display());
    }
    for (path, text) in files(&args.name, &args.kind, template, &sdk) {
        let path = project.join(path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).with_context(|| format!("cannot create {}", parent.display()))?;
        }
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
    }
    println!("created {}: a Rust plugin of kind {}, starting from {}", project.display(), args.kind, template.about);
    println!("next:");
    println!("  cd {}", project.display());
    println!("  kofu plugin test      # build it and run its cases, tests/*.toml");
    println!("  kofu plugin watch     # the same on every change, with the PDF and page images in out/");
    Ok(ExitCode::SUCCESS)
}

fn sdk_path(given: Option<&Path>) -> anyhow::Result<PathBuf> {
    let built_from = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../plugins/sdk");
    let path = given.unwrap_or(&built_from);
    if !path.join("Cargo.toml").is_file() {
        bail!(
            "cannot find the kofu plugin SDK at {}: pass --sdk PATH, the plugins/sdk folder of a kofu checkout",
            path.display()
        );
    }
    path.canonicalize().with_context(|| format!("cannot resolve {}", path.display()))
}

/// Every file of the project, by path within it.
fn files(name: &str, kind: &str, template: &Template, sdk: &Path) -> Vec<(String, String)> {
    let crate_file = name.replace('-', "_");
    let mut files = vec![
        ("Cargo.toml".to_owned(), cargo_toml(name, sdk)),
        (
            ".cargo/config.toml".to_owned(),
            format!("# A plugin is a WebAssembly component.\n[build]\ntarget = \"{}\"\n", crate::project::TARGET),
        ),
        (".gitignore".to_owned(), "/target\n/out\n".to_owned()),
        (
            "README.md".to_owned(),
            format!(
                "# {name}: a kofu certificate plugin ({kind})\n\
                 `kofu plugin test` builds it and runs every case in `tests/*.toml`; `kofu plugin watch` does so on every change.\n\
                 `kofu plugin render target/wasm32-wasip2/release/{crate_file}.wasm --resident tests/fixtures/yamada-taro.json --out out.pdf` previews one resident.\n\
                 Upload `target/wasm32-wasip2/release/{crate_file}.wasm` to the municipality, dry-run it on a test resident, then activate it.\n\
                 The contract, the limits and the case format: docs/PLUGINS.md in the kofu repository.\n"
            ),
        ),
        ("tests/fixtures/yamada-taro.json".to_owned(), SUBJECT.to_owned()),
        ("tests/issued.toml".to_owned(), issued_case(template.title)),
        ("tests/moved-out.toml".to_owned(), MOVED_OUT_CASE.to_owned()),
    ];
    for (path, source) in template.sources {
        // The project's own kind and first version: a catalog plugin's
        // version is taken, and versions are immutable.
        let source = source
            .replace(&format!("\"{}\"", template.kind), &format!("\"{kind}\""))
            .replace(&format!("\"{}\"", template.version), &format!("\"{FIRST_VERSION}\""));
        files.push(((*path).to_owned(), source));
    }
    files
}

fn cargo_toml(name: &str, sdk: &Path) -> String {
    let sdk = sdk.display().to_string().replace('\\', "/");
    format!(
        "[package]\n\
         name = \"{name}\"\n\
         version = \"{FIRST_VERSION}\"\n\
         edition = \"2024\"\n\
         publish = false\n\
         \n\
         [lib]\n\
         # A plugin is a library the host loads as a WebAssembly component.\n\
         crate-type = [\"cdylib\"]\n\
         \n\
         [dependencies]\n\
         kofu-plugin-sdk = {{ path = \"{sdk}\" }}\n\
         \n\
         # A project of its own, even inside another workspace's folder.\n\
         [workspace]\n"
    )
}

fn issued_case(title: &str) -> String {
    format!(
        "# A case: one request and what must come of it. `kofu plugin test` runs every tests/*.toml.\n\
         description = \"山田 太郎, a resident, gets the certificate\"\n\
         resident = \"fixtures/yamada-taro.json\"\n\
         # options = {{ include-household = true }}\n\
         # date = \"2026-04-01\"   # the issue date; this is the default\n\
         \n\
         [expect]\n\
         outcome = \"issued\"\n\
         pages = 1\n\
         contains = [\"{title}\", \"山田　太郎\"]\n\
         # pdf_sha256 = \"...\"   # the exact PDF; a failing run prints the hash it got\n\
         # snapshot = true         # compare the pages, drawn as PNG, with tests/snapshots/\n\
         \n\
         [[expect.page]]\n\
         number = 1\n\
         contains = [\"証明する\"]\n"
    )
}

const MOVED_OUT_CASE: &str = "\
description = \"A resident who moved out: the host refuses before the plugin runs\"
# A generated resident: the keys are `kofu plugin fixture`'s options in snake_case.
generate = { seed = 1, moved_out = true }

[expect]
outcome = \"refused\"
code = \"moved-out\"
";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_names_the_chosen_kind_and_the_first_version() {
        for template in [&RESIDENCE, &SEAL, &TAX, &MINIMAL] {
            let files = files("my-plugin", "my-kind", template, Path::new("/sdk"));
            let lib = &files.iter().find(|(path, _)| path == "src/lib.rs").expect("src/lib.rs").1;
            assert!(
                lib.contains("\"my-kind\"") && !lib.contains(&format!("\"{}\"", template.kind)),
                "{}",
                template.about
            );
            assert!(lib.contains("\"0.1.0\"") && !lib.contains("\"1.0.0\""), "{}", template.about);
            let cargo = &files.iter().find(|(path, _)| path == "Cargo.toml").expect("Cargo.toml").1;
            assert!(cargo.contains("version = \"0.1.0\"") && cargo.contains("path = \"/sdk\""), "{cargo}");
        }
    }
}
