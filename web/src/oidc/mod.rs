//! Sign-in to the web with OpenID Connect (authorization code flow with PKCE S256, `state` and `nonce`).
//!
//! Files: [`config`] (the `[[oidc]]` tables and their check), [`http`] (the client that talks to providers),
//! [`provider`] (discovery, keys, the code exchange and the ID token's verification), [`claims`] (claims to a
//! farm user: the user name, the allowed rules, the role), [`flow`] (the sign-in in progress, in a short-lived
//! encrypted cookie) and [`routes`] (`GET /auth/login`, the callback at `redirect_url`'s path, `POST /auth/logout`).
//!
//! The session a sign-in makes is the one the token makes ([`crate::session::Session`]): the user, their role and
//! the expiry, no token of the provider's.

pub mod claims;
pub mod config;
pub mod flow;
pub mod http;
pub mod provider;
pub mod routes;

pub use config::{check, ProviderConfig, ProviderSettings};
pub use provider::Provider;
