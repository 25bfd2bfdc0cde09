//! A warning for the editor whose output folder only they can write: workers run as their own service user, so a
//! folder made with umask 022 passes the client's own check and is then refused by every worker. The recipe (a
//! shared group, the worker unit's `SupplementaryGroups=`, a setgid folder) is in docs/deploy.md.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

/// `Some(warning)` when `folder` is writable for its owner but for neither its group nor others.
pub fn warning(folder: &Path) -> Option<String> {
    let meta = std::fs::metadata(folder).ok()?;
    let mode = meta.permissions().mode();
    if mode & 0o022 != 0 {
        return None;
    }
    let owner =
        distencode_actors::runner::who::name_in("/etc/passwd", meta.uid()).unwrap_or_else(|| meta.uid().to_string());
    Some(format!(
        "warning: output folder {} is writable by {owner} only (mode {:04o}): workers run as their own user and will \
         refuse it; give it to the farm's shared group and make it group-writable (chgrp render DIR && chmod 2775 \
         DIR, see docs/deploy.md)",
        folder.display(),
        mode & 0o7777
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_folder_only_its_owner_can_write_is_warned_about() {
        let dir = tempfile::tempdir().unwrap();
        let set = |mode| std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(mode)).unwrap();
        set(0o755);
        let text = warning(dir.path()).expect("0755 is writable by its owner only");
        assert!(text.starts_with(&format!("warning: output folder {} is writable by ", dir.path().display())));
        assert!(text.contains(" only (mode 0755): workers run as their own user"), "{text}");
        set(0o2775);
        assert_eq!(warning(dir.path()), None);
        set(0o777);
        assert_eq!(warning(dir.path()), None);
        assert_eq!(warning(Path::new("/nonexistent/folder")), None);
    }
}
