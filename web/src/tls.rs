//! The web port's TLS: a server certificate and no client certificates (browsers have none), on rustls with the
//! ring provider like every other connection of the farm. HTTP/1.1 only: actix-web's HTTP/2 stays off, which keeps
//! the h2 0.3 crate (with an open advisory) out of the build.

use crate::WebError;
use rustls::ServerConfig;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use std::path::Path;
use std::sync::Arc;

/// A server config presenting the chain in `cert` with the key in `key`.
pub fn server_config(cert: &Path, key: &Path) -> Result<Arc<ServerConfig>, WebError> {
    let bad = |path: &Path, reason: String| WebError::Start(format!("web certificate {}: {reason}", path.display()));
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .map_err(|e| bad(cert, e.to_string()))?
        .collect::<Result<_, _>>()
        .map_err(|e| bad(cert, e.to_string()))?;
    if chain.is_empty() {
        return Err(bad(cert, "no PEM certificate in it".into()));
    }
    let key_der = PrivateKeyDer::from_pem_file(key).map_err(|e| bad(key, format!("no PEM private key in it ({e})")))?;
    let mut config = ServerConfig::builder_with_provider(distencode_wire::tls::crypto_provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| WebError::Start(format!("web TLS: {e}")))?
        .with_no_client_auth()
        .with_single_cert(chain, key_der)
        .map_err(|e| bad(key, format!("cannot be used with {} ({e})", cert.display())))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}
