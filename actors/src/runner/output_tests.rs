//! The output rule and the partial files, on real folders, links and extended attributes (no melt needed).

use super::join;
use super::output_files::{self, Partial};
use super::output_policy::{self, OutputRules};
use distencode_wire::job::{JobId, JobSpec, Task, TaskInput, TaskKind};
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};

const JOB: JobId = JobId(7);

/// What the worker says of `output` for job 7 (its own files: `project`), with these rules.
fn check(rules: &OutputRules, output: &Path, overwrite: bool, project: &Path) -> Result<PathBuf, String> {
    let resolved = output_policy::check_here(rules, output)?;
    output_policy::check_target(Some(JOB), output, &resolved, overwrite, &[project.to_path_buf()])?;
    Ok(resolved)
}

fn folder() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = std::fs::canonicalize(dir.path()).unwrap();
    (dir, path)
}

#[test]
fn an_existing_file_is_replaced_only_with_overwrite_and_only_if_this_farm_rendered_it() {
    let (_dir, d) = folder();
    let (project, out) = (d.join("p.mlt"), d.join("out.mp4"));
    std::fs::write(&project, "<mlt/>").unwrap();
    let rules = OutputRules::default();
    assert_eq!(check(&rules, &out, false, &project), Ok(out.clone()), "a new file is fine");
    std::fs::write(&out, "someone's file").unwrap();
    let shown = out.display();
    assert_eq!(
        check(&rules, &out, false, &project).unwrap_err(),
        format!("the output {shown} already exists: submit with --overwrite to replace a file this farm rendered")
    );
    assert_eq!(
        check(&rules, &out, true, &project).unwrap_err(),
        format!(
            "the output {shown} was not rendered by this farm (it has no user.distencode.job mark): refused even \
             with --overwrite"
        )
    );
    output_files::mark(&out, JobId(3)).unwrap();
    assert_eq!(check(&rules, &out, true, &project), Ok(out.clone()), "another job's render, with --overwrite");
    assert!(check(&rules, &out, false, &project).unwrap_err().contains("already exists"), "not without it");
    output_files::mark(&out, JOB).unwrap();
    assert_eq!(check(&rules, &out, false, &project), Ok(out.clone()), "the job's own earlier render");
}

#[test]
fn a_link_at_the_output_is_refused_even_with_overwrite_and_its_target_untouched() {
    let (_dir, d) = folder();
    let (project, victim, out) = (d.join("p.mlt"), d.join("passwd"), d.join("out.mp4"));
    std::fs::write(&victim, "root:x:0:0").unwrap();
    output_files::mark(&victim, JOB).unwrap();
    symlink(&victim, &out).unwrap();
    for overwrite in [false, true] {
        assert_eq!(
            check(&OutputRules::default(), &out, overwrite, &project).unwrap_err(),
            format!("the output {} is a symbolic link: a render never writes through a link", out.display())
        );
    }
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "root:x:0:0");
}

#[test]
fn paths_are_compared_after_resolving_links() {
    let (_dir, d) = folder();
    let (own, renders) = (d.join("certs"), d.join("renders"));
    std::fs::create_dir_all(&own).unwrap();
    std::fs::create_dir_all(&renders).unwrap();
    symlink(&own, d.join("innocent")).unwrap();
    symlink(&renders, d.join("shared")).unwrap();
    let project = renders.join("p.mlt");
    std::fs::write(&project, "<mlt/>").unwrap();
    let rules = OutputRules::new(&[d.join("shared")], std::slice::from_ref(&own));
    // Into the worker's own folder through a link.
    let sneaky = d.join("innocent").join("worker.key");
    assert_eq!(
        output_policy::check_here(&OutputRules::new(&[], std::slice::from_ref(&own)), &sneaky).unwrap_err(),
        format!("the output {} is inside this worker's own folder {}", sneaky.display(), own.display())
    );
    // Under a root named through a link: allowed, and resolved.
    assert_eq!(check(&rules, &d.join("shared/a.mp4"), false, &project), Ok(renders.join("a.mp4")));
    // Outside every root.
    let outside = d.join("elsewhere.mp4");
    assert_eq!(
        check(&rules, &outside, false, &project).unwrap_err(),
        format!("the output {} is outside this worker's output roots ({})", outside.display(), renders.display())
    );
    // The project itself, spelt through the link.
    let same = d.join("shared/p.mlt");
    assert_eq!(
        check(&rules, &same, true, &project).unwrap_err(),
        format!("the output {} is a file of the job itself ({})", same.display(), project.display())
    );
}

#[test]
fn system_folders_and_names_that_are_no_file_are_refused() {
    let etc = Path::new("/etc/distencode-test.mp4");
    let resolved = output_policy::resolve(etc).unwrap();
    assert_eq!(
        output_policy::check_target(Some(JOB), etc, &resolved, true, &[]).unwrap_err(),
        "the output /etc/distencode-test.mp4 is inside the system folder /etc"
    );
    assert_eq!(output_policy::resolve(Path::new("/tmp/..")).unwrap_err(), "the output /tmp/.. names no file");
    let missing = Path::new("/nonexistent-distencode/a.mp4");
    assert!(output_policy::resolve(missing).unwrap_err().starts_with("the output folder /nonexistent-distencode "));
}

#[test]
fn partial_files_live_in_a_private_folder_and_links_at_the_old_names_are_not_followed() {
    let (_dir, d) = folder();
    let (victim, out) = (d.join("victim"), d.join("out.mp4"));
    std::fs::write(&victim, "keep me").unwrap();
    // The names earlier releases used, planted as links to the victim.
    for old in [".out.mp4.job7-1.partial.mp4", ".out.mp4.job7-1.partial.log"] {
        symlink(&victim, d.join(old)).unwrap();
    }
    let (partial, mut log) = Partial::create(&out, JOB, 1).unwrap();
    let name = partial.folder.file_name().unwrap().to_string_lossy().into_owned();
    assert!(name.starts_with(".out.mp4.job7-1.partial.") && name.len() > ".out.mp4.job7-1.partial.".len(), "{name}");
    let mode = std::fs::metadata(&partial.folder).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o700, "only the worker's user may put anything in it");
    std::io::Write::write_all(&mut log, b"melt says hello\n").unwrap();
    std::fs::write(&partial.media, "frames").unwrap();
    partial.put_media_in_place(JOB, &out, false, 1).unwrap();
    partial.put_log_in_place(JOB, &d.join("out.mp4.log"));
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "frames");
    assert_eq!(output_files::mark_of(&out), Some(7));
    assert_eq!(std::fs::read_to_string(d.join("out.mp4.log")).unwrap(), "melt says hello\n");
    assert!(!partial.folder.exists(), "the private folder is gone");
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep me");
    // A later attempt clears what earlier ones left, links removed and never followed.
    output_files::remove_earlier_partials(&out, JOB, 2);
    assert!(!d.join(".out.mp4.job7-1.partial.mp4").exists());
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep me");
}

#[test]
fn a_partial_file_swapped_for_a_link_is_refused_and_the_links_target_untouched() {
    let (_dir, d) = folder();
    let (victim, out) = (d.join("victim"), d.join("out.mp4"));
    std::fs::write(&victim, "keep me").unwrap();
    let (partial, _log) = Partial::create(&out, JOB, 1).unwrap();
    std::fs::remove_file(&partial.media).unwrap();
    symlink(&victim, &partial.media).unwrap();
    assert_eq!(
        partial.put_media_in_place(JOB, &out, false, 1).unwrap_err(),
        format!("the partial file {} was replaced while rendering: refused", partial.media.display())
    );
    partial.remove();
    assert!(!out.exists());
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep me");
    assert!(output_files::mark_of(&victim).is_none(), "not even marked");
}

#[test]
fn a_file_that_appears_at_the_output_while_rendering_stays() {
    let (_dir, d) = folder();
    let (victim, out) = (d.join("victim"), d.join("out.mp4"));
    std::fs::write(&victim, "keep me").unwrap();
    for (overwrite, planted) in [(false, "plain"), (true, "link")] {
        let (partial, _log) = Partial::create(&out, JOB, 1).unwrap();
        std::fs::write(&partial.media, "frames").unwrap();
        match planted {
            "plain" => std::fs::write(&out, "someone's").unwrap(),
            _ => symlink(&victim, &out).unwrap(),
        }
        assert_eq!(
            partial.put_media_in_place(JOB, &out, overwrite, 1).unwrap_err(),
            format!(
                "{} appeared while rendering: it is left alone (submit with --overwrite to replace it)",
                out.display()
            )
        );
        partial.remove();
        std::fs::remove_file(&out).unwrap();
    }
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep me");
}

#[test]
fn a_log_replaces_only_an_earlier_log_of_this_farm() {
    let (_dir, d) = folder();
    let (out, log) = (d.join("out.mp4"), d.join("out.mp4.log"));
    std::fs::write(&log, "notes of a person").unwrap();
    let (partial, mut file) = Partial::create(&out, JOB, 1).unwrap();
    std::io::Write::write_all(&mut file, b"first\n").unwrap();
    partial.put_log_in_place(JOB, &log);
    assert_eq!(std::fs::read_to_string(&log).unwrap(), "notes of a person", "a file of anyone else stays");
    std::fs::remove_file(&log).unwrap();
    for text in ["first\n", "second\n"] {
        let (partial, mut file) = Partial::create(&out, JOB, 1).unwrap();
        std::io::Write::write_all(&mut file, text.as_bytes()).unwrap();
        partial.put_log_in_place(JOB, &log);
        assert_eq!(std::fs::read_to_string(&log).unwrap(), text);
    }
}

/// A task of split job 4 of `kind`, its inputs `inputs`.
fn task_spec(kind: TaskKind, inputs: &[&Path]) -> JobSpec {
    let inputs = inputs.iter().map(|p| TaskInput { path: p.display().to_string(), frames: 25 }).collect();
    let task = Task { parent: JobId(4), kind, first: 0, last: 49, fps_num: 25, fps_den: 1, inputs };
    JobSpec { task: Some(Box::new(task)), ..JobSpec::new("/r/p.mlt", "/r/out.mp4") }
}

#[test]
fn a_joins_file_is_marked_as_its_split_jobs_and_may_replace_that_jobs_earlier_render() {
    assert_eq!(output_files::owner(JobId(9), &task_spec(TaskKind::Join, &[])), JobId(4));
    assert_eq!(output_files::owner(JobId(9), &task_spec(TaskKind::Chunk, &[])), JobId(9));
    let (_dir, d) = folder();
    let out = d.join("out.mp4");
    std::fs::write(&out, "job 4's earlier render").unwrap();
    output_files::mark(&out, JobId(4)).unwrap();
    let owner = output_files::owner(JobId(9), &task_spec(TaskKind::Join, &[]));
    assert_eq!(output_policy::check_target(Some(owner), &out, &out, false, &[]), Ok(()));
    let shown = out.display();
    assert_eq!(
        output_policy::check_target(Some(JobId(9)), &out, &out, false, &[]).unwrap_err(),
        format!("the output {shown} already exists: submit with --overwrite to replace a file this farm rendered")
    );
}

#[test]
fn a_join_reads_only_regular_files_this_farm_marked() {
    let (_dir, d) = folder();
    let (chunk, unmarked, secret, link) = (d.join("c0.mp4"), d.join("c1.mp4"), d.join("key.pem"), d.join("c2.mp4"));
    for file in [&chunk, &unmarked, &secret] {
        std::fs::write(file, "bytes").unwrap();
    }
    output_files::mark(&chunk, JobId(8)).unwrap();
    output_files::mark(&secret, JobId(8)).unwrap();
    symlink(&secret, &link).unwrap();
    assert_eq!(join::check_input(&chunk.display().to_string()), Ok(()));
    assert_eq!(
        join::check_input(&unmarked.display().to_string()).unwrap_err(),
        format!(
            "the join's input {} was not rendered by this farm (it has no user.distencode.job mark)",
            unmarked.display()
        )
    );
    assert_eq!(
        join::check_input(&link.display().to_string()).unwrap_err(),
        format!("the join's input {} is not a regular file", link.display())
    );
    let gone = d.join("gone.mp4");
    assert_eq!(
        join::check_input(&gone.display().to_string()).unwrap_err(),
        format!("the join cannot see {} (shared storage?)", gone.display())
    );
}

#[tokio::test]
async fn a_cleanup_removes_the_farms_chunk_files_and_nothing_else() {
    let (_dir, d) = folder();
    let (chunk, users, target, link) = (d.join("c0.mp4"), d.join("thesis.mp4"), d.join("keep.mp4"), d.join("c1.mp4"));
    for file in [&chunk, &users, &target] {
        std::fs::write(file, "bytes").unwrap();
    }
    output_files::mark(&chunk, JobId(8)).unwrap();
    output_files::mark(&target, JobId(8)).unwrap();
    symlink(&target, &link).unwrap();
    let spec = task_spec(TaskKind::Cleanup, &[&chunk, &users, &link]);
    join::remove_inputs(spec.task.as_deref().unwrap()).await;
    assert!(!chunk.exists(), "the farm's chunk file is removed");
    assert_eq!(std::fs::read_to_string(&users).unwrap(), "bytes", "a file the farm did not mark stays");
    assert!(link.symlink_metadata().is_ok() && target.exists(), "a link stays, and so does its target");
}
