//! Builds every guest component the tests load (the real plugins and the
//! hostile ones) and hands the tests their paths as `KOFU_GUEST_*`.

const GUESTS: &[&str] = &[
    "kofu-plugin-residence",
    "kofu-plugin-seal",
    "kofu-plugin-tax",
    "kofu-hostile-infinite-loop",
    "kofu-hostile-memory-bomb",
    "kofu-hostile-deep-recursion",
    "kofu-hostile-huge-output",
    "kofu-hostile-panic",
    "kofu-hostile-undeclared-field",
    "kofu-hostile-forbidden-import",
    "kofu-hostile-malformed-document",
    "kofu-hostile-bad-manifest",
    "kofu-hostile-other-world",
    "kofu-hostile-filesystem",
    "kofu-hostile-locked-field",
    "kofu-hostile-broken-release",
    "kofu-probe-environment",
    "kofu-hostile-forger",
    "kofu-hostile-deceptive-manifest",
    "kofu-hostile-host-calls",
    "kofu-hostile-sleepy-manifest",
    "kofu-probe-contract-v0-1",
    "kofu-hostile-aliasing-document",
];

fn main() -> Result<(), kofu_guest_build::BuildError> {
    let paths = kofu_guest_build::build(GUESTS)?;
    for (name, path) in GUESTS.iter().zip(paths) {
        let key = name.trim_start_matches("kofu-").replace('-', "_").to_uppercase();
        println!("cargo:rustc-env=KOFU_GUEST_{key}={}", path.display());
    }
    Ok(())
}
