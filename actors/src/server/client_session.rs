//! One client's connection: requests in, answers out, in order.

use super::ServerContext;
use crate::coordinator::{self as coord, Answer, RequestError};
use crate::registry::{Drain, Reserve, Unreserve};
use distencode_wire::connection::{Connection, ConnectionError, ServerStream};
use distencode_wire::job::{JobId, JobRecord};
use distencode_wire::message::{ClientReply, ClientRequest};

/// Jobs per `Jobs` page: a record is well under 16 KiB, so a page stays far below the frame cap.
const JOBS_PER_PAGE: usize = 256;

pub(super) async fn run(mut conn: Connection<ServerStream>, client: String, context: ServerContext) {
    loop {
        let request = match conn.recv_within::<ClientRequest>(context.limits.client_idle_timeout).await {
            Ok(Some(request)) => request,
            Ok(None) => return,
            // A client that exits without closing TLS has still said all it meant to.
            Err(ConnectionError::Io(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => return,
            Err(e) => {
                tracing::info!(%client, "client connection ended: {e}");
                return;
            }
        };
        if let Err(e) = serve(&mut conn, &client, request, &context).await {
            tracing::info!(%client, "client connection ended: {e}");
            return;
        }
    }
}

async fn serve(
    conn: &mut Connection<ServerStream>,
    client: &str,
    request: ClientRequest,
    context: &ServerContext,
) -> Result<(), ConnectionError> {
    let coordinator = &context.coordinator;
    let reply = match request {
        ClientRequest::Submit(spec) => {
            job(coordinator.send(coord::Submit { spec, submitted_by: client.to_string() }).await)
        }
        ClientRequest::Status(id) => job(coordinator.send(coord::Status(id)).await),
        ClientRequest::Cancel(id) => job(coordinator.send(coord::Cancel { id, by: client.to_string() }).await),
        ClientRequest::Retry(id) => job(coordinator.send(coord::Retry(id)).await),
        ClientRequest::List => match flatten(coordinator.send(coord::List).await) {
            Ok(jobs) => {
                for page in jobs.chunks(JOBS_PER_PAGE) {
                    conn.send(&ClientReply::Jobs(page.to_vec())).await?;
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
            workers(context.registry.send(Reserve { worker, person, until, now }).await)
        }
        ClientRequest::Release { worker } => workers(context.registry.send(Unreserve { worker }).await),
        ClientRequest::Drain { worker } => workers(context.registry.send(Drain { worker }).await),
        ClientRequest::Logs { id, follow } => return send_log(conn, context, id, follow).await,
        ClientRequest::Watch(id) => match flatten(coordinator.send(coord::Watch(id)).await) {
            Ok(receiver) => return follow(conn, receiver).await,
            Err(e) => ClientReply::Error(e.to_string()),
        },
    };
    conn.send(&reply).await
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

fn job(result: Result<Answer<JobRecord>, actix::MailboxError>) -> ClientReply {
    match flatten(result) {
        Ok(record) => ClientReply::Job(record),
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

/// Sends the job now and at each change, until it is final.
async fn follow(
    conn: &mut Connection<ServerStream>,
    mut receiver: tokio::sync::watch::Receiver<JobRecord>,
) -> Result<(), ConnectionError> {
    loop {
        let record = receiver.borrow_and_update().clone();
        let done = record.state.is_final();
        conn.send(&ClientReply::JobUpdate(record)).await?;
        if done {
            return Ok(());
        }
        if receiver.changed().await.is_err() {
            // The sender is gone: the job became final after our last look, or the coordinator is stopping.
            let record = receiver.borrow().clone();
            if record.state.is_final() {
                return conn.send(&ClientReply::JobUpdate(record)).await;
            }
            return conn.send(&ClientReply::Error("the coordinator stopped following this job".into())).await;
        }
    }
}
