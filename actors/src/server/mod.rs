//! The coordinator's network side: it accepts mutual-TLS connections and relays each peer's messages to the actors.
//!
//! The TLS handshake verifies the peer's chain against the cluster CA; [`connection::accept`] then checks the peer's
//! role before any frame is read. Workers go to [`worker_session`], clients to [`client_session`]. A refused
//! connection is logged with the reason and never reaches an actor; a refused certificate also goes into the audit
//! trail ([`refused_certificates`]).
//!
//! Every connection holds a [`admission::Permit`] from the moment it is accepted: the coordinator caps
//! connections in all and per certificate, closes clients that send nothing, and backs off when `accept` fails.
//!
//! A connection whose certificate the CA's CRL comes to revoke while it is open is closed at once
//! ([`ServerContext::revoked`]); a revoked worker is lost then and there, and its job requeued.

pub mod admission;
mod client_session;
pub mod expiry;
pub mod refused_certificates;
mod worker_session;

pub use admission::ConnectionLimits;
use admission::{open_files_limit, AcceptBackoff, Admission, Refusal};
pub use expiry::{CertificateExpiries, CertificateExpiry};

use crate::coordinator::Coordinator;
use crate::registry::WorkerRegistry;
use actix::Addr;
use distencode_wire::connection::{self, ConnectionError};
use distencode_wire::revocation::{self, RevokedSerials};
use distencode_wire::Role;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;

/// Everything a connection task needs.
#[derive(Clone)]
pub struct ServerContext {
    pub coordinator: Addr<Coordinator>,
    pub registry: Addr<WorkerRegistry>,
    /// Heartbeats are sent this often; a peer silent for `heartbeat_timeout` is disconnected.
    pub heartbeat_interval: Duration,
    pub heartbeat_timeout: Duration,
    /// Connection caps and the clients' idle timeout.
    pub limits: ConnectionLimits,
    /// How client certificates map to users and who is an admin (the Coordinator holds the same).
    pub users: Arc<crate::auth::Users>,
    /// The serials the CA's CRL revokes: a connection whose certificate appears here is closed at once.
    pub revoked: watch::Receiver<RevokedSerials>,
    /// Each node's certificate expiry, recorded at each connection (the web pages and `/metrics` read it).
    pub expiries: CertificateExpiries,
    /// The house presets of the coordinator's config, checked, sent to whoever asks.
    pub presets: Arc<Vec<distencode_wire::preset::PresetView>>,
}

/// Accepts connections until the listener fails. Each connection runs as its own task on this thread.
pub async fn serve(
    listener: TcpListener,
    tls: Arc<rustls::ServerConfig>,
    context: ServerContext,
) -> std::io::Result<()> {
    let (_never, shutdown) = watch::channel(false);
    serve_until(listener, tls, context, shutdown).await
}

/// As [`serve`], until `shutdown` turns true: then it stops accepting (the listener closes) and returns, and every
/// connection closes cleanly (TLS close_notify) once the request it is serving has been answered. Each connection
/// holds a clone of `shutdown`: the sender's `closed()` tells when all have ended.
pub async fn serve_until(
    listener: TcpListener,
    tls: Arc<rustls::ServerConfig>,
    context: ServerContext,
    mut shutdown: watch::Receiver<bool>,
) -> std::io::Result<()> {
    let acceptor = TlsAcceptor::from(tls);
    let fd_limit = open_files_limit();
    let limits = context.limits.within_fd_limit(fd_limit);
    if limits.max_connections < context.limits.max_connections {
        tracing::warn!(
            "--max-connections lowered from {} to {}: this process may open only {} files (raise LimitNOFILE)",
            context.limits.max_connections,
            limits.max_connections,
            fd_limit.unwrap_or_default()
        );
    }
    let admission = Admission::new(limits);
    let mut backoff = AcceptBackoff::default();
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = shutdown.wait_for(|stop| *stop) => return Ok(()),
        };
        let (tcp, peer) = match accepted {
            Ok(accepted) => {
                if let Some(failures) = backoff.succeeded() {
                    tracing::info!(failures, "accepting connections again");
                }
                accepted
            }
            Err(e) => {
                // Out of file descriptors and the like: wait longer after each failure instead of spinning, and
                // say so once, not at every attempt.
                let (wait, first) = backoff.failed();
                if first {
                    tracing::warn!(
                        "accept failed: {e}; retrying with a back-off of up to {:?}, not logging each failure",
                        admission::ACCEPT_BACKOFF_MAX
                    );
                }
                tokio::time::sleep(wait).await;
                continue;
            }
        };
        let mut permit = match admission.open() {
            Ok(permit) => permit,
            Err(Refusal::Full { open, first }) => {
                if first {
                    tracing::warn!(%peer, "refused connection: {open} connections are open, the limit (--max-connections); closing new ones until one ends, not logging each");
                }
                continue;
            }
        };
        let acceptor = acceptor.clone();
        let context = context.clone();
        let shutdown = shutdown.clone();
        actix_rt::spawn(async move {
            let allowed = [Role::Worker, Role::Client];
            match connection::accept_admitting(tcp, acceptor, &allowed, |node| permit.identify(node)).await {
                Ok((conn, identity)) => {
                    let certificate = conn.peer_certificate();
                    if let Some(certificate) = &certificate {
                        context.expiries.seen(identity.role, &identity.name, certificate.not_after);
                    }
                    let revoked = revocation::revoked(certificate.map(|c| c.serial), context.revoked.clone());
                    match identity.role {
                        Role::Worker => worker_session::run(conn, identity.name, context, shutdown, revoked).await,
                        Role::Client => {
                            let name = identity.name.clone();
                            tokio::select! {
                                _ = client_session::run(conn, identity.name, context, shutdown) => {}
                                _ = revoked => {
                                    tracing::warn!(client = %name, %peer, "disconnected client {name:?}: its certificate was revoked");
                                }
                            }
                        }
                        Role::Coordinator => {}
                    }
                }
                Err(e @ (ConnectionError::Handshake { .. } | ConnectionError::Refused(_))) => {
                    tracing::warn!(%peer, "refused connection: {e}");
                }
                Err(e) => tracing::info!(%peer, "connection ended during the handshake: {e}"),
            }
            drop(permit);
        });
    }
}
