//! Stored records: the store's own types for what it keeps on disk, one module per schema version, converted
//! explicitly to and from the wire types. So a change to what nodes send never changes what is on disk, and a
//! record written by any earlier version can still be read.
//!
//! Every record is read through the chain of conversions up to the current schema (v1 → v2 → v3 → v4 → wire), so
//! each schema converts only to the next one.
//!
//! Every record says which schema wrote it: one of schema 2 or later begins with [`TAG`] and its version byte;
//! one of schema 1 (written before versions, see [`v1`]) has no tag, and cannot begin with `0xFF` (a bincode varint
//! never does). So a store that a migration left half-done reads correctly either way.

pub mod audit;
pub mod v1;
pub mod v2;
pub mod v3;
pub mod v4;
pub mod webhook;

use bincode::config::{BigEndian, Configuration, Limit, Varint};
use distencode_wire::job::JobRecord;
use distencode_wire::message::Reservation;
use serde::de::DeserializeOwned;
use serde::Serialize;

/// The schema this version writes, and the newest it reads.
pub const SCHEMA: u32 = 4;

/// The first byte of a tagged record; the second is its schema version.
pub const TAG: u8 = 0xFF;

/// The largest record decoded: a record claiming more (a corrupt length) is an error, not an allocation.
pub const MAX_RECORD_BYTES: usize = 16 * 1024 * 1024;

/// The bincode configuration of every schema (schema 1 used the wire's, which is this one).
type StoredConfig = Configuration<BigEndian, Varint, Limit<MAX_RECORD_BYTES>>;

fn config() -> StoredConfig {
    bincode::config::standard().with_big_endian().with_limit::<MAX_RECORD_BYTES>()
}

/// Which schema wrote a record.
pub fn version_of(bytes: &[u8]) -> u32 {
    match bytes {
        [TAG, version, ..] => u32::from(*version),
        _ => 1,
    }
}

fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, String> {
    let mut bytes = vec![TAG, SCHEMA as u8];
    bincode::serde::encode_into_std_write(value, &mut bytes, config()).map_err(|e| e.to_string())?;
    Ok(bytes)
}

fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, String> {
    let (value, used) = bincode::serde::decode_from_slice(bytes, config()).map_err(|e| e.to_string())?;
    if used != bytes.len() {
        return Err(format!("{} bytes after the record", bytes.len() - used));
    }
    Ok(value)
}

/// The bytes after a tag of this schema.
fn body(bytes: &[u8]) -> &[u8] {
    bytes.get(2..).unwrap_or_default()
}

fn newer(version: u32) -> String {
    format!("a record of schema version {version}; this distencode reads up to {SCHEMA}")
}

pub fn encode_job(record: &JobRecord) -> Result<Vec<u8>, String> {
    encode(&v4::Job::from(record))
}

pub fn decode_job(bytes: &[u8]) -> Result<JobRecord, String> {
    match version_of(bytes) {
        1 => decode::<v1::Job>(bytes).map(|job| v4::Job::from(v3::Job::from(v2::Job::from(job))).into()),
        2 => decode::<v2::Job>(body(bytes)).map(|job| v4::Job::from(v3::Job::from(job)).into()),
        3 => decode::<v3::Job>(body(bytes)).map(|job| v4::Job::from(job).into()),
        4 => decode::<v4::Job>(body(bytes)).map(Into::into),
        version => Err(newer(version)),
    }
}

pub fn encode_reservation(reservation: &Reservation) -> Result<Vec<u8>, String> {
    encode(&v3::Reservation::from(reservation))
}

pub fn decode_reservation(bytes: &[u8]) -> Result<Reservation, String> {
    match version_of(bytes) {
        // Schemas 2, 3 and 4 kept the reservation of schema 1 as it was.
        1 => decode::<v3::Reservation>(bytes).map(Into::into),
        2..=4 => decode::<v3::Reservation>(body(bytes)).map(Into::into),
        version => Err(newer(version)),
    }
}

pub fn encode_drain(drain: &v3::Drain) -> Result<Vec<u8>, String> {
    encode(drain)
}

/// Drains exist from schema 2 on.
pub fn decode_drain(bytes: &[u8]) -> Result<v3::Drain, String> {
    match version_of(bytes) {
        // Schemas 3 and 4 kept the drain of schema 2 as it was.
        2..=4 => decode::<v3::Drain>(body(bytes)),
        1 => Err("a drain record without a schema tag".into()),
        version => Err(newer(version)),
    }
}
