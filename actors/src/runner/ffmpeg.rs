//! An ffmpeg job on the worker: checked before it is accepted, then ffmpeg run as a child process (no shell), its
//! `-progress pipe:1` read as progress and its messages as the job's log, and the partial file verified.
//!
//! Everything else is a render's: the partial file beside the output, the coordinator's go-ahead before the file
//! is put in place, the log beside the output, cancellation (the process group killed, the partial folder removed),
//! the poster frame. See [`super::render`], which runs this in place of melt for a job of this kind.

use super::ffmpeg_probe::{self, Expected, Inputs};
use super::log_sink::{LogSink, LOG_BATCH_DELAY};
use super::{output_files, output_policy, process, who, RunnerConfig};
use crate::worker::LinkHandle;
use distencode_mlt::{check_media_files, check_output_folder};
use distencode_wire::ffmpeg_args;
use distencode_wire::job::{FfmpegJob, JobId, JobSpec, MeltJob, Progress};
use distencode_wire::message::{Outcome, RejectionCause};
use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::process::Command;
use tokio::sync::{mpsc, oneshot};

/// Progress is reported at most this often.
const PROGRESS_INTERVAL: Duration = Duration::from_millis(250);
/// Lines of ffmpeg's messages kept for a failure report.
const TAIL_LINES: usize = 20;

/// An ffmpeg job checked on this worker: what it reads and what its output must be.
#[derive(Clone, Debug)]
pub struct Prepared {
    pub job: FfmpegJob,
    /// The inputs' length (the progress total) and streams.
    pub inputs: Inputs,
    /// What verification checks; its length is the progress total.
    pub expected: Expected,
}

/// Everything that must hold on this machine before ffmpeg starts (blocking: run off the actor's thread). Returns
/// the job prepared and where its output goes (the output's folder resolved).
pub fn validate(
    config: &RunnerConfig,
    id: JobId,
    spec: &JobSpec,
    job: &FfmpegJob,
) -> Result<(Prepared, PathBuf), (RejectionCause, String)> {
    let output = Path::new(&spec.output);
    // Checked at the client and at submit too; a worker trusts neither.
    let refused = |e: distencode_wire::error::FfmpegArgRefusal| (RejectionCause::Project, e.to_string());
    ffmpeg_args::check_inputs(&job.inputs, &spec.output).map_err(refused)?;
    let asked = ffmpeg_args::check(&job.args).map_err(refused)?;
    let inputs: Vec<PathBuf> = job.inputs.iter().map(PathBuf::from).collect();
    check_media_files(&inputs, &config.media).map_err(|e| (RejectionCause::Worker, e))?;
    if let Some(missing) = inputs.iter().find(|i| !i.is_file()) {
        // A file this worker cannot see may be visible to another (different mounts).
        return Err((RejectionCause::Worker, format!("the input {} is not a file on this worker", missing.display())));
    }
    let encoders = &config.encoders;
    let missing: Vec<&str> = [(&spec.encoding.vcodec, &encoders.video), (&spec.encoding.acodec, &encoders.audio)]
        .into_iter()
        .filter(|(wanted, have)| !wanted.is_empty() && wanted.as_str() != "none" && !have.contains(*wanted))
        .map(|(wanted, _)| wanted.as_str())
        .collect();
    if !missing.is_empty() {
        return Err((RejectionCause::Worker, format!("this ffmpeg has no encoder {}", missing.join(", "))));
    }
    let probed = ffmpeg_probe::probe_inputs(&config.ffprobe, &job.inputs).map_err(|e| (RejectionCause::Project, e))?;
    check_output_folder(output)
        .map_err(|reason| (RejectionCause::Worker, format!("{reason} (as {})", who::user_and_groups())))?;
    let resolved = output_policy::check_here(&config.outputs, output).map_err(|line| (RejectionCause::Worker, line))?;
    output_policy::check_target(Some(output_files::owner(id, spec)), output, &resolved, spec.overwrite, &inputs)
        .map_err(|reason| (RejectionCause::Project, reason))?;
    let expected = Expected::of(&probed, &asked, &spec.encoding.vcodec, &spec.encoding.acodec);
    Ok((Prepared { job: job.clone(), inputs: probed, expected }, resolved))
}

/// What ffmpeg's `-progress` blocks said last.
#[derive(Default)]
struct Reported {
    out_seconds: f64,
    frame: u64,
    fps: f64,
}

impl Reported {
    /// Takes one `key=value` line; true at the end of a block (`progress=continue` or `progress=end`).
    fn take(&mut self, line: &str) -> bool {
        let Some((key, value)) = line.trim().split_once('=') else {
            return false;
        };
        match key {
            // `out_time_ms` is in microseconds too (an old ffmpeg mistake, kept).
            "out_time_us" | "out_time_ms" => {
                if let Ok(us) = value.parse::<i64>() {
                    self.out_seconds = us.max(0) as f64 / 1_000_000.0;
                }
            }
            "frame" => self.frame = value.parse().unwrap_or(self.frame),
            "fps" => self.fps = value.parse().unwrap_or(self.fps),
            "progress" => return true,
            _ => {}
        }
        false
    }

    fn progress(&self, total_seconds: f64, started: Instant) -> Progress {
        let fraction = if total_seconds > 0.0 { (self.out_seconds / total_seconds).clamp(0.0, 1.0) } else { 0.0 };
        let elapsed = started.elapsed().as_secs_f64();
        let eta_seconds = (fraction > 0.0).then(|| elapsed * (1.0 - fraction) / fraction);
        // 100 is kept for a verified success.
        Progress { frame: self.frame, percent: (fraction * 100.0).min(99.0), fps: self.fps, eta_seconds }
    }
}

/// Runs ffmpeg to its end, writing `partial`; `Err` carries the outcome when the run cannot count.
pub async fn run(
    config: &RunnerConfig,
    job: &MeltJob,
    prepared: &Prepared,
    partial: &Path,
    link: &LinkHandle,
    log: &mut LogSink,
    cancel: &mut oneshot::Receiver<()>,
) -> Result<(), Outcome> {
    let line = ffmpeg_args::command_line(&prepared.job.inputs, &prepared.job.args, &partial.display().to_string());
    log.line(&format!("distencode: {}", ffmpeg_args::shown(&config.ffmpeg.display().to_string(), &line))).await;
    let mut command = Command::new(&config.ffmpeg);
    command.args(&line).current_dir(&config.work_dir).env("TMPDIR", &config.work_dir);
    command.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).kill_on_drop(true);
    process::tie_to_parent(&mut command);
    super::sandbox::confine(&mut command, &config.secrets())
        .map_err(|reason| Outcome::Failed { reason, log_tail: String::new() })?;
    let mut child = command.spawn().map_err(|e| Outcome::Failed {
        reason: format!("cannot start {}: {e}", config.ffmpeg.display()),
        log_tail: String::new(),
    })?;
    let pid = child.id().unwrap_or(0);
    let (id, attempt) = (job.id, job.attempt);
    tracing::info!(job = %id, attempt, pid, "ffmpeg started");
    let (progress_tx, mut progress_lines) = mpsc::channel::<String>(1024);
    let (log_tx, mut log_lines) = mpsc::channel::<String>(1024);
    if let Some(stdout) = child.stdout.take() {
        tokio::spawn(super::render::read_lines(stdout, progress_tx));
    }
    if let Some(stderr) = child.stderr.take() {
        tokio::spawn(super::render::read_lines(stderr, log_tx));
    }
    let started = Instant::now();
    let mut reported = Reported::default();
    let mut tail: VecDeque<String> = VecDeque::new();
    let mut last_output = Instant::now();
    let mut last_progress: Option<Instant> = None;
    let mut flush_tick = tokio::time::interval(LOG_BATCH_DELAY);
    let (mut stdout_open, mut stderr_open) = (true, true);
    while stdout_open || stderr_open {
        tokio::select! {
            line = progress_lines.recv(), if stdout_open => {
                let Some(line) = line else { stdout_open = false; continue };
                last_output = Instant::now();
                if reported.take(&line) && last_progress.is_none_or(|t| t.elapsed() >= PROGRESS_INTERVAL) {
                    last_progress = Some(Instant::now());
                    link.progress(id, attempt, reported.progress(prepared.expected.seconds, started));
                }
            }
            line = log_lines.recv(), if stderr_open => {
                let Some(line) = line else { stderr_open = false; continue };
                last_output = Instant::now();
                if tail.len() == TAIL_LINES {
                    tail.pop_front();
                }
                tail.push_back(line.clone());
                let waiting = Instant::now();
                log.line(&line).await;
                if waiting.elapsed() > LOG_BATCH_DELAY {
                    // We, not ffmpeg, were held up (the link is slow): that time is not ffmpeg's silence.
                    last_output = Instant::now();
                }
            }
            _ = flush_tick.tick() => {
                log.flush().await;
                if last_output.elapsed() > config.stall_timeout {
                    process::kill_group(pid);
                    let _ = child.wait().await;
                    return Err(Outcome::Failed {
                        reason: format!("ffmpeg stalled: no output for {:?}", config.stall_timeout),
                        log_tail: joined(&tail),
                    });
                }
            }
            _ = &mut *cancel => {
                process::kill_group(pid);
                let _ = child.wait().await;
                tracing::info!(job = %id, attempt, "ffmpeg cancelled");
                return Err(Outcome::Cancelled);
            }
        }
    }
    log.flush().await;
    let status = tokio::select! {
        status = child.wait() => status,
        _ = &mut *cancel => {
            process::kill_group(pid);
            let _ = child.wait().await;
            return Err(Outcome::Cancelled);
        }
    };
    let status = status.map_err(|e| Outcome::Failed {
        reason: format!("ffmpeg could not be waited for: {e}"),
        log_tail: joined(&tail),
    })?;
    if !status.success() {
        let last = tail.back().map(|l| format!(": {}", l.trim())).unwrap_or_default();
        return Err(Outcome::Failed { reason: format!("ffmpeg exited with {status}{last}"), log_tail: joined(&tail) });
    }
    Ok(())
}

fn joined(tail: &VecDeque<String>) -> String {
    tail.iter().map(|l| format!("{l}\n")).collect()
}

/// Probes the partial file against what the job asked for.
pub async fn verify(
    config: &RunnerConfig,
    prepared: &Prepared,
    partial: &Path,
) -> Result<distencode_wire::job::RenderFacts, Outcome> {
    ffmpeg_probe::verify(&config.ffprobe, partial, &prepared.expected)
        .await
        .map_err(|reason| Outcome::Failed { reason, log_tail: String::new() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_blocks_give_the_share_of_the_total_and_stop_at_99() {
        let mut reported = Reported::default();
        let block = ["frame=25", "fps=50.0", "out_time_us=1000000", "speed=2x"];
        assert!(block.iter().all(|l| !reported.take(l)));
        assert!(reported.take("progress=continue"));
        let progress = reported.progress(4.0, Instant::now());
        assert_eq!((progress.frame, progress.percent, progress.fps), (25, 25.0, 50.0));
        reported.take("out_time_us=9000000");
        assert_eq!(reported.progress(4.0, Instant::now()).percent, 99.0);
        assert!(!reported.take("not a key"));
        reported.take("out_time_us=N/A");
        assert_eq!(reported.out_seconds, 9.0);
    }
}
