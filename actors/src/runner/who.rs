//! Who this process runs as, by name: a worker that cannot write an output folder says which user and groups were
//! refused, so the admin knows whom to give the folder to (the editor's folder is often writable by the editor
//! only, and the worker's service user is someone else).

/// `user distencode (uid 998), groups distencode, render`, names read from `/etc/passwd` and `/etc/group`.
pub fn user_and_groups() -> String {
    let uid = rustix::process::getuid().as_raw();
    let gid = rustix::process::getgid().as_raw();
    let mut gids = vec![gid];
    gids.extend(rustix::process::getgroups().unwrap_or_default().into_iter().map(|g| g.as_raw()));
    let mut seen = std::collections::BTreeSet::new();
    gids.retain(|g| seen.insert(*g));
    let user = name_in("/etc/passwd", uid).unwrap_or_else(|| uid.to_string());
    let groups: Vec<String> = gids.iter().map(|g| name_in("/etc/group", *g).unwrap_or_else(|| g.to_string())).collect();
    format!("user {user} (uid {uid}), groups {}", groups.join(", "))
}

/// The name of `id` in an `/etc/passwd`- or `/etc/group`-style file (`name:x:id:...`).
pub fn name_in(file: &str, id: u32) -> Option<String> {
    let text = std::fs::read_to_string(file).ok()?;
    text.lines().find_map(|line| {
        let mut fields = line.split(':');
        let name = fields.next()?;
        (fields.nth(1)?.parse::<u32>().ok()? == id).then(|| name.to_string())
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn names_this_process_user_and_groups_from_etc() {
        let uid = rustix::process::getuid().as_raw();
        let who = super::user_and_groups();
        let user = super::name_in("/etc/passwd", uid).expect("this test's user is in /etc/passwd");
        assert!(who.starts_with(&format!("user {user} (uid {uid}), groups ")), "{who}");
        let gid = rustix::process::getgid().as_raw();
        let group = super::name_in("/etc/group", gid).expect("its group is in /etc/group");
        assert!(who.contains(&format!("groups {group}")), "{who}");
    }
}
