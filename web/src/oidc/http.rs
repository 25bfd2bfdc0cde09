//! The HTTP client that talks to identity providers: reqwest on rustls with the ring provider (as every other
//! connection of the farm), trusting the system's roots plus a provider's optional CA file, following no redirects,
//! with time limits and a cap on every answer's size.

use crate::WebError;
use openidconnect::{HttpRequest, HttpResponse};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// Bytes of one answer from a provider at most (a discovery document, a key set, a token response).
pub const MAX_RESPONSE_BYTES: usize = 256 * 1024;
/// How long one request to a provider may take.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// How long connecting to a provider may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// A client for one provider.
#[derive(Clone, Debug)]
pub struct Http {
    client: reqwest::Client,
}

/// Why a request to a provider failed.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("{}", explain(.0))]
    Request(#[from] reqwest::Error),
    #[error("the answer is larger than {MAX_RESPONSE_BYTES} bytes")]
    TooLarge,
    #[error("{0}")]
    Build(String),
}

impl Http {
    /// A client trusting the system's roots and, if given, the certificates in `ca_file`.
    pub fn new(ca_file: Option<&Path>) -> Result<Self, WebError> {
        let mut roots = rustls::RootCertStore::empty();
        let native = rustls_native_certs::load_native_certs();
        for certificate in native.certs {
            let _ = roots.add(certificate);
        }
        if let Some(file) = ca_file {
            let text = std::fs::read(file)
                .map_err(|e| WebError::Start(format!("cannot read the CA file {}: {e}", file.display())))?;
            let mut reader = text.as_slice();
            let mut added = 0;
            for certificate in rustls_pemfile_certs(&mut reader) {
                roots.add(certificate).map_err(|e| WebError::Start(format!("{}: {e}", file.display())))?;
                added += 1;
            }
            if added == 0 {
                return Err(WebError::Start(format!("{} holds no PEM certificate", file.display())));
            }
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| WebError::Start(format!("TLS for identity providers: {e}")))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        let client = reqwest::Client::builder()
            .use_preconfigured_tls(tls)
            .redirect(reqwest::redirect::Policy::none())
            .timeout(REQUEST_TIMEOUT)
            .connect_timeout(CONNECT_TIMEOUT)
            .build()
            .map_err(|e| WebError::Start(format!("the client for identity providers: {e}")))?;
        Ok(Http { client })
    }

    /// Sends `request`, reading at most [`MAX_RESPONSE_BYTES`] of the answer.
    pub async fn send(&self, request: HttpRequest) -> Result<HttpResponse, HttpError> {
        let (parts, body) = request.into_parts();
        let url = parts.uri.to_string();
        let mut outgoing = self.client.request(parts.method, url).headers(parts.headers).body(body);
        outgoing = outgoing.header(reqwest::header::USER_AGENT, "distencode");
        let mut response = outgoing.send().await?;
        let mut builder = openidconnect::http::Response::builder().status(response.status());
        for (name, value) in response.headers() {
            builder = builder.header(name, value);
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await? {
            if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
                return Err(HttpError::TooLarge);
            }
            body.extend_from_slice(&chunk);
        }
        builder.body(body).map_err(|e| HttpError::Build(e.to_string()))
    }

    /// A GET of `url`, its body as JSON.
    pub async fn get_json(&self, url: &str) -> Result<serde_json::Value, String> {
        let request = openidconnect::http::Request::builder()
            .method(openidconnect::http::Method::GET)
            .uri(url)
            .header(openidconnect::http::header::ACCEPT, "application/json")
            .body(Vec::new())
            .map_err(|e| e.to_string())?;
        let response = self.send(request).await.map_err(|e| format!("{url}: {e}"))?;
        if !response.status().is_success() {
            return Err(format!("{url} answered {}", response.status()));
        }
        serde_json::from_slice(response.body()).map_err(|e| format!("{url} did not answer JSON: {e}"))
    }
}

/// A request's error with its causes (reqwest's own text names only the address), and what to do when the provider's
/// certificate is not trusted.
fn explain(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        let line = cause.to_string();
        if !text.contains(&line) {
            text.push_str(": ");
            text.push_str(&line);
        }
        source = cause.source();
    }
    if text.contains("invalid peer certificate") {
        text.push_str(" (when a private CA signed the provider's certificate, set ca_file to that CA's certificate)");
    }
    text
}

/// The certificates of a PEM text.
fn rustls_pemfile_certs(reader: &mut &[u8]) -> Vec<rustls_pki_types::CertificateDer<'static>> {
    use rustls_pki_types::pem::PemObject;
    rustls_pki_types::CertificateDer::pem_slice_iter(reader).filter_map(Result::ok).collect()
}

impl<'c> openidconnect::AsyncHttpClient<'c> for Http {
    type Error = HttpError;
    type Future = std::pin::Pin<Box<dyn std::future::Future<Output = Result<HttpResponse, HttpError>> + 'c>>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(self.send(request))
    }
}
