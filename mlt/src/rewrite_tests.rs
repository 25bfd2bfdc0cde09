//! The copy names the mapped files, and only the values change.

use super::*;
use std::path::Path;

/// Maps `D:\Projects` and `/Volumes/Projects` to `/mnt/projects`, as a worker's rules would.
fn rule(path: &str) -> Option<String> {
    let text = path.replace('\\', "/");
    ["D:/Projects", "/Volumes/Projects"].iter().find_map(|from| {
        let rest = text.get(..from.len()).filter(|head| head.eq_ignore_ascii_case(from)).map(|_| &text[from.len()..]);
        rest.filter(|rest| rest.is_empty() || rest.starts_with('/')).map(|rest| format!("/mnt/projects{rest}"))
    })
}

fn rewrite(xml: &str, windows: bool) -> Rewritten {
    let mapping = Mapping { absolute: &rule, windows_separators: windows, root: "/mnt/projects/film".into() };
    map_references(xml, Path::new("/mnt/projects/film/film.mlt"), &mapping).unwrap()
}

/// Every file the project needs, as the checks see them.
fn needed(xml: &str) -> Vec<String> {
    let project = crate::parse_project(xml, Path::new("/elsewhere/copy.mlt")).unwrap();
    project.references.iter().map(|r| r.path.display().to_string()).collect()
}

#[test]
fn every_reference_the_checks_read_is_mapped() {
    let title = "&lt;kdenlivetitle&gt;&lt;item type=\"QGraphicsPixmapItem\"&gt;&lt;content \
                 url=\"D:\\Projects\\film\\logo.png\"/&gt;&lt;/item&gt;&lt;/kdenlivetitle&gt;";
    let xml = format!(
        r#"<?xml version="1.0"?>
<mlt LC_NUMERIC="C">
  <!-- saved on the editor's machine -->
  <producer id="a" out="9" resource="D:\Projects\film\clip one.mp4"/>
  <producer id="b" out="9"><property name="resource">avformat:d:/projects/film/ä.mov</property></producer>
  <producer id="c" out="9"><property name="resource">/Volumes/Projects/film/shots/img%05d.png</property></producer>
  <producer id="d" out="9"><property name="resource">lavfi:movie=/Volumes/Projects/film/bg.mp4,scale=64:48</property></producer>
  <producer id="t" out="9"><property name="mlt_service">kdenlivetitle</property><property name="xmldata">{title}</property></producer>
  <producer id="r" out="9"><property name="resource">media\sound.wav</property></producer>
  <producer id="k" out="9"><property name="resource">#ff0000</property><property name="mlt_service">color</property></producer>
  <producer id="u" out="9"><property name="resource">https://example.org/a.mp4</property></producer>
  <tractor id="main"><multitrack><track producer="a"/></multitrack><transition mlt_service="luma" resource="D:\Projects\lumas\wipe.pgm"/></tractor>
</mlt>"#
    );
    let before = needed(&xml);
    assert!(before.iter().any(|p| p.starts_with("D:\\Projects")), "{before:?}");
    let copy = rewrite(&xml, true);
    assert_eq!(copy.changed, 7);
    assert_eq!(
        needed(&copy.xml),
        [
            "/mnt/projects/film/clip one.mp4",
            "/mnt/projects/film/ä.mov",
            "/mnt/projects/film/shots",
            "/mnt/projects/film/bg.mp4",
            "/mnt/projects/film/logo.png",
            "/mnt/projects/film/media/sound.wav",
            "https://example.org/a.mp4",
            "/mnt/projects/lumas/wipe.pgm",
        ]
    );
    // Prefixes, patterns, the rest of a graph and every byte outside the values stay as written.
    for kept in [
        "avformat:/mnt/projects/film/ä.mov",
        "/mnt/projects/film/shots/img%05d.png",
        "lavfi:movie=/mnt/projects/film/bg.mp4,scale=64:48",
        "<!-- saved on the editor's machine -->",
        "https://example.org/a.mp4",
        "#ff0000",
        r#"<mlt root="/mnt/projects/film" LC_NUMERIC="C">"#,
    ] {
        assert!(copy.xml.contains(kept), "{kept} is not in {}", copy.xml);
    }
}

#[test]
fn every_occurrence_of_a_value_set_twice_is_mapped_and_escaped() {
    let xml = r#"<mlt root="D:\Projects\film"><producer resource="D:\Projects\a&amp;b.mp4"><property name="resource">D:\Projects\c&lt;d.mp4</property></producer></mlt>"#;
    let copy = rewrite(xml, false);
    assert_eq!(
        copy.xml,
        r#"<mlt root="/mnt/projects/film"><producer resource="/mnt/projects/a&amp;b.mp4"><property name="resource">/mnt/projects/c&lt;d.mp4</property></producer></mlt>"#
    );
    assert_eq!(copy.changed, 2);
}

#[test]
fn what_no_rule_maps_is_left_as_written() {
    let xml = r#"<mlt><producer resource="E:\Other\a.mp4"/><producer resource="media\b.mp4"/></mlt>"#;
    let copy = rewrite(xml, false);
    assert_eq!(copy.changed, 0);
    assert_eq!(
        copy.xml,
        r#"<mlt root="/mnt/projects/film"><producer resource="E:\Other\a.mp4"/><producer resource="media\b.mp4"/></mlt>"#
    );
}

#[test]
fn a_project_that_does_not_parse_is_refused_as_before() {
    let mapping = Mapping { absolute: &rule, windows_separators: false, root: "/r".into() };
    let refused = map_references("<notmlt/>", Path::new("/p.mlt"), &mapping).unwrap_err();
    assert!(matches!(refused, ProjectError::NotMlt { .. }), "{refused}");
}
