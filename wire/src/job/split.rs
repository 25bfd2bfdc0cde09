//! Split renders: one job rendered by many workers at once, as tasks (video chunks, one audio pass, a join).
//!
//! A split job (the parent) is not rendered itself: the coordinator plans it into tasks, each an ordinary job of
//! its own (queued, offered, attempted and recovered like any other) that names its parent. The parent shows its
//! tasks (`tasks` in `job status --json`) and ends when its join ends. These are the types that cross the wire for
//! that: what a client asks (`--split`), what a worker is told to do, and how a task looks in a parent's record.

use super::{JobId, JobState};
use serde::{Deserialize, Serialize};
use std::fmt;

/// The most chunks one job may be split into (a peer-controlled count: `--split N`, and a join's inputs).
pub const MAX_SPLIT_CHUNKS: u32 = 64;

/// What `job submit --split auto|N` asks for, with the facts of the project the client read.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SplitRequest {
    /// `None`: `auto` (split when the project is long enough and more than one worker is free); else this many
    /// chunks at most.
    pub chunks: Option<u32>,
    /// `--split-force`: split even when the project uses a filter that keeps state across frames.
    pub force: bool,
    /// The project's length in frames.
    pub frames: u64,
    /// Its frame rate, `fps_num / fps_den`.
    pub fps_num: u32,
    pub fps_den: u32,
}

/// What a task does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TaskKind {
    /// Frames `first..=last` of the project's video, without audio.
    Chunk,
    /// The whole project's audio, once, to PCM.
    Audio,
    /// The chunks joined (video copied) with the audio pass encoded once, into the job's output.
    Join,
    /// Removes what a cancelled or failed split left (its chunk files).
    Cleanup,
}

impl TaskKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Chunk => "chunk",
            Self::Audio => "audio",
            Self::Join => "join",
            Self::Cleanup => "cleanup",
        }
    }
}

impl fmt::Display for TaskKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A file a join or a cleanup works on, with the frames it holds (0 for audio).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskInput {
    pub path: String,
    pub frames: u64,
}

/// One task of a split job, as the coordinator gives it to a worker (in the task's own `JobSpec`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Task {
    /// The job this task belongs to.
    pub parent: JobId,
    pub kind: TaskKind,
    /// The first and last frame (inclusive) of the project this task covers: a chunk's range; the whole project
    /// for the others.
    pub first: u64,
    pub last: u64,
    /// The project's frame rate, `fps_num / fps_den`.
    pub fps_num: u32,
    pub fps_den: u32,
    /// A join's chunk files in order, then its audio file; the files a cleanup removes.
    pub inputs: Vec<TaskInput>,
}

impl Task {
    /// How many frames the task covers.
    pub fn frames(&self) -> u64 {
        self.last.saturating_sub(self.first) + 1
    }
}

/// How a split job stands: what was asked, and why it was not split, if it was not.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SplitState {
    pub request: SplitRequest,
    /// Why the job renders in one piece instead (`not split: ...`); `None` when it is split.
    pub refused: Option<String>,
}

/// One task as its parent's record shows it (`tasks` in `job status --json`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TaskView {
    /// The task's own job id (`job logs ID` shows its log).
    pub job: JobId,
    pub kind: TaskKind,
    /// The frames it covers, first and last (inclusive).
    pub first: u64,
    pub last: u64,
    pub state: JobState,
    /// The worker of its current (or last) attempt.
    pub worker: Option<String>,
    /// Attempts made so far.
    pub attempts: u32,
    /// Frames rendered so far (a chunk's), as last reported.
    pub frames_done: u64,
}
