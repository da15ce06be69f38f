//! SQLite WAL checkpoints, on a connection and a thread of their own.
//!
//! In WAL mode every commit appends pages to the WAL, and a checkpoint
//! copies them back into the database file (and fsyncs it) so that the WAL
//! can start again from its beginning. By default SQLite checkpoints inside
//! the COMMIT that takes the WAL past 1,000 pages: on the one writer
//! connection, inside the batch lock (`write.rs`), so every writer queued
//! for the next batch would wait for that copy and its fsync, which under
//! load is a large share of an average COMMIT.
//!
//! So the writer does not checkpoint in normal operation; this thread does,
//! with `PRAGMA wal_checkpoint(PASSIVE)`, soon after commits. A passive
//! checkpoint takes no lock that writers or readers wait for: it copies what
//! no reader still needs and leaves the rest for the next run. The writer
//! keeps an automatic checkpoint only as a backstop ([`WRITER_BACKSTOP`]),
//! should this thread fall far behind, so the WAL stays bounded either way.
//!
//! **Starting the WAL over.** A checkpoint copies pages; it does not
//! shorten the WAL. SQLite writes from the WAL's beginning again only when a
//! write transaction begins after a checkpoint copied *every* frame, and
//! under continuous writes that never follows this thread's checkpoints:
//! while one runs, the writer commits more. Left at that, the WAL would grow
//! until the writer's backstop fired, and that checkpoint, inside the batch
//! lock, would copy every frame committed since this thread's last run and
//! sync the database file: a stall of every write, over and over under a
//! steady load. So:
//!
//! - once a checkpoint here finds the WAL past [`RESTART_AFTER`] pages, it
//!   asks the writer ([`Checkpointer::restart_due`]) to checkpoint right
//!   after its next COMMIT, while it holds the batch lock anyway. That copies
//!   only the frames committed since, and the next batch starts the WAL over.
//! - SQLite syncs the database file only at the end of a checkpoint that
//!   reached the WAL's end, so under continuous writes this thread's copies
//!   would all be left to the writer's sync, inside the lock. This thread
//!   syncs the file itself after each checkpoint that copied pages, outside
//!   any lock, which leaves the writer's sync only its own few pages. A sync
//!   more never weakens SQLite's.
//!
//! Nothing here affects durability: a commit is durable once its WAL frames
//! are synced, before any checkpoint.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::Duration;

use rusqlite::Connection;

/// WAL pages after which the writer checkpoints by itself, as SQLite does
/// by default at 1,000: only if the checkpointer falls this far behind
/// (about 32 MiB of WAL).
pub(crate) const WRITER_BACKSTOP: u32 = 8_000;

/// WAL pages past which a checkpoint here asks the writer to finish it, so
/// that the WAL starts over (module docs): SQLite's own default checkpoint
/// size (about 4 MiB). Below it a WAL is left to grow; past it, each of this
/// thread's checkpoints is followed by the writer's.
const RESTART_AFTER: i64 = 1_000;

/// The least time between two checkpoints. Each one copies every page
/// changed since the last, and this thread then syncs them to the disk; the
/// hot pages (index roots, the session and audit tables' last pages) change
/// in nearly every batch, so the more often checkpoints run, the more often
/// the same pages are written again. The fewer checkpoints, though, the
/// larger each sync, and every commit's WAL sync waits behind it on the
/// disk: a longer pause means rarer but longer stalls of all writes, and the
/// tail latency follows the stalls. 50 ms keeps them short for somewhat
/// more bytes written.
const PAUSE: Duration = Duration::from_millis(50);

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
    /// Checkpoints the writer ran after a COMMIT, when asked to so that the
    /// WAL starts over.
    pub(crate) writer_runs: AtomicU64,
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
    /// The WAL is long and nearly all copied: the writer should checkpoint
    /// the rest after its next COMMIT.
    restart: AtomicBool,
}

#[derive(Default)]
struct State {
    /// A commit happened since the last checkpoint began.
    due: bool,
    stopping: bool,
}

impl Checkpointer {
    /// Start the thread on `conn`, a connection of its own to the database,
    /// and `database`, the database file, for syncing the pages it copies.
    pub(crate) fn start(conn: Connection, database: std::fs::File) -> std::io::Result<Checkpointer> {
        let shared =
            Arc::new(Shared { state: Mutex::default(), wake: Condvar::new(), restart: AtomicBool::new(false) });
        let stats = Arc::new(CheckpointStats::default());
        let (running, counting) = (Arc::clone(&shared), Arc::clone(&stats));
        std::thread::Builder::new()
            .name("kofu-checkpoint".into())
            .spawn(move || run(&conn, &database, &running, &counting))?;
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

    /// Whether the writer should checkpoint now, after a COMMIT, so that its
    /// next batch starts the WAL over; asking answers it.
    pub(crate) fn restart_due(&self) -> bool {
        self.shared.restart.swap(false, Ordering::Relaxed)
    }

    /// The writer's checkpoint after a COMMIT (see [`Checkpointer::restart_due`]):
    /// it copies what this thread has not yet, and syncs the database file.
    pub(crate) fn checkpoint_on_writer(&self, writer: &Connection) {
        match passive_checkpoint(writer) {
            Ok((0, _, _)) => {
                self.stats.writer_runs.fetch_add(1, Ordering::Relaxed);
            }
            // This thread is checkpointing (or another process is): it asks
            // again after its run.
            Ok(_) => {}
            Err(err) => tracing::warn!(%err, "the writer's WAL checkpoint failed; the WAL will grow until the next"),
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

fn run(conn: &Connection, database: &std::fs::File, shared: &Shared, stats: &CheckpointStats) {
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
        if let Some(pass) = checkpoint(conn, stats) {
            // Unless this checkpoint reached the WAL's end as it was when
            // the checkpoint ended, which the answer cannot tell, SQLite did
            // not sync what it copied (module docs); if it did, this sync
            // finds nothing to write.
            if pass.copied > 0
                && let Err(err) = database.sync_data()
            {
                tracing::warn!(%err, "the database file could not be synced after a checkpoint; SQLite syncs it later");
            }
            if pass.wal >= RESTART_AFTER {
                shared.restart.store(true, Ordering::Relaxed);
            }
        }
        std::thread::sleep(PAUSE);
    }
}

/// What a checkpoint found: pages in the WAL, and how many of them are in
/// the database file now.
struct Pass {
    wal: i64,
    copied: i64,
}

/// One checkpoint; None if it could not run.
fn checkpoint(conn: &Connection, stats: &CheckpointStats) -> Option<Pass> {
    match passive_checkpoint(conn) {
        Ok((0, wal, copied)) => {
            stats.wal_pages.store(u64::try_from(wal).unwrap_or(0), Ordering::Relaxed);
            stats.copied_pages.store(u64::try_from(copied).unwrap_or(0), Ordering::Relaxed);
            stats.runs.fetch_add(1, Ordering::Relaxed);
            Some(Pass { wal, copied })
        }
        Ok(_) => {
            stats.failed.fetch_add(1, Ordering::Relaxed);
            None
        }
        Err(err) => {
            stats.failed.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(%err, "a WAL checkpoint failed; the next commit tries again");
            None
        }
    }
}

/// `PRAGMA wal_checkpoint(PASSIVE)`: one row of busy (1 if it could not
/// run), pages in the WAL, and pages copied so far.
fn passive_checkpoint(conn: &Connection) -> rusqlite::Result<(i64, i64, i64)> {
    conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering::Relaxed;
    use std::time::{Duration, Instant};

    use crate::db::{self, Db};
    use crate::{Store, StoreOptions};

    /// A fresh SQLite store with a table for [`write_chunk`]; the directory
    /// lives as long as the returned guard.
    async fn store_with_blobs() -> (tempfile::TempDir, std::path::PathBuf, Store) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kofu.db");
        let store = Store::open(&StoreOptions::new(format!("sqlite://{}", path.display()))).await.unwrap();
        let mut tx = store.begin().await.unwrap();
        db::script("CREATE TABLE blob (round INTEGER, i INTEGER, data BLOB, PRIMARY KEY (round, i))", &mut tx)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        (dir, path, store)
    }

    /// Writes about `bytes` to the database, in transactions of 64 KiB.
    async fn write(store: &Store, round: i64, bytes: usize) {
        for i in 0..bytes / (64 << 10) {
            write_chunk(store, round, i as i64).await;
        }
    }

    /// One transaction writing 64 KiB.
    async fn write_chunk(store: &Store, round: i64, i: i64) {
        let mut tx = store.begin().await.unwrap();
        db::query("INSERT INTO blob (round, i, data) VALUES ($1, $2, $3)")
            .bind(round)
            .bind(i)
            .bind(vec![round as u8; 64 << 10])
            .execute(&mut tx)
            .await
            .unwrap();
        tx.commit().await.unwrap();
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
        let (dir, path, store) = store_with_blobs().await;
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

    /// Under continuous writes no checkpoint of the thread reaches the WAL's
    /// end (the writer commits more while it copies), so on its own the WAL
    /// started over only at the writer's backstop, 32 MiB later, with a
    /// long checkpoint inside the batch lock. The writer now finishes the
    /// thread's checkpoint after a commit, and the WAL stays the size of a
    /// few checkpoints' writes.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn under_continuous_writes_the_wal_starts_over_long_before_the_writers_backstop() {
        let (dir, _, store) = store_with_blobs().await;

        // 48 MiB in transactions of 64 KiB, one a millisecond: half again
        // the backstop's 32 MiB, with never a pause long enough for a
        // checkpoint of the thread to catch up on its own.
        let wal = dir.path().join("kofu.db-wal");
        let mut largest = 0;
        for i in 0..768 {
            write_chunk(&store, 0, i).await;
            largest = largest.max(std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0));
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        let backstop = u64::from(super::WRITER_BACKSTOP) * 4096;
        assert!(largest < backstop / 2, "the WAL grew to {largest} bytes, against the backstop's {backstop}");
        let Db::Sqlite { group, .. } = &store.db else { panic!("a SQLite store") };
        assert!(group.checkpoints().writer_runs.load(Relaxed) > 0, "the writer never finished a checkpoint");
        let rows: i64 = db::query("SELECT count(*) FROM blob").fetch_one(&store).await.unwrap().try_get(0).unwrap();
        assert_eq!(rows, 768, "every write is there");
    }
}
