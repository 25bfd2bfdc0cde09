//! `distencode certs`: the cluster's CA and one certificate per node, via `distencode_wire::pki`.

use crate::cli::CertsCommand;
use anyhow::{bail, Result};
use distencode_wire::pki::{self, IssueOptions};
use distencode_wire::Role;

pub fn run(command: CertsCommand) -> Result<()> {
    match command {
        CertsCommand::Init { dir, force } => {
            let paths = pki::init_ca_with(&dir, force)?;
            println!("created CA {} (key {})", paths.cert.display(), paths.key.display());
        }
        CertsCommand::Issue { dir, role, name, sans, days, start_days } => {
            // Bounded so the dates stay in what X.509 and the `time` crate represent (no overflow, no panic).
            if !(1..=36_500).contains(&days) {
                bail!("--days must be from 1 to 36500, not {days}");
            }
            if !(-36_500..=36_500).contains(&start_days) {
                bail!("--start-days must be from -36500 to 36500, not {start_days}");
            }
            let role: Role = role.parse()?;
            let mut options = IssueOptions::new(role, name).with_sans(sans);
            let start = time::OffsetDateTime::now_utc() + time::Duration::days(start_days) - time::Duration::hours(1);
            options.not_before = start;
            options.not_after = start + time::Duration::days(days);
            let paths = pki::issue(&dir, &options)?;
            println!("issued {} certificate {} (key {})", role, paths.cert.display(), paths.key.display());
        }
    }
    Ok(())
}
