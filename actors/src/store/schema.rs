//! Which schema a store is in, checked before the database is opened, and the migration of an older store.
//!
//! The version is kept twice: in the database's `meta` tree (the truth, written in the same flushes as the records)
//! and in a small file beside the database, [`VERSION_FILE`], which is read before sled is opened, so a store
//! written by a newer distencode is refused without anything on disk being touched (opening sled writes).
//!
//! A migration is crash-safe by its order: the file's version is raised first (a store with any newer record in it
//! must be refused by older releases), then every record is rewritten in the new schema, flushed and synced, and
//! only then is `meta` raised. Killed half-way, the store holds records of both schemas, which read either way
//! (each is tagged, see [`super::stored`]), and the next open runs the migration again.

use super::stored::{self, SCHEMA};
use super::StoreError;
use std::io::Write;
use std::path::Path;

/// The file beside the database that names its schema version (`3\n`).
pub const VERSION_FILE: &str = "schema-version";

/// The `meta` key of the schema version (a big-endian u32); a store without it is of schema 1.
const META_KEY: &[u8] = b"schema-version";

/// The longest version file read: anything longer is not one.
const MOST_VERSION_FILE_BYTES: u64 = 32;

/// Refuses a store whose version file names a schema newer than this version reads; reads nothing else.
pub fn check_file(dir: &Path) -> Result<(), StoreError> {
    let path = dir.join(VERSION_FILE);
    let text = match std::fs::metadata(&path) {
        Ok(meta) if meta.len() > MOST_VERSION_FILE_BYTES => return Err(unreadable(&path, "too long")),
        Ok(_) => std::fs::read_to_string(&path).map_err(|e| unreadable(&path, &e.to_string()))?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(unreadable(&path, &e.to_string())),
    };
    let version: u32 = text.trim().parse().map_err(|_| unreadable(&path, "not a number"))?;
    refuse_newer(dir, version)
}

fn unreadable(path: &Path, why: &str) -> StoreError {
    StoreError::Schema(format!("{} cannot be read ({why})", path.display()))
}

fn refuse_newer(dir: &Path, version: u32) -> Result<(), StoreError> {
    if version > SCHEMA {
        return Err(StoreError::Schema(format!(
            "the job store in {} has schema version {version}; this distencode reads up to {SCHEMA}: upgrade \
             distencode, or restore a backup",
            dir.display()
        )));
    }
    Ok(())
}

/// The version `meta` records (1 when absent), refused if newer than this version reads.
pub fn check_meta(dir: &Path, meta: &sled::Tree) -> Result<u32, StoreError> {
    let version = match meta.get(META_KEY)? {
        None => 1,
        Some(bytes) => {
            let bytes = <[u8; 4]>::try_from(bytes.as_ref())
                .map_err(|_| StoreError::Corrupt(format!("schema version of {} bytes", bytes.len())))?;
            u32::from_be_bytes(bytes)
        }
    };
    refuse_newer(dir, version)?;
    Ok(version)
}

/// Writes the version file (replacing it whole, synced, so a crash leaves the old one or the new one).
pub fn write_file(dir: &Path) -> Result<(), StoreError> {
    let io = |e: std::io::Error| StoreError::Schema(format!("{}: {e}", dir.join(VERSION_FILE).display()));
    let partial = dir.join(format!("{VERSION_FILE}.partial"));
    let mut file = std::fs::File::create(&partial).map_err(io)?;
    file.write_all(format!("{SCHEMA}\n").as_bytes()).map_err(io)?;
    file.sync_all().map_err(io)?;
    std::fs::rename(&partial, dir.join(VERSION_FILE)).map_err(io)?;
    std::fs::File::open(dir).and_then(|d| d.sync_all()).map_err(io)
}

/// Rewrites every record of `tree` that an older schema wrote, with `rewrite` (decode, then encode as now).
pub fn rewrite_older(tree: &sled::Tree, rewrite: impl Fn(&[u8]) -> Result<Vec<u8>, String>) -> Result<u64, StoreError> {
    let mut rewritten = 0;
    for entry in tree.iter() {
        let (key, bytes) = entry?;
        if stored::version_of(&bytes) < SCHEMA {
            let now = rewrite(&bytes).map_err(|e| StoreError::Corrupt(format!("migrating a record: {e}")))?;
            tree.insert(key, now)?;
            rewritten += 1;
        }
    }
    Ok(rewritten)
}

/// Records in `meta` that every record is now of this schema (after they were flushed).
pub fn write_meta(meta: &sled::Tree) -> Result<(), StoreError> {
    meta.insert(META_KEY, &SCHEMA.to_be_bytes())?;
    Ok(())
}
