//! Server-Sent Events, pushed from the coordinator's own signals (never polled):
//! - `GET /api/v1/jobs/{id}/events` (JSON) and `GET /jobs/{id}/live` (HTML fragments for the job page): the job's
//!   log batches as they are stored (each event's id is its log cursor `ATTEMPT:BATCH`, so a reconnecting browser's
//!   `Last-Event-ID`, or `?after=`, resumes after the last batch it has) and the job at each change, until it is
//!   final (then an `end` event).
//! - `GET /api/v1/events`: every job and worker change of the farm (`job`, `progress`, `worker`; `resync` when the
//!   follower fell behind and should look again).
//!
//! Each stream is a task that awaits the signals and writes into a small bounded channel read by the response: a
//! slow browser makes its own task wait, never an actor. Streams are capped at [`MAX_EVENT_STREAMS`].

use crate::auth::Principal;
use crate::error::{ApiError, PageError};
use crate::json::job_json;
use crate::limits::MAX_EVENT_STREAMS;
use crate::pages::JobProgress;
use crate::state::AppState;
use crate::WebError;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use bytes::Bytes;
use distencode_actors::coordinator::{self as coord, Coordinator};
use distencode_actors::events::FarmEvent;
use distencode_actors::store::LogCursor;
use distencode_wire::job::{JobId, JobRecord};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{broadcast, mpsc};

/// A comment line this often keeps proxies and browsers from closing a quiet stream.
const KEEPALIVE: Duration = Duration::from_secs(15);
/// Events buffered per stream before its task waits for the browser.
const STREAM_BUFFER: usize = 32;

/// One event in the `text/event-stream` format; every line of `data` becomes a `data:` line.
pub fn event(name: &str, id: Option<&str>, data: &str) -> Bytes {
    let mut text = format!("event: {name}\n");
    if let Some(id) = id {
        text.push_str(&format!("id: {id}\n"));
    }
    for line in data.split('\n') {
        text.push_str("data: ");
        text.push_str(line.strip_suffix('\r').unwrap_or(line));
        text.push('\n');
    }
    text.push('\n');
    Bytes::from(text)
}

/// Text made safe to insert as HTML (the job page appends log events to its `<pre>` as they come).
pub fn escape_html(text: &str) -> String {
    distencode_mlt::escape_markup(text)
}

/// A log cursor as an event id, and back.
pub fn cursor_id((attempt, batch): LogCursor) -> String {
    format!("{attempt}:{batch}")
}

pub fn parse_cursor(text: &str) -> Option<LogCursor> {
    let (attempt, batch) = text.trim().split_once(':')?;
    Some((attempt.parse().ok()?, batch.parse().ok()?))
}

/// Counts a stream as open for as long as it lives.
struct Slot(Arc<AppState>);

impl Slot {
    fn take(state: &web::Data<AppState>) -> Result<Slot, WebError> {
        let open = state.streams.fetch_add(1, Ordering::SeqCst);
        if open >= MAX_EVENT_STREAMS {
            state.streams.fetch_sub(1, Ordering::SeqCst);
            return Err(WebError::Unavailable(format!("{MAX_EVENT_STREAMS} event streams are open; try again later")));
        }
        Ok(Slot(state.clone().into_inner()))
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.streams.fetch_sub(1, Ordering::SeqCst);
    }
}

fn stream_response(receiver: mpsc::Receiver<Bytes>) -> HttpResponse {
    let body = futures::stream::unfold(receiver, |mut receiver| async move {
        let bytes = receiver.recv().await?;
        Some((Ok::<_, actix_web::Error>(bytes), receiver))
    });
    HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header(("Cache-Control", "no-cache"))
        .insert_header(("X-Accel-Buffering", "no"))
        .streaming(body)
}

/// How a job stream writes its events.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Form {
    Json,
    Html,
}

impl Form {
    fn log(self, text: &str, cursor: LogCursor) -> Bytes {
        let id = cursor_id(cursor);
        match self {
            Form::Json => event("log", Some(&id), &serde_json::json!({ "text": text }).to_string()),
            Form::Html => event("log", Some(&id), &escape_html(text)),
        }
    }

    fn job(self, record: &JobRecord) -> Bytes {
        match self {
            Form::Json => event("job", None, &job_json(record).to_string()),
            Form::Html => event("progress", None, &JobProgress::of(record).render().unwrap_or_default()),
        }
    }
}

/// Where a job stream starts in the log: `Last-Event-ID`, else `?after=`, else the beginning.
fn resume_from(request: &HttpRequest) -> Option<LogCursor> {
    let header = request.headers().get("last-event-id").and_then(|v| v.to_str().ok()).and_then(parse_cursor);
    header.or_else(|| {
        form_urlencoded::parse(request.query_string().as_bytes())
            .find(|(k, _)| k == "after")
            .and_then(|(_, v)| parse_cursor(&v))
    })
}

async fn open_job_stream(
    principal: Principal,
    request: &HttpRequest,
    state: &web::Data<AppState>,
    id: JobId,
    form: Form,
) -> Result<HttpResponse, WebError> {
    let coordinator = state.actors.coordinator.clone();
    // Its log lines are the job's details: the owner's or an admin's to read.
    coordinator.send(coord::Details { id, by: principal.user }).await??;
    let watch = coordinator.send(coord::Watch(id)).await??;
    let signal = coordinator.send(coord::LogSignal(id)).await??;
    let slot = Slot::take(state)?;
    let (sender, receiver) = mpsc::channel(STREAM_BUFFER);
    let cursor = resume_from(request);
    actix_rt::spawn(follow_job(coordinator, id, watch, signal, cursor, form, sender, slot));
    Ok(stream_response(receiver))
}

/// Sends every log batch stored after `cursor`; the cursor moves on. False once the browser is gone.
async fn send_logs(
    coordinator: &actix::Addr<Coordinator>,
    id: JobId,
    cursor: &mut Option<LogCursor>,
    form: Form,
    sender: &mpsc::Sender<Bytes>,
) -> bool {
    loop {
        let Ok(Ok((text, next))) = coordinator.send(coord::Logs { id, after: *cursor }).await else { return false };
        let Some(next) = next.filter(|_| !text.is_empty()) else { return true };
        if sender.send(form.log(&text, next)).await.is_err() {
            return false;
        }
        *cursor = Some(next);
    }
}

#[allow(clippy::too_many_arguments)]
async fn follow_job(
    coordinator: actix::Addr<Coordinator>,
    id: JobId,
    mut watch: tokio::sync::watch::Receiver<JobRecord>,
    mut signal: Option<tokio::sync::watch::Receiver<u64>>,
    mut cursor: Option<LogCursor>,
    form: Form,
    sender: mpsc::Sender<Bytes>,
    _slot: Slot,
) {
    let mut watching = true;
    loop {
        if !send_logs(&coordinator, id, &mut cursor, form, &sender).await {
            return;
        }
        let record = watch.borrow_and_update().clone();
        if sender.send(form.job(&record)).await.is_err() {
            return;
        }
        if record.state.is_final() || !watching {
            // Batches stored just before the final state are read once more, then the stream ends.
            if send_logs(&coordinator, id, &mut cursor, form, &sender).await {
                let _ = sender.send(event("end", None, record.state.as_str())).await;
            }
            return;
        }
        let mut log_gone = false;
        tokio::select! {
            changed = watch.changed() => watching = changed.is_ok(),
            changed = async { signal.as_mut().expect("guarded").changed().await }, if signal.is_some() => {
                log_gone = changed.is_err();
            }
            _ = tokio::time::sleep(KEEPALIVE) => {
                if sender.send(Bytes::from_static(b": keepalive\n\n")).await.is_err() {
                    return;
                }
            }
            _ = sender.closed() => return,
        }
        if log_gone {
            signal = None;
        }
    }
}

/// `GET /api/v1/jobs/{id}/events`.
pub async fn job_events(
    principal: Principal,
    request: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<u64>,
) -> Result<HttpResponse, ApiError> {
    Ok(open_job_stream(principal, &request, &state, JobId(*id), Form::Json).await?)
}

/// `GET /jobs/{id}/live`: the job page's stream.
pub async fn job_live(
    principal: Principal,
    request: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<u64>,
) -> Result<HttpResponse, PageError> {
    Ok(open_job_stream(principal, &request, &state, JobId(*id), Form::Html).await?)
}

/// `GET /api/v1/events`: the farm's changes.
pub async fn farm_events(_: Principal, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let events = state.actors.coordinator.send(coord::SubscribeEvents).await?;
    let slot = Slot::take(&state)?;
    let (sender, receiver) = mpsc::channel(STREAM_BUFFER);
    actix_rt::spawn(follow_farm(events, sender, slot));
    Ok(stream_response(receiver))
}

fn farm_event(change: &FarmEvent) -> Bytes {
    match change {
        FarmEvent::Job { id, state } => {
            event("job", None, &serde_json::json!({ "id": id, "state": state }).to_string())
        }
        FarmEvent::Progress { id, percent } => {
            event("progress", None, &serde_json::json!({ "id": id, "progress": percent }).to_string())
        }
        FarmEvent::Worker { name } => event("worker", None, &serde_json::json!({ "name": name }).to_string()),
    }
}

async fn follow_farm(mut events: broadcast::Receiver<FarmEvent>, sender: mpsc::Sender<Bytes>, _slot: Slot) {
    // The first event tells the browser the stream is open.
    if sender.send(Bytes::from_static(b": open\n\n")).await.is_err() {
        return;
    }
    loop {
        let bytes = tokio::select! {
            received = events.recv() => match received {
                Ok(change) => farm_event(&change),
                Err(broadcast::error::RecvError::Lagged(missed)) => event("resync", None, &missed.to_string()),
                Err(broadcast::error::RecvError::Closed) => return,
            },
            _ = tokio::time::sleep(KEEPALIVE) => Bytes::from_static(b": keepalive\n\n"),
            _ = sender.closed() => return,
        };
        if sender.send(bytes).await.is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_framed_line_by_line_and_cursors_round_trip() {
        let bytes = event("log", Some("2:7"), "one\ntwo\r\nthree");
        assert_eq!(&bytes[..], b"event: log\nid: 2:7\ndata: one\ndata: two\ndata: three\n\n");
        assert_eq!(parse_cursor(&cursor_id((2, 7))), Some((2, 7)));
        assert_eq!(parse_cursor("7"), None);
        assert_eq!(parse_cursor("a:1"), None);
    }

    #[test]
    fn html_log_events_carry_text_never_markup() {
        let bytes = Form::Html.log("<img src=x onerror=alert(1)>", (1, 0));
        let text = String::from_utf8(bytes.to_vec()).unwrap();
        assert!(text.contains("data: &lt;img src=x onerror=alert(1)&gt;"), "{text}");
        assert!(!text.contains("<img"));
    }
}
