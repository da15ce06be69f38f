//! The store's one way to run SQL on either backend.
//!
//! Every module writes its statements once, with `$n` parameters, as a
//! [`Query`], and runs it on the store (a read) or on a [`WriteTx`] (a
//! write). Where it runs depends on the backend:
//!
//! - SQLite (`rusqlite`): on the calling thread, synchronously, on a cached
//!   prepared statement. A statement takes microseconds; handing each one
//!   to a connection thread and back (what an async driver does) costs far
//!   more than the statement itself, in context switches. Waits that can
//!   be long (taking the write lock from another process, the COMMIT's
//!   fsync) happen off the async runtime, in `write.rs`.
//! - PostgreSQL (`sqlx`): over the network, asynchronously.
//!
//! The futures a SQLite query returns are ready at once; the code above
//! reads the same for both.

mod sqlite;
mod value;

use std::borrow::Cow;
use std::sync::Arc;

use sqlx::any::AnyRow;
use sqlx::{Any, AnyPool};

pub(crate) use sqlite::{BUSY_TIMEOUT, Opener, ReadPool};
pub(crate) use value::{Decode, Value};

use crate::write::{GroupCommit, WriteTx};

/// The backend a store runs on, with its connections.
#[derive(Clone)]
pub(crate) enum Db {
    Sqlite { reads: Arc<ReadPool>, group: Arc<GroupCommit> },
    Postgres { read: AnyPool, write: AnyPool },
}

/// What can go wrong running a statement.
#[derive(Debug, thiserror::Error)]
pub(crate) enum DbError {
    #[error(transparent)]
    Sqlx(#[from] sqlx::Error),
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
    #[error("no row was found")]
    RowNotFound,
    #[error("column {column} could not be read: {problem}")]
    Decode { column: String, problem: String },
    /// The database file is gone or was replaced (see `file_identity.rs`),
    /// or refuses the journal mode kofu needs.
    #[error("{0}")]
    Unusable(String),
}

impl DbError {
    /// True when the error is a unique-constraint violation: someone else
    /// inserted the same key first.
    pub(crate) fn is_unique_violation(&self) -> bool {
        match self {
            DbError::Sqlx(sqlx::Error::Database(db)) => db.is_unique_violation(),
            DbError::Sqlite(rusqlite::Error::SqliteFailure(e, _)) => matches!(
                e.extended_code,
                rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE | rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
            ),
            _ => false,
        }
    }
}

/// Where a statement runs: a read on the store's readers, or inside a
/// write transaction.
pub(crate) enum On<'c> {
    Read(&'c Db),
    Tx(&'c mut WriteTx),
}

impl<'c> From<&'c crate::Store> for On<'c> {
    fn from(store: &'c crate::Store) -> On<'c> {
        On::Read(&store.db)
    }
}

impl<'c> From<&'c mut WriteTx> for On<'c> {
    fn from(tx: &'c mut WriteTx) -> On<'c> {
        On::Tx(tx)
    }
}

/// A statement with its arguments, bound in order to `$1`, `$2`, …
#[must_use = "a query does nothing until it is run"]
pub(crate) struct Query<'q> {
    sql: Cow<'q, str>,
    args: Vec<Value>,
}

/// A statement to run.
pub(crate) fn query<'q>(sql: impl Into<Cow<'q, str>>) -> Query<'q> {
    Query { sql: sql.into(), args: Vec::new() }
}

/// Several statements without arguments, run as one script (migrations).
pub(crate) async fn script<'c>(sql: &str, on: impl Into<On<'c>>) -> Result<(), DbError> {
    match on.into() {
        On::Read(Db::Sqlite { reads, .. }) => reads.with(|conn| Ok(conn.execute_batch(sql)?)),
        On::Read(Db::Postgres { read, .. }) => sqlx::raw_sql(sql).execute(read).await.map(drop).map_err(Into::into),
        On::Tx(WriteTx::Grouped(member)) => Ok(member.conn().execute_batch(sql)?),
        On::Tx(WriteTx::Plain(tx)) => sqlx::raw_sql(sql).execute(&mut **tx).await.map(drop).map_err(Into::into),
    }
}

/// What a statement changed.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Done {
    rows_affected: u64,
}

impl Done {
    pub(crate) fn rows_affected(&self) -> u64 {
        self.rows_affected
    }
}

impl<'q> Query<'q> {
    pub(crate) fn bind(mut self, value: impl Into<Value>) -> Query<'q> {
        self.args.push(value.into());
        self
    }

    /// Run it; rows it returns are discarded.
    pub(crate) async fn execute<'c>(self, on: impl Into<On<'c>>) -> Result<Done, DbError> {
        Ok(self.run(on.into(), Fetch::Nothing).await?.1)
    }

    pub(crate) async fn fetch_all<'c>(self, on: impl Into<On<'c>>) -> Result<Vec<Row>, DbError> {
        Ok(self.run(on.into(), Fetch::All).await?.0)
    }

    pub(crate) async fn fetch_optional<'c>(self, on: impl Into<On<'c>>) -> Result<Option<Row>, DbError> {
        Ok(self.run(on.into(), Fetch::All).await?.0.into_iter().next())
    }

    pub(crate) async fn fetch_one<'c>(self, on: impl Into<On<'c>>) -> Result<Row, DbError> {
        self.fetch_optional(on).await?.ok_or(DbError::RowNotFound)
    }

    async fn run(self, on: On<'_>, fetch: Fetch) -> Result<(Vec<Row>, Done), DbError> {
        match on {
            On::Read(Db::Sqlite { reads, .. }) => reads.with(|conn| sqlite::run(conn, &self.sql, &self.args)),
            On::Tx(WriteTx::Grouped(member)) => sqlite::run(member.conn(), &self.sql, &self.args),
            On::Read(Db::Postgres { read, .. }) => self.run_sqlx(read, fetch).await,
            On::Tx(WriteTx::Plain(tx)) => self.run_sqlx(&mut **tx, fetch).await,
        }
    }

    async fn run_sqlx<'e>(
        self,
        on: impl sqlx::Executor<'e, Database = Any>,
        fetch: Fetch,
    ) -> Result<(Vec<Row>, Done), DbError> {
        let Query { sql, args } = self;
        let mut statement = sqlx::query(&sql);
        for arg in args {
            statement = arg.bind_to(statement);
        }
        match fetch {
            Fetch::Nothing => {
                let done = statement.execute(on).await?;
                Ok((Vec::new(), Done { rows_affected: done.rows_affected() }))
            }
            Fetch::All => {
                let rows = statement.fetch_all(on).await?;
                Ok((rows.into_iter().map(Row::Any).collect(), Done { rows_affected: 0 }))
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fetch {
    Nothing,
    All,
}

/// A row a query returned.
pub(crate) enum Row {
    Sqlite(sqlite::SqliteRow),
    Any(AnyRow),
}

/// A column by name or by position.
pub(crate) trait ColumnIndex: sqlx::ColumnIndex<AnyRow> + std::fmt::Display + Copy {
    fn position(self, columns: &[String]) -> Option<usize>;
}

impl ColumnIndex for &str {
    fn position(self, columns: &[String]) -> Option<usize> {
        columns.iter().position(|c| c == self)
    }
}

impl ColumnIndex for usize {
    fn position(self, columns: &[String]) -> Option<usize> {
        (self < columns.len()).then_some(self)
    }
}

impl Row {
    pub(crate) fn try_get<T: Decode, I: ColumnIndex>(&self, index: I) -> Result<T, DbError> {
        match self {
            Row::Any(row) => Ok(sqlx::Row::try_get::<T, I>(row, index)?),
            Row::Sqlite(row) => {
                let position = index.position(&row.columns).ok_or_else(|| DbError::Decode {
                    column: index.to_string(),
                    problem: "the query returned no such column".into(),
                })?;
                T::from_sqlite(&row.values[position])
                    .map_err(|problem| DbError::Decode { column: index.to_string(), problem })
            }
        }
    }
}
