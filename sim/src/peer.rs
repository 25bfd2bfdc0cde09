//! Scripted peers for the coordinator's tests: a worker and a client that send what the test says and hand back
//! exactly what the coordinator answered, one message at a time, so a test can hold an answer back, race two
//! messages or drop a connection at the moment it means to. Every wait is bounded in real time ([`within`]).

use super::{dial_client, within, Target, REPLY_LIMIT};
use anyhow::{anyhow, bail, Context, Result};
use distencode_wire::audit::AuditEntry;
use distencode_wire::connection::{self, ClientStream, Connection};
use distencode_wire::job::{JobId, JobRecord, JobSpec, MeltJob};
use distencode_wire::message::{
    ClientReply, ClientRequest, CoordinatorToWorker, Outcome, Registration, WorkerToCoordinator, WorkerView,
};
use distencode_wire::thumbnail::Thumbnail;
use distencode_wire::{tls, Role};

/// Dials as the worker `name` and registers with `registration`; the coordinator's answer to `Register`, and the
/// connection. Unbounded: a benchmark's thousand workers may wait their turn.
pub async fn register(
    target: &Target,
    name: &str,
    registration: Registration,
) -> Result<(CoordinatorToWorker, Connection<ClientStream>)> {
    let config = tls::client_config(&target.certs, name)?;
    let (mut conn, _) =
        connection::dial(&target.addr, config, Role::Worker).await.with_context(|| format!("worker {name}"))?;
    conn.send(&WorkerToCoordinator::Register(registration)).await?;
    let answer = conn.expect::<CoordinatorToWorker>().await?;
    Ok((answer, conn))
}

/// A registered worker whose every message the test sends.
pub struct ScriptedWorker {
    pub name: String,
    conn: Connection<ClientStream>,
}

impl ScriptedWorker {
    /// Dials as `name`, registers with `registration` and waits for `Registered`.
    pub async fn connect(target: &Target, name: &str, registration: Registration) -> Result<Self> {
        let what = format!("worker {name}: the answer to Register");
        match within(REPLY_LIMIT, &what, register(target, name, registration)).await?? {
            (CoordinatorToWorker::Registered, conn) => Ok(Self { name: name.to_string(), conn }),
            (other, _) => bail!("worker {name}: {other:?} in answer to Register"),
        }
    }

    pub async fn send(&mut self, message: WorkerToCoordinator) -> Result<()> {
        self.conn.send(&message).await.with_context(|| format!("worker {}: sending", self.name))
    }

    /// The coordinator's next message other than a heartbeat.
    pub async fn next(&mut self) -> Result<CoordinatorToWorker> {
        loop {
            match self.next_any().await? {
                CoordinatorToWorker::Heartbeat => continue,
                message => return Ok(message),
            }
        }
    }

    /// The coordinator's next message, heartbeats included.
    pub async fn next_any(&mut self) -> Result<CoordinatorToWorker> {
        let what = format!("worker {}: a message from the coordinator", self.name);
        match within(REPLY_LIMIT, &what, self.conn.recv::<CoordinatorToWorker>()).await?? {
            Some(message) => Ok(message),
            None => bail!("worker {}: the coordinator closed the connection", self.name),
        }
    }

    /// The next message, which must be an offer.
    pub async fn offer(&mut self) -> Result<MeltJob> {
        match self.next().await? {
            CoordinatorToWorker::Offer(job) => Ok(*job),
            other => bail!("worker {}: expected an offer, got {other:?}", self.name),
        }
    }

    /// Takes the offer on: `Accepted`.
    pub async fn accept(&mut self, job: &MeltJob) -> Result<()> {
        self.send(WorkerToCoordinator::Accepted { job: job.id, attempt: job.attempt }).await
    }

    /// Sends log batch `seq` and returns the coordinator's answer (a `LogAck` when it was stored).
    pub async fn log(&mut self, job: &MeltJob, seq: u64, text: &str) -> Result<CoordinatorToWorker> {
        let text = text.to_string();
        self.send(WorkerToCoordinator::Log { job: job.id, attempt: job.attempt, seq, text }).await?;
        self.next().await
    }

    /// Reports the render verified; whether the coordinator answered `Commit { go: true }`.
    pub async fn verify(&mut self, job: &MeltJob) -> Result<bool> {
        let facts = super::facts();
        self.send(WorkerToCoordinator::Verified { job: job.id, attempt: job.attempt, facts }).await?;
        match self.next().await? {
            CoordinatorToWorker::Commit { job: id, attempt, go } if id == job.id && attempt == job.attempt => Ok(go),
            other => bail!(
                "worker {}: expected the Commit of job {} attempt {}, got {other:?}",
                self.name,
                job.id,
                job.attempt
            ),
        }
    }

    /// Sends a success's poster frame, as a worker does after its `Finished` (nothing answers it).
    pub async fn poster(&mut self, job: &MeltJob, thumbnail: Thumbnail) -> Result<()> {
        self.send(WorkerToCoordinator::Poster { job: job.id, attempt: job.attempt, thumbnail }).await
    }

    /// Reports the render ended with `outcome`; whether the coordinator took the report (`FinishedAck`).
    pub async fn finish(&mut self, job: &MeltJob, outcome: Outcome) -> Result<bool> {
        self.send(WorkerToCoordinator::Finished { job: job.id, attempt: job.attempt, outcome }).await?;
        match self.next().await? {
            CoordinatorToWorker::FinishedAck { job: id, attempt, accepted }
                if id == job.id && attempt == job.attempt =>
            {
                Ok(accepted)
            }
            other => bail!("worker {}: expected the FinishedAck of job {}, got {other:?}", self.name, job.id),
        }
    }

    /// The whole render as a real worker does it: accepted, one log batch, verified, committed, finished; an error
    /// if any step was not taken as it should be.
    pub async fn render(&mut self, job: &MeltJob) -> Result<()> {
        self.accept(job).await?;
        self.render_rest(job).await
    }

    /// [`Self::render`] of a job already accepted: a log batch, verified, committed, finished.
    pub async fn render_rest(&mut self, job: &MeltJob) -> Result<()> {
        // melt always prints a few lines; once they are stored, so is the start of the render (handled first).
        match self.log(job, 0, "melt started\n").await? {
            CoordinatorToWorker::LogAck { .. } => {}
            other => bail!("worker {}: expected the LogAck of job {}, got {other:?}", self.name, job.id),
        }
        if !self.verify(job).await? {
            bail!("worker {}: job {} was not committed", self.name, job.id);
        }
        if !self.finish(job, Outcome::Succeeded(super::facts())).await? {
            bail!("worker {}: the result of job {} was refused", self.name, job.id);
        }
        Ok(())
    }

    /// Closes the connection as a worker process that exits does.
    pub async fn close(self) {
        let _ = self.conn.close().await;
    }
}

/// A client whose every request the test sends.
pub struct ScriptedClient {
    conn: Connection<ClientStream>,
}

impl ScriptedClient {
    pub async fn connect(target: &Target, name: &str) -> Result<Self> {
        Ok(Self { conn: dial_client(target, name).await? })
    }

    /// Sends `request` and returns the first answer to it, whatever it is.
    pub async fn ask(&mut self, request: &ClientRequest) -> Result<ClientReply> {
        self.conn.send(request).await?;
        self.reply(request).await
    }

    async fn reply(&mut self, request: &ClientRequest) -> Result<ClientReply> {
        let what = format!("the answer to {request:?}");
        within(REPLY_LIMIT, &what, self.conn.recv::<ClientReply>()).await??.ok_or_else(|| anyhow!("{what}: closed"))
    }

    /// A request answered with one job.
    async fn job(&mut self, request: ClientRequest) -> Result<JobRecord> {
        match self.ask(&request).await? {
            ClientReply::Job(record) => Ok(record),
            ClientReply::Error(text) => bail!("{text}"),
            other => bail!("unexpected answer to {request:?}: {other:?}"),
        }
    }

    pub async fn submit(&mut self, spec: JobSpec) -> Result<JobRecord> {
        self.job(ClientRequest::Submit(spec)).await
    }

    pub async fn status(&mut self, id: JobId) -> Result<JobRecord> {
        self.job(ClientRequest::Status(id)).await
    }

    pub async fn cancel(&mut self, id: JobId) -> Result<JobRecord> {
        self.job(ClientRequest::Cancel(id)).await
    }

    pub async fn retry(&mut self, id: JobId) -> Result<JobRecord> {
        self.job(ClientRequest::Retry(id)).await
    }

    /// `job delete` or `job prune`: the jobs deleted.
    pub async fn delete(&mut self, request: ClientRequest) -> Result<Vec<JobId>> {
        match self.ask(&request).await? {
            ClientReply::Deleted(ids) => Ok(ids),
            ClientReply::Error(text) => bail!("{text}"),
            other => bail!("unexpected answer to {request:?}: {other:?}"),
        }
    }

    /// `job list`, page by page as sent.
    pub async fn list_pages(&mut self) -> Result<Vec<Vec<JobRecord>>> {
        let request = ClientRequest::List;
        self.conn.send(&request).await?;
        let mut pages = Vec::new();
        loop {
            match self.reply(&request).await? {
                ClientReply::Jobs(page) => pages.push(page),
                ClientReply::JobsEnd => return Ok(pages),
                ClientReply::Error(text) => bail!("{text}"),
                other => bail!("unexpected answer to List: {other:?}"),
            }
        }
    }

    /// A request answered with every worker (`worker list`, reserve, release, drain).
    pub async fn workers(&mut self, request: ClientRequest) -> Result<Vec<WorkerView>> {
        match self.ask(&request).await? {
            ClientReply::Workers(workers) => Ok(workers),
            ClientReply::Error(text) => bail!("{text}"),
            other => bail!("unexpected answer to {request:?}: {other:?}"),
        }
    }

    /// The audit trail, newest first (`distencode audit`).
    pub async fn audit(&mut self, user: Option<&str>, limit: u32) -> Result<Vec<AuditEntry>> {
        let request = ClientRequest::Audit { user: user.map(str::to_string), limit };
        match self.ask(&request).await? {
            ClientReply::Audit(entries) => Ok(entries),
            ClientReply::Error(text) => bail!("{text}"),
            other => bail!("unexpected answer to {request:?}: {other:?}"),
        }
    }

    /// A job's whole stored log (`job logs` without following).
    pub async fn logs(&mut self, id: JobId) -> Result<String> {
        let request = ClientRequest::Logs { id, follow: false };
        self.conn.send(&request).await?;
        let mut text = String::new();
        loop {
            match self.reply(&request).await? {
                ClientReply::Log(piece) => text.push_str(&piece),
                ClientReply::LogEnd => return Ok(text),
                ClientReply::Error(text) => bail!("{text}"),
                other => bail!("unexpected answer to Logs: {other:?}"),
            }
        }
    }
}
