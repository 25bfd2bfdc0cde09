//! Planning a split: whether a job may be split at all, and where its chunks start and end.
//!
//! Pure and synchronous, so every rule is tested in milliseconds. Chunks are at least [`MIN_CHUNK_SECONDS`] long
//! (melt's start-up costs about 0.6 s per chunk) and start on multiples of the encoder's GOP, so every chunk begins
//! with a key frame where a single render would have one. Some projects cannot be split and stay in one piece, with
//! the reason recorded: filters that keep state across frames (their first frames in a chunk would differ), and
//! encoder settings that depend on two passes or on a rate buffer that would restart at each cut.

use distencode_wire::job::{JobId, JobRecord, JobSpec};
use distencode_wire::job::{SplitRequest, Task, TaskInput, TaskKind, MAX_SPLIT_CHUNKS};
use std::path::Path;

/// The shortest chunk, in seconds of the project.
pub const MIN_CHUNK_SECONDS: u64 = 10;

/// The GOP of melt's avformat consumer when the job sets no `g=`.
pub const DEFAULT_GOP: u64 = 12;

/// Filters whose output depends on earlier frames (or on the whole programme's loudness): a chunk would start them
/// afresh. MLT's noise filters seed by frame position and are safe.
pub const STATEFUL_FILTERS: &[&str] = &[
    "frei0r.delay0r",
    "frei0r.baltan",
    "frei0r.nosync0r",
    "avfilter.tmix",
    "avfilter.tblend",
    "avfilter.tmedian",
    "avfilter.deflicker",
    "avfilter.lagfun",
    "avfilter.atadenoise",
    "avfilter.hqdn3d",
    "avfilter.minterpolate",
    "avfilter.deshake",
    "avfilter.loudnorm",
    "avfilter.dynaudnorm",
    "loudness",
    "dynamic_loudness",
    "vidstab",
];

/// Consumer properties that make chunks encode differently from one render: two passes, and target bitrates whose
/// rate buffer restarts at each cut. CRF and quality settings (`crf`, `qscale`, `vq`) are fine.
pub const UNSPLITTABLE_SETTINGS: &[&str] =
    &["pass", "passlogfile", "vb", "b", "video_bitrate", "maxrate", "minrate", "bufsize", "vbufsize"];

/// The frame ranges (first, last inclusive) of the chunks, or why the job renders in one piece.
///
/// `free_workers` decides how many chunks `auto` makes.
pub fn plan(
    request: &SplitRequest,
    extra: &[(String, String)],
    services: &[String],
    free_workers: usize,
) -> Result<Vec<(u64, u64)>, String> {
    if !request.force {
        if let Some(filter) = services.iter().find(|s| STATEFUL_FILTERS.contains(&s.as_str())) {
            return Err(format!(
                "not split: the project uses {filter}, a filter that keeps state across frames, so its frames \
                 would differ at each chunk's start (--split-force splits anyway)"
            ));
        }
    }
    if let Some((key, value)) = extra.iter().find(|(k, _)| UNSPLITTABLE_SETTINGS.contains(&k.as_str())) {
        return Err(format!(
            "not split: the encoder setting {key}={value} depends on two passes or on a bitrate that restarts at \
             each cut (CRF and quality settings split)"
        ));
    }
    let (num, den) = (u64::from(request.fps_num), u64::from(request.fps_den));
    if num == 0 || den == 0 {
        return Err(format!("not split: the frame rate {num}/{den} is not usable"));
    }
    let gop = extra.iter().find(|(k, _)| k == "g").and_then(|(_, v)| v.parse::<u64>().ok()).filter(|g| *g > 0);
    let gop = gop.unwrap_or(DEFAULT_GOP);
    let min_chunk = (MIN_CHUNK_SECONDS * num).div_ceil(den).div_ceil(gop) * gop;
    let wanted = match request.chunks {
        Some(n) => u64::from(n),
        None if free_workers < 2 => {
            return Err(format!("not split: {free_workers} worker(s) free; auto splits only when more than one is"))
        }
        None => free_workers as u64,
    };
    let chunks = wanted.min(request.frames / min_chunk).min(u64::from(MAX_SPLIT_CHUNKS));
    if chunks < 2 {
        let seconds = request.frames as f64 * den as f64 / num as f64;
        return Err(format!(
            "not split: the project is {seconds:.1} s; chunks are at least {MIN_CHUNK_SECONDS} s and start on \
             multiples of the GOP ({gop} frames), so two need {} frames",
            2 * min_chunk
        ));
    }
    // Equal chunks on GOP multiples, never shorter than the minimum; the last takes the rest.
    let length = (request.frames / chunks) / gop * gop;
    Ok((0..chunks)
        .map(|i| {
            let first = i * length;
            let last = if i + 1 == chunks { request.frames - 1 } else { first + length - 1 };
            (first, last)
        })
        .collect())
}

/// The hidden file a task of `parent` writes beside the job's output: `.NAME.jobP.chunkI.EXT`, `.NAME.jobP.audio.wav`.
pub fn task_file(output: &str, parent: JobId, kind: TaskKind, index: usize) -> String {
    let output = Path::new(output);
    let name = output.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "output".into());
    let ext = output.extension().map(|e| e.to_string_lossy().into_owned()).unwrap_or_else(|| "mp4".into());
    let file = match kind {
        TaskKind::Audio => format!(".{name}.job{parent}.audio.wav"),
        _ => format!(".{name}.job{parent}.chunk{index}.{ext}"),
    };
    output.with_file_name(file).display().to_string()
}

/// The spec of one task of `parent`, writing `output`. Only the join writes the user's output, so only the join
/// keeps `--overwrite`; a chunk or the audio pass writes a file of the farm's own, which it may always replace
/// when an earlier attempt of the same task left it (see `runner::output_policy`).
pub fn task_spec(parent: &JobRecord, output: String, task: Task) -> JobSpec {
    let mut spec = parent.spec();
    spec.output = output;
    spec.overwrite = parent.overwrite && task.kind == TaskKind::Join;
    spec.split = None;
    spec.task = Some(Box::new(task));
    spec
}

/// The tasks that render `parent` over `ranges`: a chunk for each range, then one audio pass.
pub fn tasks(parent: &JobRecord, request: &SplitRequest, ranges: &[(u64, u64)]) -> Vec<(String, Task)> {
    let task = |kind, first, last, inputs| Task {
        parent: parent.id,
        kind,
        first,
        last,
        fps_num: request.fps_num,
        fps_den: request.fps_den,
        inputs,
    };
    let mut tasks: Vec<(String, Task)> = ranges
        .iter()
        .enumerate()
        .map(|(i, &(first, last))| {
            (task_file(&parent.output, parent.id, TaskKind::Chunk, i), task(TaskKind::Chunk, first, last, vec![]))
        })
        .collect();
    if parent.encoding.acodec != "none" {
        let last = request.frames.saturating_sub(1);
        tasks.push((task_file(&parent.output, parent.id, TaskKind::Audio, 0), task(TaskKind::Audio, 0, last, vec![])));
    }
    tasks
}

/// The join of `parent`: its chunk files in order, then its audio file, into the job's output.
pub fn join(parent: &JobRecord, request: &SplitRequest, ranges: &[(u64, u64)]) -> Task {
    let mut inputs: Vec<TaskInput> = ranges
        .iter()
        .enumerate()
        .map(|(i, &(first, last))| TaskInput {
            path: task_file(&parent.output, parent.id, TaskKind::Chunk, i),
            frames: last - first + 1,
        })
        .collect();
    if parent.encoding.acodec != "none" {
        inputs.push(TaskInput { path: task_file(&parent.output, parent.id, TaskKind::Audio, 0), frames: 0 });
    }
    Task {
        parent: parent.id,
        kind: TaskKind::Join,
        first: 0,
        last: request.frames.saturating_sub(1),
        fps_num: request.fps_num,
        fps_den: request.fps_den,
        inputs,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_join_keeps_overwrite_for_it_alone_writes_the_users_output() {
        let spec = JobSpec {
            split: Some(Box::new(request(Some(2), 600, 25, 1))),
            overwrite: true,
            ..JobSpec::new("/r/p.mlt", "/r/out.mp4")
        };
        let parent = JobRecord::queued(JobId(5), spec, "alice".into(), 0);
        let ranges = [(0, 299), (300, 599)];
        let join = task_spec(&parent, parent.output.clone(), join(&parent, &request(Some(2), 600, 25, 1), &ranges));
        assert!(join.overwrite && join.split.is_none());
        assert_eq!(join.output, "/r/out.mp4");
        for (output, task) in tasks(&parent, &request(Some(2), 600, 25, 1), &ranges) {
            let spec = task_spec(&parent, output.clone(), task);
            assert!(!spec.overwrite, "{output} is the farm's own file");
        }
    }

    fn request(chunks: Option<u32>, frames: u64, fps_num: u32, fps_den: u32) -> SplitRequest {
        SplitRequest { chunks, force: false, frames, fps_num, fps_den }
    }

    #[test]
    fn chunks_are_at_least_ten_seconds_and_start_on_gop_multiples() {
        // 60 s at 25 fps, GOP 12: the minimum is 252 frames; 4 chunks of 372.
        let ranges = plan(&request(Some(4), 1500, 25, 1), &[], &[], 0).unwrap();
        assert_eq!(ranges, vec![(0, 371), (372, 743), (744, 1115), (1116, 1499)]);
        // At 29.97 with g=15 every start is a multiple of 15, and no chunk is under 10 s (300 frames).
        let extra = vec![("g".to_string(), "15".to_string())];
        let ranges = plan(&request(Some(8), 1800, 30000, 1001), &extra, &[], 0).unwrap();
        assert_eq!(ranges.len(), 6);
        for &(first, last) in &ranges {
            assert_eq!(first % 15, 0);
            assert!(last - first + 1 >= 300, "{first}..{last}");
        }
        assert_eq!(ranges.last().unwrap().1, 1799);
        // Exactly two minimum chunks fit.
        assert_eq!(plan(&request(Some(3), 504, 25, 1), &[], &[], 0).unwrap(), vec![(0, 251), (252, 503)]);
    }

    #[test]
    fn auto_splits_over_the_free_workers_and_only_when_more_than_one_is_free() {
        assert_eq!(plan(&request(None, 3000, 25, 1), &[], &[], 3).unwrap().len(), 3);
        assert_eq!(
            plan(&request(None, 3000, 25, 1), &[], &[], 1).unwrap_err(),
            "not split: 1 worker(s) free; auto splits only when more than one is"
        );
    }

    #[test]
    fn a_short_project_a_stateful_filter_and_two_pass_or_vbv_settings_are_not_split_and_say_why() {
        assert_eq!(
            plan(&request(Some(4), 400, 25, 1), &[], &[], 0).unwrap_err(),
            "not split: the project is 16.0 s; chunks are at least 10 s and start on multiples of the GOP (12 \
             frames), so two need 504 frames"
        );
        let services = vec!["color".to_string(), "frei0r.delay0r".to_string()];
        assert_eq!(
            plan(&request(Some(2), 3000, 25, 1), &[], &services, 0).unwrap_err(),
            "not split: the project uses frei0r.delay0r, a filter that keeps state across frames, so its frames \
             would differ at each chunk's start (--split-force splits anyway)"
        );
        let forced = SplitRequest { force: true, ..request(Some(2), 3000, 25, 1) };
        assert_eq!(plan(&forced, &[], &services, 0).unwrap().len(), 2);
        for key in ["pass", "vb", "maxrate", "bufsize"] {
            let extra = vec![(key.to_string(), "2".to_string())];
            let refusal = plan(&forced, &extra, &[], 0).unwrap_err();
            assert_eq!(
                refusal,
                format!(
                    "not split: the encoder setting {key}=2 depends on two passes or on a bitrate that restarts at \
                     each cut (CRF and quality settings split)"
                )
            );
        }
        let crf = vec![("crf".to_string(), "20".to_string())];
        assert_eq!(plan(&forced, &crf, &[], 0).unwrap().len(), 2);
    }

    #[test]
    fn task_files_are_hidden_beside_the_output() {
        assert_eq!(task_file("/r/out.mkv", JobId(5), TaskKind::Chunk, 2), "/r/.out.mkv.job5.chunk2.mkv");
        assert_eq!(task_file("/r/out.mp4", JobId(5), TaskKind::Audio, 0), "/r/.out.mp4.job5.audio.wav");
    }
}
