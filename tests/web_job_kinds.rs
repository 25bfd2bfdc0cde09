//! The job page's settings say what kind of job it is and with which preset: a render whose output's extension
//! picked its preset, and a raw ffmpeg proxy job with its inputs and its arguments instead of a project.

mod common;

use common::projects;
use common::web::WebCluster;
use std::time::Duration;

/// The text of the table cell `<td id="ID">` on `page`.
fn cell<'a>(page: &'a str, id: &str) -> &'a str {
    let start = format!(r#"<td id="{id}">"#);
    let from = page.find(&start).unwrap_or_else(|| panic!("no {id} row: {page}")) + start.len();
    &page[from..from + page[from..].find("</td>").unwrap()]
}

#[test]
fn the_job_page_shows_a_render_s_and_an_ffmpeg_job_s_kind_and_preset() {
    let web = WebCluster::start(1, &[], &[]);
    let dir = web.cluster.dir.path().to_path_buf();
    let project = projects::color_and_tone(&dir, "short.mlt", 10);
    let render = web.cluster.submit(&project, &[]);
    let clip = dir.join("clip.mov");
    projects::lavfi_clip(&clip, "320x180", "25", 1);
    let proxy = dir.join("clip-proxy.mp4");
    let (clip_s, proxy_s) = (clip.to_str().unwrap(), proxy.to_str().unwrap());
    let args = ["job", "ffmpeg", "--input", clip_s, "--output", proxy_s, "--preset", "proxy-540p", "--json"];
    let ffmpeg = common::submitted(&web.cluster.cli(&args))[0];
    for id in [render, ffmpeg] {
        assert_eq!(web.cluster.wait_final(id, Duration::from_secs(120))["state"], "succeeded");
    }

    let session = web.session_cookie();
    let page = |id: u64| {
        let response = web.get(&format!("/jobs/{id}")).header("cookie", &session).send().unwrap();
        assert_eq!(response.status(), 200);
        response.text().unwrap()
    };
    let rendered = page(render);
    assert_eq!(cell(&rendered, "kind"), "render");
    assert_eq!(cell(&rendered, "preset"), "h264-mp4", "the .mp4 output picked it");
    assert_eq!(cell(&rendered, "project"), project.to_str().unwrap());
    assert!(!rendered.contains(r#"id="inputs""#), "a render has a project, not inputs");

    let transcoded = page(ffmpeg);
    assert_eq!(cell(&transcoded, "kind"), "ffmpeg");
    assert_eq!(cell(&transcoded, "preset"), "proxy-540p");
    assert_eq!(cell(&transcoded, "inputs"), format!("{}<br>", clip.display()));
    assert_eq!(cell(&transcoded, "output"), proxy.to_str().unwrap());
    assert!(cell(&transcoded, "ffmpeg-args").contains("libx264"), "{}", cell(&transcoded, "ffmpeg-args"));
    assert!(!transcoded.contains(r#"id="project""#), "an ffmpeg job has inputs, not a project");
}
