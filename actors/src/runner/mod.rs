//! MeltRunner: the worker's actor that turns an offer into a verified MP4.
//!
//! An offer is validated on this machine first (the project parses, every file it references is visible here,
//! every service it uses is in this melt; for an ffmpeg job, its arguments pass and its inputs open, see
//! [`ffmpeg`]) and answered Accepted or Rejected; an accepted job is rendered by
//! [`render`] as a future on this actor's context while the actor stays free to answer a cancellation. A worker
//! renders one job at a time. Everything a render says goes through the worker's link ([`LinkHandle`]).

mod chunk_start;
pub mod ffmpeg;
pub mod ffmpeg_probe;
pub mod join;
mod log_sink;
pub mod melt_env;
mod mp4_index;
pub mod output_files;
pub mod output_policy;
pub mod path_map;
mod picture_checks;
mod process;
pub mod progress;
pub mod render;
pub mod sandbox;
pub mod sequence;
pub mod thumbnail;
pub mod verify;
mod verify_sequence;
pub mod who;

use crate::worker::LinkHandle;
use actix::prelude::*;
use distencode_mlt::{self as mlt, check_output_folder, ServiceSet};
use distencode_wire::job::{JobId, JobKind, MeltJob, TaskKind};
use distencode_wire::message::{RejectionCause, WorkerToCoordinator};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::oneshot;

/// What a runner needs to know about this machine.
pub struct RunnerConfig {
    pub melt: PathBuf,
    pub ffprobe: PathBuf,
    /// Makes each verified render's poster frame ([`thumbnail`]).
    pub ffmpeg: PathBuf,
    /// What this melt provides (from `melt -query`).
    pub services: ServiceSet,
    /// The encoders its avformat consumer offers.
    pub encoders: mlt::Encoders,
    /// A render with no output for this long is killed as stalled.
    pub stall_timeout: Duration,
    /// The worker's own folder: melt's TMPDIR, so its temporary files (and its plugins') stay out of the shared
    /// storage and the system's /tmp. Partial renders are not put here: they are written beside their output, so
    /// that the final rename stays on one file system.
    pub work_dir: PathBuf,
    /// What a project may read here (media roots, the worker's own folders, network URLs): see `mlt::check_media`.
    pub media: mlt::MediaPolicy,
    /// Where outputs may go (`--output-root`) and the worker's own folders they may not touch.
    pub outputs: output_policy::OutputRules,
}

impl RunnerConfig {
    /// What melt and ffmpeg jobs may never read here ([`sandbox`]).
    pub fn secrets(&self) -> Vec<PathBuf> {
        sandbox::secrets(&self.media.forbidden, &self.work_dir)
    }
}

/// How long checking an offer may take before it is turned down. Each referenced file has a deadline of its own
/// ([`mlt::OPEN_DEADLINE`]); this one also covers the project file and the output folder, so a share that stops
/// answering cannot hold the worker's only slot for ever (the blocked thread is left behind, the worker goes on).
const VALIDATION_DEADLINE: Duration = Duration::from_secs(120);

/// The actor.
pub struct MeltRunner {
    config: Arc<RunnerConfig>,
    /// The way to the coordinator: log, progress and reports.
    link: LinkHandle,
    /// The render in progress: its job and attempt, and the way to stop it.
    current: Option<Current>,
    /// The worker is shutting down: every offer is turned down.
    leaving: bool,
}

/// The one render a worker runs at a time.
struct Current {
    job: JobId,
    attempt: u32,
    /// Stops the render (kills melt, removes the partial file).
    stop: Option<oneshot::Sender<()>>,
    /// Cancelled while its project was still being checked: melt is never started.
    cancelled: bool,
    /// The project's copy with its paths mapped, which melt renders: held, and removed with this.
    _copy: Option<path_map::ProjectCopy>,
}

impl Current {
    fn is(&self, job: JobId, attempt: u32) -> bool {
        self.job == job && self.attempt == attempt
    }

    /// Stops the render (or keeps melt from starting, while the project is still being checked).
    fn stop(&mut self) {
        self.cancelled = true;
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// An offer checked on this machine: what the worker will run.
pub enum Work {
    /// melt renders this project.
    Melt(mlt::Project),
    /// ffmpeg transcodes.
    Ffmpeg(ffmpeg::Prepared),
}

impl MeltRunner {
    pub fn new(config: RunnerConfig, link: LinkHandle) -> Self {
        let removed = path_map::remove_stale_copies(&config.work_dir);
        if removed > 0 {
            tracing::info!(removed, "removed the mapped project copies an earlier run left behind");
        }
        Self { config: Arc::new(config), link, current: None, leaving: false }
    }
}

impl Actor for MeltRunner {
    type Context = Context<Self>;
}

/// An offer from the coordinator, answered once checked; an accepted job then renders by itself.
#[derive(Message)]
#[rtype(result = "OfferAnswer")]
pub struct Offer(pub MeltJob);

/// The answer to an [`Offer`].
#[derive(Debug, PartialEq)]
pub enum OfferAnswer {
    /// Checked; the render has started.
    Accepted,
    /// Turned down, and why.
    Rejected { cause: RejectionCause, reason: String },
}

impl OfferAnswer {
    /// The message that tells the coordinator.
    pub fn into_message(self, job: JobId, attempt: u32) -> WorkerToCoordinator {
        match self {
            OfferAnswer::Accepted => WorkerToCoordinator::Accepted { job, attempt },
            OfferAnswer::Rejected { cause, reason } => WorkerToCoordinator::Rejected { job, attempt, cause, reason },
        }
    }
}

/// Stop that attempt's render, if it is the one running.
#[derive(Message)]
#[rtype(result = "()")]
pub struct CancelRender {
    pub job: JobId,
    pub attempt: u32,
}

/// The worker is shutting down: turn down every offer from now on.
#[derive(Message)]
#[rtype(result = "()")]
pub struct StopTakingOffers;

/// The worker gives up: stop the render in progress, whichever it is (it ends as cancelled, and the coordinator
/// gives the job to another worker).
#[derive(Message)]
#[rtype(result = "()")]
pub struct AbandonRender;

/// The attempt being rendered, if any.
#[derive(Message)]
#[rtype(result = "Option<(JobId, u32)>")]
pub struct CurrentRender;

impl Handler<Offer> for MeltRunner {
    type Result = ResponseActFuture<Self, OfferAnswer>;

    fn handle(&mut self, Offer(mut job): Offer, _: &mut Self::Context) -> Self::Result {
        let (id, attempt) = (job.id, job.attempt);
        // Saved on Windows: its relative paths use `\`, which the copy turns into `/`.
        let windows = distencode_wire::path_map::is_windows_form(&job.spec.project);
        if let Err(reason) = path_map::map_offer(&mut job) {
            let answer = OfferAnswer::Rejected { cause: RejectionCause::Worker, reason };
            return Box::pin(async move { answer }.into_actor(self));
        }
        if self.leaving {
            let answer = OfferAnswer::Rejected { cause: RejectionCause::Worker, reason: "shutting down".into() };
            return Box::pin(async move { answer }.into_actor(self));
        }
        if let Some(busy) = &self.current {
            let reason = format!("busy with job {} (attempt {})", busy.job, busy.attempt);
            let answer = OfferAnswer::Rejected { cause: RejectionCause::Worker, reason };
            return Box::pin(async move { answer }.into_actor(self));
        }
        // Held while validating, so a second offer in the meantime is refused.
        self.current = Some(Current { job: id, attempt, stop: None, cancelled: false, _copy: None });
        let config = self.config.clone();
        let offer = job.clone();
        let validate = async move {
            let checked = tokio::task::spawn_blocking(move || validate(&config, &offer, windows));
            match tokio::time::timeout(VALIDATION_DEADLINE, checked).await {
                Ok(result) => {
                    result.unwrap_or_else(|e| Err((RejectionCause::Worker, format!("validation failed: {e}"))))
                }
                Err(_) => Err((
                    RejectionCause::Worker,
                    format!(
                        "checking the project did not finish within {VALIDATION_DEADLINE:?} (its files on a network \
                         share that does not answer?)"
                    ),
                )),
            }
        };
        Box::pin(validate.into_actor(self).map(move |result, act, ctx| {
            let cancelled = act.current.as_ref().is_some_and(|c| c.is(id, attempt) && c.cancelled);
            let result =
                if cancelled { Err((RejectionCause::Worker, "cancelled before it started".into())) } else { result };
            act.answer_offer(result, job, ctx)
        }))
    }
}

impl MeltRunner {
    /// Answers a validated offer: starts the render and says `Accepted`, or says `Rejected` with the reason.
    fn answer_offer(
        &mut self,
        result: Result<Checked, (RejectionCause, String)>,
        job: MeltJob,
        ctx: &mut Context<Self>,
    ) -> OfferAnswer {
        let (id, attempt) = (job.id, job.attempt);
        match result {
            Err((cause, reason)) => {
                self.current = None;
                tracing::info!(job = %id, attempt, "rejected: {reason}");
                OfferAnswer::Rejected { cause, reason }
            }
            Ok(Checked { work, output, copy }) => {
                let (stop, cancel) = oneshot::channel();
                self.current = Some(Current { job: id, attempt, stop: Some(stop), cancelled: false, _copy: copy });
                render::render(self.config.clone(), job, work, output, self.link.clone(), cancel)
                    .into_actor(self)
                    .map(move |(outcome, poster), act, _| {
                        if act.current.as_ref().is_some_and(|c| c.is(id, attempt)) {
                            act.current = None;
                        }
                        // In the same step as clearing `current`: the link never sees neither.
                        act.link.finished(id, attempt, outcome);
                        if let Some(poster) = poster {
                            actix::spawn(poster.make_and_send(act.config.clone(), act.link.clone()));
                        }
                    })
                    .spawn(ctx);
                OfferAnswer::Accepted
            }
        }
    }
}

impl Handler<CancelRender> for MeltRunner {
    type Result = ();

    fn handle(&mut self, msg: CancelRender, _: &mut Self::Context) {
        if let Some(current) = self.current.as_mut().filter(|c| c.is(msg.job, msg.attempt)) {
            current.stop();
        }
    }
}

impl Handler<StopTakingOffers> for MeltRunner {
    type Result = ();

    fn handle(&mut self, _: StopTakingOffers, _: &mut Self::Context) {
        self.leaving = true;
    }
}

impl Handler<AbandonRender> for MeltRunner {
    type Result = ();

    fn handle(&mut self, _: AbandonRender, _: &mut Self::Context) {
        if let Some(current) = self.current.as_mut() {
            tracing::warn!(job = %current.job, attempt = current.attempt, "giving up the render: the worker is shutting down");
            current.stop();
        }
    }
}

impl Handler<CurrentRender> for MeltRunner {
    type Result = Option<(JobId, u32)>;

    fn handle(&mut self, _: CurrentRender, _: &mut Self::Context) -> Self::Result {
        self.current.as_ref().map(|c| (c.job, c.attempt))
    }
}

/// An offer checked: what will run, where its output goes (its folder resolved), and the project's mapped copy.
struct Checked {
    work: Work,
    output: PathBuf,
    copy: Option<path_map::ProjectCopy>,
}

/// Everything that must hold on this machine before melt or ffmpeg starts; blocking file access, run off the actor
/// thread. `job`'s paths are already mapped; `windows` says its project was submitted as a Windows path.
fn validate(config: &RunnerConfig, job: &MeltJob, windows: bool) -> Result<Checked, (RejectionCause, String)> {
    let spec = &job.spec;
    match &spec.kind {
        JobKind::Ffmpeg(ffmpeg) => ffmpeg::validate(config, job.id, spec, ffmpeg).map(|(prepared, output)| Checked {
            work: Work::Ffmpeg(prepared),
            output,
            copy: None,
        }),
        JobKind::Render => validate_render(config, job, windows).map(|(project, output, copy)| Checked {
            work: Work::Melt(project),
            output,
            copy,
        }),
    }
}

/// What must hold before melt starts.
fn validate_render(
    config: &RunnerConfig,
    job: &MeltJob,
    windows: bool,
) -> Result<(mlt::Project, PathBuf, Option<path_map::ProjectCopy>), (RejectionCause, String)> {
    let spec = &job.spec;
    let (project, output) = (Path::new(&spec.project), Path::new(&spec.output));
    // Checked at the client and at submit too; a worker trusts neither.
    distencode_wire::consumer_props::check_all(&spec.encoding.extra)
        .map_err(|e| (RejectionCause::Project, e.to_string()))?;
    // Read once: the checks and the mapped copy see the same text.
    let read = mlt::read_project_text(project).and_then(|text| Ok((mlt::parse_project(&text, project)?, text)));
    let (mut parsed, text) = match read {
        Ok(read) => read,
        // A file this worker cannot see may be visible to another (different mounts).
        Err(e @ (mlt::ProjectError::NotFound(..) | mlt::ProjectError::Unreadable(..))) => {
            return Err((RejectionCause::Worker, path_map::explain_project(&e, &spec.project, &job.path_map)));
        }
        Err(e) => return Err((RejectionCause::Project, e.to_string())),
    };
    let mut copy = None;
    if path_map::needs_copy(&job.path_map, windows) {
        let (file, mapped) = path_map::copy_project(&config.work_dir, job, &text, &parsed, windows)
            .map_err(|reason| (RejectionCause::Worker, reason))?;
        (parsed, copy) = (mapped, Some(file));
    }
    if config.services.is_empty() {
        return Err((RejectionCause::Worker, format!("no usable melt at {}", config.melt.display())));
    }
    // Submitted with --allow-missing-filters: the optional filters this melt lacks are left out of the render.
    parsed.drop_filters(&mlt::filters_to_drop(&parsed, &config.services, &spec.optional_filters));
    // Before the files are opened: a named pipe or a device is refused here rather than opened.
    mlt::check_media(&parsed, &config.media).map_err(|e| (RejectionCause::Worker, e))?;
    mlt::check_on_this_machine(&parsed, &config.services)
        .map_err(|r| (RejectionCause::Worker, path_map::explain(&r, &job.path_map)))?;
    let encoders = &config.encoders;
    let missing: Vec<&str> = [(&spec.encoding.vcodec, &encoders.video), (&spec.encoding.acodec, &encoders.audio)]
        .into_iter()
        .filter(|(wanted, have)| wanted.as_str() != "none" && !have.contains(wanted))
        .map(|(wanted, _)| wanted.as_str())
        .collect();
    if !missing.is_empty() {
        return Err((RejectionCause::Worker, format!("this melt has no encoder {}", missing.join(", "))));
    }
    if spec.task.as_ref().is_some_and(|t| t.kind == TaskKind::Cleanup) {
        // A cleanup writes nothing; it removes only files the farm marked (see `join::remove_inputs`).
        return Ok((parsed, output.to_path_buf(), copy));
    }
    check_output_folder(output)
        .map_err(|reason| (RejectionCause::Worker, format!("{reason} (as {})", who::user_and_groups())))?;
    sequence::Pattern::for_output(output).map_err(|reason| (RejectionCause::Project, reason))?;
    // A refusal by this worker's own rules leaves the job to others; what is at the output every worker sees alike.
    let own_files: Vec<PathBuf> = [project.to_path_buf(), parsed.path.clone()]
        .into_iter()
        .chain(parsed.references.iter().map(|r| r.path.clone()))
        .collect();
    let resolved = output_policy::check_here(&config.outputs, output).map_err(|line| (RejectionCause::Worker, line))?;
    // A join's file is its split job's: an earlier render of that job may be replaced, as the job's own.
    output_policy::check_target(Some(output_files::owner(job.id, spec)), output, &resolved, spec.overwrite, &own_files)
        .map_err(|reason| (RejectionCause::Project, reason))?;
    Ok((parsed, resolved, copy))
}

#[cfg(test)]
#[path = "output_tests.rs"]
mod output_tests;
