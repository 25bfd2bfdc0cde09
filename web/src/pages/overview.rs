//! `/`: how the farm is doing at a glance: jobs and workers by state, the queue's length, frames per second now.

use super::{html, Viewer};
use crate::auth::Principal;
use crate::error::PageError;
use crate::query::STATES;
use crate::state::AppState;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;
use distencode_actors::coordinator as coord;
use distencode_wire::job::JobState;

/// The worker states, in the order the overview lists them.
const WORKER_STATES: [&str; 5] = ["idle", "busy", "reserved", "draining", "lost"];

#[derive(Template)]
#[template(path = "overview.html")]
struct Overview {
    user: String,
    role: &'static str,
    csrf: String,
    job_counts: Vec<(&'static str, usize)>,
    worker_counts: Vec<(&'static str, usize)>,
    queue_length: usize,
    farm_fps: String,
}

#[derive(Template)]
#[template(path = "overview_partial.html")]
struct OverviewPartial {
    job_counts: Vec<(&'static str, usize)>,
    worker_counts: Vec<(&'static str, usize)>,
    queue_length: usize,
    farm_fps: String,
}

pub async fn page(principal: Principal, state: web::Data<AppState>, partial: bool) -> Result<HttpResponse, PageError> {
    let jobs = state.actors.coordinator.send(coord::List).await??;
    let workers = state.actors.coordinator.send(coord::Workers).await??;
    let job_counts = STATES.iter().map(|s| (s.as_str(), jobs.iter().filter(|j| j.state == *s).count())).collect();
    let worker_counts = WORKER_STATES.iter().map(|s| (*s, workers.iter().filter(|w| w.state == *s).count())).collect();
    let queue_length = jobs.iter().filter(|j| j.state == JobState::Queued).count();
    let fps: f64 =
        jobs.iter().filter(|j| j.state == JobState::Running).filter_map(|j| j.progress.as_ref().map(|p| p.fps)).sum();
    let farm_fps = format!("{fps:.1}");
    if partial {
        return Ok(html(StatusCode::OK, &OverviewPartial { job_counts, worker_counts, queue_length, farm_fps }));
    }
    let viewer = Viewer::of(&principal);
    let page = Overview {
        user: viewer.user,
        role: viewer.role,
        csrf: viewer.csrf,
        job_counts,
        worker_counts,
        queue_length,
        farm_fps,
    };
    Ok(html(StatusCode::OK, &page))
}
