//! The SQLite file a store opened, by device and inode. If the file is
//! deleted or replaced while the server runs, SQLite's open descriptors
//! keep writing to the old, unlinked file, and every issuance recorded from
//! then on would vanish at the next start. Checking the identity before
//! every write batch turns that silent loss into 503s. Reads check too, at
//! most every [`READ_CHECK_EVERY`]: a read changes nothing, and a `stat` of
//! the path before each one was 4 µs, some 40 µs per issuance.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::StoreError;
use crate::db::DbError;

/// How long reads go on after a check passed before they check again.
pub(crate) const READ_CHECK_EVERY: Duration = Duration::from_millis(100);

#[derive(Debug)]
pub(crate) struct FileIdentity {
    path: PathBuf,
    device: u64,
    inode: u64,
    /// When a check last passed, in microseconds since `since` plus one;
    /// 0 if none has.
    passed: AtomicU64,
    since: Instant,
}

impl Clone for FileIdentity {
    fn clone(&self) -> FileIdentity {
        FileIdentity {
            path: self.path.clone(),
            device: self.device,
            inode: self.inode,
            passed: AtomicU64::new(0),
            since: self.since,
        }
    }
}

impl FileIdentity {
    /// The identity of the database file at `path`, as it is now.
    pub(crate) fn of_path(path: &Path) -> Result<FileIdentity, StoreError> {
        let (device, inode) = identity(path)
            .map_err(|e| StoreError::Config(format!("the database file {} cannot be examined: {e}", path.display())))?;
        Ok(FileIdentity { path: path.to_owned(), device, inode, passed: AtomicU64::new(0), since: Instant::now() })
    }

    /// [`check`](Self::check), unless one passed within [`READ_CHECK_EVERY`].
    pub(crate) fn check_for_read(&self) -> Result<(), DbError> {
        // +1: zero stands for "never".
        let now = self.since.elapsed().as_micros() as u64 + 1;
        let passed = self.passed.load(Ordering::Relaxed);
        if passed != 0 && now.saturating_sub(passed) < READ_CHECK_EVERY.as_micros() as u64 {
            return Ok(());
        }
        self.check()?;
        self.passed.store(now, Ordering::Relaxed);
        Ok(())
    }

    /// Still the same file at the same path.
    pub(crate) fn check(&self) -> Result<(), DbError> {
        match identity(&self.path) {
            Ok((device, inode)) if device == self.device && inode == self.inode => Ok(()),
            Ok(_) => Err(lost(format!(
                "the database file {} was replaced while the server ran; restart kofu to open the new file",
                self.path.display()
            ))),
            Err(e) => Err(lost(format!(
                "the database file {} is gone ({e}); restore it from a backup and restart kofu",
                self.path.display()
            ))),
        }
    }
}

fn lost(message: String) -> DbError {
    DbError::Unusable(message)
}

#[cfg(unix)]
fn identity(path: &std::path::Path) -> std::io::Result<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    let metadata = std::fs::metadata(path)?;
    Ok((metadata.dev(), metadata.ino()))
}

#[cfg(not(unix))]
fn identity(path: &std::path::Path) -> std::io::Result<(u64, u64)> {
    // Without inodes, existence is what can be checked.
    std::fs::metadata(path).map(|_| (0, 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_replaced_or_deleted_file_fails_the_check_and_reads_find_out_within_the_interval() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kofu.db");
        std::fs::write(&path, b"one").unwrap();
        let file = FileIdentity::of_path(&path).unwrap();
        file.check().unwrap();
        file.check_for_read().unwrap();

        // Another file at the same path (the old one still exists, so the
        // new one cannot have its inode).
        std::fs::rename(&path, dir.path().join("old.db")).unwrap();
        std::fs::write(&path, b"two").unwrap();
        assert!(file.check().unwrap_err().to_string().contains("was replaced"));
        std::thread::sleep(READ_CHECK_EVERY + Duration::from_millis(20));
        assert!(file.check_for_read().unwrap_err().to_string().contains("was replaced"));
        // A failed check is not remembered as passed.
        assert!(file.check_for_read().is_err());

        std::fs::remove_file(&path).unwrap();
        assert!(file.check().unwrap_err().to_string().contains("is gone"));
    }
}
