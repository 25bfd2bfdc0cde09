//! A real sync of the files sled writes, after its flush.
//!
//! sled 0.34's `flush` ends with `sync_file_range` on Linux: the data leaves the page cache for the device, which
//! survives a `kill -9` but not a power cut (the device's own cache is not flushed, and the file's size, when it
//! grew, is not written). So every group commit follows sled's flush with an `fdatasync` of its log file `db` (an
//! fsync on any descriptor of a file flushes the file), and of any value sled wrote beside it as a blob file (sled
//! writes those without syncing them; they exist only for values over about 128 KiB, so the folder is mostly empty).

use std::collections::HashSet;
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The files of one sled database.
pub struct SledFiles {
    /// sled's log, where every write goes; open for the life of the store.
    log: File,
    /// sled's folder of values too large for its log.
    blobs: PathBuf,
    /// Blob files already synced (sled deletes them in time; a name is never reused).
    synced_blobs: Mutex<HashSet<std::ffi::OsString>>,
}

impl SledFiles {
    /// Opens the files of the database in `sled_dir` (after sled opened it), and syncs the folder that names them.
    pub fn open(sled_dir: &Path) -> io::Result<Self> {
        let log = File::open(sled_dir.join("db"))?;
        File::open(sled_dir)?.sync_all()?;
        Ok(Self { log, blobs: sled_dir.join("blobs"), synced_blobs: Mutex::default() })
    }

    /// Makes durable on the device whatever sled's flushes so far have written.
    pub fn sync(&self) -> io::Result<()> {
        self.log.sync_data()?;
        let entries = match std::fs::read_dir(&self.blobs) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e),
        };
        let mut synced = self.synced_blobs.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut any = false;
        for entry in entries {
            let name = entry?.file_name();
            if synced.contains(&name) {
                continue;
            }
            match File::open(self.blobs.join(&name)) {
                Ok(file) => file.sync_data()?,
                // Collected by sled since it was listed.
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e),
            }
            synced.insert(name);
            any = true;
        }
        if any {
            File::open(&self.blobs)?.sync_all()?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_sled_keeps_as_blob_files_are_synced_once() {
        let dir = tempfile::tempdir().unwrap();
        let db = sled::open(dir.path()).unwrap();
        let files = SledFiles::open(dir.path()).unwrap();
        db.insert("small", vec![1u8; 100]).unwrap();
        db.flush().unwrap();
        files.sync().unwrap();
        assert_eq!(files.synced_blobs.lock().unwrap().len(), 0);
        db.insert("large", vec![2u8; 300 * 1024]).unwrap();
        db.flush().unwrap();
        files.sync().unwrap();
        files.sync().unwrap();
        assert_eq!(
            files.synced_blobs.lock().unwrap().len(),
            std::fs::read_dir(dir.path().join("blobs")).unwrap().count()
        );
        assert!(!files.synced_blobs.lock().unwrap().is_empty());
    }
}
