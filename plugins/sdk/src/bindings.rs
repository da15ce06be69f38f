//! The generated bindings for the `certificate` world: the crate's only
//! `generate!` site, so that every plugin shares one set of types.
//!
//! Plugins should not need this module: the crate root re-exports the types
//! and [`export_certificate!`](crate::export_certificate) does the exporting.
//! It stays public because the export macro, expanded in the plugin crate,
//! names the generated glue through it.

// The generated export glue takes one argument per flattened value.
#![allow(missing_docs, clippy::too_many_arguments)]

wit_bindgen::generate!({
    // Relative to this crate's Cargo.toml: the workspace's `wit/` folder.
    path: "../../wit",
    world: "certificate",
    // The export macro is expanded in plugin crates, so it must be `pub` and
    // find the generated types here rather than in the plugin.
    pub_export_macro: true,
    export_macro_name: "__export_certificate_world",
    default_bindings_module: "kofu_plugin_sdk::bindings",
    // Plugins compare statuses (`state == ResidencyState::Resident`) and
    // tests compare built documents.
    additional_derives: [PartialEq, Eq],
});
