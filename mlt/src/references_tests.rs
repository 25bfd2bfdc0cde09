//! Which values are files, and how they resolve.

use super::*;
use crate::clock::TimeBase;

fn refs(body: &str) -> Vec<(String, String, bool)> {
    let xml = format!("<mlt>{body}</mlt>");
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let d = Doc::new(&doc, TimeBase::new(25, 1));
    collect(&d, Path::new("/proj"))
        .into_iter()
        .filter(|r| r.role != FileRole::Network)
        .map(|r| (r.path.display().to_string(), r.origin, r.folder))
        .collect()
}

#[test]
fn network_urls_and_protocols_are_listed_as_they_are_written() {
    let xml = r#"<mlt>
        <producer resource="https://example.org/a.mp4"/>
        <producer resource="rtsp://cam/stream"/>
        <producer resource="concat:/a.mp4|/etc/passwd"/>
        <producer resource="pipe:0"/>
        <producer resource="file:///m/a.mp4"/>
        <producer resource="avformat:/m/b.mp4"/>
        <producer mlt_service="color" resource="http://x"/>
    </mlt>"#;
    let doc = roxmltree::Document::parse(xml).unwrap();
    let d = Doc::new(&doc, TimeBase::new(25, 1));
    let network: Vec<String> = collect(&d, Path::new("/proj"))
        .into_iter()
        .filter(|r| r.role == FileRole::Network)
        .map(|r| r.path.display().to_string())
        .collect();
    assert_eq!(network, ["https://example.org/a.mp4", "rtsp://cam/stream", "concat:/a.mp4|/etc/passwd", "pipe:0"]);
}

fn paths(body: &str) -> Vec<String> {
    refs(body).into_iter().map(|r| r.0).collect()
}

#[test]
fn producer_resources_resolve_against_root() {
    let r = refs(r#"<producer id="clip1"><property name="resource">media/clip.mp4</property></producer>"#);
    assert_eq!(r, vec![("/proj/media/clip.mp4".into(), r#"producer "clip1" property resource"#.into(), false)]);
    assert_eq!(paths(r#"<producer resource="/abs/a.mp4"/>"#), ["/abs/a.mp4"]);
    assert_eq!(paths(r#"<producer resource="./media/../x.mp4"/>"#), ["/proj/media/../x.mp4"]);
    assert_eq!(paths(r#"<chain><property name="resource">a space.wav</property></chain>"#), ["/proj/a space.wav"]);
    // Kino-SMIL src is a synonym when resource is absent.
    assert_eq!(paths(r#"<producer src="s.mp4"/>"#), ["/proj/s.mp4"]);
    // Windows paths stay as they are (and will be missing on Linux).
    assert_eq!(paths(r#"<producer resource="C:/Users/me/a.mp4"/>"#), ["C:/Users/me/a.mp4"]);
}

#[test]
fn prefixes_are_stripped() {
    // melt 7.12: "plain:media/clip.mp4" became plain:/root/media/clip.mp4 and loaded.
    assert_eq!(paths(r#"<producer resource="plain:media/clip.mp4"/>"#), ["/proj/media/clip.mp4"]);
    // melt 7.12 loaded "avformat:/tmp/mltx/v50.mp4" without mlt_service.
    assert_eq!(paths(r#"<producer resource="avformat:/m/v.mp4"/>"#), ["/m/v.mp4"]);
    assert_eq!(paths(r#"<producer resource="xml:nested.mlt"/>"#), ["/proj/nested.mlt"]);
    assert_eq!(
        paths(r#"<producer mlt_service="timewarp" resource="2.5:/m/v.mp4" warp_resource="/m/v.mp4"/>"#),
        ["/m/v.mp4"]
    );
    assert_eq!(paths(r#"<producer resource="file:///m/a%20b.mp4"/>"#), ["/m/a b.mp4"]);
    // nested .mlt files count
    assert_eq!(paths(r#"<producer mlt_service="xml" resource="sub/other.mlt"/>"#), ["/proj/sub/other.mlt"]);
}

#[test]
fn non_files_are_skipped() {
    let body = r##"
        <producer id="a"><property name="mlt_service">color</property><property name="resource">red</property></producer>
        <producer mlt_service="colour" resource="#ff0000"/>
        <producer mlt_service="color" resource="0"/>
        <producer resource="0xff0000ff"/>
        <producer resource="#00ff00"/>
        <producer mlt_service="tone"/>
        <producer mlt_service="noise" resource="whatever"/>
        <producer mlt_service="count" resource="x"/>
        <producer mlt_service="frei0r.plasma" resource="y"/>
        <producer resource="colour:black"/>
        <producer resource="https://example.org/a.mp4"/>
        <producer resource="rtsp://cam/stream"/>
        <producer resource="http://example.org/b.mp4"/>
        <producer resource="x11grab:0.0"/>
        <producer resource="lavfi:testsrc"/>
        <producer resource="+hello.txt" mlt_service="pango"/>
        <producer resource="&lt;tractor&gt;"/>
        <producer resource="a"/>
        <producer resource="   "/>
        <producer resource=""/>
        <producer mlt_service="xml-string" resource="&lt;mlt/&gt;"/>
        <producer><property name="kdenlive:originalurl">/orig/a.mp4</property><property name="mlt_service">color</property></producer>
        <playlist id="pl"/><tractor id="tr"/>
        <producer resource="pl"/><producer resource="tr"/>
        <transition mlt_service="luma" resource="%luma01.pgm"/>
        <transition mlt_service="composite" luma="%luma05.pgm"/>
        <transition mlt_service="region" resource="rectangle"/>
        <transition mlt_service="luma" resource=""/>
        <consumer mlt_service="avformat" target="/out/render.mp4"/>
    "##;
    assert_eq!(paths(body), Vec::<String>::new());
}

#[test]
fn sequences_need_only_their_folder() {
    let r = refs(
        r#"<producer id="s" resource="frames/img%05d.png?begin=3"/><producer resource="/abs/shots/.all.jpg"/><producer resource="img%03d.png"/>"#,
    );
    assert_eq!(
        r,
        vec![
            ("/proj/frames".into(), r#"producer "s" property resource"#.into(), true),
            ("/abs/shots".into(), "producer at line 1 property resource".into(), true),
            ("/proj".into(), "producer at line 1 property resource".into(), true),
        ]
    );
}

#[test]
fn effect_files() {
    let body = r#"
        <transition id="t1"><property name="mlt_service">luma</property><property name="resource">lumas/wipe.pgm</property></transition>
        <transition mlt_service="composite" luma="/l/luma02.pgm"/>
        <transition mlt_service="qtblend"><property name="luma.resource">/l/c.pgm</property></transition>
        <filter id="lut"><property name="mlt_service">avfilter.lut3d</property><property name="av.file">grade.cube</property></filter>
        <filter mlt_service="vidstab" filename="stab.trf"/>
        <filter mlt_service="watermark" resource="logo.png"/>
        <filter mlt_service="watermark" resource="colour:red"/>
        <filter mlt_service="shape" resource="%luma04.pgm"/>
        <filter mlt_service="mask_start"><property name="filter.resource">/l/mask.png</property><property name="producer.resource">/l/p.png</property></filter>
        <filter mlt_service="avfilter.subtitles" av.filename="subs.srt"/>
    "#;
    assert_eq!(
        refs(body).into_iter().map(|r| (r.0, r.1)).collect::<Vec<_>>(),
        vec![
            ("/proj/lumas/wipe.pgm".into(), r#"transition "t1" property resource"#.into()),
            ("/l/luma02.pgm".into(), "transition at line 3 property luma".into()),
            ("/l/c.pgm".into(), "transition at line 4 property luma.resource".into()),
            ("/proj/grade.cube".into(), r#"filter "lut" property av.file"#.into()),
            ("/proj/stab.trf".into(), "filter at line 6 property filename".into()),
            ("/proj/logo.png".into(), "filter at line 7 property resource".into()),
            ("/l/p.png".into(), "filter at line 10 property producer.resource".into()),
            ("/l/mask.png".into(), "filter at line 10 property filter.resource".into()),
            ("/proj/subs.srt".into(), "filter at line 11 property av.filename".into()),
        ]
    );
}

#[test]
fn duplicates_keep_the_first_origin() {
    let r = refs(r#"<producer id="a" resource="x.mp4"/><chain id="b" resource="x.mp4"/>"#);
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].1, r#"producer "a" property resource"#);
}

#[test]
fn a_lavfi_graph_s_movie_sources_and_a_title_s_images_are_files_the_project_needs() {
    let title = "&lt;kdenlivetitle&gt;&lt;item type=\"QGraphicsPixmapItem\"&gt;&lt;content url=\"logo.png\"/&gt;\
                 &lt;/item&gt;&lt;/kdenlivetitle&gt;";
    let found = refs(&format!(
        r#"<producer id="g"><property name="resource">lavfi:movie=/srv/keys/w1.key,scale=64:48</property></producer>
        <producer id="t"><property name="mlt_service">kdenlivetitle</property><property name="xmldata">{title}</property></producer>
        <producer id="n"><property name="resource">lavfi:testsrc</property></producer>"#
    ));
    let listed: Vec<(&str, &str)> = found.iter().map(|(p, o, _)| (p.as_str(), o.as_str())).collect();
    assert_eq!(
        listed,
        [
            ("/srv/keys/w1.key", "producer \"g\" property resource (a lavfi movie source)"),
            ("/proj/logo.png", "producer \"t\" property xmldata (a title's image)"),
        ]
    );
}
