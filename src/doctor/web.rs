//! The coordinator's web interface, as `doctor` sees it: the certificate it serves (it loads, its key matches, how
//! long it lasts) and each identity provider of its sign-in (its discovery document and keys can be fetched from
//! here, as the coordinator will fetch them).

use super::checks::{not_after, CERT_WARN_DAYS};
use super::Check;
use crate::node_settings::NodeSettings;
use distencode_web::oidc::{Provider, ProviderSettings};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateDer;
use time::OffsetDateTime;

/// The `web` check, then one `oidc NAME` check per provider.
pub async fn checks(settings: &NodeSettings, providers: &[ProviderSettings]) -> Vec<Check> {
    let Some(listen) = &settings.web_listen else {
        return vec![Check::ok("web", "off (no web_listen): nothing to check")];
    };
    let mut checks = vec![certificate(listen, settings)];
    for provider in providers {
        checks.push(provider_check(provider.clone()).await);
    }
    checks
}

/// The web certificate and key: `--web-cert`/`--web-key`, or the coordinator's own.
fn certificate(listen: &str, settings: &NodeSettings) -> Check {
    let (cert, key) = match (&settings.web_cert, &settings.web_key, &settings.connect.certs, &settings.connect.name) {
        (Some(cert), Some(key), _, _) => (cert.clone(), key.clone()),
        (_, _, Some(certs), Some(name)) => {
            (distencode_wire::pki::node_cert_path(certs, name), distencode_wire::pki::node_key_path(certs, name))
        }
        _ => return Check::fail("web", "no --web-cert and --web-key, and no --certs and --name to serve with"),
    };
    if let Err(e) = distencode_web::tls::server_config(&cert, &key) {
        return Check::fail("web", format!("{e}: the web interface would not start"));
    }
    let first = CertificateDer::pem_file_iter(&cert).ok().and_then(|mut certs| certs.next()).and_then(Result::ok);
    let Some(not_after) = first.and_then(|der| not_after(der.as_ref())) else {
        return Check::fail("web", format!("{}: no validity period can be read", cert.display()));
    };
    let days = (not_after - OffsetDateTime::now_utc()).whole_days();
    let said =
        format!("serves https on {listen} with {} (valid until {}, {days} days)", cert.display(), not_after.date());
    if days < CERT_WARN_DAYS {
        Check::warn("web", format!("{said}: renew it before browsers refuse it"))
    } else {
        Check::ok("web", said)
    }
}

/// One provider: its discovery document and keys, fetched now.
async fn provider_check(settings: ProviderSettings) -> Check {
    let name = format!("oidc {}", settings.name);
    let issuer = settings.issuer.clone();
    let provider = match Provider::new(settings) {
        Ok(provider) => provider,
        Err(e) => return Check::fail(&name, e.to_string()),
    };
    match provider.available().await {
        Ok(()) => Check::ok(&name, format!("{issuer} answers with its discovery document and keys")),
        Err(e) => Check::fail(
            &name,
            format!("{e}; check the issuer URL, that this machine reaches it, and ca_file for a private CA"),
        ),
    }
}
