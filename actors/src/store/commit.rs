//! Group commit: many store changes made durable by one flush, each acknowledged only after it.
//!
//! A flush costs about the same for one change as for a hundred, and it blocks. So the JobStore's handlers apply
//! changes to sled without flushing and hand their replies to the commit thread instead of sending them. That
//! thread takes every reply waiting, flushes once, which covers every write made before the flush began (and each
//! reply's write was made before the reply was queued), then sends the replies of database changes in the order
//! they were queued; log batches, and reads (which may have read log text), are answered by the log-sync thread
//! once the log segment is synced as well. While it flushes, the store goes on applying the next changes, whose replies form the next group. Under light load a
//! group is one change and nothing waits longer than its own flush; under heavy load the flushes per second stay
//! about the same while the changes per flush grow.
//!
//! A flush is sled's `flush` (a `sync_file_range` of its log) followed by an `fdatasync` of the files it wrote
//! ([`super::sled_files`]), so what is acknowledged survives a power cut as well as a `kill -9`; log segments are
//! synced with `fdatasync` too.
//!
//! A flush that fails turns every reply of its group into that error: nothing is acknowledged that may not be on
//! disk.

use super::log_segments::LogSegments;
use super::sled_files::SledFiles;
use super::StoreError;
use crate::metrics::Metrics;
use actix::dev::{MessageResponse, OneshotSender};
use actix::{Actor, Message};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The most replies one flush answers, so a long queue still gets answers at a steady pace.
const MOST_PER_GROUP: usize = 4096;

/// When the last group had company, the next one waits this long for more before it flushes: a flush costs sled a
/// thread hand-off and a device write whatever its size, so under load fewer, larger flushes leave more of the
/// machine to the coordinator (`bench scale`, 1,000 workers: 4,300 jobs/s flushing at once, 5,100 with 100–300 µs,
/// 4,400 with 1 ms). A lone request (light load) is flushed at once.
const GATHER_WHEN_BUSY: Duration = Duration::from_micros(200);

/// What a request wrote, and so what must be made durable before its reply.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Wrote {
    /// Nothing (a read, or a refused change): it needs no flush of its own, only its place in the order.
    Nothing,
    /// The database.
    Database,
    /// A log segment and the database (its index).
    Log,
}

/// A reply waiting for the flush that makes its change durable.
struct Waiting {
    /// Sends the reply, or the flush's error in its place.
    answer: Box<dyn FnOnce(Result<(), StoreError>) + Send>,
    wrote: Wrote,
}

/// What the commit thread flushes. It holds these only while it flushes, so once the store is dropped and its
/// replies sent, the database is closed.
#[derive(Clone)]
struct Files {
    db: sled::Db,
    /// What sled wrote, synced for real after each flush.
    disk: Arc<SledFiles>,
    segments: Arc<LogSegments>,
    /// Told how long each flush took.
    metrics: Metrics,
}

/// The way to the commit thread; clones share it.
#[derive(Clone)]
pub struct CommitQueue {
    sender: mpsc::Sender<(Waiting, Files)>,
    files: Files,
}

/// Replies that wait for the log's sync, and where the outcome of their group's database flush will come from.
type AfterFlush = (Vec<Waiting>, mpsc::Receiver<Result<(), StoreError>>, Arc<LogSegments>);

impl CommitQueue {
    /// Starts the commit thread and the log-sync thread; they end when every clone of the queue is dropped.
    pub fn start(
        db: sled::Db,
        disk: Arc<SledFiles>,
        segments: Arc<LogSegments>,
        metrics: Metrics,
    ) -> std::io::Result<Self> {
        let (sender, receiver) = mpsc::channel();
        let (to_log_sync, log_sync_queue) = mpsc::channel();
        std::thread::Builder::new().name("store-commit".into()).spawn(move || run(&receiver, &to_log_sync))?;
        std::thread::Builder::new().name("store-log-sync".into()).spawn(move || sync_logs(&log_sync_queue))?;
        Ok(Self { sender, files: Files { db, disk, segments, metrics } })
    }

    fn push(&self, waiting: Waiting) {
        if let Err(mpsc::SendError((waiting, _))) = self.sender.send((waiting, self.files.clone())) {
            (waiting.answer)(Err(StoreError::Gone));
        }
    }
}

/// The commit thread: hands each group's log batches and reads (which may have read log text) to the log-sync
/// thread, flushes the database, answers the changes of the database alone, and passes the flush's outcome on. So
/// the log's sync (an `fdatasync`, up to milliseconds) runs beside the database's flush and never holds up the next
/// group. Their order does not matter: an index entry whose text was lost reads as not stored (see
/// [`super::log_segments`]).
fn run(queue: &mpsc::Receiver<(Waiting, Files)>, log_sync: &mpsc::Sender<AfterFlush>) {
    let mut busy = false;
    while let Ok((first, files)) = queue.recv() {
        let group = gather(first, queue, if busy { GATHER_WHEN_BUSY } else { Duration::ZERO });
        busy = group.len() > 1;
        let wrote = group.iter().any(|w| w.wrote != Wrote::Nothing);
        let (database_only, rest): (Vec<Waiting>, Vec<Waiting>) =
            group.into_iter().partition(|w| w.wrote == Wrote::Database);
        let Files { db, disk, segments, metrics } = files;
        let mut flush_outcome = None;
        if !rest.is_empty() {
            let (sender, receiver) = mpsc::sync_channel(1);
            if let Err(mpsc::SendError((rest, _, _))) = log_sync.send((rest, receiver, segments)) {
                for waiting in rest {
                    (waiting.answer)(Err(StoreError::Gone));
                }
            }
            flush_outcome = Some(sender);
        }
        let flushed = match wrote {
            true => {
                let began = Instant::now();
                let flushed = db.flush().map_err(StoreError::from).and_then(|_| disk.sync().map_err(super::sync_error));
                metrics.committed(began.elapsed());
                flushed
            }
            false => Ok(()),
        };
        drop((db, disk));
        for waiting in database_only {
            (waiting.answer)(flushed.clone());
        }
        if let Some(sender) = flush_outcome {
            let _ = sender.send(flushed);
        }
    }
}

/// The log-sync thread: syncs the log segment once for every group waiting, then answers each group once its
/// database flush is done too.
fn sync_logs(queue: &mpsc::Receiver<AfterFlush>) {
    while let Ok(first) = queue.recv() {
        let mut groups = vec![first];
        groups.extend(queue.try_iter());
        let synced = match groups.iter().any(|(group, _, _)| group.iter().any(|w| w.wrote == Wrote::Log)) {
            true => groups[0].2.sync().map_err(|e| StoreError::Logs(e.to_string())),
            false => Ok(()),
        };
        for (group, flushed, segments) in groups {
            drop(segments);
            let outcome = flushed.recv().unwrap_or(Err(StoreError::Gone)).and(synced.clone());
            for waiting in group {
                (waiting.answer)(outcome.clone());
            }
        }
    }
}

/// `first` and whatever else is waiting, and what arrives within `window` (up to [`MOST_PER_GROUP`]).
fn gather(first: Waiting, queue: &mpsc::Receiver<(Waiting, Files)>, window: Duration) -> Vec<Waiting> {
    let mut group = vec![first];
    let until = Instant::now() + window;
    while group.len() < MOST_PER_GROUP {
        group.extend(queue.try_iter().take(MOST_PER_GROUP - group.len()).map(|(waiting, _)| waiting));
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() || group.len() >= MOST_PER_GROUP {
            break;
        }
        match queue.recv_timeout(left) {
            Ok((waiting, _)) => group.push(waiting),
            Err(_) => break,
        }
    }
    group
}

/// A handler's result that is sent once durable: `Durable::wrote` after a write, `Durable::read` after a read
/// (which waits only for the writes queued before it, so a reader never sees what may still be lost).
pub struct Durable<T> {
    result: Result<T, StoreError>,
    wrote: Wrote,
    commits: CommitQueue,
}

impl<T> Durable<T> {
    pub fn wrote(commits: &CommitQueue, result: Result<T, StoreError>) -> Self {
        // A refused change wrote nothing, but still answers in order.
        let wrote = if result.is_ok() { Wrote::Database } else { Wrote::Nothing };
        Self { result, wrote, commits: commits.clone() }
    }

    /// After a log batch was stored.
    pub fn logged(commits: &CommitQueue, result: Result<T, StoreError>) -> Self {
        let wrote = if result.is_ok() { Wrote::Log } else { Wrote::Nothing };
        Self { result, wrote, commits: commits.clone() }
    }

    /// After a change and its audit entry were written: the entry was written whatever the change's outcome.
    pub fn audited(commits: &CommitQueue, result: Result<T, StoreError>) -> Self {
        Self { result, wrote: Wrote::Database, commits: commits.clone() }
    }

    pub fn read(commits: &CommitQueue, result: Result<T, StoreError>) -> Self {
        Self { result, wrote: Wrote::Nothing, commits: commits.clone() }
    }
}

impl<A, M, T> MessageResponse<A, M> for Durable<T>
where
    A: Actor,
    M: Message<Result = Result<T, StoreError>>,
    T: Send + 'static,
{
    fn handle(self, _: &mut A::Context, tx: Option<OneshotSender<M::Result>>) {
        let Durable { result, wrote, commits } = self;
        commits.push(Waiting {
            answer: Box::new(move |flushed| {
                if let Some(tx) = tx {
                    let _ = tx.send(flushed.and(result));
                }
            }),
            wrote,
        });
    }
}
