//! Who a request comes from, and what that person may do: users, roles, and the farm's ownership rules.
//!
//! A user is a name. On the wire it is the client certificate's node name, mapped through the coordinator's
//! `certificate_users` table (so `alice-laptop` and `alice-desk` are both `alice`); the web maps a sign-in to the
//! same names. A user is an admin when the configuration's `admins` list names them. [`rules`] holds every rule as
//! one pure function, [`authorize`], that the wire and the web both call before anything is changed or shown.

pub mod rules;

pub use distencode_wire::audit::Route;
pub use rules::{authorize, may_see_details, redact, Action, Refusal, HIDDEN};

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// A user's role: admins run the farm, users run their own renders.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UserRole {
    Admin,
    User,
}

impl UserRole {
    pub fn as_str(self) -> &'static str {
        match self {
            UserRole::Admin => "admin",
            UserRole::User => "user",
        }
    }
}

impl fmt::Display for UserRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The person behind a request, resolved once when their connection (or web session) starts.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct User {
    /// The user name: what jobs record as their owner and reservations as their holder.
    pub name: String,
    pub role: UserRole,
    /// How they reached the coordinator (the command line, a web session, the sign-in token): what the audit
    /// trail records beside their name.
    pub route: Route,
}

impl User {
    pub fn is_admin(&self) -> bool {
        self.role == UserRole::Admin
    }

    /// The same user, come by `route`.
    pub fn via(mut self, route: Route) -> Self {
        self.route = route;
        self
    }
}

impl fmt::Display for User {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.name, self.role)
    }
}

/// The priority a plain user may give a job at most when the configuration sets none (`max_user_priority`).
pub const DEFAULT_MAX_USER_PRIORITY: i32 = 10;
/// Entries of `admins` and of `certificate_users` at most: the configuration is read once, but stays bounded.
pub const MAX_CONFIGURED_USERS: usize = 10_000;

/// Bytes of a user name at most (an email address fits).
pub const MAX_USER_NAME_LEN: usize = 128;

/// Whether `name` may be a user name: 1 to [`MAX_USER_NAME_LEN`] of A-Z a-z 0-9 `. _ - @ +`. That holds every
/// certificate name and the email addresses and user names identity providers give (`alice@example.edu`).
pub fn validate_user_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= MAX_USER_NAME_LEN
        && name != "."
        && name != ".."
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'@' | b'+'));
    if ok {
        Ok(())
    } else {
        Err(format!("use 1 to {MAX_USER_NAME_LEN} of A-Z a-z 0-9 . _ - @ +"))
    }
}

/// The coordinator's user settings: `admins`, `max_user_priority` and `certificate_users`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Users {
    /// Users who are admins, by user name.
    pub admins: BTreeSet<String>,
    /// The highest priority a plain user may submit a job with or change one to; admins have no ceiling.
    pub max_user_priority: i32,
    /// Certificate (node) name → user name; a certificate not listed is the user of its own name.
    pub certificate_users: BTreeMap<String, String>,
}

impl Default for Users {
    fn default() -> Self {
        Self {
            admins: BTreeSet::new(),
            max_user_priority: DEFAULT_MAX_USER_PRIORITY,
            certificate_users: BTreeMap::new(),
        }
    }
}

impl Users {
    /// The user name a certificate (or a job's recorded submitter, which older jobs kept as a certificate name)
    /// stands for.
    pub fn user_name<'a>(&'a self, certificate: &'a str) -> &'a str {
        self.certificate_users.get(certificate).map_or(certificate, String::as_str)
    }

    /// The user of a client certificate named `certificate`.
    pub fn for_certificate(&self, certificate: &str) -> User {
        self.named(self.user_name(certificate))
    }

    /// The user called `name`, with the role the configuration gives them, come by the command line (set another
    /// route with [`User::via`]).
    pub fn named(&self, name: &str) -> User {
        let role = if self.admins.contains(name) { UserRole::Admin } else { UserRole::User };
        User { name: name.to_string(), role, route: Route::Cli }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn certificates_map_to_users_and_admins_come_from_the_list() {
        let users = Users {
            admins: ["alice".to_string()].into(),
            certificate_users: [("alice-laptop".to_string(), "alice".to_string())].into(),
            ..Users::default()
        };
        let user = |name: &str, role| User { name: name.into(), role, route: Route::Cli };
        assert_eq!(users.for_certificate("alice-laptop"), user("alice", UserRole::Admin));
        assert_eq!(users.for_certificate("alice"), user("alice", UserRole::Admin));
        assert_eq!(users.for_certificate("bob"), user("bob", UserRole::User));
        assert_eq!(users.user_name("alice-laptop"), "alice");
        assert_eq!(users.for_certificate("bob").to_string(), "bob (user)");
    }

    #[test]
    fn user_names_hold_certificate_names_and_email_addresses() {
        for good in ["alice", "alice-laptop", "alice@example.edu", "bob+farm@example.org", "a.b_c"] {
            assert_eq!(validate_user_name(good), Ok(()), "{good}");
        }
        for bad in ["", "..", "a b", "alice<script>", "é", &"a".repeat(MAX_USER_NAME_LEN + 1)] {
            assert!(validate_user_name(bad).is_err(), "{bad:?}");
        }
    }
}
