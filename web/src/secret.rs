//! The web interface's two secrets, kept in the data folder so that a restart keeps sign-in links and sessions:
//! `web-token` (the sign-in token, printed in the sign-in link) and `web-session.key` (encrypts session cookies).
//! Both are random, written once with mode 0600, and read back as they are.

use crate::WebError;
use ring::rand::{SecureRandom, SystemRandom};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// `DATA_DIR/web-token`.
pub const TOKEN_FILE: &str = "web-token";
/// `DATA_DIR/web-session.key`.
pub const SESSION_KEY_FILE: &str = "web-session.key";
/// Random bytes of the sign-in token (written as hex).
pub const TOKEN_BYTES: usize = 32;
/// Random bytes of the session key (written as hex); the cookie crate's private jar needs 64.
pub const KEY_BYTES: usize = 64;

/// `bytes` random bytes as lower-case hex.
pub fn random_hex(bytes: usize) -> Result<String, WebError> {
    let mut buffer = vec![0u8; bytes];
    SystemRandom::new().fill(&mut buffer).map_err(|_| WebError::Start("no random numbers from the system".into()))?;
    Ok(hex(&buffer))
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Hex text back to bytes; `None` if it is not hex.
pub fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok()).collect()
}

/// Whether two secrets are equal, in time that does not depend on where they differ.
pub fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The secret in `path` (hex of `bytes` bytes), or a new one written there (mode 0600) if there is none. A file that
/// holds something else is refused, naming it, rather than replaced: it may be a token people already use.
pub fn load_or_create(path: &Path, bytes: usize) -> Result<String, WebError> {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let secret = text.trim();
            if secret.len() != bytes * 2 || unhex(secret).is_none() {
                return Err(WebError::Start(format!(
                    "{} does not hold a secret of {bytes} bytes in hex; remove it to have a new one made",
                    path.display()
                )));
            }
            // Whoever copied it may have widened it: it stays readable by the coordinator's user only.
            let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600));
            Ok(secret.to_string())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let secret = random_hex(bytes)?;
            let cannot = |e: std::io::Error| WebError::Start(format!("cannot write {}: {e}", path.display()));
            let mut file =
                std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path).map_err(cannot)?;
            file.write_all(format!("{secret}\n").as_bytes()).map_err(cannot)?;
            file.sync_all().map_err(cannot)?;
            Ok(secret)
        }
        Err(e) => Err(WebError::Start(format!("cannot read {}: {e}", path.display()))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_is_made_once_with_mode_0600_and_read_back_after_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(TOKEN_FILE);
        let first = load_or_create(&path, TOKEN_BYTES).unwrap();
        assert_eq!(first.len(), 64);
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(load_or_create(&path, TOKEN_BYTES).unwrap(), first);
        assert_ne!(load_or_create(&dir.path().join("other"), TOKEN_BYTES).unwrap(), first);
    }

    #[test]
    fn a_file_holding_something_else_is_refused_not_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(TOKEN_FILE);
        std::fs::write(&path, "hunter2\n").unwrap();
        let error = load_or_create(&path, TOKEN_BYTES).unwrap_err().to_string();
        assert!(error.contains("does not hold a secret of 32 bytes in hex"), "{error}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "hunter2\n");
    }

    #[test]
    fn hex_round_trips_and_comparison_is_exact() {
        assert_eq!(unhex(&hex(&[0, 15, 255])).unwrap(), vec![0, 15, 255]);
        assert!(unhex("0g").is_none() && unhex("abc").is_none());
        assert!(same(b"abc", b"abc") && !same(b"abc", b"abd") && !same(b"abc", b"ab"));
    }
}
