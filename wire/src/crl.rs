//! Revoking certificates: the CA's certificate revocation list, and the record of what the CA issued.
//!
//! A lost laptop's certificate must stop working before it expires. `certs issue` keeps a copy of every certificate
//! it makes in `DIR/issued/SERIAL.pem` ([`record_issued`]), so that [`list`] can show each with its role, expiry
//! and revoked mark, and [`revoke`] can find every certificate of a name even after `NAME.pem` was copied away or
//! renewed. [`revoke`] writes `DIR/ca.crl`, signed by the CA key in `DIR`, listing every serial revoked so far; the
//! coordinator reads it with [`read_crl`] into its client verifier (`crate::verify`).

use std::collections::BTreeSet;
use std::fs;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use rcgen::{CertificateRevocationListParams, KeyIdMethod, RevokedCertParams, SerialNumber};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, CertificateRevocationListDer};
use time::OffsetDateTime;

use crate::error::UnreadableCertificate;
use crate::identity::{identity_from_cert, Role};
use crate::pki::{self, PkiError};

/// The CRL's file name inside a certs dir.
pub const CRL_FILE: &str = "ca.crl";
/// The folder, inside a certs dir, holding a copy of every certificate issued.
pub const ISSUED_DIR: &str = "issued";
/// Certificate files read at most from a certs dir (issued copies and `NAME.pem` files together).
pub const MAX_ISSUED: usize = 100_000;
/// The largest certificate file read while listing.
pub const MAX_CERT_BYTES: u64 = 64 * 1024;
/// The largest CRL file read; a CRL listing [`MAX_ISSUED`] serials is well under it.
pub const MAX_CRL_BYTES: u64 = 16 * 1024 * 1024;
/// Serials a CRL may revoke at most (the coordinator holds them all in memory).
pub const MAX_REVOKED: usize = MAX_ISSUED;
/// Days a CRL says it is current for: nodes do not enforce its next update, a new one replaces it when written.
const CRL_VALID_DAYS: i64 = 3653;

/// `DIR/ca.crl`.
pub fn crl_path(dir: &Path) -> PathBuf {
    dir.join(CRL_FILE)
}

/// A certificate's serial number (its DER integer's bytes) as lowercase hex, as `certs list` shows it.
pub fn serial_hex(serial: &[u8]) -> String {
    serial.iter().map(|b| format!("{b:02x}")).collect()
}

/// The serial number of a DER certificate, as DER integer bytes.
pub fn serial_of(der: &[u8]) -> Result<Vec<u8>, UnreadableCertificate> {
    let (_, cert) = x509_parser::parse_x509_certificate(der)?;
    Ok(cert.raw_serial().to_vec())
}

/// What the coordinator keeps of a peer's certificate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertificateFacts {
    /// Its serial number, as DER integer bytes.
    pub serial: Vec<u8>,
    /// End of validity, Unix seconds.
    pub not_after: i64,
}

impl CertificateFacts {
    /// Those of a DER certificate.
    pub fn of(der: &[u8]) -> Result<Self, UnreadableCertificate> {
        let (_, cert) = x509_parser::parse_x509_certificate(der)?;
        Ok(Self { serial: cert.raw_serial().to_vec(), not_after: cert.validity().not_after.timestamp() })
    }
}

/// Keeps a copy of a certificate just issued in `DIR/issued/SERIAL.pem`.
pub fn record_issued(dir: &Path, der: &[u8], pem: &str) -> Result<(), PkiError> {
    let folder = dir.join(ISSUED_DIR);
    fs::create_dir_all(&folder).map_err(|source| PkiError::Write { path: folder.clone(), source })?;
    let serial = serial_of(der).map_err(|e| PkiError::BadCa { path: folder.clone(), reason: e.to_string() })?;
    let path = folder.join(format!("{}.pem", serial_hex(&serial)));
    fs::write(&path, pem).map_err(|source| PkiError::Write { path, source })
}

/// One certificate the CA issued, as `certs list` shows it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Issued {
    /// The node name its SAN gives.
    pub name: String,
    pub role: Role,
    /// Its serial number, lowercase hex.
    pub serial: String,
    /// End of validity, Unix seconds.
    pub not_after: i64,
    /// Whether `DIR/ca.crl` lists it.
    pub revoked: bool,
    /// The file it was read from.
    #[serde(skip)]
    pub path: PathBuf,
}

impl Issued {
    /// Days from `now` (Unix seconds) until it expires, a started day counted whole: 0 or less once expired.
    pub fn days_left(&self, now: i64) -> i64 {
        days_until(self.not_after, now)
    }
}

/// Days from `now` until `not_after` (both Unix seconds), a started day counted whole.
pub fn days_until(not_after: i64, now: i64) -> i64 {
    (not_after.saturating_sub(now)).saturating_add(86_399).div_euclid(86_400)
}

/// A CRL as read from disk: its bytes for rustls and the serials it revokes.
#[derive(Clone, Debug)]
pub struct Crl {
    pub der: CertificateRevocationListDer<'static>,
    /// The serials it revokes, as DER integer bytes.
    pub serials: BTreeSet<Vec<u8>>,
    /// Its sequence number, grown by one at each revocation.
    pub number: u64,
}

/// Reads and parses a CRL file (PEM or DER). Checks its form only: whether the CA signed it is rustls' part.
pub fn read_crl(path: &Path) -> Result<Crl, PkiError> {
    let bad = |reason: String| PkiError::BadCrl { path: path.to_path_buf(), reason };
    let bytes = read_capped(path, MAX_CRL_BYTES)?.ok_or_else(|| bad(format!("larger than {MAX_CRL_BYTES} bytes")))?;
    let der = match CertificateRevocationListDer::from_pem_slice(&bytes) {
        Ok(der) => der,
        Err(_) => CertificateRevocationListDer::from(bytes),
    };
    let (_, crl) = x509_parser::parse_x509_crl(der.as_ref()).map_err(|e| bad(format!("not a CRL ({e})")))?;
    let mut serials = BTreeSet::new();
    for revoked in crl.iter_revoked_certificates() {
        if serials.len() == MAX_REVOKED {
            return Err(bad(format!("it revokes more than {MAX_REVOKED} certificates")));
        }
        serials.insert(revoked.raw_serial().to_vec());
    }
    let number = crl.crl_number().and_then(|n| u64::try_from(n).ok()).unwrap_or(0);
    Ok(Crl { der, serials, number })
}

/// `DIR/ca.crl` if there is one.
fn read_crl_if_any(dir: &Path) -> Result<Option<Crl>, PkiError> {
    match read_crl(&crl_path(dir)) {
        Ok(crl) => Ok(Some(crl)),
        Err(PkiError::Read { source, .. }) if source.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// The file's bytes, or `None` when it is larger than `cap`.
fn read_capped(path: &Path, cap: u64) -> Result<Option<Vec<u8>>, PkiError> {
    let read_error = |source| PkiError::Read { path: path.to_path_buf(), source };
    let file = fs::File::open(path).map_err(read_error)?;
    let mut bytes = Vec::new();
    file.take(cap + 1).read_to_end(&mut bytes).map_err(read_error)?;
    Ok((bytes.len() as u64 <= cap).then_some(bytes))
}

/// Every certificate the CA in `DIR` issued that is in `DIR/issued/` or is a `DIR/NAME.pem` (issued before copies
/// were kept), once each, by name then expiry; `revoked` says whether `DIR/ca.crl` lists it. Files that are not
/// certificates of this CA are left out.
pub fn list(dir: &Path) -> Result<Vec<Issued>, PkiError> {
    let revoked = read_crl_if_any(dir)?.map(|crl| crl.serials).unwrap_or_default();
    list_marking(dir, &revoked)
}

/// [`list`] without reading the CRL: none is marked revoked (for `certs renew`, which works with a damaged CRL).
pub fn list_unmarked(dir: &Path) -> Result<Vec<Issued>, PkiError> {
    list_marking(dir, &BTreeSet::new())
}

fn list_marking(dir: &Path, revoked: &BTreeSet<Vec<u8>>) -> Result<Vec<Issued>, PkiError> {
    let ca_path = pki::ca_cert_path(dir);
    let ca_pem = match read_capped(&ca_path, MAX_CERT_BYTES) {
        Err(PkiError::Read { source, .. }) if source.kind() == io::ErrorKind::NotFound => {
            return Err(PkiError::NoCa { dir: dir.to_path_buf(), path: ca_path });
        }
        other => other?.unwrap_or_default(),
    };
    let ca_der = CertificateDer::from_pem_slice(&ca_pem)
        .map_err(|e| PkiError::BadCa { path: ca_path.clone(), reason: format!("no PEM certificate in it ({e})") })?;
    let (_, ca) = x509_parser::parse_x509_certificate(&ca_der)
        .map_err(|e| PkiError::BadCa { path: ca_path.clone(), reason: format!("cannot be parsed ({e})") })?;
    let ca_subject = ca.subject().as_raw();

    let mut seen = BTreeSet::new();
    let mut issued = Vec::new();
    for path in certificate_files(dir)? {
        let Ok(Some(pem)) = read_capped(&path, MAX_CERT_BYTES) else { continue };
        let Ok(der) = CertificateDer::from_pem_slice(&pem) else { continue };
        let Ok(identity) = identity_from_cert(&der) else { continue };
        let Ok((_, cert)) = x509_parser::parse_x509_certificate(&der) else { continue };
        if cert.issuer().as_raw() != ca_subject {
            continue;
        }
        let serial = cert.raw_serial().to_vec();
        if !seen.insert(serial.clone()) {
            continue;
        }
        issued.push(Issued {
            name: identity.name,
            role: identity.role,
            serial: serial_hex(&serial),
            not_after: cert.validity().not_after.timestamp(),
            revoked: revoked.contains(&serial),
            path,
        });
    }
    issued.sort_by(|a, b| (&a.name, a.not_after, &a.serial).cmp(&(&b.name, b.not_after, &b.serial)));
    Ok(issued)
}

/// The `.pem` files of `DIR/issued/` and of `DIR` itself (not `ca.pem`), at most [`MAX_ISSUED`].
fn certificate_files(dir: &Path) -> Result<Vec<PathBuf>, PkiError> {
    let mut files = Vec::new();
    for folder in [dir.join(ISSUED_DIR), dir.to_path_buf()] {
        let entries = match fs::read_dir(&folder) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(source) => return Err(PkiError::Read { path: folder, source }),
        };
        for entry in entries.flatten() {
            if files.len() == MAX_ISSUED {
                return Ok(files);
            }
            let path = entry.path();
            let pem = path.extension().is_some_and(|e| e == "pem");
            if pem && path.file_name().is_some_and(|n| n != pki::CA_CERT_FILE) {
                files.push(path);
            }
        }
    }
    Ok(files)
}

/// What [`revoke`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Revoked {
    /// Serials revoked now (lowercase hex).
    pub newly: Vec<String>,
    /// Serials of the name that were revoked before.
    pub already: Vec<String>,
}

/// Revokes the certificates issued to node `name` (only the one with serial `only`, when given) that are not
/// revoked yet: `DIR/ca.crl` is written anew, signed by the CA key in `DIR`, with them and every serial revoked
/// before. Revoking again changes nothing (the file is not rewritten).
pub fn revoke(dir: &Path, name: &str, only: Option<&str>) -> Result<Revoked, PkiError> {
    let (ca_params, ca_key) = pki::load_ca_params(dir)?;
    let key_id = ca_params.key_identifier_method.clone();
    let issuer = rcgen::Issuer::new(ca_params, ca_key);
    let issued = list(dir)?;
    let only = only.map(|serial| serial.trim().trim_start_matches("0x").to_ascii_lowercase());
    let chosen: Vec<&Issued> =
        issued.iter().filter(|i| i.name == name && only.as_ref().is_none_or(|s| *s == i.serial)).collect();
    if chosen.is_empty() {
        return Err(PkiError::NotIssued { name: name.to_string(), serial: only, dir: dir.to_path_buf() });
    }
    let (mut serials, number) = read_crl_if_any(dir)?.map(|crl| (crl.serials, crl.number)).unwrap_or_default();
    let mut done = Revoked { newly: Vec::new(), already: Vec::new() };
    for cert in chosen {
        let bytes = hex_bytes(&cert.serial).ok_or_else(|| PkiError::BadCrl {
            path: crl_path(dir),
            reason: format!("serial {} is not hex", cert.serial),
        })?;
        if serials.insert(bytes) {
            done.newly.push(cert.serial.clone());
        } else {
            done.already.push(cert.serial.clone());
        }
    }
    if !done.newly.is_empty() {
        write_crl(dir, (&issuer, key_id), &serials, number.saturating_add(1))?;
        tracing::info!(name, serials = ?done.newly, crl = %crl_path(dir).display(), "revoked certificates");
    }
    Ok(done)
}

/// Signs and writes `DIR/ca.crl` listing `serials`, atomically (a coordinator reading it never sees half of it).
fn write_crl(
    dir: &Path,
    (issuer, key_identifier_method): (&rcgen::Issuer<'_, rcgen::KeyPair>, KeyIdMethod),
    serials: &BTreeSet<Vec<u8>>,
    number: u64,
) -> Result<(), PkiError> {
    let now = OffsetDateTime::now_utc();
    let params = CertificateRevocationListParams {
        this_update: now,
        next_update: now + time::Duration::days(CRL_VALID_DAYS),
        crl_number: SerialNumber::from(number),
        issuing_distribution_point: None,
        revoked_certs: serials
            .iter()
            .map(|serial| RevokedCertParams {
                serial_number: SerialNumber::from_slice(serial),
                revocation_time: now,
                reason_code: None,
                invalidity_date: None,
            })
            .collect(),
        key_identifier_method,
    };
    let pem = params.signed_by(issuer)?.pem()?;
    let path = crl_path(dir);
    let temporary = dir.join(format!(".{CRL_FILE}.new"));
    let write = || -> io::Result<()> {
        let mut file = fs::File::create(&temporary)?;
        file.write_all(pem.as_bytes())?;
        file.sync_all()?;
        fs::rename(&temporary, &path)
    };
    write().map_err(|source| PkiError::Write { path: path.clone(), source })
}

fn hex_bytes(hex: &str) -> Option<Vec<u8>> {
    if hex.is_empty() || !hex.len().is_multiple_of(2) {
        return None;
    }
    (0..hex.len() / 2).map(|i| u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()).collect()
}

#[cfg(test)]
mod tests;
