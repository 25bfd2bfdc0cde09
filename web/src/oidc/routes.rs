//! The sign-in's routes: `GET /auth/login[?provider=NAME]` sends the browser to the provider, the callback (the
//! path of each provider's `redirect_url`) checks its answer and makes a new session, `POST /auth/logout` ends it.
//! Every refusal is a page saying why: 400 for an answer that does not belong to this browser's sign-in, 403 for a
//! person the farm's rules do not let in.

use super::claims;
use super::flow::{self, Flow};
use super::Provider;
use crate::auth::FormPost;
use crate::pages::{error_page, see_other};
use crate::secret;
use crate::session::{self, Session};
use crate::state::AppState;
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use distencode_actors::coordinator::audit::Record;
use distencode_wire::audit::{AuditAction, AuditEntry, AuditOutcome, Route};
use serde::Deserialize;

/// Adds the routes, one callback per distinct `redirect_url` path.
pub fn routes(config: &mut web::ServiceConfig, callback_paths: &[String]) {
    config.route("/auth/login", web::get().to(login)).route("/auth/logout", web::post().to(logout));
    for path in callback_paths {
        config.route(path, web::get().to(callback));
    }
}

#[derive(Deserialize)]
pub struct LoginQuery {
    provider: Option<String>,
}

fn provider<'a>(state: &'a AppState, name: &str) -> Option<&'a Provider> {
    state.providers.iter().map(AsRef::as_ref).find(|p| p.settings.name == name)
}

/// `GET /auth/login`: a new sign-in at the named provider (or the only one).
pub async fn login(state: web::Data<AppState>, query: web::Query<LoginQuery>) -> HttpResponse {
    let chosen = match (&query.provider, state.providers.as_slice()) {
        (_, []) => return error_page(StatusCode::NOT_FOUND, "No identity provider is configured on this farm."),
        (Some(name), _) => provider(&state, name),
        (None, [only]) => Some(only.as_ref()),
        (None, _) => return see_other("/signin"),
    };
    let Some(chosen) = chosen else {
        let name = query.provider.as_deref().unwrap_or("");
        return error_page(StatusCode::NOT_FOUND, &format!("There is no identity provider called {name:?} here."));
    };
    match chosen.start().await {
        Ok(started) => {
            let flow = Flow::new(&chosen.settings.name, started.state, started.nonce, started.pkce_verifier);
            HttpResponse::SeeOther()
                .cookie(flow.cookie(&state.session_key))
                .insert_header((header::LOCATION, started.authorize_url))
                .finish()
        }
        Err(e) => {
            tracing::warn!(provider = %chosen.settings.name, "sign-in not started: {e}");
            error_page(
                StatusCode::SERVICE_UNAVAILABLE,
                &format!("The sign-in with {} cannot start: {e}", chosen.settings.name),
            )
        }
    }
}

#[derive(Deserialize)]
pub struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    iss: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

/// The callback: the provider's answer, checked against this browser's sign-in.
pub async fn callback(
    request: HttpRequest,
    state: web::Data<AppState>,
    query: web::Query<CallbackQuery>,
) -> HttpResponse {
    let outcome = finish(&request, &state, &query).await;
    record(&request, &state, &outcome).await;
    let mut response = match outcome {
        Ok(session) => {
            tracing::info!(user = %session.user, role = %session.role, "signed in with an identity provider");
            HttpResponse::SeeOther()
                .cookie(session.cookie(&state.session_key))
                .insert_header((header::LOCATION, "/"))
                .finish()
        }
        Err((status, reason)) => {
            tracing::warn!(%status, "sign-in refused: {reason}");
            error_page(status, &format!("Sign-in refused: {reason}"))
        }
    };
    // Whatever happened, this sign-in is over: its state and verifier cannot serve again.
    let _ = response.add_cookie(&flow::removal());
    response
}

type Refusal = (StatusCode, String);

/// Who signed in with which provider, or why a sign-in was refused, into the audit trail.
async fn record(request: &HttpRequest, state: &AppState, outcome: &Result<Session, Refusal>) {
    let provider = Flow::from_request(request, &state.session_key).map(|flow| flow.provider);
    let target = format!("provider {}", provider.as_deref().unwrap_or("(none)"));
    let entry = match outcome {
        Ok(session) => AuditEntry::new(&session.user, Route::Web, AuditAction::SignIn, &target, AuditOutcome::Done),
        Err((_, reason)) => {
            let outcome = AuditOutcome::Refused(reason.clone());
            AuditEntry::new(NOT_SIGNED_IN, Route::Web, AuditAction::SignIn, &target, outcome)
        }
    };
    let _ = state.actors.coordinator.send(Record(entry)).await;
}

/// The user of a refused sign-in's entry (its reason names the person when the provider did).
const NOT_SIGNED_IN: &str = "(not signed in)";

async fn finish(request: &HttpRequest, state: &AppState, query: &CallbackQuery) -> Result<Session, Refusal> {
    let bad = |text: &str| (StatusCode::BAD_REQUEST, text.to_string());
    let flow = Flow::from_request(request, &state.session_key).ok_or_else(|| {
        bad("no sign-in is in progress in this browser (or it took longer than 10 minutes); sign in again")
    })?;
    let given = query.state.as_deref().unwrap_or("");
    if !secret::same(given.as_bytes(), flow.state.as_bytes()) {
        return Err(bad("the answer's state is not the one of the sign-in this browser started"));
    }
    let provider = provider(state, &flow.provider)
        .filter(|p| p.settings.callback_path == request.path())
        .ok_or_else(|| bad("this sign-in's provider is no longer configured here"))?;
    if let Some(error) = &query.error {
        let description = query.error_description.as_deref().map(|d| format!(" ({d})")).unwrap_or_default();
        return Err((StatusCode::FORBIDDEN, format!("the provider answered {error}{description}")));
    }
    provider.check_iss(query.iss.as_deref()).await.map_err(|e| bad(&e))?;
    let code = query.code.clone().ok_or_else(|| bad("the answer carries no code"))?;
    let claims = provider.finish(code, flow.pkce_verifier, &flow.nonce).await.map_err(|e| bad(&e))?;
    let user = claims::user(&claims, &provider.settings.rules, &state.users).map_err(|e| (StatusCode::FORBIDDEN, e))?;
    // A new session, with a new CSRF token: nothing of a session from before the sign-in carries over.
    Session::new(&user.name, user.role).map_err(|e| (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))
}

/// `POST /auth/logout`: the session ends.
pub async fn logout(form: FormPost) -> HttpResponse {
    tracing::info!(user = %form.principal.user.name, "signed out");
    HttpResponse::SeeOther().cookie(session::removal()).insert_header((header::LOCATION, "/signin")).finish()
}
