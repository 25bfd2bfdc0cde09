//! The refusal matrix: every kind of certificate a coordinator must turn away, presented to a real coordinator
//! process over mutual TLS on 127.0.0.1, each refused, and the coordinator's log naming the reason for each.
//!
//! The bad certificates are made in process with rcgen, most of them with the cluster's own `ca.key`: a leaf
//! under an intermediate, a leaf signed by another leaf, the CA itself as a leaf, wrong and missing EKUs.

mod common;

use common::*;
use distencode_wire::connection::dial;
use distencode_wire::identity::node_san_uri;
use distencode_wire::pki::load_ca_params;
use distencode_wire::tls::{client_config, crypto_provider, NodeIdentity};
use distencode_wire::Role;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose as Eku, IsCa, Issuer, KeyPair, KeyUsagePurpose,
};
use rustls::ClientConfig;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// A node certificate's parameters: role and name SANs, `ekus`, valid from an hour ago for a day.
fn node_params(role: Role, name: &str, ekus: Vec<Eku>) -> CertificateParams {
    let mut params = CertificateParams::default();
    params.distinguished_name.push(DnType::CommonName, name);
    for uri in [role.san_uri(), node_san_uri(name)] {
        params.subject_alt_names.push(rcgen::SanType::URI(uri.try_into().unwrap()));
    }
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = ekus;
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now - time::Duration::hours(1);
    params.not_after = now + time::Duration::days(1);
    params
}

/// A CA's parameters, with its own subject and the given path length.
fn ca_params(cn: &str, constraint: BasicConstraints) -> CertificateParams {
    let mut params = CertificateParams::default();
    params.distinguished_name.push(DnType::CommonName, cn);
    params.is_ca = IsCa::Ca(constraint);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    params
}

/// What a dialer presents: a chain (leaf first) and the leaf's key, or nothing at all.
struct Presented {
    chain: Vec<String>,
    key: Option<KeyPair>,
}

impl Presented {
    fn signed(params: CertificateParams, issuer: &Issuer<'_, KeyPair>, above: &[String]) -> (Self, KeyPair) {
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, issuer).unwrap();
        let mut chain = vec![cert.pem()];
        chain.extend(above.iter().cloned());
        let copy = KeyPair::from_pem(&key.serialize_pem()).unwrap();
        (Presented { chain, key: Some(key) }, copy)
    }

    /// A client configuration trusting the cluster CA of `certs` and presenting this.
    fn config(&self, certs: &Path) -> Arc<ClientConfig> {
        let roots = NodeIdentity::load(certs, "alice").unwrap().root_store().unwrap();
        let builder = ClientConfig::builder_with_provider(crypto_provider())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots);
        let config = match &self.key {
            None => builder.with_no_client_auth(),
            Some(key) => {
                let chain =
                    self.chain.iter().map(|pem| CertificateDer::from_pem_slice(pem.as_bytes()).unwrap()).collect();
                builder.with_client_auth_cert(chain, PrivateKeyDer::try_from(key.serialize_der()).unwrap()).unwrap()
            }
        };
        Arc::new(config)
    }
}

/// Every refused kind: its name, what is presented, the role its Hello claims, and what the coordinator's log line
/// must say about it.
fn matrix(certs: &Path) -> Vec<(&'static str, Arc<ClientConfig>, Role, &'static str)> {
    let (ca_params_, ca_key) = load_ca_params(certs).unwrap();
    let ca_pem = std::fs::read_to_string(certs.join("ca.pem")).unwrap();
    let ca_key_pem = ca_key.serialize_pem();
    let ca = Issuer::new(ca_params_.clone(), ca_key);
    let client = |name: &str| node_params(Role::Client, name, vec![Eku::ClientAuth]);
    let mut cases = Vec::new();

    cases.push((
        "no certificate",
        Presented { chain: vec![], key: None }.config(certs),
        Role::Client,
        "the peer presented no certificate",
    ));

    let key = KeyPair::generate().unwrap();
    let own = client("selfish").self_signed(&key).unwrap();
    let selfish = Presented { chain: vec![own.pem()], key: Some(key) };
    cases.push(("self-signed", selfish.config(certs), Role::Client, "it is signed by an unknown CA"));

    let other =
        Issuer::new(ca_params("another cluster CA", BasicConstraints::Constrained(0)), KeyPair::generate().unwrap());
    let (foreign, _) = Presented::signed(client("foreign"), &other, &[]);
    cases.push(("another CA", foreign.config(certs), Role::Client, "it is signed by an unknown CA"));

    // Another CA with exactly our CA's subject (and key identifier): found by name, refused by signature.
    let impostor = Issuer::new(ca_params_, KeyPair::generate().unwrap());
    let (twin, _) = Presented::signed(client("twin"), &impostor, &[]);
    cases.push(("same subject from another CA", twin.config(certs), Role::Client, "its signature does not verify"));

    let now = time::OffsetDateTime::now_utc();
    let mut params = client("old");
    (params.not_before, params.not_after) = (now - time::Duration::days(10), now - time::Duration::days(1));
    let (old, _) = Presented::signed(params, &ca, &[]);
    cases.push(("expired", old.config(certs), Role::Client, "the certificate expired on"));

    let mut params = client("early");
    (params.not_before, params.not_after) = (now + time::Duration::days(1), now + time::Duration::days(10));
    let (early, _) = Presented::signed(params, &ca, &[]);
    cases.push(("not yet valid", early.config(certs), Role::Client, "the certificate is not valid until"));

    // A genuine client certificate whose key signs another one.
    let params = client("carol");
    let (carol, carol_key) = Presented::signed(params.clone(), &ca, &[]);
    let (minted, _) = Presented::signed(client("minted"), &Issuer::new(params, carol_key), &carol.chain);
    cases.push(("a leaf used as CA", minted.config(certs), Role::Client, "signed by a node certificate used as a CA"));

    let the_ca = Presented { chain: vec![ca_pem], key: Some(KeyPair::from_pem(&ca_key_pem).unwrap()) };
    cases.push((
        "the CA as a leaf",
        the_ca.config(certs),
        Role::Client,
        "it is a CA certificate presented as a node's",
    ));

    let (server_only, _) = Presented::signed(node_params(Role::Client, "srv", vec![Eku::ServerAuth]), &ca, &[]);
    cases.push(("a wrong EKU", server_only.config(certs), Role::Client, "its extended key usage does not allow"));

    let (bare, _) = Presented::signed(node_params(Role::Client, "bare", vec![]), &ca, &[]);
    cases.push(("no EKU", bare.config(certs), Role::Client, "it has no extended key usage; a worker or client"));

    let sub_params = ca_params("sub CA", BasicConstraints::Unconstrained);
    let (sub, sub_key) = Presented::signed(sub_params.clone(), &ca, &[]);
    let (deep, _) = Presented::signed(client("deep"), &Issuer::new(sub_params, sub_key), &sub.chain);
    cases.push(("a pathlen violation", deep.config(certs), Role::Client, "through 1 intermediate certificate(s)"));

    let worker = client_config(certs, "w9").unwrap();
    cases.push(("a worker acting as a client", worker, Role::Client, r#"worker "w9" may not act as a client"#));
    let alice = client_config(certs, "alice").unwrap();
    cases.push(("a client acting as a worker", alice, Role::Worker, r#"client "alice" may not act as a worker"#));
    let coordinator = client_config(certs, "coord").unwrap();
    cases.push((
        "a coordinator dialling in",
        coordinator,
        Role::Coordinator,
        r#"coordinator "coord" may not act as a worker or a client"#,
    ));
    cases
}

/// The coordinator's log lines that record a refused connection.
fn refusals(cluster: &Cluster) -> Vec<String> {
    cluster.coordinator_log().lines().filter(|l| l.contains("refused connection")).map(str::to_string).collect()
}

#[test]
fn every_kind_of_bad_certificate_is_refused_and_the_reason_logged() {
    let cluster = Cluster::start(0);
    cluster.issue("worker", "w9");
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    for (kind, config, role, reason) in matrix(&cluster.certs) {
        let before = refusals(&cluster).len();
        let outcome = runtime.block_on(dial(&cluster.addr, config, role));
        assert!(outcome.is_err(), "{kind}: the coordinator took it");
        cluster.wait_until(Duration::from_secs(10), &format!("the refusal of {kind} in the log"), || {
            refusals(&cluster).len() > before
        });
        let lines = refusals(&cluster);
        assert_eq!(lines.len(), before + 1, "{kind}: one refusal line each: {lines:#?}");
        assert!(lines[before].contains(reason), "{kind}: {reason:?} not in {:?}", lines[before]);
    }
    // The coordinator is still there for a good certificate.
    ok(&cluster.cli(&["job", "list"]));
}
