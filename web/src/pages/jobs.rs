//! `/jobs`: the table of jobs, its view kept in the URL ([`JobQuery`]), paged; bulk cancel, retry and priority for
//! the selected jobs. The rows re-render alone (`?partial=1`) when the farm's event stream says a job changed.

use super::view::{self, ProgressView};
use super::{html, see_other, Viewer};
use crate::auth::{FormPost, Principal};
use crate::error::PageError;
use crate::limits::MAX_BULK_JOBS;
use crate::query::{JobQuery, SORTS, STATES};
use crate::state::AppState;
use crate::WebError;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;
use distencode_actors::coordinator as coord;
use distencode_wire::job::{JobId, JobRecord, JobState};
use std::collections::HashMap;

/// One row of the table.
pub struct Row {
    pub id: JobId,
    pub state: &'static str,
    pub owner: String,
    pub project: String,
    /// The file name alone (the full path is the cell's title).
    pub project_name: String,
    pub output: String,
    pub output_name: String,
    pub worker: String,
    /// Why a queued job waits (the title of the cell), and its first words (the cell).
    pub waiting: String,
    pub waiting_short: String,
    pub progress: ProgressView,
    /// Its place in the queue, or `-`.
    pub queue: String,
    pub priority: i32,
    pub submitted: String,
    pub finished: String,
}

impl Row {
    pub fn of(job: &JobRecord, positions: &HashMap<JobId, usize>) -> Self {
        let name = |path: &str| path.rsplit('/').next().unwrap_or(path).to_string();
        Row {
            id: job.id,
            state: job.state.as_str(),
            owner: job.submitted_by.clone(),
            project: job.project.clone(),
            project_name: name(&job.project),
            output: job.output.clone(),
            output_name: name(&job.output),
            worker: match job.state {
                // A queued job is on no worker, whoever had it before.
                JobState::Queued => "-".into(),
                _ => job.worker.clone().unwrap_or_else(|| "-".into()),
            },
            waiting: job.waiting.clone().unwrap_or_default(),
            waiting_short: job.waiting.as_deref().map(view::short).unwrap_or_default(),
            progress: ProgressView::of(job),
            queue: positions.get(&job.id).map_or_else(|| "-".into(), |p| p.to_string()),
            priority: job.priority,
            submitted: view::time(Some(job.submitted_at)),
            finished: view::time(job.finished_at),
        }
    }
}

#[derive(Template)]
#[template(path = "jobs.html")]
struct Jobs {
    user: String,
    role: &'static str,
    csrf: String,
    query: JobQuery,
    states: Vec<&'static str>,
    sorts: Vec<&'static str>,
    rows: Vec<Row>,
    filtered: bool,
    total: usize,
    page: usize,
    pages: usize,
    prev: String,
    next: String,
    /// This view's URL (the bulk form comes back to it).
    here: String,
    /// The rows alone, for the live update.
    partial: String,
}

/// The rows in their `<tbody>`, alone (htmx swaps the whole element, keeping its trigger).
#[derive(Template)]
#[template(path = "jobs_tbody.html")]
struct JobsTbody {
    rows: Vec<Row>,
    filtered: bool,
    partial: String,
}

pub async fn page(
    principal: Principal,
    state: web::Data<AppState>,
    query: web::Query<JobQuery>,
    partial: web::Query<super::Partial>,
) -> Result<HttpResponse, PageError> {
    let query = query.into_inner().checked()?;
    let page = state.actors.coordinator.send(coord::ListPage(query.filter(), principal.user.clone())).await??;
    let positions: HashMap<JobId, usize> = page.queue_positions.iter().copied().collect();
    let rows: Vec<Row> = page.jobs.iter().map(|job| Row::of(job, &positions)).collect();
    let filtered = !query.state.is_empty() || !query.q.is_empty();
    let here = query.link(page.page);
    let separator = if here.contains('?') { '&' } else { '?' };
    let partial_url = format!("{here}{separator}partial=1");
    if partial.table_only() {
        return Ok(html(StatusCode::OK, &JobsTbody { rows, filtered, partial: partial_url }));
    }
    let viewer = Viewer::of(&principal);
    let jobs = Jobs {
        user: viewer.user,
        role: viewer.role,
        csrf: viewer.csrf,
        states: STATES.iter().map(|s| s.as_str()).collect(),
        sorts: SORTS.to_vec(),
        rows,
        filtered,
        total: page.total,
        page: page.page,
        pages: page.pages,
        prev: query.link(page.page.saturating_sub(1).max(1)),
        next: query.link(page.page + 1),
        partial: partial_url,
        here,
        query,
    };
    Ok(html(StatusCode::OK, &jobs))
}

/// `POST /jobs/bulk`: cancel, retry or reprioritise every selected job; then back to the view, or a page with a line
/// per job refused (403 when one of them was another user's).
pub async fn bulk(form: FormPost, state: web::Data<AppState>) -> Result<HttpResponse, PageError> {
    let ids: Vec<JobId> = form
        .all("id")
        .map(|id| id.parse().map(JobId).map_err(|_| WebError::BadRequest(format!("{id:?} is not a job id"))))
        .collect::<Result<_, _>>()?;
    if ids.len() > MAX_BULK_JOBS {
        return Err(WebError::BadRequest(format!("at most {MAX_BULK_JOBS} jobs at once")).into());
    }
    let action = form.get("action").unwrap_or("");
    let priority: Option<i32> = form.get("priority").and_then(|p| p.trim().parse().ok());
    let coordinator = &state.actors.coordinator;
    let mut refused = Vec::new();
    // A refusal for want of the right (another user's job) makes the answer a 403; other refusals a 409.
    let mut forbidden = false;
    for id in ids {
        let result = match action {
            "cancel" => coordinator.send(coord::Cancel { id, by: form.principal.user.clone() }).await,
            "retry" => coordinator.send(coord::Retry { id, by: form.principal.user.clone() }).await,
            "priority" => match priority {
                Some(priority) => {
                    coordinator.send(coord::SetPriority { id, priority, by: form.principal.user.clone() }).await
                }
                None => return Err(WebError::BadRequest("the priority must be a whole number".into()).into()),
            },
            other => return Err(WebError::BadRequest(format!("no bulk action {other:?}")).into()),
        };
        if let Err(e) = result.map_err(WebError::from).and_then(|answer| answer.map_err(WebError::from)) {
            forbidden |= matches!(e, WebError::Forbidden(_));
            refused.push(format!("job {id}: {e}"));
        }
    }
    if !refused.is_empty() {
        let text = refused.join("; ");
        let refusal = if forbidden { WebError::Forbidden(text) } else { WebError::Conflict(text) };
        return Err(refusal.into());
    }
    let back = form.get("back").filter(|b| b.starts_with("/jobs")).unwrap_or("/jobs");
    Ok(see_other(back))
}
