//! The web interface's JSON API and sign-in, against a real coordinator and worker over HTTPS, with a plain HTTP
//! client: the same JSON and the same one-line refusals as the CLI, sessions and CSRF, caps and headers.

mod common;

use common::web::{set_cookie, WebCluster};
use common::{projects, stderr, stdout};
use serde_json::{json, Value};
use std::time::Duration;

fn body(response: reqwest::blocking::Response) -> Value {
    let text = response.text().unwrap();
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

fn error_of(response: reqwest::blocking::Response) -> String {
    body(response)["error"].as_str().unwrap_or_default().to_string()
}

#[test]
fn the_api_answers_as_the_cli_does_and_refuses_what_it_must() {
    let mut web = WebCluster::start(1, &[], &[]);
    let dir = web.cluster.dir.path().to_path_buf();

    // --- What is printed and kept: the address, the link, the token file (0600).
    assert!(web.url.starts_with("https://127.0.0.1:") && web.url.ends_with('/'), "{}", web.url);
    assert_eq!(web.sign_in, format!("{}?token={}", web.url, web.token));
    let token_file = dir.join("coordinator-data/web-token");
    let mode = std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&token_file).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o600);

    // --- Without a session: 401 on the API, a redirect to the sign-in page on pages.
    let response = web.get("/api/v1/jobs").send().unwrap();
    assert_eq!(response.status(), 401);
    assert!(error_of(response).starts_with("sign in first"));
    let response = web.get("/api/v1/jobs").bearer_auth("not-the-token").send().unwrap();
    assert_eq!(response.status(), 401);
    let response = web.get("/jobs").send().unwrap();
    assert_eq!(response.status(), 303);
    assert_eq!(response.headers()["location"], "/signin");
    let response = web.get("/?token=0000").send().unwrap();
    assert_eq!(response.status(), 401);
    assert!(set_cookie(&response).is_none());

    // --- The link signs in: a __Host- cookie, Secure, HttpOnly, SameSite=Lax, encrypted; then back to `/`.
    let response = web.client.get(&web.sign_in).send().unwrap();
    assert_eq!(response.status(), 303);
    assert_eq!(response.headers()["location"], "/");
    let cookie = set_cookie(&response).unwrap();
    assert!(cookie.starts_with("__Host-distencode-session="), "{cookie}");
    for attribute in ["Secure", "HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(cookie.contains(attribute), "{attribute} missing: {cookie}");
    }
    assert!(!cookie.contains("admin") && !cookie.contains(&web.token), "the session is encrypted: {cookie}");
    let session = cookie.split(';').next().unwrap().to_string();
    let page = web.get("/").header("cookie", &session).send().unwrap();
    assert_eq!(page.status(), 200);
    let csp = page.headers()["content-security-policy"].to_str().unwrap().to_string();
    assert!(csp.contains("script-src 'self'") && csp.contains("default-src 'none'"), "{csp}");
    let html = page.text().unwrap();
    let csrf = html.split("name=\"csrf\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_string();
    assert_eq!(csrf.len(), 64);

    // --- A session's POST needs its CSRF token, and the right origin.
    let project = projects::tiny(&dir, "api.mlt", 25);
    let output = dir.join("api.mp4");
    let request = json!({ "project": project, "output": output });
    let response = web.post("/api/v1/jobs").header("cookie", &session).json(&request).send().unwrap();
    assert_eq!(response.status(), 403);
    assert_eq!(error_of(response), "no CSRF token: reload the page and try again");
    let wrong = web.post("/api/v1/jobs").header("cookie", &session).header("x-csrf-token", "0".repeat(64));
    assert_eq!(wrong.json(&request).send().unwrap().status(), 403);
    let foreign = web.post("/api/v1/jobs").header("cookie", &session).header("x-csrf-token", &csrf);
    let response = foreign.header("origin", "https://evil.example").json(&request).send().unwrap();
    assert_eq!(response.status(), 403);
    assert_eq!(error_of(response), "a request from another origin (https://evil.example) is refused");
    let cross = web.bearer(web.post("/api/v1/jobs")).header("sec-fetch-site", "cross-site");
    assert_eq!(error_of(cross.json(&request).send().unwrap()), "a request from another site (cross-site) is refused");
    assert!(web.cluster.json(&["job", "list", "--json"]).as_array().unwrap().is_empty(), "nothing was submitted");

    // --- Submit with the session and its token: 201, the job as `job status --json` shows it.
    let own_origin = web.url.trim_end_matches('/').to_string();
    let submit = web.post("/api/v1/jobs").header("cookie", &session).header("x-csrf-token", &csrf);
    let response = submit.header("origin", &own_origin).json(&request).send().unwrap();
    assert_eq!(response.status(), 201);
    let submitted = body(response);
    let id = submitted["id"].as_u64().unwrap();
    assert_eq!(submitted["submitted_by"], "admin");
    assert_eq!(submitted["output"], output.display().to_string());
    let done = web.cluster.wait_final(id, Duration::from_secs(120));
    assert_eq!(done["state"], "succeeded", "{done}");

    // --- The same JSON as the CLI's --json.
    let job = body(web.bearer(web.get(&format!("/api/v1/jobs/{id}"))).send().unwrap());
    assert_eq!(job, web.cluster.job(id));
    let jobs = web.bearer(web.get("/api/v1/jobs")).send().unwrap();
    assert_eq!(jobs.headers()["x-total-count"], "1");
    assert_eq!(body(jobs), web.cluster.json(&["job", "list", "--json"]));
    let log = web.bearer(web.get(&format!("/api/v1/jobs/{id}/log"))).send().unwrap();
    assert_eq!(log.status(), 200);
    let cli_log = stdout(&web.cluster.cli(&["job", "logs", &id.to_string()]));
    assert_eq!(log.text().unwrap(), cli_log);
    let workers = body(web.bearer(web.get("/api/v1/workers")).send().unwrap());
    let names =
        |w: &Value| w.as_array().unwrap().iter().map(|w| (w["name"].clone(), w["state"].clone())).collect::<Vec<_>>();
    assert_eq!(names(&workers), names(&web.cluster.json(&["worker", "list", "--json"])));

    // --- The job's event stream of a finished job: its log (each event's id its cursor), the job, the end.
    let events = web.bearer(web.get(&format!("/api/v1/jobs/{id}/events"))).send().unwrap();
    assert_eq!(events.headers()["content-type"], "text/event-stream");
    let text = events.text().unwrap();
    assert!(text.contains("event: log\nid: 1:"), "{text}");
    assert!(text.contains("event: job\n") && text.ends_with("event: end\ndata: succeeded\n\n"), "{text}");
    let last_id = text.rsplit("event: log\nid: ").next().unwrap().split('\n').next().unwrap().to_string();
    let resumed = web.bearer(web.get(&format!("/api/v1/jobs/{id}/events"))).header("last-event-id", &last_id);
    let resumed = resumed.send().unwrap().text().unwrap();
    assert!(!resumed.contains("event: log"), "resumed after the last batch: {resumed}");

    // --- Refusals carry the CLI's line: a final job cannot be cancelled or reprioritised; a retry queues it.
    let cli_refusal = stderr(&web.cluster.cli(&["job", "cancel", &id.to_string()]));
    let response = web.bearer(web.post(&format!("/api/v1/jobs/{id}/cancel"))).send().unwrap();
    assert_eq!(response.status(), 409);
    assert_eq!(format!("distencode: {}\n", error_of(response)), cli_refusal);
    let response = web.bearer(web.post(&format!("/api/v1/jobs/{id}/priority"))).json(&json!({"priority": 5})).send();
    let response = response.unwrap();
    assert_eq!(response.status(), 409);
    assert_eq!(error_of(response), format!("job {id} is succeeded: cannot change its priority"));
    let response = web.bearer(web.get("/api/v1/jobs/999")).send().unwrap();
    assert_eq!((response.status().as_u16(), error_of(response)), (404, "no job 999".to_string()));

    // --- A project with a missing file is refused with `job submit`'s line.
    let missing = projects::write(
        &dir,
        "missing.mlt",
        &format!(
            "<mlt>{}<producer id=\"a\"><property name=\"resource\">{}/gone.mp4</property></producer></mlt>",
            projects::PROFILE,
            dir.display()
        ),
    );
    let cli_line = stderr(&web.cluster.cli(&["job", "submit", missing.to_str().unwrap()]));
    let response = web.bearer(web.post("/api/v1/jobs")).json(&json!({ "project": missing })).send().unwrap();
    assert_eq!(response.status(), 400);
    assert_eq!(format!("distencode: {}\n", error_of(response)), cli_line);

    // --- Reserve, release, drain: the same state as `worker list --json` shows.
    let reserve = web.bearer(web.post("/api/v1/workers/w1/reserve")).json(&json!({ "person": "carol" }));
    let reserved = body(reserve.send().unwrap());
    assert_eq!(reserved[0]["reserved_by"], "carol");
    assert_eq!(web.cluster.worker("w1")["state"], "reserved");
    body(web.bearer(web.post("/api/v1/workers/w1/release")).send().unwrap());
    assert_eq!(web.cluster.worker("w1")["state"], "idle");
    body(web.bearer(web.post("/api/v1/workers/w1/drain")).send().unwrap());
    assert_eq!(web.cluster.worker("w1")["state"], "draining");
    body(web.bearer(web.post("/api/v1/workers/w1/release")).send().unwrap());
    let response = web.bearer(web.post("/api/v1/workers/w1/release")).send().unwrap();
    assert_eq!(
        (response.status().as_u16(), error_of(response)),
        (409, "worker w1 is neither reserved nor draining".into())
    );
    let response = web.bearer(web.post("/api/v1/workers/nobody/drain")).send().unwrap();
    assert_eq!((response.status().as_u16(), error_of(response)), (404, "no worker nobody has registered".into()));
    // Forget: refused while the worker is connected, done once it is gone.
    let response = web.bearer(web.post("/api/v1/workers/w1/forget")).send().unwrap();
    assert_eq!(response.status(), 409);
    assert!(error_of(response).starts_with("worker w1 is connected; stop it first"));
    let response = web.bearer(web.post("/api/v1/workers/nobody/forget")).send().unwrap();
    assert_eq!(
        (response.status().as_u16(), error_of(response)),
        (404, "no worker nobody is known: nothing to forget".into())
    );
    web.cluster.kill_worker("w1");
    web.cluster.wait_until(Duration::from_secs(30), "w1 to be lost", || web.cluster.worker("w1")["state"] == "lost");
    let left = body(web.bearer(web.post("/api/v1/workers/w1/forget")).send().unwrap());
    assert_eq!(left, json!([]), "w1 is forgotten");
    let audit = web.cluster.json(&["audit", "--json"]);
    let forgets: Vec<&Value> = audit.as_array().unwrap().iter().filter(|e| e["action"] == "forget").collect();
    assert_eq!(forgets.len(), 3, "each forget is in the audit trail: {audit}");
    assert_eq!((&forgets[0]["target"], &forgets[0]["outcome"]), (&json!("worker w1"), &json!("done")), "{audit}");
    web.cluster.issue("worker", "w2");
    web.cluster.start_worker("w2");
    web.cluster.wait_for_workers(1);

    // --- Caps: a query string and a body past their limits.
    let response = web.bearer(web.get(&format!("/api/v1/jobs?q={}", "x".repeat(3000)))).send().unwrap();
    assert_eq!(response.status(), 414);
    let huge = json!({ "project": "x".repeat(100 * 1024) });
    assert_eq!(web.bearer(web.post("/api/v1/jobs")).json(&huge).send().unwrap().status(), 413);
    let response = web.bearer(web.get("/api/v1/jobs?state=done")).send().unwrap();
    assert_eq!(response.status(), 400);
    assert!(error_of(response).starts_with("no job state \"done\""));

    // --- A restart keeps the token and the sessions made with it.
    let token = web.token.clone();
    web.cluster.kill_coordinator();
    web.cluster.restart_coordinator();
    web.read_address();
    assert_eq!(web.token, token);
    let response = web.get("/api/v1/jobs").header("cookie", &session).send().unwrap();
    assert_eq!(response.status(), 200, "the session survived the restart");
}
