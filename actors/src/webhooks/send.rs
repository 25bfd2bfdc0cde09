//! One delivery over HTTP, signed as Standard Webhooks asks: a `POST` of the JSON body with `webhook-id` (the same
//! on every attempt), `webhook-timestamp` (Unix seconds, of this attempt) and `webhook-signature` (`v1,` and the
//! base64 of the HMAC-SHA256 of `id.timestamp.body` under the webhook's secret, made by the `standardwebhooks`
//! crate), and `distencode-event` naming the event.
//!
//! The client is reqwest on rustls with the ring provider and the system's roots, as the rest of the farm's TLS. It
//! follows no redirect (a 3xx is an answer that is not an acknowledgement), gives up on a receiver after
//! [`REQUEST_TIMEOUT`], and, unless private addresses are allowed, connects only to public ones ([`address`]).

use super::address::{self, PublicOnly};
use crate::store::Due;
use std::sync::Arc;
use std::time::Duration;

/// How long one delivery may take, answer included.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// How long connecting to a receiver may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The header naming the event (`job.succeeded`, ...).
pub const EVENT_HEADER: &str = "distencode-event";

/// How an attempt went: the receiver's status if it answered, else why not.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    pub status: Option<u16>,
    pub error: Option<String>,
}

impl Outcome {
    fn failed(error: impl Into<String>) -> Self {
        Outcome { status: None, error: Some(error.into()) }
    }
}

/// The client every delivery goes through.
pub fn client(allow_private: bool) -> Result<reqwest::Client, String> {
    let mut roots = rustls::RootCertStore::empty();
    for certificate in rustls_native_certs::load_native_certs().certs {
        let _ = roots.add(certificate);
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS for webhooks: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    let mut builder = reqwest::Client::builder()
        .use_preconfigured_tls(tls)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(REQUEST_TIMEOUT)
        .connect_timeout(CONNECT_TIMEOUT)
        .user_agent(concat!("distencode/", env!("CARGO_PKG_VERSION")));
    if !allow_private {
        builder = builder.dns_resolver(Arc::new(PublicOnly));
    }
    builder.build().map_err(|e| format!("the client for webhooks: {e}"))
}

/// Sends `due` once.
pub async fn deliver(client: &reqwest::Client, due: &Due, allow_private: bool, now_secs: i64) -> Outcome {
    let url = match address::check_url(&due.url) {
        Ok(url) => url,
        Err(e) => return Outcome::failed(e),
    };
    // A name is checked by the resolver; an address written in the URL reaches no resolver.
    if let Some(ip) = address::literal(&url).filter(|ip| !allow_private && address::is_private(*ip)) {
        return Outcome::failed(address::refusal(&url, ip));
    }
    let signature = match standardwebhooks::Webhook::new(&due.secret)
        .and_then(|signer| signer.sign(&due.pending.message, now_secs, due.pending.body.as_bytes()))
    {
        Ok(signature) => signature,
        Err(e) => return Outcome::failed(format!("cannot sign: {e}")),
    };
    let request = client
        .post(url)
        .header("webhook-id", &due.pending.message)
        .header("webhook-timestamp", now_secs.to_string())
        .header("webhook-signature", signature)
        .header(EVENT_HEADER, due.pending.event.as_str())
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(due.pending.body.clone());
    match request.send().await {
        Ok(response) => {
            let status = response.status();
            let error = status.is_redirection().then(|| {
                let to = response.headers().get(reqwest::header::LOCATION).and_then(|l| l.to_str().ok());
                format!("a redirect (to {}) is not followed", to.unwrap_or("nowhere said"))
            });
            Outcome { status: Some(status.as_u16()), error }
        }
        Err(e) => Outcome::failed(causes(&e)),
    }
}

/// An error with every cause below it, `a: b: c`, since reqwest's own text hides why (a refused address, a timeout).
fn causes(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut next = error.source();
    while let Some(cause) = next {
        let line = cause.to_string();
        if !text.contains(&line) {
            text.push_str(": ");
            text.push_str(&line);
        }
        next = cause.source();
    }
    text
}
