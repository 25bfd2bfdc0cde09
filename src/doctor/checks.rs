//! Checks both roles share: the node's certificate, a folder it must read and write, the free disk space under a
//! folder, named with the user and groups the checks ran as (the service user, under `runuser -u distencode`).

use super::Check;
pub use distencode_actors::runner::who::user_and_groups;
use distencode_wire::tls::NodeIdentity;
use std::path::Path;
use std::time::Duration;
use time::OffsetDateTime;

/// A certificate expiring sooner than this is a warning: renew it (docs/operations.md, Certificates) before it stops the node.
pub const CERT_WARN_DAYS: i64 = 30;

/// Less free space than this where melt writes is a failure; below [`DISK_WARN_BYTES`] a warning.
pub const DISK_FAIL_BYTES: u64 = 1 << 30;
pub const DISK_WARN_BYTES: u64 = 10 << 30;

/// How long one tool (`melt`, `ffprobe`, `fc-list`...) may run for a check.
pub const TOOL_TIMEOUT: Duration = Duration::from_secs(60);

/// The most of a tool's output a check reads.
pub const MOST_TOOL_OUTPUT: usize = 4 << 20;

/// `NAME.pem` in CERTS: signed by `ca.pem`, of the right role, and not about to expire.
pub fn certificate(certs: Option<&Path>, name: Option<&str>, role: distencode_wire::Role) -> Check {
    const CHECK: &str = "certificate";
    let (Some(certs), Some(name)) = (certs, name) else {
        return Check::fail(CHECK, "no --certs DIR and --name NAME (or certs and name in the --config file)");
    };
    let identity = match NodeIdentity::load_as(certs, name, Some(role)) {
        Ok(identity) => identity,
        Err(e) => return Check::fail(CHECK, e.to_string()),
    };
    if identity.role() != role {
        return Check::fail(
            CHECK,
            format!(
                "{} is the certificate of {}; issue one with --role {role} on the machine that keeps the CA",
                identity.cert_path().display(),
                identity.identity
            ),
        );
    }
    if let Err(e) = identity.check_signed_by_ca() {
        return Check::fail(CHECK, e.to_string());
    }
    let Some(not_after) = not_after(&identity.cert_chain[0]) else {
        return Check::fail(CHECK, format!("{}: no validity period can be read", identity.cert_path().display()));
    };
    let days = (not_after - OffsetDateTime::now_utc()).whole_days();
    let date = not_after.date();
    let what = format!("{} ({role} {name}) signed by {}", identity.cert_path().display(), identity.ca_path().display());
    if days < CERT_WARN_DAYS {
        Check::warn(
            CHECK,
            format!(
                "{what} expires in {days} days, on {date}: issue a new one and replace {name}.pem and {name}.key \
                 (docs/operations.md, Certificates)"
            ),
        )
    } else {
        Check::ok(CHECK, format!("{what}, valid until {date} ({days} days)"))
    }
}

pub(super) fn not_after(der: &[u8]) -> Option<OffsetDateTime> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    Some(cert.validity().not_after.to_datetime())
}

/// DIR can be listed, and a file can be made in it and removed again.
pub fn read_write(check: &str, dir: &Path, fix: &str) -> Check {
    let who = user_and_groups();
    if let Err(e) = std::fs::read_dir(dir) {
        return Check::fail(check, format!("{} cannot be read as {who}: {e}; {fix}", dir.display()));
    }
    let probe = dir.join(format!(".distencode-doctor-{}", std::process::id()));
    match std::fs::OpenOptions::new().write(true).create_new(true).open(&probe) {
        Ok(_) => {
            let _ = std::fs::remove_file(&probe);
            Check::ok(check, format!("{} can be read and written as {who}", dir.display()))
        }
        Err(e) => Check::fail(check, format!("{} cannot be written as {who}: {e}; {fix}", dir.display())),
    }
}

/// Free space for this user under DIR.
pub fn disk(check: &str, dir: &Path) -> Check {
    match rustix::fs::statvfs(dir) {
        Ok(stat) => {
            let free = stat.f_bavail.saturating_mul(stat.f_frsize);
            let shown = format!("{} free in {}", gib(free), dir.display());
            if free < DISK_FAIL_BYTES {
                Check::fail(check, format!("{shown}: free some space or point the setting at a larger disk"))
            } else if free < DISK_WARN_BYTES {
                Check::warn(check, format!("{shown}: less than {}; renders may run out of space", gib(DISK_WARN_BYTES)))
            } else {
                Check::ok(check, shown)
            }
        }
        Err(e) => Check::fail(check, format!("cannot read the free space of {}: {e}", dir.display())),
    }
}

fn gib(bytes: u64) -> String {
    format!("{:.1} GiB", bytes as f64 / (1u64 << 30) as f64)
}

/// What a tool printed and how it ended, or why it could not run.
pub struct ToolOutput {
    pub success: bool,
    pub stdout: String,
    pub stderr: String,
}

/// Why a tool gave no output to judge.
#[derive(Debug, thiserror::Error)]
pub enum ToolError {
    /// It ran but neither ended nor closed its output within [`TOOL_TIMEOUT`].
    #[error("{0}: no answer within {secs} s", secs = TOOL_TIMEOUT.as_secs())]
    NoAnswer(String),
    #[error("{0}: cannot run: {1}")]
    CannotRun(String, std::io::Error),
}

/// Runs a tool with stdin closed, bounded in time; `command` is set up by the caller (arguments, environment).
pub async fn run_tool(mut command: tokio::process::Command, shown: &str) -> Result<ToolOutput, ToolError> {
    command.stdin(std::process::Stdio::null()).kill_on_drop(true);
    let output = tokio::time::timeout(TOOL_TIMEOUT, command.output())
        .await
        .map_err(|_| ToolError::NoAnswer(shown.to_string()))?
        .map_err(|e| ToolError::CannotRun(shown.to_string(), e))?;
    let text = |bytes: &[u8]| String::from_utf8_lossy(&bytes[..bytes.len().min(MOST_TOOL_OUTPUT)]).into_owned();
    Ok(ToolOutput { success: output.status.success(), stdout: text(&output.stdout), stderr: text(&output.stderr) })
}
