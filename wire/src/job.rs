//! What a job is, as the coordinator records it and as clients see it.
//!
//! These types cross the wire (bincode) and are printed by the CLI (JSON), so their field names are the public
//! vocabulary of `job status --json`: `id`, `state`, `worker`, `output`, `error`, and the rest.

use crate::fingerprint::Fingerprint;
use serde::{Deserialize, Serialize};
use std::fmt;

mod kind;
mod outcome;
mod split;
pub use kind::{FfmpegJob, JobKind};
pub use outcome::AttemptOutcome;
pub use split::{SplitRequest, SplitState, Task, TaskInput, TaskKind, TaskView, MAX_SPLIT_CHUNKS};

/// A job's number, unique for the life of a coordinator's data directory.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct JobId(pub u64);

impl fmt::Display for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl std::str::FromStr for JobId {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.parse::<u64>().map(JobId).map_err(|_| format!("{s:?} is not a job id (job ids are whole numbers)"))
    }
}

/// Where a job is in its life. See docs/jobs.md for the allowed transitions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JobState {
    /// Recorded and waiting for a worker.
    Queued,
    /// Handed to a worker that has not yet answered.
    Offered,
    /// A worker accepted it and runs melt.
    Running,
    /// Rendered, verified and renamed into place.
    Succeeded,
    /// Ended without a usable file; `error` says why.
    Failed,
    /// Stopped by a person.
    Cancelled,
}

impl JobState {
    /// A final state: nothing happens to the job any more unless someone retries it.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Succeeded | Self::Failed | Self::Cancelled)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Offered => "offered",
            Self::Running => "running",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
        }
    }
}

impl fmt::Display for JobState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How melt's avformat consumer encodes the result.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Encoding {
    /// Video encoder, e.g. `libx264`.
    pub vcodec: String,
    /// Audio encoder, e.g. `aac`.
    pub acodec: String,
    /// Further `key=value` consumer properties, passed to melt as they are (e.g. `crf=20`).
    pub extra: Vec<(String, String)>,
}

impl Default for Encoding {
    fn default() -> Self {
        Self { vcodec: "libx264".into(), acodec: "aac".into(), extra: Vec::new() }
    }
}

/// How much melt says in its log: `verbose` and `debug` help when a render goes wrong.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MeltLog {
    #[default]
    Normal,
    Verbose,
    Debug,
}

impl MeltLog {
    /// melt's own flag for it, if any.
    pub fn flag(self) -> Option<&'static str> {
        match self {
            Self::Normal => None,
            Self::Verbose => Some("-verbose"),
            Self::Debug => Some("-debug"),
        }
    }
}

/// What a client asks to have rendered: the paths are absolute and must mean the same file on the workers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobSpec {
    /// The `.mlt` project.
    pub project: String,
    /// Where the finished MP4 goes.
    pub output: String,
    pub encoding: Encoding,
    /// Higher runs first; equal priorities run oldest first.
    pub priority: i32,
    pub melt_log: MeltLog,
    /// Every MLT service the project uses: only a worker that has them all is offered the job.
    pub services: Vec<String>,
    /// Filters the render may go without (`job submit --allow-missing-filters`): not in `services`; a worker that
    /// lacks one renders without it and says so in the job's log and its facts.
    pub optional_filters: Vec<String>,
    /// `job submit --split`: render it as tasks on many workers (see [`SplitRequest`]).
    pub split: Option<Box<SplitRequest>>,
    /// Set by the coordinator only: this job is one task of a split job (boxed: most jobs are none).
    pub task: Option<Box<Task>>,
    /// `job submit --overwrite`: an existing file at the output may be replaced, if this farm rendered it.
    pub overwrite: bool,
    /// `job submit --like W`: render only on workers with W's render stack (boxed: most jobs have none).
    pub like: Option<Box<Like>>,
    /// What the worker runs: melt (a render) or ffmpeg.
    pub kind: JobKind,
    /// The preset the job was submitted with (`--preset`, or the one the output's extension picked), to show.
    pub preset: Option<String>,
}

/// `job submit --like W`: the job renders only on workers whose render stack is the one W had at submit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Like {
    /// The worker named.
    pub worker: String,
    /// W's render stack when the job was submitted: filled in by the coordinator (what a client sends is replaced).
    pub fingerprint: Fingerprint,
}

impl JobSpec {
    /// A render of `project` to `output` with the default encoding and nothing else asked for; set other fields
    /// with `JobSpec { priority: 5, ..JobSpec::new(project, output) }`.
    pub fn new(project: impl Into<String>, output: impl Into<String>) -> Self {
        JobSpec {
            project: project.into(),
            output: output.into(),
            encoding: Encoding::default(),
            priority: 0,
            melt_log: MeltLog::Normal,
            services: Vec::new(),
            optional_filters: Vec::new(),
            split: None,
            task: None,
            overwrite: false,
            like: None,
            kind: JobKind::Render,
            preset: None,
        }
    }
}

/// One render of a job as offered to one worker; the attempt number guards against stale results.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MeltJob {
    pub id: JobId,
    /// 1 for the first offer, then one more for each new offer.
    pub attempt: u32,
    pub spec: JobSpec,
    /// The coordinator's path rules that apply to the worker offered the job ([`crate::path_map`]): it maps the
    /// project, its references and the output with them before checking anything.
    pub path_map: Vec<crate::path_map::PathRule>,
}

/// One offer of a job to a worker and how it ended.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Attempt {
    pub number: u32,
    pub worker: String,
    /// Unix milliseconds.
    pub offered_at: u64,
    pub started_at: Option<u64>,
    pub ended_at: Option<u64>,
    /// When the coordinator told the worker to put the verified file in place (unix ms): from then on the attempt
    /// is finishing and can no longer be cancelled.
    pub committed_at: Option<u64>,
    /// `None` while the attempt is live; afterwards how it ended.
    pub outcome: Option<AttemptOutcome>,
    /// The attempt ended in a way that speaks against this worker (it rejected or failed the job), so the job is
    /// not offered to it again; a worker that was merely lost is not blamed.
    pub blames_worker: bool,
}

/// What ffprobe found in a verified output; stored with the job.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RenderFacts {
    pub frames: u64,
    pub duration_seconds: f64,
    pub video_codec: String,
    pub audio_codec: Option<String>,
    pub size_bytes: u64,
    /// Optional filters the worker did not have and rendered without (`job submit --allow-missing-filters`).
    pub dropped_filters: Vec<String>,
    /// The streams' properties, as far as ffprobe names them (the job page's streams table).
    pub streams: StreamDetails,
}

/// What ffprobe says of a verified output's first video and first audio stream; `None` where it says nothing (an
/// audio-only file has no picture size, a file without sound no sample rate).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamDetails {
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub pix_fmt: Option<String>,
    /// As ffprobe gives it: `25/1`, `30000/1001`.
    pub frame_rate: Option<String>,
    pub sample_rate: Option<u32>,
    pub channels: Option<u32>,
}

/// How far a running render is, as the worker last reported it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    pub frame: u64,
    /// 0 to 100.
    pub percent: f64,
    pub fps: f64,
    pub eta_seconds: Option<f64>,
}

/// The highest rendering rate a progress report may claim, in frames per second.
const MAX_FPS: f64 = 1_000_000.0;
/// The longest time left a progress report may claim: ten years, in seconds.
const MAX_ETA_SECONDS: f64 = 10.0 * 365.25 * 24.0 * 3600.0;

impl Progress {
    /// The report with every number in its range, as the coordinator keeps it: a worker's NaN, infinity or
    /// negative value would otherwise reach `job status`, the web's bars and the farm's fps. A percent is 0 to 100,
    /// a rate 0 to a million frames a second, a time left 0 to ten years or unknown.
    pub fn in_range(self) -> Progress {
        let finite = |v: f64| if v.is_finite() { v } else { 0.0 };
        Progress {
            frame: self.frame,
            percent: finite(self.percent).clamp(0.0, 100.0),
            fps: finite(self.fps).clamp(0.0, MAX_FPS),
            eta_seconds: self.eta_seconds.filter(|v| v.is_finite()).map(|v| v.clamp(0.0, MAX_ETA_SECONDS)),
        }
    }
}

/// A job as the coordinator records it and reports it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JobRecord {
    pub id: JobId,
    pub state: JobState,
    pub project: String,
    pub output: String,
    pub encoding: Encoding,
    pub priority: i32,
    pub melt_log: MeltLog,
    pub services: Vec<String>,
    /// Filters the render may go without (see [`JobSpec::optional_filters`]).
    pub optional_filters: Vec<String>,
    /// An earlier render of this farm at the output may be replaced (see [`JobSpec::overwrite`]).
    pub overwrite: bool,
    /// The client identity that submitted it.
    pub submitted_by: String,
    /// Unix milliseconds.
    pub submitted_at: u64,
    pub finished_at: Option<u64>,
    /// The worker of the current (or last) attempt.
    pub worker: Option<String>,
    pub attempts: Vec<Attempt>,
    /// Why it failed or was cancelled.
    pub error: Option<String>,
    /// The verified facts of a succeeded render.
    pub facts: Option<RenderFacts>,
    /// Grows by one with every durable change of this job: tells a newer version of the record from an older one.
    pub revision: u64,
    /// Attempts before this index were made before the last retry, and do not count against the attempt limit.
    pub retried_at: usize,
    /// Live progress while running; not persisted.
    #[serde(default)]
    pub progress: Option<Progress>,
    /// Why a queued job waits (no worker has a service, every capable one is busy, reserved...), worked out by the
    /// coordinator when the job is looked at; not persisted.
    #[serde(default)]
    pub waiting: Option<String>,
    /// `job submit --like W`: the render stack it must render on.
    pub like: Option<Like>,
    /// A split job: what was asked, and why it was not split if it was not.
    pub split: Option<SplitState>,
    /// A task of a split job: what it does.
    pub task: Option<Task>,
    /// A split job's tasks, in order: chunks, the audio pass, then the join.
    pub tasks: Vec<TaskView>,
    /// What the worker runs: melt (a render) or ffmpeg.
    pub kind: JobKind,
    /// The preset it was submitted with, if one.
    pub preset: Option<String>,
}

impl JobRecord {
    /// A job just submitted: queued, no attempts yet, revision 0 (the store's first write makes it 1). Every record
    /// starts here, so a field added to `JobRecord` gets its first value in this one place.
    pub fn queued(id: JobId, spec: JobSpec, submitted_by: String, submitted_at: u64) -> Self {
        Self {
            id,
            state: JobState::Queued,
            project: spec.project,
            output: spec.output,
            encoding: spec.encoding,
            priority: spec.priority,
            melt_log: spec.melt_log,
            services: spec.services,
            optional_filters: spec.optional_filters,
            overwrite: spec.overwrite,
            submitted_by,
            submitted_at,
            finished_at: None,
            worker: None,
            attempts: Vec::new(),
            error: None,
            facts: None,
            revision: 0,
            retried_at: 0,
            progress: None,
            waiting: None,
            like: spec.like.map(|like| *like),
            split: spec.split.map(|request| SplitState { request: *request, refused: None }),
            task: spec.task.map(|t| *t),
            tasks: Vec::new(),
            kind: spec.kind,
            preset: spec.preset,
        }
    }

    pub fn spec(&self) -> JobSpec {
        JobSpec {
            project: self.project.clone(),
            output: self.output.clone(),
            encoding: self.encoding.clone(),
            priority: self.priority,
            melt_log: self.melt_log,
            services: self.services.clone(),
            optional_filters: self.optional_filters.clone(),
            split: self.split.as_ref().map(|s| Box::new(s.request.clone())),
            task: self.task.clone().map(Box::new),
            overwrite: self.overwrite,
            like: self.like.clone().map(Box::new),
            kind: self.kind.clone(),
            preset: self.preset.clone(),
        }
    }

    /// What kind of job it is, as `job status` and the web name it: `render`, `split`, `task` or `ffmpeg`.
    pub fn kind_name(&self) -> &'static str {
        match (&self.kind, &self.task) {
            (JobKind::Ffmpeg(_), _) => "ffmpeg",
            (JobKind::Render, Some(_)) => "task",
            (JobKind::Render, None) if self.is_split() => "split",
            (JobKind::Render, None) => "render",
        }
    }

    /// A split job whose tasks render it (not one refused, which renders in one piece).
    pub fn is_split(&self) -> bool {
        self.split.as_ref().is_some_and(|s| s.refused.is_none())
    }

    /// The number of the live attempt, if one is live.
    pub fn current_attempt(&self) -> Option<&Attempt> {
        self.attempts.last().filter(|a| a.outcome.is_none())
    }
}

/// Now, in unix milliseconds.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

#[cfg(test)]
mod progress_tests;
