//! The JSON API under `/api/v1/`: the same questions `distencode job ...` and `worker ...` ask over the wire, with
//! the same JSON as their `--json` ([`crate::json`]) and the same one-line refusals (`{"error": "..."}`).
//! A session (with `X-CSRF-Token` on POSTs) or `Authorization: Bearer TOKEN` authorises it: see `docs/api.md`.

use crate::actions;
use crate::auth::Principal;
use crate::error::ApiError;
use crate::json::{job_json, workers_json};
use crate::query::JobQuery;
use crate::state::AppState;
use crate::submit::SubmitRequest;
use crate::WebError;
use actix_web::{web, HttpResponse};
use distencode_actors::coordinator as coord;
use distencode_wire::job::JobId;
use serde::Deserialize;

pub fn routes(config: &mut web::ServiceConfig) {
    config.service(
        web::scope("/api/v1")
            .route("/me", web::get().to(me))
            .route("/jobs", web::get().to(list_jobs))
            .route("/jobs", web::post().to(submit))
            .route("/jobs/{id}", web::get().to(job))
            .route("/jobs/{id}/log", web::get().to(log))
            .route("/jobs/{id}/thumbnail", web::get().to(thumbnail))
            .route("/jobs/{id}/events", web::get().to(crate::sse::job_events))
            .route("/jobs/{id}/cancel", web::post().to(cancel))
            .route("/jobs/{id}/retry", web::post().to(retry))
            .route("/jobs/{id}/priority", web::post().to(priority))
            .route("/workers", web::get().to(workers))
            .route("/workers/{name}/reserve", web::post().to(reserve))
            .route("/workers/{name}/release", web::post().to(release))
            .route("/workers/{name}/drain", web::post().to(drain))
            .route("/workers/{name}/forget", web::post().to(forget))
            .route("/events", web::get().to(crate::sse::farm_events))
            .default_service(web::to(|| async {
                ApiError(WebError::NotFound("no such API route; see docs/api.md".into())).into_response()
            })),
    );
}

type Answer = Result<HttpResponse, ApiError>;

/// `GET /api/v1/me`: who the caller is: `{"user": NAME, "role": "admin" | "user"}`.
async fn me(principal: Principal) -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({"user": principal.user.name, "role": principal.user.role}))
}

/// `GET /api/v1/jobs[?state=&q=&sort=&page=&per_page=]`: the jobs of the view, as `job list --json` prints them;
/// `X-Total-Count` says how many the view holds.
async fn list_jobs(principal: Principal, state: web::Data<AppState>, query: web::Query<JobQuery>) -> Answer {
    let query = query.into_inner().checked()?;
    let page = state.actors.coordinator.send(coord::ListPage(query.filter(), principal.user.clone())).await??;
    let body: Vec<serde_json::Value> = page.jobs.iter().map(job_json).collect();
    Ok(HttpResponse::Ok().insert_header(("X-Total-Count", page.total.to_string())).json(body))
}

async fn job(principal: Principal, state: web::Data<AppState>, id: web::Path<u64>) -> Answer {
    let record = state.actors.coordinator.send(coord::Seen { id: JobId(*id), by: principal.user }).await??;
    Ok(HttpResponse::Ok().json(job_json(&record)))
}

/// `GET /api/v1/jobs/{id}/log`: melt's whole output, every attempt in order, as `job logs` prints it.
async fn log(principal: Principal, state: web::Data<AppState>, id: web::Path<u64>) -> Answer {
    let id = JobId(*id);
    // The job must exist (an unknown id is a 404, not an empty log), and be the caller's to read (or they are an
    // admin), as on the wire.
    state.actors.coordinator.send(coord::Details { id, by: principal.user }).await??;
    Ok(HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .insert_header(("Content-Disposition", format!("attachment; filename=\"job-{id}.log\"")))
        .streaming(actions::log_stream(state.actors.coordinator.clone(), id)))
}

/// `GET /api/v1/jobs/{id}/thumbnail`: the poster frame the worker made of a succeeded job's output (`image/jpeg`),
/// read by the job's id only, for its owner or an admin (as its log is); 404 when it has none.
async fn thumbnail(principal: Principal, state: web::Data<AppState>, id: web::Path<u64>) -> Answer {
    let id = JobId(*id);
    let jpeg = state.actors.coordinator.send(coord::Thumbnail { id, by: principal.user }).await??;
    let jpeg = jpeg.ok_or_else(|| WebError::NotFound(format!("job {id} has no poster frame")))?;
    Ok(HttpResponse::Ok()
        .content_type("image/jpeg")
        // Another success (after a retry) brings another picture: the browser asks each time.
        .insert_header((actix_web::http::header::CACHE_CONTROL, "private, no-cache"))
        .body(jpeg))
}

/// `POST /api/v1/jobs` with a [`SubmitRequest`]: checked as `job submit` checks it (here, on the coordinator's
/// machine, when it sees the project), answered 201 with the job.
async fn submit(principal: Principal, state: web::Data<AppState>, request: web::Json<SubmitRequest>) -> Answer {
    let record = actions::submit(&state.actors, &principal, request.into_inner()).await?;
    Ok(HttpResponse::Created().json(job_json(&record)))
}

async fn cancel(principal: Principal, state: web::Data<AppState>, id: web::Path<u64>) -> Answer {
    let record = state.actors.coordinator.send(coord::Cancel { id: JobId(*id), by: principal.user }).await??;
    Ok(HttpResponse::Ok().json(job_json(&record)))
}

async fn retry(principal: Principal, state: web::Data<AppState>, id: web::Path<u64>) -> Answer {
    let record = state.actors.coordinator.send(coord::Retry { id: JobId(*id), by: principal.user }).await??;
    Ok(HttpResponse::Ok().json(job_json(&record)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PriorityRequest {
    priority: i32,
}

async fn priority(
    principal: Principal,
    state: web::Data<AppState>,
    id: web::Path<u64>,
    request: web::Json<PriorityRequest>,
) -> Answer {
    let message = coord::SetPriority { id: JobId(*id), priority: request.priority, by: principal.user };
    let record = state.actors.coordinator.send(message).await??;
    Ok(HttpResponse::Ok().json(job_json(&record)))
}

async fn workers(_: Principal, state: web::Data<AppState>) -> Answer {
    let workers = state.actors.coordinator.send(coord::Workers).await??;
    Ok(HttpResponse::Ok().json(workers_json(&workers)))
}

/// A reservation as `worker reserve` makes it: for `person` (default: the caller), until `until` (unix ms; none:
/// until released), `now` to take the worker even from its current job's end.
#[derive(Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
struct ReserveRequest {
    person: Option<String>,
    until: Option<u64>,
    now: bool,
}

async fn reserve(
    principal: Principal,
    state: web::Data<AppState>,
    name: web::Path<String>,
    request: Option<web::Json<ReserveRequest>>,
) -> Answer {
    let request = request.map(web::Json::into_inner).unwrap_or_default();
    let person = request.person.unwrap_or(principal.user.name.clone());
    let workers =
        actions::reserve(&state.actors, &principal.user, name.as_str(), person, request.until, request.now).await?;
    Ok(HttpResponse::Ok().json(workers_json(&workers)))
}

async fn release(principal: Principal, state: web::Data<AppState>, name: web::Path<String>) -> Answer {
    let workers = actions::release(&state.actors, &principal.user, name.into_inner()).await?;
    Ok(HttpResponse::Ok().json(workers_json(&workers)))
}

async fn drain(principal: Principal, state: web::Data<AppState>, name: web::Path<String>) -> Answer {
    let workers = actions::drain(&state.actors, &principal.user, name.into_inner()).await?;
    Ok(HttpResponse::Ok().json(workers_json(&workers)))
}

async fn forget(principal: Principal, state: web::Data<AppState>, name: web::Path<String>) -> Answer {
    let workers = actions::forget(&state.actors, &principal.user, name.into_inner()).await?;
    Ok(HttpResponse::Ok().json(workers_json(&workers)))
}

impl ApiError {
    fn into_response(self) -> HttpResponse {
        actix_web::ResponseError::error_response(&self)
    }
}
