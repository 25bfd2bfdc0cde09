//! `distencode doctor --role worker|coordinator`: checks a machine the way the farm will use it, before it is
//! trusted with jobs, and says for each problem what to do about it.
//!
//! A worker that lacks Qt, fonts or frei0r renders titles and effects differently from its peers, or not at all,
//! and nothing else tells the admin why. Each check is one line (`ok`, `warn` or `fail`, its name, what was found and
//! the fix); `--json` prints the same as a list of `{name, status, detail}`. The command exits non-zero when a check
//! fails. It reads the node's own settings (`--config`, flags, environment), so it checks what the node will run.

mod checks;
mod coordinator;
mod link;
mod web;
pub(crate) mod worker;

#[cfg(test)]
mod tests;

use crate::config_file::Resolved;
use crate::node_settings::NodeRole;
use anyhow::{anyhow, bail, Result};
use serde::Serialize;

/// How one check went.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    Warn,
    Fail,
}

/// One line of the report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Check {
    /// Short and stable (`melt`, `qt`, `fonts`...): scripts and tests look checks up by it.
    pub name: String,
    pub status: Status,
    /// What was found and, unless `ok`, what to do about it.
    pub detail: String,
}

impl Check {
    pub fn ok(name: &str, detail: impl Into<String>) -> Self {
        Self { name: name.into(), status: Status::Ok, detail: detail.into() }
    }
    pub fn warn(name: &str, detail: impl Into<String>) -> Self {
        Self { name: name.into(), status: Status::Warn, detail: detail.into() }
    }
    pub fn fail(name: &str, detail: impl Into<String>) -> Self {
        Self { name: name.into(), status: Status::Fail, detail: detail.into() }
    }
}

/// One line per check, `ok    melt: 7.12.0 (melt)`.
pub fn text(checks: &[Check]) -> String {
    let mut out = String::new();
    for check in checks {
        let status = match check.status {
            Status::Ok => "ok",
            Status::Warn => "warn",
            Status::Fail => "fail",
        };
        out.push_str(&format!("{status:<5} {}: {}\n", check.name, check.detail));
    }
    out
}

pub fn run(json: bool, roots: &[std::path::PathBuf], resolved: Resolved) -> Result<()> {
    let settings = resolved.settings;
    let role = settings.role.ok_or_else(|| {
        anyhow!("no --role coordinator|worker given (or set DISTENCODE_ROLE, or role in the --config file)")
    })?;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let checks = match role {
        NodeRole::Worker => runtime.block_on(worker::checks(&settings, roots)),
        NodeRole::Coordinator => {
            let mut checks = coordinator::checks(&settings);
            // The providers as the coordinator reads them (secrets from their files or variables).
            match settings.check(&resolved.origins) {
                Ok(checked) => checks.extend(runtime.block_on(web::checks(&settings, &checked.oidc))),
                Err(e) => checks.push(Check::fail("settings", format!("{e:#}"))),
            }
            checks
        }
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&checks)?);
    } else {
        print!("{}", text(&checks));
    }
    let failed = checks.iter().filter(|c| c.status == Status::Fail).count();
    if failed > 0 {
        bail!("{failed} of {} checks failed", checks.len());
    }
    Ok(())
}
