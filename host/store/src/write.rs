//! Write transactions, and group commit on SQLite.
//!
//! Every write goes through [`WriteTx`]: begin, statements, `commit()`.
//! Dropping one without committing rolls back everything it did.
//!
//! On SQLite with `synchronous = FULL` every COMMIT waits for an fsync of
//! the WAL, and one writer connection makes those waits strictly serial:
//! the fsync, not the work, would cap the whole server at a few hundred
//! writes per second. So on SQLite the writes of many requests share one database
//! transaction and one fsync (group commit), without giving up anything a
//! transaction of its own promised:
//!
//! - A logical transaction runs alone on the writer connection, as it would
//!   without batching (it holds the batch lock from `begin()` to `commit()` or drop), inside
//!   a `SAVEPOINT` of the open batch transaction, so it sees every earlier
//!   write in order and a rollback undoes its own writes only.
//! - `commit()` releases the savepoint and then waits until the batch's
//!   COMMIT is durable. Nobody is told "done" before the data is on disk;
//!   if the batch's COMMIT fails, every member is told it failed, and none
//!   of its writes exist.
//! - A committer task takes the batch lock whenever a member is waiting.
//!   The lock is fair, so it gets it after the writers already queued, who
//!   join the batch; writers arriving during the fsync queue for the next.
//!   Under load the batch grows by itself; a lone writer waits for one
//!   fsync, as it would without batching.
//! - If SQLite abandons the batch transaction (it does on a full disk or an
//!   I/O error), the savepoint of the next user is gone; the batch is then
//!   marked broken and fails as a whole.
//! - A member's statements run on the caller's thread (they take
//!   microseconds). `BEGIN IMMEDIATE` is tried there too, without waiting:
//!   only another process can hold SQLite's write lock. If one does, and
//!   for the `COMMIT` (the fsync), the wait runs on a blocking thread with
//!   the writer lock moved there, so the async runtime never stalls on it.
//!
//! **Answers.** Inside a batch a member sees earlier members' writes before
//! they are durable. So a member that answers from what it read (found the
//! card locked, the key already used, the document already fetched) ends
//! with `commit()` even when it wrote nothing: the answer then waits for,
//! and fails with, the batch it depends on. Dropping a member is for errors,
//! whose writes must go.
//!
//! PostgreSQL commits concurrently from many connections and groups WAL
//! flushes itself, so there a [`WriteTx`] is a plain transaction.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use rusqlite::Connection;
use sqlx::{Any, Transaction};
use tokio::sync::{Mutex, Notify, OwnedMutexGuard, watch};

use crate::StoreError;
use crate::checkpoint::{CheckpointStats, Checkpointer};
use crate::db::{BUSY_TIMEOUT, DbError, Opener};
use crate::file_identity::FileIdentity;

/// How a batch ended: `None` while open.
type Outcome = Option<Result<(), String>>;

/// SQLite's writer connection, with the batch open on it, if any.
pub(crate) struct GroupCommit {
    writer: Arc<Mutex<Writer>>,
    wanted: Arc<Notify>,
    stats: Arc<BatchStats>,
    checkpoints: Arc<CheckpointStats>,
}

/// How many batches committed, with how many writes (the batching factor),
/// and the time their COMMITs took (the fsync, and any checkpoint SQLite ran
/// inside it), during which no write could start.
#[derive(Debug, Default)]
pub(crate) struct BatchStats {
    pub(crate) batches: AtomicU64,
    pub(crate) writes: AtomicU64,
    pub(crate) commit_nanos: AtomicU64,
}

/// The one writer connection. Whoever holds its lock runs alone on it.
struct Writer {
    conn: Connection,
    opener: Opener,
    file: Option<FileIdentity>,
    batch: Option<OpenBatch>,
    /// Told of every commit; it checkpoints the WAL off this connection.
    checkpointer: Checkpointer,
}

/// A batch transaction (`BEGIN IMMEDIATE`) open on the writer connection.
struct OpenBatch {
    /// Logical transactions released into this batch.
    members: usize,
    /// The last member was dropped without commit: its savepoint must be
    /// rolled back before anyone else uses the connection.
    rollback_pending: bool,
    /// Why this batch can no longer commit.
    broken: Option<String>,
    /// Tells the members how the batch ended.
    done: watch::Sender<Outcome>,
}

impl GroupCommit {
    /// The group committer over SQLite's one writer connection; starts the
    /// committer task on the current runtime.
    pub(crate) fn start(
        conn: Connection,
        opener: Opener,
        file: Option<FileIdentity>,
        checkpointer: Checkpointer,
    ) -> GroupCommit {
        let checkpoints = checkpointer.stats();
        let writer = Arc::new(Mutex::new(Writer { conn, opener, file, batch: None, checkpointer }));
        let group = GroupCommit { writer, wanted: Arc::new(Notify::new()), stats: Arc::default(), checkpoints };
        let (writer, wanted, stats) = (Arc::clone(&group.writer), Arc::clone(&group.wanted), Arc::clone(&group.stats));
        tokio::spawn(async move {
            loop {
                wanted.notified().await;
                // Held through the COMMIT: nobody starts on the connection
                // until the batch has ended.
                let writer = Arc::clone(&writer).lock_owned().await;
                if writer.batch.is_some() {
                    finish_off_runtime(writer, Arc::clone(&stats)).await;
                }
            }
        });
        group
    }

    pub(crate) fn stats(&self) -> &BatchStats {
        &self.stats
    }

    pub(crate) fn checkpoints(&self) -> &CheckpointStats {
        &self.checkpoints
    }

    /// End the open batch now (at shutdown).
    pub(crate) async fn flush(&self) {
        let writer = Arc::clone(&self.writer).lock_owned().await;
        if writer.batch.is_some() {
            finish_off_runtime(writer, Arc::clone(&self.stats)).await;
        }
    }

    pub(crate) async fn begin(&self) -> Result<WriteTx, StoreError> {
        let mut writer = Arc::clone(&self.writer).lock_owned().await;
        writer.settle_rollback();
        writer.check_still_in_batch();
        if let Some(reason) = writer.batch.as_ref().and_then(|b| b.broken.clone()) {
            // The committer is due (whoever broke it asked); this write
            // fails rather than join a batch that cannot commit.
            self.wanted.notify_one();
            return Err(StoreError::Unavailable(reason));
        }
        if writer.batch.is_none() {
            // The file is checked once per batch, where sqlx checked it per
            // connection handed out (see `file_identity.rs`).
            if let Some(file) = &writer.file {
                file.check()?;
            }
            // In this process the batch lock makes this the only writer, so
            // the write lock is free unless another process (a `kofu`
            // command) holds it. Taking it here, without waiting, saves a
            // thread hand-off that, on busy cores, took milliseconds with
            // every writer queued behind it; only if it is taken is it
            // waited for (up to the busy timeout) off the runtime.
            if !begin_without_waiting(&writer.conn)? {
                let (returned, begun) = tokio::task::spawn_blocking(move || {
                    let begun = writer.conn.execute_batch("BEGIN IMMEDIATE");
                    (writer, begun)
                })
                .await
                .map_err(|_| StoreError::Unavailable("a write transaction could not be started".into()))?;
                writer = returned;
                begun.map_err(DbError::from)?;
            }
            writer.batch =
                Some(OpenBatch { members: 0, rollback_pending: false, broken: None, done: watch::channel(None).0 });
        }
        if let Err(err) = run_cached(&writer.conn, "SAVEPOINT w") {
            writer.break_with(&err);
            self.wanted.notify_one();
            return Err(DbError::from(err).into());
        }
        Ok(WriteTx::Grouped(Member { writer, wanted: Arc::clone(&self.wanted), released: false }))
    }
}

/// Run `sql`, a statement without results, from the connection's statement
/// cache: every write runs its savepoint statements, and `execute_batch`
/// would parse them again each time.
fn run_cached(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.execute([]).map(drop)
}

/// `BEGIN IMMEDIATE` if the write lock is free now: false if another
/// connection holds it.
fn begin_without_waiting(conn: &Connection) -> Result<bool, DbError> {
    conn.busy_timeout(std::time::Duration::ZERO)?;
    let begun = conn.execute_batch("BEGIN IMMEDIATE");
    conn.busy_timeout(BUSY_TIMEOUT)?;
    match begun {
        Ok(()) => Ok(true),
        Err(rusqlite::Error::SqliteFailure(e, _)) if e.code == rusqlite::ErrorCode::DatabaseBusy => Ok(false),
        Err(err) => Err(err.into()),
    }
}

/// Commit the batch on a blocking thread: the COMMIT waits for an fsync.
async fn finish_off_runtime(writer: OwnedMutexGuard<Writer>, stats: Arc<BatchStats>) {
    // If the thread panics, the batch's sender is dropped and every
    // member learns the batch was abandoned.
    let _ = tokio::task::spawn_blocking(move || {
        let mut writer = writer;
        writer.finish(&stats);
    })
    .await;
}

impl Writer {
    fn break_with(&mut self, err: &rusqlite::Error) {
        if let Some(batch) = self.batch.as_mut().filter(|b| b.broken.is_none()) {
            tracing::warn!(%err, "a write batch lost its transaction and will fail as a whole");
            batch.broken = Some(format!("the write could not be completed: {err}"));
        }
    }

    /// SQLite rolls a transaction back by itself on a full disk or an I/O
    /// error. A `SAVEPOINT` outside a transaction would then start a new one
    /// and its `RELEASE` commit it at once, outside the batch: so an open
    /// batch whose transaction is gone is broken, before anyone writes.
    fn check_still_in_batch(&mut self) {
        if !self.conn.is_autocommit() {
            return;
        }
        if let Some(batch) = self.batch.as_mut().filter(|b| b.broken.is_none()) {
            tracing::warn!("SQLite abandoned a write batch's transaction; the batch fails as a whole");
            batch.broken = Some("the write could not be completed: the database abandoned the transaction".into());
        }
    }

    /// Undo what a dropped member left behind.
    fn settle_rollback(&mut self) {
        let Some(batch) = self.batch.as_mut() else { return };
        if !std::mem::take(&mut batch.rollback_pending) {
            return;
        }
        if let Err(err) = self.conn.execute_batch("ROLLBACK TO w; RELEASE w") {
            self.break_with(&err);
        }
    }

    /// Commit (or, if broken or empty, roll back) and tell the members.
    fn finish(&mut self, stats: &BatchStats) {
        self.settle_rollback();
        let Some(mut batch) = self.batch.take() else { return };
        let outcome = match (batch.broken.take(), batch.members) {
            (Some(reason), _) => Err(reason),
            (None, 0) => Ok(()),
            (None, members) => {
                let started = std::time::Instant::now();
                let committed = self.conn.execute_batch("COMMIT");
                let took = u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX);
                stats.commit_nanos.fetch_add(took, Ordering::Relaxed);
                committed.map_err(|err| {
                    tracing::warn!(%err, members, "a write batch failed to commit");
                    format!("the write could not be committed: {err}")
                })
            }
        };
        if outcome.is_err() || batch.members == 0 {
            // After a failed COMMIT SQLite may still hold the transaction.
            let _ = self.conn.execute_batch("ROLLBACK");
        }
        self.ensure_outside_transaction();
        let committed = outcome.is_ok() && batch.members > 0;
        if committed {
            stats.batches.fetch_add(1, Ordering::Relaxed);
            stats.writes.fetch_add(batch.members as u64, Ordering::Relaxed);
            self.checkpointer.committed();
        }
        batch.done.send_replace(Some(outcome));
        // After the members are told, while the lock still keeps the next
        // batch out: the next batch then starts the WAL over
        // (`checkpoint.rs`).
        if committed && self.checkpointer.restart_due() {
            self.checkpointer.checkpoint_on_writer(&self.conn);
        }
    }

    /// SQLite may keep a transaction open that could not be rolled back (a
    /// full disk, an I/O error); the next batch would then run inside it
    /// and never commit. Such a connection is replaced by a fresh one.
    fn ensure_outside_transaction(&mut self) {
        if self.conn.is_autocommit() {
            return;
        }
        tracing::warn!("replacing the database writer connection, left inside a transaction");
        match self.opener.open(false) {
            // Dropping the old connection closes it, which rolls back.
            Ok(fresh) => self.conn = fresh,
            Err(err) => tracing::warn!(%err, "the database writer connection could not be replaced"),
        }
    }
}

/// One logical write transaction: statements run on it through
/// `crate::db`.
pub(crate) enum WriteTx {
    Grouped(Member),
    Plain(Transaction<'static, Any>),
}

/// A member of a SQLite write batch. It holds the writer's lock, so it runs
/// alone on the connection, until it is committed or dropped.
pub(crate) struct Member {
    writer: OwnedMutexGuard<Writer>,
    wanted: Arc<Notify>,
    /// Its savepoint was released (or the batch broken): nothing to undo.
    released: bool,
}

impl Member {
    pub(crate) fn conn(&self) -> &Connection {
        &self.writer.conn
    }

    /// Release the savepoint into the batch; returns how to learn the
    /// batch's outcome.
    fn release(&mut self) -> Result<watch::Receiver<Outcome>, StoreError> {
        self.writer.check_still_in_batch();
        if let Some(reason) = self.writer.batch.as_ref().and_then(|b| b.broken.clone()) {
            // Released (there is nothing left to undo), never committed:
            // outside the batch, `RELEASE` would commit on its own.
            self.released = true;
            return Err(StoreError::Unavailable(reason));
        }
        let released = run_cached(&self.writer.conn, "RELEASE w");
        self.released = true;
        if let Err(err) = released {
            self.writer.break_with(&err);
            return Err(DbError::from(err).into());
        }
        let batch = self
            .writer
            .batch
            .as_mut()
            .ok_or_else(|| StoreError::Unavailable("the write batch ended before its member".into()))?;
        batch.members += 1;
        Ok(batch.done.subscribe())
    }
}

impl WriteTx {
    /// Make the writes durable; only then does this return `Ok`.
    pub(crate) async fn commit(self) -> Result<(), StoreError> {
        match self {
            WriteTx::Plain(tx) => Ok(tx.commit().await.map_err(DbError::from)?),
            WriteTx::Grouped(mut member) => {
                let released = member.release();
                let wanted = Arc::clone(&member.wanted);
                // Unlock before waiting: the committer needs the lock.
                drop(member);
                wanted.notify_one();
                let mut done = released?;
                let outcome = done
                    .wait_for(Option::is_some)
                    .await
                    .map_err(|_| StoreError::Unavailable("the write batch was abandoned".into()))?;
                match outcome.as_ref() {
                    Some(Ok(())) => Ok(()),
                    Some(Err(reason)) => Err(StoreError::Unavailable(reason.clone())),
                    None => Err(StoreError::Unavailable("the write batch ended without an outcome".into())),
                }
            }
        }
    }
}

impl Drop for Member {
    fn drop(&mut self) {
        if !self.released {
            // Not committed: the next user of the connection (a new member
            // or the committer) first undoes this member's writes.
            if let Some(batch) = self.writer.batch.as_mut() {
                batch.rollback_pending = true;
            }
            self.wanted.notify_one();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use crate::db::{self, Db};
    use crate::{Store, StoreOptions};

    async fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("kofu.db").display());
        let store = Store::open(&StoreOptions::new(url)).await.unwrap();
        let mut tx = store.begin().await.unwrap();
        // A deferred foreign key is checked at COMMIT: the one way to make a
        // batch's COMMIT fail on demand.
        db::script(
            "CREATE TABLE parent (id INTEGER PRIMARY KEY); \
             CREATE TABLE child (id INTEGER PRIMARY KEY, parent INTEGER \
               REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED); \
             INSERT INTO parent (id) VALUES (1)",
            &mut tx,
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        (dir, store)
    }

    async fn children(store: &Store) -> Vec<i64> {
        db::query("SELECT id FROM child ORDER BY id")
            .fetch_all(store)
            .await
            .unwrap()
            .iter()
            .map(|r| r.try_get::<i64, _>(0).unwrap())
            .collect()
    }

    async fn insert(store: &Store, id: i64, parent: i64) -> Result<(), crate::StoreError> {
        let mut tx = store.begin().await?;
        db::query("INSERT INTO child (id, parent) VALUES ($1, $2)").bind(id).bind(parent).execute(&mut tx).await?;
        tx.commit().await
    }

    fn counts(store: &Store) -> (u64, u64) {
        let Db::Sqlite { group, .. } = &store.db else { panic!("a SQLite store") };
        let stats = group.stats();
        (stats.batches.load(super::Ordering::Relaxed), stats.writes.load(super::Ordering::Relaxed))
    }

    #[tokio::test]
    async fn concurrent_writes_share_commits_and_every_one_is_durable_when_acknowledged() {
        let (_dir, store) = store().await;
        let (batches_before, writes_before) = counts(&store);
        let mut tasks = tokio::task::JoinSet::new();
        for id in 0..200 {
            let store = store.clone();
            tasks.spawn(async move { insert(&store, id, 1).await.map(|()| id) });
        }
        let mut acknowledged = Vec::new();
        while let Some(done) = tasks.join_next().await {
            acknowledged.push(done.unwrap().unwrap());
        }
        acknowledged.sort();
        // Read through another connection: acknowledged means committed.
        assert_eq!(children(&store).await, acknowledged);
        let (batches, writes) = counts(&store);
        assert_eq!(writes - writes_before, 200);
        assert!(batches - batches_before < 200, "{} commits for 200 concurrent writes", batches - batches_before);
    }

    /// A batch starts without waiting when the write lock is free; when
    /// another process holds it, the write waits for it (off the runtime)
    /// and then goes through.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_write_waits_for_another_process_holding_the_write_lock() {
        let (dir, store) = store().await;
        let other = rusqlite::Connection::open(dir.path().join("kofu.db")).unwrap();
        other.execute_batch("BEGIN IMMEDIATE; INSERT INTO parent (id) VALUES (2)").unwrap();
        let write = tokio::spawn({
            let store = store.clone();
            async move { insert(&store, 10, 2).await }
        });
        // It cannot finish while the other connection holds the lock.
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(!write.is_finished(), "a write went through while another connection held the write lock");
        other.execute_batch("COMMIT").unwrap();
        write.await.unwrap().unwrap();
        assert_eq!(children(&store).await, [10]);
        // And with the lock free again, the next batch starts at once.
        insert(&store, 11, 1).await.unwrap();
        assert_eq!(children(&store).await, [10, 11]);
    }

    #[tokio::test]
    async fn a_member_rolled_back_leaves_the_rest_of_its_batch_alone() {
        let (_dir, store) = store().await;
        let mut first = store.begin().await.unwrap();
        db::query("INSERT INTO child (id, parent) VALUES (1, 1)").execute(&mut first).await.unwrap();
        // Queued behind `first`, so both land in one batch.
        let (second, third) = (store.clone(), store.clone());
        let second = tokio::spawn(async move {
            let mut tx = second.begin().await.unwrap();
            db::query("INSERT INTO child (id, parent) VALUES (2, 1)").execute(&mut tx).await.unwrap();
            // Dropped, not committed.
        });
        let third = tokio::spawn(async move { insert(&third, 3, 1).await });
        tokio::time::sleep(Duration::from_millis(50)).await;
        first.commit().await.unwrap();
        second.await.unwrap();
        third.await.unwrap().unwrap();
        assert_eq!(children(&store).await, vec![1, 3]);
    }

    #[tokio::test]
    async fn a_batch_that_fails_to_commit_fails_every_member_and_keeps_none_of_its_writes() {
        let (_dir, store) = store().await;
        let mut good = store.begin().await.unwrap();
        db::query("INSERT INTO child (id, parent) VALUES (1, 1)").execute(&mut good).await.unwrap();
        // Joins the same batch; its row names no parent, which COMMIT finds.
        let bad_store = store.clone();
        let bad = tokio::spawn(async move { insert(&bad_store, 2, 99).await });
        tokio::time::sleep(Duration::from_millis(50)).await;
        let good = good.commit().await;
        let bad = bad.await.unwrap();
        assert!(matches!(good, Err(crate::StoreError::Unavailable(_))), "{good:?}");
        assert!(matches!(bad, Err(crate::StoreError::Unavailable(_))), "{bad:?}");
        assert_eq!(children(&store).await, Vec::<i64>::new());
        // The next batch is a fresh transaction and commits.
        insert(&store, 3, 1).await.unwrap();
        assert_eq!(children(&store).await, vec![3]);
    }
}
