//! The jobs table's view of the job list: filters by state, a text search, a sort order and a page, all kept in the
//! URL (`?state=running&q=intro&sort=oldest&page=2`), so a view can be bookmarked and works without JavaScript.

use crate::limits::{DEFAULT_PAGE_ROWS, MAX_PAGE_ROWS, MAX_SEARCH_CHARS};
use crate::WebError;
use distencode_wire::job::{JobId, JobRecord, JobState};
use serde::{Deserialize, Serialize};
use std::cmp::Reverse;
use std::collections::HashMap;

/// Every state, in the order the filters list them.
pub const STATES: [JobState; 6] = [
    JobState::Queued,
    JobState::Offered,
    JobState::Running,
    JobState::Succeeded,
    JobState::Failed,
    JobState::Cancelled,
];

/// The sort orders, by their name in the URL.
pub const SORTS: [&str; 4] = ["newest", "oldest", "priority", "state"];

/// A view of the job list, as the URL's query gives it.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(default)]
pub struct JobQuery {
    /// Only jobs in this state (empty: all).
    pub state: String,
    /// Only jobs whose project, output, owner, worker or error holds this text.
    pub q: String,
    /// One of [`SORTS`] (empty: newest first).
    pub sort: String,
    /// From 1.
    pub page: usize,
    pub per_page: usize,
}

/// One page of the view.
pub struct Page {
    pub jobs: Vec<JobRecord>,
    /// Jobs in the view, all pages together.
    pub total: usize,
    /// This page, from 1, and how many there are.
    pub page: usize,
    pub pages: usize,
}

impl JobQuery {
    /// The view checked: an unknown state or sort is refused, naming the values allowed.
    pub fn checked(mut self) -> Result<Self, WebError> {
        if !self.state.is_empty() && !STATES.iter().any(|s| s.as_str() == self.state) {
            let names: Vec<&str> = STATES.iter().map(|s| s.as_str()).collect();
            return Err(WebError::BadRequest(format!(
                "no job state {:?}: the states are {}",
                self.state,
                names.join(", ")
            )));
        }
        if !self.sort.is_empty() && !SORTS.contains(&self.sort.as_str()) {
            return Err(WebError::BadRequest(format!(
                "no sort order {:?}: the orders are {}",
                self.sort,
                SORTS.join(", ")
            )));
        }
        if self.q.chars().count() > MAX_SEARCH_CHARS {
            return Err(WebError::BadRequest(format!("the search is longer than {MAX_SEARCH_CHARS} characters")));
        }
        self.page = self.page.max(1);
        self.per_page = if self.per_page == 0 { DEFAULT_PAGE_ROWS } else { self.per_page.min(MAX_PAGE_ROWS) };
        Ok(self)
    }

    fn matches(&self, job: &JobRecord, needle: &str) -> bool {
        if !self.state.is_empty() && job.state.as_str() != self.state {
            return false;
        }
        if needle.is_empty() {
            return true;
        }
        let fields = [
            Some(job.project.as_str()),
            Some(job.output.as_str()),
            Some(job.submitted_by.as_str()),
            job.worker.as_deref(),
            job.error.as_deref(),
        ];
        fields.into_iter().flatten().any(|field| field.to_lowercase().contains(needle))
            || job.id.0.to_string() == needle
    }

    /// The page of `jobs` (every job, any order) this view shows.
    pub fn apply(&self, jobs: Vec<JobRecord>) -> Page {
        let needle = self.q.trim().to_lowercase();
        let mut jobs: Vec<JobRecord> = jobs.into_iter().filter(|job| self.matches(job, &needle)).collect();
        match self.sort.as_str() {
            "oldest" => jobs.sort_by_key(|job| job.id),
            "priority" => jobs.sort_by_key(|job| (Reverse(job.priority), job.id)),
            "state" => jobs.sort_by_key(|job| (job.state.as_str(), Reverse(job.id))),
            _ => jobs.sort_by_key(|job| Reverse(job.id)),
        }
        let total = jobs.len();
        let pages = total.div_ceil(self.per_page).max(1);
        let page = self.page.min(pages);
        let jobs = jobs.into_iter().skip((page - 1) * self.per_page).take(self.per_page).collect();
        Page { jobs, total, page, pages }
    }

    /// The URL of this view's page `page`.
    pub fn link(&self, page: usize) -> String {
        let mut query = form_urlencoded::Serializer::new(String::new());
        for (key, value) in [("state", &self.state), ("q", &self.q), ("sort", &self.sort)] {
            if !value.is_empty() {
                query.append_pair(key, value);
            }
        }
        if page > 1 {
            query.append_pair("page", &page.to_string());
        }
        let query = query.finish();
        if query.is_empty() {
            "/jobs".into()
        } else {
            format!("/jobs?{query}")
        }
    }
}

/// Each queued job's place in the queue (1 runs next): higher priority first, then older.
pub fn queue_positions(jobs: &[JobRecord]) -> HashMap<JobId, usize> {
    let mut queued: Vec<(Reverse<i32>, JobId)> =
        jobs.iter().filter(|job| job.state == JobState::Queued).map(|job| (Reverse(job.priority), job.id)).collect();
    queued.sort();
    queued.into_iter().enumerate().map(|(i, (_, id))| (id, i + 1)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(id: u64, state: JobState, priority: i32, project: &str) -> JobRecord {
        let spec = distencode_wire::job::JobSpec {
            project: project.into(),
            output: format!("{project}.mp4"),
            encoding: Default::default(),
            priority,
            melt_log: Default::default(),
            services: Vec::new(),
            optional_filters: Vec::new(),
            split: None,
            task: None,
        };
        let mut record = JobRecord::queued(JobId(id), spec, "alice".into(), id);
        record.state = state;
        record
    }

    fn ids(page: &Page) -> Vec<u64> {
        page.jobs.iter().map(|j| j.id.0).collect()
    }

    #[test]
    fn filters_search_sort_and_pages_compose() {
        let jobs: Vec<JobRecord> = (1..=120)
            .map(|i| {
                let state = if i % 2 == 0 { JobState::Queued } else { JobState::Succeeded };
                job(i, state, (i % 3) as i32, if i == 7 { "/p/Intro.mlt" } else { "/p/other.mlt" })
            })
            .collect();
        let view = |query: JobQuery| query.checked().unwrap().apply(jobs.clone());

        let first = view(JobQuery::default());
        assert_eq!((first.total, first.pages, first.jobs.len()), (120, 3, 50));
        assert_eq!(ids(&first)[..2], [120, 119], "newest first");
        let last = view(JobQuery { page: 9, ..Default::default() });
        assert_eq!((last.page, last.jobs.len()), (3, 20), "a page past the end is the last page");

        let queued = view(JobQuery { state: "queued".into(), sort: "oldest".into(), ..Default::default() });
        assert_eq!((queued.total, ids(&queued)[0]), (60, 2));
        assert_eq!(ids(&view(JobQuery { q: "intro".into(), ..Default::default() })), vec![7], "case-insensitive");
        let by_priority = view(JobQuery { sort: "priority".into(), per_page: 3, ..Default::default() });
        assert_eq!(ids(&by_priority), vec![2, 5, 8]);
        let capped = JobQuery { per_page: 100_000, ..Default::default() }.checked().unwrap();
        assert_eq!(capped.per_page, MAX_PAGE_ROWS);
    }

    #[test]
    fn unknown_states_sorts_and_long_searches_are_refused_by_name() {
        let bad = JobQuery { state: "done".into(), ..Default::default() }.checked().unwrap_err().to_string();
        assert_eq!(bad, "no job state \"done\": the states are queued, offered, running, succeeded, failed, cancelled");
        let bad = JobQuery { sort: "size".into(), ..Default::default() }.checked().unwrap_err().to_string();
        assert_eq!(bad, "no sort order \"size\": the orders are newest, oldest, priority, state");
        let long = JobQuery { q: "x".repeat(MAX_SEARCH_CHARS + 1), ..Default::default() };
        assert!(long.checked().is_err());
        assert!(JobQuery { q: "x".repeat(MAX_SEARCH_CHARS), ..Default::default() }.checked().is_ok());
    }

    #[test]
    fn queue_positions_follow_priority_then_age_and_links_keep_the_view() {
        let jobs =
            vec![job(1, JobState::Queued, 0, "a"), job(2, JobState::Queued, 5, "b"), job(3, JobState::Running, 9, "c")];
        let positions = queue_positions(&jobs);
        assert_eq!((positions[&JobId(2)], positions[&JobId(1)]), (1, 2));
        assert!(!positions.contains_key(&JobId(3)));
        let view = JobQuery { state: "queued".into(), q: "a b&c".into(), ..Default::default() };
        assert_eq!(view.link(2), "/jobs?state=queued&q=a+b%26c&page=2");
        assert_eq!(JobQuery::default().link(1), "/jobs");
    }
}
