//! kofu's storage layer. Everything the server keeps lives behind [`Store`]:
//! municipalities and their tokens, kiosks, the resident register, cards and
//! kiosk sessions, plugin versions and activations, issuances and the
//! hash-chained audit log.
//!
//! The SQL is portable (integer timestamps, `$n` parameters, `RETURNING`,
//! `ON CONFLICT`) and written once, as `db::Query`, so the HTTP layer
//! never knows which database it talks to. The URL's scheme picks the
//! backend:
//!
//! - SQLite (`sqlite:`), the embedded default, through rusqlite: one file in
//!   WAL mode, one writer connection (SQLite serialises writers anyway; one
//!   connection makes that explicit and avoids busy retries) with group
//!   commit (`write.rs`), and a few readers. Statements run on the calling
//!   thread (`db/mod.rs` says why).
//! - PostgreSQL (`postgres:` or `postgresql:`), which several hosts share:
//!   through sqlx: several writer connections, each transaction at READ
//!   COMMITTED. Every
//!   write is correct under concurrency by itself — conditional updates, row
//!   locks taken by `UPDATE`/upsert, unique constraints — and the same
//!   statements are trivially correct on SQLite's single writer. Each
//!   module's docs say how its writes stay correct when hosts race.

mod audit;
mod cards;
mod checkpoint;
mod db;
mod directory;
mod error;
mod file_identity;
mod ids;
mod issuances;
mod keys;
mod migrate;
mod municipalities;
mod plugins;
#[cfg(test)]
mod query_plans;
mod records;
mod register;
mod retention;
mod sessions;
mod stats;
mod write;

use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{ConnectOptions, Executor};

use db::{Db, DbError, Opener, ReadPool};

pub use audit::{
    Actor, AuditEntry, AuditEvent, ChainReport, Change, GENESIS_HASH, MAX_NOTE_CHARS, VENDOR_CHAIN, chain_hash,
    check_chain,
};
pub use cards::{Card, PinCheck};
use checkpoint::Checkpointer;
pub use directory::{CardState, RESIDENT_SCAN, ResidentFilter, ResidentPage};
pub use error::StoreError;
use file_identity::FileIdentity;
pub use ids::{constant_time_eq, hex, random_bytes, random_id, unhex};
pub use issuances::{Delivery, Issuance, NewIssuance, Outcome, Owner, Recorded, RegisterVersion, Void, VoidReason};
pub use municipalities::{KioskInfo, MUNICIPALITY_CACHE_TTL, MayorTerm, MunicipalityUpdate, TokenInfo};
pub use plugins::{Activation, ActivationBy, ActiveVersion, DryRunRecord, NewPlugin, PluginInfo, PluginVersion};
pub use records::{IssuanceFilter, VoidRequest};
pub use register::{ImportSummary, RegisterImport, StatusChangeBy, StoredResident, Subject};
pub use retention::{PurgeBefore, Purged};
pub use sessions::{CloseReason, KioskSession, Session, SessionProblem};
pub use stats::{MunicipalityCounts, OutcomeCounts};
use write::{GroupCommit, WriteTx};

/// Milliseconds since the Unix epoch: every timestamp the store keeps.
pub type Millis = i64;

/// The current time in [`Millis`].
pub fn now_millis() -> Millis {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as Millis)
}

/// How the database is reached.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// `sqlite://path/to/kofu.db` (created if missing) or
    /// `postgres://user@host/database`.
    pub url: String,
    /// Reader connections.
    pub readers: u32,
    /// Writer connections on PostgreSQL (SQLite always has one).
    pub writers: u32,
    /// SQLite `synchronous`: `FULL` (the default) makes every committed
    /// issuance survive power loss, not only a crash of the process.
    pub sqlite_synchronous: String,
}

impl StoreOptions {
    pub fn new(url: impl Into<String>) -> StoreOptions {
        StoreOptions { url: url.into(), readers: 8, writers: 8, sqlite_synchronous: "FULL".into() }
    }

    /// Whether several hosts can share this database. Anything kept outside
    /// it (the PIN key) must then be the same on every host.
    pub fn shared(&self) -> bool {
        Backend::of(&self.url).is_ok_and(|b| b == Backend::Postgres)
    }
}

/// SQLite's group commit so far (see `write.rs`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WriteBatches {
    /// Batches committed, one fsync each.
    pub batches: u64,
    /// Write transactions committed in them.
    pub writes: u64,
    /// Time the batches' COMMITs took, failed ones included.
    pub commit_seconds: f64,
}

/// SQLite's WAL checkpoints so far (see `checkpoint.rs`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Checkpoints {
    /// Checkpoints the checkpoint thread ran.
    pub runs: u64,
    /// Checkpoints that could not run (another process was checkpointing)
    /// or failed (logged); the next commit starts another.
    pub failed: u64,
    /// Checkpoints the writer ran after a COMMIT, asked by the checkpoint
    /// thread, so that the WAL starts over.
    pub by_writer: u64,
}

/// The database: its readers and its writer(s).
#[derive(Clone)]
pub struct Store {
    db: Db,
    /// Municipalities recently read, with their mayors' terms (see
    /// `municipality_on`).
    municipalities:
        std::sync::Arc<std::sync::RwLock<std::collections::HashMap<String, municipalities::KnownMunicipality>>>,
}

impl Store {
    /// Connect, apply pending migrations, and return the store.
    pub async fn open(options: &StoreOptions) -> Result<Store, StoreError> {
        let backend = Backend::of(&options.url)?;
        let synchronous = options.sqlite_synchronous.clone();
        if !matches!(synchronous.as_str(), "FULL" | "NORMAL" | "EXTRA") {
            return Err(StoreError::Config(format!(
                "sqlite synchronous must be FULL, NORMAL or EXTRA, not `{synchronous}`"
            )));
        }
        let db = match backend {
            Backend::Sqlite => open_sqlite(options, &synchronous).await?,
            Backend::Postgres => open_postgres(options).await?,
        };
        migrate::run(&db, backend).await?;
        Ok(Store { db, municipalities: Default::default() })
    }

    /// Begin a write transaction. On SQLite it joins the open write batch
    /// (see `write.rs`), which took the write lock at once (`BEGIN
    /// IMMEDIATE`): a transaction that reads before it writes could
    /// otherwise find, at its first write, that another connection to the
    /// file (another process) committed since its read, and fail instead of
    /// waiting. On PostgreSQL it is a plain READ COMMITTED transaction; each
    /// write says how it stays correct.
    pub(crate) async fn begin(&self) -> Result<WriteTx, StoreError> {
        self.db.begin().await
    }

    /// One statement as a write transaction of its own.
    pub(crate) async fn write_one(&self, statement: db::Query<'_>) -> Result<db::Done, StoreError> {
        let mut tx = self.begin().await?;
        let done = statement.execute(&mut tx).await?;
        tx.commit().await?;
        Ok(done)
    }

    /// SQLite's group commit so far. None on PostgreSQL, which commits each
    /// write on its own.
    pub fn write_batches(&self) -> Option<WriteBatches> {
        use std::sync::atomic::Ordering::Relaxed;
        match &self.db {
            Db::Sqlite { group, .. } => {
                let stats = group.stats();
                Some(WriteBatches {
                    batches: stats.batches.load(Relaxed),
                    writes: stats.writes.load(Relaxed),
                    commit_seconds: stats.commit_nanos.load(Relaxed) as f64 / 1e9,
                })
            }
            Db::Postgres { .. } => None,
        }
    }

    /// SQLite's checkpoints so far. None on PostgreSQL.
    pub fn checkpoints(&self) -> Option<Checkpoints> {
        use std::sync::atomic::Ordering::Relaxed;
        match &self.db {
            Db::Sqlite { group, .. } => {
                let stats = group.checkpoints();
                Some(Checkpoints {
                    runs: stats.runs.load(Relaxed),
                    failed: stats.failed.load(Relaxed),
                    by_writer: stats.writer_runs.load(Relaxed),
                })
            }
            Db::Postgres { .. } => None,
        }
    }

    /// A cheap query against the readers and the writer, for readiness
    /// checks.
    pub async fn ping(&self) -> Result<(), StoreError> {
        db::query("SELECT 1").execute(self).await?;
        // Through a write transaction that commits: ready means writes can
        // be made durable, not only that the connection answers.
        self.write_one(db::query("SELECT 1")).await?;
        Ok(())
    }

    /// Finish what is in flight: commit the open write batch, close the
    /// pools.
    pub async fn close(&self) {
        match &self.db {
            Db::Sqlite { group, .. } => group.flush().await,
            Db::Postgres { read, write } => {
                write.close().await;
                read.close().await;
            }
        }
    }
}

impl Db {
    pub(crate) async fn begin(&self) -> Result<WriteTx, StoreError> {
        match self {
            Db::Sqlite { group, .. } => group.begin().await,
            Db::Postgres { write, .. } => Ok(WriteTx::Plain(write.begin().await.map_err(DbError::from)?)),
        }
    }
}

/// The SQLite file: created by the first connection if missing, then one
/// writer and `options.readers` readers, all checked against the file's
/// identity.
async fn open_sqlite(options: &StoreOptions, synchronous: &str) -> Result<Db, StoreError> {
    let opener = Opener::from_url(&options.url, synchronous)?;
    let readers = options.readers.max(1) as usize;
    let opening = opener.clone();
    // Opening may wait on another process's lock (the busy timeout).
    let (writer, reads, file, (checkpoints, database)) = tokio::task::spawn_blocking(move || {
        let writer = opening.open(true).map_err(|e| StoreError::unavailable(&e))?;
        let file = FileIdentity::of_path(opening.path())?;
        let reads = ReadPool::open(&opening, readers, Some(file.clone())).map_err(|e| StoreError::unavailable(&e))?;
        let checkpoints = opening.open(false).map_err(|e| StoreError::unavailable(&e))?;
        let database = std::fs::File::open(opening.path()).map_err(|e| {
            StoreError::Unavailable(format!("the database file {} could not be opened: {e}", opening.path().display()))
        })?;
        Ok::<_, StoreError>((writer, reads, file, (checkpoints, database)))
    })
    .await
    .map_err(|_| StoreError::Unavailable("the database could not be opened".into()))??;
    let checkpointer = Checkpointer::start(checkpoints, database)
        .map_err(|e| StoreError::Unavailable(format!("the checkpoint thread could not be started: {e}")))?;
    let group = GroupCommit::start(writer, opener, Some(file), checkpointer);
    Ok(Db::Sqlite { reads: std::sync::Arc::new(reads), group: std::sync::Arc::new(group) })
}

/// The PostgreSQL pools: `options.writers` connections for writes and
/// `options.readers` for reads.
async fn open_postgres(options: &StoreOptions) -> Result<Db, StoreError> {
    sqlx::any::install_default_drivers();
    let connect = AnyConnectOptions::from_str(&options.url)
        .map_err(|e| StoreError::Config(format!("the database URL `{}` is not valid: {e}", redact(&options.url))))?
        .disable_statement_logging();
    let pool = |max: u32| {
        AnyPoolOptions::new().max_connections(max).acquire_timeout(Duration::from_secs(10)).after_connect(
            |conn, _meta| {
                Box::pin(async move {
                    // A lock held by a stuck host fails waiters with a 503
                    // after 10 s instead of hanging them; a host that stalls
                    // inside a transaction loses it after 60 s.
                    conn.execute("SET lock_timeout = '10s'; SET idle_in_transaction_session_timeout = '60s';").await?;
                    Ok(())
                })
            },
        )
    };
    let write = pool(options.writers.max(1))
        .after_release(|conn, _meta| Box::pin(async move { Ok(outside_transaction(conn).await) }))
        .connect_with(connect.clone())
        .await
        .map_err(|e| StoreError::unavailable(&DbError::from(e)))?;
    let read = pool(options.readers.max(1))
        .connect_with(connect)
        .await
        .map_err(|e| StoreError::unavailable(&DbError::from(e)))?;
    Ok(Db::Postgres { read, write })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    fn of(url: &str) -> Result<Backend, StoreError> {
        if url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Ok(Backend::Postgres)
        } else {
            Err(StoreError::Config(format!(
                "the database URL `{}` is not supported: use `sqlite://path/to/kofu.db` or \
                 `postgres://user@host/database`",
                redact(url)
            )))
        }
    }
}

/// A URL fit for messages and logs: any password replaced by `***`.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_owned() };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((credentials, host)) if credentials.contains(':') => {
            let user = credentials.split(':').next().unwrap_or_default();
            format!("{scheme}://{user}:***@{host}{tail}")
        }
        _ => url.to_owned(),
    }
}

/// Whether a PostgreSQL connection handed back to the pool is outside any
/// transaction, as it must be: a connection whose state and sqlx's idea of
/// it came apart would put the next "committed" writes into a transaction
/// that never commits. Such a connection is closed (which rolls back)
/// instead of reused.
async fn outside_transaction(conn: &mut sqlx::AnyConnection) -> bool {
    use sqlx::Connection;
    if conn.is_in_transaction() {
        tracing::warn!("closing a database connection left inside a transaction");
        return false;
    }
    // BEGIN fails inside a transaction; outside one it costs nothing.
    if conn.execute("BEGIN").await.is_err() {
        tracing::warn!("closing a database connection that SQLite still holds in a transaction");
        return false;
    }
    conn.execute("ROLLBACK").await.is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backends_by_scheme_and_passwords_kept_out_of_messages() {
        assert_eq!(Backend::of("sqlite://kofu.db").unwrap(), Backend::Sqlite);
        assert_eq!(Backend::of("postgres://h/db").unwrap(), Backend::Postgres);
        assert_eq!(Backend::of("postgresql://h/db").unwrap(), Backend::Postgres);
        let refused = Backend::of("mysql://kofu:hunter2@h/db").unwrap_err().to_string();
        assert!(refused.contains("mysql://kofu:***@h/db") && !refused.contains("hunter2"), "{refused}");
        assert_eq!(redact("postgres://u:p@h:5432/db?sslmode=require"), "postgres://u:***@h:5432/db?sslmode=require");
        assert_eq!(redact("postgres://u@h/db"), "postgres://u@h/db");
        assert!(StoreOptions::new("postgres://h/db").shared());
        assert!(!StoreOptions::new("sqlite://kofu.db").shared());
    }
}
