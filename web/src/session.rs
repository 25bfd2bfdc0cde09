//! Who is signed in: a [`Session`] kept in one encrypted, authenticated cookie (the cookie crate's private jar,
//! AES-256-GCM under the key in `DATA_DIR/web-session.key`), so the coordinator keeps no session table and a restart
//! keeps everyone signed in. The cookie is `__Host-` prefixed, `Secure; HttpOnly; SameSite=Lax`, path `/`.
//!
//! A session names a user and a role, so sign-in by an identity provider can make one the same way the token does.

use crate::limits::{MAX_COOKIE_BYTES, SESSION_SECONDS};
use crate::{secret, WebError};
use actix_web::cookie::{Cookie, CookieJar, Key, SameSite};
use actix_web::HttpRequest;
use serde::{Deserialize, Serialize};

/// The session cookie's name.
pub const COOKIE: &str = "__Host-distencode-session";
/// The user a token sign-in makes (the token is the farm's admin key until identity providers arrive).
pub const TOKEN_USER: &str = "admin";

/// What a user may do: the farm's own roles.
pub use distencode_actors::auth::UserRole as Role;

/// A signed-in browser.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    pub user: String,
    pub role: Role,
    /// The CSRF token every POST of this session must carry (hex, random per session).
    pub csrf: String,
    /// Unix seconds after which the session is no longer valid.
    pub expires: u64,
    /// Made by the sign-in token (the audit trail records such requests as `token`, others as `web`).
    #[serde(default)]
    pub token: bool,
}

fn now_seconds() -> u64 {
    distencode_wire::job::now_ms() / 1000
}

impl Session {
    /// A new session for `user`, valid for [`SESSION_SECONDS`].
    pub fn new(user: &str, role: Role) -> Result<Self, WebError> {
        Ok(Session {
            user: user.to_string(),
            role,
            csrf: secret::random_hex(32)?,
            expires: now_seconds() + SESSION_SECONDS,
            token: false,
        })
    }

    /// The cookie holding this session, encrypted with `key`.
    pub fn cookie(&self, key: &Key) -> Cookie<'static> {
        sealed(COOKIE, self, key)
    }

    /// The session the request's cookie holds, if it decrypts under `key`, parses and has not expired.
    pub fn from_request(request: &HttpRequest, key: &Key) -> Option<Session> {
        let session: Session = opened(request, COOKIE, key)?;
        (session.expires > now_seconds()).then_some(session)
    }
}

/// A cookie named `name` holding `value` as JSON, encrypted and authenticated with `key` (`__Host-` attributes).
pub fn sealed(name: &'static str, value: &impl Serialize, key: &Key) -> Cookie<'static> {
    let text = serde_json::to_string(value).unwrap_or_default();
    let mut jar = CookieJar::new();
    jar.private_mut(key).add(base(Cookie::new(name, text)));
    jar.get(name).cloned().unwrap_or_else(|| base(Cookie::new(name, "")))
}

/// What the request's cookie `name` holds, if it is at most [`MAX_COOKIE_BYTES`], decrypts under `key` and parses.
pub fn opened<T: serde::de::DeserializeOwned>(request: &HttpRequest, name: &'static str, key: &Key) -> Option<T> {
    let cookie = request.cookie(name)?;
    if cookie.value().len() > MAX_COOKIE_BYTES {
        return None;
    }
    let plain = CookieJar::new().private(key).decrypt(Cookie::new(name, cookie.value().to_string()))?;
    serde_json::from_str(plain.value()).ok()
}

/// A cookie that removes the session (sign-out).
pub fn removal() -> Cookie<'static> {
    removal_of(COOKIE)
}

/// A cookie that removes the cookie `name`.
pub fn removal_of(name: &'static str) -> Cookie<'static> {
    let mut cookie = base(Cookie::new(name, ""));
    cookie.make_removal();
    cookie
}

/// `Secure; HttpOnly; SameSite=Lax; Path=/`: Lax, so that a provider's redirect back (a top-level GET from its site)
/// carries the sign-in's cookie.
fn base(mut cookie: Cookie<'static>) -> Cookie<'static> {
    cookie.set_path("/");
    cookie.set_secure(true);
    cookie.set_http_only(true);
    cookie.set_same_site(SameSite::Lax);
    cookie
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    #[test]
    fn a_session_cookie_round_trips_and_a_tampered_or_foreign_one_is_refused() {
        let key = Key::generate();
        let session = Session::new("admin", Role::Admin).unwrap();
        let cookie = session.cookie(&key);
        assert_eq!(cookie.name(), "__Host-distencode-session");
        let text = cookie.to_string();
        for attribute in ["Secure", "HttpOnly", "SameSite=Lax", "Path=/"] {
            assert!(text.contains(attribute), "{text}");
        }
        assert!(!cookie.value().contains("admin"), "the session is encrypted: {}", cookie.value());

        let request = TestRequest::default().cookie(Cookie::new(COOKIE, cookie.value().to_string())).to_http_request();
        assert_eq!(Session::from_request(&request, &key), Some(session.clone()));
        assert_eq!(Session::from_request(&request, &Key::generate()), None, "another coordinator's key");

        let mut tampered = cookie.value().to_string();
        let last = tampered.pop().unwrap();
        tampered.push(if last == 'A' { 'B' } else { 'A' });
        let request = TestRequest::default().cookie(Cookie::new(COOKIE, tampered)).to_http_request();
        assert_eq!(Session::from_request(&request, &key), None);
    }

    #[test]
    fn an_expired_session_is_refused() {
        let key = Key::generate();
        let mut session = Session::new("admin", Role::Admin).unwrap();
        session.expires = now_seconds() - 1;
        let request = TestRequest::default()
            .cookie(Cookie::new(COOKIE, session.cookie(&key).value().to_string()))
            .to_http_request();
        assert_eq!(Session::from_request(&request, &key), None);
    }
}
