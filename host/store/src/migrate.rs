//! Schema migrations, embedded in the binary and applied in order at start.
//! Each runs in its own transaction and is recorded in `schema_migrations`,
//! so a start after a crash resumes where the last one stopped.

use sqlx::{AnyPool, Row};

use crate::{Backend, StoreError, now_millis};

struct Migration {
    version: i64,
    name: &'static str,
    sql: &'static str,
    /// Backends the migration applies to (triggers are backend-specific).
    backends: &'static [Backend],
}

const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "init",
        sql: include_str!("../migrations/0001_init.sql"),
        backends: &[Backend::Sqlite],
    },
    Migration {
        version: 2,
        name: "append-only audit log",
        sql: include_str!("../migrations/0002_sqlite_append_only.sql"),
        backends: &[Backend::Sqlite],
    },
    Migration {
        version: 3,
        name: "compiled plugins",
        sql: include_str!("../migrations/0003_compiled_plugins.sql"),
        backends: &[Backend::Sqlite],
    },
];

pub(crate) async fn run(pool: &AnyPool, backend: Backend) -> Result<(), StoreError> {
    sqlx::query(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)",
    )
    .execute(pool)
    .await?;
    let applied: Vec<i64> = sqlx::query("SELECT version FROM schema_migrations")
        .fetch_all(pool)
        .await?
        .iter()
        .map(|row| row.try_get::<i64, _>(0))
        .collect::<Result<_, _>>()?;
    let newest = MIGRATIONS.iter().map(|m| m.version).max().unwrap_or(0);
    if let Some(unknown) = applied.iter().find(|v| **v > newest) {
        return Err(StoreError::Config(format!(
            "the database has schema version {unknown}, newer than this build knows ({newest}): run a newer kofu"
        )));
    }
    for migration in MIGRATIONS.iter().filter(|m| !applied.contains(&m.version)) {
        let mut tx = pool.begin().await?;
        if migration.backends.contains(&backend) {
            sqlx::raw_sql(migration.sql).execute(&mut *tx).await?;
        }
        sqlx::query("INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)")
            .bind(migration.version)
            .bind(migration.name)
            .bind(now_millis())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        tracing::info!(version = migration.version, name = migration.name, "applied a schema migration");
    }
    Ok(())
}
