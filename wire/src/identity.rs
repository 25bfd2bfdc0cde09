//! Who is on the other end of a mutual-TLS connection.
//!
//! Every node of a distencode cluster carries a certificate issued by the
//! cluster CA (see `crate::pki`). The certificate says what the node may do
//! (its [`Role`]) and what it is called (its node name), both as URI
//! SubjectAltNames: `urn:distencode:role:<role>` and
//! `urn:distencode:node:<name>`. The subject CN is never trusted for either:
//! it is free text a human may have typed, while the SANs are what `pki`
//! writes and what this module reads back after the TLS handshake has
//! verified the chain.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use x509_parser::extensions::GeneralName;

/// Prefix of the URI SAN carrying a certificate's role.
pub const ROLE_URN_PREFIX: &str = "urn:distencode:role:";
/// Prefix of the URI SAN carrying a certificate's node name.
pub const NODE_URN_PREFIX: &str = "urn:distencode:node:";
/// Longest node name accepted.
pub const MAX_NODE_NAME_LEN: usize = 64;

/// What a certificate allows its holder to do in the cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Accepts workers and clients, hands out renders.
    Coordinator,
    /// Dials the coordinator and runs `melt`.
    Worker,
    /// Dials the coordinator to submit and watch jobs.
    Client,
}

impl Role {
    /// All roles, in a fixed order.
    pub const ALL: [Role; 3] = [Role::Coordinator, Role::Worker, Role::Client];

    /// The lowercase name used in SANs, on the command line and in messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Coordinator => "coordinator",
            Role::Worker => "worker",
            Role::Client => "client",
        }
    }

    /// The URI SAN that marks a certificate as having this role.
    pub fn san_uri(self) -> String {
        format!("{ROLE_URN_PREFIX}{}", self.as_str())
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = IdentityError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL.into_iter().find(|r| r.as_str() == s).ok_or_else(|| IdentityError::UnknownRole(s.to_string()))
    }
}

/// The URI SAN that names a node.
pub fn node_san_uri(name: &str) -> String {
    format!("{NODE_URN_PREFIX}{name}")
}

/// The verified identity of a peer (or of our own certificate).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PeerIdentity {
    pub role: Role,
    pub name: String,
}

impl fmt::Display for PeerIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {:?}", self.role, self.name)
    }
}

/// Why a certificate does not yield a usable identity, or why an identity is
/// not allowed to do something. Every message is one line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentityError {
    #[error("certificate cannot be parsed: {0}")]
    Parse(String),
    #[error("certificate has no role (no URI SubjectAltName {ROLE_URN_PREFIX}<role>); it was not issued by `distencode certs issue`")]
    NoRole,
    #[error("certificate names more than one role ({0}); refusing it")]
    MultipleRoles(String),
    #[error("unknown role {0:?} (expected coordinator, worker or client)")]
    UnknownRole(String),
    #[error("certificate has no node name (no URI SubjectAltName {NODE_URN_PREFIX}<name>)")]
    NoName,
    #[error("certificate names more than one node ({0}); refusing it")]
    MultipleNames(String),
    #[error("invalid node name {0:?}: use 1 to 64 of A-Z a-z 0-9 . _ -")]
    BadName(String),
    #[error("the peer presented no certificate")]
    NoPeerCertificate,
    #[error("refused: certificate of {role} {name:?} may not act as {wanted}")]
    RoleNotAllowed {
        role: Role,
        name: String,
        /// Human list of the roles that were allowed, e.g. "a client".
        wanted: String,
    },
}

/// Checks a node name: 1 to 64 characters of `[A-Za-z0-9._-]`.
///
/// The name ends up in file names (`NAME.pem`), in URIs and in logs, so the
/// alphabet is deliberately small. `.` and `..` are refused too.
pub fn validate_node_name(name: &str) -> Result<(), IdentityError> {
    let ok = !name.is_empty()
        && name.len() <= MAX_NODE_NAME_LEN
        && name != "."
        && name != ".."
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(IdentityError::BadName(name.to_string()))
    }
}

/// Reads the role and node name from a DER certificate's SubjectAltNames.
///
/// This does not verify the certificate: call it on certificates rustls has
/// already verified against the cluster CA (see `crate::tls::peer_identity`).
pub fn identity_from_cert(der: &[u8]) -> Result<PeerIdentity, IdentityError> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).map_err(|e| IdentityError::Parse(e.to_string()))?;
    let san = cert
        .subject_alternative_name()
        .map_err(|e| IdentityError::Parse(format!("bad SubjectAltName extension: {e}")))?;

    let mut roles: Vec<&str> = Vec::new();
    let mut names: Vec<&str> = Vec::new();
    if let Some(san) = san {
        for general_name in &san.value.general_names {
            if let GeneralName::URI(uri) = general_name {
                if let Some(role) = uri.strip_prefix(ROLE_URN_PREFIX) {
                    roles.push(role);
                } else if let Some(name) = uri.strip_prefix(NODE_URN_PREFIX) {
                    names.push(name);
                }
            }
        }
    }

    let role = match roles.as_slice() {
        [] => return Err(IdentityError::NoRole),
        [one] => one.parse::<Role>()?,
        many => return Err(IdentityError::MultipleRoles(many.join(", "))),
    };
    let name = match names.as_slice() {
        [] => return Err(IdentityError::NoName),
        [one] => *one,
        many => return Err(IdentityError::MultipleNames(many.join(", "))),
    };
    validate_node_name(name)?;
    Ok(PeerIdentity { role, name: name.to_string() })
}

/// Refuses a peer whose role is not among `allowed`.
///
/// The message reads like `refused: certificate of worker "w1" may not act
/// as a client`.
pub fn require_role(peer: &PeerIdentity, allowed: &[Role]) -> Result<(), IdentityError> {
    if allowed.contains(&peer.role) {
        return Ok(());
    }
    let wanted = match allowed {
        [] => "anything here".to_string(),
        [one] => format!("a {one}"),
        [init @ .., last] => {
            let init: Vec<String> = init.iter().map(|r| format!("a {r}")).collect();
            format!("{} or a {last}", init.join(", "))
        }
    };
    Err(IdentityError::RoleNotAllowed { role: peer.role, name: peer.name.clone(), wanted })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cert_with_uris(uris: &[String]) -> Vec<u8> {
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        for uri in uris {
            params.subject_alt_names.push(rcgen::SanType::URI(uri.as_str().try_into().unwrap()));
        }
        // A CN that looks like a role must never be believed.
        params.distinguished_name.push(rcgen::DnType::CommonName, "urn:distencode:role:coordinator");
        let key = rcgen::KeyPair::generate().unwrap();
        params.self_signed(&key).unwrap().der().to_vec()
    }

    #[test]
    fn role_round_trips() {
        for role in Role::ALL {
            assert_eq!(role.to_string().parse::<Role>().unwrap(), role);
        }
        let err = "admin".parse::<Role>().unwrap_err().to_string();
        assert_eq!(err, r#"unknown role "admin" (expected coordinator, worker or client)"#);
    }

    #[test]
    fn reads_role_and_name_from_sans() {
        let der = cert_with_uris(&[Role::Worker.san_uri(), node_san_uri("w-1.a_b")]);
        let id = identity_from_cert(&der).unwrap();
        assert_eq!(id, PeerIdentity { role: Role::Worker, name: "w-1.a_b".into() });
    }

    #[test]
    fn rejects_missing_duplicate_unknown_role() {
        let no_role = cert_with_uris(&[node_san_uri("w1")]);
        assert_eq!(identity_from_cert(&no_role), Err(IdentityError::NoRole));

        let two = cert_with_uris(&[Role::Worker.san_uri(), Role::Coordinator.san_uri(), node_san_uri("w1")]);
        assert!(matches!(identity_from_cert(&two), Err(IdentityError::MultipleRoles(_))));

        let unknown = cert_with_uris(&[format!("{ROLE_URN_PREFIX}root"), node_san_uri("w1")]);
        assert_eq!(identity_from_cert(&unknown), Err(IdentityError::UnknownRole("root".into())));

        let no_name = cert_with_uris(&[Role::Client.san_uri()]);
        assert_eq!(identity_from_cert(&no_name), Err(IdentityError::NoName));

        let bad_name = cert_with_uris(&[Role::Client.san_uri(), node_san_uri("a/b")]);
        assert!(matches!(identity_from_cert(&bad_name), Err(IdentityError::BadName(_))));
        assert!(matches!(identity_from_cert(b"not a certificate"), Err(IdentityError::Parse(_))));
    }

    #[test]
    fn node_names() {
        for good in ["a", "w1", "node-01.example_x", &"x".repeat(64)] {
            validate_node_name(good).unwrap();
        }
        for bad in ["", ".", "..", "a b", "a/b", "é", &"x".repeat(65)] {
            assert!(validate_node_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn require_role_messages() {
        let w1 = PeerIdentity { role: Role::Worker, name: "w1".into() };
        require_role(&w1, &[Role::Worker]).unwrap();
        assert_eq!(
            require_role(&w1, &[Role::Client]).unwrap_err().to_string(),
            r#"refused: certificate of worker "w1" may not act as a client"#
        );
        assert_eq!(
            require_role(&w1, &[Role::Client, Role::Coordinator]).unwrap_err().to_string(),
            r#"refused: certificate of worker "w1" may not act as a client or a coordinator"#
        );
    }
}
