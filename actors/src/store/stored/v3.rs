//! Schema 3: each record tagged `0xFF 0x03` before its bincode. It began as schema 2's layout, byte for byte after
//! the tag, with the fields its releases added. Frozen: schema 4 ([`super::v4`]) writes this job whole, then its own
//! fields, so the conversions to and from the wire types here are schema 4's too, for the fields they share.
//!
//! These types belong to the disk, not the wire: a field added to `JobRecord` changes nothing here until it is
//! added to a type below, with its conversions both ways and a test. bincode is positional: a new field is written
//! by every record from then on, and a record of schema 2 gets its value in [`super::v2`]'s conversion to this
//! schema (never `#[serde(default)]`). The types this schema shares with schema 2 ([`MeltLog`], [`Reservation`],
//! [`Drain`]) are frozen with it: to change one, give this schema its own copy first.

pub use super::v2::{Drain, MeltLog, Reservation};
use distencode_wire::fingerprint::Fingerprint;
use distencode_wire::job::{self as wire, AttemptOutcome, JobId};
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
pub struct Job {
    pub id: u64,
    pub state: State,
    pub project: String,
    pub output: String,
    pub encoding: Encoding,
    pub priority: i32,
    pub melt_log: MeltLog,
    pub services: Vec<String>,
    /// Filters the render may go without (`job submit --allow-missing-filters`).
    pub optional_filters: Vec<String>,
    pub submitted_by: String,
    pub submitted_at: u64,
    pub finished_at: Option<u64>,
    pub worker: Option<String>,
    pub attempts: Vec<Attempt>,
    pub error: Option<String>,
    pub facts: Option<Facts>,
    pub revision: u64,
    pub retried_at: u64,
    /// A split job (`job submit --split`): what was asked, and why it renders in one piece if it does.
    pub split: Option<Split>,
    /// A task of a split job: what it does.
    pub task: Option<Task>,
    /// A split job's tasks as they stood at its last change.
    pub tasks: Vec<TaskRow>,
    /// `job submit --overwrite`: an earlier render of this farm at the output may be replaced.
    pub overwrite: bool,
    /// `job submit --like W`: the render stack the job must render on.
    pub like: Option<Like>,
}

/// `job submit --like W`: the worker named and its render stack at submit.
#[derive(Serialize, Deserialize)]
pub struct Like {
    pub worker: String,
    pub melt: String,
    pub ffmpeg: String,
    pub frei0r: String,
    pub fonts: String,
}

#[derive(Serialize, Deserialize)]
pub struct Split {
    pub chunks: Option<u32>,
    pub force: bool,
    pub frames: u64,
    pub fps_num: u32,
    pub fps_den: u32,
    pub refused: Option<String>,
}

#[derive(Serialize, Deserialize)]
pub enum TaskKind {
    Chunk,
    Audio,
    Join,
    Cleanup,
}

#[derive(Serialize, Deserialize)]
pub struct Task {
    pub parent: u64,
    pub kind: TaskKind,
    pub first: u64,
    pub last: u64,
    pub fps_num: u32,
    pub fps_den: u32,
    /// Each input's path and frames.
    pub inputs: Vec<(String, u64)>,
}

#[derive(Serialize, Deserialize)]
pub struct TaskRow {
    pub job: u64,
    pub kind: TaskKind,
    pub first: u64,
    pub last: u64,
    pub state: State,
    pub worker: Option<String>,
    pub attempts: u32,
    pub frames_done: u64,
}

#[derive(Serialize, Deserialize)]
pub enum State {
    Queued,
    Offered,
    Running,
    Succeeded,
    Failed,
    Cancelled,
}

#[derive(Serialize, Deserialize)]
pub struct Encoding {
    pub vcodec: String,
    pub acodec: String,
    pub extra: Vec<(String, String)>,
}

#[derive(Serialize, Deserialize)]
pub struct Attempt {
    pub number: u32,
    pub worker: String,
    pub offered_at: u64,
    pub started_at: Option<u64>,
    pub ended_at: Option<u64>,
    pub committed_at: Option<u64>,
    pub outcome: Option<Outcome>,
    pub blames_worker: bool,
}

#[derive(Serialize, Deserialize)]
pub enum Outcome {
    Succeeded,
    Declined { reason: String },
    Failed { reason: String },
    Cancelled { reason: String },
}

#[derive(Serialize, Deserialize)]
pub struct Facts {
    pub frames: u64,
    pub duration_seconds: f64,
    pub video_codec: String,
    pub audio_codec: Option<String>,
    pub size_bytes: u64,
    /// Optional filters the render went without.
    pub dropped_filters: Vec<String>,
    /// Added in schema 3: the first video and audio stream's properties.
    pub streams: StreamDetails,
}

#[derive(Serialize, Deserialize, Default)]
pub struct StreamDetails {
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub pix_fmt: Option<String>,
    pub frame_rate: Option<String>,
    pub sample_rate: Option<u32>,
    pub channels: Option<u32>,
}

// === From the wire types ===

impl From<&wire::JobRecord> for Job {
    fn from(r: &wire::JobRecord) -> Self {
        Self {
            id: r.id.0,
            state: r.state.into(),
            project: r.project.clone(),
            output: r.output.clone(),
            encoding: Encoding {
                vcodec: r.encoding.vcodec.clone(),
                acodec: r.encoding.acodec.clone(),
                extra: r.encoding.extra.clone(),
            },
            priority: r.priority,
            melt_log: match r.melt_log {
                wire::MeltLog::Normal => MeltLog::Normal,
                wire::MeltLog::Verbose => MeltLog::Verbose,
                wire::MeltLog::Debug => MeltLog::Debug,
            },
            services: r.services.clone(),
            optional_filters: r.optional_filters.clone(),
            overwrite: r.overwrite,
            like: r.like.as_ref().map(|l| Like {
                worker: l.worker.clone(),
                melt: l.fingerprint.melt.clone(),
                ffmpeg: l.fingerprint.ffmpeg.clone(),
                frei0r: l.fingerprint.frei0r.clone(),
                fonts: l.fingerprint.fonts.clone(),
            }),
            submitted_by: r.submitted_by.clone(),
            submitted_at: r.submitted_at,
            finished_at: r.finished_at,
            worker: r.worker.clone(),
            attempts: r.attempts.iter().map(Into::into).collect(),
            error: r.error.clone(),
            facts: r.facts.as_ref().map(|f| Facts {
                frames: f.frames,
                duration_seconds: f.duration_seconds,
                video_codec: f.video_codec.clone(),
                audio_codec: f.audio_codec.clone(),
                size_bytes: f.size_bytes,
                dropped_filters: f.dropped_filters.clone(),
                streams: StreamDetails {
                    width: f.streams.width,
                    height: f.streams.height,
                    pix_fmt: f.streams.pix_fmt.clone(),
                    frame_rate: f.streams.frame_rate.clone(),
                    sample_rate: f.streams.sample_rate,
                    channels: f.streams.channels,
                },
            }),
            revision: r.revision,
            retried_at: r.retried_at as u64,
            split: r.split.as_ref().map(|s| Split {
                chunks: s.request.chunks,
                force: s.request.force,
                frames: s.request.frames,
                fps_num: s.request.fps_num,
                fps_den: s.request.fps_den,
                refused: s.refused.clone(),
            }),
            task: r.task.as_ref().map(|t| Task {
                parent: t.parent.0,
                kind: t.kind.into(),
                first: t.first,
                last: t.last,
                fps_num: t.fps_num,
                fps_den: t.fps_den,
                inputs: t.inputs.iter().map(|i| (i.path.clone(), i.frames)).collect(),
            }),
            tasks: r
                .tasks
                .iter()
                .map(|t| TaskRow {
                    job: t.job.0,
                    kind: t.kind.into(),
                    first: t.first,
                    last: t.last,
                    state: t.state.into(),
                    worker: t.worker.clone(),
                    attempts: t.attempts,
                    frames_done: t.frames_done,
                })
                .collect(),
        }
    }
}

impl From<wire::JobState> for State {
    fn from(s: wire::JobState) -> Self {
        match s {
            wire::JobState::Queued => State::Queued,
            wire::JobState::Offered => State::Offered,
            wire::JobState::Running => State::Running,
            wire::JobState::Succeeded => State::Succeeded,
            wire::JobState::Failed => State::Failed,
            wire::JobState::Cancelled => State::Cancelled,
        }
    }
}

impl From<State> for wire::JobState {
    fn from(s: State) -> Self {
        match s {
            State::Queued => wire::JobState::Queued,
            State::Offered => wire::JobState::Offered,
            State::Running => wire::JobState::Running,
            State::Succeeded => wire::JobState::Succeeded,
            State::Failed => wire::JobState::Failed,
            State::Cancelled => wire::JobState::Cancelled,
        }
    }
}

impl From<wire::TaskKind> for TaskKind {
    fn from(k: wire::TaskKind) -> Self {
        match k {
            wire::TaskKind::Chunk => TaskKind::Chunk,
            wire::TaskKind::Audio => TaskKind::Audio,
            wire::TaskKind::Join => TaskKind::Join,
            wire::TaskKind::Cleanup => TaskKind::Cleanup,
        }
    }
}

impl From<TaskKind> for wire::TaskKind {
    fn from(k: TaskKind) -> Self {
        match k {
            TaskKind::Chunk => wire::TaskKind::Chunk,
            TaskKind::Audio => wire::TaskKind::Audio,
            TaskKind::Join => wire::TaskKind::Join,
            TaskKind::Cleanup => wire::TaskKind::Cleanup,
        }
    }
}

impl From<&wire::Attempt> for Attempt {
    fn from(a: &wire::Attempt) -> Self {
        Self {
            number: a.number,
            worker: a.worker.clone(),
            offered_at: a.offered_at,
            started_at: a.started_at,
            ended_at: a.ended_at,
            committed_at: a.committed_at,
            outcome: a.outcome.as_ref().map(Into::into),
            blames_worker: a.blames_worker,
        }
    }
}

impl From<&AttemptOutcome> for Outcome {
    fn from(o: &AttemptOutcome) -> Self {
        match o.clone() {
            AttemptOutcome::Succeeded => Outcome::Succeeded,
            AttemptOutcome::Declined { reason } => Outcome::Declined { reason },
            AttemptOutcome::Failed { reason } => Outcome::Failed { reason },
            AttemptOutcome::Cancelled { reason } => Outcome::Cancelled { reason },
        }
    }
}

// === To the wire types ===

impl From<Job> for wire::JobRecord {
    fn from(job: Job) -> Self {
        Self {
            id: JobId(job.id),
            state: job.state.into(),
            project: job.project,
            output: job.output,
            encoding: wire::Encoding {
                vcodec: job.encoding.vcodec,
                acodec: job.encoding.acodec,
                extra: job.encoding.extra,
            },
            priority: job.priority,
            melt_log: match job.melt_log {
                MeltLog::Normal => wire::MeltLog::Normal,
                MeltLog::Verbose => wire::MeltLog::Verbose,
                MeltLog::Debug => wire::MeltLog::Debug,
            },
            services: job.services,
            optional_filters: job.optional_filters,
            overwrite: job.overwrite,
            submitted_by: job.submitted_by,
            submitted_at: job.submitted_at,
            finished_at: job.finished_at,
            worker: job.worker,
            attempts: job.attempts.into_iter().map(Into::into).collect(),
            error: job.error,
            facts: job.facts.map(|f| wire::RenderFacts {
                frames: f.frames,
                duration_seconds: f.duration_seconds,
                video_codec: f.video_codec,
                audio_codec: f.audio_codec,
                size_bytes: f.size_bytes,
                dropped_filters: f.dropped_filters,
                streams: wire::StreamDetails {
                    width: f.streams.width,
                    height: f.streams.height,
                    pix_fmt: f.streams.pix_fmt,
                    frame_rate: f.streams.frame_rate,
                    sample_rate: f.streams.sample_rate,
                    channels: f.streams.channels,
                },
            }),
            revision: job.revision,
            retried_at: usize::try_from(job.retried_at).unwrap_or(usize::MAX),
            progress: None,
            waiting: None,
            like: job.like.map(|l| wire::Like {
                worker: l.worker,
                fingerprint: Fingerprint { melt: l.melt, ffmpeg: l.ffmpeg, frei0r: l.frei0r, fonts: l.fonts },
            }),
            split: job.split.map(|s| wire::SplitState {
                request: wire::SplitRequest {
                    chunks: s.chunks,
                    force: s.force,
                    frames: s.frames,
                    fps_num: s.fps_num,
                    fps_den: s.fps_den,
                },
                refused: s.refused,
            }),
            task: job.task.map(|t| wire::Task {
                parent: JobId(t.parent),
                kind: t.kind.into(),
                first: t.first,
                last: t.last,
                fps_num: t.fps_num,
                fps_den: t.fps_den,
                inputs: t.inputs.into_iter().map(|(path, frames)| wire::TaskInput { path, frames }).collect(),
            }),
            tasks: job
                .tasks
                .into_iter()
                .map(|t| wire::TaskView {
                    job: JobId(t.job),
                    kind: t.kind.into(),
                    first: t.first,
                    last: t.last,
                    state: t.state.into(),
                    worker: t.worker,
                    attempts: t.attempts,
                    frames_done: t.frames_done,
                })
                .collect(),
            // Schema 4's fields: filled in by its conversion (schema 3 knew renders only).
            kind: wire::JobKind::Render,
            preset: None,
        }
    }
}

impl From<Attempt> for wire::Attempt {
    fn from(a: Attempt) -> Self {
        Self {
            number: a.number,
            worker: a.worker,
            offered_at: a.offered_at,
            started_at: a.started_at,
            ended_at: a.ended_at,
            committed_at: a.committed_at,
            outcome: a.outcome.map(|o| match o {
                Outcome::Succeeded => AttemptOutcome::Succeeded,
                Outcome::Declined { reason } => AttemptOutcome::Declined { reason },
                Outcome::Failed { reason } => AttemptOutcome::Failed { reason },
                Outcome::Cancelled { reason } => AttemptOutcome::Cancelled { reason },
            }),
            blames_worker: a.blames_worker,
        }
    }
}
