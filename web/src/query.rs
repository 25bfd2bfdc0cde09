//! The jobs table's view of the job list: filters by state, a text search, a sort order and a page, all kept in the
//! URL (`?state=running&q=intro&sort=oldest&page=2`), so a view can be bookmarked and works without JavaScript.
//! The page itself is found by the store's index ([`JobFilter`]): only its rows' records are read.

use crate::limits::{DEFAULT_PAGE_ROWS, MAX_PAGE_ROWS, MAX_SEARCH_CHARS};
use crate::WebError;
use distencode_actors::store::{JobFilter, JobOrder};
use serde::{Deserialize, Serialize};

/// Every state, in the order the filters list them.
pub use distencode_actors::store::index::STATES;

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

    /// The page of the job list this (checked) view asks for.
    pub fn filter(&self) -> JobFilter {
        let order = match self.sort.as_str() {
            "oldest" => JobOrder::Oldest,
            "priority" => JobOrder::Priority,
            "state" => JobOrder::State,
            _ => JobOrder::Newest,
        };
        JobFilter {
            state: STATES.iter().copied().find(|s| s.as_str() == self.state),
            text: self.q.clone(),
            // Set by the Coordinator from the reader (`ListPage`).
            details_of: None,
            order,
            page: self.page.max(1),
            per_page: self.per_page.clamp(1, MAX_PAGE_ROWS),
        }
    }

    /// The URL of this view's page `page`.
    pub fn link(&self, page: usize) -> String {
        page_link("/jobs", &[("state", &self.state), ("q", &self.q), ("sort", &self.sort)], page)
    }
}

/// `path` with the non-empty `pairs` and, past the first page, `page=N` as its query (escaped).
pub fn page_link(path: &str, pairs: &[(&str, &str)], page: usize) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    for (key, value) in pairs {
        if !value.is_empty() {
            query.append_pair(key, value);
        }
    }
    if page > 1 {
        query.append_pair("page", &page.to_string());
    }
    let query = query.finish();
    if query.is_empty() {
        path.into()
    } else {
        format!("{path}?{query}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use distencode_wire::job::JobState;

    #[test]
    fn a_view_asks_the_store_for_its_page() {
        let view =
            JobQuery { state: "queued".into(), q: "intro".into(), sort: "priority".into(), page: 3, per_page: 0 };
        let filter = view.checked().unwrap().filter();
        assert_eq!(
            filter,
            JobFilter {
                state: Some(JobState::Queued),
                text: "intro".into(),
                details_of: None,
                order: JobOrder::Priority,
                page: 3,
                per_page: DEFAULT_PAGE_ROWS
            }
        );
        let all = JobQuery::default().checked().unwrap().filter();
        assert_eq!((all.state, all.order, all.page), (None, JobOrder::Newest, 1));
        let capped = JobQuery { per_page: 100_000, ..Default::default() }.checked().unwrap();
        assert_eq!(capped.filter().per_page, MAX_PAGE_ROWS);
        assert_eq!(JobQuery { sort: "oldest".into(), ..Default::default() }.filter().order, JobOrder::Oldest);
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
    fn links_keep_the_view() {
        let view = JobQuery { state: "queued".into(), q: "a b&c".into(), ..Default::default() };
        assert_eq!(view.link(2), "/jobs?state=queued&q=a+b%26c&page=2");
        assert_eq!(JobQuery::default().link(1), "/jobs");
    }
}
