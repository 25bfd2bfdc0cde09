//! One render stack per split render: chunks rendered by melt builds or font sets that differ would not match at
//! their seams, so a split job's chunks and audio pass go only to workers of one fingerprint. Unless the job asks
//! for one (`--like W`), the stack most connected workers able to render it share is chosen.

use distencode_wire::job::{JobRecord, Like};
use distencode_wire::message::WorkerView;
use std::collections::HashSet;

/// Whether the worker has every service and encoder the job needs.
fn can_render(worker: &WorkerView, job: &JobRecord) -> bool {
    let services: HashSet<&str> = worker.service_names.iter().map(String::as_str).collect();
    let encoder = |name: &str, list: &[String]| name.is_empty() || name == "none" || list.iter().any(|e| e == name);
    job.services.iter().all(|s| services.contains(s.as_str()))
        && encoder(&job.encoding.vcodec, &worker.video_encoders)
        && encoder(&job.encoding.acodec, &worker.audio_encoders)
}

/// The render stack the tasks of `job` go to: its own `--like`, or the one most connected workers that can render
/// it share (ties go to the stack of the first worker by name); `None` when no such worker is connected.
pub fn for_split(job: &JobRecord, workers: &[WorkerView]) -> Option<Like> {
    if let Some(like) = &job.like {
        return Some(like.clone());
    }
    let mut camps: Vec<(&WorkerView, usize)> = Vec::new();
    for worker in workers.iter().filter(|w| w.state != "lost" && can_render(w, job)) {
        match camps.iter_mut().find(|(first, _)| first.fingerprint == worker.fingerprint) {
            Some((_, count)) => *count += 1,
            None => camps.push((worker, 1)),
        }
    }
    let most = camps.iter().map(|(_, count)| *count).max()?;
    let (first, _) = camps.into_iter().find(|(_, count)| *count == most)?;
    Some(Like { worker: first.name.clone(), fingerprint: first.fingerprint.clone() })
}

/// How many of `workers` are idle with `stack` (what `--split auto` may spread over).
pub fn idle_with(workers: &[WorkerView], stack: Option<&Like>) -> usize {
    let same = |w: &&WorkerView| stack.is_none_or(|like| like.fingerprint == w.fingerprint);
    workers.iter().filter(|w| w.state == "idle").filter(same).count()
}

#[cfg(test)]
mod tests {
    use super::*;
    use distencode_wire::job::{JobId, JobSpec};
    use distencode_wire::message::Fingerprint;

    fn worker(name: &str, state: &str, fonts: &str, services: &[&str]) -> WorkerView {
        WorkerView {
            name: name.into(),
            state: state.into(),
            current_job: None,
            melt_version: "7.12.0".into(),
            services: services.len(),
            service_names: services.iter().map(|s| s.to_string()).collect(),
            video_encoders: vec!["libx264".into()],
            audio_encoders: vec!["aac".into()],
            cpus: 2,
            last_seen: 0,
            recent_failures: 0,
            suspect: false,
            reserved_by: None,
            reserved_until: None,
            draining: false,
            fingerprint: Fingerprint { fonts: fonts.into(), ..Default::default() },
        }
    }

    fn job(services: &[&str]) -> JobRecord {
        let spec = JobSpec {
            project: "/p.mlt".into(),
            output: "/p.mp4".into(),
            encoding: Default::default(),
            priority: 0,
            melt_log: Default::default(),
            services: services.iter().map(|s| s.to_string()).collect(),
            optional_filters: Vec::new(),
            split: None,
            task: None,
            overwrite: false,
            like: None,
            kind: Default::default(),
            preset: None,
        };
        JobRecord::queued(JobId(1), spec, "alice".into(), 0)
    }

    #[test]
    fn the_stack_most_capable_connected_workers_share_is_chosen() {
        let workers = [
            worker("w1", "idle", "aa", &["color"]),
            worker("w2", "busy", "bb", &["color"]),
            worker("w3", "idle", "bb", &["color"]),
            worker("w4", "lost", "aa", &["color"]),
            worker("w5", "idle", "aa", &["avformat"]),
        ];
        let chosen = for_split(&job(&["color"]), &workers).unwrap();
        assert_eq!((chosen.worker.as_str(), chosen.fingerprint.fonts.as_str()), ("w2", "bb"));
        assert_eq!(idle_with(&workers, Some(&chosen)), 1);
        assert_eq!(idle_with(&workers, None), 3);
        assert!(for_split(&job(&["qtext"]), &workers).is_none());
        let tie = [worker("w1", "idle", "aa", &["color"]), worker("w2", "idle", "bb", &["color"])];
        assert_eq!(for_split(&job(&["color"]), &tie).unwrap().worker, "w1");
    }

    #[test]
    fn a_jobs_own_like_is_kept() {
        let mut liked = job(&["color"]);
        let like = Like { worker: "w9".into(), fingerprint: Fingerprint { fonts: "cc".into(), ..Default::default() } };
        liked.like = Some(like.clone());
        assert_eq!(for_split(&liked, &[worker("w1", "idle", "aa", &["color"])]), Some(like));
    }
}
