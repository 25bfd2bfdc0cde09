//! The site's pages, rendered on the server from askama templates (checked when the crate compiles; every value
//! escaped). Each page works without JavaScript; htmx and its SSE extension make the live parts live.
//!
//! Files: [`signin`] (the token link, sign-in and sign-out), [`overview`], [`jobs`] (the table and bulk actions),
//! [`job`] (one job, with [`poster`]: its poster frame and streams), [`workers`], [`submit`], [`webhooks`],
//! [`audit`] (the audit trail, for admins).

mod audit;
mod expiring;
mod job;
mod jobs;
mod overview;
mod poster;
mod signin;
mod submit;
pub mod view;
mod webhooks;
mod workers;

pub use job::JobProgress;

use crate::auth::Principal;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;

pub fn routes(config: &mut web::ServiceConfig) {
    config
        .route("/", web::get().to(signin::index))
        .route("/signin", web::get().to(signin::page))
        .route("/signout", web::post().to(signin::signout))
        .route("/jobs", web::get().to(jobs::page))
        .route("/jobs/bulk", web::post().to(jobs::bulk))
        .route("/jobs/{id}", web::get().to(job::page))
        .route("/jobs/{id}/progress", web::get().to(job::progress))
        .route("/jobs/{id}/live", web::get().to(crate::sse::job_live))
        .route("/jobs/{id}/action", web::post().to(job::action))
        .route("/workers", web::get().to(workers::page))
        .route("/workers/{name}/action", web::post().to(workers::action))
        .route("/submit", web::get().to(submit::page))
        .route("/submit", web::post().to(submit::post))
        .route("/webhooks", web::get().to(webhooks::page))
        .route("/webhooks", web::post().to(webhooks::post))
        .route("/webhooks/{id}", web::get().to(webhooks::detail))
        .route("/webhooks/{id}/delete", web::post().to(webhooks::delete))
        .route("/audit", web::get().to(audit::page));
}

/// Who the page is for: the header's user and role, and the CSRF token its forms carry.
pub struct Viewer {
    pub user: String,
    /// `admin` or `user` (empty for nobody): shown in the header; an admin's nav has the audit trail.
    pub role: &'static str,
    pub csrf: String,
}

impl Viewer {
    pub fn of(principal: &Principal) -> Self {
        Viewer {
            user: principal.user.name.clone(),
            role: principal.user.role.as_str(),
            csrf: principal.csrf().to_string(),
        }
    }

    fn nobody() -> Self {
        Viewer { user: String::new(), role: "", csrf: String::new() }
    }
}

#[derive(Template)]
#[template(path = "message.html")]
struct Message<'a> {
    user: &'a str,
    role: &'a str,
    csrf: &'a str,
    heading: &'a str,
    text: &'a str,
    back: &'a str,
}

/// A page as HTML, or a plain 500 if the template failed.
pub fn html(status: StatusCode, page: &impl Template) -> HttpResponse {
    match page.render() {
        Ok(body) => HttpResponse::build(status).content_type("text/html; charset=utf-8").body(body),
        Err(e) => {
            tracing::error!("a page did not render: {e}");
            HttpResponse::InternalServerError().content_type("text/plain").body("the page did not render")
        }
    }
}

/// A refusal as a small page: the one line that says why.
pub fn error_page(status: StatusCode, text: &str) -> HttpResponse {
    error_page_for(status, text, &Viewer::nobody())
}

/// A refusal's page for a signed-in caller: the one line, under the header with their name, role and sign-out.
pub fn error_page_for(status: StatusCode, text: &str, viewer: &Viewer) -> HttpResponse {
    let heading = status.canonical_reason().unwrap_or("Refused");
    html(status, &Message { user: &viewer.user, role: viewer.role, csrf: &viewer.csrf, heading, text, back: "/" })
}

/// After a form's POST: back to the page it came from (303, so a reload does not post again).
pub fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther().insert_header((actix_web::http::header::LOCATION, location.to_string())).finish()
}

/// `?partial=1`: a live table's redraw asks for the table's rows alone, not the whole page.
#[derive(serde::Deserialize)]
pub struct Partial {
    #[serde(default)]
    partial: u8,
}

impl Partial {
    pub fn table_only(&self) -> bool {
        self.partial == 1
    }
}
