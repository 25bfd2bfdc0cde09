//! Where melt's log lines go on the worker: numbered batches to the coordinator, and the attempt's log file (in its
//! private folder, see [`super::output_files`]), which ends up beside the output as `OUTPUT.log`.

use crate::worker::LinkHandle;
use distencode_wire::job::JobId;
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
    /// The attempt's log file while the render runs, created by the caller (never through a link).
    file: tokio::io::BufWriter<tokio::fs::File>,
}

impl LogSink {
    pub fn new(link: LinkHandle, job: JobId, attempt: u32, file: std::fs::File) -> Self {
        let file = tokio::io::BufWriter::new(tokio::fs::File::from_std(file));
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
        let _ = self.file.write_all(text.as_bytes()).await;
        self.seq += 1;
        self.link.log(self.job, self.attempt, self.seq - 1, text).await;
    }

    /// Sends the rest and closes the log file (the caller puts it in place or removes it).
    pub async fn close(mut self) {
        self.flush().await;
        let _ = self.file.flush().await;
    }
}
