//! Refused certificates into the audit trail: each certificate the handshake refuses (revoked, expired, not the
//! cluster's, without the right key usage) becomes an entry with the name it gives, its serial and the reason.
//!
//! The verifier queues them ([`distencode_wire::verify::refused`]); [`record`] takes them off that queue and has
//! the Coordinator write them. A node whose certificate was revoked redials every few seconds, and anyone can
//! handshake in a loop, so one certificate refused for one reason makes one entry per [`REPEAT_WINDOW`]: the
//! refusals in between are counted, and the next entry says how many there were.

use crate::coordinator::{audit::Record, Coordinator};
use actix::Addr;
use distencode_wire::audit::{AuditAction, AuditEntry, AuditOutcome, Route};
use distencode_wire::verify::refused::RefusedCertificate;
use std::collections::HashMap;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// One certificate refused for one reason makes at most one entry this often.
pub const REPEAT_WINDOW: Duration = Duration::from_secs(60);
/// Certificates (with their reasons) remembered for [`REPEAT_WINDOW`] at most; past it, the oldest are forgotten.
const MAX_REMEMBERED: usize = 1024;

/// Records every refusal `refused` gives until the verifier is gone.
pub async fn record(mut refused: mpsc::Receiver<RefusedCertificate>, coordinator: Addr<Coordinator>) {
    let mut repeats = Repeats::default();
    while let Some(refusal) = refused.recv().await {
        let Some(entry) = repeats.entry(refusal, Instant::now()) else { continue };
        if let Err(e) = coordinator.send(Record(entry)).await {
            tracing::error!("a refused certificate could not be recorded in the audit trail: {e}");
        }
    }
}

/// The key a refusal is counted under: the certificate (serial and name) and the reason.
type Key = (String, String, String);

/// When each certificate was last recorded, and how often it was refused since.
#[derive(Default)]
struct Repeats {
    seen: HashMap<Key, (Instant, u64)>,
}

impl Repeats {
    /// The entry to write for `refusal` at `now`, or `None` when the same one was written less than
    /// [`REPEAT_WINDOW`] ago (then it is counted).
    fn entry(&mut self, refusal: RefusedCertificate, now: Instant) -> Option<AuditEntry> {
        let key = (refusal.serial.clone(), refusal.name.clone(), refusal.reason.clone());
        let mut since = 0;
        if let Some((last, skipped)) = self.seen.get_mut(&key) {
            if now.duration_since(*last) < REPEAT_WINDOW {
                *skipped += 1;
                return None;
            }
            since = *skipped;
        }
        if self.seen.len() >= MAX_REMEMBERED && !self.seen.contains_key(&key) {
            self.seen.retain(|_, (last, _)| now.duration_since(*last) < REPEAT_WINDOW);
            if self.seen.len() >= MAX_REMEMBERED {
                self.seen.clear();
            }
        }
        self.seen.insert(key, (now, 0));
        let target = match refusal.serial.as_str() {
            "" => "certificate".to_string(),
            serial => format!("certificate {serial}"),
        };
        let reason = match since {
            0 => refusal.reason,
            n => format!("{} (refused {n} more times since the last entry)", refusal.reason),
        };
        Some(AuditEntry::new(
            &refusal.name,
            Route::Cli,
            AuditAction::Certificate,
            &target,
            AuditOutcome::Refused(reason),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn revoked(name: &str) -> RefusedCertificate {
        RefusedCertificate { name: name.into(), serial: "0A1B".into(), reason: "it has been revoked".into() }
    }

    #[test]
    fn a_refusal_is_recorded_with_its_name_serial_and_reason() {
        let entry = Repeats::default().entry(revoked("alice-laptop"), Instant::now()).unwrap();
        assert_eq!(entry.user, "alice-laptop");
        assert_eq!(entry.action, AuditAction::Certificate);
        assert_eq!(entry.target, "certificate 0A1B");
        assert_eq!(entry.outcome, AuditOutcome::Refused("it has been revoked".into()));
    }

    #[test]
    fn repeats_within_the_window_are_counted_into_the_next_entry() {
        let mut repeats = Repeats::default();
        let start = Instant::now();
        assert!(repeats.entry(revoked("w1"), start).is_some());
        assert!(repeats.entry(revoked("w1"), start + Duration::from_secs(5)).is_none());
        assert!(repeats.entry(revoked("w1"), start + Duration::from_secs(59)).is_none());
        // Another certificate, or another reason, is not a repeat.
        assert!(repeats.entry(revoked("w2"), start + Duration::from_secs(6)).is_some());
        let expired = RefusedCertificate { reason: "the certificate expired".into(), ..revoked("w1") };
        assert!(repeats.entry(expired, start + Duration::from_secs(7)).is_some());
        let next = repeats.entry(revoked("w1"), start + REPEAT_WINDOW).unwrap();
        assert_eq!(
            next.outcome,
            AuditOutcome::Refused("it has been revoked (refused 2 more times since the last entry)".into())
        );
    }

    #[test]
    fn many_certificates_do_not_grow_the_memory_past_its_cap() {
        let mut repeats = Repeats::default();
        let now = Instant::now();
        for n in 0..MAX_REMEMBERED * 3 {
            let refusal = RefusedCertificate { serial: format!("{n:X}"), ..revoked("flood") };
            assert!(repeats.entry(refusal, now).is_some());
            assert!(repeats.seen.len() <= MAX_REMEMBERED);
        }
    }
}
