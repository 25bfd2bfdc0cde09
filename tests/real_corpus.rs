//! Real projects saved by Kdenlive and Shotcut and MLT's own demos (`tests/fixtures/real/`, byte-identical, see
//! `SOURCES.md`), with substitute media at the paths they expect, rendered through a real coordinator and worker
//! and by bare melt: the same frame count, the same decoded audio, and the same decoded video wherever bare melt
//! itself renders the same twice. Projects the farm refuses are refused with the reason a user needs.
//!
//! The short projects run here (all of them rendered identically by bare melt run to run); the long ones (minutes of
//! 1080p, or Shotcut's ten-minute filter sets) only with `cargo test --test real_corpus -- --ignored`.

mod common;

use common::*;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

/// Short projects, each with the frames melt 7.12 renders of it: from KDE's test suite (a few to forty frames of
/// 1080p each) and MLT's inline-SVG demo.
const SHORT: &[(&str, u64)] = &[
    ("kdenlive-test-suite/qtblend-resolution-check.kdenlive", 6),
    ("kdenlive-test-suite/qtblend-composition-scale.kdenlive", 4),
    ("kdenlive-test-suite/avfilter-negate.kdenlive", 5),
    ("kdenlive-test-suite/qtblend-ratio-check.kdenlive", 10),
    ("kdenlive-test-suite/avfilter-fieldorder.kdenlive", 10),
    ("kdenlive-test-suite/qtblend-freeze.kdenlive", 10),
    ("kdenlive-test-suite/qtblend-transition.kdenlive", 11),
    ("kdenlive-test-suite/avfilter-hflip.kdenlive", 30),
    ("kdenlive-test-suite/alpha.kdenlive", 32),
    ("kdenlive-test-suite/audio-mix.kdenlive", 40),
    ("mlt-demo/svg.mlt", 99),
];

/// Projects whose video bare melt renders differently from one run to the next (their video is then not compared
/// by md5). None of the short ones, measured with melt 7.12 on two cores.
const VARY_RUN_TO_RUN: &[&str] = &[];

/// Rendered only on request: long ones (minutes of 1080p, Shotcut's ten-minute filter sets) and short ones that
/// repeat what the short list already covers.
const ON_REQUEST: &[&str] = &[
    "kdenlive-test-suite/qtblend-vertical-transform.kdenlive",
    "kdenlive-test-suite/qtblend-horizontal-transform.kdenlive",
    "kdenlive-test-suite/transform.kdenlive",
    "kdenlive-test-suite/sequences.kdenlive",
    "kdenlive-test-suite/mlt-core-video-effects.kdenlive",
    "kdenlive-test-suite/typewriter-effect.kdenlive",
    "kdenlive-test-suite/effect-zones.kdenlive",
    "kdenlive-test-suite/mix-luma.kdenlive",
    "shotcut-filter-sets/Glow Intensity.mlt",
    "shotcut-filter-sets/Obscure With Blur.mlt",
    "shotcut-filter-sets/Obscure With Mosaic.mlt",
    "shotcut-filter-sets/Soft Focus.mlt",
    "shotcut-filter-sets/Text Simple with Gradient Back.mlt",
];

/// Consumer settings for both the farm and bare melt: fast, and the same on both sides.
const CONSUMER: &[&str] = &["vcodec=libx264", "acodec=aac", "preset=ultrafast"];

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/real")
}

/// Copies `name` (and the footage folder beside it) under `dir` and makes its substitute media.
fn stage(dir: &Path, name: &str) -> PathBuf {
    let source = fixtures().join(name);
    let folder = dir.join(name.replace(['/', ' '], "_")).with_extension("");
    std::fs::create_dir_all(&folder).unwrap();
    let project = folder.join(source.file_name().unwrap());
    std::fs::copy(&source, &project).unwrap();
    let footage = source.parent().unwrap().join("footage");
    if footage.is_dir() {
        std::fs::create_dir_all(folder.join("footage")).unwrap();
        for entry in std::fs::read_dir(&footage).unwrap() {
            let entry = entry.unwrap();
            std::fs::copy(entry.path(), folder.join("footage").join(entry.file_name())).unwrap();
        }
    }
    substitute::make_for(&project);
    project
}

/// Renders `project` with melt as a worker does (same consumer settings), into `out`.
fn bare(project: &Path, out: &Path) {
    bare_melt_with(project, out, CONSUMER);
}

/// The md5 of one decoded stream (`v` or `a`) of `file`, as ffmpeg's md5 muxer gives it; `None` without one.
fn decoded_md5(file: &Path, stream: &str) -> Option<String> {
    let output = Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(file)
        .args(["-map", &format!("0:{stream}"), "-f", "md5", "-"])
        .stdin(Stdio::null())
        .output()
        .expect("ffmpeg");
    output.status.success().then(|| String::from_utf8_lossy(&output.stdout).trim().to_string())
}

/// How one project compared.
#[derive(Debug)]
struct Compared {
    name: String,
    frames: u64,
    /// Bare melt rendered the same video twice.
    deterministic: bool,
}

/// Renders each project through the farm, then twice with bare melt, one render at a time (two melts at once
/// have stalled a Qt-based render here), and compares.
fn render_all(names: &[&str], limit: Duration) -> Vec<Compared> {
    let cluster = Cluster::start(1);
    let dir = cluster.dir.path().join("corpus");
    let mut consumer_args = Vec::new();
    for arg in &CONSUMER[2..] {
        consumer_args.extend(["--consumer-arg", arg]);
    }
    let mut results = Vec::new();
    for name in names {
        let project = stage(&dir, name);
        let id = cluster.submit(&project, &consumer_args);
        let job = cluster.wait_final(id, limit);
        assert_eq!(job["state"], "succeeded", "{name}: {job}");
        let (first, second) = (project.with_extension("bare1.mp4"), project.with_extension("bare2.mp4"));
        bare(&project, &first);
        bare(&project, &second);
        let ours = PathBuf::from(job["output"].as_str().unwrap());
        let frames = probe(&ours).video_frames;
        assert_eq!(frames, probe(&first).video_frames, "{name}: frame counts of farm and bare melt");
        assert_eq!(decoded_md5(&ours, "a"), decoded_md5(&first, "a"), "{name}: decoded audio");
        let deterministic = decoded_md5(&first, "v") == decoded_md5(&second, "v");
        if deterministic {
            assert_eq!(decoded_md5(&ours, "v"), decoded_md5(&first, "v"), "{name}: decoded video");
        }
        eprintln!(
            "{name}: {frames} frames, bare melt {}",
            if deterministic { "deterministic" } else { "differs run to run" }
        );
        results.push(Compared { name: name.to_string(), frames, deterministic });
    }
    results
}

#[test]
fn short_real_projects_render_through_the_farm_exactly_like_bare_melt() {
    let names: Vec<&str> = SHORT.iter().map(|(name, _)| *name).collect();
    let results = render_all(&names, Duration::from_secs(600));
    for ((name, frames), result) in SHORT.iter().zip(&results) {
        assert_eq!(result.frames, *frames, "{name}");
    }
    let varying: Vec<&str> = results.iter().filter(|r| !r.deterministic).map(|r| r.name.as_str()).collect();
    assert_eq!(varying, VARY_RUN_TO_RUN, "projects bare melt renders differently run to run");
}

#[test]
#[ignore = "minutes of 1080p and ten-minute Shotcut filter sets: run with --ignored"]
fn projects_on_request_render_through_the_farm_exactly_like_bare_melt() {
    let results = render_all(ON_REQUEST, Duration::from_secs(3600));
    assert_eq!(results.len(), ON_REQUEST.len());
}

#[test]
fn real_projects_the_farm_refuses_say_why() {
    let cluster = Cluster::start(1);
    let dir = cluster.dir.path().join("corpus");
    let refused = |name: &str| {
        let project = stage(&dir, name);
        let run = cluster.cli(&["job", "submit", project.to_str().unwrap()]);
        assert!(!run.status.success(), "{name} was accepted");
        (project, stderr(&run).trim().to_string())
    };
    // MLT's demo/new.mlt: a bare <playlist>, from which melt renders one black frame.
    let (project, err) = refused("mlt-demo/new.mlt");
    assert_eq!(
        err,
        format!(
            "distencode: {}: not an MLT project: the root element is <playlist>, expected <mlt> (melt renders a \
             single black frame from a bare <playlist> or <tractor>; the project's root must be <mlt> holding the \
             <profile>, the producers and the timeline, as Kdenlive and Shotcut save it)",
            project.display()
        )
    );
    // MLT's demo/entity.mlt: its DOCTYPE's entity is read, and its pango title has no length of its own.
    let (project, err) = refused("mlt-demo/entity.mlt");
    assert_eq!(
        err,
        format!(
            "distencode: {}: invalid MLT project: producer \"producer0\" has no out point, so only its media knows \
             how long it plays; give it in/out",
            project.display()
        )
    );
}
