//! The job list's index: a compact summary of every job in memory (state, priority and the text a search looks in),
//! kept in step with each record the store writes, so that a page of the list (filtered by state, searched, sorted,
//! `per_page` rows) is found without decoding every record: only the page's records are read.
//!
//! It is built once when the store opens (the one time every record is decoded) and counts the jobs in each state
//! as it goes, for the metrics' jobs by state. At 100,000 jobs it holds about 20 MB and answers a page in a few
//! milliseconds; see `distencode bench web`.

use distencode_wire::job::{JobId, JobRecord, JobState};
use std::cmp::Reverse;
use std::collections::BTreeMap;
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

/// Every state, in the order filters and counts list them.
pub const STATES: [JobState; 6] = [
    JobState::Queued,
    JobState::Offered,
    JobState::Running,
    JobState::Succeeded,
    JobState::Failed,
    JobState::Cancelled,
];

/// Rows of one page at most, whatever a caller asks.
pub const MAX_PAGE_JOBS: usize = 1000;

/// The orders a page can be sorted in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum JobOrder {
    /// Highest id (latest submitted) first.
    #[default]
    Newest,
    Oldest,
    /// Highest priority first, then the oldest.
    Priority,
    /// By the state's name, then newest first.
    State,
}

/// Which page of the job list to read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobFilter {
    /// Only jobs in this state.
    pub state: Option<JobState>,
    /// Only jobs whose project, output, owner, worker or error holds this text (any case), or whose id it is; empty:
    /// all.
    pub text: String,
    /// Look for `text` in the project, output and error only of jobs submitted under these names (the reader's own:
    /// others' are hidden from them, see `auth::rules`), in every other job's owner and worker alone; `None`: in
    /// every field of every job (an admin).
    pub details_of: Option<Vec<String>>,
    pub order: JobOrder,
    /// From 1; a page past the last is the last.
    pub page: usize,
    /// Rows per page, from 1 to [`MAX_PAGE_JOBS`].
    pub per_page: usize,
}

impl Default for JobFilter {
    fn default() -> Self {
        Self { state: None, text: String::new(), details_of: None, order: JobOrder::Newest, page: 1, per_page: 50 }
    }
}

/// One page of the job list.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct JobPage {
    /// The page's jobs, in order.
    pub jobs: Vec<JobRecord>,
    /// Jobs the filter matches, all pages together.
    pub total: usize,
    /// This page (from 1; the last one if the page asked was past it) and how many pages there are (at least 1).
    pub page: usize,
    pub pages: usize,
    /// Each queued job of the page and its place in the queue (1 runs next); filled in by the Coordinator, which
    /// keeps the queue.
    pub queue_positions: Vec<(JobId, usize)>,
}

/// What the index keeps of a job.
struct Summary {
    state: JobState,
    priority: i32,
    /// Who submitted it, as recorded.
    owner: Box<str>,
    /// Owner and worker, lowercased, one per line: what anyone may search.
    public: Box<str>,
    /// Project, output and error, lowercased, one per line: what only its owner (or an admin) may search.
    details: Box<str>,
}

impl Summary {
    fn of(record: &JobRecord) -> Self {
        let text = |fields: &[Option<&str>]| -> Box<str> {
            let lower: Vec<String> = fields.iter().flatten().map(|f| f.to_lowercase()).collect();
            lower.join("\n").into_boxed_str()
        };
        Summary {
            state: record.state,
            priority: record.priority,
            owner: record.submitted_by.clone().into_boxed_str(),
            public: text(&[Some(&record.submitted_by), record.worker.as_deref()]),
            details: text(&[Some(&record.project), Some(&record.output), record.error.as_deref()]),
        }
    }

    /// Whether `needle` is in what `details_of` may search of this job.
    fn holds(&self, needle: &str, details_of: Option<&[String]>) -> bool {
        let details = details_of.is_none_or(|names| names.iter().any(|name| **name == *self.owner));
        self.public.contains(needle) || (details && self.details.contains(needle))
    }
}

#[derive(Default)]
struct Inner {
    jobs: BTreeMap<JobId, Summary>,
    /// Jobs in each state of [`STATES`].
    counts: [u64; STATES.len()],
}

/// The index; clones share it (the store's clones all see one).
#[derive(Clone, Default)]
pub struct JobIndex(Arc<RwLock<Inner>>);

fn slot(state: JobState) -> usize {
    STATES.iter().position(|s| *s == state).unwrap_or(0)
}

impl JobIndex {
    // A panic while the lock was held cannot leave a summary half written (each change is one insert or remove),
    // so a poisoned lock is used as it is.
    fn read(&self) -> RwLockReadGuard<'_, Inner> {
        self.0.read().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, Inner> {
        self.0.write().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Takes in a record just written; answers the state it had before (`None`: a job not indexed before).
    pub fn put(&self, record: &JobRecord) -> Option<JobState> {
        let summary = Summary::of(record);
        let mut inner = self.write();
        inner.counts[slot(record.state)] += 1;
        let before = inner.jobs.insert(record.id, summary).map(|old| old.state);
        if let Some(state) = before {
            inner.counts[slot(state)] = inner.counts[slot(state)].saturating_sub(1);
        }
        before
    }

    /// Forgets a deleted job; answers the state it had.
    pub fn remove(&self, id: JobId) -> Option<JobState> {
        let mut inner = self.write();
        let state = inner.jobs.remove(&id)?.state;
        inner.counts[slot(state)] = inner.counts[slot(state)].saturating_sub(1);
        Some(state)
    }

    /// How many jobs are in `state`.
    pub fn count(&self, state: JobState) -> u64 {
        self.read().counts[slot(state)]
    }

    /// How many jobs there are.
    pub fn len(&self) -> usize {
        self.read().jobs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The ids of the page `filter` asks for, in order, with the number of jobs it matches and the page found
    /// (a page past the last is the last).
    pub fn query(&self, filter: &JobFilter) -> (Vec<JobId>, usize, usize) {
        let per_page = filter.per_page.clamp(1, MAX_PAGE_JOBS);
        let needle = filter.text.trim().to_lowercase();
        let needle_id: Option<u64> = needle.parse().ok();
        let inner = self.read();
        let matches = |id: &JobId, job: &Summary| {
            filter.state.is_none_or(|state| job.state == state)
                && (needle.is_empty() || job.holds(&needle, filter.details_of.as_deref()) || needle_id == Some(id.0))
        };
        let last_page = |total: usize| total.div_ceil(per_page).max(1);
        match filter.order {
            JobOrder::Newest | JobOrder::Oldest => {
                let newest = filter.order == JobOrder::Newest;
                let unfiltered = filter.state.is_none() && needle.is_empty();
                let total = if unfiltered {
                    inner.jobs.len()
                } else {
                    inner.jobs.iter().filter(|(id, job)| matches(id, job)).count()
                };
                let page = filter.page.clamp(1, last_page(total));
                let skip = (page - 1) * per_page;
                let in_order: Box<dyn Iterator<Item = (&JobId, &Summary)>> =
                    if newest { Box::new(inner.jobs.iter().rev()) } else { Box::new(inner.jobs.iter()) };
                let ids = in_order.filter(|(id, job)| matches(id, job)).skip(skip).take(per_page).map(|(id, _)| *id);
                (ids.collect(), total, page)
            }
            JobOrder::Priority | JobOrder::State => {
                // A key that sorts as the order does; ties are broken by the id in the key itself.
                let key = |id: &JobId, job: &Summary| match filter.order {
                    JobOrder::Priority => (Reverse(job.priority), 0usize, id.0),
                    _ => (Reverse(0), state_rank(job.state), u64::MAX - id.0),
                };
                let mut keys: Vec<(SortKey, JobId)> = inner
                    .jobs
                    .iter()
                    .filter(|(id, job)| matches(id, job))
                    .map(|(id, job)| (key(id, job), *id))
                    .collect();
                let total = keys.len();
                let page = filter.page.clamp(1, last_page(total));
                let (skip, end) = ((page - 1) * per_page, (page * per_page).min(total));
                if end < total {
                    keys.select_nth_unstable(end);
                    keys.truncate(end);
                }
                keys.sort_unstable();
                (keys.into_iter().skip(skip).map(|(_, id)| id).collect(), total, page)
            }
        }
    }
}

/// A job's place in a sorted page: priority (highest first), state's rank, then id (as the order wants it).
type SortKey = (Reverse<i32>, usize, u64);

/// The place of a state when the list is sorted by state's name (alphabetical, as `job list` sorts names).
fn state_rank(state: JobState) -> usize {
    match state {
        JobState::Cancelled => 0,
        JobState::Failed => 1,
        JobState::Offered => 2,
        JobState::Queued => 3,
        JobState::Running => 4,
        JobState::Succeeded => 5,
    }
}

#[cfg(test)]
mod tests;
