//! The wire crate's error kinds in one place, so that a caller (and a test) can match on what went wrong instead of
//! on the wording.
//!
//! The checks of what a peer sends (a job spec's caps, its consumer properties and ffmpeg arguments, a poster
//! frame, an address, a certificate) answer with the kinds defined here. Each kind's text is the one line the user
//! reads, exactly as before they were typed: tests and scripts match those lines. The errors of framing,
//! connections, identities and certificates stay beside the code that raises them and are re-exported here.

pub use crate::connection::ConnectionError;
pub use crate::frame::FrameError;
pub use crate::identity::IdentityError;
pub use crate::tls_error::{PkiError, TlsError};
pub use crate::verify::ChainRefusal;

/// A field or list of a job spec or a reservation over its cap (see `crate::limits`).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LimitError {
    /// A text field longer than its cap; `what` names the field as the user reads it ("the output path").
    #[error("refused: {what} is {len} bytes; the limit is {limit}")]
    TooLong { what: &'static str, len: usize, limit: usize },
    /// A list with more entries than its cap; `what` names the entries ("MLT services").
    #[error("refused: the job names {count} {what}; the limit is {limit}")]
    TooMany { what: &'static str, count: usize, limit: usize },
    /// One consumer property, name and value together, over its cap; `key` is the name's first 40 characters.
    #[error("refused: the consumer property {key:?} is {len} bytes; the limit is {limit}")]
    PropertyTooLong { key: String, len: usize, limit: usize },
    /// `--split` asks for more chunks than a job is split into.
    #[error("refused: --split asks for {chunks} chunks; the limit is {limit}")]
    TooManyChunks { chunks: u32, limit: u32 },
}

/// Why a job spec is refused when it arrives (see `crate::limits::check_spec`).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SpecRefusal {
    #[error(transparent)]
    Limit(#[from] LimitError),
    #[error(transparent)]
    Property(#[from] PropertyRefusal),
    #[error(transparent)]
    Ffmpeg(#[from] FfmpegArgRefusal),
    /// A spec that claims to be a task of a split job: only the coordinator makes those.
    #[error("refused: tasks of a split job are made by the coordinator, not submitted")]
    TaskSubmitted,
    #[error("refused: an ffmpeg job is not split")]
    SplitFfmpegJob,
}

/// Why a melt consumer property is refused (see `crate::consumer_props`). `key` is the property's name and `value`
/// its value, each cut to its first 40 characters.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PropertyRefusal {
    /// `vcodec` or `acodec`, which have flags of their own (`flag`).
    #[error("refused: the consumer property {key:?} is set with {flag}, not --consumer-arg")]
    SetWithFlag { key: String, flag: &'static str },
    #[error("refused: the consumer property {key:?} names a file or a destination; the farm writes the output itself")]
    NamesAFile { key: String },
    #[error(
        "refused: the consumer property {key:?} is not an encoding setting the farm allows (allowed: {})",
        crate::consumer_props::allowed_names()
    )]
    NotAllowed { key: String },
    #[error("refused: the consumer property {key:?} has a value of {len} bytes; the limit is {limit}")]
    ValueTooLong { key: String, len: usize, limit: usize },
    /// A value not of the property's kind; `expected` says what it takes.
    #[error("refused: the consumer property {key:?} has the value {value:?}; it takes {expected}")]
    BadValue { key: String, value: String, expected: &'static str },
}

/// Why an ffmpeg job's inputs or extra arguments are refused (see `crate::ffmpeg_args`). `arg` is the argument as
/// given (`-c:v`); an option's refused value is kept apart from it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FfmpegArgRefusal {
    /// Too many inputs, or an input path too long.
    #[error(transparent)]
    Limit(#[from] LimitError),
    #[error("refused: the job gives ffmpeg {count} arguments; the limit is {limit}")]
    TooManyArgs { count: usize, limit: usize },
    /// One argument over its cap; `start` is its first 40 characters.
    #[error("refused: the ffmpeg argument {start:?}... is {len} bytes; the limit is {limit}")]
    ArgTooLong { start: String, len: usize, limit: usize },
    /// A word that is no option's value: ffmpeg would write it as a second output.
    #[error("refused: {arg}: a second output (a job writes only its --output)")]
    SecondOutput { arg: String },
    /// An option refused outright, with why.
    #[error("refused: {arg}: {why}")]
    RefusedOption { arg: String, why: &'static str },
    #[error("refused: {arg}: no value follows it")]
    NoValue { arg: String },
    /// `-f` naming a device, a network protocol or a muxer of several files.
    #[error("refused: {arg} {format}: a device, network or multi-file format")]
    RefusedFormat { arg: String, format: String },
    /// A filter graph naming a filter that reads files, loads code or takes commands.
    #[error("refused: {arg}: the filter {filter} {why}")]
    RefusedFilter { arg: String, filter: &'static str, why: &'static str },
    #[error("refused: {arg} {value}: not a time ([HH:]MM:SS[.m] or seconds)")]
    NotATime { arg: String, value: String },
    #[error("refused: an ffmpeg job needs at least one --input")]
    NoInput,
    #[error("refused: the input {input} is not an absolute path")]
    InputNotAbsolute { input: String },
    #[error("refused: the output {output} is also an input")]
    OutputIsInput { output: String },
    #[error("refused: the input {input} is named twice")]
    InputTwice { input: String },
}

/// Why a poster frame is refused (see `crate::thumbnail`).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ThumbnailRefusal {
    #[error("the poster frame is empty")]
    Empty,
    #[error("the poster frame is {len} bytes; the limit is {limit}")]
    TooLarge { len: usize, limit: usize },
}

/// An address that is not `HOST:PORT` (see `crate::connection::check_host_port`).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{addr:?} is not HOST:PORT (e.g. coordinator.example.net:7878 or [::1]:7878)")]
pub struct NotHostPort {
    pub addr: String,
}

/// DER bytes that x509-parser cannot read as a certificate (see `crate::crl::serial_of`).
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct UnreadableCertificate(#[from] x509_parser::nom::Err<x509_parser::error::X509Error>);
