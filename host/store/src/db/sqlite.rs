//! SQLite connections: how they are opened, the readers, and running one
//! statement on a connection.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::types::Value as SqliteValue;
use rusqlite::{Connection, OpenFlags};

use super::{DbError, Done, Row, Value};
use crate::StoreError;
use crate::file_identity::FileIdentity;

/// How long a connection waits for another process's lock (a second host's
/// write, a `kofu` command) before giving up.
pub(crate) const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Prepared statements kept per connection: more than the store has.
const STATEMENT_CACHE: usize = 256;

/// How every connection to one database file is opened and set up.
#[derive(Debug, Clone)]
pub(crate) struct Opener {
    path: PathBuf,
    synchronous: String,
}

impl Opener {
    /// From a `sqlite:` URL: `sqlite://path/to/kofu.db`, optionally with
    /// `?mode=rwc|rw` (ignored: see `open`).
    pub(crate) fn from_url(url: &str, synchronous: &str) -> Result<Opener, StoreError> {
        let rest = url.trim_start_matches("sqlite://").trim_start_matches("sqlite:");
        let path = rest.split('?').next().unwrap_or_default();
        if path.is_empty() || path == ":memory:" || url.contains("mode=memory") {
            return Err(StoreError::Config(format!(
                "the database URL `{url}` names no file: kofu keeps its records in a file, \
                 e.g. `sqlite://kofu.db`"
            )));
        }
        Ok(Opener { path: PathBuf::from(path), synchronous: synchronous.to_owned() })
    }

    pub(crate) fn path(&self) -> &std::path::Path {
        &self.path
    }

    /// A connection, set up for kofu. Only the very first (`create`) may
    /// create the file: later, a missing file is an error, never a fresh
    /// empty database.
    pub(crate) fn open(&self, create: bool) -> Result<Connection, DbError> {
        let mut flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        if create {
            flags |= OpenFlags::SQLITE_OPEN_CREATE;
        }
        let conn = Connection::open_with_flags(&self.path, flags)?;
        // Other processes on the file (a second host, `kofu` commands)
        // are waited for, not failed.
        conn.busy_timeout(BUSY_TIMEOUT)?;
        let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(DbError::Unusable(format!("the database could not be switched to WAL mode (it is in {mode})")));
        }
        conn.pragma_update(None, "synchronous", &self.synchronous)?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        // No memory map. Every commit empties the other connections' page
        // caches (WAL mode), and with a map a reader also unmaps the whole
        // file at its next read and faults it back in page by page: under
        // load that munmap, its TLB shootdowns and the refaults cost more
        // than reading the few pages a statement needs, and the mapped pages
        // counted towards the server's RSS.
        conn.pragma_update(None, "mmap_size", 0)?;
        // Each write is a savepoint of the batch (`write.rs`): the pages it
        // changes are journalled for its own rollback, in memory rather
        // than in a temporary file.
        conn.pragma_update(None, "temp_store", "MEMORY")?;
        // The WAL is checkpointed by a thread of its own (`checkpoint.rs`),
        // not inside a commit; a connection that commits does so itself only
        // far past SQLite's default, as a backstop.
        conn.pragma_update(None, "wal_autocheckpoint", crate::checkpoint::WRITER_BACKSTOP)?;
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        Ok(conn)
    }
}

/// The reader connections. A read takes a free one (or waits for one),
/// runs on it, and gives it back: reads are single statements of
/// microseconds, so they run on the caller's thread.
pub(crate) struct ReadPool {
    conns: Vec<Mutex<Connection>>,
    next: AtomicUsize,
    file: Option<FileIdentity>,
}

impl ReadPool {
    pub(crate) fn open(opener: &Opener, size: usize, file: Option<FileIdentity>) -> Result<ReadPool, DbError> {
        let conns = (0..size.max(1)).map(|_| opener.open(false).map(Mutex::new)).collect::<Result<_, _>>()?;
        Ok(ReadPool { conns, next: AtomicUsize::new(0), file })
    }

    pub(crate) fn with<T>(&self, read: impl FnOnce(&Connection) -> Result<T, DbError>) -> Result<T, DbError> {
        // A lost file is reported, not read from (see `file_identity.rs`).
        if let Some(file) = &self.file {
            file.check_for_read()?;
        }
        let conn = self.take();
        read(&conn)
    }

    fn take(&self) -> MutexGuard<'_, Connection> {
        // The first free connection, not the next in turn: a connection's
        // page cache survives until the next commit (any commit empties every
        // reader's cache in WAL mode), so a connection used again soon after
        // reads from memory, and one used once per round of the pool hardly
        // ever does.
        for conn in &self.conns {
            if let Ok(conn) = conn.try_lock() {
                return conn;
            }
        }
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        // All busy: wait for the one this read was due, briefly (a read
        // holds its connection for one statement). A reader poisoned by a
        // panic is still a connection outside any transaction.
        self.conns[start % self.conns.len()].lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// A row read from SQLite: the query's column names and this row's values.
pub(crate) struct SqliteRow {
    pub(super) columns: Arc<[String]>,
    pub(super) values: Vec<SqliteValue>,
}

/// Run one statement on `conn`, to its end, and return its rows.
pub(super) fn run(conn: &Connection, sql: &str, args: &[Value]) -> Result<(Vec<Row>, Done), DbError> {
    let mut statement = conn.prepare_cached(sql)?;
    // `$n` may appear in any order and more than once; SQLite numbers the
    // parameters as they first appear, so bind by name.
    for index in 1..=statement.parameter_count() {
        let name = statement.parameter_name(index).unwrap_or_default();
        let value = name
            .strip_prefix('$')
            .and_then(|n| n.parse::<usize>().ok())
            .and_then(|n| n.checked_sub(1))
            .and_then(|n| args.get(n))
            .ok_or_else(|| DbError::Decode {
                column: name.to_owned(),
                problem: format!("the statement has parameter `{name}` but {} arguments", args.len()),
            })?;
        statement.raw_bind_parameter(index, value)?;
    }
    let readonly = statement.readonly();
    let width = statement.column_count();
    let mut rows = Vec::new();
    if width == 0 {
        statement.raw_execute()?;
    } else {
        let columns: Arc<[String]> = statement.column_names().into_iter().map(str::to_owned).collect();
        let mut cursor = statement.raw_query();
        while let Some(row) = cursor.next()? {
            let values = (0..width).map(|i| row.get_ref(i).map(SqliteValue::from)).collect::<Result<_, _>>()?;
            rows.push(Row::Sqlite(SqliteRow { columns: Arc::clone(&columns), values }));
        }
    }
    let rows_affected = if readonly { 0 } else { conn.changes() };
    Ok((rows, Done { rows_affected }))
}
