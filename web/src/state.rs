//! What every handler shares: the actors' addresses and the two secrets.

use crate::secret;
use crate::WebError;
use actix::Addr;
use actix_web::cookie::Key;
use distencode_actors::coordinator::Coordinator;
use distencode_actors::metrics::Metrics;
use distencode_actors::registry::WorkerRegistry;
use distencode_actors::server::CertificateExpiries;
use std::sync::atomic::AtomicUsize;

/// The actors the web interface asks.
#[derive(Clone)]
pub struct Actors {
    pub coordinator: Addr<Coordinator>,
    pub registry: Addr<WorkerRegistry>,
    /// The coordinator's metrics (the store's), served at `/metrics`.
    pub metrics: Metrics,
    /// When each node's certificate expires (the workers page warns 30 days ahead).
    pub certificates: CertificateExpiries,
}

pub struct AppState {
    pub actors: Actors,
    /// The sign-in token, as its hex text's bytes (what a link or a bearer header carries).
    pub token: Vec<u8>,
    /// Encrypts and authenticates session cookies.
    pub session_key: Key,
    /// The token `/metrics` needs (`--metrics-token`), as bytes; `None`: it is open.
    pub metrics_token: Option<Vec<u8>>,
    /// Event streams open now, against [`crate::limits::MAX_EVENT_STREAMS`].
    pub streams: AtomicUsize,
}

impl AppState {
    pub fn new(actors: Actors, token: &str, session_key: &str, metrics_token: Option<&str>) -> Result<Self, WebError> {
        let key_bytes =
            secret::unhex(session_key).ok_or_else(|| WebError::Start("the session key is not hex".into()))?;
        let session_key =
            Key::try_from(key_bytes.as_slice()).map_err(|e| WebError::Start(format!("the session key: {e}")))?;
        Ok(AppState {
            actors,
            token: token.as_bytes().to_vec(),
            session_key,
            metrics_token: metrics_token.map(|t| t.as_bytes().to_vec()),
            streams: AtomicUsize::new(0),
        })
    }
}
