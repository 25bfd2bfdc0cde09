//! `distencode job ...`: submit a project (refusing at once what cannot render), and look at jobs.

use crate::cli::{JobCommand, MeltLogArg, SplitArg, SubmitOptions};
use crate::client::{Client, Endpoint};
use crate::output;
use crate::progress_view::ProgressView;
use anyhow::{anyhow, bail, Context, Result};
use distencode_actors::runner::sequence;
use distencode_web::submit::{self, CheckHere, SubmitRequest};
use distencode_wire::connection::ConnectionError;
use distencode_wire::job::{now_ms, JobId, JobRecord, JobSpec, JobState, Like, MeltLog};
use distencode_wire::message::{ClientReply, ClientRequest};
use distencode_wire::preset::PresetView;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

pub async fn run(command: JobCommand) -> Result<()> {
    // A project is read and checked here before anything is sent: what cannot render is refused at once.
    let (connect, request) = match command {
        JobCommand::Submit { project, options, connect } => {
            let (wait, json) = (options.wait, options.json);
            // A preset that is not built in may be one of the coordinator's house presets.
            let house = match options.preset.as_deref().map(str::trim) {
                Some(name) if !name.is_empty() && distencode_actors::presets::find(name).is_none() => {
                    crate::presets_cmd::house_presets(&connect).await?
                }
                _ => Vec::new(),
            };
            let (spec, filters) = prepare(&project, options, &house)?;
            (connect, Request::Submit { spec, filters, wait, json })
        }
        JobCommand::Ffmpeg { options, connect } => {
            let specs = crate::ffmpeg_cmd::prepare(&options, absolute)?;
            (connect, Request::SubmitAll { specs, wait: options.wait, json: options.json })
        }
        JobCommand::Status { id, json, connect } => {
            (connect, Request::Show(ClientRequest::Status(parse_id(&id)?), json))
        }
        JobCommand::Cancel { id, connect } => (connect, Request::Show(ClientRequest::Cancel(parse_id(&id)?), false)),
        JobCommand::Retry { id, connect } => (connect, Request::Show(ClientRequest::Retry(parse_id(&id)?), false)),
        JobCommand::Priority { id, priority, connect } => {
            (connect, Request::Show(ClientRequest::Priority { id: parse_id(&id)?, priority }, false))
        }
        JobCommand::Delete { ids, connect } => {
            let ids = ids.iter().map(|id| parse_id(id)).collect::<Result<Vec<_>>>()?;
            (connect, Request::Delete(ClientRequest::Delete(ids)))
        }
        JobCommand::Prune { older_than, connect } => {
            let before = now_ms().saturating_sub(u64::try_from(older_than.as_millis()).unwrap_or(u64::MAX));
            (connect, Request::Delete(ClientRequest::Prune { before }))
        }
        JobCommand::List { json, connect } => (connect, Request::List { json }),
        JobCommand::Logs { id, follow, connect } => (connect, Request::Logs { id: parse_id(&id)?, follow }),
        JobCommand::Watch { id, json, connect } => (connect, Request::Watch { id: parse_id(&id)?, json }),
    };
    let endpoint = Endpoint::from_flags(&connect)?;
    let mut client = Client::connect(&endpoint).await?;
    let result = serve(&mut client, &endpoint, request).await;
    client.close().await;
    result
}

/// What a `job` command asks of the coordinator, once checked locally.
enum Request {
    Submit {
        spec: JobSpec,
        /// The project's required filters and where each sits, to explain a refusal naming one.
        filters: Vec<(String, String)>,
        wait: bool,
        json: bool,
    },
    /// `job ffmpeg`: one job, or a batch of them, submitted in order.
    SubmitAll {
        specs: Vec<JobSpec>,
        wait: bool,
        json: bool,
    },
    /// A request answered with one job, printed (as JSON with `true`).
    Show(ClientRequest, bool),
    /// A delete or a prune, answered with the jobs deleted.
    Delete(ClientRequest),
    List {
        json: bool,
    },
    Logs {
        id: JobId,
        follow: bool,
    },
    Watch {
        id: JobId,
        json: bool,
    },
}

async fn serve(client: &mut Client, endpoint: &Endpoint, request: Request) -> Result<()> {
    match request {
        Request::Submit { spec, filters, wait, json } => {
            let reply = client.call(ClientRequest::Submit(spec)).await.map_err(|e| explain_filters(e, &filters))?;
            let record = expect_job(reply)?;
            if !wait {
                print_job(&record, json);
                return Ok(());
            }
            follow(client, endpoint, &record, json).await
        }
        Request::SubmitAll { specs, wait, json } => {
            let mut submitted = Vec::new();
            for spec in specs {
                let record = expect_job(client.call(ClientRequest::Submit(spec)).await?)?;
                print_job(&record, json);
                submitted.push(record);
            }
            if wait {
                let mut failed = 0;
                for record in &submitted {
                    if let Err(e) = follow(client, endpoint, record, json).await {
                        if !e.is::<crate::error::Reported>() {
                            eprintln!("{e}");
                        }
                        failed += 1;
                    }
                }
                if failed > 0 {
                    bail!("{failed} of {} jobs did not succeed", submitted.len());
                }
            }
            Ok(())
        }
        Request::Delete(request) => match client.call(request.clone()).await? {
            ClientReply::Deleted(ids) => {
                println!("{}", output::describe_deleted(&ids, &request));
                Ok(())
            }
            _ => bail!("unexpected answer from the coordinator"),
        },
        Request::Show(request, json) => {
            let record = expect_job(client.call(request.clone()).await?)?;
            match request {
                ClientRequest::Status(_) => print_job(&record, json),
                _ => println!("{}", output::describe(&record)),
            }
            Ok(())
        }
        Request::List { json } => {
            client.send(&ClientRequest::List).await?;
            let mut jobs = Vec::new();
            loop {
                match client.reply().await? {
                    ClientReply::Jobs(page) => jobs.extend(page),
                    ClientReply::JobsEnd => break,
                    _ => bail!("unexpected answer from the coordinator"),
                }
            }
            if json {
                let list: Vec<_> = jobs.iter().map(output::job_json).collect();
                println!("{}", serde_json::Value::Array(list));
            } else {
                let columns = output::JobColumns::fit(&jobs);
                println!("{}", output::job_header(columns));
                jobs.iter().for_each(|job| println!("{}", output::job_row(job, columns)));
            }
            Ok(())
        }
        Request::Logs { id, follow } => {
            client.send(&ClientRequest::Logs { id, follow }).await?;
            use std::io::Write;
            let mut stdout = std::io::stdout().lock();
            loop {
                match client.reply().await? {
                    ClientReply::Log(text) => {
                        stdout.write_all(text.as_bytes())?;
                        stdout.flush()?;
                    }
                    ClientReply::LogEnd => return Ok(stdout.flush()?),
                    _ => bail!("unexpected answer from the coordinator"),
                }
            }
        }
        Request::Watch { id, json } => {
            let record = expect_job(client.call(ClientRequest::Status(id)).await?)?;
            follow(client, endpoint, &record, json).await
        }
    }
}

fn parse_id(id: &str) -> Result<JobId> {
    id.parse().map_err(|e: String| anyhow!(e))
}

fn expect_job(reply: ClientReply) -> Result<JobRecord> {
    match reply {
        ClientReply::Job(record) => Ok(record),
        _ => bail!("unexpected answer from the coordinator"),
    }
}

fn print_job(record: &JobRecord, json: bool) {
    if json {
        println!("{}", output::job_json(record));
    } else {
        println!("{}", output::describe_kind(record));
        println!("{}", output::describe(record));
    }
}

/// Prints each change of the job (from `first`, as last seen) until it ends; fails unless it succeeded with its
/// file in place.
async fn follow(client: &mut Client, endpoint: &Endpoint, first: &JobRecord, json: bool) -> Result<()> {
    let id = first.id;
    let mut view = ProgressView::new(json);
    view.show(first);
    client.send(&ClientRequest::Watch(id)).await?;
    loop {
        let record = match client.next().await {
            Ok(ClientReply::JobUpdate(record)) => record,
            Ok(ClientReply::Error(text)) => bail!("{text}"),
            Ok(_) => bail!("unexpected answer from the coordinator"),
            // The coordinator went away (a restart, a network cut): the job goes on without us, so follow it again.
            Err(lost) => {
                *client = reconnect(endpoint, id, &lost).await?;
                continue;
            }
        };
        view.show(&record);
        if !record.state.is_final() {
            continue;
        }
        if json {
            println!("{}", output::job_json(&record));
        }
        return match record.state {
            // An image sequence is there when its first file is.
            JobState::Succeeded if sequence::first_file(Path::new(&record.output)).is_file() => Ok(()),
            JobState::Succeeded => bail!("job {id} succeeded but {} is not there", record.output),
            // The view has printed the failure on stdout: exit non-zero without saying it again on stderr.
            _ if !json => Err(crate::error::Reported.into()),
            JobState::Failed => bail!("job {id} failed: {}", record.error.as_deref().unwrap_or("no reason recorded")),
            _ => bail!("job {id} {}: {}", record.state, record.error.as_deref().unwrap_or("")),
        };
    }
}

/// How long a follower keeps trying to reach a coordinator that went away.
const RECONNECT_FOR: Duration = Duration::from_secs(120);

/// Dials the coordinator again (once a second, for at most [`RECONNECT_FOR`]) and asks to follow `id` again.
async fn reconnect(endpoint: &Endpoint, id: JobId, lost: &ConnectionError) -> Result<Client> {
    let start = Instant::now();
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        match Client::connect(endpoint).await {
            Ok(mut client) => {
                client.send(&ClientRequest::Watch(id)).await?;
                return Ok(client);
            }
            Err(e) if start.elapsed() >= RECONNECT_FOR => {
                bail!("lost the coordinator while following job {id} ({lost}), and could not reach it again: {e}")
            }
            Err(_) => {}
        }
    }
}

/// A refusal naming filters the pool lacks, with where each sits in the project and the way forward.
fn explain_filters(error: anyhow::Error, filters: &[(String, String)]) -> anyhow::Error {
    anyhow!(submit::explain_filters(&error.to_string(), filters))
}

/// Reads and checks the project here, and builds what the coordinator is sent (with the project's required filters
/// and where each sits): the same checks as the web's submit.
fn prepare(project: &Path, options: SubmitOptions, house: &[PresetView]) -> Result<(JobSpec, Vec<(String, String)>)> {
    let project = absolute(project)?;
    let output = options.output.as_deref().map(absolute).transpose()?;
    let request = SubmitRequest {
        project: project.display().to_string(),
        output: output.map(|o| o.display().to_string()),
        preset: options.preset,
        vcodec: options.vcodec,
        acodec: options.acodec,
        consumer_args: options.consumer_args,
        priority: options.priority,
        melt_log: match options.melt_log {
            MeltLogArg::Normal => MeltLog::Normal,
            MeltLogArg::Verbose => MeltLog::Verbose,
            MeltLogArg::Debug => MeltLog::Debug,
        },
        allow_missing_filters: options.allow_missing_filters,
        split: options.split.map(|split| match split {
            SplitArg::Auto => "auto".to_string(),
            SplitArg::Chunks(n) => n.to_string(),
        }),
        split_force: options.split_force,
        overwrite: options.overwrite,
    };
    let mut prepared = submit::prepare(&project, &request, house, CheckHere::Always).map_err(|e| anyhow!(e))?;
    // The coordinator fills in the worker's render stack.
    prepared.spec.like = options.like.map(|worker| Box::new(Like { worker, fingerprint: Default::default() }));
    match prepared.unchecked.as_slice() {
        [] => {}
        [one] => eprintln!(
            "note: {one} is a Windows path, left to the workers to check once the coordinator's path rules map it"
        ),
        [first, rest @ ..] => eprintln!(
            "note: {first} and {} more are Windows paths, left to the workers to check once the coordinator's path \
             rules map them",
            rest.len()
        ),
    }
    if let Some(warning) = Path::new(&prepared.spec.output).parent().and_then(crate::shared_folder::warning) {
        eprintln!("{warning}");
    }
    Ok((prepared.spec, prepared.filters))
}

/// `path` made absolute against the current folder (without resolving links: workers see the same mounts).
fn absolute(path: &Path) -> Result<PathBuf> {
    let cwd = std::env::current_dir().context("reading the current folder")?;
    Ok(normalize(&cwd.join(path)))
}

fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}
