//! When the certificates the coordinator has seen expire: each node's, taken from its handshake, and its own.
//!
//! A certificate that expires stops a worker or a client at its next handshake. The coordinator keeps the expiry of
//! the last certificate each node connected with, so that the web workers page can warn about those expiring within
//! [`EXPIRY_WARNING_DAYS`] and `/metrics` can give every one's days until expiry. A certificate is remembered after
//! its node disconnects (it is the one the node will come back with), until the coordinator restarts.

use distencode_wire::crl::days_until;
use distencode_wire::Role;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// Days before a certificate expires that it shows as expiring.
pub const EXPIRY_WARNING_DAYS: i64 = 30;
/// Nodes whose certificate expiry is kept at most (names come from certificates the CA signed; bounded anyway).
pub const MAX_TRACKED_CERTIFICATES: usize = 10_000;

/// One node's certificate expiry.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct CertificateExpiry {
    pub role: Role,
    pub name: String,
    /// End of validity, Unix seconds.
    pub not_after: i64,
    /// Days until then, a started day counted whole (0 or less: expired).
    pub days_left: i64,
}

/// The expiry of each node's certificate, shared by the connections, the web pages and `/metrics`. Cheap to clone.
#[derive(Clone, Debug, Default)]
pub struct CertificateExpiries(Arc<Mutex<BTreeMap<(Role, String), i64>>>);

impl CertificateExpiries {
    /// Node `name` (of `role`) connected with a certificate valid until `not_after` (Unix seconds).
    pub fn seen(&self, role: Role, name: &str, not_after: i64) {
        let mut known = self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let key = (role, name.to_string());
        if known.len() < MAX_TRACKED_CERTIFICATES || known.contains_key(&key) {
            known.insert(key, not_after);
        }
    }

    /// Every certificate known, by role then name, with its days left at `now` (Unix seconds).
    pub fn all(&self, now: i64) -> Vec<CertificateExpiry> {
        let known = self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        known
            .iter()
            .map(|((role, name), &not_after)| CertificateExpiry {
                role: *role,
                name: name.clone(),
                not_after,
                days_left: days_until(not_after, now),
            })
            .collect()
    }

    /// Those expiring within [`EXPIRY_WARNING_DAYS`] of `now` (or expired), soonest first.
    pub fn expiring(&self, now: i64) -> Vec<CertificateExpiry> {
        let mut soon: Vec<_> = self.all(now).into_iter().filter(|c| c.days_left <= EXPIRY_WARNING_DAYS).collect();
        soon.sort_by(|a, b| (a.not_after, &a.name).cmp(&(b.not_after, &b.name)));
        soon
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_certificates_within_thirty_days_are_expiring_soonest_first() {
        let now = 1_800_000_000;
        let expiries = CertificateExpiries::default();
        expiries.seen(Role::Worker, "w1", now + 40 * 86_400);
        expiries.seen(Role::Worker, "w2", now + 30 * 86_400);
        expiries.seen(Role::Client, "bob", now + 3 * 86_400 - 60);
        expiries.seen(Role::Coordinator, "coord", now + 800 * 86_400);
        let soon: Vec<_> = expiries.expiring(now).into_iter().map(|c| (c.name, c.days_left)).collect();
        assert_eq!(soon, [("bob".to_string(), 3), ("w2".to_string(), 30)]);
        // A node that comes back with a renewed certificate is no longer expiring.
        expiries.seen(Role::Client, "bob", now + 825 * 86_400);
        assert_eq!(expiries.expiring(now).len(), 1);
        assert_eq!(expiries.all(now).len(), 4);
    }
}
