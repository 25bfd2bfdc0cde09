//! Schema 4: what this version writes. Each record is tagged `0xFF 0x04` before its bincode: schema 3's job, field
//! for field, then the fields this schema adds (bincode is positional and a struct is its fields in order, so the
//! [`super::v3::Job`] inside is written exactly as schema 3 wrote it, and the new fields follow).
//!
//! Added: the job's kind (a render, or an ffmpeg job with its inputs and arguments) and the name of the preset it
//! was submitted with. A record of schema 3 becomes a render with no preset named ([`From<v3::Job>`]).

use super::v3;
use distencode_wire::job as wire;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
pub struct Job {
    /// Every field of schema 3, in its order.
    pub base: v3::Job,
    /// What the worker runs.
    pub kind: Kind,
    /// The preset the job was submitted with.
    pub preset: Option<String>,
}

#[derive(Serialize, Deserialize)]
pub enum Kind {
    Render,
    Ffmpeg { inputs: Vec<String>, args: Vec<String> },
}

impl From<v3::Job> for Job {
    fn from(base: v3::Job) -> Self {
        // Schema 3 knew renders only, and kept no preset name.
        Self { base, kind: Kind::Render, preset: None }
    }
}

impl From<&wire::JobRecord> for Job {
    fn from(r: &wire::JobRecord) -> Self {
        let kind = match &r.kind {
            wire::JobKind::Render => Kind::Render,
            wire::JobKind::Ffmpeg(f) => Kind::Ffmpeg { inputs: f.inputs.clone(), args: f.args.clone() },
        };
        Self { base: v3::Job::from(r), kind, preset: r.preset.clone() }
    }
}

impl From<Job> for wire::JobRecord {
    fn from(job: Job) -> Self {
        let mut record = wire::JobRecord::from(job.base);
        record.kind = match job.kind {
            Kind::Render => wire::JobKind::Render,
            Kind::Ffmpeg { inputs, args } => wire::JobKind::Ffmpeg(Box::new(wire::FfmpegJob { inputs, args })),
        };
        record.preset = job.preset;
        record
    }
}
