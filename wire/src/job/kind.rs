//! What runs a job: melt rendering a project (whole, or as a split job's tasks), or ffmpeg transcoding files.
//!
//! An ffmpeg job (`job ffmpeg`) is a job like any other: queued, offered, attempted, logged, cancelled and verified
//! the same way; only the program its worker runs differs. Its `project` is its first input (so that ownership,
//! listings and the output-in-use rule read it as they read a project), its `encoding` names the encoders it needs
//! (capability matching sends it only to workers that have them), and the rest is here.

use serde::{Deserialize, Serialize};

/// What a job's worker runs.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum JobKind {
    /// melt renders the project.
    #[default]
    Render,
    /// ffmpeg transcodes the inputs into the output (boxed: most jobs are renders).
    Ffmpeg(Box<FfmpegJob>),
}

impl JobKind {
    /// The ffmpeg job, if it is one.
    pub fn ffmpeg(&self) -> Option<&FfmpegJob> {
        match self {
            JobKind::Ffmpeg(job) => Some(job),
            JobKind::Render => None,
        }
    }
}

/// `job ffmpeg --input FILE... --output FILE [--preset NAME] [-- ARGS...]`: no shell, no command string.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FfmpegJob {
    /// The files ffmpeg reads, absolute, each behind `-protocol_whitelist file,pipe -i`.
    pub inputs: Vec<String>,
    /// Output options: the preset's, then the user's (checked by [`crate::ffmpeg_args::check`]).
    pub args: Vec<String>,
}
