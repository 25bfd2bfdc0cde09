//! One client's connection: requests in, answers out, in order.
//!
//! The client's certificate name becomes a [`User`] when the connection starts. Every job sent back is
//! [`redact`]ed for that user, a log is sent only to whom may see it, and changes carry the user to the actor that
//! checks them (`auth::rules`).

use super::ServerContext;
use crate::auth::{authorize, redact, Action, User};
use crate::coordinator::{self as coord, Answer, RequestError};
use crate::registry::{Drain, Forget, Reserve, Unreserve};
use distencode_wire::connection::{Connection, ConnectionError, ServerStream};
use distencode_wire::frame::{self, MAX_FRAME_BYTES};
use distencode_wire::job::{JobId, JobRecord};
use distencode_wire::limits;
use distencode_wire::message::{ClientReply, ClientRequest};
use tokio::sync::watch;

/// Jobs per `Jobs` page at most.
const JOBS_PER_PAGE: usize = 256;
/// Encoded bytes per `Jobs` page at most (a record within `distencode_wire::limits` is under 300 KiB, so any one
/// fits): pages stay a quarter of the frame cap whatever the records hold.
const PAGE_BYTES: usize = MAX_FRAME_BYTES / 4;

pub(super) async fn run(
    mut conn: Connection<ServerStream>,
    client: String,
    context: ServerContext,
    mut shutdown: watch::Receiver<bool>,
) {
    let user = context.users.for_certificate(&client);
    tracing::debug!(%client, %user, "client connected");
    loop {
        let received = tokio::select! {
            received = conn.recv_within::<ClientRequest>(context.limits.client_idle_timeout) => received,
            // The coordinator stops: between two requests, close cleanly.
            _ = shutdown.wait_for(|stop| *stop) => {
                let _ = conn.close().await;
                return;
            }
        };
        let request = match received {
            Ok(Some(request)) => request,
            Ok(None) => return,
            // A client that exits without closing TLS has still said all it meant to.
            Err(ConnectionError::Io(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => return,
            Err(e) => {
                tracing::info!(%client, "client connection ended: {e}");
                return;
            }
        };
        if let Err(e) = serve(&mut conn, &user, request, &context).await {
            tracing::info!(%client, "client connection ended: {e}");
            return;
        }
    }
}

async fn serve(
    conn: &mut Connection<ServerStream>,
    user: &User,
    request: ClientRequest,
    context: &ServerContext,
) -> Result<(), ConnectionError> {
    let coordinator = &context.coordinator;
    let by = user.clone();
    let job = |result| job(result, context, user);
    let reply = match request {
        ClientRequest::Submit(spec) => match limits::check_spec(&spec) {
            Ok(()) => job(coordinator.send(coord::Submit { spec, by }).await),
            Err(refusal) => ClientReply::Error(refusal.to_string()),
        },
        ClientRequest::Status(id) => job(coordinator.send(coord::Status(id)).await),
        ClientRequest::Cancel(id) => job(coordinator.send(coord::Cancel { id, by }).await),
        ClientRequest::Retry(id) => job(coordinator.send(coord::Retry { id, by }).await),
        ClientRequest::List => match flatten(coordinator.send(coord::List).await) {
            Ok(jobs) => {
                let jobs = jobs.into_iter().map(|record| redact(&context.users, user, record)).collect();
                for page in pages(jobs) {
                    conn.send(&ClientReply::Jobs(page)).await?;
                }
                ClientReply::JobsEnd
            }
            Err(e) => ClientReply::Error(e.to_string()),
        },
        ClientRequest::WorkerList => match flatten(coordinator.send(coord::Workers).await) {
            Ok(workers) => ClientReply::Workers(workers),
            Err(e) => ClientReply::Error(e.to_string()),
        },
        ClientRequest::Reserve { worker, person, until, now } => {
            // No person named: the user reserves for themselves.
            let person = if person.is_empty() { user.name.clone() } else { person };
            match limits::check_reservation(&worker, &person) {
                Ok(()) => workers(context.registry.send(Reserve { worker, person, until, now, by }).await),
                Err(refusal) => ClientReply::Error(refusal.to_string()),
            }
        }
        ClientRequest::Release { worker } => workers(context.registry.send(Unreserve { worker, by }).await),
        ClientRequest::Drain { worker } => workers(context.registry.send(Drain { worker, by }).await),
        ClientRequest::Forget { worker } => match limits::check_reservation(&worker, "") {
            Ok(()) => workers(context.registry.send(Forget { worker, by }).await),
            Err(refusal) => ClientReply::Error(refusal.to_string()),
        },
        ClientRequest::Priority { id, priority } => {
            job(coordinator.send(coord::SetPriority { id, priority, by }).await)
        }
        ClientRequest::Delete(ids) if ids.len() > limits::MAX_DELETE_JOBS => {
            ClientReply::Error(format!("at most {} jobs are deleted at once", limits::MAX_DELETE_JOBS))
        }
        ClientRequest::Delete(ids) => deleted(coordinator.send(coord::Delete { ids, by }).await),
        ClientRequest::Backup { to } => match limits::check_path("backup folder", &to) {
            Ok(()) => match flatten(coordinator.send(coord::BackupStore { to, by }).await) {
                Ok(summary) => ClientReply::BackedUp(summary),
                Err(e) => ClientReply::Error(e.to_string()),
            },
            Err(e) => ClientReply::Error(e.to_string()),
        },
        ClientRequest::Prune { before } => deleted(coordinator.send(coord::Prune { before, by: Some(by) }).await),
        ClientRequest::Audit { user, limit } => {
            match flatten(coordinator.send(coord::audit::AuditTrail { user, limit, skip: 0, by }).await) {
                Ok(entries) => ClientReply::Audit(entries),
                Err(e) => ClientReply::Error(e.to_string()),
            }
        }
        ClientRequest::Presets => ClientReply::Presets(context.presets.as_ref().clone()),
        ClientRequest::Logs { id, follow } => {
            // Only whom may see the job's details reads its log.
            let allowed = flatten(coordinator.send(coord::Status(id)).await).and_then(|record| {
                let owner = &record.submitted_by;
                Ok(authorize(&context.users, user, Action::SeeDetails { job: id, owner })?)
            });
            match allowed {
                Ok(()) => return send_log(conn, context, id, follow).await,
                Err(e) => ClientReply::Error(e.to_string()),
            }
        }
        ClientRequest::Watch(id) => match flatten(coordinator.send(coord::Watch(id)).await) {
            Ok(receiver) => return follow(conn, receiver, context, user).await,
            Err(e) => ClientReply::Error(e.to_string()),
        },
    };
    conn.send(&reply).await
}

/// The answer to a delete or a prune.
fn deleted(result: Result<Answer<Vec<JobId>>, actix::MailboxError>) -> ClientReply {
    match flatten(result) {
        Ok(ids) => ClientReply::Deleted(ids),
        Err(e) => ClientReply::Error(e.to_string()),
    }
}

/// `job list` in pages of at most [`JOBS_PER_PAGE`] records and [`PAGE_BYTES`] encoded bytes. A record too large
/// for a frame on its own (one stored before fields were capped) is left out and logged, so that it cannot break
/// the list for everyone; `job status` and deleting it still work by its id.
fn pages(jobs: Vec<JobRecord>) -> Vec<Vec<JobRecord>> {
    let mut pages = Vec::new();
    let (mut page, mut bytes) = (Vec::new(), 0);
    for record in jobs {
        let size = match frame::encode(&record) {
            Ok(encoded) if encoded.len() <= PAGE_BYTES => encoded.len(),
            _ => {
                tracing::warn!(job = %record.id, "job left out of job list: its record alone exceeds a page");
                continue;
            }
        };
        if !page.is_empty() && (page.len() == JOBS_PER_PAGE || bytes + size > PAGE_BYTES) {
            pages.push(std::mem::take(&mut page));
            bytes = 0;
        }
        page.push(record);
        bytes += size;
    }
    if !page.is_empty() {
        pages.push(page);
    }
    pages
}

fn flatten<T>(result: Result<Answer<T>, actix::MailboxError>) -> Answer<T> {
    result.unwrap_or_else(|e| Err(RequestError::CoordinatorUnavailable(e)))
}

fn workers(result: Result<Answer<Vec<distencode_wire::message::WorkerView>>, actix::MailboxError>) -> ClientReply {
    match flatten(result) {
        Ok(workers) => ClientReply::Workers(workers),
        Err(e) => ClientReply::Error(e.to_string()),
    }
}

/// A job as the user may see it.
fn job(result: Result<Answer<JobRecord>, actix::MailboxError>, context: &ServerContext, user: &User) -> ClientReply {
    match flatten(result) {
        Ok(record) => ClientReply::Job(redact(&context.users, user, record)),
        Err(e) => ClientReply::Error(e.to_string()),
    }
}

/// Sends the stored log in pieces; when following, goes on as batches are stored until the job has ended.
async fn send_log(
    conn: &mut Connection<ServerStream>,
    context: &ServerContext,
    id: JobId,
    follow: bool,
) -> Result<(), ConnectionError> {
    let coordinator = &context.coordinator;
    let mut signal = None;
    if follow {
        match flatten(coordinator.send(coord::LogSignal(id)).await) {
            Ok(receiver) => signal = receiver,
            Err(e) => return conn.send(&ClientReply::Error(e.to_string())).await,
        }
    }
    let mut cursor = None;
    loop {
        loop {
            let (text, next) = match flatten(coordinator.send(coord::Logs { id, after: cursor }).await) {
                Ok(piece) => piece,
                Err(e) => return conn.send(&ClientReply::Error(e.to_string())).await,
            };
            if text.is_empty() {
                break;
            }
            conn.send(&ClientReply::Log(text)).await?;
            cursor = next;
        }
        let Some(receiver) = signal.as_mut() else {
            break;
        };
        if receiver.changed().await.is_err() {
            // The job has ended: one last read picks up what was stored before its final state.
            signal = None;
        }
    }
    conn.send(&ClientReply::LogEnd).await
}

/// Sends the job (as the user may see it) now and at each change, until it is final.
async fn follow(
    conn: &mut Connection<ServerStream>,
    mut receiver: tokio::sync::watch::Receiver<JobRecord>,
    context: &ServerContext,
    user: &User,
) -> Result<(), ConnectionError> {
    let seen = |record: JobRecord| redact(&context.users, user, record);
    loop {
        let record = seen(receiver.borrow_and_update().clone());
        let done = record.state.is_final();
        conn.send(&ClientReply::JobUpdate(record)).await?;
        if done {
            return Ok(());
        }
        if receiver.changed().await.is_err() {
            // The sender is gone: the job became final after our last look, or the coordinator is stopping.
            let record = seen(receiver.borrow().clone());
            if record.state.is_final() {
                return conn.send(&ClientReply::JobUpdate(record)).await;
            }
            return conn.send(&ClientReply::Error("the coordinator stopped following this job".into())).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use distencode_wire::job::{Encoding, JobSpec};

    /// A job whose consumer properties take about `bytes`.
    fn record(id: u64, bytes: usize) -> JobRecord {
        let encoding = Encoding { extra: vec![("x".into(), "y".repeat(bytes))], ..Encoding::default() };
        let spec = JobSpec { encoding, ..JobSpec::new("/p.mlt", "/p.mp4") };
        JobRecord::queued(JobId(id), spec, "alice".into(), 0)
    }

    #[test]
    fn job_list_pages_hold_by_count_and_by_bytes_and_every_page_fits_a_frame() {
        let small: Vec<JobRecord> = (0..JOBS_PER_PAGE as u64 + 1).map(|i| record(i, 10)).collect();
        let sizes: Vec<usize> = pages(small).iter().map(Vec::len).collect();
        assert_eq!(sizes, vec![JOBS_PER_PAGE, 1], "at the count and one past it");

        // Eleven records of 1.5 MiB each were once one 16 MiB page.
        let large: Vec<JobRecord> = (0..11).map(|i| record(i, 1536 * 1024)).collect();
        let paged = pages(large);
        assert_eq!(paged.iter().map(Vec::len).sum::<usize>(), 11, "no record lost");
        for page in &paged {
            let encoded = frame::encode(&ClientReply::Jobs(page.clone())).unwrap();
            assert!(encoded.len() <= PAGE_BYTES + 64, "a page of {} bytes", encoded.len());
        }

        // A record too large for a page on its own is left out, not sent to break the list.
        let paged = pages(vec![record(1, 10), record(2, MAX_FRAME_BYTES), record(3, 10)]);
        let ids: Vec<u64> = paged.concat().iter().map(|r| r.id.0).collect();
        assert_eq!(ids, vec![1, 3]);
    }
}
