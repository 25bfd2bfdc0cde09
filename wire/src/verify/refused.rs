//! The certificates the coordinator's verifier refuses, handed on so that each can go into the audit trail.
//!
//! A refusal happens inside rustls' handshake, where nothing can be awaited and no store is in reach, and the peer
//! learns only an alert. [`Refusals`] is the way out: the verifier puts each refused certificate (who it names, its
//! serial, the reason) into a bounded queue without waiting, and the coordinator takes them from
//! [`Refusals::take_receiver`]'s end and records them. A peer that handshakes faster than they are recorded cannot
//! grow the queue: once it holds [`MAX_QUEUED_REFUSALS`], further refusals are only counted ([`Refusals::dropped`]).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use rustls_pki_types::CertificateDer;
use tokio::sync::mpsc;

/// Refusals waiting to be recorded, at most.
pub const MAX_QUEUED_REFUSALS: usize = 256;

/// One certificate refused at the handshake.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefusedCertificate {
    /// The node name the certificate's SAN gives, or a description when it gives none (it is the peer's text).
    pub name: String,
    /// Its serial in hex, when it can be read.
    pub serial: String,
    /// Why, as the end of a sentence: `it has been revoked`, `the certificate expired on ...`.
    pub reason: String,
}

impl RefusedCertificate {
    /// The refusal of `leaf` for `error` (a rustls certificate error, or one of ours inside it).
    pub fn of(leaf: &CertificateDer<'_>, error: &rustls::Error) -> Self {
        let name = crate::identity::identity_from_cert(leaf)
            .map_or_else(|_| "(a certificate without a node name)".to_string(), |id| id.name);
        let serial = crate::crl::serial_of(leaf).map(|s| crate::crl::serial_hex(&s)).unwrap_or_default();
        let reason = match error {
            rustls::Error::InvalidCertificate(e) => crate::tls_error::describe_certificate_error(e),
            other => other.to_string(),
        };
        Self { name, serial, reason }
    }
}

/// The queue between the verifier and whoever records its refusals.
#[derive(Debug)]
pub struct Refusals {
    sender: mpsc::Sender<RefusedCertificate>,
    /// The receiving end, until someone takes it.
    receiver: Mutex<Option<mpsc::Receiver<RefusedCertificate>>>,
    /// Refusals that found the queue full (or nobody taking them) and were not queued.
    dropped: AtomicU64,
}

impl Default for Refusals {
    fn default() -> Self {
        let (sender, receiver) = mpsc::channel(MAX_QUEUED_REFUSALS);
        Self { sender, receiver: Mutex::new(Some(receiver)), dropped: AtomicU64::new(0) }
    }
}

impl Refusals {
    /// Queues `refused` without waiting; when the queue is full it is counted instead.
    pub fn push(&self, refused: RefusedCertificate) {
        if self.sender.try_send(refused).is_err() {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The receiving end: the first call gets it, later ones `None`.
    pub fn take_receiver(&self) -> Option<mpsc::Receiver<RefusedCertificate>> {
        self.receiver.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).take()
    }

    /// How many refusals were not queued, since the start.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls::CertificateError;

    fn refusal(n: usize) -> RefusedCertificate {
        RefusedCertificate { name: format!("n{n}"), serial: String::new(), reason: "it has been revoked".into() }
    }

    #[test]
    fn the_queue_holds_its_cap_and_counts_the_rest() {
        let refusals = Refusals::default();
        for n in 0..MAX_QUEUED_REFUSALS + 3 {
            refusals.push(refusal(n));
        }
        assert_eq!(refusals.dropped(), 3);
        let mut receiver = refusals.take_receiver().expect("the first take gets the receiver");
        assert!(refusals.take_receiver().is_none());
        let mut got = Vec::new();
        while let Ok(r) = receiver.try_recv() {
            got.push(r);
        }
        assert_eq!(got.len(), MAX_QUEUED_REFUSALS);
        assert_eq!(got[0], refusal(0));
    }

    #[test]
    fn a_certificate_that_is_not_one_is_described_not_trusted() {
        let refused = RefusedCertificate::of(
            &CertificateDer::from(vec![0x30, 0x03, 0x02, 0x01, 0x01]),
            &rustls::Error::InvalidCertificate(CertificateError::Revoked),
        );
        assert_eq!(refused.name, "(a certificate without a node name)");
        assert_eq!(refused.reason, "it has been revoked");
    }
}
