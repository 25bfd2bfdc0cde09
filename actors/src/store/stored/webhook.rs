//! The webhooks' stored records: a webhook (tree `webhooks`), a delivery waiting in the outbox (tree `outbox`) and
//! one attempt at a delivery (tree `webhook-sent`). Each value begins with a version byte of its own,
//! [`WEBHOOK_V1`], then bincode decoded with an explicit limit, [`MAX_WEBHOOK_RECORD_BYTES`]; they are versioned apart
//! from the job schema, as the audit trail is: a new layout adds `WEBHOOK_V2` here and reads both.
//!
//! Nothing of these crosses the wire, so these types are also what the rest of the coordinator uses; the enum's
//! variants are positional in bincode: new ones go at the end.

use bincode::config::{BigEndian, Configuration, Limit, Varint};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// The first byte of every stored webhook record: its layout's version.
pub const WEBHOOK_V1: u8 = 1;

/// The largest record decoded (a delivery holds a job's JSON, capped at `MAX_BODY_BYTES` by the store): a corrupt
/// length is an error, not an allocation.
pub const MAX_WEBHOOK_RECORD_BYTES: usize = 1024 * 1024;

type WebhookConfig = Configuration<BigEndian, Varint, Limit<MAX_WEBHOOK_RECORD_BYTES>>;

fn config() -> WebhookConfig {
    bincode::config::standard().with_big_endian().with_limit::<MAX_WEBHOOK_RECORD_BYTES>()
}

/// What a webhook is told about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Event {
    JobSucceeded,
    JobFailed,
    JobCancelled,
    /// A worker that held a job did not come back within the grace time.
    WorkerLost,
    /// A worker failed renders in a row (`SUSPECT_AFTER_FAILURES`).
    WorkerSuspect,
    /// A node's certificate expires within 30 days.
    CertificateExpiring,
}

impl Event {
    pub const ALL: [Event; 6] = [
        Event::JobSucceeded,
        Event::JobFailed,
        Event::JobCancelled,
        Event::WorkerLost,
        Event::WorkerSuspect,
        Event::CertificateExpiring,
    ];

    /// The name receivers see (the `distencode-event` header) and forms use.
    pub fn as_str(self) -> &'static str {
        match self {
            Event::JobSucceeded => "job.succeeded",
            Event::JobFailed => "job.failed",
            Event::JobCancelled => "job.cancelled",
            Event::WorkerLost => "worker.lost",
            Event::WorkerSuspect => "worker.suspect",
            Event::CertificateExpiring => "certificate.expiring",
        }
    }

    pub fn parse(name: &str) -> Option<Event> {
        Event::ALL.into_iter().find(|e| e.as_str() == name)
    }

    /// Whether only farm-wide webhooks (an admin's) may hear it: a plain user hears of their own jobs only.
    pub fn farm_only(self) -> bool {
        !matches!(self, Event::JobSucceeded | Event::JobFailed | Event::JobCancelled)
    }
}

impl std::fmt::Display for Event {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A webhook, layout 1.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Webhook {
    pub id: u64,
    /// The user who made it: it hears of their jobs (and only theirs unless `farm`).
    pub owner: String,
    /// Farm-wide (made by an admin): every job, and the worker and certificate events.
    pub farm: bool,
    pub url: String,
    /// `whsec_` and the base64 of the key: what signs every delivery, shown once when it is made.
    pub secret: String,
    pub events: Vec<Event>,
    /// Unix ms.
    pub created: u64,
}

/// A delivery waiting in the outbox, layout 1: sent until a receiver answers 2xx, or until it is a day old.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pending {
    pub webhook: u64,
    /// The `webhook-id` header: the same on every attempt, so a receiver can drop a duplicate.
    pub message: String,
    pub event: Event,
    /// Unix ms when the event happened (its age decides when it is given up).
    pub created: u64,
    /// The JSON sent (the job's, or the worker's), as it was when the event happened.
    pub body: String,
    /// Attempts made so far.
    pub attempts: u32,
    /// Unix ms before which it is not tried again.
    pub next_at: u64,
}

/// One attempt at a delivery, layout 1, kept for the webhook's page (the newest few per webhook).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sent {
    pub message: String,
    pub event: Event,
    /// Unix ms when it was answered (or failed).
    pub time: u64,
    /// Which attempt of this delivery it was (1 for the first).
    pub attempt: u32,
    /// The receiver's HTTP status, if it answered.
    pub status: Option<u16>,
    /// Why it failed without a status, or that it was given up.
    pub error: Option<String>,
}

fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, String> {
    let mut bytes = vec![WEBHOOK_V1];
    bincode::serde::encode_into_std_write(value, &mut bytes, config()).map_err(|e| e.to_string())?;
    Ok(bytes)
}

fn decode<T: DeserializeOwned>(bytes: &[u8], what: &str) -> Result<T, String> {
    match bytes.split_first() {
        Some((&WEBHOOK_V1, body)) => {
            let (value, used): (T, usize) =
                bincode::serde::decode_from_slice(body, config()).map_err(|e| format!("{what}: {e}"))?;
            if used != body.len() {
                return Err(format!("{} bytes after the {what}", body.len() - used));
            }
            Ok(value)
        }
        Some((version, _)) => Err(format!("a {what} of record version {version}; this distencode reads {WEBHOOK_V1}")),
        None => Err(format!("an empty {what}")),
    }
}

pub fn encode_webhook(webhook: &Webhook) -> Result<Vec<u8>, String> {
    encode(webhook)
}

pub fn decode_webhook(bytes: &[u8]) -> Result<Webhook, String> {
    decode(bytes, "webhook")
}

pub fn encode_pending(pending: &Pending) -> Result<Vec<u8>, String> {
    encode(pending)
}

pub fn decode_pending(bytes: &[u8]) -> Result<Pending, String> {
    decode(bytes, "webhook delivery")
}

pub fn encode_sent(sent: &Sent) -> Result<Vec<u8>, String> {
    encode(sent)
}

pub fn decode_sent(bytes: &[u8]) -> Result<Sent, String> {
    decode(bytes, "webhook attempt")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    fn webhook() -> Webhook {
        Webhook {
            id: 3,
            owner: "bob".into(),
            farm: false,
            url: "https://h/x".into(),
            secret: "whsec_AA==".into(),
            events: vec![Event::JobSucceeded, Event::JobFailed],
            created: 1_700_000_000_000,
        }
    }

    fn pending() -> Pending {
        Pending {
            webhook: 3,
            message: "msg_1".into(),
            event: Event::JobFailed,
            created: 1_700_000_000_000,
            body: "{}".into(),
            attempts: 2,
            next_at: 1_700_000_001_000,
        }
    }

    fn sent() -> Sent {
        Sent {
            message: "msg_1".into(),
            event: Event::WorkerLost,
            time: 1_700_000_000_000,
            attempt: 1,
            status: Some(500),
            error: None,
        }
    }

    #[test]
    fn records_round_trip_and_their_bytes_are_pinned() {
        // Layout 1, pinned: a change here is a new layout (WEBHOOK_V2), never an edit of this one.
        let bytes = encode_webhook(&webhook()).unwrap();
        assert_eq!(hex(&bytes), "010303626f62000b68747470733a2f2f682f780a77687365635f41413d3d020001fd0000018bcfe56800");
        assert_eq!(decode_webhook(&bytes).unwrap(), webhook());
        let bytes = encode_pending(&pending()).unwrap();
        assert_eq!(hex(&bytes), "0103056d73675f3101fd0000018bcfe56800027b7d02fd0000018bcfe56be8");
        assert_eq!(decode_pending(&bytes).unwrap(), pending());
        let bytes = encode_sent(&sent()).unwrap();
        assert_eq!(hex(&bytes), "01056d73675f3103fd0000018bcfe568000101fb01f400");
        assert_eq!(decode_sent(&bytes).unwrap(), sent());
    }

    #[test]
    fn other_versions_trailing_bytes_and_oversized_lengths_are_refused() {
        let mut bytes = encode_webhook(&webhook()).unwrap();
        bytes[0] = 2;
        assert_eq!(decode_webhook(&bytes).unwrap_err(), "a webhook of record version 2; this distencode reads 1");
        assert_eq!(decode_pending(&[]).unwrap_err(), "an empty webhook delivery");
        let mut long = encode_sent(&sent()).unwrap();
        long.push(0);
        assert_eq!(decode_sent(&long).unwrap_err(), "1 bytes after the webhook attempt");
        // An owner claiming 1 GiB: refused by the limit, not allocated.
        assert!(decode_webhook(&[WEBHOOK_V1, 0x03, 0xfc, 0x40, 0x00, 0x00, 0x00]).is_err());
    }

    #[test]
    fn event_names_read_back() {
        for event in Event::ALL {
            assert_eq!(Event::parse(event.as_str()), Some(event));
        }
        assert_eq!(Event::parse("job.started"), None);
        assert!(!Event::JobCancelled.farm_only() && Event::WorkerLost.farm_only());
    }
}
