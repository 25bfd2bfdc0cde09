//! `distencode certs`: the cluster's CA and one certificate per node, via `distencode_wire::pki`; listing,
//! revoking and renewing them via `distencode_wire::crl`.

use crate::cli::CertsCommand;
use anyhow::{bail, Result};
use distencode_wire::crl::{self, Issued};
use distencode_wire::pki::{self, IssueOptions};
use distencode_wire::Role;

/// The longest lifetime `--days` takes: the dates stay in what X.509 and the `time` crate represent.
const MAX_DAYS: i64 = 36_500;

pub fn run(command: CertsCommand) -> Result<()> {
    match command {
        CertsCommand::Init { dir, force } => {
            let paths = pki::init_ca_with(&dir, force)?;
            println!("created CA {} (key {})", paths.cert.display(), paths.key.display());
        }
        CertsCommand::Issue { dir, role, name, sans, days, start_days } => {
            check_days(days)?;
            if !(-MAX_DAYS..=MAX_DAYS).contains(&start_days) {
                bail!("--start-days must be from -{MAX_DAYS} to {MAX_DAYS}, not {start_days}");
            }
            let role: Role = role.parse()?;
            let mut options = IssueOptions::new(role, name).with_sans(sans);
            let start = time::OffsetDateTime::now_utc() + time::Duration::days(start_days) - time::Duration::hours(1);
            options.not_before = start;
            options.not_after = start + time::Duration::days(days);
            let paths = pki::issue(&dir, &options)?;
            println!("issued {} certificate {} (key {})", role, paths.cert.display(), paths.key.display());
        }
        CertsCommand::List { dir, json } => {
            let issued = crl::list(&dir)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&issued)?);
            } else {
                print!("{}", table(&issued, time::OffsetDateTime::now_utc().unix_timestamp()));
            }
        }
        CertsCommand::Revoke { dir, name, serial } => {
            let done = crl::revoke(&dir, &name, serial.as_deref())?;
            let crl = crl::crl_path(&dir);
            if done.newly.is_empty() {
                println!("{name}: already revoked ({}); {} unchanged", done.already.join(", "), crl.display());
            } else {
                println!(
                    "revoked {name} ({}) in {}; a coordinator reloads it on SIGHUP or within seconds",
                    done.newly.join(", "),
                    crl.display()
                );
            }
        }
        CertsCommand::Renew { dir, name, days } => {
            check_days(days)?;
            let paths = pki::renew(&dir, &name, days)?;
            println!(
                "renewed {name}: {} (key {}); the old certificate stays valid until it expires or is revoked",
                paths.cert.display(),
                paths.key.display()
            );
        }
    }
    Ok(())
}

fn check_days(days: i64) -> Result<()> {
    if !(1..=MAX_DAYS).contains(&days) {
        bail!("--days must be from 1 to {MAX_DAYS}, not {days}");
    }
    Ok(())
}

/// `certs list` as a table: name, role, serial, expiry date and state (revoked, expired, or days left).
fn table(issued: &[Issued], now: i64) -> String {
    let name_width = issued.iter().map(|i| i.name.len()).max().unwrap_or(0).max(4);
    let mut out = format!("{:<name_width$}  {:<11}  {:<40}  {:<10}  STATE\n", "NAME", "ROLE", "SERIAL", "EXPIRES");
    for cert in issued {
        let expires = time::OffsetDateTime::from_unix_timestamp(cert.not_after)
            .map(|t| t.date().to_string())
            .unwrap_or_else(|_| cert.not_after.to_string());
        let days = cert.days_left(now);
        let state = if cert.revoked {
            "revoked".to_string()
        } else if cert.not_after <= now {
            "expired".to_string()
        } else {
            format!("valid, {days} day{} left", if days == 1 { "" } else { "s" })
        };
        out.push_str(&format!(
            "{:<name_width$}  {:<11}  {:<40}  {expires:<10}  {state}\n",
            cert.name,
            cert.role.to_string(),
            cert.serial
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_marks_revoked_expired_and_days_left() {
        let now = 1_800_000_000;
        let cert = |name: &str, days: i64, revoked| Issued {
            name: name.into(),
            role: Role::Worker,
            serial: "0a".into(),
            not_after: now + days * 86_400,
            revoked,
            path: Default::default(),
        };
        let text =
            table(&[cert("w1", 10, false), cert("lost", 10, true), cert("old", -1, false), cert("x", 1, false)], now);
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("NAME  ROLE         SERIAL"), "{text}");
        assert!(
            lines[1].starts_with("w1    worker       0a") && lines[1].ends_with("2027-01-25  valid, 10 days left"),
            "{text}"
        );
        assert!(lines[2].ends_with("  revoked"), "{text}");
        assert!(lines[3].ends_with("  expired"), "{text}");
        assert!(lines[4].ends_with("  valid, 1 day left"), "{text}");
    }
}
