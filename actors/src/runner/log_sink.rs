//! Where melt's log lines go on the worker: numbered batches to the coordinator, and a file that ends up beside the
//! output as `OUTPUT.log`.

use crate::worker::LinkHandle;
use distencode_wire::job::JobId;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::io::AsyncWriteExt;

/// Log text is sent in batches of about this size, or after [`LOG_BATCH_DELAY`].
pub const LOG_BATCH_BYTES: usize = 64 * 1024;
pub const LOG_BATCH_DELAY: Duration = Duration::from_millis(250);

/// Batches lines for the coordinator and writes them to the attempt's log file.
pub struct LogSink {
    link: LinkHandle,
    job: JobId,
    attempt: u32,
    /// The next batch's number.
    seq: u64,
    batch: String,
    /// The log file while the render runs (hidden, beside the output); `None` if it could not be created.
    file: Option<(PathBuf, tokio::io::BufWriter<tokio::fs::File>)>,
}

impl LogSink {
    pub async fn new(link: LinkHandle, job: JobId, attempt: u32, partial_log: PathBuf) -> Self {
        let file = match tokio::fs::File::create(&partial_log).await {
            Ok(file) => Some((partial_log, tokio::io::BufWriter::new(file))),
            Err(e) => {
                tracing::warn!(%job, "cannot write the log file {}: {e}", partial_log.display());
                None
            }
        };
        Self { link, job, attempt, seq: 0, batch: String::new(), file }
    }

    /// Adds one line; sends the batch when it is big enough.
    pub async fn line(&mut self, line: &str) {
        self.batch.push_str(line);
        self.batch.push('\n');
        if self.batch.len() >= LOG_BATCH_BYTES {
            self.flush().await;
        }
    }

    /// Sends what is batched (waiting for room: back-pressure on melt's output, never an unbounded queue).
    pub async fn flush(&mut self) {
        if self.batch.is_empty() {
            return;
        }
        let text = std::mem::take(&mut self.batch);
        if let Some((_, file)) = self.file.as_mut() {
            let _ = file.write_all(text.as_bytes()).await;
        }
        self.seq += 1;
        self.link.log(self.job, self.attempt, self.seq - 1, text).await;
    }

    /// Sends the rest and puts the log file at `destination` (or removes it when `destination` is `None`).
    pub async fn close(mut self, destination: Option<&Path>) {
        self.flush().await;
        if let Some((path, mut file)) = self.file.take() {
            let _ = file.flush().await;
            drop(file);
            match destination {
                Some(destination) => {
                    if let Err(e) = tokio::fs::rename(&path, destination).await {
                        tracing::warn!(job = %self.job, "cannot put the log at {}: {e}", destination.display());
                    }
                }
                None => {
                    let _ = tokio::fs::remove_file(&path).await;
                }
            }
        }
    }
}
