//! Real handshakes over 127.0.0.1 against a coordinator config whose CRL changes underneath it.

use super::*;
use crate::crl::{crl_path, revoke};
use crate::pki::{issue, IssueOptions};
use crate::tls::tests::handshake;
use crate::tls::{client_config, NodeIdentity};
use crate::Role;

fn cluster() -> tempfile::TempDir {
    let tmp = crate::tls::tests::cluster();
    issue(tmp.path(), &IssueOptions::new(Role::Client, "bob")).unwrap();
    tmp
}

fn coordinator(dir: &Path) -> (Arc<rustls::ServerConfig>, Arc<Revocation>) {
    NodeIdentity::load(dir, "coord").unwrap().server_config_revoking(crl_path(dir)).unwrap()
}

#[tokio::test]
async fn a_revoked_certificate_is_refused_at_the_handshake_once_the_crl_is_reloaded() {
    let tmp = cluster();
    let dir = tmp.path();
    let (server, revocation) = coordinator(dir);
    assert_eq!(revocation.reload(false).unwrap(), Reloaded::Unchanged, "no file, as at start");
    let mut serials = revocation.subscribe();
    // One client configuration throughout, as a node keeps it: a session it could resume would skip the CRL.
    let bob_config = client_config(dir, "bob").unwrap();
    let (at_server, _) = handshake(server.clone(), bob_config.clone(), "127.0.0.1").await;
    assert_eq!(at_server.unwrap().name, "bob");

    revoke(dir, "bob", None).unwrap();
    assert_eq!(revocation.reload(false).unwrap(), Reloaded::Loaded { revoked: 1, added: 1 });
    assert!(serials.has_changed().unwrap());
    let bob = crate::crl::serial_of(&NodeIdentity::load(dir, "bob").unwrap().cert_chain[0]).unwrap();
    assert!(serials.borrow_and_update().contains(&bob));
    let (at_server, at_client) = handshake(server.clone(), bob_config, "127.0.0.1").await;
    assert_eq!(at_server.unwrap_err(), "refused the peer's certificate: it has been revoked");
    assert_eq!(at_client.unwrap_err(), "the peer refused the connection: it says our certificate was revoked (the CA keeper can issue a new one: distencode certs renew)");
    // Others still get in.
    let (at_server, _) = handshake(server, client_config(dir, "w1").unwrap(), "127.0.0.1").await;
    assert_eq!(at_server.unwrap().name, "w1");
    assert_eq!(revocation.reload(false).unwrap(), Reloaded::Unchanged);
}

#[tokio::test]
async fn a_bad_crl_is_one_line_and_the_last_good_one_stays() {
    let tmp = cluster();
    let dir = tmp.path();
    revoke(dir, "bob", None).unwrap();
    let (server, revocation) = coordinator(dir);
    let good = fs_read(&crl_path(dir));

    std::fs::write(crl_path(dir), "garbage").unwrap();
    let err = revocation.reload(false).unwrap_err().to_string();
    let path = crl_path(dir);
    assert!(
        err.starts_with(&format!("{} is not a usable certificate revocation list: not a CRL", path.display())),
        "{err}"
    );
    assert_eq!(
        revocation.reload(false).unwrap(),
        Reloaded::Unchanged,
        "a refused file is not read again until it changes"
    );

    // A CRL signed by another CA.
    let other = cluster();
    revoke(other.path(), "bob", None).unwrap();
    std::fs::copy(crl_path(other.path()), &path).unwrap();
    let err = revocation.reload(true).unwrap_err().to_string();
    assert_eq!(
        err,
        format!(
            "{} is not a usable certificate revocation list: it is not issued by this cluster's ca.pem",
            path.display()
        )
    );
    let (at_server, _) = handshake(server.clone(), client_config(dir, "bob").unwrap(), "127.0.0.1").await;
    assert_eq!(at_server.unwrap_err(), "refused the peer's certificate: it has been revoked", "still revoked");

    // Deleting the file does not bring bob back.
    std::fs::remove_file(&path).unwrap();
    assert_eq!(revocation.reload(false).unwrap(), Reloaded::Gone { kept: 1 });
    let (at_server, _) = handshake(server, client_config(dir, "bob").unwrap(), "127.0.0.1").await;
    assert!(at_server.is_err());
    std::fs::write(&path, good).unwrap();
    assert_eq!(revocation.reload(false).unwrap(), Reloaded::Loaded { revoked: 1, added: 0 });

    // At start, a bad file is an error: there is nothing good to keep.
    std::fs::write(&path, "garbage").unwrap();
    let err = NodeIdentity::load(dir, "coord").unwrap().server_config_revoking(path.clone()).unwrap_err().to_string();
    assert!(err.starts_with(&format!("{} is not a usable certificate revocation list", path.display())), "{err}");
}

fn fs_read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap()
}

#[tokio::test]
async fn a_connection_is_told_when_its_certificate_is_revoked() {
    let tmp = cluster();
    let dir = tmp.path();
    let (_, revocation) = coordinator(dir);
    let bob = crate::crl::serial_of(&NodeIdentity::load(dir, "bob").unwrap().cert_chain[0]).unwrap();
    let w1 = crate::crl::serial_of(&NodeIdentity::load(dir, "w1").unwrap().cert_chain[0]).unwrap();
    let watching_bob = tokio::spawn(revoked(Some(bob), revocation.subscribe()));
    let watching_w1 = tokio::spawn(revoked(Some(w1), revocation.subscribe()));
    tokio::task::yield_now().await;
    assert!(!watching_bob.is_finished());
    revoke(dir, "bob", None).unwrap();
    revocation.reload(false).unwrap();
    tokio::time::timeout(std::time::Duration::from_secs(10), watching_bob).await.unwrap().unwrap();
    tokio::task::yield_now().await;
    assert!(!watching_w1.is_finished());
    // An earlier revocation is seen by a connection that starts watching later.
    tokio::time::timeout(
        std::time::Duration::from_secs(10),
        revoked(
            crate::crl::serial_of(&NodeIdentity::load(dir, "bob").unwrap().cert_chain[0]).ok(),
            revocation.subscribe(),
        ),
    )
    .await
    .unwrap();
}
