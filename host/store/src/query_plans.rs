//! The plans SQLite makes for the statements every issuance, sign-in or
//! sweep runs, on the migrated schema. A statement that stops seeking its
//! index costs time in proportion to a municipality's size, and inside the
//! write lock it holds up every other write: `ORDER BY id` on a household's
//! versions, for one, makes SQLite walk every resident of the municipality
//! for each issuance. Timing would not catch that on a small test register; the
//! plan does.

use crate::{Store, StoreOptions};

/// Each statement with what its plan must say: the index it seeks and with
/// which columns fixed, line by line as `EXPLAIN QUERY PLAN` prints them.
const EXPECTED: &[(&str, &str, &[&str])] = &[
    (
        "a household's row versions (recording an issuance)",
        crate::issuances::HOUSEHOLD_VERSIONS,
        &["SEARCH residents USING INDEX residents_by_household (municipality=? AND household=?)"],
    ),
    (
        "the subject's household (every issuance)",
        crate::register::SUBJECT,
        &[
            "SEARCH residents USING INDEX residents_by_household (municipality=? AND household=?)",
            "SEARCH residents USING INDEX sqlite_autoindex_residents_1 (municipality=? AND id=?)",
        ],
    ),
    (
        "the kiosk credential with its session (every kiosk call)",
        crate::sessions::KIOSK_SESSION,
        &[
            "SEARCH k USING INDEX sqlite_autoindex_kiosks_2 (credential_hash=?)",
            "SEARCH s USING INDEX sqlite_autoindex_sessions_1 (id=?) LEFT-JOIN",
        ],
    ),
    (
        "a page of the register (export)",
        crate::register::RESIDENTS_PAGE,
        &["SEARCH residents USING INDEX residents_by_position (municipality=? AND position>?)"],
    ),
    (
        "a new resident's place at the end of the register (import)",
        crate::register::UPSERT,
        &[
            "SEARCH residents USING COVERING INDEX residents_by_position (municipality=?)",
            "SEARCH cards USING COVERING INDEX cards_by_resident (municipality=? AND resident=?)",
        ],
    ),
    (
        "documents not confirmed printed (the sweeper)",
        crate::issuances::UNDELIVERED,
        &["SEARCH issuances USING INDEX issuances_undelivered (created_at<?)"],
    ),
    (
        "idle sessions (the sweeper)",
        crate::sessions::EXPIRE_IDLE,
        &["SEARCH sessions USING INDEX sessions_open (last_seen_at<?)"],
    ),
];

/// `EXPLAIN QUERY PLAN` of `sql`, one line per step, without the tree
/// drawing.
fn plan(conn: &rusqlite::Connection, sql: &str) -> Vec<String> {
    let mut statement = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap_or_else(|e| panic!("{sql}: {e}"));
    // Parameters left unbound are NULL: enough to plan with.
    let mut rows = statement.raw_query();
    let mut lines = Vec::new();
    while let Some(row) = rows.next().unwrap() {
        lines.push(row.get::<_, String>(3).unwrap());
    }
    lines
}

/// A migrated, empty database's connection (and the directory holding it).
async fn migrated() -> (tempfile::TempDir, rusqlite::Connection) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kofu.db");
    // Opening migrates the file to the current schema.
    let store = Store::open(&StoreOptions::new(format!("sqlite://{}", path.display()))).await.unwrap();
    drop(store);
    let conn = rusqlite::Connection::open(&path).unwrap();
    (dir, conn)
}

#[tokio::test]
async fn hot_statements_seek_their_indexes() {
    let (_dir, conn) = migrated().await;
    for (what, sql, expected) in EXPECTED {
        let plan = plan(&conn, sql);
        for step in *expected {
            assert!(plan.iter().any(|line| line == step), "{what}: expected `{step}` in the plan {plan:#?}");
        }
        for line in &plan {
            assert!(
                !line.starts_with("SCAN ") && !line.contains("TEMP B-TREE"),
                "{what}: the plan walks a whole table or sorts: {plan:#?}"
            );
        }
    }
}

/// The vendor's issuance counts walk the municipalities (one row each in the
/// answer) and, for each, seek its span of issuances: never every issuance.
#[tokio::test]
async fn issuance_counts_seek_each_municipality_s_span() {
    let (_dir, conn) = migrated().await;
    let plan = plan(&conn, crate::stats::ISSUANCE_COUNTS);
    let seek = "SEARCH i USING INDEX issuances_by_time (municipality=? AND created_at>? AND created_at<?) LEFT-JOIN";
    assert!(plan.iter().any(|line| line == seek), "expected `{seek}` in the plan {plan:#?}");
    for line in &plan {
        assert!(!line.starts_with("SCAN i"), "the counts walk every issuance: {plan:#?}");
    }
}
