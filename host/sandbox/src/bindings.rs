//! The one place the host generates bindings for the plugin world.

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
