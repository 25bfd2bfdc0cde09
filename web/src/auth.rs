//! Who is asking, decided once per request before any handler acts.
//!
//! - [`Principal`]: a valid session cookie, or `Authorization: Bearer TOKEN` with the sign-in token. On a POST of a
//!   session it also needs the session's CSRF token in the `X-CSRF-Token` header (a bearer token needs none: a
//!   browser never sends it by itself). The JSON API takes this.
//! - [`FormPost`]: a POST of an HTML form (pages work without JavaScript): the session, and the CSRF token in the
//!   form's `csrf` field.
//!
//! Without either, the API answers 401 and a page redirects to the sign-in page.

use crate::error::{ApiError, PageError};
use crate::limits::MAX_BODY_BYTES;
use crate::session::{Role, Session, TOKEN_USER};
use crate::state::AppState;
use crate::{secret, WebError};
use actix_web::dev::Payload;
use actix_web::http::{header, Method};
use actix_web::{web, FromRequest, HttpRequest};
use distencode_actors::auth::{Route, User};
use futures::future::{ready, LocalBoxFuture, Ready};
use futures::StreamExt;

/// The header a session's POST carries its CSRF token in.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// The form field a form's POST carries it in.
pub const CSRF_FIELD: &str = "csrf";

/// How the caller proved who it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Via {
    Session(Session),
    Bearer,
}

/// The caller of a request: a user, their role, and how they signed in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    pub user: User,
    pub via: Via,
}

impl Principal {
    /// The session's CSRF token (empty for a bearer caller, whose pages post nothing).
    pub fn csrf(&self) -> &str {
        match &self.via {
            Via::Session(session) => &session.csrf,
            Via::Bearer => "",
        }
    }
}

fn state(request: &HttpRequest) -> Result<&AppState, WebError> {
    request
        .app_data::<web::Data<AppState>>()
        .map(|data| data.get_ref())
        .ok_or_else(|| WebError::Unavailable("the web interface is not set up".into()))
}

/// The caller, from a bearer token or the session cookie.
pub fn authenticate(request: &HttpRequest) -> Result<Principal, WebError> {
    let state = state(request)?;
    if let Some(value) = request.headers().get(header::AUTHORIZATION) {
        let token = value.to_str().ok().and_then(|v| v.strip_prefix("Bearer ")).map(str::trim);
        return match token {
            Some(token) if state.token_signin && secret::same(token.as_bytes(), &state.token) => {
                let user = User { name: TOKEN_USER.into(), role: Role::Admin, route: Route::Token };
                Ok(Principal { user, via: Via::Bearer })
            }
            _ => Err(WebError::Unauthorized),
        };
    }
    let session = Session::from_request(request, &state.session_key).ok_or(WebError::Unauthorized)?;
    let route = if session.token { Route::Token } else { Route::Web };
    let user = User { name: session.user.clone(), role: session.role, route };
    Ok(Principal { user, via: Via::Session(session) })
}

/// Whether the request only reads (no CSRF token needed).
pub fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

fn check_csrf(principal: &Principal, given: Option<&str>) -> Result<(), WebError> {
    match &principal.via {
        Via::Bearer => Ok(()),
        Via::Session(session) => match given {
            Some(given) if secret::same(given.as_bytes(), session.csrf.as_bytes()) => Ok(()),
            Some(_) => Err(WebError::Forbidden("the CSRF token does not match this session; reload the page".into())),
            None => Err(WebError::Forbidden("no CSRF token: reload the page and try again".into())),
        },
    }
}

fn is_api(request: &HttpRequest) -> bool {
    request.path().starts_with("/api/")
}

/// The error as the API or a page answers it.
pub fn answer(request: &HttpRequest, error: WebError) -> actix_web::Error {
    if is_api(request) {
        ApiError(error).into()
    } else {
        PageError(error).into()
    }
}

impl FromRequest for Principal {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        let checked = authenticate(request).and_then(|principal| {
            if !is_safe(request.method()) {
                let given = request.headers().get(CSRF_HEADER).and_then(|v| v.to_str().ok());
                check_csrf(&principal, given)?;
            }
            Ok(principal)
        });
        ready(checked.map_err(|e| answer(request, e)))
    }
}

/// A form's POST by a signed-in caller whose CSRF field matched: the caller and the form's fields in order
/// (a field may repeat, as the jobs table's checkboxes do).
pub struct FormPost {
    pub principal: Principal,
    pub fields: Vec<(String, String)>,
}

impl FormPost {
    /// The first value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// Every value of `name`.
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.fields.iter().filter(move |(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

impl FromRequest for FormPost {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(request: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let request = request.clone();
        let mut payload = payload.take();
        Box::pin(async move {
            let principal = authenticate(&request).map_err(|e| answer(&request, e))?;
            let mut body = web::BytesMut::new();
            while let Some(chunk) = payload.next().await {
                let chunk = chunk?;
                if body.len() + chunk.len() > MAX_BODY_BYTES {
                    let too_large = WebError::BadRequest(format!("the form is larger than {MAX_BODY_BYTES} bytes"));
                    return Err(answer(&request, too_large));
                }
                body.extend_from_slice(&chunk);
            }
            let fields: Vec<(String, String)> =
                form_urlencoded::parse(&body).map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
            let given = fields.iter().find(|(k, _)| k == CSRF_FIELD).map(|(_, v)| v.as_str());
            check_csrf(&principal, given).map_err(|e| answer(&request, e))?;
            Ok(FormPost { principal, fields })
        })
    }
}
