//! SQLite WAL checkpoints, on a connection and a thread of their own.
//!
//! In WAL mode every commit appends pages to the WAL, and a checkpoint
//! copies them back into the database file (and fsyncs it) so that the WAL
//! can start again from its beginning. By default SQLite checkpoints inside
//! the COMMIT that takes the WAL past 1,000 pages: on the one writer
//! connection, inside the batch lock (`write.rs`), so every writer queued
//! for the next batch waited for that copy and its fsync. At 256 kiosks it
//! was most of an average COMMIT under `synchronous = NORMAL`, and under
//! FULL moving it here took the mean COMMIT from 5.3 to 3.8 ms
//! (docs/PERFORMANCE.md, rounds seven and eight).
//!
//! So the writer does not checkpoint in normal operation; this thread does,
//! with `PRAGMA wal_checkpoint(PASSIVE)`, soon after commits. A passive
//! checkpoint takes no lock that writers or readers wait for: it copies what
//! no reader still needs and leaves the rest for the next run. The writer
//! keeps an automatic checkpoint only as a backstop ([`WRITER_BACKSTOP`]),
//! should this thread fall far behind, so the WAL stays bounded either way.
//!
//! Nothing here affects durability: a commit is durable once its WAL frames
//! are synced, before any checkpoint.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::Duration;

use rusqlite::Connection;

/// WAL pages after which the writer checkpoints by itself, as SQLite does
/// by default at 1,000: only if the checkpointer falls this far behind
/// (about 32 MiB of WAL).
pub(crate) const WRITER_BACKSTOP: u32 = 8_000;

/// The least time between two checkpoints. Each one copies every page
/// changed since the last and ends with an fsync of the database file; the
/// hot pages (index roots, the session and audit tables' last pages) change
/// in nearly every batch, so the more often checkpoints run, the more often
/// the same pages are written again. At 256 kiosks, 200 ms wrote 62–64 KB
/// per issuance against 72–76 KB at 50 ms, with the same throughput; the
/// WAL then holds a fifth of a second of writes.
const PAUSE: Duration = Duration::from_millis(200);

/// What the checkpointer did so far.
#[derive(Debug, Default)]
pub(crate) struct CheckpointStats {
    /// Checkpoints run.
    pub(crate) runs: AtomicU64,
    /// Checkpoints that could not run: another connection (another
    /// process) was checkpointing, or SQLite returned an error (logged).
    /// Either way the next commit starts another.
    pub(crate) failed: AtomicU64,
    /// Pages in the WAL at the last checkpoint, and how many of them are in
    /// the database file now: equal when no reader held any back.
    pub(crate) wal_pages: AtomicU64,
    pub(crate) copied_pages: AtomicU64,
}

/// The handle the writer holds: it says when a commit made work, and
/// stopping it (dropping it) ends the thread.
pub(crate) struct Checkpointer {
    shared: Arc<Shared>,
    stats: Arc<CheckpointStats>,
}

struct Shared {
    state: Mutex<State>,
    wake: Condvar,
}

#[derive(Default)]
struct State {
    /// A commit happened since the last checkpoint began.
    due: bool,
    stopping: bool,
}

impl Checkpointer {
    /// Start the thread on `conn`, a connection of its own to the database.
    pub(crate) fn start(conn: Connection) -> std::io::Result<Checkpointer> {
        let shared = Arc::new(Shared { state: Mutex::default(), wake: Condvar::new() });
        let stats = Arc::new(CheckpointStats::default());
        let (running, counting) = (Arc::clone(&shared), Arc::clone(&stats));
        std::thread::Builder::new().name("kofu-checkpoint".into()).spawn(move || run(&conn, &running, &counting))?;
        Ok(Checkpointer { shared, stats })
    }

    /// A batch committed: its pages are in the WAL.
    pub(crate) fn committed(&self) {
        let mut state = self.shared.state.lock().unwrap_or_else(PoisonError::into_inner);
        if !state.due {
            state.due = true;
            self.shared.wake.notify_one();
        }
    }

    pub(crate) fn stats(&self) -> Arc<CheckpointStats> {
        Arc::clone(&self.stats)
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        let mut state = self.shared.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.stopping = true;
        self.shared.wake.notify_one();
    }
}

fn run(conn: &Connection, shared: &Shared, stats: &CheckpointStats) {
    loop {
        {
            let mut state = shared.state.lock().unwrap_or_else(PoisonError::into_inner);
            while !state.due && !state.stopping {
                state = shared.wake.wait(state).unwrap_or_else(PoisonError::into_inner);
            }
            if state.stopping {
                return;
            }
            // Commits from now on are due for the next run.
            state.due = false;
        }
        checkpoint(conn, stats);
        std::thread::sleep(PAUSE);
    }
}

fn checkpoint(conn: &Connection, stats: &CheckpointStats) {
    // One row: busy (1 if it could not run), pages in the WAL, pages
    // copied so far.
    let ran = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| {
        Ok((row.get::<_, i64>(0)?, row.get::<_, i64>(1)?, row.get::<_, i64>(2)?))
    });
    match ran {
        Ok((0, wal, copied)) => {
            stats.wal_pages.store(u64::try_from(wal).unwrap_or(0), Ordering::Relaxed);
            stats.copied_pages.store(u64::try_from(copied).unwrap_or(0), Ordering::Relaxed);
            stats.runs.fetch_add(1, Ordering::Relaxed);
        }
        Ok(_) => {
            stats.failed.fetch_add(1, Ordering::Relaxed);
        }
        Err(err) => {
            stats.failed.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(%err, "a WAL checkpoint failed; the next commit tries again");
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering::Relaxed;
    use std::time::{Duration, Instant};

    use crate::db::{self, Db};
    use crate::{Store, StoreOptions};

    /// Writes about `bytes` to the database, in transactions of ~64 KiB.
    async fn write(store: &Store, round: i64, bytes: usize) {
        let chunk = vec![round as u8; 64 << 10];
        for i in 0..bytes / chunk.len() {
            let mut tx = store.begin().await.unwrap();
            db::query("INSERT INTO blob (round, i, data) VALUES ($1, $2, $3)")
                .bind(round)
                .bind(i as i64)
                .bind(chunk.clone())
                .execute(&mut tx)
                .await
                .unwrap();
            tx.commit().await.unwrap();
        }
    }

    /// Waits until a checkpoint after `runs` has copied the whole WAL.
    async fn checkpointed_after(store: &Store, runs: u64) -> u64 {
        let Db::Sqlite { group, .. } = &store.db else { panic!("a SQLite store") };
        let stats = group.checkpoints();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let now = stats.runs.load(Relaxed);
            let (wal, copied) = (stats.wal_pages.load(Relaxed), stats.copied_pages.load(Relaxed));
            if now > runs && wal > 0 && copied == wal {
                return now;
            }
            assert!(Instant::now() < deadline, "no complete checkpoint after run {runs}: now {now}, {copied} of {wal}");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// The writer leaves checkpoints to the checkpoint thread, which copies
    /// every committed page into the database file soon after its commit;
    /// the next batch then starts the WAL again from its beginning, so it
    /// stays the size of what is written between checkpoints, not of
    /// everything written.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_checkpoint_thread_copies_commits_into_the_database_and_the_wal_stays_small() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kofu.db");
        let store = Store::open(&StoreOptions::new(format!("sqlite://{}", path.display()))).await.unwrap();
        let mut tx = store.begin().await.unwrap();
        db::script("CREATE TABLE blob (round INTEGER, i INTEGER, data BLOB, PRIMARY KEY (round, i))", &mut tx)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let mut runs = checkpointed_after(&store, 0).await;
        let database_before = std::fs::metadata(&path).unwrap().len();

        // 2 MiB per round, ten rounds: 20 MiB in all, far below the writer's
        // own backstop (`WRITER_BACKSTOP` pages, 32 MiB), so any checkpoint
        // is the thread's.
        let wal = dir.path().join("kofu.db-wal");
        let mut wal_sizes = Vec::new();
        for round in 0..10 {
            write(&store, round, 2 << 20).await;
            runs = checkpointed_after(&store, runs).await;
            wal_sizes.push(std::fs::metadata(&wal).unwrap().len());
        }
        // Every round's pages are in the database file itself.
        let database_after = std::fs::metadata(&path).unwrap().len();
        assert!(database_after >= database_before + (20 << 20), "{database_before} → {database_after} bytes");
        // The WAL was reused, not appended to: it holds about one round.
        let largest = wal_sizes.iter().copied().max().unwrap_or_default();
        assert!(largest < 6 << 20, "the WAL grew to {largest} bytes: {wal_sizes:?}");
        let Db::Sqlite { group, .. } = &store.db else { panic!("a SQLite store") };
        assert_eq!(group.checkpoints().failed.load(Relaxed), 0);
    }
}
