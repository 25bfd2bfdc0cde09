//! list, revoke and renew on a real CA folder, the CRL read back with x509-parser.

use super::*;
use crate::pki::{init_ca, issue, renew, IssueOptions};

fn cluster() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    init_ca(dir.path()).unwrap();
    issue(dir.path(), &IssueOptions::new(Role::Client, "bob")).unwrap();
    issue(dir.path(), &IssueOptions::new(Role::Worker, "w1")).unwrap();
    dir
}

fn marks(dir: &Path) -> Vec<(String, Role, bool)> {
    list(dir).unwrap().into_iter().map(|i| (i.name, i.role, i.revoked)).collect()
}

#[test]
fn issued_certificates_are_listed_with_role_and_expiry() {
    let dir = cluster();
    let listed = list(dir.path()).unwrap();
    assert_eq!(marks(dir.path()), [("bob".into(), Role::Client, false), ("w1".into(), Role::Worker, false)]);
    let now = OffsetDateTime::now_utc().unix_timestamp();
    assert_eq!(listed[0].days_left(now), 825);
    assert_eq!(
        listed[0].serial,
        serial_hex(&serial_of(&CertificateDer::from_pem_file(dir.path().join("bob.pem")).unwrap()).unwrap())
    );
    // A node's copy removed from the CA folder is still listed from DIR/issued/.
    fs::remove_file(dir.path().join("bob.pem")).unwrap();
    assert_eq!(
        list(dir.path()).unwrap(),
        listed
            .iter()
            .map(|i| Issued { path: dir.path().join(ISSUED_DIR).join(format!("{}.pem", i.serial)), ..i.clone() })
            .collect::<Vec<_>>()
    );
    // A certificate of another CA lying in the folder is not one of ours.
    let other = cluster();
    fs::copy(other.path().join("w1.pem"), dir.path().join("stranger.pem")).unwrap();
    assert_eq!(list(dir.path()).unwrap().len(), 2);
}

#[test]
fn revoking_writes_a_signed_crl_keeps_earlier_serials_and_is_idempotent() {
    let dir = cluster();
    let before = list(dir.path()).unwrap();
    let done = revoke(dir.path(), "bob", None).unwrap();
    assert_eq!(done, Revoked { newly: vec![before[0].serial.clone()], already: vec![] });
    revoke(dir.path(), "w1", None).unwrap();
    let crl = read_crl(&crl_path(dir.path())).unwrap();
    assert_eq!(crl.serials.len(), 2, "the earlier revocation is kept");
    assert_eq!(crl.number, 2);
    assert!(list(dir.path()).unwrap().iter().all(|i| i.revoked));

    // Signed by the CA: webpki takes it, and refuses bob's certificate as revoked.
    let ca = CertificateDer::from_pem_file(pki::ca_cert_path(dir.path())).unwrap();
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ca).unwrap();
    let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
        std::sync::Arc::new(roots),
        crate::tls::crypto_provider(),
    )
    .with_crls([crl.der.clone()])
    .build()
    .unwrap();
    let bob = CertificateDer::from_pem_file(dir.path().join("bob.pem")).unwrap();
    let refused = verifier.verify_client_cert(&bob, &[], rustls_pki_types::UnixTime::now()).map(drop);
    assert_eq!(refused, Err(rustls::Error::InvalidCertificate(rustls::CertificateError::Revoked)));

    // Again: nothing new, and the file is left as it was.
    let bytes = fs::read(crl_path(dir.path())).unwrap();
    let again = revoke(dir.path(), "bob", None).unwrap();
    assert_eq!(again, Revoked { newly: vec![], already: vec![before[0].serial.clone()] });
    assert_eq!(fs::read(crl_path(dir.path())).unwrap(), bytes);

    let err = revoke(dir.path(), "nobody", None).unwrap_err().to_string();
    let d = dir.path().display();
    assert_eq!(err, format!("no certificate issued to \"nobody\" in {d} (distencode certs list --dir {d} shows them)"));
    let err = revoke(dir.path(), "bob", Some("00ff")).unwrap_err().to_string();
    assert_eq!(
        err,
        format!(
            "no certificate with serial 00ff issued to \"bob\" in {d} (distencode certs list --dir {d} shows them)"
        )
    );
}

#[test]
fn a_renewed_certificate_replaces_the_files_and_is_listed_beside_the_old_one() {
    let dir = tempfile::tempdir().unwrap();
    init_ca(dir.path()).unwrap();
    issue(dir.path(), &IssueOptions::new(Role::Coordinator, "coord").with_sans(["render.example", "10.0.0.7"]))
        .unwrap();
    let old_key = fs::read(dir.path().join("coord.key")).unwrap();
    renew(dir.path(), "coord", 900).unwrap();
    assert_ne!(fs::read(dir.path().join("coord.key")).unwrap(), old_key);
    let listed = list(dir.path()).unwrap();
    assert_eq!(listed.len(), 2, "{listed:?}");
    assert_ne!(listed[0].serial, listed[1].serial);
    let now = OffsetDateTime::now_utc().unix_timestamp();
    assert_eq!((listed[0].days_left(now), listed[1].days_left(now)), (825, 900), "sorted by expiry");
    assert_eq!(listed[1].role, Role::Coordinator);
    // The new certificate names the same hosts.
    let der = CertificateDer::from_pem_file(dir.path().join("coord.pem")).unwrap();
    assert_eq!(serial_hex(&serial_of(&der).unwrap()), listed[1].serial);
    let sans = pki::host_sans_for_tests(&der);
    for host in ["localhost", "127.0.0.1", "::1", "render.example", "10.0.0.7"] {
        assert!(sans.iter().any(|s| s == host), "{host} missing from {sans:?}");
    }
    // Revoking only the old one by serial leaves the new one valid.
    let done = revoke(dir.path(), "coord", Some(&listed[0].serial)).unwrap();
    assert_eq!(done.newly, vec![listed[0].serial.clone()]);
    assert_eq!(list(dir.path()).unwrap().iter().map(|i| i.revoked).collect::<Vec<_>>(), [true, false]);

    let err = renew(dir.path(), "ghost", 30).unwrap_err().to_string();
    assert!(err.starts_with("no certificate issued to \"ghost\" in "), "{err}");
}

#[test]
fn a_damaged_crl_is_one_clear_line() {
    let dir = cluster();
    fs::write(crl_path(dir.path()), "not a CRL").unwrap();
    let err = read_crl(&crl_path(dir.path())).unwrap_err().to_string();
    assert!(
        err.starts_with(&format!(
            "{} is not a usable certificate revocation list: not a CRL (",
            crl_path(dir.path()).display()
        )),
        "{err}"
    );
    assert!(!err.contains('\n'));
    assert_eq!(hex_bytes("0a1B"), Some(vec![0x0a, 0x1b]));
    assert_eq!(hex_bytes("abc"), None);
    assert_eq!(hex_bytes("zz"), None);
}
