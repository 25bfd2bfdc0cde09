//! The coordinator's current revocation list: loaded at start, reloaded when asked (SIGHUP) or when the file changed.
//!
//! [`Revocation`] owns the CRL path and feeds two things: the coordinator's [`ClusterClientVerifier`], so a revoked
//! certificate is refused at the handshake, and a watch channel of the revoked serials, so a connection opened
//! before the revocation ends as soon as its certificate's serial appears there. A CRL that cannot be used is one
//! clear line ([`PkiError::BadCrl`]) and the one loaded before stays in force.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use rustls_pki_types::CertificateDer;
use tokio::sync::watch;

use crate::crl::read_crl;
use crate::pki::PkiError;
use crate::verify::ClusterClientVerifier;

/// How often the coordinator looks at the CRL file's modification time and size.
pub const CRL_POLL_INTERVAL: Duration = Duration::from_secs(2);

/// The serials (DER integer bytes) the CRL in force revokes.
pub type RevokedSerials = Arc<BTreeSet<Vec<u8>>>;

/// What the file looked like when last read: a change in any part means read it again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Stamp {
    modified: Option<SystemTime>,
    len: u64,
}

/// The outcome of [`Revocation::reload`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reloaded {
    /// The file is as it was when read last; nothing was done.
    Unchanged,
    /// There is no CRL file (and none was loaded before).
    Absent,
    /// The file is gone; the revocations loaded before stay in force.
    Gone { kept: usize },
    /// A CRL was loaded: it revokes this many certificates, `added` of them new.
    Loaded { revoked: usize, added: usize },
}

/// The coordinator's CRL, the verifier it feeds and the serials it revokes.
#[derive(Debug)]
pub struct Revocation {
    path: PathBuf,
    verifier: Arc<ClusterClientVerifier>,
    /// A certificate of the cluster CA (the coordinator's own) that each new CRL is tried on, to check its signature.
    probe: CertificateDer<'static>,
    serials: watch::Sender<RevokedSerials>,
    /// The file as read last, loaded or refused (a refused file is not read again until it changes).
    seen: Mutex<Option<Stamp>>,
}

impl Revocation {
    pub(crate) fn new(path: PathBuf, verifier: Arc<ClusterClientVerifier>, probe: CertificateDer<'static>) -> Self {
        Self { path, verifier, probe, serials: watch::Sender::new(Arc::default()), seen: Mutex::new(None) }
    }

    /// The CRL file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The revoked serials, now and whenever a new CRL is loaded.
    pub fn subscribe(&self) -> watch::Receiver<RevokedSerials> {
        self.serials.subscribe()
    }

    /// The certificates the handshake refuses (revoked or not), as they are refused: the first call gets them.
    pub fn refused_certificates(
        &self,
    ) -> Option<tokio::sync::mpsc::Receiver<crate::verify::refused::RefusedCertificate>> {
        self.verifier.refusals().take_receiver()
    }

    /// Reads the CRL file again if it changed since it was read last (always with `force`), and puts it in force.
    /// Reads a file: call it where blocking is allowed.
    pub fn reload(&self, force: bool) -> Result<Reloaded, PkiError> {
        let stamp = match std::fs::metadata(&self.path) {
            Ok(meta) => Some(Stamp { modified: meta.modified().ok(), len: meta.len() }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(source) => return Err(PkiError::Read { path: self.path.clone(), source }),
        };
        {
            let mut seen = self.seen.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            if !force && *seen == stamp {
                return Ok(Reloaded::Unchanged);
            }
            *seen = stamp;
        }
        let kept = self.serials.borrow().len();
        if stamp.is_none() {
            return Ok(if kept == 0 { Reloaded::Absent } else { Reloaded::Gone { kept } });
        }
        let crl = read_crl(&self.path)?;
        self.verifier
            .set_crl(crl.der, &self.probe)
            .map_err(|reason| PkiError::BadCrl { path: self.path.clone(), reason })?;
        let revoked = crl.serials.len();
        let added = crl.serials.difference(&self.serials.borrow()).count();
        self.serials.send_replace(Arc::new(crl.serials));
        Ok(Reloaded::Loaded { revoked, added })
    }
}

/// Resolves once `serial` is among the revoked serials `revoked` gives, now or later; never if it is not.
pub async fn revoked(serial: Option<Vec<u8>>, mut revoked: watch::Receiver<RevokedSerials>) {
    let Some(serial) = serial else {
        return std::future::pending().await;
    };
    if revoked.wait_for(|serials| serials.contains(&serial)).await.is_err() {
        // The coordinator's CRL is gone with it: nothing more will be revoked.
        std::future::pending::<()>().await;
    }
}

#[cfg(test)]
mod tests;
