//! One entry of the coordinator's audit trail as it travels to `distencode audit` (and as `--json` prints it): who
//! did what to which job or worker, by which way in, when, and whether it was done or refused.
//!
//! The coordinator keeps these in its store in a versioned record of its own (`actors/src/store/stored/audit.rs`);
//! this is only what is sent.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The characters of a user name, target or reason an entry keeps at most: longer text is cut (with `…`) when the
/// entry is made, so one entry stays small whatever a request held.
pub const MAX_AUDIT_TEXT_CHARS: usize = 1024;
/// Entries one `Audit` request answers at most (they fit one frame with room to spare).
pub const MAX_AUDIT_ENTRIES: u32 = 1000;
/// Entries `distencode audit` asks for when no `--limit` is given.
pub const DEFAULT_AUDIT_ENTRIES: u32 = 100;

/// How a request reached the coordinator.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Route {
    /// The command line: a client certificate over mutual TLS.
    Cli,
    /// A web session of a signed-in user.
    Web,
    /// The web interface's sign-in token (the break-glass admin key), as a session or a bearer token.
    Token,
}

impl Route {
    pub fn as_str(self) -> &'static str {
        match self {
            Route::Cli => "cli",
            Route::Web => "web",
            Route::Token => "token",
        }
    }
}

impl fmt::Display for Route {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// What was done, or tried.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AuditAction {
    Submit,
    Cancel,
    Retry,
    Priority,
    Delete,
    Prune,
    Reserve,
    Release,
    Drain,
    /// A web sign-in (refused ones have the outcome `refused`).
    SignIn,
    /// A TLS handshake refused for the peer's certificate (revoked, expired, not the cluster's).
    Certificate,
    /// A webhook made (on the web).
    WebhookAdd,
    /// A webhook deleted.
    WebhookDelete,
    /// A worker that is gone forgotten (`worker forget`).
    Forget,
    /// The running coordinator's store copied (`store backup --online`).
    Backup,
}

impl AuditAction {
    pub fn as_str(self) -> &'static str {
        match self {
            AuditAction::Submit => "submit",
            AuditAction::Cancel => "cancel",
            AuditAction::Retry => "retry",
            AuditAction::Priority => "priority",
            AuditAction::Delete => "delete",
            AuditAction::Prune => "prune",
            AuditAction::Reserve => "reserve",
            AuditAction::Release => "release",
            AuditAction::Drain => "drain",
            AuditAction::SignIn => "sign-in",
            AuditAction::Certificate => "certificate",
            AuditAction::WebhookAdd => "webhook-add",
            AuditAction::WebhookDelete => "webhook-delete",
            AuditAction::Forget => "forget",
            AuditAction::Backup => "backup",
        }
    }
}

impl fmt::Display for AuditAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// Whether it was done.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AuditOutcome {
    Done,
    /// Refused, with the line the user read.
    Refused(String),
}

/// One entry of the trail.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// Unix milliseconds when it was recorded.
    pub time: u64,
    /// The user (a certificate's user name, a signed-in user, or the certificate name a handshake refused).
    pub user: String,
    pub route: Route,
    pub action: AuditAction,
    /// What it was done to: `job 7`, `jobs 3, 4`, `worker w1`, `finished before ...`, `provider university`.
    pub target: String,
    pub outcome: AuditOutcome,
}

impl AuditEntry {
    /// An entry made now, its texts cut to [`MAX_AUDIT_TEXT_CHARS`].
    pub fn new(user: &str, route: Route, action: AuditAction, target: &str, outcome: AuditOutcome) -> Self {
        let outcome = match outcome {
            AuditOutcome::Refused(reason) => AuditOutcome::Refused(cut(&reason)),
            done => done,
        };
        Self { time: crate::job::now_ms(), user: cut(user), route, action, target: cut(target), outcome }
    }

    /// The same entry with another outcome.
    pub fn with_outcome(mut self, outcome: AuditOutcome) -> Self {
        self.outcome = match outcome {
            AuditOutcome::Refused(reason) => AuditOutcome::Refused(cut(&reason)),
            done => done,
        };
        self
    }

    /// The same entry, refused for `reason`.
    pub fn refused(self, reason: impl fmt::Display) -> Self {
        self.with_outcome(AuditOutcome::Refused(reason.to_string()))
    }
}

/// `text`, at most [`MAX_AUDIT_TEXT_CHARS`] characters of it.
pub fn cut(text: &str) -> String {
    match text.char_indices().nth(MAX_AUDIT_TEXT_CHARS) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_are_cut_at_the_cap_and_not_before() {
        let at = "é".repeat(MAX_AUDIT_TEXT_CHARS);
        assert_eq!(cut(&at), at, "at the cap");
        let past = "é".repeat(MAX_AUDIT_TEXT_CHARS + 1);
        assert_eq!(cut(&past), format!("{at}…"), "one past it");
        let entry =
            AuditEntry::new(&past, Route::Cli, AuditAction::Cancel, &past, AuditOutcome::Done).refused(past.clone());
        assert_eq!(entry.user.chars().count(), MAX_AUDIT_TEXT_CHARS + 1);
        assert_eq!(entry.outcome, AuditOutcome::Refused(format!("{at}…")));
    }
}
