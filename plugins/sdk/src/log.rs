//! Diagnostics for the host, through the imported `log.write`.
//!
//! The host keeps a bounded log per evaluation: past its budget, further
//! messages are dropped and counted. Log facts about the run ("rendered
//! household form, 3 members"), never personal data.

use crate::LogLevel;
use crate::bindings::kofu::certificate::log::write;

/// Record a diagnostic detail.
pub fn debug(message: &str) {
    write(LogLevel::Debug, message);
}

/// Record normal operation, e.g. one line per rendered document.
pub fn info(message: &str) {
    write(LogLevel::Info, message);
}

/// Record something unexpected that the plugin handled.
pub fn warn(message: &str) {
    write(LogLevel::Warn, message);
}

/// Record something that went wrong.
pub fn error(message: &str) {
    write(LogLevel::Error, message);
}
