//! Refusals that explain themselves: a `root` from another machine (melt needs it only for relative paths: with
//! every path absolute the project renders, and a relative path under a missing root is refused naming both), a
//! missing stabilisation analysis, and a root element other than `<mlt>`.

use super::*;
use crate::check::check_files;

/// A Kdenlive project saved on a Mac: its root is the user's folder there, its media absolute.
fn saved_on_a_mac(media: &Path, relative: Option<&str>) -> String {
    let second = relative.map_or(String::new(), |r| {
        format!(r#"<producer id="logo" in="0" out="9"><property name="resource">{r}</property></producer>"#)
    });
    let entry = relative.map_or("", |_| r#"<entry producer="logo"/>"#);
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?>
<mlt LC_NUMERIC="C" producer="main_bin" root="/Users/NAME/Documents/project" version="7.12.0">
  <producer id="clip" in="0" out="9"><property name="resource">{}</property></producer>
  {second}
  <playlist id="main"><entry producer="clip"/>{entry}</playlist>
</mlt>"#,
        media.display()
    )
}

#[test]
fn a_missing_root_is_no_problem_when_every_path_is_absolute() {
    let dir = tempfile::tempdir().unwrap();
    let media = dir.path().join("clip.mp4");
    std::fs::write(&media, b"x").unwrap();
    let project = parse_project(&saved_on_a_mac(&media, None), &dir.path().join("p.kdenlive")).unwrap();
    assert_eq!(project.root, Path::new("/Users/NAME/Documents/project"));
    assert_eq!(project.references[0].relative, None);
    assert_eq!(check_files(&project), Ok(()));
    // melt starts in the project's own folder, which exists.
    assert_eq!(project.folder(), dir.path());
}

#[test]
fn a_relative_path_under_a_missing_root_is_refused_naming_root_and_path() {
    let dir = tempfile::tempdir().unwrap();
    let media = dir.path().join("clip.mp4");
    std::fs::write(&media, b"x").unwrap();
    let xml = saved_on_a_mac(&media, Some("titles/logo.png"));
    let project = parse_project(&xml, &dir.path().join("p.kdenlive")).unwrap();
    let refusal = check_files(&project).unwrap_err();
    assert_eq!(
        refusal.to_string(),
        "the project's root folder /Users/NAME/Documents/project does not exist here, and these paths are relative \
         to it: titles/logo.png (producer \"logo\" property resource)"
    );
    assert!(refusal.missing_files.is_empty(), "not reported twice: {refusal:?}");
}

#[test]
fn a_relative_path_under_an_existing_root_is_plain_missing_media() {
    let dir = tempfile::tempdir().unwrap();
    let media = dir.path().join("clip.mp4");
    std::fs::write(&media, b"x").unwrap();
    let xml = saved_on_a_mac(&media, Some("titles/logo.png"))
        .replace("/Users/NAME/Documents/project", dir.path().to_str().unwrap());
    let project = parse_project(&xml, &dir.path().join("p.kdenlive")).unwrap();
    let refusal = check_files(&project).unwrap_err();
    assert_eq!(
        refusal.to_string(),
        format!("missing media: {}/titles/logo.png (producer \"logo\" property resource)", dir.path().display())
    );
}

#[test]
fn a_missing_stabilisation_analysis_says_how_it_is_made() {
    let dir = tempfile::tempdir().unwrap();
    let media = dir.path().join("shaky.mp4");
    std::fs::write(&media, b"x").unwrap();
    // As Shotcut 23.x saves a Stabilize filter after "Analyze".
    let xml = format!(
        r#"<mlt LC_NUMERIC="C" version="7.12.0" root="{root}">
  <chain id="chain0" out="00:00:01.960"><property name="resource">shaky.mp4</property><property name="mlt_service">avformat-novalidate</property><property name="length">50</property>
    <filter id="filter0"><property name="mlt_service">vidstab</property><property name="shotcut:filter">stabilize</property><property name="filename">shaky.mp4.stab</property><property name="results">shaky.mp4.stab</property></filter>
  </chain>
  <playlist id="playlist0"><entry producer="chain0" in="0" out="49"/></playlist>
</mlt>"#,
        root = dir.path().display()
    );
    let project = parse_project(&xml, &dir.path().join("p.mlt")).unwrap();
    let refusal = check_files(&project).unwrap_err();
    assert_eq!(
        refusal.to_string(),
        format!(
            "missing stabilisation analysis: {}/shaky.mp4.stab (filter \"filter0\" property filename) (the vidstab \
             filter reads the motion analysis the editor writes when it analyses the clip: Shotcut's Stabilize \
             filter \"Analyze\", Kdenlive's stabilise job; run it again where this file is to be, or remove the \
             filter)",
            dir.path().display()
        )
    );
}

#[test]
fn a_playlist_root_says_what_the_root_must_be() {
    // MLT's demo/new.mlt begins so: a bare <playlist>, from which melt renders one black frame.
    let e = parse_project("<playlist>\n  <entry>\n  </entry>\n</playlist>\n", Path::new("/x/new.mlt")).unwrap_err();
    assert!(matches!(e, ProjectError::NotMlt { .. }));
    assert!(e.to_string().contains("the project's root must be <mlt> holding the <profile>"), "{e}");
}
