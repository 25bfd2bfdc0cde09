//! melt's log text, kept in append-only segment files beside the database rather than inside it.
//!
//! Stored as sled values, every byte ever logged stayed in the coordinator's memory (`bench logs`: 324 MB of RSS
//! after one 300 MB log, with sled's cache capped at 64 MiB) and went through the B-tree twice. Here the text is
//! appended to a segment file and sled keeps only where each batch is (16 bytes). A batch's bytes are written before
//! its index entry, and synced before its reply, both through the commit thread ([`super::commit`]).
//!
//! Each run of the coordinator appends to a new segment, so an index entry that survived a crash while its bytes did
//! not (sled wrote the entry, the machine stopped before the segment reached the disk) points past the end of a
//! segment that never grows again: such a batch counts as not stored, and the worker's resend stores it anew.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// A segment is closed and the next one begun past this size.
const SEGMENT_BYTES: u64 = 1 << 30;

/// Where one batch's text is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Location {
    pub segment: u32,
    pub offset: u64,
    pub len: u32,
}

impl Location {
    pub fn encode(self) -> [u8; 16] {
        let mut bytes = [0u8; 16];
        bytes[..4].copy_from_slice(&self.segment.to_be_bytes());
        bytes[4..12].copy_from_slice(&self.offset.to_be_bytes());
        bytes[12..].copy_from_slice(&self.len.to_be_bytes());
        bytes
    }

    pub fn decode(bytes: &[u8]) -> Option<Self> {
        let bytes: &[u8; 16] = bytes.try_into().ok()?;
        Some(Self {
            segment: u32::from_be_bytes(bytes[..4].try_into().ok()?),
            offset: u64::from_be_bytes(bytes[4..12].try_into().ok()?),
            len: u32::from_be_bytes(bytes[12..].try_into().ok()?),
        })
    }

    fn end(self) -> u64 {
        self.offset + u64::from(self.len)
    }
}

/// The segment being appended to.
struct Current {
    number: u32,
    file: Arc<File>,
    len: u64,
}

/// The folder of segments; shared by the store and its commit thread.
pub struct LogSegments {
    dir: PathBuf,
    current: Mutex<Current>,
}

impl LogSegments {
    /// Opens `dir` (creating it) and begins a new segment after the highest one there.
    pub fn open(dir: &Path) -> std::io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let mut highest = 0;
        for entry in std::fs::read_dir(dir)? {
            let name = entry?.file_name();
            if let Some(number) = name.to_str().and_then(|n| n.strip_suffix(".seg")).and_then(|n| n.parse().ok()) {
                highest = highest.max(number);
            }
        }
        let current = Self::create(dir, highest + 1)?;
        Ok(Self { dir: dir.to_path_buf(), current: Mutex::new(current) })
    }

    fn path(dir: &Path, number: u32) -> PathBuf {
        dir.join(format!("{number:08}.seg"))
    }

    fn create(dir: &Path, number: u32) -> std::io::Result<Current> {
        let file = OpenOptions::new().create_new(true).append(true).read(true).open(Self::path(dir, number))?;
        // The new name must reach the disk too, or a power cut could lose the file with its synced text.
        File::open(dir)?.sync_all()?;
        Ok(Current { number, file: Arc::new(file), len: 0 })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Current> {
        // A panic while holding the lock leaves the segment as valid as any crash would.
        self.current.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Appends `text` (not yet synced) and says where it is.
    pub fn append(&self, text: &[u8]) -> std::io::Result<Location> {
        let len = u32::try_from(text.len()).map_err(|_| std::io::Error::other("log batch over 4 GiB"))?;
        let mut current = self.lock();
        if current.len >= SEGMENT_BYTES {
            current.file.sync_data()?;
            let next = Self::create(&self.dir, current.number + 1)?;
            *current = next;
        }
        let at = Location { segment: current.number, offset: current.len, len };
        if let Err(e) = (&*current.file).write_all(text) {
            // Whatever part was written stays unreferenced; later batches go after it.
            current.len = current.file.metadata().map(|m| m.len()).unwrap_or(current.len);
            return Err(e);
        }
        current.len += u64::from(len);
        Ok(at)
    }

    /// Makes every append so far durable.
    pub fn sync(&self) -> std::io::Result<()> {
        let file = self.lock().file.clone();
        file.sync_data()
    }

    /// The batch's text, or `None` if its bytes were lost in a crash.
    pub fn read(&self, at: Location) -> std::io::Result<Option<Vec<u8>>> {
        let (file, len) = {
            let current = self.lock();
            if at.segment == current.number {
                (current.file.clone(), current.len)
            } else {
                drop(current);
                let file = match File::open(Self::path(&self.dir, at.segment)) {
                    Ok(file) => file,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
                    Err(e) => return Err(e),
                };
                let len = file.metadata()?.len();
                (Arc::new(file), len)
            }
        };
        // Checked against the segment's length before anything is allocated.
        if at.end() > len {
            return Ok(None);
        }
        let mut text = vec![0u8; at.len as usize];
        file.read_exact_at(&mut text, at.offset)?;
        Ok(Some(text))
    }

    /// Frees the disk space of a batch no index entry points to any more (a deleted job's), leaving a hole that
    /// reads as zeros; the segment keeps its length, so every other batch stays where it is.
    pub fn punch(&self, at: Location) -> std::io::Result<()> {
        let file = {
            let current = self.lock();
            if at.segment == current.number {
                current.file.clone()
            } else {
                drop(current);
                match OpenOptions::new().write(true).open(Self::path(&self.dir, at.segment)) {
                    Ok(file) => Arc::new(file),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
                    Err(e) => return Err(e),
                }
            }
        };
        let flags = rustix::fs::FallocateFlags::PUNCH_HOLE | rustix::fs::FallocateFlags::KEEP_SIZE;
        rustix::fs::fallocate(&*file, flags, at.offset, u64::from(at.len)).map_err(std::io::Error::from)
    }

    /// Whether the batch's bytes are all there (false for one lost in a crash).
    pub fn holds(&self, at: Location) -> std::io::Result<bool> {
        let current = self.lock();
        if at.segment == current.number {
            return Ok(at.end() <= current.len);
        }
        drop(current);
        match std::fs::metadata(Self::path(&self.dir, at.segment)) {
            Ok(meta) => Ok(at.end() <= meta.len()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_run_appends_to_a_new_segment_and_lost_bytes_read_as_missing() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b);
        {
            let segments = LogSegments::open(dir.path()).unwrap();
            a = segments.append(b"first\n").unwrap();
            b = segments.append(b"second\n").unwrap();
            segments.sync().unwrap();
            assert_eq!(segments.read(b).unwrap().unwrap(), b"second\n");
        }
        assert_eq!((a.segment, a.offset, b.offset), (1, 0, 6));
        // As if the machine stopped before the second batch reached the disk.
        let first = LogSegments::path(dir.path(), 1);
        OpenOptions::new().write(true).open(&first).unwrap().set_len(6).unwrap();
        let segments = LogSegments::open(dir.path()).unwrap();
        assert_eq!(segments.read(a).unwrap().unwrap(), b"first\n");
        assert_eq!(segments.read(b).unwrap(), None);
        assert!(segments.holds(a).unwrap() && !segments.holds(b).unwrap());
        let c = segments.append(b"third\n").unwrap();
        assert_eq!((c.segment, c.offset), (2, 0));
        assert_eq!(Location::decode(&c.encode()), Some(c));
        assert_eq!(Location::decode(b"short"), None);
    }
}
