//! Test support: a fresh, empty database for one test, on the backend the
//! run asks for. `KOFU_TEST_BACKEND` picks it:
//!
//! - `sqlite` (or unset): a database file in a temporary directory.
//! - `postgres`: a new database `kofu_test_<random>` on the server at
//!   `KOFU_TEST_POSTGRES_URL` (default [`DEFAULT_POSTGRES_URL`]), created
//!   through that URL's database and dropped — with any connections still
//!   open — when the [`TestDb`] is dropped, including when the test panics.
//!
//! A PostgreSQL run that cannot reach its server fails, saying so: it never
//! quietly falls back to SQLite.

use std::time::Duration;

use sqlx::{Connection, Executor};

/// Where a PostgreSQL run creates its databases, unless
/// `KOFU_TEST_POSTGRES_URL` says otherwise.
pub const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// The PIN key test servers on PostgreSQL are given (a shared database
/// requires an explicit key).
pub const TEST_PIN_KEY: &str = "5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The backend this run tests, from `KOFU_TEST_BACKEND`.
pub fn backend() -> Backend {
    match std::env::var("KOFU_TEST_BACKEND").as_deref() {
        Err(_) | Ok("") | Ok("sqlite") => Backend::Sqlite,
        Ok("postgres") => Backend::Postgres,
        Ok(other) => panic!("KOFU_TEST_BACKEND=`{other}` is not a backend: use `sqlite` or `postgres`"),
    }
}

/// One test's database.
pub struct TestDb {
    url: String,
    kind: Kind,
}

enum Kind {
    Sqlite(#[allow(dead_code, reason = "kept for its Drop: the directory holds the database file")] tempfile::TempDir),
    Postgres { admin_url: String, name: String },
}

impl TestDb {
    /// A fresh database on this run's backend.
    pub fn new() -> TestDb {
        match backend() {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("a temporary directory");
                let url = format!("sqlite://{}", dir.path().join("kofu.db").display());
                TestDb { url, kind: Kind::Sqlite(dir) }
            }
            Backend::Postgres => TestDb::postgres(),
        }
    }

    /// A fresh PostgreSQL database, whatever the run's backend.
    pub fn postgres() -> TestDb {
        let admin_url = std::env::var("KOFU_TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_POSTGRES_URL.to_owned());
        let mut random = [0u8; 8];
        getrandom::fill(&mut random).expect("random bytes");
        let name = format!("kofu_test_{}", random.iter().map(|b| format!("{b:02x}")).collect::<String>());
        if let Err(err) = admin(&admin_url, format!("CREATE DATABASE {name}")) {
            panic!(
                "KOFU_TEST_BACKEND=postgres, but no test database could be created through {admin_url}: {err}. \
                 Start PostgreSQL there, or point KOFU_TEST_POSTGRES_URL at a server where this user may create \
                 databases."
            );
        }
        // Commits need not survive a power loss in a test (as SQLite test
        // servers run with `synchronous = NORMAL`); waiting for each fsync
        // would double the suites' time.
        let url = with_option(&with_database(&admin_url, &name), "synchronous_commit=off");
        TestDb { url, kind: Kind::Postgres { admin_url, name } }
    }

    /// The URL kofu connects with.
    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn backend(&self) -> Backend {
        match self.kind {
            Kind::Sqlite(_) => Backend::Sqlite,
            Kind::Postgres { .. } => Backend::Postgres,
        }
    }

    /// A raw connection pool, for tests that reach past the store (to tamper
    /// with rows, say).
    pub async fn pool(&self) -> sqlx::AnyPool {
        sqlx::any::install_default_drivers();
        sqlx::AnyPool::connect(&self.url).await.expect("a raw connection to the test database")
    }
}

impl Default for TestDb {
    fn default() -> TestDb {
        TestDb::new()
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Kind::Postgres { admin_url, name } = &self.kind
            && let Err(err) = admin(admin_url, format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        {
            eprintln!("warning: could not drop the test database {name}: {err}");
        }
    }
}

/// Run one statement through the admin URL, on a thread of its own so that
/// it works from synchronous tests, async tests and `Drop` alike.
fn admin(admin_url: &str, statement: String) -> Result<(), String> {
    let admin_url = admin_url.to_owned();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| e.to_string())?;
        runtime.block_on(async {
            let work = async {
                let mut conn = sqlx::PgConnection::connect(&admin_url).await?;
                conn.execute(statement.as_str()).await?;
                conn.close().await
            };
            match tokio::time::timeout(Duration::from_secs(30), work).await {
                Ok(result) => result.map_err(|e| e.to_string()),
                Err(_) => Err("no answer within 30 s".to_owned()),
            }
        })
    })
    .join()
    .map_err(|_| "the admin thread panicked".to_owned())?
}

/// `url` with its database name replaced by `name`.
fn with_database(url: &str, name: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("postgres", url));
    let (before_query, query) = match rest.split_once('?') {
        Some((before, query)) => (before, Some(query)),
        None => (rest, None),
    };
    let authority = before_query.split('/').next().unwrap_or(before_query);
    let mut out = format!("{scheme}://{authority}/{name}");
    if let Some(query) = query {
        out.push('?');
        out.push_str(query);
    }
    out
}

/// `url` with a server setting for every connection (libpq `options`).
fn with_option(url: &str, setting: &str) -> String {
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}options=-c%20{}", setting.replace('=', "%3D"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_names_are_replaced() {
        assert_eq!(with_database("postgres://u@h:5432/test", "x"), "postgres://u@h:5432/x");
        assert_eq!(with_database("postgres://u@h/test?sslmode=disable", "x"), "postgres://u@h/x?sslmode=disable");
        assert_eq!(with_database("postgresql://h", "x"), "postgresql://h/x");
        assert_eq!(with_option("postgres://h/x", "a=b"), "postgres://h/x?options=-c%20a%3Db");
        assert_eq!(with_option("postgres://h/x?s=1", "a=b"), "postgres://h/x?s=1&options=-c%20a%3Db");
    }
}
