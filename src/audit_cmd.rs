//! `distencode audit`: the coordinator's audit trail, newest first, as a table or as JSON (admins only; anyone else
//! reads the coordinator's one-line refusal).

use crate::cli::Connect;
use crate::client::{Client, Endpoint};
use crate::output::rfc3339;
use anyhow::{bail, Result};
use distencode_wire::audit::{AuditEntry, AuditOutcome, MAX_AUDIT_ENTRIES};
use distencode_wire::message::{ClientReply, ClientRequest};
use serde::Serialize;

pub async fn run(user: Option<String>, json: bool, limit: u32, connect: Connect) -> Result<()> {
    if limit == 0 || limit > MAX_AUDIT_ENTRIES {
        bail!("--limit {limit}: must be 1 to {MAX_AUDIT_ENTRIES}");
    }
    let mut client = Client::connect(&Endpoint::from_flags(&connect)?).await?;
    let reply = client.call(ClientRequest::Audit { user, limit }).await;
    client.close().await;
    let entries = match reply? {
        ClientReply::Audit(entries) => entries,
        _ => bail!("unexpected answer from the coordinator"),
    };
    if json {
        println!("{}", serde_json::to_string(&entries.iter().map(Json::from).collect::<Vec<_>>())?);
    } else {
        println!("{:<25} {:<16} {:<6} {:<9} {:<30} OUTCOME", "TIME", "USER", "ROUTE", "ACTION", "TARGET");
        entries.iter().for_each(|entry| println!("{}", row(entry)));
    }
    Ok(())
}

/// One entry as `--json` prints it: flat, with `outcome` `done` or `refused` and the refusal's `reason`.
#[derive(Serialize)]
struct Json<'a> {
    /// Unix milliseconds.
    time: u64,
    user: &'a str,
    route: &'a str,
    action: &'a str,
    target: &'a str,
    outcome: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'a str>,
}

impl<'a> From<&'a AuditEntry> for Json<'a> {
    fn from(entry: &'a AuditEntry) -> Self {
        let (outcome, reason) = match &entry.outcome {
            AuditOutcome::Done => ("done", None),
            AuditOutcome::Refused(reason) => ("refused", Some(reason.as_str())),
        };
        Json {
            time: entry.time,
            user: &entry.user,
            route: entry.route.as_str(),
            action: entry.action.as_str(),
            target: &entry.target,
            outcome,
            reason,
        }
    }
}

/// One line of the table.
fn row(entry: &AuditEntry) -> String {
    let outcome = match &entry.outcome {
        AuditOutcome::Done => "done".to_string(),
        AuditOutcome::Refused(reason) => format!("refused: {reason}"),
    };
    format!(
        "{:<25} {:<16} {:<6} {:<9} {:<30} {outcome}",
        rfc3339(entry.time),
        entry.user,
        entry.route,
        entry.action,
        entry.target
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use distencode_wire::audit::{AuditAction, Route};

    fn entry(outcome: AuditOutcome) -> AuditEntry {
        AuditEntry {
            time: 1_700_000_000_000,
            user: "bob".into(),
            route: Route::Cli,
            action: AuditAction::Cancel,
            target: "job 7".into(),
            outcome,
        }
    }

    #[test]
    fn entries_print_as_flat_json_and_as_rows() {
        let done = entry(AuditOutcome::Done);
        assert_eq!(
            serde_json::to_string(&Json::from(&done)).unwrap(),
            r#"{"time":1700000000000,"user":"bob","route":"cli","action":"cancel","target":"job 7","outcome":"done"}"#
        );
        let refused = entry(AuditOutcome::Refused("job 7 belongs to alice".into()));
        assert_eq!(
            serde_json::to_string(&Json::from(&refused)).unwrap(),
            r#"{"time":1700000000000,"user":"bob","route":"cli","action":"cancel","target":"job 7","outcome":"refused","reason":"job 7 belongs to alice"}"#
        );
        assert_eq!(
            row(&refused),
            "2023-11-14T22:13:20Z      bob              cli    cancel    job 7                          refused: job 7 belongs to alice"
        );
    }
}
