//! Webhooks on the JSON API, under `/api/v1/webhooks`: list, make (the answer holds the secret, the only time it is
//! shown), show one with its recent deliveries, delete. The pages ([`crate::pages`]) ask the same questions of the
//! same actor, [`distencode_actors::webhooks::Webhooks`], which checks who may do what and audits it.

use crate::auth::Principal;
use crate::error::ApiError;
use crate::state::AppState;
use crate::WebError;
use actix_web::{web, HttpResponse};
use distencode_actors::webhooks::{
    CreateWebhook, DeleteWebhook, Event, Sent, ShowWebhook, Webhook, WebhookError, WebhookView, WebhooksOf,
};
use serde::Deserialize;

/// Registered before the rest of `/api/v1`, whose catch-all would answer these paths otherwise.
pub fn routes(config: &mut web::ServiceConfig) {
    config.service(
        web::scope("/api/v1/webhooks")
            .route("", web::get().to(list))
            .route("", web::post().to(create))
            .route("/{id}", web::get().to(show))
            .route("/{id}/delete", web::post().to(delete)),
    );
}

impl From<WebhookError> for WebError {
    fn from(error: WebhookError) -> Self {
        let text = error.to_string();
        match error {
            WebhookError::Invalid(_) => WebError::BadRequest(text),
            WebhookError::Refused(_) => WebError::Forbidden(text),
            WebhookError::NotFound(_) => WebError::NotFound(text),
            WebhookError::Full(_) => WebError::Conflict(text),
            WebhookError::Store(_) => WebError::Unavailable(text),
        }
    }
}

impl From<WebhookError> for ApiError {
    fn from(error: WebhookError) -> Self {
        ApiError(error.into())
    }
}

/// A webhook as JSON; `secret` only when it has just been made.
pub fn webhook_json(webhook: &Webhook) -> serde_json::Value {
    let mut value = serde_json::json!({
        "id": webhook.id,
        "owner": webhook.owner,
        "farm": webhook.farm,
        "url": webhook.url,
        "events": webhook.events.iter().map(|e| e.as_str()).collect::<Vec<_>>(),
        "created": webhook.created,
    });
    if !webhook.secret.is_empty() {
        value["secret"] = serde_json::json!(webhook.secret);
    }
    value
}

/// One attempt as JSON.
pub fn sent_json(sent: &Sent) -> serde_json::Value {
    serde_json::json!({
        "webhook_id": sent.message,
        "event": sent.event.as_str(),
        "time": sent.time,
        "attempt": sent.attempt,
        "status": sent.status,
        "error": sent.error,
    })
}

fn view_json(view: &WebhookView) -> serde_json::Value {
    let mut value = webhook_json(&view.webhook);
    value["waiting"] = serde_json::json!(view.waiting);
    value["deliveries"] = view.sent.iter().map(sent_json).collect();
    value
}

/// Event names as a form or a request gives them, each checked.
pub fn events<'a>(names: impl IntoIterator<Item = &'a str>) -> Result<Vec<Event>, WebError> {
    names
        .into_iter()
        .map(|name| {
            Event::parse(name).ok_or_else(|| {
                let known: Vec<&str> = Event::ALL.iter().map(|e| e.as_str()).collect();
                WebError::BadRequest(format!("no webhook event {name:?}; the events are {}", known.join(", ")))
            })
        })
        .collect()
}

type Answer = Result<HttpResponse, ApiError>;

async fn list(principal: Principal, state: web::Data<AppState>) -> Answer {
    let webhooks = state.actors.webhooks.send(WebhooksOf { by: principal.user }).await??;
    Ok(HttpResponse::Ok().json(webhooks.iter().map(webhook_json).collect::<Vec<_>>()))
}

/// What `POST /api/v1/webhooks` takes.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateRequest {
    url: String,
    events: Vec<String>,
    #[serde(default)]
    farm: bool,
}

async fn create(principal: Principal, state: web::Data<AppState>, request: web::Json<CreateRequest>) -> Answer {
    let request = request.into_inner();
    let events = events(request.events.iter().map(String::as_str))?;
    let message = CreateWebhook { by: principal.user, url: request.url, events, farm: request.farm };
    let webhook = state.actors.webhooks.send(message).await??;
    Ok(HttpResponse::Created().json(webhook_json(&webhook)))
}

async fn show(principal: Principal, state: web::Data<AppState>, id: web::Path<u64>) -> Answer {
    let view = state.actors.webhooks.send(ShowWebhook { id: *id, by: principal.user }).await??;
    Ok(HttpResponse::Ok().json(view_json(&view)))
}

async fn delete(principal: Principal, state: web::Data<AppState>, id: web::Path<u64>) -> Answer {
    let webhook = state.actors.webhooks.send(DeleteWebhook { id: *id, by: principal.user }).await??;
    Ok(HttpResponse::Ok().json(webhook_json(&webhook)))
}
