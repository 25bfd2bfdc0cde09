//! `/webhooks`: a user's webhooks (an admin's page lists every one) and the form that makes one; `/webhooks/{id}`:
//! one webhook with its recent deliveries and their status codes. A webhook made shows its secret on the page that
//! answers the form, once: it is never shown again.

use super::view::{ago, time};
use super::{html, see_other, Viewer};
use crate::auth::{FormPost, Principal};
use crate::error::PageError;
use crate::state::AppState;
use crate::webhooks::events;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;
use distencode_actors::webhooks::{CreateWebhook, DeleteWebhook, Event, ShowWebhook, Webhook, WebhooksOf};
use distencode_wire::job::now_ms;

/// One webhook as a row of the list.
struct Row {
    id: u64,
    owner: String,
    farm: bool,
    url: String,
    events: String,
}

impl Row {
    fn of(webhook: &Webhook) -> Self {
        Row {
            id: webhook.id,
            owner: webhook.owner.clone(),
            farm: webhook.farm,
            url: webhook.url.clone(),
            events: webhook.events.iter().map(|e| e.as_str()).collect::<Vec<_>>().join(", "),
        }
    }
}

/// An event as a checkbox of the form.
struct Choice {
    name: &'static str,
    /// Only farm-wide webhooks hear it.
    farm_only: bool,
    checked: bool,
}

#[derive(Template)]
#[template(path = "webhooks.html")]
struct List {
    user: String,
    role: &'static str,
    csrf: String,
    admin: bool,
    problem: String,
    rows: Vec<Row>,
    url: String,
    farm: bool,
    choices: Vec<Choice>,
    /// A webhook just made, and its secret (shown this once).
    made: Option<(u64, String)>,
}

/// One attempt, as its page shows it.
struct Attempt {
    webhook_id: String,
    event: &'static str,
    when: String,
    ago: String,
    attempt: u32,
    status: String,
    error: String,
}

#[derive(Template)]
#[template(path = "webhook.html")]
struct Detail {
    user: String,
    role: &'static str,
    csrf: String,
    row: Row,
    created: String,
    waiting: usize,
    attempts: Vec<Attempt>,
}

struct Form {
    problem: String,
    url: String,
    farm: bool,
    checked: Vec<Event>,
    made: Option<(u64, String)>,
}

async fn render(
    state: &AppState,
    principal: &Principal,
    status: StatusCode,
    form: Form,
) -> Result<HttpResponse, PageError> {
    let viewer = Viewer::of(principal);
    let webhooks = state.actors.webhooks.send(WebhooksOf { by: principal.user.clone() }).await?;
    let webhooks = webhooks.map_err(crate::WebError::from)?;
    let page = List {
        user: viewer.user,
        role: viewer.role,
        csrf: viewer.csrf,
        admin: principal.user.is_admin(),
        problem: form.problem,
        rows: webhooks.iter().map(Row::of).collect(),
        url: form.url,
        farm: form.farm,
        choices: Event::ALL
            .iter()
            .map(|e| Choice { name: e.as_str(), farm_only: e.farm_only(), checked: form.checked.contains(e) })
            .collect(),
        made: form.made,
    };
    Ok(html(status, &page))
}

pub async fn page(principal: Principal, state: web::Data<AppState>) -> Result<HttpResponse, PageError> {
    let form = Form {
        problem: String::new(),
        url: String::new(),
        farm: false,
        checked: vec![Event::JobSucceeded, Event::JobFailed],
        made: None,
    };
    render(&state, &principal, StatusCode::OK, form).await
}

pub async fn post(form: FormPost, state: web::Data<AppState>) -> Result<HttpResponse, PageError> {
    let url = form.get("url").unwrap_or("").trim().to_string();
    let farm = form.get("farm") == Some("1");
    let asked = events(form.all("event"));
    let made = match &asked {
        Ok(events) => {
            let message =
                CreateWebhook { by: form.principal.user.clone(), url: url.clone(), events: events.clone(), farm };
            state.actors.webhooks.send(message).await?.map_err(crate::WebError::from)
        }
        Err(e) => Err(crate::WebError::BadRequest(e.to_string())),
    };
    let checked = asked.unwrap_or_default();
    match made {
        Ok(webhook) => {
            let form_after = Form {
                problem: String::new(),
                url: String::new(),
                farm: false,
                checked,
                made: Some((webhook.id, webhook.secret)),
            };
            render(&state, &form.principal, StatusCode::CREATED, form_after).await
        }
        Err(e) => {
            let form_after = Form { problem: e.to_string(), url, farm, checked, made: None };
            render(&state, &form.principal, e.status(), form_after).await
        }
    }
}

pub async fn detail(
    principal: Principal,
    state: web::Data<AppState>,
    id: web::Path<u64>,
) -> Result<HttpResponse, PageError> {
    let viewer = Viewer::of(&principal);
    let view = state.actors.webhooks.send(ShowWebhook { id: *id, by: principal.user }).await?;
    let view = view.map_err(crate::WebError::from)?;
    let now = now_ms();
    let page = Detail {
        user: viewer.user,
        role: viewer.role,
        csrf: viewer.csrf,
        row: Row::of(&view.webhook),
        created: time(Some(view.webhook.created)),
        waiting: view.waiting,
        attempts: view
            .sent
            .iter()
            .map(|s| Attempt {
                webhook_id: s.message.clone(),
                event: s.event.as_str(),
                when: time(Some(s.time)),
                ago: ago(s.time, now),
                attempt: s.attempt,
                status: s.status.map_or("none".to_string(), |s| s.to_string()),
                error: s.error.clone().unwrap_or_default(),
            })
            .collect(),
    };
    Ok(html(StatusCode::OK, &page))
}

pub async fn delete(form: FormPost, state: web::Data<AppState>, id: web::Path<u64>) -> Result<HttpResponse, PageError> {
    let deleted = state.actors.webhooks.send(DeleteWebhook { id: *id, by: form.principal.user.clone() }).await?;
    deleted.map_err(crate::WebError::from)?;
    Ok(see_other("/webhooks"))
}
