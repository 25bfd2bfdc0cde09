//! How many connections the coordinator holds open, in all and per certificate, and how its accept loop behaves
//! when the system has no file descriptor left.
//!
//! Every open connection costs a file descriptor and some memory. Without limits, 1,010 authenticated connections
//! that said Hello and then nothing took every descriptor of a coordinator, and real workers and clients were
//! refused. So every accepted TCP connection holds a [`Permit`]: past [`ConnectionLimits::max_connections`] a new
//! one is closed at once (before TLS); once the peer's certificate is known, past
//! [`ConnectionLimits::max_per_node`] connections under the same role and name it is refused with a line saying so.
//! The global cap is also kept below the process's file descriptor limit, so the listener never runs dry itself.

use distencode_wire::PeerIdentity;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// Connections open at once, all peers together (`--max-connections`).
pub const MAX_CONNECTIONS: usize = 4096;
/// Connections open at once under one certificate, i.e. one role and node name (`--max-connections-per-node`):
/// a worker needs one (two while it reconnects), a person's scripts a handful.
pub const MAX_CONNECTIONS_PER_NODE: usize = 64;
/// How long a client's connection may stay open without a request (`--client-idle-timeout`). Streams the
/// coordinator is sending (`job watch`, `job logs --follow`) are not idle.
pub const CLIENT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// File descriptors the global cap leaves for everything else: the store, its log segments, the listener.
pub const FD_RESERVE: usize = 64;

/// The coordinator's connection limits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// Connections open at once in all, handshakes included.
    pub max_connections: usize,
    /// Connections open at once under one role and node name.
    pub max_per_node: usize,
    /// A client connection without a request for this long is closed.
    pub client_idle_timeout: Duration,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self {
            max_connections: MAX_CONNECTIONS,
            max_per_node: MAX_CONNECTIONS_PER_NODE,
            client_idle_timeout: CLIENT_IDLE_TIMEOUT,
        }
    }
}

impl ConnectionLimits {
    /// These limits with the global cap lowered, if need be, to `fd_limit` less [`FD_RESERVE`].
    pub fn within_fd_limit(self, fd_limit: Option<usize>) -> Self {
        let Some(fds) = fd_limit else { return self };
        let room = fds.saturating_sub(FD_RESERVE).max(1);
        Self { max_connections: self.max_connections.min(room), ..self }
    }
}

/// The soft limit on open files of this process, from `/proc/self/limits` (`None` where it cannot be read).
pub fn open_files_limit() -> Option<usize> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line["Max open files".len()..].split_whitespace().next()?.parse().ok()
}

/// What the coordinator counts; shared by the accept loop and every connection task.
#[derive(Debug)]
pub struct Admission {
    limits: ConnectionLimits,
    counts: Mutex<Counts>,
}

#[derive(Debug, Default)]
struct Counts {
    /// Connections holding a permit.
    open: usize,
    /// Identified connections per role and name; a name with none is removed.
    per_node: HashMap<PeerIdentity, usize>,
    /// Connections closed at the global cap since it was last reached; logged when room comes back.
    turned_away: u64,
}

/// Why a connection is not admitted; `Full` is logged once per time the cap is reached.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The global cap is reached; `first` is true for the first connection closed since it was.
    Full { open: usize, first: bool },
}

/// Why an identified connection is refused: its certificate has the per-node cap of connections open already. The
/// text is the peer's answer to its `Hello`.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "refused: {peer} already has {open} connections open, the limit per node (--max-connections-per-node); close some \
     and try again"
)]
pub struct PerNodeFull {
    pub peer: PeerIdentity,
    pub open: usize,
}

impl Admission {
    pub fn new(limits: ConnectionLimits) -> Arc<Self> {
        Arc::new(Self { limits, counts: Mutex::new(Counts::default()) })
    }

    pub fn limits(&self) -> ConnectionLimits {
        self.limits
    }

    fn counts(&self) -> MutexGuard<'_, Counts> {
        // A panic elsewhere while counting leaves numbers that are still the best we have.
        self.counts.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A permit for a connection just accepted, or the refusal at the global cap.
    pub fn open(self: &Arc<Self>) -> Result<Permit, Refusal> {
        let mut counts = self.counts();
        if counts.open >= self.limits.max_connections {
            counts.turned_away += 1;
            return Err(Refusal::Full { open: counts.open, first: counts.turned_away == 1 });
        }
        counts.open += 1;
        Ok(Permit { admission: Arc::clone(self), node: None })
    }

    /// Connections open now, in all and under `node`.
    pub fn open_now(&self, node: &PeerIdentity) -> (usize, usize) {
        let counts = self.counts();
        (counts.open, counts.per_node.get(node).copied().unwrap_or(0))
    }
}

/// One open connection, counted until it is dropped.
#[derive(Debug)]
pub struct Permit {
    admission: Arc<Admission>,
    /// Whose connection it is, once the handshake has said so.
    node: Option<PeerIdentity>,
}

impl Permit {
    /// Counts this connection under `peer`, or refuses it past the per-node cap with a line for the peer.
    pub fn identify(&mut self, peer: &PeerIdentity) -> Result<(), PerNodeFull> {
        let limit = self.admission.limits.max_per_node;
        let mut counts = self.admission.counts();
        let count = counts.per_node.entry(peer.clone()).or_insert(0);
        if *count >= limit {
            let open = *count;
            if open == 0 {
                counts.per_node.remove(peer);
            }
            return Err(PerNodeFull { peer: peer.clone(), open });
        }
        *count += 1;
        drop(counts);
        self.node = Some(peer.clone());
        Ok(())
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        let mut counts = self.admission.counts();
        counts.open = counts.open.saturating_sub(1);
        if let Some(node) = self.node.take() {
            if let Some(count) = counts.per_node.get_mut(&node) {
                *count = count.saturating_sub(1);
                if *count == 0 {
                    counts.per_node.remove(&node);
                }
            }
        }
        if counts.turned_away > 0 && counts.open < self.admission.limits.max_connections {
            let turned_away = std::mem::take(&mut counts.turned_away);
            tracing::info!(turned_away, "below the connection limit again; accepting connections");
        }
    }
}

/// The accept loop's answer to failing `accept` calls (out of file descriptors, mostly): wait longer after each
/// failure in a row, and log only the first of them and the recovery.
#[derive(Debug, Default)]
pub struct AcceptBackoff {
    /// Failures since the last accept that worked.
    failures: u32,
}

/// The first wait after a failed accept; each further failure in a row doubles it, up to [`ACCEPT_BACKOFF_MAX`].
pub const ACCEPT_BACKOFF_MIN: Duration = Duration::from_millis(10);
/// The longest wait between accept attempts that keep failing.
pub const ACCEPT_BACKOFF_MAX: Duration = Duration::from_secs(1);

impl AcceptBackoff {
    /// After a failed accept: how long to wait, and whether this failure is the first of a run (to be logged).
    pub fn failed(&mut self) -> (Duration, bool) {
        self.failures = self.failures.saturating_add(1);
        let doubled = ACCEPT_BACKOFF_MIN.saturating_mul(1 << (self.failures - 1).min(16));
        (doubled.min(ACCEPT_BACKOFF_MAX), self.failures == 1)
    }

    /// After an accept that worked: how many failed in a row before it, if any did.
    pub fn succeeded(&mut self) -> Option<u32> {
        Some(std::mem::take(&mut self.failures)).filter(|&n| n > 0)
    }
}

#[cfg(test)]
mod tests;
