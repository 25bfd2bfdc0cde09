//! What every handler shares: the actors' addresses, the two secrets, the identity providers and the users'
//! settings.

use crate::oidc::Provider;
use crate::secret;
use crate::WebError;
use actix::Addr;
use actix_web::cookie::Key;
use distencode_actors::auth::Users;
use distencode_actors::coordinator::Coordinator;
use distencode_actors::metrics::Metrics;
use distencode_actors::registry::WorkerRegistry;
use distencode_actors::server::CertificateExpiries;
use distencode_actors::webhooks::Webhooks;
use std::sync::atomic::AtomicUsize;
use std::sync::Arc;

/// The actors the web interface asks.
#[derive(Clone)]
pub struct Actors {
    pub coordinator: Addr<Coordinator>,
    pub registry: Addr<WorkerRegistry>,
    /// The coordinator's metrics (the store's), served at `/metrics`.
    pub metrics: Metrics,
    /// When each node's certificate expires (the workers page warns 30 days ahead).
    pub certificates: CertificateExpiries,
    /// Makes, shows and deletes webhooks.
    pub webhooks: Addr<Webhooks>,
    /// The house presets of the coordinator's config (`[[preset]]`), checked: a submit may name one.
    pub presets: std::sync::Arc<Vec<distencode_wire::preset::PresetView>>,
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
    /// The identity providers, in the order of the settings (the sign-in page's buttons).
    pub providers: Vec<Arc<Provider>>,
    /// Whether the sign-in token works (the `?token=` link and `Authorization: Bearer`): always without providers,
    /// with them only when `web_token_signin` is set.
    pub token_signin: bool,
    /// Admins and the rest of the users' settings: a sign-in's role.
    pub users: Arc<Users>,
}

/// What [`AppState::new`] needs beyond the actors and secrets: the sign-in's settings.
#[derive(Clone, Default)]
pub struct SignInSettings {
    pub providers: Vec<Arc<Provider>>,
    pub token_signin: bool,
    pub users: Arc<Users>,
}

impl AppState {
    pub fn new(
        actors: Actors,
        token: &str,
        session_key: &str,
        metrics_token: Option<&str>,
        sign_in: SignInSettings,
    ) -> Result<Self, WebError> {
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
            providers: sign_in.providers,
            token_signin: sign_in.token_signin,
            users: sign_in.users,
        })
    }
}
