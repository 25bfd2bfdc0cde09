//! The cluster's small private PKI: one CA per cluster, one certificate per node.
//!
//! distencode nodes trust nothing but the cluster CA in their certs dir, and
//! learn a peer's role and name from SubjectAltNames written here (see
//! `crate::identity`). This module makes those files with rcgen: `ca.pem` +
//! `ca.key` from [`init_ca`], then `NAME.pem` + `NAME.key` per node from
//! [`issue`]. Private keys are created mode 0600 from the first byte and are
//! never overwritten.

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, DnValue, ExtendedKeyUsagePurpose, IsCa, Issuer,
    KeyIdMethod, KeyPair, KeyUsagePurpose, PublicKeyData, SanType,
};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName};
use time::{Duration, OffsetDateTime};
use x509_parser::asn1_rs::Tag;
use x509_parser::extensions::ParsedExtension;

use crate::identity::{node_san_uri, validate_node_name, Role};
pub use crate::tls_error::PkiError;

/// File name of the cluster CA certificate inside a certs dir.
pub const CA_CERT_FILE: &str = "ca.pem";
/// File name of the cluster CA private key inside a certs dir.
pub const CA_KEY_FILE: &str = "ca.key";
/// Subject CN of every cluster CA.
pub const CA_COMMON_NAME: &str = "distencode cluster CA";

/// Where [`init_ca`] wrote the CA.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaPaths {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// Where [`issue`] wrote a node's certificate and key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedPaths {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// `DIR/ca.pem`.
pub fn ca_cert_path(dir: &Path) -> PathBuf {
    dir.join(CA_CERT_FILE)
}

/// `DIR/ca.key`.
pub fn ca_key_path(dir: &Path) -> PathBuf {
    dir.join(CA_KEY_FILE)
}

/// `DIR/NAME.pem`.
pub fn node_cert_path(dir: &Path, name: &str) -> PathBuf {
    dir.join(format!("{name}.pem"))
}

/// `DIR/NAME.key`.
pub fn node_key_path(dir: &Path, name: &str) -> PathBuf {
    dir.join(format!("{name}.key"))
}

/// What [`issue`] should put in a node certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssueOptions {
    pub role: Role,
    pub name: String,
    /// Extra host names or IP addresses the certificate is valid for.
    pub sans: Vec<String>,
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
}

impl IssueOptions {
    /// Valid from an hour ago (clock skew) for 825 days, with no extra SANs.
    pub fn new(role: Role, name: impl Into<String>) -> Self {
        let now = OffsetDateTime::now_utc();
        IssueOptions {
            role,
            name: name.into(),
            sans: Vec::new(),
            not_before: now - Duration::hours(1),
            not_after: now + Duration::days(825),
        }
    }

    /// Adds `--san` values.
    pub fn with_sans(mut self, sans: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.sans.extend(sans.into_iter().map(Into::into));
        self
    }
}

/// Creates a new cluster CA in `dir` (created 0700 if missing): `ca.pem` and
/// `ca.key` (0600). Refuses if `dir/ca.key` already exists.
pub fn init_ca(dir: &Path) -> Result<CaPaths, PkiError> {
    init_ca_with(dir, false)
}

/// [`init_ca`], but with `replace` an existing `ca.pem` and `ca.key` in `dir` are removed first (`certs init
/// --force`): every certificate the old CA issued stops being trusted by nodes given the new `ca.pem`.
pub fn init_ca_with(dir: &Path, replace: bool) -> Result<CaPaths, PkiError> {
    ensure_dir(dir)?;
    let paths = CaPaths { cert: ca_cert_path(dir), key: ca_key_path(dir) };
    if replace {
        for path in [&paths.key, &paths.cert] {
            match fs::remove_file(path) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => {
                    return Err(PkiError::Write { path: path.clone(), source: e })
                }
                _ => {}
            }
        }
    } else if paths.key.exists() {
        return Err(PkiError::CaExists { path: paths.key });
    } else if paths.cert.exists() {
        // A node's certs dir: it holds the cluster's ca.pem without its key. A new CA here would cut it off.
        return Err(PkiError::CaCertExists { path: paths.cert });
    }

    let mut params = CertificateParams::default();
    params.distinguished_name = ca_distinguished_name()?;
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let now = OffsetDateTime::now_utc();
    params.not_before = now - Duration::hours(1);
    params.not_after = now + Duration::days(3653);
    let key = KeyPair::generate()?;
    let cert = params.self_signed(&key)?;

    write_pair((&paths.key, &key.serialize_pem()), (&paths.cert, &cert.pem()), || PkiError::CaExists {
        path: paths.key.clone(),
    })?;
    tracing::info!(cert = %paths.cert.display(), "created cluster CA");
    Ok(paths)
}

/// Issues a certificate for one node, signed by the CA in `dir`: writes
/// `dir/NAME.pem` and `dir/NAME.key` (0600), and keeps a copy of the certificate in `dir/issued/` for
/// `certs list` and `certs revoke`. Refuses if `NAME.key` exists.
pub fn issue(dir: &Path, opts: &IssueOptions) -> Result<IssuedPaths, PkiError> {
    let paths = IssuedPaths { cert: node_cert_path(dir, &opts.name), key: node_key_path(dir, &opts.name) };
    let key_exists =
        || PkiError::KeyExists { name: opts.name.clone(), path: paths.key.clone(), cert: paths.cert.clone() };
    check_options(opts)?;
    if paths.key.exists() {
        return Err(key_exists());
    }
    let made = make_certificate(dir, opts)?;
    write_pair((&paths.key, &made.key_pem), (&paths.cert, &made.cert_pem), key_exists)?;
    crate::crl::record_issued(dir, &made.der, &made.cert_pem)?;
    tracing::info!(role = %opts.role, name = %opts.name, cert = %paths.cert.display(), "issued certificate");
    Ok(paths)
}

/// Issues a new key and certificate for a node the CA in `dir` issued one to before (`certs renew`), with the same
/// role and host names, valid from now for `days`: `NAME.pem` and `NAME.key` are replaced (each by a rename, so
/// either the old or the new file is there). The old certificate stays valid until it expires or is revoked.
pub fn renew(dir: &Path, name: &str, days: i64) -> Result<IssuedPaths, PkiError> {
    validate_node_name(name)?;
    let newest = crate::crl::list_unmarked(dir)?.into_iter().filter(|i| i.name == name).max_by_key(|i| i.not_after);
    let Some(old) = newest else {
        return Err(PkiError::NotIssued { name: name.to_string(), serial: None, dir: dir.to_path_buf() });
    };
    let der = CertificateDer::from_pem_file(&old.path)
        .map_err(|e| PkiError::BadCa { path: old.path.clone(), reason: format!("no PEM certificate in it ({e})") })?;
    let now = OffsetDateTime::now_utc();
    let mut opts = IssueOptions::new(old.role, name).with_sans(host_sans(&der));
    opts.not_before = now - Duration::hours(1);
    opts.not_after = now + Duration::days(days);
    check_options(&opts)?;
    let made = make_certificate(dir, &opts)?;
    let paths = IssuedPaths { cert: node_cert_path(dir, name), key: node_key_path(dir, name) };
    let staged = IssuedPaths { cert: dir.join(format!(".{name}.pem.new")), key: dir.join(format!(".{name}.key.new")) };
    for path in [&staged.key, &staged.cert] {
        match fs::remove_file(path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => {
                return Err(PkiError::Write { path: path.clone(), source: e })
            }
            _ => {}
        }
    }
    let exists = || PkiError::KeyExists { name: name.to_string(), path: staged.key.clone(), cert: staged.cert.clone() };
    write_pair((&staged.key, &made.key_pem), (&staged.cert, &made.cert_pem), exists)?;
    for (from, to) in [(&staged.key, &paths.key), (&staged.cert, &paths.cert)] {
        fs::rename(from, to).map_err(|source| PkiError::Write { path: to.clone(), source })?;
    }
    crate::crl::record_issued(dir, &made.der, &made.cert_pem)?;
    tracing::info!(role = %opts.role, name, cert = %paths.cert.display(), "renewed certificate");
    Ok(paths)
}

/// The DNS and IP SubjectAltNames of a certificate, as `--san` values.
fn host_sans(der: &[u8]) -> Vec<String> {
    use x509_parser::extensions::GeneralName;
    let Ok((_, cert)) = x509_parser::parse_x509_certificate(der) else { return Vec::new() };
    let Ok(Some(sans)) = cert.subject_alternative_name() else { return Vec::new() };
    sans.value
        .general_names
        .iter()
        .filter_map(|name| match name {
            GeneralName::DNSName(dns) => Some(dns.to_string()),
            GeneralName::IPAddress([a, b, c, d]) => Some(IpAddr::from([*a, *b, *c, *d]).to_string()),
            GeneralName::IPAddress(bytes) => <[u8; 16]>::try_from(*bytes).ok().map(|v6| IpAddr::from(v6).to_string()),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
pub(crate) fn host_sans_for_tests(der: &[u8]) -> Vec<String> {
    host_sans(der)
}

/// The name and dates of `opts`, checked before anything is made.
fn check_options(opts: &IssueOptions) -> Result<(), PkiError> {
    validate_node_name(&opts.name)?;
    if opts.name == "ca" {
        return Err(PkiError::ReservedName(opts.name.clone()));
    }
    if opts.not_after <= opts.not_before {
        return Err(PkiError::BadValidity { not_before: opts.not_before, not_after: opts.not_after });
    }
    Ok(())
}

/// A node certificate and its new key, made and signed by the CA in `dir` but not written anywhere.
struct Made {
    key_pem: String,
    cert_pem: String,
    der: Vec<u8>,
}

fn make_certificate(dir: &Path, opts: &IssueOptions) -> Result<Made, PkiError> {
    let sans = san_list(opts)?;
    let ca = load_ca(dir)?;

    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, opts.name.as_str());
    params.distinguished_name = dn;
    params.subject_alt_names = sans;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = match opts.role {
        Role::Coordinator => vec![ExtendedKeyUsagePurpose::ServerAuth, ExtendedKeyUsagePurpose::ClientAuth],
        Role::Worker | Role::Client => vec![ExtendedKeyUsagePurpose::ClientAuth],
    };
    params.not_before = opts.not_before;
    params.not_after = opts.not_after;
    params.use_authority_key_identifier_extension = true;
    let key = KeyPair::generate()?;
    let cert = params.signed_by(&key, &ca.issuer)?;
    check_issuer_matches(cert.der(), &ca.subject_raw, &ca.cert_path)?;
    Ok(Made { key_pem: key.serialize_pem(), cert_pem: cert.pem(), der: cert.der().to_vec() })
}

/// The cluster CA in `dir` as rcgen parameters (its exact subject, key usages and key identifier) and its key,
/// checked as [`issue`] checks them: for certificates made outside [`issue`] (the refusal tests make every kind
/// a node must refuse, an impostor CA of the same subject among them).
pub fn load_ca_params(dir: &Path) -> Result<(CertificateParams, KeyPair), PkiError> {
    let ca = load_ca(dir)?;
    let key = KeyPair::from_pem(&ca.issuer.key().serialize_pem())?;
    Ok((ca.params, key))
}

/// The cluster CA in `dir` as an rcgen issuer; see [`load_ca_params`].
pub fn load_issuer(dir: &Path) -> Result<Issuer<'static, KeyPair>, PkiError> {
    Ok(load_ca(dir)?.issuer)
}

/// CN "distencode cluster CA" plus a random OU: every cluster's CA must have a
/// distinct subject, or a certificate from another cluster would be matched to
/// ours by name and fail as a bad signature instead of an unknown issuer.
fn ca_distinguished_name() -> Result<DistinguishedName, PkiError> {
    let mut id = [0u8; 8];
    rustls::crypto::ring::default_provider()
        .secure_random
        .fill(&mut id)
        .map_err(|_| PkiError::Rcgen(rcgen::Error::RingUnspecified))?;
    let id: String = id.iter().map(|b| format!("{b:02x}")).collect();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::OrganizationName, "distencode");
    dn.push(DnType::OrganizationalUnitName, format!("cluster {id}"));
    dn.push(DnType::CommonName, CA_COMMON_NAME);
    Ok(dn)
}

/// Role and node URIs, then (coordinator) localhost/loopback, then `--san`s.
fn san_list(opts: &IssueOptions) -> Result<Vec<SanType>, PkiError> {
    let uri = |s: String| -> Result<SanType, PkiError> { Ok(SanType::URI(s.try_into()?)) };
    let mut sans = vec![uri(opts.role.san_uri())?, uri(node_san_uri(&opts.name))?];
    let mut hosts: Vec<&str> = Vec::new();
    if opts.role == Role::Coordinator {
        hosts.extend(["localhost", "127.0.0.1", "::1"]);
    }
    hosts.extend(opts.sans.iter().map(|s| s.trim()));
    for host in hosts {
        let san = match parse_host(host)? {
            HostName::Ip(ip) => SanType::IpAddress(ip),
            HostName::Dns(dns) => SanType::DnsName(dns.try_into()?),
        };
        if !sans.contains(&san) {
            sans.push(san);
        }
    }
    Ok(sans)
}

enum HostName {
    Ip(IpAddr),
    Dns(String),
}

/// Parses a `--san` value as an IP address (`[::1]` allowed) or a DNS name.
fn parse_host(host: &str) -> Result<HostName, PkiError> {
    let bare = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host);
    if let Ok(ip) = bare.parse::<IpAddr>() {
        return Ok(HostName::Ip(ip));
    }
    match ServerName::try_from(host) {
        Ok(ServerName::DnsName(dns)) => Ok(HostName::Dns(dns.as_ref().to_ascii_lowercase())),
        _ => Err(PkiError::BadSan(host.to_string())),
    }
}

struct LoadedCa {
    issuer: Issuer<'static, KeyPair>,
    /// What the issuer was built from.
    params: CertificateParams,
    subject_raw: Vec<u8>,
    cert_path: PathBuf,
}

/// Loads `ca.pem` + `ca.key` and checks they belong together.
fn load_ca(dir: &Path) -> Result<LoadedCa, PkiError> {
    let key_path = ca_key_path(dir);
    let cert_path = ca_cert_path(dir);
    let read = |path: &Path| -> Result<String, PkiError> {
        fs::read_to_string(path).map_err(|source| {
            if source.kind() == io::ErrorKind::NotFound {
                PkiError::NoCa { dir: dir.to_path_buf(), path: path.to_path_buf() }
            } else {
                PkiError::Read { path: path.to_path_buf(), source }
            }
        })
    };
    if !key_path.exists() && cert_path.exists() {
        return Err(PkiError::CaKeyElsewhere { dir: dir.to_path_buf() });
    }
    let key_pem = read(&key_path)?;
    let cert_pem = read(&cert_path)?;
    let bad = |path: &Path, reason: String| PkiError::BadCa { path: path.to_path_buf(), reason };

    let key = KeyPair::from_pem(&key_pem).map_err(|e| bad(&key_path, format!("not a PEM private key ({e})")))?;
    let der = CertificateDer::from_pem_slice(cert_pem.as_bytes())
        .map_err(|e| bad(&cert_path, format!("no PEM certificate in it ({e})")))?;
    let (_, cert) = x509_parser::parse_x509_certificate(&der)
        .map_err(|e| bad(&cert_path, format!("certificate cannot be parsed ({e})")))?;
    if !cert.is_ca() {
        return Err(bad(&cert_path, "the certificate is not a CA certificate".into()));
    }
    if cert.public_key().raw != key.subject_public_key_info().as_slice() {
        return Err(bad(&key_path, format!("this key does not belong to {}", cert_path.display())));
    }

    let mut params = CertificateParams::default();
    params.distinguished_name = distinguished_name_of(cert.subject()).map_err(|reason| bad(&cert_path, reason))?;
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    params.key_identifier_method = cert
        .extensions()
        .iter()
        .find_map(|ext| match ext.parsed_extension() {
            ParsedExtension::SubjectKeyIdentifier(id) => Some(KeyIdMethod::PreSpecified(id.0.to_vec())),
            _ => None,
        })
        .unwrap_or(KeyIdMethod::Sha256);
    Ok(LoadedCa {
        subject_raw: cert.subject().as_raw().to_vec(),
        issuer: Issuer::new(params.clone(), key),
        params,
        cert_path,
    })
}

/// Rebuilds an rcgen DN from a parsed certificate subject, keeping string types
/// so that issued certificates' issuer field matches the CA subject byte for byte.
fn distinguished_name_of(name: &x509_parser::x509::X509Name<'_>) -> Result<DistinguishedName, String> {
    let mut dn = DistinguishedName::new();
    for rdn in name.iter() {
        for attr in rdn.iter() {
            let oid: Vec<u64> =
                attr.attr_type().iter().ok_or("subject has an attribute with an oversized OID")?.collect();
            let value = attr.attr_value();
            let text = std::str::from_utf8(value.data).map_err(|_| "subject is not UTF-8")?;
            let value = match value.header.tag() {
                Tag::Utf8String => DnValue::Utf8String(text.to_string()),
                Tag::PrintableString => DnValue::PrintableString(text.try_into().map_err(|e| format!("{e}"))?),
                Tag::Ia5String => DnValue::Ia5String(text.try_into().map_err(|e| format!("{e}"))?),
                other => return Err(format!("subject uses an unsupported string type ({other})")),
            };
            dn.push(DnType::from_oid(&oid), value);
        }
    }
    Ok(dn)
}

fn check_issuer_matches(leaf: &[u8], ca_subject: &[u8], ca_path: &Path) -> Result<(), PkiError> {
    let same = x509_parser::parse_x509_certificate(leaf)
        .map(|(_, cert)| cert.issuer().as_raw() == ca_subject)
        .unwrap_or(false);
    if !same {
        return Err(PkiError::BadCa {
            path: ca_path.to_path_buf(),
            reason: "its subject cannot be reproduced exactly in issued certificates".into(),
        });
    }
    Ok(())
}

fn ensure_dir(dir: &Path) -> Result<(), PkiError> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir).map_err(|source| PkiError::CreateDir { path: dir.to_path_buf(), source })
}

/// Writes the key exclusively, mode 0600 from creation (never readable by
/// others, not even briefly), then the certificate; removes the key again if
/// the certificate cannot be written.
fn write_pair(key: (&Path, &str), cert: (&Path, &str), exists: impl FnOnce() -> PkiError) -> Result<(), PkiError> {
    let write = |path: &Path, contents: &str, secret: bool| -> io::Result<()> {
        let mut options = OpenOptions::new();
        options.write(true);
        if secret {
            options.create_new(true);
        } else {
            options.create(true).truncate(true);
        }
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, if secret { 0o600 } else { 0o644 });
        let mut file = options.open(path)?;
        file.write_all(contents.as_bytes())?;
        file.sync_all()
    };
    match write(key.0, key.1, true) {
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => return Err(exists()),
        Err(source) => {
            let _ = fs::remove_file(key.0);
            return Err(PkiError::Write { path: key.0.to_path_buf(), source });
        }
        Ok(()) => {}
    }
    write(cert.0, cert.1, false).map_err(|source| {
        let _ = fs::remove_file(key.0);
        PkiError::Write { path: cert.0.to_path_buf(), source }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::identity_from_cert;

    fn read_cert(path: &Path) -> Vec<u8> {
        CertificateDer::from_pem_file(path).unwrap().to_vec()
    }

    #[test]
    fn init_ca_then_issue() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("certs");
        let ca = init_ca(&dir).unwrap();
        let opts = IssueOptions::new(Role::Coordinator, "coord").with_sans(["10.0.0.7", "render.example"]);
        let issued = issue(&dir, &opts).unwrap();
        assert_eq!(issued.cert, dir.join("coord.pem"));

        let der = read_cert(&issued.cert);
        let id = identity_from_cert(&der).unwrap();
        assert_eq!((id.role, id.name.as_str()), (Role::Coordinator, "coord"));
        let (_, cert) = x509_parser::parse_x509_certificate(&der).unwrap();
        use x509_parser::extensions::GeneralName::{DNSName, IPAddress};
        let sans = &cert.subject_alternative_name().unwrap().unwrap().value.general_names;
        let loopback6 = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
        for want in [
            DNSName("localhost"),
            IPAddress(&[127, 0, 0, 1]),
            IPAddress(&loopback6),
            IPAddress(&[10, 0, 0, 7]),
            DNSName("render.example"),
        ] {
            assert!(sans.contains(&want), "{want:?} missing from {sans:?}");
        }
        let eku = cert.extended_key_usage().unwrap().unwrap().value;
        assert!(eku.server_auth && eku.client_auth);
        let ca_der = read_cert(&ca.cert);
        let (_, ca_cert) = x509_parser::parse_x509_certificate(&ca_der).unwrap();
        assert_eq!(cert.issuer().as_raw(), ca_cert.subject().as_raw());
        assert!(ca_cert.subject().to_string().contains(CA_COMMON_NAME));

        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(&ca.key), 0o600);
            assert_eq!(mode(&issued.key), 0o600);
            assert_eq!(mode(&dir), 0o700);
        }
    }

    #[test]
    fn refuses_to_overwrite() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        init_ca(dir).unwrap();
        let before = fs::read(ca_key_path(dir)).unwrap();
        let err = init_ca(dir).unwrap_err();
        assert!(matches!(err, PkiError::CaExists { .. }), "{err}");
        assert!(err.to_string().contains("refusing to overwrite the existing CA key"));
        assert_eq!(fs::read(ca_key_path(dir)).unwrap(), before);
        // A node's folder: the cluster's ca.pem alone. init refuses, and issue says where to run it.
        let node = tmp.path().join("node");
        fs::create_dir(&node).unwrap();
        fs::copy(ca_cert_path(dir), ca_cert_path(&node)).unwrap();
        let err = init_ca(&node).unwrap_err().to_string();
        let n = node.display();
        assert_eq!(
            err,
            format!(
                "refusing to replace {n}/ca.pem: it is the cluster's CA certificate this node trusts, and a new CA \
                 would cut the node off from the cluster (run certs init once, on the machine that keeps the CA; \
                 --force replaces it)"
            )
        );
        let err = issue(&node, &IssueOptions::new(Role::Worker, "w2")).unwrap_err().to_string();
        assert_eq!(
            err,
            format!(
                "{n} has the cluster's ca.pem but not its ca.key: run distencode certs issue on the machine that \
                 keeps the CA, then copy the node's NAME.pem and NAME.key here (not certs init: a new CA would cut \
                 this node off)"
            )
        );
        assert_eq!(fs::read(ca_cert_path(&node)).unwrap(), fs::read(ca_cert_path(dir)).unwrap());
        // --force makes a new CA in place of the old one.
        let old_ca = fs::read(ca_cert_path(dir)).unwrap();
        init_ca_with(dir, true).unwrap();
        assert_ne!(fs::read(ca_key_path(dir)).unwrap(), before);
        assert_ne!(fs::read(ca_cert_path(dir)).unwrap(), old_ca);

        issue(dir, &IssueOptions::new(Role::Worker, "w1")).unwrap();
        let err = issue(dir, &IssueOptions::new(Role::Worker, "w1")).unwrap_err();
        assert!(matches!(err, PkiError::KeyExists { .. }), "{err}");
        assert!(matches!(issue(dir, &IssueOptions::new(Role::Worker, "ca")), Err(PkiError::ReservedName(_))));
    }
}
