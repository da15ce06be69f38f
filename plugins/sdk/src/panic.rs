//! Report a plugin's panic to the host before the instance traps.
//!
//! On `wasm32-wasip2` a panic aborts, and the host only sees an
//! `unreachable` trap. The hook sends the message and its location through
//! `log.write` first, so the host can say *why* the plugin failed.

use std::sync::Once;

use crate::log;

/// Longest panic message sent, in bytes; the host bounds logs too, but a
/// plugin panicking with a huge formatted value should not waste its budget.
const MAX_MESSAGE_BYTES: usize = 2_000;

static INSTALL: Once = Once::new();

/// Install the hook, once per instance; every export calls this first.
pub(crate) fn install_hook() {
    INSTALL.call_once(|| {
        std::panic::set_hook(Box::new(|info| {
            let message = info.payload_as_str().unwrap_or("(a panic payload that is not text)");
            let report = match info.location() {
                Some(at) => format!("panic: {message} (at {}:{}:{})", at.file(), at.line(), at.column()),
                None => format!("panic: {message}"),
            };
            log::error(crate::numbers::truncate(&report, MAX_MESSAGE_BYTES));
        }));
    });
}
