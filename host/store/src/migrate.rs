//! Schema migrations, embedded in the binary and applied in order at start.
//! Every version exists for both backends (`migrations/sqlite/` and
//! `migrations/postgres/`), with the same number and meaning. Each runs in
//! its own transaction and is recorded in `schema_migrations`, so a start
//! after a crash resumes where the last one stopped. On PostgreSQL several
//! hosts may start at once: each migration transaction first takes an
//! advisory lock, so exactly one host applies each version and the others
//! see it applied.

use crate::db::{self, Db};
use crate::{Backend, StoreError, now_millis};

struct Migration {
    version: i64,
    name: &'static str,
    sqlite: &'static str,
    postgres: &'static str,
}

macro_rules! migration {
    ($version:expr, $name:expr, $file:expr) => {
        Migration {
            version: $version,
            name: $name,
            sqlite: include_str!(concat!("../migrations/sqlite/", $file)),
            postgres: include_str!(concat!("../migrations/postgres/", $file)),
        }
    };
}

const MIGRATIONS: &[Migration] = &[
    migration!(1, "init", "0001_init.sql"),
    migration!(2, "append-only audit log", "0002_append_only.sql"),
    migration!(3, "compiled plugins", "0003_compiled_plugins.sql"),
    migration!(4, "audit chain heads", "0004_audit_heads.sql"),
    migration!(5, "key checks", "0005_key_checks.sql"),
    migration!(6, "plugin components apart, residents by position, cards by resident", "0006_lean_rows.sql"),
    migration!(7, "the sweeper's indexes partial", "0007_partial_indexes.sql"),
    migration!(8, "audit details, voiding, the issuance list", "0008_records.sql"),
    migration!(9, "fees set at activation, mayors by term", "0009_fees_and_mayors.sql"),
    migration!(10, "removed residents, retention", "0010_retention.sql"),
];

/// The advisory lock every PostgreSQL migration transaction holds ("kofu").
const MIGRATION_LOCK: i64 = 0x6b6f_6675;

pub(crate) async fn run(db: &Db, backend: Backend) -> Result<(), StoreError> {
    let newest = MIGRATIONS.iter().map(|m| m.version).max().unwrap_or(0);
    loop {
        let mut tx = db.begin().await?;
        if backend == Backend::Postgres {
            db::query("SELECT pg_advisory_xact_lock($1)").bind(MIGRATION_LOCK).execute(&mut tx).await?;
        }
        // Only when missing: PostgreSQL checks the right to create tables
        // even for `IF NOT EXISTS`, and hosts may run as a role that has
        // none (docs/OPERATIONS.md, "a role that cannot change the log").
        let exists = match backend {
            Backend::Sqlite => "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'",
            Backend::Postgres => {
                "SELECT COUNT(*) FROM pg_tables WHERE schemaname = current_schema() AND tablename = 'schema_migrations'"
            }
        };
        if db::query(exists).fetch_one(&mut tx).await?.try_get::<i64, _>(0)? == 0 {
            db::query(
                "CREATE TABLE schema_migrations \
                 (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)",
            )
            .execute(&mut tx)
            .await?;
        }
        let applied: Vec<i64> = db::query("SELECT version FROM schema_migrations")
            .fetch_all(&mut tx)
            .await?
            .iter()
            .map(|row| row.try_get::<i64, _>(0))
            .collect::<Result<_, _>>()?;
        if let Some(unknown) = applied.iter().find(|v| **v > newest) {
            return Err(StoreError::Config(format!(
                "the database has schema version {unknown}, newer than this build knows ({newest}): run a newer kofu"
            )));
        }
        let Some(migration) = MIGRATIONS.iter().find(|m| !applied.contains(&m.version)) else {
            tx.commit().await?;
            return Ok(());
        };
        let sql = match backend {
            Backend::Sqlite => migration.sqlite,
            Backend::Postgres => migration.postgres,
        };
        db::script(sql, &mut tx).await?;
        db::query("INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)")
            .bind(migration.version)
            .bind(migration.name)
            .bind(now_millis())
            .execute(&mut tx)
            .await?;
        tx.commit().await?;
        tracing::info!(version = migration.version, name = migration.name, "applied a schema migration");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_consecutive_and_every_backend_has_each() {
        for (index, migration) in MIGRATIONS.iter().enumerate() {
            assert_eq!(migration.version, index as i64 + 1, "{}", migration.name);
            assert!(!migration.sqlite.trim().is_empty() && !migration.postgres.trim().is_empty());
        }
        let files = |dir: &str| {
            let mut names: Vec<String> = std::fs::read_dir(format!("{}/migrations/{dir}", env!("CARGO_MANIFEST_DIR")))
                .unwrap()
                .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            names.sort();
            names
        };
        assert_eq!(files("sqlite"), files("postgres"), "each version has a file for each backend");
        assert_eq!(files("sqlite").len(), MIGRATIONS.len(), "every file is a listed migration");
    }

    /// A database of version 5 keeps its plugins through version 6, which
    /// moves their components to a table of their own.
    #[tokio::test]
    async fn upgrading_keeps_every_plugin_component() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kofu.db");
        {
            let conn = rusqlite::Connection::open(&path).unwrap();
            conn.execute_batch(
                "CREATE TABLE schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)",
            )
            .unwrap();
            for migration in MIGRATIONS.iter().filter(|m| m.version <= 5) {
                conn.execute_batch(migration.sqlite).unwrap();
                conn.execute(
                    "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?1, ?2, 0)",
                    rusqlite::params![migration.version, migration.name],
                )
                .unwrap();
            }
            conn.execute_batch(
                "INSERT INTO municipalities (code, name, mayor_title, mayor_name, created_at) VALUES ('999999', 'x', 'y', 'z', 0); \
                 INSERT INTO plugins (municipality, hash, kind, version, manifest, component, size, uploaded_by, uploaded_at) \
                 VALUES ('999999', 'h1', 'residence', '1.0.0', '{}', X'0061736d', 4, 'test', 7);",
            )
            .unwrap();
        }
        let store =
            crate::Store::open(&crate::StoreOptions::new(format!("sqlite://{}", path.display()))).await.unwrap();
        assert_eq!(store.plugin_component("999999", "h1").await.unwrap(), Some(b"\0asm".to_vec()));
        let info = store.plugin_info("999999", "h1").await.unwrap().unwrap();
        assert_eq!((info.kind.as_str(), info.size, info.uploaded_at), ("residence", 4, 7));
    }

    /// The schema is one schema: apart from comments and the binary type's
    /// name, each version's SQL is the same for both backends. Only the
    /// append-only enforcement (triggers) is written per backend.
    #[test]
    fn both_backends_create_the_same_schema() {
        let normal = |sql: &str| -> String {
            sql.lines()
                .filter(|line| !line.trim_start().starts_with("--"))
                .map(|line| line.replace("BYTEA", "BLOB"))
                .collect::<Vec<_>>()
                .join("\n")
        };
        for migration in MIGRATIONS.iter().filter(|m| m.version != 2) {
            assert_eq!(normal(migration.sqlite), normal(migration.postgres), "version {} differs", migration.version);
        }
    }
}
