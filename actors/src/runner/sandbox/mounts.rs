//! Other paths to a secret folder: a bind mount of it (or of a folder above it), or a second mount of its file
//! system, shows the same files under another path. Landlock judges a file by the path it was reached through, so
//! each such path is a secret too. Read from `/proc/self/mountinfo`: melt runs in the worker's mount namespace.

use std::path::{Path, PathBuf};

/// One line of mountinfo: which file system (`major:minor`), which of its folders (`root`), mounted where.
#[derive(Debug, Clone, PartialEq)]
pub struct Mount {
    pub device: String,
    pub root: PathBuf,
    pub point: PathBuf,
}

/// The mounts of a mountinfo text, in its order (a later mount over the same point hides the earlier one).
pub fn parse(mountinfo: &str) -> Vec<Mount> {
    mountinfo
        .lines()
        .filter_map(|line| {
            let mut fields = line.split(' ');
            let (_, _, device, root, point) =
                (fields.next()?, fields.next()?, fields.next()?, fields.next()?, fields.next()?);
            Some(Mount { device: device.to_string(), root: unescape(root).into(), point: unescape(point).into() })
        })
        .collect()
}

/// Every other path through which the files of `secret` (a resolved path) can be reached under `mounts`.
pub fn aliases(secret: &Path, mounts: &[Mount]) -> Vec<PathBuf> {
    let Some((index, holder)) = mounts
        .iter()
        .enumerate()
        .filter(|(_, m)| secret.starts_with(&m.point))
        .max_by_key(|(i, m)| (m.point.components().count(), *i))
    else {
        return Vec::new();
    };
    let Ok(below_point) = secret.strip_prefix(&holder.point) else {
        return Vec::new();
    };
    // Where the secret is inside its file system.
    let inside = holder.root.join(below_point);
    mounts
        .iter()
        .enumerate()
        .filter(|(i, m)| *i != index && m.device == holder.device)
        .filter_map(|(_, m)| {
            let rest = inside.strip_prefix(&m.root).ok()?;
            Some(if rest.as_os_str().is_empty() { m.point.clone() } else { m.point.join(rest) })
        })
        .filter(|alias| alias != secret)
        .collect()
}

/// mountinfo's escapes (`\040` for a space, `\011`, `\012`, `\134`) undone.
fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let octal =
            bytes.get(i + 1..i + 4).filter(|d| bytes[i] == b'\\' && d.iter().all(|b| (b'0'..=b'7').contains(b)));
        match octal {
            Some(digits) => {
                out.push(digits.iter().fold(0u8, |n, d| n.wrapping_mul(8).wrapping_add(d - b'0')));
                i += 4;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    const MOUNTINFO: &str = "\
27 1 254:1 / / rw,relatime - ext4 /dev/vda rw
40 27 254:1 /etc/distencode /srv/renders/stash rw - ext4 /dev/vda rw
41 27 254:1 /etc/distencode/certs /tmp/keys rw - ext4 /dev/vda rw
42 27 254:1 /srv /mnt/srv rw - ext4 /dev/vda rw
43 27 254:1 / /mnt/whole\\040disk rw - ext4 /dev/vda rw
44 27 0:50 / /etc/distencode/web rw - tmpfs tmpfs rw
45 27 254:2 /etc/distencode /mnt/other rw - ext4 /dev/vdb rw
";

    #[test]
    fn bind_mounts_of_the_secret_or_above_it_and_second_mounts_of_its_disk_are_other_paths_to_it() {
        let mounts = parse(MOUNTINFO);
        assert_eq!(mounts[4].point, PathBuf::from("/mnt/whole disk"), "escapes are undone");
        let found = aliases(Path::new("/etc/distencode/certs"), &mounts);
        assert_eq!(
            found,
            [
                PathBuf::from("/srv/renders/stash/certs"),
                PathBuf::from("/tmp/keys"),
                PathBuf::from("/mnt/whole disk/etc/distencode/certs"),
            ],
            "not /mnt/srv (another folder of the disk) nor /mnt/other (another disk)"
        );
    }

    #[test]
    fn a_secret_on_a_mount_of_its_own_has_aliases_only_of_that_file_system() {
        let mounts = parse(MOUNTINFO);
        assert!(aliases(Path::new("/etc/distencode/web/key.pem"), &mounts).is_empty());
        assert!(aliases(Path::new("/etc/distencode/certs"), &[]).is_empty());
    }
}
