//! Errors of the certificate modules, and TLS failures as one line a person can act on.
//!
//! rustls reports a refused peer as e.g. `invalid peer certificate:
//! UnknownIssuer`, wrapped in an `io::Error` by tokio-rustls. An operator
//! wiring up a render farm needs to read *why* instead: the peer sent no
//! certificate, it comes from another cluster's CA, it expired on a given
//! date, or it does not name the address that was dialled. This module holds
//! [`PkiError`] (making certificates, `crate::pki`), [`TlsError`] (loading
//! them and building configs, `crate::tls`) and [`describe_handshake_error`].

use std::io;
use std::path::PathBuf;

use rustls::{AlertDescription, CertificateError};
use rustls_pki_types::UnixTime;
use time::OffsetDateTime;

use crate::identity::{IdentityError, PeerIdentity};
use crate::verify::ChainRefusal;

/// Why a CA or node certificate could not be made. Every message is one line
/// naming the file concerned.
#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    #[error("cannot create certs dir {}: {source}", .path.display())]
    CreateDir { path: PathBuf, source: io::Error },
    #[error("refusing to overwrite the existing CA key {} (a new CA would orphan every certificate it issued; --force replaces it)", .path.display())]
    CaExists { path: PathBuf },
    #[error("refusing to replace {}: it is the cluster's CA certificate this node trusts, and a new CA would cut the node off from the cluster (run certs init once, on the machine that keeps the CA; --force replaces it)", .path.display())]
    CaCertExists { path: PathBuf },
    #[error("{} has the cluster's ca.pem but not its ca.key: run distencode certs issue on the machine that keeps the CA, then copy the node's NAME.pem and NAME.key here (not certs init: a new CA would cut this node off)", .dir.display())]
    CaKeyElsewhere { dir: PathBuf },
    #[error("refusing to overwrite the existing key {} of node {name:?} (remove {} and {} first to reissue)", .path.display(), .path.display(), .cert.display())]
    KeyExists { name: String, path: PathBuf, cert: PathBuf },
    #[error("no CA in {}: {} not found (run this on the machine that keeps the cluster's CA, or make a new cluster CA with distencode certs init --dir {})", .dir.display(), .path.display(), .dir.display())]
    NoCa { dir: PathBuf, path: PathBuf },
    #[error("cannot read {}: {source}", .path.display())]
    Read { path: PathBuf, source: io::Error },
    #[error("cannot write {}: {source}", .path.display())]
    Write { path: PathBuf, source: io::Error },
    #[error("{} is not a usable CA file: {reason}", .path.display())]
    BadCa { path: PathBuf, reason: String },
    #[error("invalid --san {0:?}: not an IP address or a DNS name")]
    BadSan(String),
    #[error("invalid node name: {0}")]
    BadName(#[from] IdentityError),
    #[error("the node name {0:?} is reserved for the cluster CA's files")]
    ReservedName(String),
    #[error("invalid validity period: not_after {not_after} is not later than not_before {not_before}")]
    BadValidity { not_before: OffsetDateTime, not_after: OffsetDateTime },
    #[error("certificate generation failed: {0}")]
    Rcgen(#[from] rcgen::Error),
    #[error("no certificate {}issued to {name:?} in {} (distencode certs list --dir {} shows them)", .serial.as_ref().map(|s| format!("with serial {s} ")).unwrap_or_default(), .dir.display(), .dir.display())]
    NotIssued { name: String, serial: Option<String>, dir: PathBuf },
    #[error("{} is not a usable certificate revocation list: {reason}", .path.display())]
    BadCrl { path: PathBuf, reason: String },
}

/// Why a node's TLS configuration could not be built. One line, naming the file.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("{} not found ({hint})", .path.display())]
    Missing { path: PathBuf, hint: String },
    #[error("cannot read {}: {source}", .path.display())]
    Read { path: PathBuf, source: io::Error },
    #[error("{} is not usable: {reason}", .path.display())]
    BadFile { path: PathBuf, reason: String },
    #[error("{}: {source}", .path.display())]
    Identity { path: PathBuf, source: IdentityError },
    #[error("{} is the certificate of {found}, not of node {expected:?}", .path.display())]
    WrongName { path: PathBuf, expected: String, found: PeerIdentity },
    #[error("{} is the certificate of {found}; only a coordinator certificate may accept connections (issue one with --role coordinator)", .path.display())]
    NotCoordinator { path: PathBuf, found: PeerIdentity },
    #[error("{} cannot be used with {}: {reason}", .cert.display(), .ca.display())]
    OwnCertRejected { cert: PathBuf, ca: PathBuf, reason: String },
    #[error("invalid host name {0:?}: not an IP address or a DNS name")]
    BadServerName(String),
    /// The coordinator's CRL cannot be used (the text names the file).
    #[error("{0}")]
    Crl(String),
    #[error("cannot build the TLS configuration: {0}")]
    Config(String),
}

/// One human line saying why a TLS handshake (or the first read after it) failed.
///
/// Works on the `io::Error`s of tokio-rustls `connect`/`accept` and of reads
/// on the resulting stream; other I/O errors are described plainly.
pub fn describe_handshake_error(err: &io::Error) -> String {
    let rustls_err = err.get_ref().and_then(|inner| inner.downcast_ref::<rustls::Error>());
    match rustls_err {
        Some(e) => describe_rustls_error(e),
        None => match err.kind() {
            io::ErrorKind::UnexpectedEof | io::ErrorKind::ConnectionReset | io::ErrorKind::BrokenPipe => {
                format!("the peer closed the connection during the TLS handshake ({err}); it may have refused our certificate (see its log) or not be a distencode node")
            }
            io::ErrorKind::TimedOut => format!("the TLS handshake timed out ({err})"),
            _ => format!("TLS handshake failed: {err}"),
        },
    }
}

/// [`describe_handshake_error`] for a bare `rustls::Error`.
pub fn describe_rustls_error(err: &rustls::Error) -> String {
    use rustls::Error as E;
    match err {
        E::NoCertificatesPresented => {
            "the peer presented no certificate (every distencode node must present one issued by the cluster CA)".into()
        }
        E::InvalidCertificate(ce) => {
            format!("refused the peer's certificate: {}", describe_certificate_error(ce))
        }
        E::AlertReceived(alert) => describe_alert(*alert),
        E::InvalidMessage(_) | E::InappropriateMessage { .. } | E::InappropriateHandshakeMessage { .. } => {
            format!("the peer does not speak TLS as a distencode node would ({err})")
        }
        E::PeerIncompatible(_) => format!("the peer's TLS settings are incompatible with ours ({err})"),
        E::PeerMisbehaved(_) => format!("the peer broke the TLS protocol ({err})"),
        E::General(msg) => format!("TLS handshake failed: {msg}"),
        other => format!("TLS handshake failed: {other}"),
    }
}

/// Why a certificate was refused, as the end of a sentence about it.
pub fn describe_certificate_error(err: &CertificateError) -> String {
    use CertificateError as C;
    match err {
        C::UnknownIssuer => "it is signed by an unknown CA, not by this cluster's ca.pem (it belongs to another cluster or was issued from another certs dir)".into(),
        C::ExpiredContext { time, not_after } => format!(
            "the certificate expired on {} (it is now {}); reissue it",
            fmt_time(not_after),
            fmt_time(time)
        ),
        C::Expired => "the certificate has expired (or its validity period is invalid); reissue it".into(),
        C::NotValidYetContext { time, not_before } => format!(
            "the certificate is not valid until {} (it is now {}); check the clocks",
            fmt_time(not_before),
            fmt_time(time)
        ),
        C::NotValidYet => "the certificate is not valid yet; check the clocks".into(),
        C::NotValidForNameContext { expected, presented } => {
            let names: Vec<String> = presented.iter().filter_map(|n| clean_presented_name(n)).collect();
            let names = if names.is_empty() { "no host at all".into() } else { names.join(", ") };
            let expected = expected.to_str();
            format!("the coordinator's certificate does not name {expected} (it names {names}); dial one of those or reissue it with --san {expected}")
        }
        C::NotValidForName => "the coordinator's certificate does not name the host that was dialled".into(),
        C::InvalidPurposeContext { required, presented } => format!(
            "its extended key usage does not allow {required:?} (it allows {presented:?}); it was issued for another role"
        ),
        C::InvalidPurpose => "its key usage does not allow this use; it was issued for another role".into(),
        C::BadSignature => "its signature does not verify against this cluster's ca.pem (it was altered, or signed by another CA of the same name)".into(),
        C::BadEncoding => "it is malformed".into(),
        C::Revoked => "it has been revoked".into(),
        C::UnhandledCriticalExtension => "it has a critical extension we do not understand".into(),
        C::Other(other) => describe_other(other),
        other => format!("{other:?}"),
    }
}

/// webpki's refusals that rustls passes on as `Other`, and ours ([`ChainRefusal`]).
fn describe_other(other: &rustls::OtherError) -> String {
    if let Some(refusal) = other.0.downcast_ref::<ChainRefusal>() {
        return refusal.to_string();
    }
    // webpki's error type is not ours to name; its Display is the variant's name.
    match other.0.to_string().as_str() {
        "CaUsedAsEndEntity" => {
            "it is a CA certificate presented as a node's (a CA only signs; each node has a certificate of its own)"
                .into()
        }
        "EndEntityUsedAsCa" => {
            "it is signed by a node certificate used as a CA (only the cluster CA signs node certificates)".into()
        }
        "PathLenConstraintViolated" => "its chain is longer than the CA's path length allows".into(),
        "UnknownIssuer" => describe_certificate_error(&CertificateError::UnknownIssuer),
        text => format!("it was refused ({text})"),
    }
}

fn describe_alert(alert: AlertDescription) -> String {
    use AlertDescription as A;
    let why = match alert {
        A::UnknownCA => "it does not trust the CA that signed our certificate (unknown CA): our certs dir belongs to another cluster".into(),
        A::CertificateExpired => "it says our certificate has expired; reissue it".into(),
        A::CertificateRequired | A::NoCertificate => "it requires a certificate and we sent none".into(),
        A::BadCertificate => "it rejected our certificate (bad certificate: it may not name the host the peer dialled, or has the wrong key usage)".into(),
        A::UnsupportedCertificate => "it rejected our certificate as unsupported (wrong key usage?)".into(),
        A::CertificateUnknown => "it rejected our certificate (certificate unknown)".into(),
        A::CertificateRevoked => {
            "it says our certificate was revoked (the CA keeper can issue a new one: distencode certs renew)".into()
        }
        A::AccessDenied => "access denied".into(),
        A::HandshakeFailure | A::ProtocolVersion | A::InsufficientSecurity => {
            format!("no common TLS parameters ({alert:?})")
        }
        A::DecryptError => "the handshake did not verify (decrypt error; wrong key for the certificate?)".into(),
        other => format!("alert {other:?}"),
    };
    format!("the peer refused the connection: {why}")
}

/// webpki lists presented names as `DnsName("x")`, `IpAddress(1.2.3.4)`,
/// `UniformResourceIdentifier("…")`: keep the host names only.
fn clean_presented_name(name: &str) -> Option<String> {
    if let Some(rest) = name.strip_prefix("DnsName(\"") {
        return Some(rest.trim_end_matches("\")").to_string());
    }
    if let Some(rest) = name.strip_prefix("IpAddress(") {
        let ip = rest.trim_end_matches(')');
        return Some(ip.parse::<std::net::IpAddr>().map_or(ip.to_string(), |ip| ip.to_string()));
    }
    None
}

fn fmt_time(t: &UnixTime) -> String {
    let secs = i64::try_from(t.as_secs()).unwrap_or(i64::MAX);
    time::OffsetDateTime::from_unix_timestamp(secs)
        .ok()
        .and_then(|dt| dt.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_else(|| format!("{secs} (Unix time)"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::Role;
    use crate::pki::{issue, IssueOptions};
    use crate::tls::tests::{cluster, handshake};
    use crate::tls::{client_config, crypto_provider, server_config, NodeIdentity};
    use rustls::ClientConfig;
    use std::fs;
    use std::sync::Arc;

    #[test]
    fn errors_name_the_problem() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let err = crate::pki::issue(dir, &IssueOptions::new(Role::Worker, "w1")).unwrap_err().to_string();
        let d = dir.display();
        assert_eq!(
            err,
            format!(
                "no CA in {d}: {d}/ca.key not found (run this on the machine that keeps the cluster's CA, or make a \
                 new cluster CA with distencode certs init --dir {d})"
            )
        );
        crate::pki::init_ca(dir).unwrap();
        let err = issue(dir, &IssueOptions::new(Role::Client, "c").with_sans(["bad host!"])).unwrap_err().to_string();
        assert_eq!(err, r#"invalid --san "bad host!": not an IP address or a DNS name"#);
        assert!(crate::pki::issue(dir, &IssueOptions::new(Role::Client, "a/b")).is_err());
        assert!(!dir.join("c.key").exists());
    }

    // Real handshakes over 127.0.0.1 that fail, and what each side is told.

    #[tokio::test]
    async fn client_from_another_ca_is_refused() {
        let tmp = cluster();
        let other = cluster();
        // w1 of another cluster, trusting our CA (so only the server refuses).
        fs::copy(tmp.path().join("ca.pem"), other.path().join("ca.pem")).unwrap();
        let client = NodeIdentity::load(other.path(), "w1").unwrap().build_client_config().unwrap();
        let server = server_config(tmp.path(), "coord").unwrap();
        let (at_server, at_client) = handshake(server, client, "127.0.0.1").await;
        let msg = at_server.unwrap_err();
        assert!(msg.contains("unknown CA"), "{msg}");
        let msg = at_client.unwrap_err();
        assert!(msg.contains("does not trust the CA"), "{msg}");
    }

    #[tokio::test]
    async fn client_without_certificate_is_refused() {
        let tmp = cluster();
        let node = NodeIdentity::load(tmp.path(), "w1").unwrap();
        let client = ClientConfig::builder_with_provider(crypto_provider())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(node.root_store().unwrap())
            .with_no_client_auth();
        let server = server_config(tmp.path(), "coord").unwrap();
        let (at_server, at_client) = handshake(server, Arc::new(client), "127.0.0.1").await;
        let msg = at_server.unwrap_err();
        assert!(msg.contains("presented no certificate"), "{msg}");
        let msg = at_client.unwrap_err();
        assert!(msg.contains("we sent none"), "{msg}");
    }

    #[tokio::test]
    async fn expired_client_certificate_is_refused() {
        let tmp = cluster();
        let now = time::OffsetDateTime::now_utc();
        let mut opts = IssueOptions::new(Role::Worker, "old");
        opts.not_before = now - time::Duration::days(30);
        opts.not_after = now - time::Duration::days(1);
        issue(tmp.path(), &opts).unwrap();

        // Loading it for use fails up front...
        let err = client_config(tmp.path(), "old").unwrap_err().to_string();
        assert!(err.contains("expired on"), "{err}");
        // ...and the coordinator refuses it if it is used anyway.
        let client = NodeIdentity::load(tmp.path(), "old").unwrap().build_client_config().unwrap();
        let server = server_config(tmp.path(), "coord").unwrap();
        let (at_server, at_client) = handshake(server, client, "127.0.0.1").await;
        let msg = at_server.unwrap_err();
        assert!(msg.contains("expired on"), "{msg}");
        let msg = at_client.unwrap_err();
        assert!(msg.contains("expired"), "{msg}");
    }

    #[tokio::test]
    async fn dialled_name_must_be_in_coordinator_certificate() {
        let tmp = cluster();
        let server = server_config(tmp.path(), "coord").unwrap();
        let client = client_config(tmp.path(), "w1").unwrap();
        let (_, at_client) = handshake(server, client, "10.1.2.3").await;
        let msg = at_client.unwrap_err();
        assert!(msg.contains("the coordinator's certificate does not name 10.1.2.3"), "{msg}");
        assert!(msg.contains("127.0.0.1"), "{msg}");
    }

    #[test]
    fn describes_common_failures() {
        let wrap = |e: rustls::Error| io::Error::new(io::ErrorKind::InvalidData, e);
        let msg = describe_handshake_error(&wrap(rustls::Error::NoCertificatesPresented));
        assert!(msg.contains("presented no certificate"), "{msg}");
        let msg = describe_handshake_error(&wrap(CertificateError::UnknownIssuer.into()));
        assert!(msg.contains("unknown CA"), "{msg}");
        let expired = CertificateError::ExpiredContext {
            time: UnixTime::since_unix_epoch(std::time::Duration::from_secs(1_700_000_000)),
            not_after: UnixTime::since_unix_epoch(std::time::Duration::from_secs(1_600_000_000)),
        };
        let msg = describe_handshake_error(&wrap(expired.into()));
        assert!(msg.contains("expired on 2020-09-13T12:26:40Z"), "{msg}");
        let msg = describe_handshake_error(&wrap(rustls::Error::AlertReceived(AlertDescription::UnknownCA)));
        assert!(msg.contains("does not trust the CA"), "{msg}");
        let msg = describe_handshake_error(&io::Error::from(io::ErrorKind::UnexpectedEof));
        assert!(msg.contains("closed the connection"), "{msg}");
        assert!(!msg.contains('\n'));
    }

    #[test]
    fn cleans_presented_names() {
        assert_eq!(clean_presented_name("DnsName(\"localhost\")").as_deref(), Some("localhost"));
        assert_eq!(clean_presented_name("IpAddress(127.0.0.1)").as_deref(), Some("127.0.0.1"));
        assert_eq!(clean_presented_name("IpAddress(0::1)").as_deref(), Some("::1"));
        assert_eq!(clean_presented_name("UniformResourceIdentifier(\"urn:x\")"), None);
    }
}
