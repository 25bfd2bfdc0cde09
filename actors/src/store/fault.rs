//! A test hook: a switch that makes the store's next write fail, as a failing disk would, before any of it is
//! written. The coordinator's tests use it to check that a failed write is reported and leaves nothing half done.
//! Nothing in the program sets it.

use super::StoreError;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// The message of an injected failure.
pub const INJECTED: &str = "injected write failure";

/// Shared by every clone of a [`super::JobStore`]; holding it does not keep the database open.
#[derive(Clone, Default)]
pub struct WriteFault(Arc<AtomicBool>);

impl WriteFault {
    /// The next write (a job's record, a log batch, a reservation or a drain) fails with [`INJECTED`]; the ones after it
    /// succeed again.
    pub fn fail_next_write(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    /// Called first by every write: the injected failure, once.
    pub(super) fn check(&self) -> Result<(), StoreError> {
        match self.0.swap(false, Ordering::SeqCst) {
            true => Err(StoreError::Db(sled::Error::Io(std::io::Error::other(INJECTED)))),
            false => Ok(()),
        }
    }
}
