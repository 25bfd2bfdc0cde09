//! Outputs with real processes: links planted at the output or at the partial files' old names, a second live job
//! with the same output, existing files with and without `--overwrite`. Two tiny renders.

mod common;

use common::*;
use std::os::unix::fs::symlink;
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(60);

#[test]
fn planted_links_are_never_followed_and_existing_files_are_replaced_only_when_this_farm_rendered_them() {
    // No worker yet: the jobs wait in the queue while the links are planted.
    let mut cluster = Cluster::start(0);
    let dir = std::fs::canonicalize(cluster.dir.path()).unwrap();
    let victim = dir.join("victim.txt");
    std::fs::write(&victim, "secret").unwrap();
    for old in [".a.mp4.job1-1.partial.mp4", ".a.mp4.job1-1.partial.log"] {
        symlink(&victim, dir.join(old)).unwrap();
    }
    let a = projects::tiny(&dir, "a.mlt", 25);
    let b = projects::tiny(&dir, "b.mlt", 25);
    let first = cluster.submit(&a, &[]);
    let second = cluster.submit(&b, &[]);
    let (a_out, b_out) = (dir.join("a.mp4"), dir.join("b.mp4"));
    symlink(&victim, &b_out).unwrap();
    // A second live job with the first one's output is refused at submit, naming the first.
    let refused = cluster.cli(&["job", "submit", b.to_str().unwrap(), "--output", a_out.to_str().unwrap()]);
    assert!(!refused.status.success());
    assert_eq!(
        stderr(&refused).trim(),
        format!("distencode: the output {} is already the output of job {first} (queued)", a_out.display())
    );

    cluster.issue("worker", "w1");
    cluster.start_worker("w1");
    let job = cluster.wait_final(first, LIMIT);
    assert_eq!(job["state"], "succeeded", "{job}");
    assert_eq!(probe(&a_out).video_frames, 25);
    let job = cluster.wait_final(second, LIMIT);
    assert_eq!(job["state"], "failed", "{job}");
    let expected = format!("the output {} is a symbolic link: a render never writes through a link", b_out.display());
    assert!(job["error"].as_str().unwrap().contains(&expected), "{job}");
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "secret", "the links' target is untouched");

    // a.mp4 is there now: refused without --overwrite, replaced with it (this farm rendered it).
    let again = cluster.cli(&["job", "submit", a.to_str().unwrap()]);
    assert!(!again.status.success());
    assert_eq!(
        stderr(&again).trim(),
        format!(
            "distencode: the output {} already exists: submit with --overwrite to replace a file this farm rendered",
            a_out.display()
        )
    );
    let replaced = cluster.submit(&a, &["--overwrite"]);
    let job = cluster.wait_final(replaced, LIMIT);
    assert_eq!(job["state"], "succeeded", "{job}");
    // A file this farm did not render is refused even with --overwrite.
    let plain = dir.join("plain.mp4");
    std::fs::write(&plain, "not a render").unwrap();
    let refused =
        cluster.cli(&["job", "submit", a.to_str().unwrap(), "--output", plain.to_str().unwrap(), "--overwrite"]);
    assert!(!refused.status.success());
    assert_eq!(
        stderr(&refused).trim(),
        format!(
            "distencode: the output {} was not rendered by this farm (it has no user.distencode.job mark): refused even \
             with --overwrite",
            plain.display()
        )
    );
    assert_eq!(std::fs::read_to_string(&plain).unwrap(), "not a render");
}
