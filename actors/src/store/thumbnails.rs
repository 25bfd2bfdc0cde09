//! Poster frames: one small JPEG per succeeded job, in a tree of its own (`thumbnails`, key = the job's id), so that
//! job records, which are read often, never carry pictures.
//!
//! A value is a versioned record: [`THUMBNAIL_V1`], then the JPEG's bytes. The picture follows its job's record:
//! the worker makes it after reporting the success, off the job's path, and it is kept while that success stands;
//! removed by a retry and when the job is deleted or pruned. A split job's picture is its join's, copied when the
//! join is recorded (`Change::Joined`) or, when the join's picture comes later, when it comes.

use super::{machine, Change, JobStore, StoreError};
use distencode_wire::job::{now_ms, JobId, JobRecord, JobState, TaskKind};
use distencode_wire::thumbnail::Thumbnail;

/// The first byte of every stored poster frame: the version of the record's layout (the JPEG's bytes follow).
pub const THUMBNAIL_V1: u8 = 1;

/// What a change does to its job's picture.
pub(super) enum Poster {
    /// Nothing.
    Keep,
    /// Store these bytes as the job's picture.
    Set(Vec<u8>),
    /// The job has no picture (any older one goes).
    Remove,
}

fn encode(jpeg: &[u8]) -> Vec<u8> {
    let mut value = Vec::with_capacity(jpeg.len() + 1);
    value.push(THUMBNAIL_V1);
    value.extend_from_slice(jpeg);
    value
}

fn decode(id: JobId, value: &[u8]) -> Result<Vec<u8>, StoreError> {
    match value.split_first() {
        Some((&THUMBNAIL_V1, jpeg)) => Ok(jpeg.to_vec()),
        Some((version, _)) => Err(StoreError::Corrupt(format!(
            "the poster frame of job {id} is of record version {version}; this distencode reads {THUMBNAIL_V1}"
        ))),
        None => Err(StoreError::Corrupt(format!("the poster frame of job {id} is empty"))),
    }
}

impl JobStore {
    /// A job's poster frame (the JPEG's bytes), if it has one.
    pub fn thumbnail(&self, id: JobId) -> Result<Option<Vec<u8>>, StoreError> {
        self.thumbnails.get(id.0.to_be_bytes())?.map(|value| decode(id, &value)).transpose()
    }

    /// Stores `thumbnail` as the picture of job `id`, made by `worker` from its attempt `attempt`'s output (not yet
    /// flushed). The worker sends it after the attempt's success is recorded; it counts only while that success
    /// stands and only from that attempt's worker: not for another attempt, a failure, or a job retried since. A
    /// split's join passes its picture on to its parent, when the parent has succeeded with that join. `false` when
    /// the picture was not taken.
    pub fn attach_poster(
        &self,
        id: JobId,
        attempt: u32,
        worker: &str,
        thumbnail: Thumbnail,
    ) -> Result<bool, StoreError> {
        let record = self.get(id)?;
        let last = record.attempts.last();
        let stands =
            record.state == JobState::Succeeded && last.is_some_and(|a| a.number == attempt && a.worker == worker);
        if !stands {
            return Ok(false);
        }
        self.fault.check()?;
        let value = encode(thumbnail.bytes());
        self.thumbnails.insert(id.0.to_be_bytes(), value.clone())?;
        if let Some(task) = record.task.as_ref().filter(|t| t.kind == TaskKind::Join) {
            let parent = self.get(task.parent)?;
            if parent.state == JobState::Succeeded && parent.tasks.iter().any(|t| t.job == id) {
                self.thumbnails.insert(task.parent.0.to_be_bytes(), value)?;
            }
        }
        Ok(true)
    }

    /// Applies `change`, and writes what it does to the job's picture before the record.
    pub(super) fn apply(&self, id: JobId, change: Change, poster: Poster) -> Result<JobRecord, StoreError> {
        let mut record = self.get(id)?;
        let was_unfinished = !record.state.is_final();
        machine::apply(&mut record, change, now_ms()).map_err(|error| StoreError::Refused { id, error })?;
        self.fault.check()?;
        let key = id.0.to_be_bytes();
        match poster {
            Poster::Keep => {}
            Poster::Set(jpeg) => {
                self.thumbnails.insert(key, encode(&jpeg))?;
            }
            Poster::Remove => {
                self.thumbnails.remove(key)?;
            }
        }
        self.put(&mut record, Some(was_unfinished))?;
        if was_unfinished && record.state.is_final() {
            self.enqueue_job(&record);
        }
        Ok(record)
    }

    /// What `change` (arriving without a picture) does to its job's picture.
    pub(super) fn poster_after(&self, change: &Change) -> Result<Poster, StoreError> {
        Ok(match change {
            Change::Succeed { .. } | Change::Retry => Poster::Remove,
            Change::Joined { tasks, .. } => {
                let join = tasks.iter().find(|t| t.kind == TaskKind::Join);
                match join.map(|t| self.thumbnail(t.job)).transpose()?.flatten() {
                    Some(jpeg) => Poster::Set(jpeg),
                    None => Poster::Remove,
                }
            }
            _ => Poster::Keep,
        })
    }
}

#[cfg(test)]
mod tests;
