//! A sign-in in progress, between `/auth/login` and the callback: the provider's name, the `state`, the `nonce` and
//! the PKCE verifier, kept in a short-lived cookie encrypted and authenticated with the session key (the
//! coordinator keeps no table of them). It is removed by the callback, whatever the outcome, so a code cannot be
//! replayed through it.

use crate::session;
use actix_web::cookie::{time::Duration as CookieDuration, Cookie, Key};
use actix_web::HttpRequest;
use serde::{Deserialize, Serialize};

/// The cookie's name.
pub const COOKIE: &str = "__Host-distencode-oidc";
/// Seconds a sign-in may take at the provider.
pub const FLOW_SECONDS: u64 = 600;

/// What the callback must match.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Flow {
    /// The provider's `name`.
    pub provider: String,
    pub state: String,
    pub nonce: String,
    pub pkce_verifier: String,
    /// Unix seconds after which the sign-in is void.
    pub expires: u64,
}

fn now_seconds() -> u64 {
    distencode_wire::job::now_ms() / 1000
}

impl Flow {
    pub fn new(provider: &str, state: String, nonce: String, pkce_verifier: String) -> Self {
        Flow { provider: provider.to_string(), state, nonce, pkce_verifier, expires: now_seconds() + FLOW_SECONDS }
    }

    /// The cookie holding it, encrypted with `key`, for [`FLOW_SECONDS`].
    pub fn cookie(&self, key: &Key) -> Cookie<'static> {
        let mut cookie = session::sealed(COOKIE, self, key);
        cookie.set_max_age(CookieDuration::seconds(FLOW_SECONDS as i64));
        cookie
    }

    /// The flow the request's cookie holds, if it decrypts, parses and has not expired.
    pub fn from_request(request: &HttpRequest, key: &Key) -> Option<Flow> {
        let flow: Flow = session::opened(request, COOKIE, key)?;
        (flow.expires > now_seconds()).then_some(flow)
    }
}

/// A cookie that removes the flow.
pub fn removal() -> Cookie<'static> {
    session::removal_of(COOKIE)
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::cookie::Cookie;
    use actix_web::test::TestRequest;

    #[test]
    fn a_flow_round_trips_encrypted_and_a_foreign_or_expired_one_is_void() {
        let key = Key::generate();
        let flow = Flow::new("university", "s".into(), "n".into(), "v".into());
        let cookie = flow.cookie(&key);
        assert!(!cookie.value().contains("university"));
        let request = TestRequest::default().cookie(Cookie::new(COOKIE, cookie.value().to_string())).to_http_request();
        assert_eq!(Flow::from_request(&request, &key), Some(flow.clone()));
        assert_eq!(Flow::from_request(&request, &Key::generate()), None);
        let old = Flow { expires: now_seconds() - 1, ..flow };
        let request =
            TestRequest::default().cookie(Cookie::new(COOKIE, old.cookie(&key).value().to_string())).to_http_request();
        assert_eq!(Flow::from_request(&request, &key), None);
    }
}
