//! `/jobs/{id}`: one job: its progress, settings, attempts, verified facts (with the output's poster frame and
//! streams once it has succeeded) and error, the last lines of its log
//! (growing while it renders, from `/jobs/{id}/live`), a download of the whole log, and its actions.

use super::poster::{self, PosterView, StreamRow};
use super::view::{self, ProgressView};
use super::{html, see_other, Viewer};
use crate::auth::{FormPost, Principal};
use crate::error::PageError;
use crate::limits::LOG_TAIL_BYTES;
use crate::state::AppState;
use crate::WebError;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;
use distencode_actors::coordinator as coord;
use distencode_actors::store::LogCursor;
use distencode_wire::job::{JobId, JobRecord, JobState};

pub struct AttemptRow {
    pub number: u32,
    pub worker: String,
    pub offered: String,
    pub started: String,
    pub ended: String,
    pub outcome: String,
}

#[derive(Template)]
#[template(path = "job.html")]
struct Job {
    user: String,
    role: &'static str,
    csrf: String,
    id: JobId,
    state: &'static str,
    live: bool,
    final_state: bool,
    retryable: bool,
    progress: ProgressView,
    worker: String,
    /// Why it waits, while it is queued.
    waiting: String,
    /// `render`, `split`, `task` or `ffmpeg`.
    kind: &'static str,
    /// The preset it was submitted with, or empty.
    preset: String,
    /// An ffmpeg job's inputs (empty for a render, which shows its project instead).
    inputs: Vec<String>,
    /// An ffmpeg job's extra arguments, as one line.
    ffmpeg_args: String,
    project: String,
    output: String,
    owner: String,
    vcodec: String,
    acodec: String,
    extra: Vec<(String, String)>,
    priority: i32,
    melt_log: String,
    services: String,
    optional_filters: String,
    submitted: String,
    finished: String,
    error: String,
    facts: Vec<(&'static str, String)>,
    /// Once it has succeeded: its output's poster frame, if the worker made one.
    poster: Option<PosterView>,
    /// Once it has succeeded: its output's streams.
    streams: Vec<StreamRow>,
    attempts: Vec<AttemptRow>,
    log: String,
    log_cut: bool,
    log_tail_kib: usize,
    /// `?after=CURSOR`: the live stream starts after the log shown.
    after: String,
}

/// The progress line alone (the live stream sends it at each change).
#[derive(Template)]
#[template(path = "job_progress.html")]
pub struct JobProgress {
    pub progress: ProgressView,
    pub worker: String,
    pub state: &'static str,
    /// Why it waits, while it is queued (empty otherwise, or when the update does not say).
    pub waiting: String,
}

impl JobProgress {
    pub fn of(job: &JobRecord) -> Self {
        JobProgress {
            progress: ProgressView::of(job),
            worker: job.worker.clone().unwrap_or_default(),
            state: job.state.as_str(),
            waiting: job.waiting.clone().unwrap_or_default(),
        }
    }
}

fn facts(job: &JobRecord) -> Vec<(&'static str, String)> {
    let Some(f) = &job.facts else { return Vec::new() };
    let mut facts = vec![
        ("Frames", f.frames.to_string()),
        ("Duration", view::duration(f.duration_seconds)),
        ("Video", f.video_codec.clone()),
        ("Audio", f.audio_codec.clone().unwrap_or_else(|| "none".into())),
    ];
    if !f.dropped_filters.is_empty() {
        facts.push(("Rendered without", f.dropped_filters.join(", ")));
    }
    facts
}

/// The last [`LOG_TAIL_BYTES`] of the stored log (cut at a line), whether it was cut, and the cursor after it.
pub async fn log_tail(state: &AppState, id: JobId) -> Result<(String, bool, Option<LogCursor>), WebError> {
    let mut text = String::new();
    let mut cursor = None;
    let mut cut = false;
    loop {
        let (piece, next) = state.actors.coordinator.send(coord::Logs { id, after: cursor }).await??;
        if piece.is_empty() {
            break;
        }
        text.push_str(&piece);
        if text.len() > LOG_TAIL_BYTES {
            let mut start = text.len() - LOG_TAIL_BYTES;
            while !text.is_char_boundary(start) {
                start += 1;
            }
            let start = text[start..].find('\n').map_or(start, |n| start + n + 1);
            text.drain(..start);
            cut = true;
        }
        cursor = next;
    }
    Ok((text, cut, cursor))
}

pub async fn page(
    principal: Principal,
    state: web::Data<AppState>,
    id: web::Path<u64>,
) -> Result<HttpResponse, PageError> {
    let id = JobId(*id);
    // Another user's job is not shown (403): its project, output, log and poster are its owner's or an admin's; its
    // state, owner, worker and queue place are in the jobs table for everyone.
    let job = state.actors.coordinator.send(coord::Details { id, by: principal.user.clone() }).await??;
    let (log, log_cut, cursor) = log_tail(&state, id).await?;
    let viewer = Viewer::of(&principal);
    let attempts = job
        .attempts
        .iter()
        .map(|a| AttemptRow {
            number: a.number,
            worker: a.worker.clone(),
            offered: view::time(Some(a.offered_at)),
            started: view::time(a.started_at),
            ended: view::time(a.ended_at),
            outcome: a.outcome.as_ref().map_or_else(|| "running".into(), |o| o.to_string()),
        })
        .collect();
    let page = Job {
        user: viewer.user,
        role: viewer.role,
        csrf: viewer.csrf,
        id,
        state: job.state.as_str(),
        live: !job.state.is_final(),
        final_state: job.state.is_final(),
        retryable: matches!(job.state, JobState::Failed | JobState::Cancelled),
        progress: ProgressView::of(&job),
        worker: job.worker.clone().unwrap_or_default(),
        waiting: job.waiting.clone().unwrap_or_default(),
        kind: job.kind_name(),
        preset: job.preset.clone().unwrap_or_default(),
        inputs: job.kind.ffmpeg().map(|f| f.inputs.clone()).unwrap_or_default(),
        ffmpeg_args: job.kind.ffmpeg().map(|f| f.args.join(" ")).unwrap_or_default(),
        project: job.project.clone(),
        output: job.output.clone(),
        owner: job.submitted_by.clone(),
        vcodec: job.encoding.vcodec.clone(),
        acodec: job.encoding.acodec.clone(),
        extra: job.encoding.extra.clone(),
        priority: job.priority,
        melt_log: format!("{:?}", job.melt_log).to_lowercase(),
        services: job.services.join(", "),
        optional_filters: job.optional_filters.join(", "),
        submitted: view::time(Some(job.submitted_at)),
        finished: view::time(job.finished_at),
        error: job.error.clone().unwrap_or_default(),
        facts: facts(&job),
        poster: poster::poster(&state, &job, &principal.user).await,
        streams: job
            .facts
            .as_ref()
            .filter(|_| job.state == JobState::Succeeded)
            .map(poster::streams)
            .unwrap_or_default(),
        attempts,
        log,
        log_cut,
        log_tail_kib: LOG_TAIL_BYTES / 1024,
        after: cursor.map(|c| format!("?after={}", crate::sse::cursor_id(c))).unwrap_or_default(),
    };
    Ok(html(StatusCode::OK, &page))
}

/// `/jobs/{id}/progress`: the progress line alone.
pub async fn progress(_: Principal, state: web::Data<AppState>, id: web::Path<u64>) -> Result<HttpResponse, PageError> {
    let job = state.actors.coordinator.send(coord::Status(JobId(*id))).await??;
    Ok(html(StatusCode::OK, &JobProgress::of(&job)))
}

/// `POST /jobs/{id}/action`: cancel, retry or a new priority; then back to the job.
pub async fn action(form: FormPost, state: web::Data<AppState>, id: web::Path<u64>) -> Result<HttpResponse, PageError> {
    let id = JobId(*id);
    let coordinator = &state.actors.coordinator;
    match form.get("action").unwrap_or("") {
        "cancel" => coordinator.send(coord::Cancel { id, by: form.principal.user.clone() }).await??,
        "retry" => coordinator.send(coord::Retry { id, by: form.principal.user.clone() }).await??,
        "priority" => {
            let priority = form
                .get("priority")
                .and_then(|p| p.trim().parse().ok())
                .ok_or_else(|| WebError::BadRequest("the priority must be a whole number".into()))?;
            coordinator.send(coord::SetPriority { id, priority, by: form.principal.user.clone() }).await??
        }
        other => return Err(WebError::BadRequest(format!("no job action {other:?}")).into()),
    };
    Ok(see_other(&format!("/jobs/{id}")))
}
