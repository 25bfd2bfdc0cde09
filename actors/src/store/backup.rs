//! A consistent copy of the store's folder (`distencode store backup`, offline or through a running coordinator),
//! and putting one back.
//!
//! sled's files and the log segments are consistent only while nothing writes them. Offline, the copying process
//! holds the store open (sled's lock keeps a coordinator out); online, the JobStore's own thread makes the copy,
//! and it is the only writer, so nothing changes meanwhile (the farm's requests wait for it). Either way every write
//! is made durable first, and the copy goes into a new folder only its owner can read: a data dir holds the web's
//! token and session key.

use super::{JobStore, StoreError};
use distencode_wire::job::JobState;
use std::fs;
use std::io;
use std::os::unix::fs::DirBuilderExt;
use std::path::Path;

impl JobStore {
    /// Copies this store's folder into `to` (a folder that does not exist yet, or an empty one), after making every
    /// write durable; answers what the copy holds, as [`JobStore::summary`] says it.
    pub fn backup_to(&self, to: &Path) -> Result<String, StoreError> {
        let backup = |e: io::Error| StoreError::Backup(format!("the backup into {} failed: {e}", to.display()));
        self.flush()?;
        make_empty_folder(to)?;
        let (store, copy) = (fs::canonicalize(&self.dir).map_err(backup)?, fs::canonicalize(to).map_err(backup)?);
        if copy.starts_with(&store) {
            let _ = fs::remove_dir(to);
            return Err(StoreError::Backup(format!(
                "{} is inside the data dir {}: name a folder outside it",
                to.display(),
                self.dir.display()
            )));
        }
        copy_tree(&self.dir, to).map_err(backup)?;
        Ok(self.summary())
    }

    /// How many jobs the store holds, by whether they are finished: `120 jobs (3 unfinished, 110 succeeded)`.
    pub fn summary(&self) -> String {
        let total = self.index.len();
        let counts = |states: &[JobState]| states.iter().map(|s| self.index.count(*s)).sum::<u64>();
        let unfinished = counts(&[JobState::Queued, JobState::Offered, JobState::Running]);
        let succeeded = counts(&[JobState::Succeeded]);
        format!("{total} jobs ({unfinished} unfinished, {succeeded} succeeded)")
    }
}

/// `dir` as a new folder only its owner reads, or an existing empty one; a folder that holds anything is refused.
pub fn make_empty_folder(dir: &Path) -> Result<(), StoreError> {
    let failed = |e: io::Error| StoreError::Backup(format!("cannot make {}: {e}", dir.display()));
    match fs::read_dir(dir).map(|mut entries| entries.next().is_some()) {
        Ok(true) => {
            Err(StoreError::Backup(format!("{} is not empty: name a new folder (nothing was copied)", dir.display())))
        }
        Ok(false) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            fs::DirBuilder::new().recursive(true).mode(0o700).create(dir).map_err(failed)
        }
        Err(e) => Err(failed(e)),
    }
}

/// How deep folders may nest in what is copied: a data dir nests two deep (`jobs.sled/blobs`), so a deeper tree
/// is no backup, and the walk stays bounded whatever folder a restore is pointed at.
const MAX_COPY_DEPTH: usize = 8;

/// Copies the folders and regular files under `from` into `to` (which exists), keeping their modes, each synced;
/// links and anything else are left out (a data dir has none). Folders nested past [`MAX_COPY_DEPTH`] are refused.
pub fn copy_tree(from: &Path, to: &Path) -> io::Result<()> {
    copy_within(from, to, 0)
}

fn copy_within(from: &Path, to: &Path, depth: usize) -> io::Result<()> {
    if depth > MAX_COPY_DEPTH {
        let why = format!("{} is nested more than {MAX_COPY_DEPTH} folders deep: not a data dir", from.display());
        return Err(io::Error::new(io::ErrorKind::InvalidInput, why));
    }
    for entry in fs::read_dir(from)? {
        let entry = entry?;
        let (source, target) = (entry.path(), to.join(entry.file_name()));
        let kind = entry.file_type()?;
        if kind.is_dir() {
            fs::create_dir(&target)?;
            fs::set_permissions(&target, fs::metadata(&source)?.permissions())?;
            copy_within(&source, &target, depth + 1)?;
        } else if kind.is_file() {
            fs::copy(&source, &target)?;
            fs::File::open(&target)?.sync_all()?;
        }
    }
    fs::File::open(to)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tree_is_copied_with_its_files_and_one_nested_too_deep_is_refused() {
        let (from, to) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        fs::create_dir_all(from.path().join("jobs.sled/blobs")).unwrap();
        fs::write(from.path().join("jobs.sled/db"), b"records").unwrap();
        fs::write(from.path().join("schema-version"), b"4\n").unwrap();
        copy_tree(from.path(), to.path()).unwrap();
        assert_eq!(fs::read(to.path().join("jobs.sled/db")).unwrap(), b"records");
        assert!(to.path().join("jobs.sled/blobs").is_dir());

        let deep = from.path().join((0..=MAX_COPY_DEPTH).map(|i| format!("d{i}")).collect::<Vec<_>>().join("/"));
        fs::create_dir_all(&deep).unwrap();
        let again = tempfile::tempdir().unwrap();
        let refused = copy_tree(from.path(), again.path()).unwrap_err();
        assert!(refused.to_string().ends_with("is nested more than 8 folders deep: not a data dir"), "{refused}");
    }
}
