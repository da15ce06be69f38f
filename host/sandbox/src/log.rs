//! Bounded plugin logs: a plugin can say what it did, but cannot flood the
//! host. Past the byte budget, messages are dropped and counted.

use std::fmt;

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    Debug,
    Info,
    Warn,
    Error,
}

impl fmt::Display for LogLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LogLevel::Debug => "debug",
            LogLevel::Info => "info",
            LogLevel::Warn => "warn",
            LogLevel::Error => "error",
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LogEntry {
    pub level: LogLevel,
    pub message: String,
}

/// Message prefix the SDK's panic hook uses; the host turns such a message
/// into the panic's explanation.
pub const PANIC_PREFIX: &str = "panic: ";

const MAX_MESSAGE_BYTES: usize = 1024;

/// At most `MAX_MESSAGE_BYTES` of `message`, cut at a character boundary
/// and marked, in a string of its own size: a cut string must not keep the
/// capacity of the message it was cut from.
pub(crate) fn truncated(message: &str) -> String {
    if message.len() <= MAX_MESSAGE_BYTES {
        return message.to_owned();
    }
    let mut cut = MAX_MESSAGE_BYTES;
    while !message.is_char_boundary(cut) {
        cut -= 1;
    }
    let mut kept = String::with_capacity(cut + '…'.len_utf8());
    kept.push_str(&message[..cut]);
    kept.push('…');
    kept
}

#[derive(Debug, Default)]
pub struct LogSink {
    entries: Vec<LogEntry>,
    bytes: usize,
    budget: usize,
    dropped: u32,
}

impl LogSink {
    pub fn new(budget: usize) -> LogSink {
        LogSink { budget, ..LogSink::default() }
    }

    pub fn write(&mut self, level: LogLevel, message: String) {
        let message = if message.len() > MAX_MESSAGE_BYTES { truncated(&message) } else { message };
        if self.bytes + message.len() > self.budget {
            self.dropped = self.dropped.saturating_add(1);
            return;
        }
        self.bytes += message.len();
        self.entries.push(LogEntry { level, message });
    }

    /// Count a message too long to be read at all (`wasi.rs`).
    pub fn drop_oversized(&mut self) {
        self.dropped = self.dropped.saturating_add(1);
    }

    /// The entries, with a final note when some were dropped.
    pub fn finish(mut self) -> Vec<LogEntry> {
        if self.dropped > 0 {
            self.entries.push(LogEntry {
                level: LogLevel::Warn,
                message: format!(
                    "{} further log messages dropped: over the log budget of {} bytes",
                    self.dropped, self.budget
                ),
            });
        }
        self.entries
    }

    /// The last panic message the plugin reported, if any.
    pub fn panic_message(&self) -> Option<String> {
        self.entries.iter().rev().find_map(|entry| entry.message.strip_prefix(PANIC_PREFIX).map(str::to_owned))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drops_and_counts_past_the_budget() {
        let mut sink = LogSink::new(10);
        sink.write(LogLevel::Info, "12345".into());
        sink.write(LogLevel::Info, "123456".into());
        sink.write(LogLevel::Info, "1234".into());
        let entries = sink.finish();
        assert_eq!(entries.len(), 3);
        assert_eq!(entries[1].message, "1234");
        assert!(entries[2].message.starts_with("1 further log messages dropped"));
    }
}
