//! The SQLite file a store opened, by device and inode. If the file is
//! deleted or replaced while the server runs, SQLite's open descriptors
//! keep writing to the old, unlinked file, and every issuance recorded from
//! then on would vanish at the next start. Checking the identity before
//! each connection is handed out turns that silent loss into 503s.

use std::path::{Path, PathBuf};

use crate::StoreError;
use crate::db::DbError;

#[derive(Debug, Clone)]
pub(crate) struct FileIdentity {
    path: PathBuf,
    device: u64,
    inode: u64,
}

impl FileIdentity {
    /// The identity of the database file at `path`, as it is now.
    pub(crate) fn of_path(path: &Path) -> Result<FileIdentity, StoreError> {
        let (device, inode) = identity(path)
            .map_err(|e| StoreError::Config(format!("the database file {} cannot be examined: {e}", path.display())))?;
        Ok(FileIdentity { path: path.to_owned(), device, inode })
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
