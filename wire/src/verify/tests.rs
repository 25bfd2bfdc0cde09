//! Real handshakes over 127.0.0.1 with certificates webpki alone would take.

use super::*;
use crate::identity::{node_san_uri, Role};
use crate::pki::load_issuer;
use crate::tls::tests::{cluster, handshake};
use crate::tls::{client_config, server_config, NodeIdentity};
use rcgen::{BasicConstraints, CertificateParams, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use rustls::ClientConfig;
use rustls_pki_types::PrivateKeyDer;

/// A node certificate for `role`/`name` with exactly `ekus`, signed by `issuer`.
fn node_cert(
    issuer: &Issuer<'_, KeyPair>,
    role: Role,
    name: &str,
    ekus: Vec<ExtendedKeyUsagePurpose>,
) -> (String, KeyPair) {
    let mut params = CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()]).unwrap();
    for uri in [role.san_uri(), node_san_uri(name)] {
        params.subject_alt_names.push(rcgen::SanType::URI(uri.try_into().unwrap()));
    }
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = ekus;
    let key = KeyPair::generate().unwrap();
    let cert = params.signed_by(&key, issuer).unwrap();
    (cert.pem(), key)
}

fn client(tmp: &tempfile::TempDir, chain: &[&str], key: &KeyPair) -> Arc<ClientConfig> {
    use rustls_pki_types::pem::PemObject;
    let chain: Vec<CertificateDer<'static>> =
        chain.iter().map(|pem| CertificateDer::from_pem_slice(pem.as_bytes()).unwrap()).collect();
    let roots = NodeIdentity::load(tmp.path(), "w1").unwrap().root_store().unwrap();
    let config = ClientConfig::builder_with_provider(crypto_provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_client_auth_cert(chain, PrivateKeyDer::try_from(key.serialize_der()).unwrap())
        .unwrap();
    Arc::new(config)
}

#[tokio::test]
async fn a_leaf_under_an_intermediate_signed_by_the_ca_is_refused() {
    let tmp = cluster();
    let ca = load_issuer(tmp.path()).unwrap();
    let mut params = CertificateParams::default();
    params.distinguished_name.push(rcgen::DnType::CommonName, "sub CA");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign];
    let sub_key = KeyPair::generate().unwrap();
    let sub = params.signed_by(&sub_key, &ca).unwrap();
    let sub_issuer = Issuer::new(params, sub_key);
    let (leaf, key) = node_cert(&sub_issuer, Role::Worker, "minted", vec![ExtendedKeyUsagePurpose::ClientAuth]);

    let server = server_config(tmp.path(), "coord").unwrap();
    let (at_server, _) = handshake(server, client(&tmp, &[&leaf, &sub.pem()], &key), "127.0.0.1").await;
    assert_eq!(
        at_server.unwrap_err(),
        "refused the peer's certificate: it is not signed directly by this cluster's ca.pem but through 1 \
         intermediate certificate(s); distencode certificates are issued by the cluster CA itself (its pathlen is 0)"
    );
}

#[tokio::test]
async fn a_client_certificate_without_extended_key_usage_is_refused() {
    let tmp = cluster();
    let ca = load_issuer(tmp.path()).unwrap();
    let (leaf, key) = node_cert(&ca, Role::Client, "plain", vec![]);
    let server = server_config(tmp.path(), "coord").unwrap();
    let (at_server, _) = handshake(server, client(&tmp, &[&leaf], &key), "127.0.0.1").await;
    assert_eq!(
        at_server.unwrap_err(),
        "refused the peer's certificate: it has no extended key usage; a worker or client certificate must allow \
         clientAuth (issue it with distencode certs issue)"
    );

    // The same certificate in a certs dir is refused when its node starts.
    std::fs::write(tmp.path().join("plain.pem"), &leaf).unwrap();
    std::fs::write(tmp.path().join("plain.key"), key.serialize_pem()).unwrap();
    let err = client_config(tmp.path(), "plain").unwrap_err().to_string();
    assert!(
        err.ends_with("a worker or client certificate must allow clientAuth (issue it with distencode certs issue)"),
        "{err}"
    );
}

#[tokio::test]
async fn a_coordinator_certificate_without_extended_key_usage_is_refused_by_its_peers() {
    let tmp = cluster();
    let ca = load_issuer(tmp.path()).unwrap();
    let (leaf, key) = node_cert(&ca, Role::Coordinator, "c2", vec![]);
    std::fs::write(tmp.path().join("c2.pem"), &leaf).unwrap();
    std::fs::write(tmp.path().join("c2.key"), key.serialize_pem()).unwrap();
    let err = server_config(tmp.path(), "c2").unwrap_err().to_string();
    assert!(
        err.ends_with("a coordinator certificate must allow serverAuth (issue it with distencode certs issue)"),
        "{err}"
    );

    let server = NodeIdentity::load(tmp.path(), "c2").unwrap().build_server_config().unwrap();
    let (_, at_client) = handshake(server, client_config(tmp.path(), "w1").unwrap(), "127.0.0.1").await;
    assert_eq!(
        at_client.unwrap_err(),
        "refused the peer's certificate: it has no extended key usage; a coordinator certificate must allow \
         serverAuth (issue it with distencode certs issue)"
    );
}
