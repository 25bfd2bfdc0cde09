//! JobStore: the coordinator's durable record of every job, and the only code that touches the database.
//!
//! It is a synchronous actor on its own thread (a `SyncArbiter` of one thread), because sled's reads and writes
//! block: keeping them here keeps the Coordinator's thread free. Every change is applied through the state machine
//! in [`machine`], and its reply leaves only once a flush has made it durable ([`commit`]: one flush for every change
//! waiting, on a thread of its own), so whatever the coordinator acknowledges survives a `kill -9`. Log batches are
//! keyed by job, attempt and the worker's batch number, so a batch sent twice (after a reconnection) is stored once.
//! An index of unfinished jobs lets a restarted coordinator read only those, however long the store's history; an
//! in-memory summary of every job ([`index`]) lets a page of the job list read only that page's records.

pub mod audit;
pub mod backup;
mod commit;
mod delete;
mod fault;
pub mod index;
mod log_segments;
pub mod machine;
mod messages;
mod recover;
mod schema;
mod sled_files;
pub mod stored;
mod thumbnails;
pub mod webhooks;

pub use audit::{record_refusal, Audited, PruneAudit, ReadAudit, RecordAudit};
pub use commit::Durable;
pub use fault::{WriteFault, INJECTED};
pub use index::{JobFilter, JobIndex, JobOrder, JobPage};
pub use machine::{Change, TransitionError};
pub use messages::*;
pub use recover::{sled_snapshots, IdSource, Recovered};
pub use thumbnails::THUMBNAIL_V1;
pub use webhooks::{AddWebhook, Delivered, Due, DueDeliveries, Enqueue, ListWebhooks, ReadWebhook, RemoveWebhook};

use crate::metrics::Metrics;
use commit::CommitQueue;
use log_segments::{Location, LogSegments};
use sled_files::SledFiles;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use actix::{Actor, Handler, SyncContext};
use distencode_wire::job::{now_ms, JobId, JobRecord, JobSpec, JobState};
use distencode_wire::message::Reservation;
use std::path::{Path, PathBuf};

/// Why the store could not do what it was asked.
#[derive(Clone, Debug, thiserror::Error)]
pub enum StoreError {
    #[error("job store: {0}")]
    Db(#[from] sled::Error),
    #[error("job store: a record could not be read: {0}")]
    Corrupt(String),
    #[error("job store: log files: {0}")]
    Logs(String),
    #[error("job store: syncing the database files: {0}")]
    Sync(String),
    /// A store of a schema this version cannot read, or whose version cannot be read: the text is the whole line.
    #[error("{0}")]
    Schema(String),
    #[error("no job {0}")]
    NoSuchJob(JobId),
    /// Only a finished job may be deleted.
    #[error("job {id} is {state}: cancel it first")]
    Live { id: JobId, state: JobState },
    #[error("{}", refusal(*.id, .error))]
    Refused { id: JobId, error: TransitionError },
    #[error("the job store is not running")]
    Gone,
    #[error("no webhook {0}")]
    NoSuchWebhook(u64),
    /// A webhook refused by a cap: the text is the whole line.
    #[error("{0}")]
    Webhook(String),
    /// A backup that could not be made: the text is the whole line, naming the folder.
    #[error("{0}")]
    Backup(String),
}

/// The actor. Open it with [`JobStore::open`], then start it with `SyncArbiter::start(1, ...)` (one thread: the
/// order of replies relies on it); clones share the same database.
#[derive(Clone)]
pub struct JobStore {
    /// The data directory (the database and the log segments are in it).
    dir: PathBuf,
    db: sled::Db,
    /// id (big-endian u64) → a stored job record ([`stored`]).
    jobs: sled::Tree,
    /// id (big-endian u64) → nothing, for every job not in a final state.
    unfinished: sled::Tree,
    /// Log text as older versions kept it (id, attempt, sequence → text); moved into segments at open.
    legacy_logs: sled::Tree,
    /// id, attempt, sequence (big-endian) → where that batch's text is in the log segments.
    log_index: sled::Tree,
    segments: Arc<LogSegments>,
    /// sled's files, synced for real after each flush.
    disk: Arc<SledFiles>,
    /// worker name → a stored reservation.
    reservations: sled::Tree,
    /// worker name → a stored drain.
    drains: sled::Tree,
    /// id (big-endian u64) → the job's poster frame, a versioned record ([`thumbnails`]).
    thumbnails: sled::Tree,
    /// sequence number (big-endian u64) → an audit entry, a versioned record of its own ([`audit`]).
    audit: sled::Tree,
    /// The sequence number the next audit entry gets.
    next_audit: Arc<AtomicU64>,
    /// webhook id (big-endian u64) → a stored webhook ([`stored::webhook`]).
    webhooks: sled::Tree,
    /// sequence number (big-endian u64) → a delivery waiting to be sent ([`webhooks`]).
    outbox: sled::Tree,
    /// webhook id, sequence number (big-endian u64s) → one attempt at a delivery, the newest few per webhook.
    webhook_sent: sled::Tree,
    /// Every delivery of `outbox` as (when it is due, its key), read once at open: what is due is found without
    /// reading the deliveries that are not, and their count without a scan (against `webhooks::MAX_OUTBOX`).
    outbox_schedule: Arc<std::sync::Mutex<std::collections::BTreeSet<(u64, u64)>>>,
    /// The sequence number the next delivery or attempt gets (from the clock at open: see [`webhooks`]).
    next_webhook_seq: Arc<AtomicU64>,
    /// Facts about the store itself (its schema version, which indexes it has).
    meta: sled::Tree,
    commits: CommitQueue,
    /// Off unless a test sets it ([`JobStore::write_fault`]).
    fault: WriteFault,
    /// The coordinator's metrics, made with the store (see [`JobStore::metrics`]).
    metrics: Metrics,
    /// Every job's summary, for pages of the job list (and the metrics' jobs by state).
    index: JobIndex,
    /// The id the next job gets: one past the highest id ever given. The job's own record is what makes it durable
    /// (at open it is one past the highest key of `jobs`, or past [`ID_FLOOR`] once the highest jobs were deleted),
    /// so ids run 1, 2, 3, ... across any stop, unlike sled's `generate_id`, which jumps by a million after an
    /// unclean one.
    next_id: Arc<AtomicU64>,
}

/// sled's page cache (its default, 1 GiB, would let the coordinator's memory grow with every log it stores).
const CACHE_BYTES: u64 = 64 * 1024 * 1024;

/// In `meta`: no job id below this (a big-endian u64) is given again, though its job may have been deleted.
const ID_FLOOR: &[u8] = b"id-floor";

/// Present in `meta` once the unfinished index covers every job.
const UNFINISHED_INDEXED: &[u8] = b"unfinished-indexed";

/// How long [`JobStore::open`] waits for a database whose lock is held. A store closed in this process keeps its
/// lock until sled's flusher thread notices (within its 500 ms interval); a second coordinator on the same data dir
/// holds it for good and is reported once this has passed.
const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// Opens sled's database at `path`, waiting up to [`LOCK_WAIT`] while its lock is held.
fn open_db(path: &Path) -> sled::Result<sled::Db> {
    let deadline = std::time::Instant::now() + LOCK_WAIT;
    loop {
        match sled::Config::new().path(path).cache_capacity(CACHE_BYTES).open() {
            Err(sled::Error::Io(e))
                if e.to_string().contains("could not acquire lock") && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            opened => return opened,
        }
    }
}

impl JobStore {
    /// Opens (or creates) the store in `dir`, migrating one of an older schema; refuses one of a newer schema
    /// before anything on disk is changed.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        schema::check_file(dir)?;
        let db = open_db(&dir.join("jobs.sled"))?;
        let meta = db.open_tree("meta")?;
        let version = schema::check_meta(dir, &meta)?;
        let segments = Arc::new(LogSegments::open(&dir.join("logs")).map_err(log_error)?);
        let disk = Arc::new(SledFiles::open(&dir.join("jobs.sled")).map_err(sync_error)?);
        let metrics = Metrics::new();
        let audit = db.open_tree("audit")?;
        let next_audit = Arc::new(AtomicU64::new(Self::first_free_audit_key(&audit)?));
        let outbox = db.open_tree("outbox")?;
        let store = Self {
            dir: dir.to_path_buf(),
            jobs: db.open_tree("jobs")?,
            unfinished: db.open_tree("unfinished")?,
            legacy_logs: db.open_tree("logs")?,
            log_index: db.open_tree("log-index")?,
            reservations: db.open_tree("reservations")?,
            drains: db.open_tree("drains")?,
            thumbnails: db.open_tree("thumbnails")?,
            audit,
            next_audit,
            webhooks: db.open_tree("webhooks")?,
            outbox_schedule: Arc::new(webhooks::schedule_of(&outbox)?.into()),
            outbox,
            webhook_sent: db.open_tree("webhook-sent")?,
            next_webhook_seq: Arc::new(AtomicU64::new(now_ms().saturating_mul(1000))),
            meta,
            commits: CommitQueue::start(db.clone(), disk.clone(), segments.clone(), metrics.clone())
                .map_err(log_error)?,
            metrics,
            index: JobIndex::default(),
            disk,
            segments,
            db,
            fault: WriteFault::default(),
            next_id: Arc::default(),
        };
        store.next_id.store(store.first_free_id()?, Ordering::Relaxed);
        if version < stored::SCHEMA {
            store.migrate(version)?;
        } else if !dir.join(schema::VERSION_FILE).exists() {
            schema::write_file(dir)?;
        }
        store.index_unfinished()?;
        store.move_legacy_logs()?;
        store.build_index()?;
        Ok(store)
    }

    /// One past the highest id given so far: past the highest job's, and past the floor that deletions leave.
    fn first_free_id(&self) -> Result<u64, StoreError> {
        let highest = match self.jobs.last()? {
            Some((key, _)) => u64::from_be_bytes(
                key.as_ref().try_into().map_err(|_| StoreError::Corrupt(format!("job key of {} bytes", key.len())))?,
            ),
            None => 0,
        };
        let floor = match self.meta.get(ID_FLOOR)? {
            Some(bytes) => u64::from_be_bytes(
                bytes
                    .as_ref()
                    .try_into()
                    .map_err(|_| StoreError::Corrupt(format!("id floor of {} bytes", bytes.len())))?,
            ),
            None => 0,
        };
        Ok(highest.max(floor.saturating_sub(1)).saturating_add(1))
    }

    /// Rewrites every record of an older schema in this one (see [`schema`] for why in this order).
    fn migrate(&self, from: u32) -> Result<(), StoreError> {
        schema::write_file(&self.dir)?;
        let jobs = schema::rewrite_older(&self.jobs, |b| stored::encode_job(&stored::decode_job(b)?))?;
        let reservations =
            schema::rewrite_older(&self.reservations, |b| stored::encode_reservation(&stored::decode_reservation(b)?))?;
        let drains = schema::rewrite_older(&self.drains, |b| stored::encode_drain(&stored::decode_drain(b)?))?;
        self.flush()?;
        schema::write_meta(&self.meta)?;
        self.flush()?;
        if jobs + reservations + drains > 0 {
            tracing::info!(from, to = stored::SCHEMA, jobs, reservations, drains, "job store migrated");
        }
        Ok(())
    }

    /// Moves log text kept inside the database by older versions into the segments (once).
    fn move_legacy_logs(&self) -> Result<(), StoreError> {
        if self.legacy_logs.is_empty() {
            return Ok(());
        }
        for entry in self.legacy_logs.iter() {
            let (key, text) = entry?;
            let at = self.segments.append(&text).map_err(log_error)?;
            self.log_index.insert(key, &at.encode())?;
        }
        self.flush()?;
        self.legacy_logs.clear()?;
        self.flush()
    }

    /// Builds the unfinished index of a store written before it existed (once).
    fn index_unfinished(&self) -> Result<(), StoreError> {
        if self.meta.contains_key(UNFINISHED_INDEXED)? {
            return Ok(());
        }
        for record in self.all()? {
            if !record.state.is_final() {
                self.unfinished.insert(record.id.0.to_be_bytes(), &[])?;
            }
        }
        self.meta.insert(UNFINISHED_INDEXED, &[])?;
        self.flush()
    }

    /// Reads every record once into the job list's index, and sets the metrics' jobs by state from it.
    fn build_index(&self) -> Result<(), StoreError> {
        for bytes in self.jobs.iter().values() {
            let record = stored::decode_job(&bytes?).map_err(StoreError::Corrupt)?;
            self.index.put(&record);
        }
        for state in index::STATES {
            self.metrics.set_jobs(state, self.index.count(state));
        }
        Ok(())
    }

    /// Counts a job's move from `before` (`None`: a new job) to `after` (`None`: deleted) in the metrics.
    fn count_move(&self, before: Option<JobState>, after: Option<JobState>) {
        if before == after {
            return;
        }
        for state in [before, after].into_iter().flatten() {
            self.metrics.set_jobs(state, self.index.count(state));
        }
    }

    /// Makes every write so far durable (the actor's replies do this through the commit thread).
    pub fn flush(&self) -> Result<(), StoreError> {
        self.segments.sync().map_err(log_error)?;
        self.db.flush()?;
        self.disk.sync().map_err(sync_error)?;
        Ok(())
    }

    /// The metrics of the coordinator of this store: one set per data directory, fed by the store, the Coordinator
    /// and the WorkerRegistry.
    pub fn metrics(&self) -> Metrics {
        self.metrics.clone()
    }

    /// A test hook: the switch that makes the next write fail (see [`WriteFault`]).
    pub fn write_fault(&self) -> WriteFault {
        self.fault.clone()
    }

    /// One job's record.
    pub fn get(&self, id: JobId) -> Result<JobRecord, StoreError> {
        let bytes = self.jobs.get(id.0.to_be_bytes())?.ok_or(StoreError::NoSuchJob(id))?;
        stored::decode_job(&bytes).map_err(|e| StoreError::Corrupt(format!("job {id}: {e}")))
    }

    /// Writes a record (not yet flushed) with its next revision, and keeps the unfinished index in step where the
    /// job's finality changes (`was_unfinished`: `None` for a new job). The index is written before a job becomes
    /// unfinished and after it becomes final, so an entry can be stale but never missing; [`JobStore::list`] skips
    /// stale ones. (A sled transaction across both trees costs a log write of its own at every change.)
    fn put(&self, record: &mut JobRecord, was_unfinished: Option<bool>) -> Result<(), StoreError> {
        self.fault.check()?;
        record.revision += 1;
        let bytes = stored::encode_job(record).map_err(StoreError::Corrupt)?;
        let key = record.id.0.to_be_bytes();
        let unfinished = !record.state.is_final();
        if unfinished && was_unfinished != Some(true) {
            self.unfinished.insert(key, &[])?;
        }
        self.jobs.insert(key, bytes)?;
        let before = self.index.put(record);
        self.count_move(before, Some(record.state));
        if !unfinished && was_unfinished != Some(false) {
            self.unfinished.remove(key)?;
        }
        Ok(())
    }

    fn all(&self) -> Result<Vec<JobRecord>, StoreError> {
        self.jobs
            .iter()
            .values()
            .map(|bytes| {
                let bytes = bytes?;
                stored::decode_job(&bytes).map_err(StoreError::Corrupt)
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

/// A refused change as one line: `job N: why` (a refusal that names the job already is left as it is).
fn refusal(id: JobId, error: &TransitionError) -> String {
    match error {
        TransitionError::Finishing { .. } => error.to_string(),
        TransitionError::NotAllowed { state, action } => format!("job {id} is {state}: cannot {action}"),
        _ => format!("job {id}: {error}"),
    }
}

/// An error of syncing sled's files, as a store error.
pub(crate) fn sync_error(e: std::io::Error) -> StoreError {
    StoreError::Sync(e.to_string())
}

/// An error of the log segment files (or of starting the commit thread), as a store error.
fn log_error(e: std::io::Error) -> StoreError {
    StoreError::Logs(e.to_string())
}

impl Actor for JobStore {
    type Context = SyncContext<Self>;
}

// === Operations (the handlers below only forward to these) ===

impl JobStore {
    /// Records a new queued job.
    pub fn create(&self, spec: JobSpec, submitted_by: String) -> Result<JobRecord, StoreError> {
        let id = JobId(self.next_id.fetch_add(1, Ordering::Relaxed));
        let mut record = JobRecord::queued(id, spec, submitted_by, now_ms());
        if let Err(e) = self.put(&mut record, None) {
            // Nothing was written: the id is given to the next job instead, so ids stay dense.
            let next = id.0.saturating_add(1);
            let _ = self.next_id.compare_exchange(next, id.0, Ordering::Relaxed, Ordering::Relaxed);
            return Err(e);
        }
        Ok(record)
    }

    /// Applies one change through the state machine (not yet flushed), and what it does to the job's poster frame
    /// ([`thumbnails`]).
    pub fn change(&self, id: JobId, change: Change) -> Result<JobRecord, StoreError> {
        let poster = self.poster_after(&change)?;
        self.apply(id, change, poster)
    }

    /// All jobs, oldest first; with `unfinished_only`, only those not in a final state (read through the index).
    pub fn list(&self, unfinished_only: bool) -> Result<Vec<JobRecord>, StoreError> {
        if !unfinished_only {
            return self.all();
        }
        let mut jobs = Vec::new();
        for key in self.unfinished.iter().keys() {
            let key = key?;
            let id = <[u8; 8]>::try_from(key.as_ref())
                .map_err(|_| StoreError::Corrupt(format!("unfinished index key of {} bytes", key.len())))?;
            match self.get(JobId(u64::from_be_bytes(id))) {
                Ok(record) if !record.state.is_final() => jobs.push(record),
                // A stale entry (a crash between the record and its index): nothing to recover.
                Ok(_) | Err(StoreError::NoSuchJob(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(jobs)
    }

    /// One page of the job list: the index finds its ids, and only their records are read.
    pub fn query(&self, filter: &JobFilter) -> Result<JobPage, StoreError> {
        let (ids, total, page) = self.index.query(filter);
        let mut jobs = Vec::with_capacity(ids.len());
        for id in ids {
            match self.get(id) {
                Ok(record) => jobs.push(record),
                Err(StoreError::NoSuchJob(_)) => {}
                Err(e) => return Err(e),
            }
        }
        let pages = total.div_ceil(filter.per_page.clamp(1, index::MAX_PAGE_JOBS)).max(1);
        Ok(JobPage { jobs, total, page, pages, queue_positions: Vec::new() })
    }

    /// Stores one log batch under its attempt and number (not yet synced); a batch already stored is not stored
    /// again.
    pub fn append_log(&self, id: JobId, attempt: u32, seq: u64, text: &str) -> Result<(), StoreError> {
        self.fault.check()?;
        let key = Self::log_key(id, attempt, seq);
        if let Some(at) = self.log_index.get(key)?.as_deref().and_then(Location::decode) {
            if self.segments.holds(at).map_err(log_error)? {
                return Ok(());
            }
        }
        let at = self.segments.append(text.as_bytes()).map_err(log_error)?;
        self.log_index.insert(key, &at.encode())?;
        self.metrics.logged(text.len());
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
        for entry in self.log_index.range(start..=end) {
            let (key, value) = entry?;
            let at = Location::decode(&value).ok_or_else(|| StoreError::Corrupt(format!("job {id}: log index")))?;
            if !text.is_empty() && text.len() + at.len as usize > max_bytes {
                break;
            }
            // A batch whose bytes a crash lost (and the worker then sent again under a new entry) is skipped.
            let Some(value) = self.segments.read(at).map_err(log_error)? else {
                continue;
            };
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
    /// Records (or, with `None`, removes) a worker's reservation (not yet flushed).
    pub fn save_reservation(&self, worker: &str, reservation: Option<&Reservation>) -> Result<(), StoreError> {
        self.fault.check()?;
        match reservation {
            Some(r) => {
                let bytes = stored::encode_reservation(r).map_err(StoreError::Corrupt)?;
                self.reservations.insert(worker.as_bytes(), bytes)?;
            }
            None => {
                self.reservations.remove(worker.as_bytes())?;
            }
        }
        Ok(())
    }

    /// Every recorded reservation.
    pub fn reservations(&self) -> Result<Vec<(String, Reservation)>, StoreError> {
        self.reservations
            .iter()
            .map(|entry| {
                let (name, bytes) = entry?;
                let reservation = stored::decode_reservation(&bytes).map_err(StoreError::Corrupt)?;
                Ok((String::from_utf8_lossy(&name).into_owned(), reservation))
            })
            .collect()
    }

    /// Records that a worker drains (or, with `false`, that it no longer does) (not yet flushed).
    pub fn save_drain(&self, worker: &str, draining: bool) -> Result<(), StoreError> {
        self.fault.check()?;
        if draining {
            let bytes = stored::encode_drain(&stored::v3::Drain { since: now_ms() }).map_err(StoreError::Corrupt)?;
            self.drains.insert(worker.as_bytes(), bytes)?;
        } else {
            self.drains.remove(worker.as_bytes())?;
        }
        Ok(())
    }

    /// Every worker recorded as draining.
    pub fn drains(&self) -> Result<Vec<String>, StoreError> {
        self.drains
            .iter()
            .map(|entry| {
                let (name, bytes) = entry?;
                stored::decode_drain(&bytes).map_err(StoreError::Corrupt)?;
                Ok(String::from_utf8_lossy(&name).into_owned())
            })
            .collect()
    }
}

// === Handlers: each answers through the commit thread, once what it wrote (or read) is durable ===

impl Handler<SaveReservation> for JobStore {
    type Result = Durable<()>;
    fn handle(&mut self, msg: SaveReservation, _: &mut Self::Context) -> Self::Result {
        Durable::wrote(&self.commits, self.save_reservation(&msg.worker, msg.reservation.as_ref()))
    }
}

impl Handler<SaveDrain> for JobStore {
    type Result = Durable<()>;
    fn handle(&mut self, msg: SaveDrain, _: &mut Self::Context) -> Self::Result {
        Durable::wrote(&self.commits, self.save_drain(&msg.worker, msg.draining))
    }
}

impl Handler<LoadDrains> for JobStore {
    type Result = Durable<Vec<String>>;
    fn handle(&mut self, _: LoadDrains, _: &mut Self::Context) -> Self::Result {
        Durable::read(&self.commits, self.drains())
    }
}

impl Handler<LoadReservations> for JobStore {
    type Result = Durable<Vec<(String, Reservation)>>;
    fn handle(&mut self, _: LoadReservations, _: &mut Self::Context) -> Self::Result {
        Durable::read(&self.commits, self.reservations())
    }
}

impl Handler<CreateJob> for JobStore {
    type Result = Durable<JobRecord>;
    fn handle(&mut self, msg: CreateJob, _: &mut Self::Context) -> Self::Result {
        Durable::wrote(&self.commits, self.create(msg.spec, msg.submitted_by))
    }
}

impl Handler<ApplyChange> for JobStore {
    type Result = Durable<JobRecord>;
    fn handle(&mut self, msg: ApplyChange, _: &mut Self::Context) -> Self::Result {
        Durable::wrote(&self.commits, self.change(msg.id, msg.change))
    }
}

impl Handler<Backup> for JobStore {
    type Result = Result<String, StoreError>;
    fn handle(&mut self, msg: Backup, _: &mut Self::Context) -> Self::Result {
        self.backup_to(&msg.to)
    }
}

impl Handler<AttachPoster> for JobStore {
    type Result = Durable<bool>;
    fn handle(&mut self, msg: AttachPoster, _: &mut Self::Context) -> Self::Result {
        Durable::wrote(&self.commits, self.attach_poster(msg.id, msg.attempt, &msg.worker, msg.thumbnail))
    }
}

impl Handler<GetThumbnail> for JobStore {
    type Result = Durable<Option<Vec<u8>>>;
    fn handle(&mut self, msg: GetThumbnail, _: &mut Self::Context) -> Self::Result {
        Durable::read(&self.commits, self.thumbnail(msg.0))
    }
}

impl Handler<GetJob> for JobStore {
    type Result = Durable<JobRecord>;
    fn handle(&mut self, msg: GetJob, _: &mut Self::Context) -> Self::Result {
        Durable::read(&self.commits, self.get(msg.0))
    }
}

impl Handler<DeleteJobs> for JobStore {
    type Result = Durable<Vec<JobRecord>>;
    fn handle(&mut self, msg: DeleteJobs, _: &mut Self::Context) -> Self::Result {
        Durable::read(&self.commits, self.delete(&msg.0))
    }
}

impl Handler<PruneJobs> for JobStore {
    type Result = Durable<Vec<JobRecord>>;
    fn handle(&mut self, msg: PruneJobs, _: &mut Self::Context) -> Self::Result {
        Durable::read(&self.commits, self.prune(msg.before))
    }
}

impl Handler<ListJobs> for JobStore {
    type Result = Durable<Vec<JobRecord>>;
    fn handle(&mut self, msg: ListJobs, _: &mut Self::Context) -> Self::Result {
        Durable::read(&self.commits, self.list(msg.unfinished_only))
    }
}

impl Handler<QueryJobs> for JobStore {
    type Result = Durable<JobPage>;
    fn handle(&mut self, msg: QueryJobs, _: &mut Self::Context) -> Self::Result {
        Durable::read(&self.commits, self.query(&msg.0))
    }
}

impl Handler<AppendLog> for JobStore {
    type Result = Durable<()>;
    fn handle(&mut self, msg: AppendLog, _: &mut Self::Context) -> Self::Result {
        Durable::logged(&self.commits, self.append_log(msg.id, msg.attempt, msg.seq, &msg.text))
    }
}

impl Handler<ReadLog> for JobStore {
    type Result = Durable<(String, Option<LogCursor>)>;
    fn handle(&mut self, msg: ReadLog, _: &mut Self::Context) -> Self::Result {
        Durable::read(&self.commits, self.read_log(msg.id, msg.after, msg.max_bytes))
    }
}

#[cfg(test)]
mod schema_tests;
#[cfg(test)]
mod schema_v2_tests;
#[cfg(test)]
mod schema_v3_tests;
#[cfg(test)]
mod tests;
