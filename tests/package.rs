//! The Debian package scripts/package makes, as an admin or Debian's own checker would look at it: what it holds
//! (`dpkg-deb --contents`), what it depends on and keeps as conffiles (`dpkg-deb --field`, its control files), and
//! lintian's verdict. `tests/deploy_guide.rs` installs it. Built by `scripts/package --debug`, which scripts/test
//! runs first; without it the test says why and is skipped (under CI it fails instead).

mod common;

use common::package::{package_or_skip, skip};
use common::{stderr, stdout};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The package of this build, or `None` after saying why (dpkg-deb must be there too).
fn package(test: &str) -> Option<PathBuf> {
    if Command::new("dpkg-deb").arg("--version").output().is_err() {
        skip(test, "there is no dpkg-deb");
        return None;
    }
    package_or_skip(test)
}

fn dpkg_deb(args: &[&str], package: &Path) -> String {
    let output = Command::new("dpkg-deb").args(args).arg(package).output().expect("dpkg-deb");
    assert!(output.status.success(), "dpkg-deb {args:?}: {}", stderr(&output));
    stdout(&output)
}

#[test]
fn the_package_holds_the_binary_units_settings_docs_man_pages_and_completions() {
    let Some(package) = package("the_package_holds_the_binary_units_settings_docs_man_pages_and_completions") else {
        return;
    };
    let contents = dpkg_deb(&["--contents"], &package);
    let has = |path: &str| contents.lines().find(|l| l.ends_with(&format!(" ./{path}")));
    for path in [
        "usr/bin/distencode",
        "lib/systemd/system/distencode-coordinator.service",
        "lib/systemd/system/distencode-worker.service",
        "etc/distencode/coordinator.toml",
        "etc/distencode/worker.toml",
        "usr/share/distencode/check.mlt",
        "usr/share/doc/distencode/deploy.md",
        "usr/share/doc/distencode/operations.md",
        "usr/share/doc/distencode/copyright",
        "usr/share/doc/distencode/changelog.Debian.gz",
        "usr/share/man/man1/distencode.1.gz",
        "usr/share/bash-completion/completions/distencode",
        "usr/share/zsh/vendor-completions/_distencode",
        "usr/share/fish/vendor_completions.d/distencode.fish",
    ] {
        assert!(has(path).is_some(), "the package lacks {path}:\n{contents}");
    }
    // A man page for every subcommand, leaves included.
    for page in ["distencode-node", "distencode-job-submit", "distencode-worker-forget", "distencode-doctor"] {
        assert!(has(&format!("usr/share/man/man1/{page}.1.gz")).is_some(), "no man page {page}:\n{contents}");
    }
    // The settings may hold a metrics token: not for everyone's eyes.
    let settings = has("etc/distencode/coordinator.toml").expect("listed");
    assert!(settings.starts_with("-rw-r-----"), "coordinator.toml is not 0640: {settings}");
    // The units start what the package installs, and the documentation they name is there.
    let unit = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("config/distencode-worker.service"))
        .expect("the worker unit");
    assert!(unit.contains("ExecStart=/usr/bin/distencode node"), "{unit}");
    // The system call filter lets the worker's melt confine itself (systemd 252 has Landlock's calls in no group,
    // and a call outside the filter kills the worker).
    for call in ["landlock_create_ruleset", "landlock_add_rule", "landlock_restrict_self"] {
        let allowed =
            unit.lines().any(|l| l.starts_with("SystemCallFilter=") && l.split([' ', '=']).any(|w| w == call));
        assert!(allowed, "the worker unit's SystemCallFilter= does not allow {call}");
    }
    assert!(
        has("usr/share/doc/distencode/deploy.md").is_some() && unit.contains("/usr/share/doc/distencode/deploy.md")
    );
}

#[test]
fn the_package_depends_on_what_the_binary_needs_and_recommends_a_workers_stack() {
    let Some(package) = package("the_package_depends_on_what_the_binary_needs_and_recommends_a_workers_stack") else {
        return;
    };
    let depends = dpkg_deb(&["--field"], &package);
    let field = |name: &str| {
        depends
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{name}: ")))
            .unwrap_or_else(|| panic!("no {name} field:\n{depends}"))
            .to_string()
    };
    assert!(field("Depends").contains("libc6"), "{depends}");
    assert!(field("Depends").contains("passwd"), "postinst runs useradd: {depends}");
    for recommended in ["melt", "ffmpeg", "frei0r-plugins"] {
        assert!(field("Recommends").contains(recommended), "{depends}");
    }
    assert_eq!(field("Version"), format!("{}-1", env!("CARGO_PKG_VERSION")));
    let control = tempfile::tempdir().expect("tempdir");
    let output =
        Command::new("dpkg-deb").arg("--control").arg(&package).arg(control.path()).output().expect("dpkg-deb");
    assert!(output.status.success(), "{}", stderr(&output));
    let conffiles = std::fs::read_to_string(control.path().join("conffiles")).expect("conffiles");
    assert_eq!(
        conffiles.lines().collect::<Vec<_>>(),
        ["/etc/distencode/coordinator.toml", "/etc/distencode/worker.toml"]
    );
    let postinst = std::fs::read_to_string(control.path().join("postinst")).expect("postinst");
    assert!(postinst.contains("useradd") && postinst.contains("/var/lib/distencode/worker"), "{postinst}");
}

#[test]
fn lintian_finds_no_error_and_no_warning() {
    let Some(package) = package("lintian_finds_no_error_and_no_warning") else {
        return;
    };
    if Command::new("lintian").arg("--version").output().is_err() {
        assert!(std::env::var_os("CI").is_none(), "CI must run lintian (scripts/setup installs it)");
        return;
    }
    // The tests' package is the dev build, kept unstripped so that it is byte for byte the binary they ran; the
    // release package (scripts/package) is stripped.
    let output = Command::new("lintian")
        .args(["--fail-on", "error,warning", "--suppress-tags", "unstripped-binary-or-object"])
        .arg(&package)
        .output()
        .expect("lintian");
    assert!(output.status.success(), "lintian:\n{}{}", stdout(&output), stderr(&output));
}
