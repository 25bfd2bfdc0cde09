//! The coordinator's web interface: HTTPS pages, a JSON API under `/api/v1/` and event streams.
//!
//! It runs inside the coordinator's actix System ([`start`]) and asks the Coordinator and the WorkerRegistry the same
//! typed questions a client's connection does, through their `Addr`s; it holds no state of its own beyond sessions.
//! A request passes, in this order: the [`guard`] (size caps, origin checks, security headers), the caller's
//! authentication ([`auth`]: a session cookie or a bearer token, and the CSRF token on every POST of a session),
//! then a thin handler ([`api`], [`pages`]) that asks one actor and renders the answer. Around all of it,
//! [`metrics::count`] counts each request by route and status; `/metrics` ([`metrics`]) needs no session.

mod actions;
pub mod api;
pub mod auth;
mod error;
mod guard;
pub mod json;
pub mod limits;
pub mod metrics;
pub mod oidc;
pub mod pages;
mod query;
pub mod secret;
pub mod session;
mod sse;
mod state;
mod static_files;
pub mod submit;
pub mod tls;
pub mod webhooks;

pub use error::WebError;
pub use state::{Actors, SignInSettings};

use actix_web::{web, App, HttpServer};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

/// How the web interface is set up (`--web-listen`, `--web-cert`, `--web-key`).
#[derive(Clone, Debug)]
pub struct WebConfig {
    /// HOST:PORT to listen on (port 0 picks a free one).
    pub listen: String,
    /// The certificate chain (PEM) the browser sees: the coordinator's own unless `--web-cert` names another.
    pub cert: PathBuf,
    /// Its private key (PEM).
    pub key: PathBuf,
    /// The coordinator's data folder: the sign-in token and the session key are kept there.
    pub data_dir: PathBuf,
    /// The bearer token `/metrics` needs (`--metrics-token`); `None`: `/metrics` is open.
    pub metrics_token: Option<String>,
    /// The identity providers people sign in with (`[[oidc]]`), checked.
    pub oidc: Vec<oidc::ProviderSettings>,
    /// `web_token_signin`: the sign-in token works while providers are configured.
    pub token_signin: bool,
    /// The users' settings (admins).
    pub users: Arc<distencode_actors::auth::Users>,
}

/// A running web interface.
pub struct Running {
    /// Where it listens.
    pub local: SocketAddr,
    /// `https://HOST:PORT/`, as printed.
    pub url: String,
    /// The sign-in link: the one holding the token, or the sign-in page when the token is off.
    pub sign_in: String,
    /// Stops the server.
    pub handle: actix_web::dev::ServerHandle,
}

/// The web interface's port, bound, with its certificate, token and session key loaded: everything that can fail
/// on a bad setting, done before the coordinator's actors start.
pub struct Bound {
    tls: Arc<rustls::ServerConfig>,
    token: String,
    session_key: String,
    metrics_token: Option<String>,
    listener: std::net::TcpListener,
    local: SocketAddr,
    host: String,
    sign_in: SignInSettings,
}

/// Reads the certificate, the token and the session key (writing those two to the data folder the first time) and
/// binds the port.
pub fn bind(config: &WebConfig) -> Result<Bound, WebError> {
    let tls = tls::server_config(&config.cert, &config.key)?;
    let token = secret::load_or_create(&config.data_dir.join(secret::TOKEN_FILE), secret::TOKEN_BYTES)?;
    let session_key = secret::load_or_create(&config.data_dir.join(secret::SESSION_KEY_FILE), secret::KEY_BYTES)?;
    let listener = std::net::TcpListener::bind(&config.listen)
        .map_err(|e| WebError::Start(format!("cannot listen on {} for the web interface: {e}", config.listen)))?;
    let local = listener.local_addr().map_err(|e| WebError::Start(e.to_string()))?;
    if secret::unhex(&session_key).is_none() {
        let file = config.data_dir.join(secret::SESSION_KEY_FILE);
        return Err(WebError::Start(format!("{} is not a hex key: remove it to make a new one", file.display())));
    }
    let providers = config
        .oidc
        .iter()
        .map(|settings| oidc::Provider::new(settings.clone()).map(Arc::new))
        .collect::<Result<Vec<_>, _>>()?;
    let token_signin = providers.is_empty() || config.token_signin;
    let sign_in = SignInSettings { providers, token_signin, users: config.users.clone() };
    Ok(Bound {
        sign_in,
        tls,
        token,
        session_key,
        metrics_token: config.metrics_token.clone(),
        listener,
        local,
        host: url_host(&config.listen, local),
    })
}

impl Bound {
    /// Starts serving on the current actix System, asking `actors`.
    pub fn serve(self, actors: Actors) -> Result<Running, WebError> {
        let Bound { tls, token, session_key, metrics_token, listener, local, host, sign_in } = self;
        let metrics = web::Data::new(actors.metrics.clone());
        let token_signin = sign_in.token_signin;
        let mut callback_paths: Vec<String> =
            sign_in.providers.iter().map(|p| p.settings.callback_path.clone()).collect();
        callback_paths.sort();
        callback_paths.dedup();
        for provider in &sign_in.providers {
            // Discovery now, so the first sign-in is quick; a provider that is down is asked again at a sign-in.
            let provider = provider.clone();
            actix_rt::spawn(async move { provider.discover_logged().await });
        }
        let state =
            web::Data::new(state::AppState::new(actors, &token, &session_key, metrics_token.as_deref(), sign_in)?);
        let server = HttpServer::new(move || {
            App::new()
                .app_data(state.clone())
                .app_data(metrics.clone())
                .app_data(web::PayloadConfig::new(limits::MAX_BODY_BYTES))
                .app_data(web::JsonConfig::default().limit(limits::MAX_BODY_BYTES))
                .app_data(web::FormConfig::default().limit(limits::MAX_BODY_BYTES))
                .app_data(web::QueryConfig::default())
                .wrap(actix_web::middleware::from_fn(guard::guard))
                .wrap(actix_web::middleware::from_fn(metrics::count))
                .configure(metrics::routes)
                .configure(webhooks::routes)
                .configure(api::routes)
                .configure(|config| oidc::routes::routes(config, &callback_paths))
                .configure(pages::routes)
                .configure(static_files::routes)
        })
        .workers(limits::HTTP_WORKERS)
        .disable_signals()
        .listen_rustls_0_23(listener, Arc::unwrap_or_clone(tls))
        .map_err(|e| WebError::Start(format!("cannot serve the web interface on {local}: {e}")))?
        .run();
        let handle = server.handle();
        actix_rt::spawn(async move {
            if let Err(e) = server.await {
                tracing::error!("web interface stopped: {e}");
            }
        });
        let url = format!("https://{host}/");
        let sign_in = if token_signin { format!("{url}?token={token}") } else { format!("{url}signin") };
        tracing::info!(%local, "web interface listening");
        Ok(Running { local, url, sign_in, handle })
    }
}

/// The host a browser should use: the one given in `--web-listen`, with the port actually bound.
fn url_host(listen: &str, local: SocketAddr) -> String {
    let host = listen.rsplit_once(':').map_or(listen, |(host, _)| host);
    let host = if host.is_empty() || host == "0.0.0.0" || host == "[::]" { "localhost" } else { host };
    format!("{host}:{}", local.port())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_printed_address_keeps_the_host_given_and_the_port_bound() {
        let local: SocketAddr = "127.0.0.1:40123".parse().unwrap();
        assert_eq!(url_host("127.0.0.1:0", local), "127.0.0.1:40123");
        assert_eq!(url_host("localhost:8443", local), "localhost:40123");
        assert_eq!(url_host("0.0.0.0:0", local), "localhost:40123");
        assert_eq!(url_host("[::1]:0", local), "[::1]:40123");
    }
}
