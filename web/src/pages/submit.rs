//! `/submit`: the submit form. Its refusals are `job submit`'s one-line errors (every missing file and service
//! listed), shown above the form with the values kept; a job made goes to its page.

use super::{html, see_other, Viewer};
use crate::actions;
use crate::auth::{FormPost, Principal};
use crate::error::PageError;
use crate::state::AppState;
use crate::submit::SubmitRequest;
use crate::WebError;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;
use distencode_wire::job::MeltLog;

#[derive(Template)]
#[template(path = "submit.html")]
struct Submit {
    user: String,
    role: &'static str,
    csrf: String,
    problem: String,
    form: SubmitRequest,
    output: String,
    preset: String,
    presets: Vec<&'static str>,
    vcodec: String,
    acodec: String,
    split: String,
    consumer_args: String,
    melt_log: &'static str,
    levels: [&'static str; 3],
}

fn render(viewer: Viewer, status: StatusCode, problem: String, form: SubmitRequest) -> HttpResponse {
    let melt_log = match form.melt_log {
        MeltLog::Normal => "normal",
        MeltLog::Verbose => "verbose",
        MeltLog::Debug => "debug",
    };
    let page = Submit {
        user: viewer.user,
        role: viewer.role,
        csrf: viewer.csrf,
        problem,
        output: form.output.clone().unwrap_or_default(),
        preset: form.preset.clone().unwrap_or_default(),
        presets: distencode_actors::presets::PRESETS.iter().map(|p| p.name).collect(),
        vcodec: form.vcodec.clone().unwrap_or_default(),
        acodec: form.acodec.clone().unwrap_or_default(),
        split: form.split.clone().unwrap_or_default(),
        consumer_args: form.consumer_args.join("\n"),
        melt_log,
        levels: ["normal", "verbose", "debug"],
        form,
    };
    html(status, &page)
}

pub async fn page(principal: Principal) -> HttpResponse {
    render(Viewer::of(&principal), StatusCode::OK, String::new(), SubmitRequest::default())
}

/// The form's fields as a [`SubmitRequest`].
fn request(form: &FormPost) -> Result<SubmitRequest, WebError> {
    let text = |name: &str| form.get(name).unwrap_or("").trim().to_string();
    let melt_log = match form.get("melt_log").unwrap_or("normal") {
        "normal" => MeltLog::Normal,
        "verbose" => MeltLog::Verbose,
        "debug" => MeltLog::Debug,
        other => return Err(WebError::BadRequest(format!("no melt log level {other:?}"))),
    };
    let priority = match text("priority").as_str() {
        "" => 0,
        p => p.parse().map_err(|_| WebError::BadRequest(format!("the priority {p:?} is not a whole number")))?,
    };
    let given = |name: &str| Some(text(name)).filter(|v| !v.is_empty());
    Ok(SubmitRequest {
        project: text("project"),
        output: given("output"),
        preset: given("preset"),
        vcodec: given("vcodec"),
        acodec: given("acodec"),
        split: given("split"),
        split_force: form.get("split_force") == Some("1"),
        consumer_args: form
            .get("consumer_args")
            .unwrap_or("")
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect(),
        priority,
        melt_log,
        allow_missing_filters: form.get("allow_missing_filters") == Some("1"),
        overwrite: form.get("overwrite") == Some("1"),
    })
}

pub async fn post(form: FormPost, state: web::Data<AppState>) -> Result<HttpResponse, PageError> {
    let viewer = Viewer::of(&form.principal);
    let request = request(&form)?;
    match actions::submit(&state.actors, &form.principal, request.clone()).await {
        Ok(record) => Ok(see_other(&format!("/jobs/{}", record.id))),
        Err(e) => Ok(render(viewer, e.status(), e.to_string(), request)),
    }
}
