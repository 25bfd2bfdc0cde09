//! What the API and the pages both do: the steps behind a submit, a reservation, a log download, so that a form and
//! a JSON request meet the same checks and the same refusals.

use crate::auth::Principal;
use crate::state::Actors;
use crate::submit::{self, CheckHere, SubmitRequest};
use crate::WebError;
use distencode_actors::auth::User;
use distencode_actors::coordinator::{self as coord, RequestError};
use distencode_actors::registry::{Drain, Forget, Reserve, Unreserve};
use distencode_wire::job::{JobId, JobRecord};
use distencode_wire::limits;
use distencode_wire::message::WorkerView;
use futures::Stream;
use std::path::PathBuf;

/// Checks the project (on this machine when it sees the path) and submits it as the caller.
pub async fn submit(actors: &Actors, principal: &Principal, request: SubmitRequest) -> Result<JobRecord, WebError> {
    let project = PathBuf::from(request.project.trim());
    if project.as_os_str().is_empty() {
        return Err(WebError::BadRequest("no project given: the path of a .mlt file as the workers see it".into()));
    }
    // Reading a project opens its media, which may block on a share: never on a server thread.
    let house = actors.presets.clone();
    let prepared = actix_web::web::block(move || submit::prepare(&project, &request, &house, CheckHere::WhenVisible))
        .await
        .map_err(|e| WebError::Unavailable(format!("the project check did not finish: {e}")))?
        .map_err(WebError::BadRequest)?;
    limits::check_spec(&prepared.spec)?;
    let message = coord::Submit { spec: prepared.spec, by: principal.user.clone() };
    match actors.coordinator.send(message).await? {
        Ok(record) => Ok(record),
        Err(RequestError::NoWorkerCanRender(lacks)) => {
            let text = RequestError::NoWorkerCanRender(lacks).to_string();
            Err(WebError::Unprocessable(submit::explain_filters(&text, &prepared.filters)))
        }
        Err(other) => Err(other.into()),
    }
}

pub async fn reserve(
    actors: &Actors,
    by: &User,
    worker: &str,
    person: String,
    until: Option<u64>,
    now: bool,
) -> Result<Vec<WorkerView>, WebError> {
    limits::check_reservation(worker, &person)?;
    Ok(actors.registry.send(Reserve { worker: worker.to_string(), person, until, now, by: by.clone() }).await??)
}

pub async fn release(actors: &Actors, by: &User, worker: String) -> Result<Vec<WorkerView>, WebError> {
    Ok(actors.registry.send(Unreserve { worker, by: by.clone() }).await??)
}

pub async fn drain(actors: &Actors, by: &User, worker: String) -> Result<Vec<WorkerView>, WebError> {
    Ok(actors.registry.send(Drain { worker, by: by.clone() }).await??)
}

/// `worker forget`: a worker that is gone leaves the list (admins only).
pub async fn forget(actors: &Actors, by: &User, worker: String) -> Result<Vec<WorkerView>, WebError> {
    Ok(actors.registry.send(Forget { worker, by: by.clone() }).await??)
}

/// A job's whole stored log, read piece by piece as it is sent (a log may hold 64 MiB per attempt).
pub fn log_stream(
    coordinator: actix::Addr<coord::Coordinator>,
    id: JobId,
) -> impl Stream<Item = Result<bytes::Bytes, actix_web::Error>> {
    futures::stream::unfold(Some(None), move |cursor| {
        let coordinator = coordinator.clone();
        async move {
            let after = cursor?;
            let piece = match coordinator.send(coord::Logs { id, after }).await {
                Ok(Ok(piece)) => piece,
                Ok(Err(e)) => return Some((Err(actix_web::error::ErrorServiceUnavailable(e.to_string())), None)),
                Err(e) => return Some((Err(actix_web::error::ErrorServiceUnavailable(e.to_string())), None)),
            };
            let (text, next) = piece;
            if text.is_empty() {
                return None;
            }
            Some((Ok(bytes::Bytes::from(text)), Some(next)))
        }
    })
}
