//! The Debian package of this build, as `scripts/package --debug` leaves it in target/debian/ (scripts/test makes
//! it before the tests run): found, and told apart from a package of another build, for `tests/package.rs` and
//! `tests/deploy_guide.rs`.

use super::BIN;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The package of this build, or why there is none: missing, or holding another binary than the tests run.
pub fn this_builds_package() -> Result<PathBuf, String> {
    let arch = Command::new("dpkg").arg("--print-architecture").output().map_err(|e| format!("dpkg: {e}"))?;
    let arch = String::from_utf8_lossy(&arch.stdout).trim().to_string();
    let name = format!("distencode_{}-1_{arch}.deb", env!("CARGO_PKG_VERSION"));
    let package = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/debian").join(name);
    if !package.is_file() {
        return Err(format!("there is no {}: run scripts/package --debug", package.display()));
    }
    let packaged = Command::new("sh")
        .arg("-c")
        .arg(r#"dpkg-deb --fsys-tarfile "$0" | tar -xO ./usr/bin/distencode"#)
        .arg(&package)
        .output()
        .map_err(|e| format!("dpkg-deb could not run: {e}"))?;
    let built = std::fs::read(BIN).map_err(|e| format!("{BIN}: {e}"))?;
    if packaged.stdout != built {
        return Err(format!("{} holds another build than the tests': run scripts/package --debug", package.display()));
    }
    Ok(package)
}

/// The package, or `None` after saying on stderr why the test is skipped; under CI a panic instead.
pub fn package_or_skip(test: &str) -> Option<PathBuf> {
    match this_builds_package() {
        Ok(package) => Some(package),
        Err(reason) => {
            skip(test, &reason);
            None
        }
    }
}

/// Says why a test is skipped, straight to the file descriptor (the harness captures a passing test's
/// `eprintln!`); under CI, which must run it, a panic.
pub fn skip(test: &str, reason: &str) {
    if std::env::var_os("CI").is_some() {
        panic!("{test}: CI must run this test, but {reason}");
    }
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "skipped {test}: {reason}");
}
