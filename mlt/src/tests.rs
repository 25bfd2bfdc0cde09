//! Whole-file behaviour: reading, refusing what is not an MLT project, never
//! panicking on garbage, and the fields of a small project.

use super::*;

const SMALL: &str = r#"<?xml version="1.0"?>
<mlt><profile frame_rate_num="30000" frame_rate_den="1001"/>
  <producer id="clip1" in="0" out="00:00:01.000"><property name="resource">media/a.mp4</property></producer>
  <producer id="red" out="9" mlt_service="color" resource="red"/>
  <playlist id="main"><entry producer="clip1"/><entry producer="red"/></playlist>
</mlt>"#;

fn parse(xml: &str) -> Result<Project, ProjectError> {
    parse_project(xml, Path::new("/x/p.mlt"))
}

#[test]
fn small_project() {
    let p = parse(SMALL).unwrap();
    assert_eq!(p.path, Path::new("/x/p.mlt"));
    assert_eq!(p.root, Path::new("/x"));
    assert_eq!((p.fps_num, p.fps_den), (30000, 1001));
    assert_eq!(p.length_frames, 31 + 10);
    assert!(p.has_audio);
    assert_eq!(
        p.references,
        [FileRef {
            path: "/x/media/a.mp4".into(),
            origin: r#"producer "clip1" property resource"#.into(),
            folder: false,
            relative: Some("media/a.mp4".into()),
            role: FileRole::Media,
        }]
    );
    assert_eq!(p.services.iter().collect::<Vec<_>>(), ["color"]);
}

#[test]
fn root_attribute() {
    let with_root = SMALL.replace("<mlt>", r#"<mlt root="/media/root">"#);
    assert_eq!(parse(&with_root).unwrap().references[0].path, Path::new("/media/root/media/a.mp4"));
    let relative = SMALL.replace("<mlt>", r#"<mlt root="sub">"#);
    assert_eq!(parse(&relative).unwrap().root, Path::new("/x/sub"));
    let empty = SMALL.replace("<mlt>", r#"<mlt root="">"#);
    assert_eq!(parse(&empty).unwrap().root, Path::new("/x"));
}

#[test]
fn colour_only_project_has_no_audio() {
    let p = parse(r##"<mlt><producer out="49" mlt_service="color" resource="#000000"/></mlt>"##).unwrap();
    assert!(!p.has_audio);
    assert!(p.references.is_empty());
    assert!(!p.profile_explicit);
    assert_eq!((p.fps_num, p.fps_den, p.length_frames), (25, 1, 50));
}

#[test]
fn not_mlt() {
    let e = parse("<html><body/></html>").unwrap_err();
    assert_eq!(e.to_string(), "/x/p.mlt: not an MLT project: the root element is <html>, expected <mlt>");
    assert!(matches!(e, ProjectError::NotMlt { .. }));
}

#[test]
fn not_xml() {
    let e = parse("<mlt>\n<producer>\n").unwrap_err();
    assert!(matches!(e, ProjectError::NotXml(..)), "{e}");
    let s = e.to_string();
    assert!(s.starts_with("/x/p.mlt: not XML: ") && s.contains("3:1"), "{s}");
    for garbage in
        ["", "   ", "hello", "\u{0}\u{1}\u{2}", "<mlt", "<<<>>>", "<?xml version='1.0'?>", "<a></b>", "&amp;"]
    {
        let e = parse(garbage).unwrap_err();
        assert!(matches!(e, ProjectError::NotXml(..)), "{garbage:?}: {e}");
        assert!(!e.to_string().contains('\n'), "{e}");
    }
}

#[test]
fn invalid_projects_name_the_problem() {
    let e = parse("<mlt/>").unwrap_err();
    assert!(matches!(e, ProjectError::Invalid(..)));
    assert!(e.to_string().starts_with("/x/p.mlt: invalid MLT project: nothing to render"), "{e}");
    let e = parse(r#"<mlt><producer id="m" resource="a.mp4"/></mlt>"#).unwrap_err();
    assert!(e.to_string().contains(r#"producer "m" has no out point"#), "{e}");
    let e =
        parse(r#"<mlt><profile frame_rate_num="25" frame_rate_den="0"/><producer out="1" mlt_service="color"/></mlt>"#)
            .unwrap_err();
    assert!(e.to_string().contains("frame_rate_den"), "{e}");
    let huge =
        r#"<mlt><producer in="99999999999999999999999999" out="184467440737095516150" mlt_service="color"/></mlt>"#;
    assert!(matches!(parse(huge).unwrap_err(), ProjectError::Invalid(..)));
    let comma = r#"<mlt LC_NUMERIC="fr_FR.UTF-8"><producer out="00:00:01,500" mlt_service="color"/></mlt>"#;
    assert!(parse(comma).unwrap_err().to_string().contains("decimal comma"));
    let c = r#"<mlt LC_NUMERIC="C"><producer out="00:00:01,500" mlt_service="color"/></mlt>"#;
    assert_eq!(parse(c).unwrap().length_frames, 26);
}

#[test]
fn deeply_nested_xml_does_not_overflow() {
    let depth = 50_000;
    let xml = format!("<mlt>{}{}</mlt>", "<playlist>".repeat(depth), "</playlist>".repeat(depth));
    let e = parse(&xml).unwrap_err();
    assert!(!e.to_string().is_empty());
    let depth = 200;
    let xml = format!(
        r#"<mlt><producer id="c" out="0" mlt_service="color"/>{}<entry producer="c"/>{}</mlt>"#,
        "<playlist>".repeat(depth),
        "</playlist>".repeat(depth)
    );
    assert_eq!(parse(&xml).unwrap().length_frames, 1);
}

#[test]
fn bom_and_odd_but_valid_xml() {
    let p = parse(&format!("\u{feff}{SMALL}")).unwrap();
    assert_eq!(p.length_frames, 41);
    let ns = r#"<mlt xmlns:k="urn:x"><k:meta/><producer out="4" mlt_service="tone"/><!-- c --></mlt>"#;
    assert_eq!(parse(ns).unwrap().length_frames, 5);
}

#[test]
fn read_project_from_disk() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("p.mlt");
    std::fs::write(&file, SMALL).unwrap();
    let p = read_project(&file).unwrap();
    assert_eq!(p.root, dir.path());
    assert_eq!(p.references[0].path, dir.path().join("media/a.mp4"));

    let missing = dir.path().join("nope.mlt");
    let e = read_project(&missing).unwrap_err();
    assert!(matches!(e, ProjectError::NotFound(_)));
    assert_eq!(e.to_string(), format!("{}: project file not found", missing.display()));

    assert!(matches!(read_project(dir.path()).unwrap_err(), ProjectError::Unreadable(..)));

    // A named pipe would block the read until something writes to it: refused at once instead.
    let pipe = dir.path().join("pipe.mlt");
    assert!(std::process::Command::new("mkfifo").arg(&pipe).status().unwrap().success());
    let (done, read) = std::sync::mpsc::channel();
    let piped = pipe.clone();
    std::thread::spawn(move || {
        let _ = done.send(read_project(&piped));
    });
    let e = read.recv_timeout(std::time::Duration::from_secs(60)).expect("read_project returned").unwrap_err();
    assert_eq!(
        e.to_string(),
        format!("{}: cannot read: is not a regular file (a named pipe or a device?)", pipe.display())
    );

    let binary = dir.path().join("b.mlt");
    std::fs::write(&binary, [0xff, 0xfe, 0x00, 0x3c, 0x80]).unwrap();
    let e = read_project(&binary).unwrap_err();
    assert!(matches!(e, ProjectError::NotXml(..)), "{e}");

    let empty = dir.path().join("e.mlt");
    std::fs::write(&empty, b"").unwrap();
    assert!(matches!(read_project(&empty).unwrap_err(), ProjectError::NotXml(..)));

    let big = dir.path().join("big.mlt");
    let f = std::fs::File::create(&big).unwrap();
    f.set_len(MAX_PROJECT_BYTES + 1).unwrap();
    let e = read_project(&big).unwrap_err();
    assert!(
        matches!(e, ProjectError::TooLarge { size, limit, .. } if size == MAX_PROJECT_BYTES + 1 && limit == MAX_PROJECT_BYTES)
    );
    assert!(e.to_string().contains("more than the 33554432-byte limit"), "{e}");
}

#[test]
fn pseudo_random_garbage_never_panics() {
    // A fixed xorshift stream over characters that matter to XML and MLT.
    let alphabet: Vec<char> =
        "<>/=\"' mltproducerplaylisttractorentryblanktrackinoutlength:.;0123456789-#%&\n".chars().collect();
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    for _ in 0..2000 {
        let mut s = String::from("<mlt>");
        for _ in 0..64 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            s.push(alphabet[(state % alphabet.len() as u64) as usize]);
        }
        let _ = parse(&s);
        let _ = parse(&format!("{s}</mlt>"));
    }
}

#[test]
fn serde_round_trip() {
    let p = parse(SMALL).unwrap();
    let json = serde_json::to_string(&p).unwrap();
    let back: Project = serde_json::from_str(&json).unwrap();
    assert_eq!(back, p);
}
