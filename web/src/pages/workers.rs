//! `/workers`: every worker: state, current job with progress, melt version, CPUs, services and encoders
//! (collapsed), last heartbeat, recent failures and suspect mark, reservation; reserve, release and drain with the
//! same rules as `distencode worker ...`. Above the table, the certificates that expire within 30 days.

use super::view::{self, ProgressView};
use super::{html, see_other, Viewer};
use crate::actions;
use crate::auth::{FormPost, Principal};
use crate::error::PageError;
use crate::state::AppState;
use crate::WebError;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;
use distencode_actors::coordinator as coord;
use distencode_wire::fingerprint::{majority, Fingerprint};
use distencode_wire::job::{now_ms, JobRecord};
use distencode_wire::message::WorkerView;

pub struct WorkerRow {
    pub name: String,
    /// The name as a safe element id (hex): the row's form fields keep what was typed when the table is redrawn.
    pub key: String,
    pub state: String,
    /// The current job's id, or empty.
    pub job: String,
    pub progress: ProgressView,
    pub melt_version: String,
    pub cpus: u32,
    pub services: usize,
    pub service_names: Vec<String>,
    pub video_encoders: Vec<String>,
    pub audio_encoders: Vec<String>,
    pub seen: String,
    pub recent_failures: u32,
    pub suspect: bool,
    /// `alice until 2026-12-01 20:00:00 UTC`, `draining`, or `-`.
    pub reservation: String,
    /// Reserved or draining: it can be released.
    pub held: bool,
    pub draining: bool,
    /// Its render stack in full (the cell's title), as eight hex digits (`-` when it announced none), and how it
    /// differs from the stack most workers share (empty when it does not).
    pub stack: String,
    pub stack_short: String,
    pub stack_differs: String,
}

impl WorkerRow {
    fn of(worker: &WorkerView, jobs: &[JobRecord], now: u64, usual: Option<&Fingerprint>) -> Self {
        let known = worker.fingerprint.is_known();
        let differs = worker.fingerprint.unusual(usual);
        let job = worker.current_job.and_then(|id| jobs.iter().find(|j| j.id == id));
        let mut reservation = match &worker.reserved_by {
            Some(person) => match worker.reserved_until {
                Some(until) => format!("{person} until {}", view::time(Some(until))),
                None => format!("{person} until released"),
            },
            None => String::new(),
        };
        if worker.draining {
            reservation = if reservation.is_empty() { "draining".into() } else { format!("{reservation}; draining") };
        }
        WorkerRow {
            name: worker.name.clone(),
            key: dom_key(&worker.name),
            state: worker.state.clone(),
            job: worker.current_job.map(|id| id.to_string()).unwrap_or_default(),
            progress: job.map(ProgressView::of).unwrap_or(ProgressView {
                percent: 0.0,
                label: "-".into(),
                detail: String::new(),
            }),
            melt_version: worker.melt_version.clone(),
            cpus: worker.cpus,
            services: worker.services,
            service_names: worker.service_names.clone(),
            video_encoders: worker.video_encoders.clone(),
            audio_encoders: worker.audio_encoders.clone(),
            seen: view::ago(worker.last_seen, now),
            recent_failures: worker.recent_failures,
            suspect: worker.suspect,
            held: worker.reserved_by.is_some() || worker.draining,
            draining: worker.draining,
            reservation: if reservation.is_empty() { "-".into() } else { reservation },
            stack: worker.fingerprint.to_string(),
            stack_short: if known { worker.fingerprint.short() } else { "-".into() },
            stack_differs: differs.map(|usual| worker.fingerprint.differences(usual).join(", ")).unwrap_or_default(),
        }
    }
}

/// A worker name as letters and digits only (any name a certificate may carry becomes a valid, distinct element id).
fn dom_key(name: &str) -> String {
    name.bytes().map(|b| format!("{b:02x}")).collect()
}

#[derive(Template)]
#[template(path = "workers.html")]
struct Workers {
    user: String,
    role: &'static str,
    csrf: String,
    rows: Vec<WorkerRow>,
    /// Certificates expiring within 30 days, listed above the table.
    expiring: Vec<super::expiring::ExpiringRow>,
}

#[derive(Template)]
#[template(path = "workers_tbody.html")]
struct WorkersTbody {
    user: String,
    csrf: String,
    rows: Vec<WorkerRow>,
}

pub async fn page(
    principal: Principal,
    state: web::Data<AppState>,
    partial: web::Query<super::Partial>,
) -> Result<HttpResponse, PageError> {
    let workers = state.actors.coordinator.send(coord::Workers).await??;
    let busy: Vec<_> = workers.iter().filter_map(|w| w.current_job).collect();
    let mut jobs = Vec::new();
    for id in busy {
        if let Ok(Ok(job)) = state.actors.coordinator.send(coord::Status(id)).await {
            jobs.push(job);
        }
    }
    let now = now_ms();
    let usual = majority(workers.iter().map(|w| &w.fingerprint));
    let rows = workers.iter().map(|w| WorkerRow::of(w, &jobs, now, usual)).collect();
    let viewer = Viewer::of(&principal);
    if partial.table_only() {
        return Ok(html(StatusCode::OK, &WorkersTbody { user: viewer.user, csrf: viewer.csrf, rows }));
    }
    let expiring = super::expiring::rows(&state);
    Ok(html(StatusCode::OK, &Workers { user: viewer.user, role: viewer.role, csrf: viewer.csrf, rows, expiring }))
}

/// `POST /workers/{name}/action`: reserve (for a person, for a while, after the current job or now), release,
/// drain, forget (a lost worker); then back to the workers.
pub async fn action(
    form: FormPost,
    state: web::Data<AppState>,
    name: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let name = name.into_inner();
    match form.get("action").unwrap_or("") {
        "reserve" => {
            let person = form.get("person").map(str::trim).filter(|p| !p.is_empty());
            let person = person.unwrap_or(&form.principal.user.name).to_string();
            let seconds: Option<u64> = match form.get("for").unwrap_or("") {
                "" => None,
                s => Some(s.parse().map_err(|_| WebError::BadRequest(format!("{s:?} is not a number of seconds")))?),
            };
            let until = seconds.map(|s| now_ms().saturating_add(s.saturating_mul(1000)));
            actions::reserve(&state.actors, &form.principal.user, &name, person, until, form.get("now") == Some("1"))
                .await?;
        }
        "release" => {
            actions::release(&state.actors, &form.principal.user, name).await?;
        }
        "drain" => {
            actions::drain(&state.actors, &form.principal.user, name).await?;
        }
        "forget" => {
            actions::forget(&state.actors, &form.principal.user, name).await?;
        }
        other => return Err(WebError::BadRequest(format!("no worker action {other:?}")).into()),
    }
    Ok(see_other("/workers"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_worker_name_becomes_a_distinct_plain_id() {
        assert_eq!(super::dom_key("w1"), "7731");
        assert_ne!(super::dom_key("render.01"), super::dom_key("render-01"));
        assert!(super::dom_key("a b<\"é").bytes().all(|b| b.is_ascii_hexdigit()));
    }
}
