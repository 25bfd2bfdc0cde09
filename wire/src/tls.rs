//! Mutual-TLS configuration for distencode nodes.
//!
//! Every connection in the cluster is TLS with certificates on both ends,
//! verified against the cluster CA in the node's certs dir and nothing else
//! (no system roots). This module loads `DIR/NAME.pem`, `DIR/NAME.key` and
//! `DIR/ca.pem`, checks them up front so a misconfigured node fails at start
//! with a clear line rather than at every handshake, builds rustls configs on
//! the ring provider, and reads the peer's identity after a handshake.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::danger::ServerCertVerifier;
use rustls::crypto::CryptoProvider;
use rustls::server::danger::ClientCertVerifier;
use rustls::{ClientConfig, CommonState, RootCertStore, ServerConfig};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};

use crate::identity::{identity_from_cert, IdentityError, PeerIdentity, Role};
use crate::pki::{ca_cert_path, node_cert_path, node_key_path};
use crate::revocation::Revocation;
pub use crate::tls_error::{describe_handshake_error, describe_rustls_error, TlsError};
use crate::verify::{ClusterClientVerifier, ClusterServerVerifier};

/// The only crypto provider distencode uses.
pub fn crypto_provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A node's own certificate, key and cluster CA, loaded from its certs dir.
#[derive(Debug)]
pub struct NodeIdentity {
    pub certs_dir: PathBuf,
    pub name: String,
    /// Role and name read from our own certificate.
    pub identity: PeerIdentity,
    pub cert_chain: Vec<CertificateDer<'static>>,
    pub ca_certs: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
}

impl NodeIdentity {
    /// Loads `DIR/NAME.pem`, `DIR/NAME.key` and `DIR/ca.pem`, and checks that
    /// the certificate names node NAME. Does not check the chain: see
    /// [`NodeIdentity::check_signed_by_ca`].
    pub fn load(certs_dir: &Path, name: &str) -> Result<Self, TlsError> {
        Self::load_as(certs_dir, name, None)
    }

    /// [`NodeIdentity::load`] for a node that is to have `role`: a missing file's hint names it.
    pub fn load_as(certs_dir: &Path, name: &str, role: Option<Role>) -> Result<Self, TlsError> {
        let cert_path = node_cert_path(certs_dir, name);
        let key_path = node_key_path(certs_dir, name);
        let ca_path = ca_cert_path(certs_dir);
        let role = role.map_or_else(|| "worker|client|coordinator".to_string(), |role| role.to_string());
        let issue_hint = format!(
            "on the machine that keeps the cluster's CA, run distencode certs issue --dir CA_DIR --role {role} --name {name}, then copy {name}.pem, {name}.key and ca.pem into {}",
            certs_dir.display()
        );

        let ca_certs = read_certs(
            &ca_path,
            "copy ca.pem from the machine that keeps the cluster's CA; do not run certs init on a node",
        )?;
        let cert_chain = read_certs(&cert_path, &issue_hint)?;
        let key_bytes = read_file(&key_path, &issue_hint)?;
        let key = PrivateKeyDer::from_pem_slice(&key_bytes).map_err(|e| TlsError::BadFile {
            path: key_path.clone(),
            reason: format!("no PEM private key in it ({e})"),
        })?;
        let identity = identity_from_cert(&cert_chain[0])
            .map_err(|source| TlsError::Identity { path: cert_path.clone(), source })?;
        if identity.name != name {
            return Err(TlsError::WrongName { path: cert_path, expected: name.to_string(), found: identity });
        }
        Ok(NodeIdentity {
            certs_dir: certs_dir.to_path_buf(),
            name: name.to_string(),
            identity,
            cert_chain,
            ca_certs,
            key,
        })
    }

    pub fn role(&self) -> Role {
        self.identity.role
    }

    pub fn cert_path(&self) -> PathBuf {
        node_cert_path(&self.certs_dir, &self.name)
    }

    pub fn ca_path(&self) -> PathBuf {
        ca_cert_path(&self.certs_dir)
    }

    /// A trust store holding only the cluster CA.
    pub fn root_store(&self) -> Result<Arc<RootCertStore>, TlsError> {
        let mut roots = RootCertStore::empty();
        for ca in &self.ca_certs {
            roots.add(ca.clone()).map_err(|e| TlsError::BadFile {
                path: self.ca_path(),
                reason: format!("not a usable CA certificate ({})", describe_rustls_error(&e)),
            })?;
        }
        Ok(Arc::new(roots))
    }

    /// Verifies our own certificate against the CA as a peer would: signed
    /// directly by the CA, validity dates, extended key usage present and
    /// right (serverAuth + name `localhost` for a coordinator, clientAuth
    /// otherwise). Also checks the key matches.
    pub fn check_signed_by_ca(&self) -> Result<(), TlsError> {
        let roots = self.root_store()?;
        let (leaf, rest) = (&self.cert_chain[0], &self.cert_chain[1..]);
        let now = UnixTime::now();
        let result = if self.role() == Role::Coordinator {
            let localhost = ServerName::try_from("localhost").expect("valid DNS name");
            server_verifier(roots)?.verify_server_cert(leaf, rest, &localhost, &[], now).map(drop)
        } else {
            client_verifier(roots)?.verify_client_cert(leaf, rest, now).map(drop)
        };
        result.map_err(|e| TlsError::OwnCertRejected {
            cert: self.cert_path(),
            ca: self.ca_path(),
            reason: match &e {
                rustls::Error::InvalidCertificate(ce) => crate::tls_error::describe_certificate_error(ce),
                other => describe_rustls_error(other),
            },
        })?;
        rustls::sign::CertifiedKey::from_der(self.cert_chain.clone(), self.key.clone_key(), &crypto_provider())
            .map(drop)
            .map_err(|e| TlsError::BadFile {
                path: node_key_path(&self.certs_dir, &self.name),
                reason: format!("it does not match {} ({e})", self.cert_path().display()),
            })
    }

    /// Server config requiring client certificates signed by the cluster CA.
    /// Refuses unless our own certificate is a coordinator's signed by that CA.
    pub fn server_config(&self) -> Result<Arc<ServerConfig>, TlsError> {
        if self.role() != Role::Coordinator {
            return Err(TlsError::NotCoordinator { path: self.cert_path(), found: self.identity.clone() });
        }
        self.check_signed_by_ca()?;
        self.build_server_config()
    }

    /// Client config presenting our certificate and trusting only the cluster CA.
    pub fn client_config(&self) -> Result<Arc<ClientConfig>, TlsError> {
        self.check_signed_by_ca()?;
        self.build_client_config()
    }

    /// [`NodeIdentity::server_config`], refusing the certificates the CRL at `crl` revokes. The CRL is read now if
    /// the file exists (a file that cannot be used is an error) and whenever [`Revocation::reload`] is called.
    pub fn server_config_revoking(&self, crl: PathBuf) -> Result<(Arc<ServerConfig>, Arc<Revocation>), TlsError> {
        if self.role() != Role::Coordinator {
            return Err(TlsError::NotCoordinator { path: self.cert_path(), found: self.identity.clone() });
        }
        self.check_signed_by_ca()?;
        let verifier = ClusterClientVerifier::new(self.root_store()?)
            .map_err(|e| TlsError::Config(format!("client certificate verifier: {e}")))?;
        let revocation = Arc::new(Revocation::new(crl, verifier.clone(), self.cert_chain[0].clone()));
        revocation.reload(true).map_err(|e| TlsError::Crl(e.to_string()))?;
        Ok((self.server_config_with(verifier)?, revocation))
    }

    pub(crate) fn build_server_config(&self) -> Result<Arc<ServerConfig>, TlsError> {
        self.server_config_with(client_verifier(self.root_store()?)?)
    }

    fn server_config_with(&self, verifier: Arc<dyn ClientCertVerifier>) -> Result<Arc<ServerConfig>, TlsError> {
        let mut config = ServerConfig::builder_with_provider(crypto_provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| TlsError::Config(e.to_string()))?
            .with_client_cert_verifier(verifier)
            .with_single_cert(self.cert_chain.clone(), self.key.clone_key())
            .map_err(|e| self.key_error(e))?;
        // A resumed TLS session skips the client certificate check; without resumption every connection meets the
        // CRL in force (a node makes few connections, so the full handshakes cost little).
        config.session_storage = Arc::new(rustls::server::NoServerSessionStorage {});
        config.send_tls13_tickets = 0;
        Ok(Arc::new(config))
    }

    /// [`NodeIdentity::client_config`], refusing a coordinator whose certificate the CRL at `crl` revokes; without
    /// that file, the plain one. The CRL is read now (a file that cannot be used is an error).
    pub fn client_config_revoking(&self, crl: &Path) -> Result<Arc<ClientConfig>, TlsError> {
        self.check_signed_by_ca()?;
        if !crl.exists() {
            return self.build_client_config();
        }
        let read = crate::crl::read_crl(crl).map_err(|e| TlsError::Crl(e.to_string()))?;
        let verifier = ClusterServerVerifier::revoking(self.root_store()?, read.der, &self.cert_chain[0])
            .map_err(|reason| TlsError::Crl(format!("{}: {reason}", crl.display())))?;
        self.client_config_with(verifier)
    }

    pub(crate) fn build_client_config(&self) -> Result<Arc<ClientConfig>, TlsError> {
        self.client_config_with(server_verifier(self.root_store()?)?)
    }

    fn client_config_with(&self, verifier: Arc<dyn ServerCertVerifier>) -> Result<Arc<ClientConfig>, TlsError> {
        let config = ClientConfig::builder_with_provider(crypto_provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| TlsError::Config(e.to_string()))?
            .dangerous()
            .with_custom_certificate_verifier(verifier)
            .with_client_auth_cert(self.cert_chain.clone(), self.key.clone_key())
            .map_err(|e| self.key_error(e))?;
        Ok(Arc::new(config))
    }

    fn key_error(&self, e: rustls::Error) -> TlsError {
        TlsError::BadFile {
            path: node_key_path(&self.certs_dir, &self.name),
            reason: format!("cannot be used with {} ({e})", self.cert_path().display()),
        }
    }
}

fn client_verifier(roots: Arc<RootCertStore>) -> Result<Arc<dyn ClientCertVerifier>, TlsError> {
    Ok(ClusterClientVerifier::new(roots).map_err(|e| TlsError::Config(format!("client certificate verifier: {e}")))?)
}

fn server_verifier(roots: Arc<RootCertStore>) -> Result<Arc<dyn ServerCertVerifier>, TlsError> {
    Ok(ClusterServerVerifier::new(roots).map_err(|e| TlsError::Config(format!("server certificate verifier: {e}")))?)
}

/// Loads the coordinator's identity from `certs_dir` and builds its server config.
pub fn server_config(certs_dir: &Path, name: &str) -> Result<Arc<ServerConfig>, TlsError> {
    NodeIdentity::load_as(certs_dir, name, Some(Role::Coordinator))?.server_config()
}

/// Loads a node's identity from `certs_dir` and builds its client config.
pub fn client_config(certs_dir: &Path, name: &str) -> Result<Arc<ClientConfig>, TlsError> {
    NodeIdentity::load(certs_dir, name)?.client_config()
}

/// [`client_config`] for a node that is to have `role` (worker or client): a missing file's hint names it. A
/// coordinator certificate that the CRL at `crl` revokes is refused (`None`: `CERTS/ca.crl`, when there is one).
pub fn client_config_as(
    certs_dir: &Path,
    name: &str,
    role: Role,
    crl: Option<&Path>,
) -> Result<Arc<ClientConfig>, TlsError> {
    let identity = NodeIdentity::load_as(certs_dir, name, Some(role))?;
    match crl {
        Some(crl) => identity.client_config_revoking(crl),
        None => identity.client_config_revoking(&crate::crl::crl_path(certs_dir)),
    }
}

/// The verified identity of the peer of a finished handshake (works for both
/// `ServerConnection` and `ClientConnection`, which deref to `CommonState`).
pub fn peer_identity(conn: &CommonState) -> Result<PeerIdentity, IdentityError> {
    let certs = conn.peer_certificates().ok_or(IdentityError::NoPeerCertificate)?;
    let leaf = certs.first().ok_or(IdentityError::NoPeerCertificate)?;
    identity_from_cert(leaf)
}

/// Refuses a peer whose role is not among `allowed`.
pub use crate::identity::require_role;

/// The name to dial and verify the coordinator's certificate against: an IP
/// address (`[::1]` allowed) or a DNS name.
pub fn server_name(host: &str) -> Result<ServerName<'static>, TlsError> {
    let bare = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host);
    if let Ok(ip) = bare.parse::<std::net::IpAddr>() {
        return Ok(ServerName::IpAddress(ip.into()));
    }
    ServerName::try_from(bare.to_string()).map_err(|_| TlsError::BadServerName(host.to_string()))
}

fn read_file(path: &Path, hint: &str) -> Result<Vec<u8>, TlsError> {
    fs::read(path).map_err(|source| {
        if source.kind() == io::ErrorKind::NotFound {
            TlsError::Missing { path: path.to_path_buf(), hint: hint.to_string() }
        } else {
            TlsError::Read { path: path.to_path_buf(), source }
        }
    })
}

fn read_certs(path: &Path, hint: &str) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let bytes = read_file(path, hint)?;
    let certs = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::BadFile { path: path.to_path_buf(), reason: format!("bad PEM ({e})") })?;
    if certs.is_empty() {
        return Err(TlsError::BadFile { path: path.to_path_buf(), reason: "no PEM certificate in it".into() });
    }
    Ok(certs)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::pki::{init_ca, issue, IssueOptions};
    use std::time::Duration;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};

    /// A certs dir with a CA, coordinator "coord" and worker "w1".
    pub(crate) fn cluster() -> tempfile::TempDir {
        let tmp = tempfile::tempdir().unwrap();
        init_ca(tmp.path()).unwrap();
        issue(tmp.path(), &IssueOptions::new(Role::Coordinator, "coord")).unwrap();
        issue(tmp.path(), &IssueOptions::new(Role::Worker, "w1")).unwrap();
        tmp
    }

    pub(crate) type Outcome = Result<PeerIdentity, String>;

    /// One connection over 127.0.0.1, dialling `dial`; each side's view of the peer.
    pub(crate) async fn handshake(
        server: Arc<ServerConfig>,
        client: Arc<ClientConfig>,
        dial: &str,
    ) -> (Outcome, Outcome) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server_side = tokio::spawn(async move {
            let (tcp, _) = listener.accept().await.unwrap();
            match tokio_rustls::TlsAcceptor::from(server).accept(tcp).await {
                Ok(mut tls) => {
                    let id = peer_identity(tls.get_ref().1).map_err(|e| e.to_string());
                    let mut buf = [0u8; 4];
                    let _ = tls.read_exact(&mut buf).await;
                    let _ = tls.write_all(b"pong").await;
                    let _ = tls.shutdown().await;
                    id
                }
                Err(e) => Err(describe_handshake_error(&e)),
            }
        });
        let tcp = TcpStream::connect(addr).await.unwrap();
        let connector = tokio_rustls::TlsConnector::from(client);
        let client_side = match connector.connect(server_name(dial).unwrap(), tcp).await {
            Ok(mut tls) => {
                let id = peer_identity(tls.get_ref().1).map_err(|e| e.to_string());
                // Under TLS 1.3 a refusal of our certificate arrives on the first read.
                let mut buf = [0u8; 4];
                let io = async {
                    tls.write_all(b"ping").await?;
                    tls.read_exact(&mut buf).await
                };
                match io.await {
                    Ok(_) => id,
                    Err(e) => Err(describe_handshake_error(&e)),
                }
            }
            Err(e) => Err(describe_handshake_error(&e)),
        };
        let server_side =
            tokio::time::timeout(Duration::from_secs(20), server_side).await.expect("server side hung").unwrap();
        (server_side, client_side)
    }

    #[tokio::test]
    async fn mutual_tls_handshake_gives_identities() {
        let tmp = cluster();
        let server = server_config(tmp.path(), "coord").unwrap();
        let client = client_config(tmp.path(), "w1").unwrap();
        let (at_server, at_client) = handshake(server, client, "127.0.0.1").await;
        let worker = at_server.unwrap();
        assert_eq!((worker.role, worker.name.as_str()), (Role::Worker, "w1"));
        let coord = at_client.unwrap();
        assert_eq!((coord.role, coord.name.as_str()), (Role::Coordinator, "coord"));
        require_role(&worker, &[Role::Worker]).unwrap();
        assert_eq!(
            require_role(&worker, &[Role::Client]).unwrap_err().to_string(),
            r#"refused: certificate of worker "w1" may not act as a client"#
        );
        // localhost and ::1 are always in a coordinator certificate.
        let (ok, _) = handshake(
            server_config(tmp.path(), "coord").unwrap(),
            client_config(tmp.path(), "w1").unwrap(),
            "localhost",
        )
        .await;
        ok.unwrap();
    }

    #[test]
    fn load_time_checks() {
        let tmp = cluster();
        let dir = tmp.path();
        let err = server_config(dir, "w1").unwrap_err().to_string();
        assert!(err.contains("only a coordinator certificate may accept"), "{err}");

        let err = client_config(dir, "nobody").unwrap_err().to_string();
        assert!(err.starts_with(&format!("{}/nobody.pem not found (", dir.display())), "{err}");
        let err = client_config_as(dir, "render3", Role::Worker, None).unwrap_err().to_string();
        let d = dir.display();
        assert_eq!(
            err,
            format!(
                "{d}/render3.pem not found (on the machine that keeps the cluster's CA, run distencode certs issue \
                 --dir CA_DIR --role worker --name render3, then copy render3.pem, render3.key and ca.pem into {d})"
            )
        );

        // A coordinator certificate from another CA, next to our ca.pem.
        let other = cluster();
        issue(other.path(), &IssueOptions::new(Role::Coordinator, "c2")).unwrap();
        for f in ["c2.pem", "c2.key"] {
            fs::copy(other.path().join(f), dir.join(f)).unwrap();
        }
        let err = server_config(dir, "c2").unwrap_err().to_string();
        assert!(err.contains("cannot be used with") && err.contains("unknown CA"), "{err}");

        // A certificate whose file name disagrees with its node SAN.
        fs::copy(dir.join("w1.pem"), dir.join("w2.pem")).unwrap();
        fs::copy(dir.join("w1.key"), dir.join("w2.key")).unwrap();
        let err = client_config(dir, "w2").unwrap_err().to_string();
        assert!(err.contains(r#"is the certificate of worker "w1", not of node "w2""#), "{err}");
    }

    #[test]
    fn server_names() {
        assert!(matches!(server_name("10.1.2.3"), Ok(ServerName::IpAddress(_))));
        assert!(matches!(server_name("[::1]"), Ok(ServerName::IpAddress(_))));
        assert!(matches!(server_name("render.example"), Ok(ServerName::DnsName(_))));
        assert!(server_name("not a host").is_err());
    }
}
