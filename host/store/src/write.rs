//! Write transactions, and group commit on SQLite.
//!
//! Every write goes through [`WriteTx`]: begin, statements, `commit()`.
//! Dropping one without committing rolls back everything it did.
//!
//! On SQLite with `synchronous = FULL` every COMMIT waits for an fsync of
//! the WAL, and one writer connection makes those waits strictly serial:
//! the fsync, not the work, capped the whole server at a few hundred writes
//! per second. So on SQLite the writes of many requests share one database
//! transaction and one fsync (group commit), without giving up anything a
//! transaction of its own promised:
//!
//! - A logical transaction runs alone on the writer connection, as before
//!   (it holds the batch lock from `begin()` to `commit()` or drop), inside
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
//!   fsync, as before.
//! - If SQLite abandons the batch transaction (it does on a full disk or an
//!   I/O error), the savepoint of the next user is gone; the batch is then
//!   marked broken and fails as a whole.
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

use std::ops::{Deref, DerefMut};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyConnection, AnyPool, Executor, Transaction};
use tokio::sync::{Mutex, Notify, OwnedMappedMutexGuard, OwnedMutexGuard, watch};

use crate::StoreError;

/// How a batch ended: `None` while open.
type Outcome = Option<Result<(), String>>;

/// SQLite's writer connection, with the batch open on it, if any.
pub(crate) struct GroupCommit {
    batch: Arc<Mutex<Option<OpenBatch>>>,
    pool: AnyPool,
    wanted: Arc<Notify>,
    stats: Arc<BatchStats>,
}

/// How many batches committed, with how many writes: the batching factor.
#[derive(Debug, Default)]
pub(crate) struct BatchStats {
    pub(crate) batches: AtomicU64,
    pub(crate) writes: AtomicU64,
}

/// A batch transaction (`BEGIN IMMEDIATE`) on the writer connection.
struct OpenBatch {
    conn: PoolConnection<Any>,
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
    /// The group committer for SQLite's one-connection write pool; starts
    /// the committer task on the current runtime.
    pub(crate) fn start(pool: AnyPool) -> GroupCommit {
        let group = GroupCommit { batch: Arc::default(), pool, wanted: Arc::new(Notify::new()), stats: Arc::default() };
        let (batch, wanted, stats) = (Arc::clone(&group.batch), Arc::clone(&group.wanted), Arc::clone(&group.stats));
        tokio::spawn(async move {
            loop {
                wanted.notified().await;
                // Held through the COMMIT: nobody starts on the connection
                // until the batch has ended.
                let mut slot = batch.lock().await;
                if let Some(open) = slot.take() {
                    open.finish(&stats).await;
                }
            }
        });
        group
    }

    pub(crate) fn stats(&self) -> &BatchStats {
        &self.stats
    }

    /// End the open batch now (at shutdown).
    pub(crate) async fn flush(&self) {
        if let Some(open) = self.batch.lock().await.take() {
            open.finish(&self.stats).await;
        }
    }

    async fn begin(&self) -> Result<WriteTx, StoreError> {
        let mut slot = Arc::clone(&self.batch).lock_owned().await;
        if let Some(open) = slot.as_mut() {
            open.settle_rollback().await;
            if let Some(reason) = &open.broken {
                // The committer is due (whoever broke it asked); this write
                // fails rather than join a batch that cannot commit.
                self.wanted.notify_one();
                return Err(StoreError::Unavailable(reason.clone()));
            }
        }
        if slot.is_none() {
            let mut conn = self.pool.acquire().await.map_err(|e| StoreError::unavailable(&e))?;
            conn.execute("BEGIN IMMEDIATE").await?;
            *slot = Some(OpenBatch {
                conn,
                members: 0,
                rollback_pending: false,
                broken: None,
                done: watch::channel(None).0,
            });
        }
        let mut open = OwnedMutexGuard::try_map(slot, Option::as_mut)
            .map_err(|_| StoreError::Unavailable("no write batch could be opened".into()))?;
        if let Err(err) = open.conn.execute("SAVEPOINT w").await {
            open.break_with(&err);
            self.wanted.notify_one();
            return Err(err.into());
        }
        Ok(WriteTx::Grouped(Member { open, wanted: Arc::clone(&self.wanted), released: false }))
    }
}

impl OpenBatch {
    fn break_with(&mut self, err: &sqlx::Error) {
        if self.broken.is_none() {
            tracing::warn!(%err, "a write batch lost its transaction and will fail as a whole");
            self.broken = Some(format!("the write could not be completed: {err}"));
        }
    }

    /// Undo what a dropped member left behind.
    async fn settle_rollback(&mut self) {
        if !std::mem::take(&mut self.rollback_pending) {
            return;
        }
        let undone = match self.conn.execute("ROLLBACK TO w").await {
            Ok(_) => self.conn.execute("RELEASE w").await.map(|_| ()),
            Err(err) => Err(err),
        };
        if let Err(err) = undone {
            self.break_with(&err);
        }
    }

    /// Commit (or, if broken or empty, roll back), hand the connection back
    /// to the pool, and tell the members.
    async fn finish(mut self, stats: &BatchStats) {
        self.settle_rollback().await;
        let outcome = match (self.broken.take(), self.members) {
            (Some(reason), _) => Err(reason),
            (None, 0) => Ok(()),
            (None, members) => self.conn.execute("COMMIT").await.map(|_| ()).map_err(|err| {
                tracing::warn!(%err, members, "a write batch failed to commit");
                format!("the write could not be committed: {err}")
            }),
        };
        if outcome.is_err() || self.members == 0 {
            // After a failed COMMIT SQLite may still hold the transaction.
            let _ = self.conn.execute("ROLLBACK").await;
        }
        drop(self.conn);
        if outcome.is_ok() && self.members > 0 {
            stats.batches.fetch_add(1, Ordering::Relaxed);
            stats.writes.fetch_add(self.members as u64, Ordering::Relaxed);
        }
        self.done.send_replace(Some(outcome));
    }
}

/// One logical write transaction. Dereferences to the connection its
/// statements run on.
pub(crate) enum WriteTx {
    Grouped(Member),
    Plain(Transaction<'static, Any>),
}

/// A member of a SQLite write batch. It holds the batch lock, so it runs
/// alone on the connection, until it is committed or dropped.
pub(crate) struct Member {
    open: OwnedMappedMutexGuard<Option<OpenBatch>, OpenBatch>,
    wanted: Arc<Notify>,
    /// Its savepoint was released (or the batch broken): nothing to undo.
    released: bool,
}

impl Member {
    /// Release the savepoint into the batch; returns how to learn the
    /// batch's outcome.
    async fn release(&mut self) -> Result<watch::Receiver<Outcome>, StoreError> {
        let released = self.open.conn.execute("RELEASE w").await;
        // Only now: a release cancelled before it ran is undone by `Drop`.
        self.released = true;
        if let Err(err) = released {
            self.open.break_with(&err);
            return Err(err.into());
        }
        self.open.members += 1;
        Ok(self.open.done.subscribe())
    }
}

impl WriteTx {
    pub(crate) async fn begin(group: Option<&GroupCommit>, pool: &AnyPool) -> Result<WriteTx, StoreError> {
        match group {
            Some(group) => group.begin().await,
            None => Ok(WriteTx::Plain(pool.begin().await?)),
        }
    }

    /// Make the writes durable; only then does this return `Ok`.
    pub(crate) async fn commit(self) -> Result<(), StoreError> {
        match self {
            WriteTx::Plain(tx) => Ok(tx.commit().await?),
            WriteTx::Grouped(mut member) => {
                let released = member.release().await;
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
            self.open.rollback_pending = true;
            self.wanted.notify_one();
        }
    }
}

impl Deref for WriteTx {
    type Target = AnyConnection;

    fn deref(&self) -> &AnyConnection {
        match self {
            WriteTx::Plain(tx) => tx,
            WriteTx::Grouped(member) => &member.open.conn,
        }
    }
}

impl DerefMut for WriteTx {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        match self {
            WriteTx::Plain(tx) => tx,
            WriteTx::Grouped(member) => &mut member.open.conn,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use sqlx::Row;

    use crate::{Store, StoreOptions};

    async fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("kofu.db").display());
        let store = Store::open(&StoreOptions::new(url)).await.unwrap();
        let mut tx = store.begin().await.unwrap();
        // A deferred foreign key is checked at COMMIT: the one way to make a
        // batch's COMMIT fail on demand.
        sqlx::query(
            "CREATE TABLE parent (id INTEGER PRIMARY KEY); \
             CREATE TABLE child (id INTEGER PRIMARY KEY, parent INTEGER \
               REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED); \
             INSERT INTO parent (id) VALUES (1)",
        )
        .execute(&mut *tx)
        .await
        .unwrap();
        tx.commit().await.unwrap();
        (dir, store)
    }

    async fn children(store: &Store) -> Vec<i64> {
        sqlx::query("SELECT id FROM child ORDER BY id")
            .fetch_all(&store.read)
            .await
            .unwrap()
            .iter()
            .map(|r| r.get::<i64, _>(0))
            .collect()
    }

    async fn insert(store: &Store, id: i64, parent: i64) -> Result<(), crate::StoreError> {
        let mut tx = store.begin().await?;
        sqlx::query("INSERT INTO child (id, parent) VALUES ($1, $2)").bind(id).bind(parent).execute(&mut *tx).await?;
        tx.commit().await
    }

    fn counts(store: &Store) -> (u64, u64) {
        let stats = store.group.as_ref().unwrap().stats();
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

    #[tokio::test]
    async fn a_member_rolled_back_leaves_the_rest_of_its_batch_alone() {
        let (_dir, store) = store().await;
        let mut first = store.begin().await.unwrap();
        sqlx::query("INSERT INTO child (id, parent) VALUES (1, 1)").execute(&mut *first).await.unwrap();
        // Queued behind `first`, so both land in one batch.
        let (second, third) = (store.clone(), store.clone());
        let second = tokio::spawn(async move {
            let mut tx = second.begin().await.unwrap();
            sqlx::query("INSERT INTO child (id, parent) VALUES (2, 1)").execute(&mut *tx).await.unwrap();
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
        sqlx::query("INSERT INTO child (id, parent) VALUES (1, 1)").execute(&mut *good).await.unwrap();
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
