//! Compiles the bundled plugins to components so the `kofu` binary carries
//! them: `kofu serve --demo` and the demo need nothing else on disk.

fn main() -> Result<(), kofu_guest_build::BuildError> {
    let names = ["kofu-plugin-residence", "kofu-plugin-seal", "kofu-plugin-tax"];
    let paths = kofu_guest_build::build(&names)?;
    for (name, path) in names.iter().zip(paths) {
        let key = name.trim_start_matches("kofu-plugin-").to_uppercase();
        println!("cargo:rustc-env=KOFU_BUNDLED_{key}={}", path.display());
    }
    Ok(())
}
