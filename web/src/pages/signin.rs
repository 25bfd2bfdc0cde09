//! Sign-in with the token: `GET /?token=T` checks it, sets the session cookie and redirects to `/`, which takes the
//! token out of the address bar (and its history entry); `/signin` shows a button per identity provider
//! ([`crate::oidc`]; one that cannot be reached says so) and, while the token works, explains where the link is;
//! `POST /signout` ends the session.

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
    role: &'a str,
    csrf: &'a str,
    problem: &'a str,
    /// The identity providers, one button each.
    providers: Vec<Button<'a>>,
    /// Whether the token's form is shown.
    token_signin: bool,
}

/// An identity provider's button.
struct Button<'a> {
    name: &'a str,
    /// Why sign-in with it cannot start now (it could not be reached), or empty.
    unavailable: String,
}

impl<'a> SignIn<'a> {
    /// The page, with each provider's button saying whether it can be reached (a provider down at the
    /// coordinator's start is asked again here).
    async fn new(state: &'a AppState, problem: &'a str) -> SignIn<'a> {
        let mut providers = Vec::new();
        for provider in &state.providers {
            let unavailable = provider.available().await.err().unwrap_or_default();
            providers.push(Button { name: provider.settings.name.as_str(), unavailable });
        }
        SignIn { user: "", role: "", csrf: "", problem, providers, token_signin: state.token_signin }
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
            return Ok(html(StatusCode::FORBIDDEN, &SignIn::new(&state, problem).await));
        }
        if !secret::same(token.trim().as_bytes(), &state.token) {
            let problem = "That sign-in token is not this coordinator's: use the link it printed, or the token in \
                           DATA_DIR/web-token.";
            return Ok(html(StatusCode::UNAUTHORIZED, &SignIn::new(&state, problem).await));
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
    html(StatusCode::OK, &SignIn::new(&state, "").await)
}

/// `POST /signout`: the session cookie is removed.
pub async fn signout(form: FormPost) -> HttpResponse {
    tracing::info!(user = %form.principal.user.name, "signed out");
    HttpResponse::SeeOther().cookie(session::removal()).insert_header((header::LOCATION, "/signin")).finish()
}
