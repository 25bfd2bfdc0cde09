//! The coordinator's network side: it accepts mutual-TLS connections and relays each peer's messages to the actors.
//!
//! The TLS handshake verifies the peer's chain against the cluster CA; [`connection::accept`] then checks the peer's
//! role before any frame is read. Workers go to [`worker_session`], clients to [`client_session`]. A refused
//! connection is logged with the reason and never reaches an actor.

mod client_session;
mod worker_session;

use crate::coordinator::Coordinator;
use crate::registry::WorkerRegistry;
use actix::Addr;
use distencode_wire::connection::{self, ConnectionError};
use distencode_wire::Role;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

/// Everything a connection task needs.
#[derive(Clone)]
pub struct ServerContext {
    pub coordinator: Addr<Coordinator>,
    pub registry: Addr<WorkerRegistry>,
    /// Heartbeats are sent this often; a peer silent for `heartbeat_timeout` is disconnected.
    pub heartbeat_interval: Duration,
    pub heartbeat_timeout: Duration,
}

/// Accepts connections until the listener fails. Each connection runs as its own task on this thread.
pub async fn serve(
    listener: TcpListener,
    tls: Arc<rustls::ServerConfig>,
    context: ServerContext,
) -> std::io::Result<()> {
    let acceptor = TlsAcceptor::from(tls);
    loop {
        let (tcp, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of file descriptors and the like: wait a little instead of spinning.
                tracing::warn!("accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let acceptor = acceptor.clone();
        let context = context.clone();
        actix_rt::spawn(async move {
            match connection::accept(tcp, acceptor, &[Role::Worker, Role::Client]).await {
                Ok((conn, identity)) => match identity.role {
                    Role::Worker => worker_session::run(conn, identity.name, context).await,
                    Role::Client => client_session::run(conn, identity.name, context).await,
                    Role::Coordinator => {}
                },
                Err(e @ (ConnectionError::Handshake { .. } | ConnectionError::Refused(_))) => {
                    tracing::warn!(%peer, "refused connection: {e}");
                }
                Err(e) => tracing::info!(%peer, "connection ended during the handshake: {e}"),
            }
        });
    }
}
