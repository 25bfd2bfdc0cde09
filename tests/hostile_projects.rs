//! The hostile-project corpus against real processes: a client that may submit hands the farm projects and
//! settings made to crash workers or to make melt write or read where it should not. Each is refused with its one
//! line (by the client, and by the coordinator or the worker when a client skips its own checks), and no process
//! dies. The parsing bombs themselves are in `mlt/src/hostile_tests.rs`; here they travel through the farm.

mod common;

use common::projects::{color_and_tone, write, PROFILE};
use common::*;
use distencode_sim::{ScriptedClient, Target};
use distencode_wire::job::{Encoding, JobSpec};
use std::path::Path;
use std::time::Duration;

/// `levels` `<multitrack>` nested in a `<tractor>`: it used to overflow the stack of every worker that checked it.
fn depth_bomb(dir: &Path, levels: usize) -> std::path::PathBuf {
    let xml = format!(
        r#"<mlt>{PROFILE}<producer id="red" out="24" mlt_service="color" resource="red"/><tractor id="t">{}<track producer="red"/>{}</tractor></mlt>"#,
        "<multitrack>".repeat(levels),
        "</multitrack>".repeat(levels)
    );
    write(dir, "bomb.mlt", &xml)
}

/// A spec for `project` as a client would send it, without the client's own checks.
fn raw_spec(project: &Path, extra: &[(&str, &str)]) -> JobSpec {
    JobSpec {
        encoding: Encoding {
            extra: extra.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            ..Encoding::default()
        },
        services: vec!["color".into()],
        ..JobSpec::new(project.display().to_string(), project.with_extension("mp4").display().to_string())
    }
}

/// Submits `spec` as alice, straight over the protocol; the coordinator's answer (a job id, or its refusal).
fn submit_raw(cluster: &Cluster, spec: JobSpec) -> Result<u64, String> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let target = Target { addr: cluster.addr.clone(), certs: cluster.certs.clone() };
        let mut client = ScriptedClient::connect(&target, "alice").await.map_err(|e| e.to_string())?;
        client.submit(spec).await.map(|record| record.id.0).map_err(|e| e.to_string())
    })
}

/// The command failed with one line on stderr containing `needle`.
fn refused(output: &std::process::Output, needle: &str) {
    assert!(!output.status.success(), "expected a refusal, got: {}", stdout(output));
    let err = stderr(output);
    assert_eq!(err.trim_end().lines().count(), 1, "one line expected, got:\n{err}");
    assert!(err.contains(needle), "{needle:?} not in: {err}");
}

#[test]
fn hostile_projects_are_refused_in_one_line_and_no_process_dies() {
    let _serial = serial();
    let cluster = Cluster::start(1);
    let dir = cluster.dir.path().join("hostile");
    std::fs::create_dir_all(&dir).unwrap();
    let worker_pid = cluster.worker_pid("w1");

    // A depth bomb: refused by the client; sent anyway, refused by the worker, which lives on.
    let bomb = depth_bomb(&dir, 20_000);
    let depth_line = "elements are nested more than 255 deep (at line 1); melt refuses such a project too";
    refused(&cluster.cli(&["job", "submit", bomb.to_str().unwrap()]), depth_line);
    let id = submit_raw(&cluster, raw_spec(&bomb, &[])).expect("the coordinator does not read projects");
    let job = cluster.wait_final(id, Duration::from_secs(60));
    assert_eq!(job["state"], "failed", "{job}");
    assert!(job["error"].as_str().unwrap().contains(depth_line), "{job}");
    assert!(alive(worker_pid), "the worker died");
    cluster.wait_for_workers(1);

    // Consumer properties that name a file: refused by the client, and by the coordinator when sent anyway.
    let project = color_and_tone(&dir, "fine.mlt", 25);
    let victim = dir.join("victim.txt");
    std::fs::write(&victim, "keep me").unwrap();
    let target = format!("target={}", victim.display());
    let line =
        "refused: the consumer property \"target\" names a file or a destination; the farm writes the output itself";
    refused(&cluster.cli(&["job", "submit", project.to_str().unwrap(), "--consumer-arg", &target]), line);
    let sent = submit_raw(&cluster, raw_spec(&project, &[("target", victim.to_str().unwrap())]));
    assert!(sent.as_ref().unwrap_err().contains(line), "{sent:?}");
    let pass_log = submit_raw(&cluster, raw_spec(&project, &[("passlogfile", victim.to_str().unwrap())]));
    assert!(pass_log.unwrap_err().contains("\"passlogfile\" names a file"));
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep me");

    // A project that would render the worker's own TLS key into pixels: refused by the worker before melt runs,
    // naming the folder, whether or not the client checked it first.
    let key = cluster.certs.join("w1.key");
    let reads_key = write(
        &dir,
        "key.mlt",
        &format!(
            r#"<mlt>{}<producer id="k" in="0" out="24"><property name="resource">{}</property></producer></mlt>"#,
            PROFILE,
            key.display()
        ),
    );
    let id = submit_raw(&cluster, JobSpec { services: Vec::new(), ..raw_spec(&reads_key, &[]) }).expect("sent");
    let job = cluster.wait_final(id, Duration::from_secs(60));
    assert_eq!(job["state"], "failed", "{job}");
    let error = job["error"].as_str().unwrap();
    assert!(error.contains(&format!("{} is a folder no job may read", cluster.certs.display())), "{error}");
    assert!(job["attempts"].as_array().unwrap().iter().all(|a| a["started_at"].is_null()), "melt never ran: {job}");
    assert!(!reads_key.with_extension("mp4").exists(), "no output was made");
    // The same key named inside a lavfi graph, as a movie source.
    let graph = write(
        &dir,
        "graph.mlt",
        &format!(
            r#"<mlt>{PROFILE}<producer id="g" in="0" out="24"><property name="resource">lavfi:movie={},scale=320:240</property></producer></mlt>"#,
            key.display()
        ),
    );
    let id = submit_raw(&cluster, JobSpec { services: Vec::new(), ..raw_spec(&graph, &[]) }).expect("sent");
    let job = cluster.wait_final(id, Duration::from_secs(60));
    let error = job["error"].as_str().unwrap_or_default();
    assert!(error.contains(&format!("{} is a folder no job may read", cluster.certs.display())), "{job}");
    assert!(error.contains("(a lavfi movie source)"), "{error}");

    // A named pipe (nobody writes to it) as a project and as a project's media, and a device: refused in one line
    // at once, nothing waits for ever.
    let pipe = dir.join("pipe.mov");
    assert!(std::process::Command::new("mkfifo").arg(&pipe).status().unwrap().success());
    refused(
        &cluster.cli(&["job", "submit", pipe.to_str().unwrap()]),
        "is not a regular file (a named pipe or a device?)",
    );
    for media in [pipe.to_str().unwrap(), "/dev/zero"] {
        let reads = write(
            &dir,
            "device.mlt",
            &format!(
                r#"<mlt>{PROFILE}<producer id="p" in="0" out="24"><property name="resource">{media}</property></producer></mlt>"#
            ),
        );
        let out = cluster.cli(&["job", "submit", reads.to_str().unwrap()]);
        assert!(!out.status.success(), "{media}: {}", stdout(&out));
        let err = stderr(&out);
        assert_eq!(err.trim_end().lines().count(), 1, "{media}: one line expected, got:\n{err}");
        assert!(err.contains(media), "{media} not named: {err}");
    }

    // Nothing was harmed: a fair project still renders on the same worker.
    let id = cluster.submit(&project, &["--consumer-arg", "crf=30"]);
    let job = cluster.wait_final(id, Duration::from_secs(120));
    assert_eq!(job["state"], "succeeded", "{job}");
    assert!(alive(worker_pid), "the worker died");
}

/// Whether process `pid` runs (a process that died stays a zombie until the test reaps it).
fn alive(pid: u32) -> bool {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // The state follows the command's closing parenthesis.
    stat.rsplit_once(") ").is_some_and(|(_, rest)| !rest.starts_with(['Z', 'X']))
}

#[test]
fn links_planted_at_a_split_s_predictable_file_names_are_never_written_through() {
    let _serial = serial();
    let cluster = Cluster::start(2);
    let dir = cluster.dir.path().join("planted");
    std::fs::create_dir_all(&dir).unwrap();
    let output = dir.join("out.mp4");
    // The first job's chunk and audio files would be these: each a link to a file someone cares about.
    let planted: Vec<(std::path::PathBuf, std::path::PathBuf)> =
        [".out.mp4.job1.chunk0.mp4", ".out.mp4.job1.chunk1.mp4", ".out.mp4.job1.audio.wav"]
            .iter()
            .enumerate()
            .map(|(i, name)| {
                let victim = dir.join(format!("victim{i}.txt"));
                std::fs::write(&victim, "keep me").unwrap();
                std::os::unix::fs::symlink(&victim, dir.join(name)).unwrap();
                (dir.join(name), victim)
            })
            .collect();
    let project = common::projects::tiny(&dir, "long.mlt", 504);
    let id = cluster.submit(&project, &["--output", output.to_str().unwrap(), "--split", "2"]);
    assert_eq!(id, 1, "the names planted were this job's");
    let job = cluster.wait_final(id, Duration::from_secs(120));
    assert_eq!(job["state"], "failed", "{job}");
    let error = job["error"].as_str().unwrap();
    assert!(error.contains("is a symbolic link: a render never writes through a link"), "{error}");
    for (link, victim) in &planted {
        assert_eq!(std::fs::read_to_string(victim).unwrap(), "keep me", "{} was written through", link.display());
        assert!(link.symlink_metadata().unwrap().file_type().is_symlink(), "{} is left as it was", link.display());
    }
    assert!(!output.exists(), "no output was made");
}
