//! A throwaway cluster CA and certificates for the simulated nodes, made with `distencode_wire::pki` in a folder
//! the caller owns (a benchmark's scratch folder, a test's temporary folder).

use anyhow::{anyhow, Result};
use distencode_wire::pki::{self, IssueOptions};
use distencode_wire::Role;
use std::path::{Path, PathBuf};

/// The coordinator's certificate name.
pub const COORDINATOR: &str = "coord";

/// A cluster CA and the coordinator's certificate ([`COORDINATOR`]), in `DIR/certs`.
pub struct Pki {
    /// The certs dir: the CA, and a certificate and key per node.
    pub dir: PathBuf,
}

impl Pki {
    pub fn new(dir: &Path) -> Result<Self> {
        let dir = dir.join("certs");
        pki::init_ca(&dir)?;
        pki::issue(&dir, &IssueOptions::new(Role::Coordinator, COORDINATOR))?;
        Ok(Self { dir })
    }

    pub fn issue(&self, role: Role, name: &str) -> Result<()> {
        pki::issue(&self.dir, &IssueOptions::new(role, name))?;
        Ok(())
    }

    /// Issues `names` on both cores (each key is written and synced).
    pub fn issue_many(&self, role: Role, names: &[String]) -> Result<()> {
        let half = names.len().div_ceil(2).max(1);
        std::thread::scope(|scope| {
            let jobs: Vec<_> = names
                .chunks(half)
                .map(|chunk| scope.spawn(move || chunk.iter().try_for_each(|name| self.issue(role, name))))
                .collect();
            jobs.into_iter().try_for_each(|job| job.join().map_err(|_| anyhow!("certificate thread panicked"))?)
        })
    }
}
