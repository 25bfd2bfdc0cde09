//! Sign-in with the token: `GET /?token=T` checks it, sets the session cookie and redirects to `/`, which takes the
//! token out of the address bar (and its history entry); `/signin` shows a button per identity provider
//! ([`crate::oidc`]) and, while the token works, explains where the link is; `POST /signout` ends the session.

use super::html;
use crate::auth::{self, FormPost};
use crate::error::PageError;
use crate::secret;
use crate::session::{self, Role, Session};
use crate::state::AppState;
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

#[derive(Deserialize)]
pub struct TokenQuery {
    token: Option<String>,
    /// `1`: only the live part of the overview (htmx asks for it).
    #[serde(default)]
    partial: u8,
}

#[derive(Template)]
#[template(path = "signin.html")]
struct SignIn<'a> {
    user: &'a str,
    csrf: &'a str,
    problem: &'a str,
    /// The identity providers' names, one button each.
    providers: Vec<&'a str>,
    /// Whether the token's form is shown.
    token_signin: bool,
}

impl<'a> SignIn<'a> {
    fn new(state: &'a AppState, problem: &'a str) -> Self {
        let providers = state.providers.iter().map(|p| p.settings.name.as_str()).collect();
        SignIn { user: "", csrf: "", problem, providers, token_signin: state.token_signin }
    }
}

/// `/`: with `?token=`, sign in; else the overview for a signed-in caller, the sign-in page for others.
pub async fn index(
    request: HttpRequest,
    state: web::Data<AppState>,
    query: web::Query<TokenQuery>,
) -> Result<HttpResponse, PageError> {
    if let Some(token) = &query.token {
        if !state.token_signin {
            let problem = "Sign-in with the token is off while identity providers are configured (set \
                           web_token_signin to turn it on): sign in with a provider.";
            return Ok(html(StatusCode::FORBIDDEN, &SignIn::new(&state, problem)));
        }
        if !secret::same(token.trim().as_bytes(), &state.token) {
            let problem = "That sign-in token is not this coordinator's: use the link it printed, or the token in \
                           DATA_DIR/web-token.";
            return Ok(html(StatusCode::UNAUTHORIZED, &SignIn::new(&state, problem)));
        }
        let session = Session { token: true, ..Session::new(session::TOKEN_USER, Role::Admin)? };
        tracing::info!(user = %session.user, "signed in with the token");
        return Ok(HttpResponse::SeeOther()
            .cookie(session.cookie(&state.session_key))
            .insert_header((header::LOCATION, "/"))
            .finish());
    }
    let principal = auth::authenticate(&request)?;
    super::overview::page(principal, state, query.partial == 1).await
}

/// `/signin`: how to sign in.
pub async fn page(state: web::Data<AppState>) -> HttpResponse {
    html(StatusCode::OK, &SignIn::new(&state, ""))
}

/// `POST /signout`: the session cookie is removed.
pub async fn signout(form: FormPost) -> HttpResponse {
    tracing::info!(user = %form.principal.user.name, "signed out");
    HttpResponse::SeeOther().cookie(session::removal()).insert_header((header::LOCATION, "/signin")).finish()
}
