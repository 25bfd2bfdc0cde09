//! One render, start to end: melt as a child process, its output read as log and progress, the file verified and
//! renamed into place, and its poster frame made. Runs as a future on the MeltRunner's context; nothing here blocks a thread.

use super::log_sink::{LogSink, LOG_BATCH_DELAY};
use super::output_files::{self, Partial};
use super::sequence::{self, Pattern};
use super::thumbnail::PosterSource;
use super::{ffmpeg, join, process, progress, sandbox, verify, verify_sequence, RunnerConfig, Work};
use crate::worker::LinkHandle;
use distencode_mlt::Project;
use distencode_wire::job::{MeltJob, RenderFacts, TaskKind};
use distencode_wire::message::Outcome;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, BufReader};
use tokio::process::Command;
use tokio::sync::{mpsc, oneshot};

/// Progress is reported at most this often.
const PROGRESS_INTERVAL: Duration = Duration::from_millis(250);
/// A melt silent this long with no thread but its main one, after it reported progress or wrote to its output, has
/// finished the render and will never exit (see [`process::group_down_to_main_threads`]); a melt still rendering has
/// its render thread, and one still loading the project has written nothing yet (a short render caught by the race
/// may print no progress at all).
const MELT_LEFT_WAITING: Duration = Duration::from_secs(3);
/// A silent melt's CPU time is compared over at least this long: shorter, a melt waiting on a slow disk for a
/// moment would look idle.
const CPU_WINDOW: Duration = Duration::from_secs(1);
/// A melt silent but using CPU (an encoder flushing its look-ahead frames on a busy machine) is given this many
/// stall timeouts before it is killed all the same: a melt that spins without rendering must end too.
const BUSY_STALL_FACTOR: u32 = 10;
/// The line the job's log gets when the worker ends such a melt.
const MELT_LEFT_WAITING_NOTE: &str =
    "distencode: melt finished the render but did not exit (its render thread ended before it was marked running); the worker ended melt";
/// The line the job's log gets when melt's render thread ended before rendering anything. MLT's avformat consumer
/// starts that thread before it marks itself running; a thread that checks first (its set-up is short for an audio
/// pass) ends at once, leaves its opened file empty, and melt's main thread waits for ever. melt is started again.
const MELT_NEVER_STARTED_NOTE: &str =
    "distencode: melt's render thread ended before rendering anything (it started before it was marked running); the worker started melt again";
/// How many times melt is started for one attempt when its render thread ends before it begins.
const MELT_START_TRIES: usize = 3;
/// Lines of melt's output kept for a failure report.
const TAIL_LINES: usize = 20;

/// Where a job's log ends up: `OUTPUT.log`, beside the output.
pub fn log_path(output: &Path) -> PathBuf {
    let mut name = output.as_os_str().to_owned();
    name.push(".log");
    PathBuf::from(name)
}

/// The reason given for a verified render the coordinator no longer wanted.
const DISCARDED: &str = "result discarded: the job had moved on";

/// Everything melt said that matters once it has exited.
struct Transcript<'a> {
    tail: std::collections::VecDeque<String>,
    fatal: Option<String>,
    /// Services the project only disables: melt failing to load them is not fatal.
    disabled: &'a std::collections::BTreeSet<String>,
}

impl<'a> Transcript<'a> {
    fn new(disabled: &'a std::collections::BTreeSet<String>) -> Self {
        Self { tail: Default::default(), fatal: None, disabled }
    }

    fn note(&mut self, line: &str) {
        let about_disabled = || self.disabled.iter().any(|name| line.contains(&format!("\"{name}\"")));
        if self.fatal.is_none() && verify::fatal_message(line).is_some() && !about_disabled() {
            self.fatal = Some(line.trim().to_string());
        }
        if self.tail.len() == TAIL_LINES {
            self.tail.pop_front();
        }
        self.tail.push_back(line.to_string());
    }

    fn tail(&self) -> String {
        self.tail.iter().map(|l| format!("{l}\n")).collect()
    }
}

/// Runs blocking file access off the actor's thread.
async fn blocking<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Result<T, String> {
    tokio::task::spawn_blocking(work).await.map_err(|e| format!("a file operation failed: {e}"))
}

/// Renders `job` (already validated into `work`, its output resolved to `output`) and says how it ended, with
/// where its poster frame comes from when it succeeded and has pictures; `cancel` fires to stop it.
pub async fn render(
    config: Arc<RunnerConfig>,
    job: MeltJob,
    work: Work,
    output: PathBuf,
    link: LinkHandle,
    mut cancel: oneshot::Receiver<()>,
) -> (Outcome, Option<PosterSource>) {
    let task = job.spec.task.clone();
    let kind = task.as_ref().map(|t| t.kind);
    if let (Some(task), Some(TaskKind::Cleanup)) = (&task, kind) {
        // A cleanup writes nothing: it removes the split's own files, and makes no partial folder.
        join::remove_inputs(task).await;
        let facts = RenderFacts {
            frames: 0,
            duration_seconds: 0.0,
            video_codec: String::new(),
            audio_codec: None,
            size_bytes: 0,
            dropped_filters: Vec::new(),
            streams: Default::default(),
        };
        return (Outcome::Succeeded(facts), None);
    }
    let made = {
        let (output, id, attempt) = (output.clone(), job.id, job.attempt);
        blocking(move || Partial::create(&output, id, attempt).map_err(|e| e.to_string())).await.and_then(|r| r)
    };
    let (partial, log_file) = match made {
        Ok(made) => made,
        Err(e) => {
            let reason = format!("cannot create the partial files beside {}: {e}", output.display());
            return (Outcome::Failed { reason, log_tail: String::new() }, None);
        }
    };
    let partial = Arc::new(partial);
    let mut log = LogSink::new(link.clone(), job.id, job.attempt, log_file);
    let dropped = match &work {
        Work::Melt(project) => project.dropped_filters.clone(),
        Work::Ffmpeg(_) => Vec::new(),
    };
    if !dropped.is_empty() {
        let dropped = dropped.join(", ");
        tracing::warn!(job = %job.id, attempt = job.attempt, "rendering without filters: {dropped}");
        log.line(&format!(
            "distencode: rendering without filters this worker lacks (--allow-missing-filters): {dropped}"
        ))
        .await;
    }
    let outcome = match (&task, &work) {
        (Some(task), _) if task.kind == TaskKind::Join => {
            match join::join(&config, &job, task, &partial.media, &mut cancel).await {
                Ok(facts) => {
                    let outcome = commit_or_discard(&job, facts, partial.clone(), &output, &link, cancel).await;
                    if matches!(outcome, Outcome::Succeeded(_)) {
                        join::remove_inputs(task).await;
                    }
                    outcome
                }
                Err(outcome) => outcome,
            }
        }
        (_, Work::Ffmpeg(prepared)) => {
            match ffmpeg::run(&config, &job, prepared, &partial.media, &link, &mut log, &mut cancel).await {
                Ok(()) => match ffmpeg::verify(&config, prepared, &partial.media).await {
                    Ok(facts) => commit_or_discard(&job, facts, partial.clone(), &output, &link, cancel).await,
                    Err(outcome) => outcome,
                },
                Err(outcome) => outcome,
            }
        }
        (_, Work::Melt(project)) => {
            match run_melt(&config, &job, project, &partial.media, &link, &mut log, &mut cancel).await {
                Ok(()) => match verify(&config, &job, project, &partial.media).await {
                    Ok(mut facts) => {
                        facts.dropped_filters = project.dropped_filters.clone();
                        commit_or_discard(&job, facts, partial.clone(), &output, &link, cancel).await
                    }
                    Err(outcome) => outcome,
                },
                Err(outcome) => outcome,
            }
        }
    };
    let poster = PosterSource::of(&job, &outcome, &output);
    // The log goes beside the output when the job ended here; a discarded (stale) attempt leaves nothing behind.
    // A chunk's and the audio pass's logs, whatever their end, stay in the job's store only: nothing is left beside
    // the output but the output and its log.
    let own_output = matches!(kind, None | Some(TaskKind::Join));
    let keep_log = match &outcome {
        Outcome::Succeeded(_) => own_output,
        Outcome::Failed { reason, .. } => own_output && reason != DISCARDED,
        // A cancelled attempt may be a stale one whose job another worker finished: leave that job's log alone.
        Outcome::Cancelled => false,
    };
    log.close().await;
    let (id, attempt, mark) = (job.id, job.attempt, output_files::owner(job.id, &job.spec));
    let succeeded = matches!(outcome, Outcome::Succeeded(_));
    let _ = blocking(move || {
        match keep_log {
            true => partial.put_log_in_place(mark, &log_path(&output)),
            false => partial.remove(),
        }
        if succeeded {
            output_files::remove_earlier_partials(&output, id, attempt);
        }
    })
    .await;
    (outcome, poster)
}

/// The folder melt starts in. Resources named after a service prefix (`avformat:media/x.mp4`) resolve against
/// melt's working folder, so that is the project's root where it exists; where it does not (a project saved on
/// another machine, every path absolute), the project file's own folder. melt reads `root` from the project itself.
async fn melt_folder(project: &Project) -> PathBuf {
    match tokio::fs::metadata(&project.root).await {
        Ok(meta) if meta.is_dir() => project.root.clone(),
        _ => project.folder(),
    }
}

/// The longest project text given to melt as an argument: below Linux's 128 KiB limit on one argument.
const MAX_PROJECT_ARG_BYTES: usize = 120 * 1024;

/// How melt is given the project: by its path, or, when the path holds `=` (which melt reads as a property, never
/// as a file), as the project's own text, which melt takes for XML when it starts with `<?xml`. melt starts in the
/// project's folder, so its relative paths resolve the same either way.
async fn project_arg(path: &str) -> Result<String, Outcome> {
    if !path.contains('=') {
        return Ok(path.to_string());
    }
    let refused = |why: String| Outcome::Failed {
        reason: format!(
            "{path}: melt reads a path holding '=' as a property, and {why}: rename the file or its folder"
        ),
        log_tail: String::new(),
    };
    let text =
        tokio::fs::read_to_string(path).await.map_err(|e| refused(format!("the project cannot be read ({e})")))?;
    let text = text.trim_start_matches('\u{feff}').trim_start();
    let text = if text.starts_with("<?xml") { text.to_string() } else { format!("<?xml version=\"1.0\"?>\n{text}") };
    if text.len() > MAX_PROJECT_ARG_BYTES {
        return Err(refused(format!("the project is too large ({} bytes) to give melt as text", text.len())));
    }
    Ok(text)
}

fn melt_command(config: &RunnerConfig, job: &MeltJob, project: &str, folder: &Path, partial: &Path) -> Command {
    let mut command = Command::new(&config.melt);
    command.current_dir(folder);
    command.args(job.spec.melt_log.flag());
    command.arg("-progress2").arg(project).arg("-consumer");
    // `target=` rather than `avformat:PATH`: a path holding `=` stays a path.
    command.arg("avformat").arg(format!("target={}", partial.display()));
    let task = job.spec.task.as_ref();
    if task.is_some_and(|t| t.kind == TaskKind::Audio) {
        // The audio pass: PCM, once, with the job's audio settings only.
        command.arg("acodec=pcm_s16le");
        for (key, value) in job.spec.encoding.extra.iter().filter(|(key, _)| join::audio_property(key)) {
            command.arg(format!("{key}={value}"));
        }
    } else {
        command.arg(format!("vcodec={}", job.spec.encoding.vcodec));
        command.arg(format!("acodec={}", job.spec.encoding.acodec));
        for (key, value) in &job.spec.encoding.extra {
            command.arg(format!("{key}={value}"));
        }
    }
    // A chunk's range and the audio pass's `vn=1 video_off=1` are consumer properties, after the job's own.
    command.args(task.map(|t| join::melt_properties(t, &job.spec.encoding.vcodec)).unwrap_or_default());
    command.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).kill_on_drop(true);
    super::melt_env::set(&mut command, &config.work_dir);
    process::tie_to_parent(&mut command);
    command
}

/// How one melt run ended, when it did not fail.
enum MeltEnd {
    /// melt rendered (and exited, or was ended after finishing, see [`MELT_LEFT_WAITING_NOTE`]).
    Rendered,
    /// melt's render thread ended before rendering anything (see [`MELT_NEVER_STARTED_NOTE`]).
    NeverStarted,
}

/// Runs melt to its end, again (at most [`MELT_START_TRIES`] times in all) when its render thread ended before it
/// began; `Err` carries the outcome when the render cannot count.
async fn run_melt(
    config: &RunnerConfig,
    job: &MeltJob,
    project: &Project,
    partial: &Path,
    link: &LinkHandle,
    log: &mut LogSink,
    cancel: &mut oneshot::Receiver<()>,
) -> Result<(), Outcome> {
    for tries in 1..=MELT_START_TRIES {
        let last = tries == MELT_START_TRIES;
        match run_melt_once(config, job, project, partial, link, log, cancel).await? {
            // Lost the other way round, the thread marks the consumer stopped after it was marked running: melt
            // exits at once, leaving the opened file empty.
            MeltEnd::Rendered if last || !exited_having_written_nothing(partial).await => return Ok(()),
            MeltEnd::NeverStarted if last => break,
            MeltEnd::Rendered | MeltEnd::NeverStarted => {
                log.line(MELT_NEVER_STARTED_NOTE).await;
                log.flush().await;
                tracing::info!(job = %job.id, attempt = job.attempt, "melt never started rendering: started it again");
            }
        }
    }
    Err(Outcome::Failed {
        reason: format!("melt's render thread ended before rendering anything, {MELT_START_TRIES} times"),
        log_tail: String::new(),
    })
}

/// Runs melt once, to its end.
async fn run_melt_once(
    config: &RunnerConfig,
    job: &MeltJob,
    project: &Project,
    partial: &Path,
    link: &LinkHandle,
    log: &mut LogSink,
    cancel: &mut oneshot::Receiver<()>,
) -> Result<MeltEnd, Outcome> {
    let folder = melt_folder(project).await;
    // The project as this worker has it: the submitted file, or its copy with the paths mapped.
    let project_arg = project_arg(&project.path.display().to_string()).await?;
    let mut command = melt_command(config, job, &project_arg, &folder, partial);
    sandbox::confine(&mut command, &config.secrets())
        .map_err(|reason| Outcome::Failed { reason, log_tail: String::new() })?;
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(e) => {
            // A missing working folder gives the same error as a missing melt: tell them apart.
            let reason = if tokio::fs::metadata(&folder).await.is_err() {
                format!("the project's folder {} is gone from this machine", folder.display())
            } else {
                format!("cannot start {}: {e}", config.melt.display())
            };
            return Err(Outcome::Failed { reason, log_tail: String::new() });
        }
    };
    let pid = child.id().unwrap_or(0);
    tracing::info!(job = %job.id, attempt = job.attempt, pid, "melt started");
    let (lines_tx, mut lines) = mpsc::channel::<String>(1024);
    if let Some(stdout) = child.stdout.take() {
        tokio::spawn(read_lines(stdout, lines_tx.clone()));
    }
    if let Some(stderr) = child.stderr.take() {
        tokio::spawn(read_lines(stderr, lines_tx));
    }
    let meter = progress::ProgressMeter::new(project.length_frames);
    let mut transcript = Transcript::new(&project.disabled_services);
    let mut last_output = Instant::now();
    let mut last_progress: Option<Instant> = None;
    // melt's CPU time when it was last seen working while silent; `None` while it prints.
    let mut silent_cpu: Option<(Instant, u64)> = None;
    let mut flush_tick = tokio::time::interval(LOG_BATCH_DELAY);
    let (id, attempt) = (job.id, job.attempt);
    loop {
        tokio::select! {
            line = lines.recv() => {
                let Some(line) = line else { break };
                last_output = Instant::now();
                silent_cpu = None;
                let (text, progress) = progress::split_line(&line);
                if let Some((frame, percent)) = progress {
                    if last_progress.is_none_or(|t| t.elapsed() >= PROGRESS_INTERVAL) {
                        last_progress = Some(Instant::now());
                        let progress = meter.measure(frame, percent);
                        link.progress(id, attempt, progress);
                    }
                }
                if let Some(text) = text {
                    transcript.note(text);
                    let waiting = Instant::now();
                    log.line(text).await;
                    if waiting.elapsed() > LOG_BATCH_DELAY {
                        // We, not melt, were held up (the link is slow): that time is not melt's silence.
                        last_output = Instant::now();
                    }
                }
            }
            _ = flush_tick.tick() => {
                let waiting = Instant::now();
                log.flush().await;
                if waiting.elapsed() > LOG_BATCH_DELAY {
                    last_output = Instant::now();
                }
                if last_output.elapsed() > MELT_LEFT_WAITING
                    && process::group_down_to_main_threads(pid)
                    && (last_progress.is_some() || wrote_output(partial).await)
                {
                    // MLT's start race (see `group_down_to_main_threads`): the render ended, melt never will. The file is
                    // verified as after any render.
                    process::kill_group(pid);
                    let _ = child.wait().await;
                    log.line(MELT_LEFT_WAITING_NOTE).await;
                    log.flush().await;
                    tracing::info!(job = %id, attempt, "melt finished the render without exiting: ended it");
                    return reported_failure(&mut transcript).map_or(Ok(MeltEnd::Rendered), Err);
                }
                if last_output.elapsed() > MELT_LEFT_WAITING
                    && last_progress.is_none()
                    && process::group_down_to_main_threads(pid)
                    && opened_but_empty(partial).await
                {
                    // The same race, lost earlier: the render thread found the consumer not yet running, ended at
                    // once, and left the opened file empty.
                    process::kill_group(pid);
                    let _ = child.wait().await;
                    return Ok(MeltEnd::NeverStarted);
                }
                if let Some(reason) = stalled(config.stall_timeout, last_output, &mut silent_cpu, || process::group_cpu_ticks(pid)) {
                    process::kill_group(pid);
                    let _ = child.wait().await;
                    return Err(Outcome::Failed { reason, log_tail: transcript.tail() });
                }
            }
            _ = &mut *cancel => {
                process::kill_group(pid);
                let _ = child.wait().await;
                tracing::info!(job = %id, attempt, "render cancelled");
                return Err(Outcome::Cancelled);
            }
        }
    }
    log.flush().await;
    let status = child.wait().await.map_err(|e| Outcome::Failed {
        reason: format!("melt could not be waited for: {e}"),
        log_tail: transcript.tail(),
    })?;
    if !status.success() {
        // What melt said was wrong, where it said so, tells more than its exit status.
        let reason = match transcript.fatal.take() {
            Some(fatal) => format!("melt exited with {status}: {fatal}"),
            None => format!("melt exited with {status}"),
        };
        return Err(Outcome::Failed { reason, log_tail: transcript.tail() });
    }
    reported_failure(&mut transcript).map_or(Ok(MeltEnd::Rendered), Err)
}

/// Whether melt's consumer opened `partial` (a file, not an image sequence) and wrote nothing to it.
async fn opened_but_empty(partial: &Path) -> bool {
    tokio::fs::metadata(partial).await.is_ok_and(|m| m.is_file() && m.len() == 0)
}

/// Whether a melt that has exited wrote nothing: `partial` opened and left empty, or, for an image sequence (which
/// ffmpeg opens a file at a time), not even its first file made. The sign of MLT's start race once melt is gone;
/// while it runs, a sequence without files may still be loading its project.
async fn exited_having_written_nothing(partial: &Path) -> bool {
    if let Ok(Some(_)) = Pattern::for_output(partial) {
        return tokio::fs::symlink_metadata(sequence::first_file(partial)).await.is_err();
    }
    opened_but_empty(partial).await
}

/// Whether melt has written anything to `partial` (its consumer started, so loading the project is over).
async fn wrote_output(partial: &Path) -> bool {
    // An image sequence's first file.
    tokio::fs::metadata(sequence::first_file(partial)).await.is_ok_and(|m| m.len() > 0)
}

/// What makes a render whose melt has ended not count: an error melt reported on the way.
fn reported_failure(transcript: &mut Transcript) -> Option<Outcome> {
    let fatal = transcript.fatal.take()?;
    Some(Outcome::Failed { reason: format!("melt reported: {fatal}"), log_tail: transcript.tail() })
}

/// The longest line kept whole; a longer one is cut into pieces of this size.
const MAX_LINE_BYTES: u64 = 64 * 1024;

/// Reads lines split at `\n` or `\r` (melt rewrites its progress line with `\r` on a terminal).
pub(super) async fn read_lines(stream: impl AsyncRead + Unpin, lines: mpsc::Sender<String>) {
    let mut reader = BufReader::new(stream);
    let mut buf = Vec::new();
    loop {
        buf.clear();
        match (&mut reader).take(MAX_LINE_BYTES).read_until(b'\n', &mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {
                let text = String::from_utf8_lossy(&buf);
                for line in text.split(['\r', '\n']).filter(|l| !l.trim().is_empty()) {
                    if lines.send(line.to_string()).await.is_err() {
                        return;
                    }
                }
            }
        }
    }
}

/// Why melt counts as stalled now, if it does: silent for `timeout` and using no CPU over the last [`CPU_WINDOW`]
/// or more, or silent for [`BUSY_STALL_FACTOR`] timeouts however busy. `cpu` reads melt's CPU ticks; `silent_cpu`
/// keeps the last reading while melt is silent.
fn stalled(
    timeout: Duration,
    last_output: Instant,
    silent_cpu: &mut Option<(Instant, u64)>,
    cpu: impl FnOnce() -> u64,
) -> Option<String> {
    let silence = last_output.elapsed();
    if silence <= timeout.saturating_sub(CPU_WINDOW) {
        return None;
    }
    if silence > timeout * BUSY_STALL_FACTOR {
        return Some(format!("melt stalled: no output for {:?}, though it used CPU", timeout * BUSY_STALL_FACTOR));
    }
    match *silent_cpu {
        None => {
            *silent_cpu = Some((Instant::now(), cpu()));
            None
        }
        Some((since, _)) if since.elapsed() < CPU_WINDOW => None,
        Some((_, before)) => {
            let now = cpu();
            if now > before {
                *silent_cpu = Some((Instant::now(), now));
                None
            } else if silence > timeout {
                Some(format!("melt stalled: no output for {timeout:?}"))
            } else {
                None
            }
        }
    }
}

/// Probes the partial file against the project.
async fn verify(
    config: &RunnerConfig,
    job: &MeltJob,
    project: &Project,
    partial: &Path,
) -> Result<RenderFacts, Outcome> {
    match job.spec.task.as_ref() {
        Some(task) if task.kind == TaskKind::Chunk => {
            return join::verify_chunk(&config.ffprobe, partial, task, &job.spec.encoding.vcodec)
                .await
                .map_err(|reason| Outcome::Failed { reason, log_tail: String::new() })
        }
        Some(task) if task.kind == TaskKind::Audio => {
            return join::verify_audio(&config.ffprobe, partial, task)
                .await
                .map_err(|reason| Outcome::Failed { reason, log_tail: String::new() })
        }
        _ => {}
    }
    let (frames, encoding) = (project.length_frames, &job.spec.encoding);
    let rate = (project.fps_num, project.fps_den);
    let expected = verify::Expected::for_render(encoding, frames, rate.0, rate.1, project.has_audio).with_profile(
        encoding,
        project.picture,
        rate,
    );
    let verified = match Pattern::for_output(partial) {
        Ok(Some(pattern)) => verify_sequence::verify(&config.ffprobe, partial, &pattern, &expected).await,
        _ => verify::verify_output(&config.ffprobe, partial, &expected).await,
    };
    verified.map_err(|reason| Outcome::Failed { reason, log_tail: String::new() })
}

/// Asks the coordinator whether this attempt still counts, and puts the file in place only if it does.
async fn commit_or_discard(
    job: &MeltJob,
    facts: RenderFacts,
    partial: Arc<Partial>,
    output: &Path,
    link: &LinkHandle,
    cancel: oneshot::Receiver<()>,
) -> Outcome {
    let (id, attempt) = (job.id, job.attempt);
    let go = tokio::select! {
        go = link.verified(id, attempt, facts.clone()) => go,
        _ = cancel => return Outcome::Cancelled,
    };
    if !go {
        tracing::warn!(job = %id, attempt, "the coordinator gave this job to another worker; result discarded");
        return Outcome::Failed { reason: DISCARDED.into(), log_tail: String::new() };
    }
    let (destination, overwrite, mark) =
        (output.to_path_buf(), job.spec.overwrite, output_files::owner(job.id, &job.spec));
    let frames = facts.frames;
    let placed =
        blocking(move || partial.put_media_in_place(mark, &destination, overwrite, frames)).await.and_then(|r| r);
    if let Err(reason) = placed {
        return Outcome::Failed { reason, log_tail: String::new() };
    }
    tracing::info!(job = %id, attempt, frames = facts.frames, output = %output.display(), "render in place");
    Outcome::Succeeded(facts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use distencode_wire::job::{JobId, JobSpec};

    #[tokio::test]
    async fn a_sequence_without_its_first_file_and_an_empty_file_are_renders_that_never_began() {
        let dir = tempfile::tempdir().unwrap();
        let sequence = dir.path().join("frame-%05d.png");
        assert!(exited_having_written_nothing(&sequence).await, "no file of the sequence");
        assert!(!opened_but_empty(&sequence).await, "while melt runs, a sequence without files may be loading");
        std::fs::write(dir.path().join("frame-00001.png"), b"png").unwrap();
        assert!(!exited_having_written_nothing(&sequence).await, "its first frame is there");
        let file = dir.path().join("out.mp4");
        assert!(!exited_having_written_nothing(&file).await, "never opened: not this race");
        std::fs::write(&file, b"").unwrap();
        assert!(exited_having_written_nothing(&file).await && opened_but_empty(&file).await);
        std::fs::write(&file, b"ftyp").unwrap();
        assert!(!exited_having_written_nothing(&file).await);
    }

    #[test]
    fn a_silent_melt_is_stalled_only_once_it_also_stops_using_cpu() {
        let timeout = Duration::from_secs(8);
        let ago = |secs| Instant::now() - Duration::from_secs(secs);
        let mut seen = None;
        assert_eq!(stalled(timeout, ago(2), &mut seen, || 5), None, "printing recently");
        assert!(seen.is_none(), "nothing read while melt prints");
        // Silent for the timeout: the first reading is taken, and a reading is compared only a CPU window later.
        assert_eq!(stalled(timeout, ago(9), &mut seen, || 5), None);
        assert_eq!(stalled(timeout, ago(9), &mut seen, || 5), None, "too soon to compare");
        // Still using CPU a window later: working, not stalled.
        seen = Some((Instant::now() - CPU_WINDOW, 5));
        assert_eq!(stalled(timeout, ago(9), &mut seen, || 7), None);
        assert_eq!(seen.map(|(_, ticks)| ticks), Some(7));
        // No CPU used over a window: stalled.
        seen = Some((Instant::now() - CPU_WINDOW, 7));
        assert_eq!(stalled(timeout, ago(9), &mut seen, || 7), Some("melt stalled: no output for 8s".into()));
        // Busy but silent for ten timeouts: stalled all the same.
        assert_eq!(
            stalled(timeout, ago(81), &mut seen, || 100),
            Some("melt stalled: no output for 80s, though it used CPU".into())
        );
    }

    #[test]
    fn melt_runs_in_its_folder_with_the_work_dir_as_its_tmpdir() {
        let config = RunnerConfig {
            melt: "melt".into(),
            ffprobe: "ffprobe".into(),
            ffmpeg: "ffmpeg".into(),
            services: Default::default(),
            encoders: Default::default(),
            stall_timeout: Duration::from_secs(1),
            work_dir: "/var/lib/distencode/worker".into(),
            media: Default::default(),
            outputs: Default::default(),
        };
        let spec =
            JobSpec { services: vec!["color".into()], ..JobSpec::new("/srv/renders/p/p.mlt", "/srv/renders/p/p.mp4") };
        let job = MeltJob { id: JobId(1), attempt: 1, spec, path_map: Vec::new() };
        let folder = Path::new("/srv/renders/p");
        let partial = Path::new("/srv/renders/p/.p.mp4.job1-1.partial.mp4");
        let command = melt_command(&config, &job, &job.spec.project, folder, partial);
        let command = command.as_std();
        assert_eq!(command.get_current_dir(), Some(Path::new("/srv/renders/p")));
        let tmpdir = command.get_envs().find(|(key, _)| *key == "TMPDIR").and_then(|(_, value)| value);
        assert_eq!(tmpdir, Some(std::ffi::OsStr::new("/var/lib/distencode/worker")));
    }
}
