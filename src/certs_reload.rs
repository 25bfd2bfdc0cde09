//! The coordinator keeps its revocation list current: it reads the CRL again on SIGHUP, and when the file's
//! modification time or size changes (looked at every `CRL_POLL_INTERVAL`), so `certs revoke` takes effect in seconds
//! without a restart. Each outcome is one log line; a CRL that cannot be used leaves the one loaded before in force.

use distencode_wire::revocation::{Reloaded, Revocation, CRL_POLL_INTERVAL};
use std::sync::Arc;
use tokio::signal::unix::{signal, SignalKind};

/// Runs until the coordinator stops.
pub async fn watch(revocation: Arc<Revocation>) {
    let mut hangup = match signal(SignalKind::hangup()) {
        Ok(hangup) => Some(hangup),
        Err(e) => {
            tracing::warn!("cannot catch SIGHUP ({e}); the CRL is still read again when its file changes");
            None
        }
    };
    loop {
        let asked = tokio::select! {
            _ = tokio::time::sleep(CRL_POLL_INTERVAL) => false,
            Some(()) = async {
                match &mut hangup {
                    Some(hangup) => hangup.recv().await,
                    None => std::future::pending().await,
                }
            } => true,
        };
        let reloading = revocation.clone();
        let Ok(outcome) = tokio::task::spawn_blocking(move || reloading.reload(asked)).await else {
            continue;
        };
        log(&revocation, asked, outcome);
    }
}

fn log(revocation: &Revocation, asked: bool, outcome: Result<Reloaded, distencode_wire::pki::PkiError>) {
    let path = revocation.path().display();
    let why = if asked { "SIGHUP: " } else { "" };
    match outcome {
        Ok(Reloaded::Unchanged) => {}
        Ok(Reloaded::Absent) if asked => tracing::info!("{why}no CRL at {path}; no certificate is revoked"),
        Ok(Reloaded::Absent) => {}
        Ok(Reloaded::Gone { kept }) => {
            tracing::warn!("{why}{path} is gone; the {kept} revocations read before stay in force")
        }
        Ok(Reloaded::Loaded { revoked, added }) => {
            tracing::info!(revoked, added, "{why}loaded {path}: {revoked} revoked certificate(s), {added} newly")
        }
        Err(e) => tracing::warn!("{why}{e}; the revocation list read before stays in force"),
    }
}
