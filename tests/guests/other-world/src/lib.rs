//! Hostile guest: a valid component for a different world.
//!
//! It exports `greet` from `acme:greeter`, not `manifest`/`check`/`render`
//! from `kofu:certificate`, and does not use the SDK. Tests that the host
//! rejects it at load with a clear "not a certificate plugin" error.

wit_bindgen::generate!({
    path: "wit",
    world: "greeter",
});

struct Greeter;

impl Guest for Greeter {
    fn greet(name: String) -> String {
        format!("hello, {name}")
    }
}

export!(Greeter);
