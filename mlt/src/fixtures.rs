//! Whole projects in the shapes Kdenlive and Shotcut write, each rendered with
//! melt 7.12 against stand-in media made with ffmpeg (`testsrc` 75 frames at
//! 25 fps with AAC audio as the clip, 4 s of `sine` as the music, a
//! `gradients` picture as the luma), counting frames with ffprobe.

use super::*;
use std::path::Path;

/// Kdenlive 22.12-style: a track per nested tractor (two playlists each, a
/// same-track luma wipe), clock-string in/out everywhere, an avformat audio
/// clip, the `black_track` and `main_bin`, `kdenlive:` metadata.
/// melt 7.12 rendered 135 frames (75 + 10 blank + 50 on V1).
pub const KDENLIVE_FILE: &str = include_str!("../../tests/fixtures/kdenlive.mlt");

/// Shotcut 23.05-style at 30000/1001: `<chain>` producers with
/// `mlt_service=avformat-novalidate` and clock-string lengths, `shotcut:`
/// properties, a disabled frei0r.cairoblend (frei0r is not even installed
/// where this was rendered). melt 7.12 rendered 136 frames
/// (61 + 15 blank + 60 on V1; the background is 134, the music 120).
pub const SHOTCUT_FILE: &str = include_str!("../../tests/fixtures/shotcut.mlt");

/// The Kdenlive fixture with its root where the unit tests expect it.
fn kdenlive() -> String {
    KDENLIVE_FILE.replace("@ROOT@", "/tmp/mltx/kdenlive")
}

/// The Shotcut fixture with its root where the unit tests expect it.
fn shotcut() -> String {
    SHOTCUT_FILE.replace("@ROOT@", "/tmp/mltx/shotcut")
}

fn names(set: &BTreeSet<String>) -> Vec<&str> {
    set.iter().map(String::as_str).collect()
}

fn paths(p: &Project) -> Vec<String> {
    p.references.iter().map(|r| r.path.display().to_string()).collect()
}

#[test]
fn kdenlive_project() {
    let p = parse_project(&kdenlive(), Path::new("/tmp/mltx/kdenlive/project.kdenlive")).unwrap();
    assert_eq!(p.length_frames, 135); // melt 7.12: 135
    assert_eq!((p.fps_num, p.fps_den, p.profile_explicit), (25, 1, true));
    assert!(p.has_audio);
    assert_eq!(p.root, Path::new("/tmp/mltx/kdenlive"));
    assert_eq!(
        paths(&p),
        ["/tmp/mltx/kdenlive/clip.mp4", "/tmp/mltx/kdenlive/music.wav", "/tmp/mltx/kdenlive/lumas/luma01.pgm"]
    );
    assert_eq!(p.references[2].origin, r#"transition "transition0" property resource"#);
    // volume is disabled, so not needed
    assert_eq!(names(&p.services), ["avformat-novalidate", "brightness", "color", "luma", "mix", "panner", "qtblend"]);
}

#[test]
fn kdenlive_length_comes_from_the_nested_tractors() {
    // With the black track cut to 25 frames melt 7.12 still rendered 135.
    let short = kdenlive().replace(
        r#"<producer id="black_track" in="00:00:00.000" out="00:00:05.360">"#,
        r#"<producer id="black_track" in="00:00:00.000" out="00:00:00.960">"#,
    );
    assert_ne!(short, kdenlive());
    let p = parse_project(&short, Path::new("/k/p.mlt")).unwrap();
    assert_eq!(p.length_frames, 135);
}

#[test]
fn shotcut_project() {
    let p = parse_project(&shotcut(), Path::new("/tmp/mltx/shotcut/project.mlt")).unwrap();
    assert_eq!(p.length_frames, 136); // melt 7.12: 136
    assert_eq!((p.fps_num, p.fps_den), (30000, 1001));
    assert!(p.has_audio);
    assert_eq!(paths(&p), ["/tmp/mltx/shotcut/media/my clip.mp4", "/tmp/mltx/shotcut/media/music.wav"]);
    assert_eq!(p.references[0].origin, r#"chain "chain0" property resource"#);
    // frei0r.cairoblend is disabled, so not needed
    assert_eq!(names(&p.services), ["avformat-novalidate", "brightness", "color", "mix"]);
    let short = shotcut().replace(
        r#"<entry producer="black" in="00:00:00.000" out="00:00:04.438"/>"#,
        r#"<entry producer="black" in="00:00:00.000" out="00:00:00.968"/>"#,
    );
    assert_ne!(short, shotcut());
    // melt 7.12: still 136 with a 30-frame background
    assert_eq!(parse_project(&short, Path::new("/s/p.mlt")).unwrap().length_frames, 136);
}

#[test]
fn kdenlive_project_checked_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("my project");
    std::fs::create_dir(&root).unwrap();
    std::fs::write(root.join("clip.mp4"), b"stand-in").unwrap();
    let xml = KDENLIVE_FILE.replace(r#"root="@ROOT@""#, &format!("root={:?}", root.display().to_string()));
    let file = root.join("project.kdenlive");
    std::fs::write(&file, xml).unwrap();
    let p = read_project(&file).unwrap();
    assert_eq!(p.root, root);
    let mut available = ServiceSet::new();
    for name in ["avformat-novalidate", "color"] {
        available.insert(ServiceKind::Producer, name);
    }
    available.insert(ServiceKind::Filter, "brightness");
    available.insert(ServiceKind::Transition, "mix");
    let refusal = check_on_this_machine(&p, &available).unwrap_err();
    let missing: Vec<_> = refusal.missing_files.iter().map(|r| r.path.clone()).collect();
    assert_eq!(missing, [root.join("music.wav"), root.join("lumas/luma01.pgm")]);
    assert_eq!(refusal.missing_services, ["luma", "panner", "qtblend"]);
    let line = refusal.to_string();
    assert!(line.contains("music.wav (producer \"producer1\" property resource)"), "{line}");
    // The panner is a filter: where it sits is named.
    assert!(
        line.ends_with("unknown services: luma, panner (filter \"filter2\" on tractor \"tractor1\"), qtblend"),
        "{line}"
    );
}
