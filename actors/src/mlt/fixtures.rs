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
pub const KDENLIVE: &str = r#"<?xml version='1.0' encoding='utf-8'?>
<mlt LC_NUMERIC="C" producer="main_bin" version="7.12.0" root="/tmp/mltx/kdenlive">
 <profile frame_rate_num="25" sample_aspect_num="1" display_aspect_den="9" colorspace="709" progressive="1" description="HD 1080p 25 fps" display_aspect_num="16" frame_rate_den="1" width="320" height="180" sample_aspect_den="1"/>
 <producer id="producer0" in="00:00:00.000" out="00:00:02.960">
  <property name="length">75</property>
  <property name="eof">pause</property>
  <property name="resource">clip.mp4</property>
  <property name="audio_index">1</property>
  <property name="video_index">0</property>
  <property name="mute_on_pause">0</property>
  <property name="mlt_service">avformat-novalidate</property>
  <property name="seekable">1</property>
  <property name="kdenlive:clipname"/>
  <property name="kdenlive:originalurl">/home/someone/Videos/clip-original.mp4</property>
  <property name="kdenlive:proxy">/home/someone/proxies/2.mkv</property>
  <property name="kdenlive:id">2</property>
 </producer>
 <producer id="producer1" in="00:00:00.000" out="00:00:03.960">
  <property name="length">100</property>
  <property name="eof">pause</property>
  <property name="resource">music.wav</property>
  <property name="audio_index">0</property>
  <property name="video_index">-1</property>
  <property name="mlt_service">avformat-novalidate</property>
  <property name="kdenlive:id">3</property>
 </producer>
 <producer id="producer2" in="00:00:00.000" out="00:00:01.960">
  <property name="length">15000</property>
  <property name="eof">pause</property>
  <property name="resource">0xff0000ff</property>
  <property name="mlt_service">color</property>
  <property name="mlt_image_format">rgba</property>
  <property name="kdenlive:clipname">Red</property>
  <property name="kdenlive:id">4</property>
 </producer>
 <producer id="black_track" in="00:00:00.000" out="00:00:05.360">
  <property name="length">2147483647</property>
  <property name="eof">continue</property>
  <property name="resource">black</property>
  <property name="aspect_ratio">1</property>
  <property name="mlt_service">color</property>
  <property name="kdenlive:playlistid">black_track</property>
  <property name="mlt_image_format">rgba</property>
  <property name="set.test_audio">0</property>
 </producer>
 <playlist id="playlist0">
  <property name="kdenlive:audio_track">0</property>
  <entry producer="producer0" in="00:00:00.000" out="00:00:02.960">
   <property name="kdenlive:id">2</property>
  </entry>
  <blank length="00:00:00.400"/>
  <entry producer="producer2" in="00:00:00.000" out="00:00:01.960">
   <property name="kdenlive:id">4</property>
   <filter id="filter0">
    <property name="mlt_service">brightness</property>
    <property name="level">0.8</property>
    <property name="kdenlive_id">brightness</property>
   </filter>
  </entry>
 </playlist>
 <playlist id="playlist1">
  <blank length="00:00:02.000"/>
  <entry producer="producer2" in="00:00:00.000" out="00:00:00.960"/>
 </playlist>
 <tractor id="tractor0" in="00:00:00.000" out="00:00:05.360">
  <property name="kdenlive:trackheight">67</property>
  <property name="kdenlive:track_name">V1</property>
  <track hide="audio" producer="playlist0"/>
  <track hide="audio" producer="playlist1"/>
  <transition id="transition0" in="00:00:02.000" out="00:00:02.960">
   <property name="a_track">0</property>
   <property name="b_track">1</property>
   <property name="factory">loader</property>
   <property name="resource">lumas/luma01.pgm</property>
   <property name="softness">0.2</property>
   <property name="mlt_service">luma</property>
   <property name="kdenlive_id">wipe</property>
  </transition>
 </tractor>
 <playlist id="playlist2">
  <property name="kdenlive:audio_track">1</property>
  <entry producer="producer1" in="00:00:00.520" out="00:00:03.960">
   <property name="kdenlive:id">3</property>
  </entry>
 </playlist>
 <playlist id="playlist3">
  <property name="kdenlive:audio_track">1</property>
 </playlist>
 <tractor id="tractor1" in="00:00:00.000" out="00:00:03.440">
  <property name="kdenlive:audio_track">1</property>
  <property name="kdenlive:trackheight">67</property>
  <track hide="video" producer="playlist2"/>
  <track hide="video" producer="playlist3"/>
  <filter id="filter1">
   <property name="window">75</property>
   <property name="max_gain">20dB</property>
   <property name="mlt_service">volume</property>
   <property name="internal_added">237</property>
   <property name="disable">1</property>
  </filter>
  <filter id="filter2">
   <property name="channel">-1</property>
   <property name="mlt_service">panner</property>
   <property name="internal_added">237</property>
   <property name="start">0.5</property>
  </filter>
 </tractor>
 <playlist id="main_bin">
  <property name="kdenlive:docproperties.version">1.1</property>
  <property name="kdenlive:docproperties.kdenliveversion">22.12.3</property>
  <property name="xml_retain">1</property>
  <entry producer="producer0" in="00:00:00.000" out="00:00:02.960"/>
  <entry producer="producer1" in="00:00:00.000" out="00:00:03.960"/>
  <entry producer="producer2" in="00:00:00.000" out="00:00:01.960"/>
 </playlist>
 <tractor id="tractor2" in="00:00:00.000" out="00:00:05.360" global_feed="1">
  <track producer="black_track"/>
  <track producer="tractor1" hide="video"/>
  <track producer="tractor0"/>
  <transition id="transition1">
   <property name="a_track">0</property>
   <property name="b_track">1</property>
   <property name="mlt_service">mix</property>
   <property name="kdenlive_id">mix</property>
   <property name="internal_added">237</property>
   <property name="always_active">1</property>
   <property name="accepts_blanks">1</property>
   <property name="sum">1</property>
  </transition>
  <transition id="transition2">
   <property name="a_track">0</property>
   <property name="b_track">2</property>
   <property name="compositing">0</property>
   <property name="distort">0</property>
   <property name="rotate_center">0</property>
   <property name="mlt_service">qtblend</property>
   <property name="kdenlive_id">qtblend</property>
   <property name="internal_added">237</property>
   <property name="always_active">1</property>
  </transition>
 </tractor>
</mlt>"#;

/// Shotcut 23.05-style at 30000/1001: `<chain>` producers with
/// `mlt_service=avformat-novalidate` and clock-string lengths, `shotcut:`
/// properties, a disabled frei0r.cairoblend (frei0r is not even installed
/// where this was rendered). melt 7.12 rendered 136 frames
/// (61 + 15 blank + 60 on V1; the background is 134, the music 120).
pub const SHOTCUT: &str = r#"<?xml version="1.0" standalone="no"?>
<mlt LC_NUMERIC="C" version="7.12.0" title="Shotcut version 23.05.14" producer="main_bin" root="/tmp/mltx/shotcut">
  <profile description="HD 720p 29.97 fps" width="320" height="180" progressive="1" sample_aspect_num="1" sample_aspect_den="1" display_aspect_num="16" display_aspect_den="9" frame_rate_num="30000" frame_rate_den="1001" colorspace="709"/>
  <playlist id="main_bin">
    <property name="xml_retain">1</property>
  </playlist>
  <producer id="black" in="00:00:00.000" out="00:00:04.438">
    <property name="length">00:00:04.471</property>
    <property name="eof">pause</property>
    <property name="resource">0</property>
    <property name="aspect_ratio">1</property>
    <property name="mlt_service">color</property>
    <property name="mlt_image_format">rgba</property>
    <property name="set.test_audio">0</property>
  </producer>
  <playlist id="background">
    <entry producer="black" in="00:00:00.000" out="00:00:04.438"/>
  </playlist>
  <chain id="chain0" out="00:00:02.970">
    <property name="length">00:00:03.003</property>
    <property name="eof">pause</property>
    <property name="resource">media/clip.mp4</property>
    <property name="mlt_service">avformat-novalidate</property>
    <property name="seekable">1</property>
    <property name="audio_index">1</property>
    <property name="video_index">0</property>
    <property name="mute_on_pause">0</property>
    <property name="shotcut:hash">5a4d6e2b1f0c9e8d7c6b5a4f3e2d1c0b</property>
    <property name="ignore_points">0</property>
    <property name="shotcut:caption">clip.mp4</property>
    <property name="xml">was here</property>
    <filter id="filter0" out="00:00:02.970">
      <property name="start">1</property>
      <property name="level">1</property>
      <property name="mlt_service">brightness</property>
      <property name="shotcut:filter">brightness</property>
    </filter>
  </chain>
  <chain id="chain1" out="00:00:03.970">
    <property name="length">00:00:04.004</property>
    <property name="eof">pause</property>
    <property name="resource">media/music.wav</property>
    <property name="mlt_service">avformat-novalidate</property>
    <property name="seekable">1</property>
    <property name="audio_index">0</property>
    <property name="video_index">-1</property>
    <property name="shotcut:caption">music.wav</property>
    <property name="xml">was here</property>
  </chain>
  <playlist id="playlist0">
    <property name="shotcut:video">1</property>
    <property name="shotcut:name">V1</property>
    <entry producer="chain0" in="00:00:00.000" out="00:00:02.002"/>
    <blank length="00:00:00.500"/>
    <entry producer="chain0" in="00:00:01.001" out="00:00:02.970"/>
  </playlist>
  <playlist id="playlist1">
    <property name="shotcut:audio">1</property>
    <property name="shotcut:name">A1</property>
    <entry producer="chain1" in="00:00:00.000" out="00:00:03.970"/>
  </playlist>
  <tractor id="tractor0" title="Shotcut version 23.05.14" in="00:00:00.000" out="00:00:04.438">
    <property name="shotcut">1</property>
    <property name="shotcut:projectAudioChannels">2</property>
    <property name="shotcut:projectFolder">1</property>
    <track producer="background"/>
    <track producer="playlist0"/>
    <track producer="playlist1" hide="video"/>
    <transition id="transition0">
      <property name="a_track">0</property>
      <property name="b_track">1</property>
      <property name="mlt_service">mix</property>
      <property name="always_active">1</property>
      <property name="sum">1</property>
    </transition>
    <transition id="transition1">
      <property name="a_track">0</property>
      <property name="b_track">1</property>
      <property name="version">0.1</property>
      <property name="mlt_service">frei0r.cairoblend</property>
      <property name="threads">0</property>
      <property name="disable">1</property>
    </transition>
    <transition id="transition2">
      <property name="a_track">0</property>
      <property name="b_track">2</property>
      <property name="mlt_service">mix</property>
      <property name="always_active">1</property>
      <property name="sum">1</property>
    </transition>
  </tractor>
</mlt>"#;

fn names(set: &BTreeSet<String>) -> Vec<&str> {
    set.iter().map(String::as_str).collect()
}

fn paths(p: &Project) -> Vec<String> {
    p.references
        .iter()
        .map(|r| r.path.display().to_string())
        .collect()
}

#[test]
fn kdenlive_project() {
    let p = parse_project(KDENLIVE, Path::new("/tmp/mltx/kdenlive/project.kdenlive")).unwrap();
    assert_eq!(p.length_frames, 135); // melt 7.12: 135
    assert_eq!((p.fps_num, p.fps_den, p.profile_explicit), (25, 1, true));
    assert!(p.has_audio);
    assert_eq!(p.root, Path::new("/tmp/mltx/kdenlive"));
    assert_eq!(
        paths(&p),
        [
            "/tmp/mltx/kdenlive/clip.mp4",
            "/tmp/mltx/kdenlive/music.wav",
            "/tmp/mltx/kdenlive/lumas/luma01.pgm"
        ]
    );
    assert_eq!(
        p.references[2].origin,
        r#"transition "transition0" property resource"#
    );
    // volume is disabled, so not needed
    assert_eq!(
        names(&p.services),
        [
            "avformat-novalidate",
            "brightness",
            "color",
            "luma",
            "mix",
            "panner",
            "qtblend"
        ]
    );
}

#[test]
fn kdenlive_length_comes_from_the_nested_tractors() {
    // With the black track cut to 25 frames melt 7.12 still rendered 135.
    let short = KDENLIVE.replace(
        r#"<producer id="black_track" in="00:00:00.000" out="00:00:05.360">"#,
        r#"<producer id="black_track" in="00:00:00.000" out="00:00:00.960">"#,
    );
    assert_ne!(short, KDENLIVE);
    let p = parse_project(&short, Path::new("/k/p.mlt")).unwrap();
    assert_eq!(p.length_frames, 135);
}

#[test]
fn shotcut_project() {
    let p = parse_project(SHOTCUT, Path::new("/tmp/mltx/shotcut/project.mlt")).unwrap();
    assert_eq!(p.length_frames, 136); // melt 7.12: 136
    assert_eq!((p.fps_num, p.fps_den), (30000, 1001));
    assert!(p.has_audio);
    assert_eq!(
        paths(&p),
        [
            "/tmp/mltx/shotcut/media/clip.mp4",
            "/tmp/mltx/shotcut/media/music.wav"
        ]
    );
    assert_eq!(
        p.references[0].origin,
        r#"chain "chain0" property resource"#
    );
    // frei0r.cairoblend is disabled, so not needed
    assert_eq!(
        names(&p.services),
        ["avformat-novalidate", "brightness", "color", "mix"]
    );
    let short = SHOTCUT.replace(
        r#"<entry producer="black" in="00:00:00.000" out="00:00:04.438"/>"#,
        r#"<entry producer="black" in="00:00:00.000" out="00:00:00.968"/>"#,
    );
    assert_ne!(short, SHOTCUT);
    // melt 7.12: still 136 with a 30-frame background
    assert_eq!(
        parse_project(&short, Path::new("/s/p.mlt"))
            .unwrap()
            .length_frames,
        136
    );
}

#[test]
fn kdenlive_project_checked_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("my project");
    std::fs::create_dir(&root).unwrap();
    std::fs::write(root.join("clip.mp4"), b"stand-in").unwrap();
    let xml = KDENLIVE.replace(
        r#"root="/tmp/mltx/kdenlive""#,
        &format!("root={:?}", root.display().to_string()),
    );
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
    let missing: Vec<_> = refusal
        .missing_files
        .iter()
        .map(|r| r.path.clone())
        .collect();
    assert_eq!(
        missing,
        [root.join("music.wav"), root.join("lumas/luma01.pgm")]
    );
    assert_eq!(refusal.missing_services, ["luma", "panner", "qtblend"]);
    let line = refusal.to_string();
    assert!(
        line.contains("music.wav (producer \"producer1\" property resource)"),
        "{line}"
    );
    assert!(
        line.ends_with("unknown services: luma, panner, qtblend"),
        "{line}"
    );
}
