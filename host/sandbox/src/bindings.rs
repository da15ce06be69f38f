//! The one place the host generates bindings for the plugin world: the
//! current contract, and the published 0.1.0 one for the plugins built
//! against it.

wasmtime::component::bindgen!({
    path: "../../wit",
    world: "certificate",
    // Every import may trap: a capability violation aborts the plugin on the
    // spot instead of handing it an error it could ignore.
    imports: { default: trappable },
    with: {
        "kofu:certificate/resident.subject": crate::state::SubjectHandle,
    },
});

pub use kofu::certificate::types as wit;

/// `kofu:certificate@0.1.0`, as published (`wit/v0.1.0/`). Its types are the
/// current ones but for the manifest, so they map onto the current types
/// (a type check compares structure, not package versions); only its
/// imports are used: `resident@0.1.0` is the current `resident` under its
/// old name (`adapter.rs`). Its exports are called through the types of
/// `lift.rs`, which fit both versions.
pub mod v0_1 {
    wasmtime::component::bindgen!({
        // A world of 0.1.0's imports alone: its exports are not bound here.
        inline: "
            package kofu:host-adapter;
            world plugin-imports-v0-1 {
                import kofu:certificate/resident@0.1.0;
                import kofu:certificate/log@0.1.0;
            }
        ",
        path: "../../wit/v0.1.0",
        imports: { default: trappable },
        with: {
            "kofu:certificate/types@0.1.0": super::kofu::certificate::types,
            "kofu:certificate/resident.subject": crate::state::SubjectHandle,
        },
    });
}
