//! Asks a melt binary what it can do (`-query`) and which version it is, so
//! the client and each worker can tell whether a project renders there.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use tokio::process::Command;

use super::error::ProjectError;
use super::services::{ServiceKind, ServiceSet};

/// How long one `melt -query` or `melt --version` may take.
pub const QUERY_TIMEOUT: Duration = Duration::from_secs(60);

/// Runs `melt <args>` with stdin closed and returns its standard output.
async fn run(melt: &Path, args: &[&str]) -> Result<String, ProjectError> {
    let shown = format!("{} {}", melt.display(), args.join(" "));
    let child = Command::new(melt)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(QUERY_TIMEOUT, child)
        .await
        .map_err(|_| ProjectError::Melt(format!("{shown}: no answer within {}s", QUERY_TIMEOUT.as_secs())))?
        .map_err(|e| ProjectError::Melt(format!("{shown}: cannot run: {e}")))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let last = stderr.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("").trim();
        return Err(ProjectError::Melt(
            format!("{shown}: {} {last}", output.status).trim_end().to_string(),
        ));
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// The services this melt provides: `melt -query producers`, `filters`,
/// `transitions`, `consumers` and `links`.
pub async fn query_services(melt: &Path) -> Result<ServiceSet, ProjectError> {
    let mut set = ServiceSet::new();
    for kind in ServiceKind::ALL {
        let output = run(melt, &["-query", kind.query_name()]).await?;
        let found = set.add_query_output(kind, &output);
        if !found && kind != ServiceKind::Link {
            return Err(ProjectError::Melt(format!(
                "{} -query {}: no {} list in its output",
                melt.display(),
                kind.query_name(),
                kind.query_name()
            )));
        }
    }
    tracing::debug!(
        services = set.len(),
        links_listed = set.links_listed,
        "queried melt services"
    );
    Ok(set)
}

/// The version melt reports, e.g. `7.12.0` from `melt 7.12.0`.
pub async fn melt_version(melt: &Path) -> Result<String, ProjectError> {
    let output = run(melt, &["--version"]).await?;
    parse_version(&output).ok_or_else(|| {
        let first = output.lines().next().unwrap_or("").trim();
        ProjectError::Melt(format!("{} --version: no version in {first:?}", melt.display()))
    })
}

/// The first word of the first line that starts with a digit.
pub fn parse_version(output: &str) -> Option<String> {
    let first = output.lines().find(|l| !l.trim().is_empty())?;
    first
        .split_whitespace()
        .find(|w| w.starts_with(|c: char| c.is_ascii_digit()))
        .map(|w| w.trim_end_matches(',').to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions() {
        assert_eq!(
            parse_version("melt 7.12.0\nCopyright (C) 2002-2022 Meltytech, LLC\n").as_deref(),
            Some("7.12.0")
        );
        assert_eq!(parse_version("\nmelt version 6.26.1\n").as_deref(), Some("6.26.1"));
        assert_eq!(parse_version("melt\n"), None);
        assert_eq!(parse_version(""), None);
    }

    #[tokio::test]
    async fn missing_binary_is_a_melt_error() {
        let e = query_services(Path::new("/nonexistent/melt")).await.unwrap_err();
        assert!(matches!(e, ProjectError::Melt(_)), "{e}");
        assert!(e.to_string().contains("cannot run"), "{e}");
        assert!(melt_version(Path::new("/nonexistent/melt")).await.is_err());
    }

    #[tokio::test]
    async fn failing_binary_is_a_melt_error() {
        let e = melt_version(Path::new("/bin/false")).await.unwrap_err();
        assert!(e.to_string().contains("exit status"), "{e}");
    }

    /// Runs only where melt is installed (it is on the development machine).
    #[tokio::test]
    async fn real_melt_when_installed() {
        let melt = Path::new("/usr/bin/melt");
        if !melt.exists() {
            return;
        }
        let version = melt_version(melt).await.unwrap();
        assert!(version.starts_with('7'), "{version}");
        let set = query_services(melt).await.unwrap();
        assert!(set.contains_kind(ServiceKind::Producer, "color"));
        assert!(set.contains_kind(ServiceKind::Producer, "avformat"));
        assert!(set.contains_kind(ServiceKind::Consumer, "avformat"));
        assert!(set.contains_kind(ServiceKind::Transition, "luma"));
        assert!(set.contains_kind(ServiceKind::Filter, "greyscale"));
        assert!(set.contains_kind(ServiceKind::Link, "timeremap"));
        assert!(!set.contains("no-such-service"));
    }
}
