//! The checks of a worker: its render stack (melt, ffmpeg, Qt, frei0r, fonts), the folders it reads and writes,
//! its free disk space, its certificate, and its link to the coordinator with the clocks' offset (`link`).

use super::checks::{self, run_tool, ToolError};
use super::Check;
use crate::node_settings::NodeSettings;
use distencode_mlt as mlt;
use distencode_wire::fingerprint::{fnv1a, Fingerprint};
use std::path::{Path, PathBuf};
use tokio::process::Command;

/// What melt prints when MLT 7.12's Qt module finds no `DISPLAY`.
const QT_NEEDS_X11: &str = "requires a X11 environment";

pub async fn checks(settings: &NodeSettings, roots: &[PathBuf]) -> Vec<Check> {
    let work_dir = settings.work_dir.clone().unwrap_or_else(std::env::temp_dir);
    let mut checks = vec![melt(&settings.melt).await, ffmpeg(&settings.ffmpeg).await, ffprobe(&settings.ffprobe).await];
    checks.push(qt(&settings.melt, &work_dir).await);
    checks.push(frei0r(&settings.melt).await);
    checks.push(fonts().await);
    checks.push(checks::read_write(
        "work_dir",
        &work_dir,
        "create it for the service user: install -d -o distencode -g distencode -m 0750 DIR",
    ));
    for root in roots {
        checks.push(checks::read_write(
            "root",
            root,
            "add the service user to the folder's group (SupplementaryGroups= in the worker unit) and make the \
             folder group-writable and setgid: chmod 2775 DIR (docs/deploy.md, shared storage)",
        ));
    }
    checks.push(checks::disk("disk", &work_dir));
    checks.push(checks::certificate(
        settings.connect.certs.as_deref(),
        settings.connect.name.as_deref(),
        distencode_wire::Role::Worker,
    ));
    checks.push(sandbox(settings.connect.certs.as_deref()));
    let connect = &settings.connect;
    checks.extend(
        super::link::checks(connect.coordinator.as_deref(), connect.certs.as_deref(), connect.name.as_deref()).await,
    );
    checks
}

async fn melt(melt: &Path) -> Check {
    match mlt::melt_version(melt).await {
        Ok(version) => Check::ok("melt", format!("{version} ({})", melt.display())),
        Err(e) => Check::fail("melt", format!("{e}; install it (apt-get install melt) or set melt in worker.toml")),
    }
}

/// The ffmpeg that makes poster frames (and whose package brings melt's encoders).
async fn ffmpeg(ffmpeg: &Path) -> Check {
    let mut command = Command::new(ffmpeg);
    command.arg("-version");
    match run_tool(command, &format!("{} -version", ffmpeg.display())).await {
        Ok(out) if out.success => match mlt::parse_version(&out.stdout) {
            Some(version) => Check::ok("ffmpeg", version),
            None => Check::warn("ffmpeg", "ffmpeg -version names no version"),
        },
        Ok(out) => Check::warn("ffmpeg", format!("ffmpeg -version failed: {}", last_line(&out.stderr))),
        Err(e) => Check::warn("ffmpeg", format!("{e}; apt-get install ffmpeg (melt's encoders come with it)")),
    }
}

async fn ffprobe(ffprobe: &Path) -> Check {
    let mut command = Command::new(ffprobe);
    command.arg("-version");
    let shown = format!("{} -version", ffprobe.display());
    match run_tool(command, &shown).await {
        Ok(out) if out.success => {
            let version = mlt::parse_version(&out.stdout).unwrap_or_else(|| "version unknown".into());
            Check::ok("ffprobe", format!("{version} ({})", ffprobe.display()))
        }
        Ok(out) => Check::fail("ffprobe", format!("{shown} failed: {}", last_line(&out.stderr))),
        Err(e) => Check::fail(
            "ffprobe",
            format!("{e}; every render is verified with it: apt-get install ffmpeg, or set ffprobe in worker.toml"),
        ),
    }
}

/// Renders one frame of `qtext` with the environment the worker gives melt, into a PNG in the work dir.
pub async fn qt(melt: &Path, work_dir: &Path) -> Check {
    let dir = match tempfile::Builder::new().prefix(".distencode-doctor-").tempdir_in(work_dir) {
        Ok(dir) => dir,
        Err(e) => return Check::fail("qt", format!("cannot make a folder in {}: {e}", work_dir.display())),
    };
    let frame = dir.path().join("qtext.png");
    let shown = format!("{} qtext:", melt.display());
    let draw = || {
        let mut command = Command::new(melt);
        command.args(["-profile", "quarter_pal", "qtext:", "text=distencode", "out=0", "-consumer"]);
        command.arg(format!("avformat:{}", frame.display())).arg("vcodec=png");
        distencode_actors::runner::melt_env::set(&mut command, work_dir);
        run_tool(command, &shown)
    };
    // melt now and then hangs at start-up and never ends (the worker's stall timeout and retry cover renders):
    // one more try tells that from a Qt module that never draws.
    let out = match draw().await {
        Err(ToolError::NoAnswer(_)) => draw().await,
        first => first,
    };
    let out = match out {
        Ok(out) => out,
        Err(e) => return Check::fail("qt", e.to_string()),
    };
    let drawn = std::fs::metadata(&frame).map(|m| m.len() > 0).unwrap_or(false);
    let said = format!("{}\n{}", out.stderr, out.stdout);
    if drawn && out.success {
        return Check::ok("qt", "melt drew a qtext frame offscreen: Qt titles render");
    }
    let fix = if said.contains(QT_NEEDS_X11) {
        "MLT's Qt module needs DISPLAY set (the worker sets DISPLAY=:0 when it is unset; a wrapper or unit that \
         removes it breaks every title)"
    } else if said.contains("Failed to load \"qtext:\"") {
        "melt has no Qt module (libmltqt.so, in the libmlt7 package): reinstall libmlt7, and check that \
         MLT_REPOSITORY, if set, names a folder that has it"
    } else {
        "see melt's message above"
    };
    Check::fail("qt", format!("melt drew no qtext frame ({}): Qt titles would not render; {fix}", last_line(&said)))
}

async fn frei0r(melt: &Path) -> Check {
    let services = match mlt::query_services(melt).await {
        Ok(services) => services,
        Err(e) => return Check::fail("frei0r", e.to_string()),
    };
    let count = services.names().iter().filter(|name| name.starts_with("frei0r.")).count();
    let version = match frei0r_version().await {
        Some(version) => format!("frei0r-plugins {version}"),
        None => "frei0r-plugins version unknown (not a Debian package)".to_string(),
    };
    if count == 0 {
        Check::warn("frei0r", format!("melt has no frei0r services ({version}): apt-get install frei0r-plugins"))
    } else {
        Check::ok("frei0r", format!("{count} frei0r services, {version}"))
    }
}

/// The frei0r-plugins package's version, if dpkg knows it.
async fn frei0r_version() -> Option<String> {
    let mut command = Command::new("dpkg-query");
    command.args(["-W", "-f=${Version}", "frei0r-plugins"]);
    match run_tool(command, "dpkg-query").await {
        Ok(out) if out.success && !out.stdout.trim().is_empty() => Some(out.stdout.trim().to_string()),
        _ => None,
    }
}

/// fontconfig's font count and list hash, or what went wrong (with the fix).
async fn font_list() -> Result<(usize, u64), String> {
    let mut command = Command::new("fc-list");
    command.args([":", "family", "style"]);
    match run_tool(command, "fc-list").await {
        Ok(out) if out.success => Ok(font_list_hash(&out.stdout)),
        Ok(out) => Err(format!("fc-list failed: {}", last_line(&out.stderr))),
        Err(e) => Err(format!("{e}; apt-get install fontconfig")),
    }
}

async fn fonts() -> Check {
    match font_list().await {
        Ok((0, _)) => Check::warn("fonts", "fontconfig lists no fonts: titles fall back; apt-get install fonts-dejavu"),
        Ok((count, hash)) => {
            Check::ok("fonts", format!("{count} fonts, list hash {hash:016x} (the same on every worker?)"))
        }
        Err(e) => Check::warn("fonts", e),
    }
}

/// The render stack a worker announces (`worker list`'s fingerprint): found as the checks above find it, with an
/// empty part for what cannot be told.
pub async fn fingerprint(melt_version: &str, ffmpeg: &Path) -> Fingerprint {
    let mut command = Command::new(ffmpeg);
    command.arg("-version");
    let ffmpeg = match run_tool(command, "ffmpeg -version").await {
        Ok(out) if out.success => mlt::parse_version(&out.stdout).unwrap_or_default(),
        _ => String::new(),
    };
    Fingerprint {
        melt: melt_version.to_string(),
        ffmpeg,
        frei0r: frei0r_version().await.unwrap_or_default(),
        fonts: font_list().await.map(|(_, hash)| format!("{hash:016x}")).unwrap_or_default(),
    }
}

/// How many fonts fontconfig lists, and a hash of the sorted list (FNV-1a, the same on every machine and release),
/// so that two workers' lists can be compared by one number.
pub fn font_list_hash(list: &str) -> (usize, u64) {
    let mut lines: Vec<&str> = list.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    lines.sort_unstable();
    lines.dedup();
    let text: String = lines.iter().flat_map(|line| [*line, "\n"]).collect();
    (lines.len(), fnv1a(text.as_bytes()))
}

fn last_line(text: &str) -> &str {
    text.lines().rev().map(str::trim).find(|l| !l.is_empty()).unwrap_or("no output")
}

/// Whether melt and ffmpeg jobs are kept from reading the certificates (Landlock, `runner::sandbox`).
fn sandbox(certs: Option<&std::path::Path>) -> Check {
    match distencode_actors::runner::sandbox::status() {
        Ok(()) => {
            let certs = certs.map_or_else(|| "the certificates".to_string(), |c| c.display().to_string());
            Check::ok("sandbox", format!("melt and ffmpeg jobs run under Landlock and cannot read {certs}"))
        }
        Err(reason) => Check::warn("sandbox", reason),
    }
}
