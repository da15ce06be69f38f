use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Every limit a plugin evaluation runs under, in one place. The same values
/// apply to local previews and to production.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Instruction budget per evaluation (wasmtime fuel), deterministic across
    /// machines. In the spirit of Shopify Functions' 11 million instructions.
    pub fuel: u64,
    /// Wall-clock budget per evaluation, enforced by epoch interruption.
    #[serde(with = "millis")]
    pub wall_clock: Duration,
    /// Linear-memory cap per plugin instance, in bytes.
    pub memory_bytes: usize,
    /// WebAssembly stack cap, in bytes; deep recursion traps past it.
    pub stack_bytes: usize,
    /// Cap on the returned document's content size, in bytes.
    pub output_bytes: usize,
    /// Cap on log text per evaluation, in bytes; further messages are dropped.
    pub log_bytes: usize,
    /// Cap on a component's size at load, in bytes.
    pub component_bytes: usize,
    /// How many evaluations may run at once (sizes the instance pool).
    pub max_concurrent: u32,
    /// Most pages a certificate may take; past it, the host refuses it
    /// (`too-many-pages`) and stops laying it out.
    pub max_pages: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            fuel: 11_000_000,
            // Fuel bounds a plugin's work (11 M instructions is a few ms);
            // the wall clock is the backstop for a slot held without burning
            // fuel. At 100 ms it fired for healthy plugins whose threads the
            // scheduler starved on an oversubscribed 2-core host (5 of
            // 100,000 issuances in the reliability run), so it is 1 s.
            wall_clock: Duration::from_millis(1_000),
            memory_bytes: 32 << 20,
            stack_bytes: 512 << 10,
            output_bytes: 256 << 10,
            log_bytes: 16 << 10,
            component_bytes: 4 << 20,
            max_concurrent: 64,
            max_pages: 20,
        }
    }
}

mod millis {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(value: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u64(value.as_millis() as u64)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
        u64::deserialize(deserializer).map(Duration::from_millis)
    }
}
