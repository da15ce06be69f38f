//! How the CLI shows manifests, evaluation failures and plugin logs.

use kofu_model::{Manifest, OptionKind};
use kofu_sandbox::{EvaluationError, LogEntry};

pub fn manifest(manifest: &Manifest) -> String {
    let mut out = String::new();
    out.push_str(&format!("kind:     {}\n", manifest.kind));
    out.push_str(&format!("name:     {} / {}\n", manifest.name_ja, manifest.name_en));
    out.push_str(&format!("version:  {}\n", manifest.version));
    out.push_str(&format!("fee:      {} yen\n", manifest.fee_yen));
    let reads: Vec<&str> = manifest.reads.iter().map(|f| f.as_str()).collect();
    out.push_str(&format!("reads:    {}\n", reads.join(", ")));
    if manifest.options.is_empty() {
        out.push_str("options:  none\n");
    } else {
        out.push_str("options:\n");
        for option in &manifest.options {
            let kind = match &option.kind {
                OptionKind::Flag => "true|false".to_owned(),
                OptionKind::Choice { choices } => {
                    choices.iter().map(|c| c.value.as_str()).collect::<Vec<_>>().join("|")
                }
                OptionKind::Integer { min, max } => format!("{min}..={max}"),
            };
            out.push_str(&format!(
                "  --option {}=<{}>  (default {}) {} / {}",
                option.key, kind, option.default, option.label_ja, option.label_en
            ));
            if !option.unlocks.is_empty() {
                let fields: Vec<&str> = option.unlocks.iter().map(|f| f.as_str()).collect();
                out.push_str(&format!("  unlocks {}", fields.join(", ")));
            }
            out.push('\n');
        }
    }
    out
}

/// The page limit a plugin's certificates are held to, and where it comes
/// from.
pub fn page_limit(manifest: &Manifest, host_limit: usize) -> String {
    let limit = manifest.page_limit(host_limit);
    match manifest.max_pages {
        Some(declared) if usize::from(declared) > host_limit => {
            format!("pages:    at most {limit} (the manifest declares {declared}; the host's limit is {host_limit})")
        }
        Some(_) => format!("pages:    at most {limit} (declared by the manifest)"),
        None => format!("pages:    at most {limit} (the host's limit: a 0.1.0 manifest declares none)"),
    }
}

/// The plugin's log lines. A plugin's words are untrusted: escape
/// sequences and bidirectional controls are printed escaped, never obeyed
/// by the terminal.
pub fn logs(logs: &[LogEntry]) -> String {
    logs.iter().map(|entry| format!("plugin log [{}] {}\n", entry.level, shown(&entry.message))).collect()
}

/// Untrusted text for the terminal, line by line.
pub fn shown(text: &str) -> String {
    text.split('\n').map(kofu_model::text::shown).collect::<Vec<_>>().join("\n")
}

/// An evaluation failure in full: cause, backtrace and the plugin's logs.
pub fn evaluation_failure(err: &EvaluationError) -> String {
    let mut out = format!("{}\n", shown(&err.to_string()));
    if let Some(backtrace) = &err.backtrace {
        out.push_str("wasm backtrace:\n");
        for line in backtrace.lines() {
            out.push_str(&format!("  {}\n", shown(line)));
        }
    }
    out.push_str(&logs(&err.logs));
    out
}
