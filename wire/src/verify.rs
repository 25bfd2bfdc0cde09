//! Certificate verification: webpki's checks, plus the two that a cluster CA needs and webpki leaves out.
//!
//! rustls' webpki verifiers check signatures, dates, key usage and basic constraints along a chain, but
//! - they do not apply the trust anchor's own `pathLenConstraint`: an intermediate CA signed with `ca.key` (which
//!   says `pathlen:0`) and a leaf under it verify, so anyone who once got a CA-flagged certificate could mint nodes;
//! - they accept a certificate *without* an extended key usage for every purpose (RFC 5280), so a certificate made
//!   for anything else under the same key would pass as a node.
//!
//! [`ClusterClientVerifier`] (the coordinator's view of workers and clients) and [`ClusterServerVerifier`] (their
//! view of the coordinator) wrap webpki's verifiers and add both: the leaf must be signed directly by the cluster
//! CA (intermediates the peer sends are not used), and it must carry the EKU of its side (clientAuth for a dialer,
//! serverAuth for the coordinator). Each refusal is a [`ChainRefusal`], whose text the logs show.
//!
//! Every certificate the coordinator's verifier refuses, for whatever reason, is also handed on through
//! [`refused::Refusals`], so that the audit trail records it.

pub mod refused;

use std::sync::{Arc, RwLock};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::server::WebPkiClientVerifier;
use rustls::{
    CertRevocationListError, CertificateError, DigitallySignedStruct, DistinguishedName, OtherError, RootCertStore,
    SignatureScheme,
};
use rustls_pki_types::{CertificateDer, CertificateRevocationListDer, ServerName, UnixTime};

use crate::tls::crypto_provider;

/// Why a certificate that webpki would take is refused here. Shown in logs as the end of a sentence about it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainRefusal {
    #[error("it is not signed directly by this cluster's ca.pem but through {intermediates} intermediate certificate(s); distencode certificates are issued by the cluster CA itself (its pathlen is 0)")]
    TooDeep { intermediates: usize },
    #[error("it has no extended key usage; a {side} certificate must allow {purpose} (issue it with distencode certs issue)")]
    NoExtendedKeyUsage { side: &'static str, purpose: &'static str },
    #[error("its extended key usage cannot be read ({0})")]
    BadExtendedKeyUsage(String),
}

impl ChainRefusal {
    fn into_rustls(self) -> rustls::Error {
        rustls::Error::InvalidCertificate(CertificateError::Other(OtherError(Arc::new(self))))
    }
}

/// Which side of a connection a certificate stands for, and the EKU that side needs.
#[derive(Debug, Clone, Copy)]
enum Side {
    Dialer,
    Coordinator,
}

impl Side {
    fn refusal(self) -> ChainRefusal {
        match self {
            Side::Dialer => ChainRefusal::NoExtendedKeyUsage { side: "worker or client", purpose: "clientAuth" },
            Side::Coordinator => ChainRefusal::NoExtendedKeyUsage { side: "coordinator", purpose: "serverAuth" },
        }
    }
}

/// Runs `verify` on the leaf alone; a leaf that verifies only with the intermediates its peer sent is refused as
/// too deep, and one that verifies with neither keeps webpki's reason (an intermediate that is not a CA, say).
fn directly_under_ca(
    intermediates: &[CertificateDer<'_>],
    verify: impl Fn(&[CertificateDer<'_>]) -> Result<(), rustls::Error>,
) -> Result<(), rustls::Error> {
    match verify(&[]) {
        Ok(()) => Ok(()),
        Err(direct) if intermediates.is_empty() => Err(direct),
        Err(_) => match verify(intermediates) {
            Ok(()) => Err(ChainRefusal::TooDeep { intermediates: intermediates.len() }.into_rustls()),
            Err(through) => Err(through),
        },
    }
}

/// webpki has checked that the EKU, when present, allows this side's purpose; here it must also be present.
fn has_extended_key_usage(leaf: &CertificateDer<'_>, side: Side) -> Result<(), rustls::Error> {
    let (_, cert) = x509_parser::parse_x509_certificate(leaf)
        .map_err(|e| ChainRefusal::BadExtendedKeyUsage(e.to_string()).into_rustls())?;
    match cert.extended_key_usage() {
        Ok(Some(_)) => Ok(()),
        Ok(None) => Err(side.refusal().into_rustls()),
        Err(e) => Err(ChainRefusal::BadExtendedKeyUsage(e.to_string()).into_rustls()),
    }
}

/// The handshake-signature methods both verifiers leave to webpki's `inner` verifier unchanged.
macro_rules! signatures_by_inner {
    () => {
        fn verify_tls12_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            self.inner.verify_tls12_signature(message, cert, dss)
        }

        fn verify_tls13_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            self.inner.verify_tls13_signature(message, cert, dss)
        }

        fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
            self.inner.supported_verify_schemes()
        }
    };
}

// === impl ClusterClientVerifier ===

/// The coordinator's verifier of workers' and clients' certificates.
///
/// It also refuses certificates the CA's CRL revokes. The CRL can change while the coordinator runs
/// ([`ClusterClientVerifier::set_crl`]): each handshake uses the verifier of the CRL loaded last.
#[derive(Debug)]
pub struct ClusterClientVerifier {
    /// webpki's verifier over the cluster CA alone, without a CRL: for the handshake signatures, which no CRL changes.
    inner: Arc<dyn ClientCertVerifier>,
    roots: Arc<RootCertStore>,
    /// The CA subjects a client is told to choose a certificate by: the roots', as webpki's verifier gives them.
    hints: Vec<DistinguishedName>,
    /// webpki's verifier over the cluster CA alone, with the current CRL.
    revoking: RwLock<Arc<dyn ClientCertVerifier>>,
    /// Each refused certificate, for the audit trail.
    refusals: refused::Refusals,
}

impl ClusterClientVerifier {
    pub fn new(roots: Arc<RootCertStore>) -> Result<Arc<Self>, rustls::server::VerifierBuilderError> {
        let inner = webpki_client_verifier(&roots, None)?;
        let revoking = RwLock::new(inner.clone());
        Ok(Arc::new(Self { inner, hints: roots.subjects(), roots, revoking, refusals: Default::default() }))
    }

    /// The certificates this verifier refuses, as they are refused.
    pub fn refusals(&self) -> &refused::Refusals {
        &self.refusals
    }

    /// Checks `crl` (it must be signed by the cluster CA: `probe`, a certificate of this CA, is verified with it) and
    /// uses it for every handshake from now on. On `Err` the CRL used so far stays.
    pub fn set_crl(
        &self,
        crl: CertificateRevocationListDer<'static>,
        probe: &CertificateDer<'_>,
    ) -> Result<(), String> {
        let verifier = checked_crl_verifier(&self.roots, crl, probe)?;
        *self.revoking.write().unwrap_or_else(|poisoned| poisoned.into_inner()) = verifier;
        Ok(())
    }

    fn current(&self) -> Arc<dyn ClientCertVerifier> {
        self.revoking.read().unwrap_or_else(|poisoned| poisoned.into_inner()).clone()
    }
}

/// webpki's client verifier over `roots` with `crl`, once `crl` is known to be this CA's: `probe`, a certificate of
/// this CA that has client authentication, is verified with it.
fn checked_crl_verifier(
    roots: &Arc<RootCertStore>,
    crl: CertificateRevocationListDer<'static>,
    probe: &CertificateDer<'_>,
) -> Result<Arc<dyn ClientCertVerifier>, String> {
    let verifier = webpki_client_verifier(roots, Some(crl)).map_err(|e| e.to_string())?;
    match verifier.verify_client_cert(probe, &[], UnixTime::now()) {
        Ok(_) | Err(rustls::Error::InvalidCertificate(CertificateError::Revoked)) => {}
        Err(rustls::Error::InvalidCertificate(CertificateError::UnknownRevocationStatus)) => {
            return Err("it is not issued by this cluster's ca.pem".into())
        }
        Err(rustls::Error::InvalidCertRevocationList(CertRevocationListError::BadSignature)) => {
            return Err("its signature does not verify with this cluster's ca.pem".into())
        }
        Err(rustls::Error::InvalidCertRevocationList(e)) => return Err(format!("{e:?}")),
        // The probe's own trouble (an expired certificate, say) says nothing about the CRL.
        Err(_) => {}
    }
    Ok(verifier)
}

/// webpki's client verifier over `roots`, checking the leaf (only: the CA itself is the trust anchor) against `crl`.
fn webpki_client_verifier(
    roots: &Arc<RootCertStore>,
    crl: Option<CertificateRevocationListDer<'static>>,
) -> Result<Arc<dyn ClientCertVerifier>, rustls::server::VerifierBuilderError> {
    let builder = WebPkiClientVerifier::builder_with_provider(roots.clone(), crypto_provider());
    match crl {
        Some(crl) => builder.with_crls([crl]).only_check_end_entity_revocation().build(),
        None => builder.build(),
    }
}

impl ClientCertVerifier for ClusterClientVerifier {
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &self.hints
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        let inner = self.current();
        let verified =
            directly_under_ca(intermediates, |chain| inner.verify_client_cert(end_entity, chain, now).map(drop));
        if let Err(rustls::Error::InvalidCertificate(CertificateError::Revoked)) = &verified {
            let who = crate::identity::identity_from_cert(end_entity)
                .map_or_else(|_| "a certificate without a node name".to_string(), |id| id.to_string());
            let serial = crate::crl::serial_of(end_entity).map(|s| crate::crl::serial_hex(&s)).unwrap_or_default();
            tracing::warn!(peer = %who, serial, "refused a revoked certificate: {who} (serial {serial}) is in the CA's revocation list");
        }
        verified.and_then(|()| has_extended_key_usage(end_entity, Side::Dialer)).inspect_err(|e| {
            self.refusals.push(refused::RefusedCertificate::of(end_entity, e));
        })?;
        Ok(ClientCertVerified::assertion())
    }

    signatures_by_inner!();
}

// === impl ClusterServerVerifier ===

/// Workers' and clients' verifier of the coordinator's certificate.
#[derive(Debug)]
pub struct ClusterServerVerifier {
    /// webpki's verifier over the cluster CA alone (it also checks the dialled name).
    inner: Arc<WebPkiServerVerifier>,
}

impl ClusterServerVerifier {
    pub fn new(roots: Arc<RootCertStore>) -> Result<Arc<Self>, rustls::client::VerifierBuilderError> {
        let inner = WebPkiServerVerifier::builder_with_provider(roots, crypto_provider()).build()?;
        Ok(Arc::new(Self { inner }))
    }

    /// A verifier that also refuses a coordinator certificate `crl` revokes, once `crl` is known to be this CA's
    /// (`probe`, the dialler's own certificate, is verified with it).
    pub fn revoking(
        roots: Arc<RootCertStore>,
        crl: CertificateRevocationListDer<'static>,
        probe: &CertificateDer<'_>,
    ) -> Result<Arc<Self>, String> {
        checked_crl_verifier(&roots, crl.clone(), probe)?;
        let inner = WebPkiServerVerifier::builder_with_provider(roots, crypto_provider())
            .with_crls([crl])
            .only_check_end_entity_revocation()
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Arc::new(Self { inner }))
    }
}

impl ServerCertVerifier for ClusterServerVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        directly_under_ca(intermediates, |chain| {
            self.inner.verify_server_cert(end_entity, chain, server_name, ocsp_response, now).map(drop)
        })?;
        has_extended_key_usage(end_entity, Side::Coordinator)?;
        Ok(ServerCertVerified::assertion())
    }

    signatures_by_inner!();
}

#[cfg(test)]
mod tests;
