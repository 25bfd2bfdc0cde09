//! JobStore: the coordinator's durable record of every job, and the only code that touches the database.
//!
//! It is a synchronous actor on its own thread (a `SyncArbiter`), because sled's reads, writes and flushes block:
//! keeping them here keeps the Coordinator's thread free. Every change is applied through the state machine in
//! [`machine`] and flushed to disk before the reply leaves, so whatever the coordinator acknowledges survives a
//! `kill -9`. Log batches are keyed by job, attempt and the worker's batch number, so a batch sent twice (after a
//! reconnection) is stored once.

pub mod machine;
mod messages;

pub use machine::{Change, TransitionError};
pub use messages::*;

use actix::{Actor, Handler, SyncContext};
use distencode_wire::frame;
use distencode_wire::job::{now_ms, JobId, JobRecord, JobSpec, JobState};
use distencode_wire::message::Reservation;
use std::path::Path;

/// Why the store could not do what it was asked.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("job store: {0}")]
    Db(#[from] sled::Error),
    #[error("job store: a record could not be read: {0}")]
    Corrupt(String),
    #[error("no job {0}")]
    NoSuchJob(JobId),
    #[error("job {id}: {error}")]
    Refused { id: JobId, error: TransitionError },
    #[error("the job store is not running")]
    Gone,
}

/// The actor. Open it with [`JobStore::open`], then start it with `SyncArbiter::start(1, ...)`; clones share the
/// same database.
#[derive(Clone)]
pub struct JobStore {
    db: sled::Db,
    /// id (big-endian u64) → bincode `JobRecord`.
    jobs: sled::Tree,
    /// id, attempt, sequence (big-endian) → a chunk of log text.
    logs: sled::Tree,
    /// worker name → bincode `Reservation`.
    reservations: sled::Tree,
    /// The next record revision (shared by the clones the arbiter makes).
    revisions: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl JobStore {
    /// Opens (or creates) the store in `dir`.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        let db = sled::Config::new().path(dir.join("jobs.sled")).open()?;
        let jobs = db.open_tree("jobs")?;
        let logs = db.open_tree("logs")?;
        let reservations = db.open_tree("reservations")?;
        let mut store = Self { db, jobs, logs, reservations, revisions: Default::default() };
        // Revisions go on from the highest one recorded, so a record written now is newer than any before it.
        let highest = store.all()?.iter().map(|r| r.revision).max().unwrap_or(0);
        store.revisions = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(highest + 1));
        Ok(store)
    }

    /// One job's record.
    pub fn get(&self, id: JobId) -> Result<JobRecord, StoreError> {
        let bytes = self.jobs.get(id.0.to_be_bytes())?.ok_or(StoreError::NoSuchJob(id))?;
        frame::decode(&bytes).map_err(|e| StoreError::Corrupt(format!("job {id}: {e}")))
    }

    fn put(&self, record: &mut JobRecord) -> Result<(), StoreError> {
        record.revision = self.revisions.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let bytes = frame::encode(record).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        self.jobs.insert(record.id.0.to_be_bytes(), bytes.as_ref())?;
        self.db.flush()?;
        Ok(())
    }

    fn all(&self) -> Result<Vec<JobRecord>, StoreError> {
        self.jobs
            .iter()
            .values()
            .map(|bytes| {
                let bytes = bytes?;
                frame::decode(&bytes).map_err(|e| StoreError::Corrupt(e.to_string()))
            })
            .collect()
    }

    fn log_key(id: JobId, attempt: u32, seq: u64) -> [u8; 20] {
        let mut key = [0u8; 20];
        key[..8].copy_from_slice(&id.0.to_be_bytes());
        key[8..12].copy_from_slice(&attempt.to_be_bytes());
        key[12..].copy_from_slice(&seq.to_be_bytes());
        key
    }
}

impl Actor for JobStore {
    type Context = SyncContext<Self>;
}

// === Operations (the handlers below only forward to these) ===

impl JobStore {
    /// Records a new queued job.
    pub fn create(&mut self, spec: JobSpec, submitted_by: String) -> Result<JobRecord, StoreError> {
        let id = JobId(self.db.generate_id()? + 1);
        let mut record = JobRecord {
            id,
            state: JobState::Queued,
            project: spec.project,
            output: spec.output,
            encoding: spec.encoding,
            priority: spec.priority,
            melt_log: spec.melt_log,
            services: spec.services,
            submitted_by,
            submitted_at: now_ms(),
            finished_at: None,
            worker: None,
            attempts: Vec::new(),
            error: None,
            facts: None,
            progress: None,
            revision: 0,
            retried_at: 0,
        };
        self.put(&mut record)?;
        Ok(record)
    }

    /// Applies one change through the state machine and flushes it.
    pub fn change(&mut self, id: JobId, change: Change) -> Result<JobRecord, StoreError> {
        let mut record = self.get(id)?;
        machine::apply(&mut record, change, now_ms()).map_err(|error| StoreError::Refused { id, error })?;
        self.put(&mut record)?;
        Ok(record)
    }

    /// All jobs, oldest first.
    pub fn list(&self, unfinished_only: bool) -> Result<Vec<JobRecord>, StoreError> {
        let mut jobs = self.all()?;
        if unfinished_only {
            jobs.retain(|job| !job.state.is_final());
        }
        Ok(jobs)
    }

    /// Stores one log batch under its attempt and number, flushed.
    pub fn append_log(&mut self, id: JobId, attempt: u32, seq: u64, text: &str) -> Result<(), StoreError> {
        self.logs.insert(Self::log_key(id, attempt, seq), text.as_bytes())?;
        self.db.flush()?;
        Ok(())
    }

    /// Log text after `after`, up to about `max_bytes` (at least one batch), and the cursor of the last batch read.
    pub fn read_log(
        &self,
        id: JobId,
        after: Option<LogCursor>,
        max_bytes: usize,
    ) -> Result<(String, Option<LogCursor>), StoreError> {
        self.get(id)?;
        let start = match after {
            Some((attempt, seq)) => match seq.checked_add(1) {
                Some(next) => Self::log_key(id, attempt, next),
                None => Self::log_key(id, attempt.saturating_add(1), 0),
            },
            None => Self::log_key(id, 0, 0),
        };
        let end = Self::log_key(id, u32::MAX, u64::MAX);
        let mut text = String::new();
        let mut cursor = after;
        for entry in self.logs.range(start..=end) {
            let (key, value) = entry?;
            if !text.is_empty() && text.len() + value.len() > max_bytes {
                break;
            }
            text.push_str(&String::from_utf8_lossy(&value));
            let mut attempt = [0u8; 4];
            attempt.copy_from_slice(&key[8..12]);
            let mut seq = [0u8; 8];
            seq.copy_from_slice(&key[12..20]);
            cursor = Some((u32::from_be_bytes(attempt), u64::from_be_bytes(seq)));
        }
        Ok((text, cursor))
    }
}

// === Reservations ===

impl JobStore {
    /// Records (or, with `None`, removes) a worker's reservation, flushed.
    pub fn save_reservation(&mut self, worker: &str, reservation: Option<&Reservation>) -> Result<(), StoreError> {
        match reservation {
            Some(r) => {
                let bytes = frame::encode(r).map_err(|e| StoreError::Corrupt(e.to_string()))?;
                self.reservations.insert(worker.as_bytes(), bytes.as_ref())?;
            }
            None => {
                self.reservations.remove(worker.as_bytes())?;
            }
        }
        self.db.flush()?;
        Ok(())
    }

    /// Every recorded reservation.
    pub fn reservations(&self) -> Result<Vec<(String, Reservation)>, StoreError> {
        self.reservations
            .iter()
            .map(|entry| {
                let (name, bytes) = entry?;
                let reservation = frame::decode(&bytes).map_err(|e| StoreError::Corrupt(e.to_string()))?;
                Ok((String::from_utf8_lossy(&name).into_owned(), reservation))
            })
            .collect()
    }
}

// === Handlers ===

impl Handler<SaveReservation> for JobStore {
    type Result = Result<(), StoreError>;
    fn handle(&mut self, msg: SaveReservation, _: &mut Self::Context) -> Self::Result {
        self.save_reservation(&msg.worker, msg.reservation.as_ref())
    }
}

impl Handler<LoadReservations> for JobStore {
    type Result = Result<Vec<(String, Reservation)>, StoreError>;
    fn handle(&mut self, _: LoadReservations, _: &mut Self::Context) -> Self::Result {
        self.reservations()
    }
}

impl Handler<CreateJob> for JobStore {
    type Result = Result<JobRecord, StoreError>;
    fn handle(&mut self, msg: CreateJob, _: &mut Self::Context) -> Self::Result {
        self.create(msg.spec, msg.submitted_by)
    }
}

impl Handler<ApplyChange> for JobStore {
    type Result = Result<JobRecord, StoreError>;
    fn handle(&mut self, msg: ApplyChange, _: &mut Self::Context) -> Self::Result {
        self.change(msg.id, msg.change)
    }
}

impl Handler<GetJob> for JobStore {
    type Result = Result<JobRecord, StoreError>;
    fn handle(&mut self, msg: GetJob, _: &mut Self::Context) -> Self::Result {
        self.get(msg.0)
    }
}

impl Handler<ListJobs> for JobStore {
    type Result = Result<Vec<JobRecord>, StoreError>;
    fn handle(&mut self, msg: ListJobs, _: &mut Self::Context) -> Self::Result {
        self.list(msg.unfinished_only)
    }
}

impl Handler<AppendLog> for JobStore {
    type Result = Result<(), StoreError>;
    fn handle(&mut self, msg: AppendLog, _: &mut Self::Context) -> Self::Result {
        self.append_log(msg.id, msg.attempt, msg.seq, &msg.text)
    }
}

impl Handler<ReadLog> for JobStore {
    type Result = Result<(String, Option<LogCursor>), StoreError>;
    fn handle(&mut self, msg: ReadLog, _: &mut Self::Context) -> Self::Result {
        self.read_log(msg.id, msg.after, msg.max_bytes)
    }
}

#[cfg(test)]
mod tests;
