//! The audit trail's stored record (tree `audit`): a version byte of its own, [`AUDIT_V1`], then bincode decoded
//! with an explicit limit, [`MAX_AUDIT_RECORD_BYTES`]. The trail is versioned apart from the job schema: a new
//! layout adds `AUDIT_V2` here and reads both, whatever the jobs' schema.
//!
//! Its types are the store's own (the enums' variants are positional in bincode: new ones go at the end), converted
//! explicitly to and from the wire's [`distencode_wire::audit::AuditEntry`].

use bincode::config::{BigEndian, Configuration, Limit, Varint};
use distencode_wire::audit as wire;
use serde::{Deserialize, Serialize};

/// The first byte of every stored audit entry: its layout's version.
pub const AUDIT_V1: u8 = 1;

/// The largest entry decoded (one holds three texts of at most `MAX_AUDIT_TEXT_CHARS` characters, under 13 KiB):
/// a corrupt length is an error, not an allocation.
pub const MAX_AUDIT_RECORD_BYTES: usize = 64 * 1024;

type AuditConfig = Configuration<BigEndian, Varint, Limit<MAX_AUDIT_RECORD_BYTES>>;

fn config() -> AuditConfig {
    bincode::config::standard().with_big_endian().with_limit::<MAX_AUDIT_RECORD_BYTES>()
}

/// How the request came, as stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Route {
    Cli,
    Web,
    Token,
}

/// What was done, as stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Action {
    Submit,
    Cancel,
    Retry,
    Priority,
    Delete,
    Prune,
    Reserve,
    Release,
    Drain,
    SignIn,
    Certificate,
    WebhookAdd,
    WebhookDelete,
    Forget,
    Backup,
}

/// Layout 1 of an entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntryV1 {
    /// Unix ms.
    pub time: u64,
    pub user: String,
    pub route: Route,
    pub action: Action,
    pub target: String,
    /// `None`: done; `Some(reason)`: refused.
    pub refused: Option<String>,
}

impl From<&wire::AuditEntry> for EntryV1 {
    fn from(entry: &wire::AuditEntry) -> Self {
        Self {
            time: entry.time,
            user: entry.user.clone(),
            route: match entry.route {
                wire::Route::Cli => Route::Cli,
                wire::Route::Web => Route::Web,
                wire::Route::Token => Route::Token,
            },
            action: match entry.action {
                wire::AuditAction::Submit => Action::Submit,
                wire::AuditAction::Cancel => Action::Cancel,
                wire::AuditAction::Retry => Action::Retry,
                wire::AuditAction::Priority => Action::Priority,
                wire::AuditAction::Delete => Action::Delete,
                wire::AuditAction::Prune => Action::Prune,
                wire::AuditAction::Reserve => Action::Reserve,
                wire::AuditAction::Release => Action::Release,
                wire::AuditAction::Drain => Action::Drain,
                wire::AuditAction::SignIn => Action::SignIn,
                wire::AuditAction::Certificate => Action::Certificate,
                wire::AuditAction::WebhookAdd => Action::WebhookAdd,
                wire::AuditAction::WebhookDelete => Action::WebhookDelete,
                wire::AuditAction::Forget => Action::Forget,
                wire::AuditAction::Backup => Action::Backup,
            },
            target: entry.target.clone(),
            refused: match &entry.outcome {
                wire::AuditOutcome::Done => None,
                wire::AuditOutcome::Refused(reason) => Some(reason.clone()),
            },
        }
    }
}

impl From<EntryV1> for wire::AuditEntry {
    fn from(entry: EntryV1) -> Self {
        Self {
            time: entry.time,
            user: entry.user,
            route: match entry.route {
                Route::Cli => wire::Route::Cli,
                Route::Web => wire::Route::Web,
                Route::Token => wire::Route::Token,
            },
            action: match entry.action {
                Action::Submit => wire::AuditAction::Submit,
                Action::Cancel => wire::AuditAction::Cancel,
                Action::Retry => wire::AuditAction::Retry,
                Action::Priority => wire::AuditAction::Priority,
                Action::Delete => wire::AuditAction::Delete,
                Action::Prune => wire::AuditAction::Prune,
                Action::Reserve => wire::AuditAction::Reserve,
                Action::Release => wire::AuditAction::Release,
                Action::Drain => wire::AuditAction::Drain,
                Action::SignIn => wire::AuditAction::SignIn,
                Action::Certificate => wire::AuditAction::Certificate,
                Action::WebhookAdd => wire::AuditAction::WebhookAdd,
                Action::WebhookDelete => wire::AuditAction::WebhookDelete,
                Action::Forget => wire::AuditAction::Forget,
                Action::Backup => wire::AuditAction::Backup,
            },
            target: entry.target,
            outcome: match entry.refused {
                None => wire::AuditOutcome::Done,
                Some(reason) => wire::AuditOutcome::Refused(reason),
            },
        }
    }
}

pub fn encode_entry(entry: &wire::AuditEntry) -> Result<Vec<u8>, String> {
    let mut bytes = vec![AUDIT_V1];
    bincode::serde::encode_into_std_write(EntryV1::from(entry), &mut bytes, config()).map_err(|e| e.to_string())?;
    Ok(bytes)
}

pub fn decode_entry(bytes: &[u8]) -> Result<wire::AuditEntry, String> {
    match bytes.split_first() {
        Some((&AUDIT_V1, body)) => {
            let (entry, used): (EntryV1, usize) =
                bincode::serde::decode_from_slice(body, config()).map_err(|e| e.to_string())?;
            if used != body.len() {
                return Err(format!("{} bytes after the audit entry", body.len() - used));
            }
            Ok(entry.into())
        }
        Some((version, _)) => {
            Err(format!("an audit entry of record version {version}; this distencode reads {AUDIT_V1}"))
        }
        None => Err("an empty audit entry".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use distencode_wire::audit::{AuditAction, AuditEntry, AuditOutcome};

    fn entry() -> AuditEntry {
        AuditEntry {
            time: 1_700_000_000_000,
            user: "bob".into(),
            route: wire::Route::Web,
            action: AuditAction::Priority,
            target: "job 7 to priority 5".into(),
            outcome: AuditOutcome::Refused("priority 5 is above 3".into()),
        }
    }

    #[test]
    fn an_entry_round_trips_and_its_bytes_are_pinned() {
        let bytes = encode_entry(&entry()).unwrap();
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        // Layout 1, pinned: a change here is a new layout (AUDIT_V2), never an edit of this one.
        assert_eq!(
            hex,
            "01fd0000018bcfe5680003626f620103136a6f62203720746f207072696f7269747920350115707269\
             6f7269747920352069732061626f76652033"
        );
        assert_eq!(decode_entry(&bytes).unwrap(), entry());
    }

    #[test]
    fn other_versions_trailing_bytes_and_oversized_lengths_are_refused() {
        let mut bytes = encode_entry(&entry()).unwrap();
        bytes[0] = 2;
        assert_eq!(decode_entry(&bytes).unwrap_err(), "an audit entry of record version 2; this distencode reads 1");
        assert_eq!(decode_entry(&[]).unwrap_err(), "an empty audit entry");
        let mut long = encode_entry(&entry()).unwrap();
        long.push(0);
        assert_eq!(decode_entry(&long).unwrap_err(), "1 bytes after the audit entry");
        // A user name claiming 1 GiB: refused by the limit, not allocated.
        let huge = [AUDIT_V1, 0x00, 0xfc, 0x40, 0x00, 0x00, 0x00];
        assert!(decode_entry(&huge).is_err());
    }
}
