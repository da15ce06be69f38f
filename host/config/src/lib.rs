//! kofu's settings, for `kofu serve` and for the commands that open its
//! database (`kofu audit verify`). Each comes, in increasing precedence,
//! from its default, the TOML config file, a `KOFU_*` environment variable,
//! and the command line (the CLI applies the last layer).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use kofu_sandbox::Limits;
use serde::Deserialize;

/// Every setting, resolved.
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    /// Empty means a SQLite file in the data directory.
    pub database_url: Option<String>,
    /// The vendor operator's token. Without one, the vendor API answers 401.
    pub admin_token: Option<String>,
    /// Hex key for PIN MACs; without one, a key file in the data directory
    /// (`secrets/pin.key`) is created on first start and reused.
    pub pin_key: Option<String>,
    /// A kiosk session closes after this long without a request.
    pub session_idle: Duration,
    /// An issued document not confirmed printed within this long is purged.
    pub delivery_ttl: Duration,
    /// How often the sweeper closes idle sessions and purges documents.
    pub sweep_interval: Duration,
    /// Memory for issued PDFs awaiting their fetch on this host. Past it
    /// the oldest are dropped and a fetch re-renders them; 0 holds none.
    pub document_memory_bytes: usize,
    /// Largest request body other than a plugin upload.
    pub max_body_bytes: usize,
    /// SQLite `synchronous` mode.
    pub sqlite_synchronous: String,
    pub limits: Limits,
    /// Most issuance sandbox slots one municipality holds while another
    /// municipality is active (kofu-issue's `slots.rs`).
    pub sandbox_share: usize,
    /// Most requests waiting for a sandbox slot, per pool; past it, 503.
    pub sandbox_queue_depth: usize,
    /// Longest wait for a sandbox slot; past it, 503.
    pub sandbox_queue_wait: Duration,
    /// Sandbox slots for uploads and dry-runs, taken from
    /// `limits.max_concurrent`; the rest are for issuances.
    pub upload_slots: usize,
    /// After SIGTERM, in-flight requests and issuances get this long;
    /// then the server stops anyway.
    pub shutdown_grace: Duration,
    /// Emit logs as JSON lines.
    pub log_json: bool,
    /// How long personal data is kept (docs/OPERATIONS.md, "Retention").
    pub retention: Retention,
}

/// How many days personal data is kept past its use; the sweeper erases
/// it after that. The audit chain holds digests only and is kept whole, so
/// it verifies after every purge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Retention {
    /// An issuance's recorded input (the subject's fields and the context
    /// the plugin was given): what re-renders the document byte for byte.
    /// Past it the issuance row stays, without the input.
    pub inputs_days: u32,
    /// Audit details (a status before and after, a staff note, a reason).
    /// The chain keeps their digests.
    pub audit_details_days: u32,
    /// A resident removed from the register is kept, refused at kiosks,
    /// for this long, then deleted with their cards.
    pub removed_residents_days: u32,
}

impl Default for Retention {
    fn default() -> Retention {
        // A certificate is usually accepted for three months after issue;
        // a year covers that, a complaint and its inquiry. Staff's notes are
        // kept as long as the municipality keeps its issuance requests.
        Retention { inputs_days: 365, audit_details_days: 5 * 365, removed_residents_days: 30 }
    }
}

impl Retention {
    /// Every period must be at least a day: 0 would erase what an
    /// issuance still in delivery needs.
    fn check(&self) -> Result<(), String> {
        for (name, days) in [
            ("inputs_days", self.inputs_days),
            ("audit_details_days", self.audit_details_days),
            ("removed_residents_days", self.removed_residents_days),
        ] {
            if days == 0 {
                return Err(format!("[retention] {name} is 0: keep data at least 1 day"));
            }
        }
        Ok(())
    }
}

impl Config {
    /// Issuance slots: what the uploads pool leaves of the instance pool.
    pub fn issuance_slots(&self) -> usize {
        (self.limits.max_concurrent.max(1) as usize).saturating_sub(self.upload_slots).max(1)
    }
}

impl Default for Config {
    fn default() -> Config {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("kofu-data"),
            database_url: None,
            admin_token: None,
            pin_key: None,
            session_idle: Duration::from_secs(180),
            delivery_ttl: Duration::from_secs(600),
            sweep_interval: Duration::from_secs(10),
            document_memory_bytes: 256 << 20,
            max_body_bytes: 16 << 20,
            sqlite_synchronous: "FULL".into(),
            limits: Limits::default(),
            // A slot held is a core kept busy: beside another active
            // municipality, one may keep half of the cores.
            sandbox_share: std::thread::available_parallelism().map_or(1, |n| n.get() / 2).max(1),
            sandbox_queue_depth: 1024,
            sandbox_queue_wait: Duration::from_secs(5),
            upload_slots: 2,
            shutdown_grace: Duration::from_secs(10),
            log_json: false,
            retention: Retention::default(),
        }
    }
}

/// The config file: every key optional, unknown keys rejected.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    listen: Option<SocketAddr>,
    data_dir: Option<PathBuf>,
    database_url: Option<String>,
    admin_token: Option<String>,
    pin_key: Option<String>,
    session_idle_secs: Option<u64>,
    delivery_ttl_secs: Option<u64>,
    sweep_interval_secs: Option<u64>,
    document_memory_bytes: Option<usize>,
    max_body_bytes: Option<usize>,
    sqlite_synchronous: Option<String>,
    log_json: Option<bool>,
    limits: Option<Limits>,
    sandbox_share: Option<usize>,
    sandbox_queue_depth: Option<usize>,
    sandbox_queue_wait_ms: Option<u64>,
    upload_slots: Option<usize>,
    shutdown_grace_secs: Option<u64>,
    retention: Option<Retention>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("could not read the config file {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("the config file {path} is not valid: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("environment variable {name}=`{value}` is not valid: {expected}")]
    Env { name: String, value: String, expected: String },
}

impl Config {
    /// Defaults, then the file (if any), then the environment.
    pub fn load(file: Option<&Path>, env: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let mut config = Config::default();
        if let Some(path) = file {
            let text =
                std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: path.into(), source })?;
            let file: FileConfig = toml::from_str(&text)
                .map_err(|e| ConfigError::Parse { path: path.into(), message: e.message().to_owned() })?;
            if let Some(retention) = &file.retention {
                retention.check().map_err(|message| ConfigError::Parse { path: path.into(), message })?;
            }
            config.apply_file(file);
        }
        config.apply_env(env)?;
        Ok(config)
    }

    fn apply_file(&mut self, f: FileConfig) {
        let secs = Duration::from_secs;
        if let Some(v) = f.listen {
            self.listen = v;
        }
        if let Some(v) = f.data_dir {
            self.data_dir = v;
        }
        self.database_url = f.database_url.or(self.database_url.take());
        self.admin_token = f.admin_token.or(self.admin_token.take());
        self.pin_key = f.pin_key.or(self.pin_key.take());
        if let Some(v) = f.session_idle_secs {
            self.session_idle = secs(v);
        }
        if let Some(v) = f.delivery_ttl_secs {
            self.delivery_ttl = secs(v);
        }
        if let Some(v) = f.sweep_interval_secs {
            self.sweep_interval = secs(v);
        }
        if let Some(v) = f.document_memory_bytes {
            self.document_memory_bytes = v;
        }
        if let Some(v) = f.max_body_bytes {
            self.max_body_bytes = v;
        }
        if let Some(v) = f.sqlite_synchronous {
            self.sqlite_synchronous = v;
        }
        if let Some(v) = f.log_json {
            self.log_json = v;
        }
        if let Some(v) = f.limits {
            self.limits = v;
        }
        if let Some(v) = f.sandbox_share {
            self.sandbox_share = v;
        }
        if let Some(v) = f.sandbox_queue_depth {
            self.sandbox_queue_depth = v;
        }
        if let Some(v) = f.sandbox_queue_wait_ms {
            self.sandbox_queue_wait = Duration::from_millis(v);
        }
        if let Some(v) = f.upload_slots {
            self.upload_slots = v;
        }
        if let Some(v) = f.shutdown_grace_secs {
            self.shutdown_grace = secs(v);
        }
        if let Some(v) = f.retention {
            self.retention = v;
        }
    }

    fn apply_env(&mut self, env: impl Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
        fn parse<T: std::str::FromStr>(name: &str, value: String, expected: &str) -> Result<T, ConfigError> {
            value.parse().map_err(|_| ConfigError::Env { name: name.into(), value, expected: expected.into() })
        }
        if let Some(v) = env("KOFU_LISTEN") {
            self.listen = parse("KOFU_LISTEN", v, "an address such as 127.0.0.1:8080")?;
        }
        if let Some(v) = env("KOFU_DATA_DIR") {
            self.data_dir = PathBuf::from(v);
        }
        if let Some(v) = env("KOFU_DATABASE_URL") {
            self.database_url = Some(v);
        }
        if let Some(v) = env("KOFU_ADMIN_TOKEN") {
            self.admin_token = Some(v);
        }
        if let Some(v) = env("KOFU_PIN_KEY") {
            self.pin_key = Some(v);
        }
        if let Some(v) = env("KOFU_SESSION_IDLE_SECS") {
            self.session_idle = Duration::from_secs(parse("KOFU_SESSION_IDLE_SECS", v, "whole seconds")?);
        }
        if let Some(v) = env("KOFU_DELIVERY_TTL_SECS") {
            self.delivery_ttl = Duration::from_secs(parse("KOFU_DELIVERY_TTL_SECS", v, "whole seconds")?);
        }
        if let Some(v) = env("KOFU_DOCUMENT_MEMORY_BYTES") {
            self.document_memory_bytes = parse("KOFU_DOCUMENT_MEMORY_BYTES", v, "a number of bytes")?;
        }
        if let Some(v) = env("KOFU_SQLITE_SYNCHRONOUS") {
            self.sqlite_synchronous = v;
        }
        if let Some(v) = env("KOFU_SANDBOX_SHARE") {
            self.sandbox_share = parse("KOFU_SANDBOX_SHARE", v, "a number of slots")?;
        }
        if let Some(v) = env("KOFU_SANDBOX_QUEUE_DEPTH") {
            self.sandbox_queue_depth = parse("KOFU_SANDBOX_QUEUE_DEPTH", v, "a number of requests")?;
        }
        if let Some(v) = env("KOFU_SANDBOX_QUEUE_WAIT_MS") {
            self.sandbox_queue_wait =
                Duration::from_millis(parse("KOFU_SANDBOX_QUEUE_WAIT_MS", v, "whole milliseconds")?);
        }
        if let Some(v) = env("KOFU_UPLOAD_SLOTS") {
            self.upload_slots = parse("KOFU_UPLOAD_SLOTS", v, "a number of slots")?;
        }
        if let Some(v) = env("KOFU_SHUTDOWN_GRACE_SECS") {
            self.shutdown_grace = Duration::from_secs(parse("KOFU_SHUTDOWN_GRACE_SECS", v, "whole seconds")?);
        }
        if let Some(v) = env("KOFU_LOG_JSON") {
            self.log_json = parse("KOFU_LOG_JSON", v, "true or false")?;
        }
        Ok(())
    }

    /// The database URL, defaulting to `kofu.db` in the data directory.
    pub fn database_url(&self) -> String {
        match &self.database_url {
            Some(url) => url.clone(),
            None => format!("sqlite://{}", self.data_dir.join("kofu.db").display()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layers_apply_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kofu.toml");
        std::fs::write(
            &path,
            "listen = \"127.0.0.1:9000\"\nsession_idle_secs = 60\ndocument_memory_bytes = 1024\n[limits]\nfuel = 5000000\n",
        )
            .unwrap();
        let env = |name: &str| (name == "KOFU_SESSION_IDLE_SECS").then(|| "30".to_owned());
        let config = Config::load(Some(&path), env).unwrap();
        assert_eq!(config.listen.port(), 9000);
        assert_eq!(config.session_idle, Duration::from_secs(30));
        assert_eq!(config.limits.fuel, 5_000_000);
        assert_eq!(config.delivery_ttl, Duration::from_secs(600));
        assert_eq!(config.document_memory_bytes, 1024);
        let env = |name: &str| (name == "KOFU_DOCUMENT_MEMORY_BYTES").then(|| "0".to_owned());
        assert_eq!(Config::load(Some(&path), env).unwrap().document_memory_bytes, 0);
    }

    #[test]
    fn unknown_keys_and_bad_env_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kofu.toml");
        std::fs::write(&path, "lisen = \"127.0.0.1:9000\"\n").unwrap();
        let err = Config::load(Some(&path), |_| None).unwrap_err().to_string();
        assert!(err.contains("lisen"), "{err}");
        let env = |name: &str| (name == "KOFU_LISTEN").then(|| "nowhere".to_owned());
        let err = Config::load(None, env).unwrap_err().to_string();
        assert!(err.contains("KOFU_LISTEN"), "{err}");
    }

    #[test]
    fn retention_is_set_in_days_of_at_least_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kofu.toml");
        std::fs::write(&path, "[retention]\ninputs_days = 90\n").unwrap();
        let retention = Config::load(Some(&path), |_| None).unwrap().retention;
        assert_eq!(retention, Retention { inputs_days: 90, ..Retention::default() });
        std::fs::write(&path, "[retention]\naudit_details_days = 0\n").unwrap();
        let err = Config::load(Some(&path), |_| None).unwrap_err().to_string();
        assert!(err.contains("audit_details_days is 0"), "{err}");
        std::fs::write(&path, "[retention]\ninput_days = 90\n").unwrap();
        assert!(Config::load(Some(&path), |_| None).unwrap_err().to_string().contains("input_days"));
    }
}
