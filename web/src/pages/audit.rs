//! `/audit`: the audit trail for admins (a user is refused with 403, as `distencode audit` refuses them): newest
//! first, one user's entries with `?user=NAME`, [`AUDIT_PAGE_ROWS`] a page (`?page=N`), each with its time, user,
//! route (web, cli or token), action, target and outcome (a refusal with the line its user read).

use super::view;
use super::{html, Viewer};
use crate::auth::Principal;
use crate::error::PageError;
use crate::limits::{AUDIT_PAGE_ROWS, MAX_AUDIT_PAGES};
use crate::state::AppState;
use crate::WebError;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;
use distencode_actors::coordinator::audit::AuditTrail;
use distencode_wire::audit::{AuditEntry, AuditOutcome, MAX_AUDIT_TEXT_CHARS};
use serde::Deserialize;

/// The page's view, as the URL gives it.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct AuditQuery {
    /// Only this user's entries (empty: everyone's).
    user: String,
    /// From 1.
    page: usize,
}

/// One entry as a row.
pub struct Row {
    pub time: String,
    pub user: String,
    /// This user's entries alone.
    pub user_link: String,
    pub route: &'static str,
    pub action: &'static str,
    pub target: String,
    /// `done` or `refused`.
    pub outcome: &'static str,
    /// Why it was refused (empty when done).
    pub reason: String,
}

impl Row {
    fn of(entry: &AuditEntry) -> Self {
        let (outcome, reason) = match &entry.outcome {
            AuditOutcome::Done => ("done", String::new()),
            AuditOutcome::Refused(reason) => ("refused", reason.clone()),
        };
        Row {
            time: view::time(Some(entry.time)),
            user: entry.user.clone(),
            user_link: link(&entry.user, 1),
            route: entry.route.as_str(),
            action: entry.action.as_str(),
            target: entry.target.clone(),
            outcome,
            reason,
        }
    }
}

#[derive(Template)]
#[template(path = "audit.html")]
struct Audit {
    user: String,
    role: &'static str,
    csrf: String,
    /// The user filter, as given.
    filter: String,
    rows: Vec<Row>,
    page: usize,
    /// Links to the previous and next pages (empty when there is none).
    prev: String,
    next: String,
}

/// `/audit?user=&page=` for this view.
fn link(filter: &str, page: usize) -> String {
    crate::query::page_link("/audit", &[("user", filter)], page)
}

pub async fn page(
    principal: Principal,
    state: web::Data<AppState>,
    query: web::Query<AuditQuery>,
) -> Result<HttpResponse, PageError> {
    let AuditQuery { user: filter, page } = query.into_inner();
    let filter = filter.trim().to_string();
    if filter.chars().count() > MAX_AUDIT_TEXT_CHARS {
        return Err(WebError::BadRequest(format!("the user is longer than {MAX_AUDIT_TEXT_CHARS} characters")).into());
    }
    let page = page.clamp(1, MAX_AUDIT_PAGES);
    // One more than a page: whether there is a next one.
    let asked = AuditTrail {
        user: (!filter.is_empty()).then(|| filter.clone()),
        limit: AUDIT_PAGE_ROWS as u32 + 1,
        skip: (page - 1) * AUDIT_PAGE_ROWS,
        by: principal.user.clone(),
    };
    let mut entries = state.actors.coordinator.send(asked).await??;
    let more = entries.len() > AUDIT_PAGE_ROWS && page < MAX_AUDIT_PAGES;
    entries.truncate(AUDIT_PAGE_ROWS);
    let viewer = Viewer::of(&principal);
    let audit = Audit {
        user: viewer.user,
        role: viewer.role,
        csrf: viewer.csrf,
        rows: entries.iter().map(Row::of).collect(),
        page,
        prev: if page > 1 { link(&filter, page - 1) } else { String::new() },
        next: if more { link(&filter, page + 1) } else { String::new() },
        filter,
    };
    Ok(html(StatusCode::OK, &audit))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_links_keep_the_user_filter_escaped() {
        assert_eq!(link("", 1), "/audit");
        assert_eq!(link("", 3), "/audit?page=3");
        assert_eq!(link("bob@example.edu", 2), "/audit?user=bob%40example.edu&page=2");
        assert_eq!(link("(not signed in)", 1), "/audit?user=%28not+signed+in%29");
    }
}
