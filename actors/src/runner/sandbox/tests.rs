use super::*;
use std::process::Stdio;

/// A tree with a secret folder two levels down, its siblings, a file beside it and a link into it.
fn tree() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let etc = dir.path().join("etc");
    let secret = etc.join("distencode/certs");
    std::fs::create_dir_all(&secret).unwrap();
    std::fs::create_dir_all(etc.join("fonts")).unwrap();
    std::fs::write(secret.join("render1.key"), "KEY").unwrap();
    std::fs::write(etc.join("distencode/worker.toml"), "name = \"render1\"").unwrap();
    std::fs::write(etc.join("fonts/fonts.conf"), "<fontconfig/>").unwrap();
    std::os::unix::fs::symlink(secret.join("render1.key"), etc.join("key-link")).unwrap();
    (dir, std::fs::canonicalize(&secret).unwrap())
}

#[test]
fn everything_is_readable_but_the_secrets_and_the_way_to_them_is_opened_level_by_level() {
    let (dir, secret) = tree();
    let allowed = readable(std::slice::from_ref(&secret));
    let root = std::fs::canonicalize(dir.path()).unwrap();
    let has = |p: &Path| allowed.iter().any(|(a, _)| a == p);
    assert!(has(&root.join("etc/fonts")), "a sibling folder of the way is allowed whole");
    assert!(has(&root.join("etc/distencode/worker.toml")), "so is a file beside the secret");
    assert!(!allowed.iter().any(|(a, _)| a.starts_with(&secret)), "nothing beneath the secret");
    assert!(!has(&root.join("etc/key-link")), "links are left to their targets' rules");
    assert!(!allowed.iter().any(|(a, _)| secret.starts_with(a)), "no parent of the secret is allowed whole");
    assert!(has(Path::new("/usr")), "the rest of the system is readable");
}

#[test]
fn the_work_dir_is_no_secret_and_missing_folders_are_left_out() {
    let (dir, secret) = tree();
    let work = dir.path().join("work");
    std::fs::create_dir(&work).unwrap();
    let forbidden = [secret.clone(), work.clone(), dir.path().join("gone")];
    assert_eq!(secrets(&forbidden, &work), vec![secret]);
}

#[tokio::test]
async fn a_confined_child_cannot_read_the_secret_even_through_a_link_and_reads_the_rest() {
    if let Err(reason) = status() {
        eprintln!("skipped: {reason}");
        return;
    }
    let (dir, secret) = tree();
    let read = |file: PathBuf| {
        let secret = secret.clone();
        async move {
            let mut command = Command::new("cat");
            command.arg(&file).stdout(Stdio::piped()).stderr(Stdio::piped());
            confine(&mut command, &[secret]).unwrap();
            command.output().await.unwrap()
        }
    };
    let key = read(secret.join("render1.key")).await;
    assert!(!key.status.success(), "the key was read: {}", String::from_utf8_lossy(&key.stdout));
    assert!(String::from_utf8_lossy(&key.stderr).contains("Permission denied"), "{key:?}");
    let linked = read(dir.path().join("etc/key-link")).await;
    assert!(!linked.status.success(), "the key was read through a link");
    let beside = read(dir.path().join("etc/distencode/worker.toml")).await;
    assert_eq!(String::from_utf8_lossy(&beside.stdout), "name = \"render1\"", "{beside:?}");
    let system = read(PathBuf::from("/etc/hostname")).await;
    assert!(system.status.success() || !Path::new("/etc/hostname").exists(), "{system:?}");
}
