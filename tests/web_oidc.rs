//! Sign-in to the web with OpenID Connect against a real provider (`oidc-provider` on 127.0.0.1, tests/oidc/),
//! through its own login form, with an HTTP client and a cookie jar: who gets in with which role, and every answer
//! that must be refused (a wrong state, a replayed code, a code for another client, another issuer's `iss`, a
//! tampered session, a user outside the domain, an unverified email); what a signed-in user sees of another's job,
//! and the audit page only admins read; and a provider that rotates its key, sits behind a private CA, or is down
//! when the coordinator starts. Each test has its own provider and coordinator.

mod common;

use common::oidc::{free_port, walk, Idp};
use common::oidc_farm::{
    json_of, provider_table, refusal, secret_file, unescape, web_cluster, Farm, Visitor, CERTIFICATE_USERS,
};
use common::projects;
use serde_json::{json, Value};

const FLOW_COOKIE: &str = "__Host-distencode-oidc";
const SESSION_COOKIE: &str = "__Host-distencode-session";

fn replace_param(url: &str, name: &str, value: &str) -> String {
    let mut parsed = reqwest::Url::parse(url).unwrap();
    let pairs: Vec<(String, String)> = parsed
        .query_pairs()
        .map(|(k, v)| (k.to_string(), if k == name { value.to_string() } else { v.to_string() }))
        .collect();
    parsed.query_pairs_mut().clear().extend_pairs(pairs);
    parsed.to_string()
}

#[test]
fn signing_in_with_a_real_provider_works_and_every_foreign_answer_is_refused() {
    let farm = Farm::start();
    let web = &farm.web;

    // --- The sign-in page offers the provider; the token is off while a provider is configured.
    assert_eq!(web.sign_in, format!("{}signin", web.url), "the printed link is the sign-in page");
    let page = unescape(&web.get("/signin").send().unwrap().text().unwrap());
    assert!(page.contains("href=\"/auth/login?provider=local\""), "{page}");
    assert!(!page.contains("name=\"token\""), "no token form: {page}");
    let token = web.get(&format!("/?token={}", web.token)).send().unwrap();
    assert!(refusal(token, 403).contains("Sign-in with the token is off while identity providers are configured"));
    let bearer = web.bearer(web.get("/api/v1/me")).send().unwrap();
    assert_eq!(bearer.status(), 401, "the token is no bearer key either");

    // --- An admin by the group claim, a plain user; a new session each, holding no token of the provider's.
    let alice = farm.signed_in("alice");
    assert_eq!(json_of(farm.me(&alice)), json!({"user": "alice@example.edu", "role": "admin"}));
    let session = alice.cookie(&web.url, SESSION_COOKIE).expect("a session cookie");
    assert!(!session.contains("alice") && session.len() < 600, "encrypted, small: {session}");
    assert_eq!(alice.cookie(&web.url, FLOW_COOKIE), None, "the sign-in's cookie is gone");
    let overview = alice.client.get(web.at("/")).send().unwrap().text().unwrap();
    assert!(overview.contains("alice@example.edu"), "{overview}");
    let bob = farm.signed_in("bob");
    assert_eq!(json_of(farm.me(&bob)), json!({"user": "bob@example.edu", "role": "user"}));

    // --- A job submitted on the web is the signed-in user's; the same user on the CLI (certificate bob-laptop).
    let dir = web.cluster.dir.path().to_path_buf();
    let project = projects::tiny(&dir, "oidc.mlt", 25);
    let html = bob.client.get(web.at("/submit")).send().unwrap().text().unwrap();
    let csrf = html.split("name=\"csrf\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_string();
    let request = json!({ "project": project, "output": dir.join("oidc.mp4") });
    let submitted =
        bob.client.post(web.at("/api/v1/jobs")).header("x-csrf-token", &csrf).json(&request).send().unwrap();
    assert_eq!(submitted.status(), 201);
    let job = json_of(submitted);
    assert_eq!(job["submitted_by"], "bob@example.edu");
    web.cluster.issue("client", "bob-laptop");
    let id = job["id"].as_u64().unwrap().to_string();
    let cancel = web.cluster.cli_as("bob-laptop", &["job", "cancel", &id]);
    assert!(cancel.status.success(), "bob's certificate is bob: {}", common::stderr(&cancel));

    // --- A tampered session cookie is no session.
    let mut tampered = session.clone();
    let last = tampered.pop().unwrap();
    tampered.push(if last == 'A' { 'B' } else { 'A' });
    let forged = web.get("/api/v1/me").header("cookie", format!("{SESSION_COOKIE}={tampered}")).send().unwrap();
    assert_eq!(forged.status(), 401);

    // --- A wrong state: the answer is not this browser's sign-in.
    let browser = Visitor::new(&web.cluster);
    let callback = farm.to_callback(&browser, "bob");
    let wrong = browser.client.get(replace_param(&callback, "state", "not-the-state")).send().unwrap();
    assert!(refusal(wrong, 400).contains("the answer's state is not the one of the sign-in this browser started"));
    assert_eq!(farm.me(&browser).status(), 401);

    // --- Another issuer named in the answer (RFC 9207 mix-up).
    let browser = Visitor::new(&web.cluster);
    let callback = farm.to_callback(&browser, "bob");
    let other = browser.client.get(replace_param(&callback, "iss", "http://127.0.0.1:1")).send().unwrap();
    let text = refusal(other, 400);
    assert!(text.contains("the answer names the issuer http://127.0.0.1:1, not"), "{text}");

    // --- A replayed code: the same answer again, with the sign-in's cookie put back, is refused by the provider.
    let browser = Visitor::new(&web.cluster);
    let callback = farm.to_callback(&browser, "bob");
    let flow = browser.cookie(&web.url, FLOW_COOKIE).expect("the sign-in's cookie");
    assert_eq!(browser.client.get(&callback).send().unwrap().status(), 303, "the first use signs in");
    browser.jar.add_cookie_str(&format!("{FLOW_COOKIE}={flow}; Secure; HttpOnly; Path=/"), &web.url.parse().unwrap());
    let again = browser.client.get(&callback).send().unwrap();
    let text = refusal(again, 400);
    assert!(text.contains("the provider refused the code: invalid_grant"), "{text}");
    let again = browser.client.get(&callback).send().unwrap();
    assert!(refusal(again, 400).contains("no sign-in is in progress in this browser"));

    // --- A code issued to another client (another audience), for this browser's state and nonce.
    let browser = Visitor::new(&web.cluster);
    let start = browser.client.get(web.at("/auth/login?provider=local")).send().unwrap();
    let authorize = start.headers()["location"].to_str().unwrap().to_string();
    let callback = farm.authorize(&browser, &replace_param(&authorize, "client_id", "other-client"), "bob");
    let foreign = browser.client.get(&callback).send().unwrap();
    let text = refusal(foreign, 400);
    assert!(text.contains("the provider refused the code: invalid_grant"), "{text}");
    assert_eq!(farm.me(&browser).status(), 401);

    // --- People the rules do not let in: a 403 page saying why, and no session.
    for (login, reason) in [
        ("mallory", "mallory@elsewhere.org is not in an allowed domain (example.edu)"),
        ("eve", "your email address eve@example.edu is not verified by the provider, so it cannot be your user name"),
    ] {
        let browser = Visitor::new(&web.cluster);
        let callback = farm.to_callback(&browser, login);
        let text = refusal(browser.client.get(&callback).send().unwrap(), 403);
        assert!(text.contains(reason), "{login}: {text}");
        assert_eq!(browser.cookie(&web.url, SESSION_COOKIE), None, "{login} has no session");
    }

    // --- Sign-out ends the session (with the session's CSRF token, as every POST).
    let page = alice.client.get(web.at("/")).send().unwrap().text().unwrap();
    let csrf = page.split("name=\"csrf\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_string();
    let out = alice.client.post(web.at("/auth/logout")).form(&[("csrf", csrf.as_str())]).send().unwrap();
    assert_eq!(out.status(), 303);
    assert_eq!(out.headers()["location"], "/signin");
    assert_eq!(farm.me(&alice).status(), 401);
    assert_eq!(json_of(farm.me(&bob))["user"], "bob@example.edu", "another browser stays signed in");

    // --- Every sign-in and every refused one is in the audit trail, with the provider and the reason.
    let trail = web.cluster.json(&["audit", "--json"]);
    let sign_ins: Vec<&Value> = trail.as_array().unwrap().iter().filter(|e| e["action"] == "sign-in").collect();
    let done = |user: &str| sign_ins.iter().any(|e| e["user"] == user && e["outcome"] == "done");
    assert!(done("alice@example.edu") && done("bob@example.edu"), "{trail}");
    assert!(sign_ins.iter().all(|e| e["route"] == "web"), "{trail}");
    assert!(sign_ins.iter().filter(|e| e["outcome"] == "done").all(|e| e["target"] == "provider local"), "{trail}");
    let refused: Vec<&str> =
        sign_ins.iter().filter(|e| e["outcome"] == "refused").filter_map(|e| e["reason"].as_str()).collect();
    assert!(refused.iter().any(|r| r.contains("mallory@elsewhere.org is not in an allowed domain")), "{trail}");
    assert!(refused.iter().any(|r| r.contains("the provider refused the code: invalid_grant")), "{trail}");
}

/// The audit page's rows, each as its six cells' text (time, user, route, action, target, outcome).
fn audit_rows(html: &str) -> Vec<[String; 6]> {
    let body = html.split("<tbody>").nth(1).unwrap_or_default().split("</tbody>").next().unwrap_or_default();
    body.split("<tr class=\"outcome-")
        .skip(1)
        .map(|row| {
            let cells: Vec<String> = row
                .split("<td")
                .skip(1)
                .map(|cell| {
                    let inner = &cell[cell.find('>').map_or(0, |at| at + 1)..];
                    let inner = inner.split("</td>").next().unwrap_or_default();
                    // The tags inside a cell (a link, a span) go; their text stays.
                    let mut text = String::new();
                    let mut in_tag = false;
                    for c in inner.chars() {
                        match c {
                            '<' => in_tag = true,
                            '>' => in_tag = false,
                            c if !in_tag => text.push(c),
                            _ => {}
                        }
                    }
                    unescape(text.trim())
                })
                .collect();
            cells.try_into().unwrap_or_else(|cells: Vec<String>| panic!("a row of {} cells: {row}", cells.len()))
        })
        .collect()
}

#[test]
fn a_user_sees_anothers_job_redacted_and_only_admins_read_the_audit_page() {
    let farm = Farm::start();
    let web = &farm.web;
    let danas = farm.submit_as("dana-desk", "danas-secret-film");
    let bob = farm.signed_in("bob");
    let alice = farm.signed_in("alice");

    // --- Bob sees dana's job in the list and by its id, with its state and owner but not its project or output.
    let listed = json_of(bob.client.get(web.at("/api/v1/jobs")).send().unwrap());
    let seen = listed.as_array().unwrap().iter().find(|j| j["id"] == danas).cloned().expect("dana's job is listed");
    let one = json_of(bob.client.get(web.at(&format!("/api/v1/jobs/{danas}"))).send().unwrap());
    for job in [&seen, &one] {
        assert_eq!((job["state"].as_str(), job["submitted_by"].as_str()), (Some("queued"), Some("dana@example.edu")));
        assert_eq!((job["project"].as_str(), job["output"].as_str()), (Some("(hidden)"), Some("(hidden)")), "{job}");
    }
    let table = bob.client.get(web.at("/jobs")).send().unwrap().text().unwrap();
    assert!(table.contains(&format!("id=\"job-{danas}\"")) && !table.contains("danas-secret-film"), "{table}");
    let details = format!("job {danas} belongs to dana@example.edu; only dana@example.edu or an admin may see its");
    let page = bob.client.get(web.at(&format!("/jobs/{danas}"))).send().unwrap();
    let page = refusal(page, 403);
    assert!(page.contains(&details));
    assert!(page.contains("<span class=\"user\">bob@example.edu</span>"), "the refusal keeps the header: {page}");
    let log = bob.client.get(web.at(&format!("/api/v1/jobs/{danas}/log"))).send().unwrap();
    assert!(json_of_status(log, 403)["error"].as_str().unwrap().starts_with(&details));
    let full = json_of(alice.client.get(web.at(&format!("/api/v1/jobs/{danas}"))).send().unwrap());
    assert!(full["project"].as_str().unwrap().ends_with("danas-secret-film.mlt"), "an admin sees it: {full}");

    // --- A refused cancel from the API, made 50 times: the trail then holds more than a page.
    let csrf = bob.csrf(&web.at("/jobs"));
    for _ in 0..50 {
        let cancel = bob.client.post(web.at(&format!("/api/v1/jobs/{danas}/cancel"))).header("x-csrf-token", &csrf);
        assert_eq!(cancel.send().unwrap().status(), 403);
    }

    // --- Only admins read the audit page; the nav shows it to them alone.
    let refused = bob.client.get(web.at("/audit")).send().unwrap();
    assert!(refusal(refused, 403).contains("only an admin may read the audit trail"));
    assert!(!table.contains("href=\"/audit\""), "no audit link for a user");
    let first = alice.client.get(web.at("/audit")).send().unwrap();
    assert_eq!(first.status(), 200);
    let first = first.text().unwrap();
    assert!(first.contains("href=\"/audit\""), "the admin's nav links it");
    let rows = audit_rows(&first);
    assert_eq!(rows.len(), 50, "a page");
    assert!(first.contains("href=\"/audit?page=2\" rel=\"next\""), "a next page");
    let reason =
        format!("refused: job {danas} belongs to dana@example.edu; only dana@example.edu or an admin may cancel it");
    let target = format!("job {danas}");
    let cancel = |row: &[String; 6]| row[1..] == ["bob@example.edu", "web", "cancel", target.as_str(), reason.as_str()];
    assert!(rows.iter().all(cancel), "newest first: the refused cancels: {rows:?}");
    let second = audit_rows(&alice.client.get(web.at("/audit?page=2")).send().unwrap().text().unwrap());
    fn sign_in(user: &str) -> impl Fn(&[String; 6]) -> bool + '_ {
        move |row| row[1..] == [user, "web", "sign-in", "provider local", "done"]
    }
    assert!(
        second.iter().any(sign_in("alice@example.edu")) && second.iter().any(sign_in("bob@example.edu")),
        "{second:?}"
    );
    let submit = second.iter().find(|row| row[3] == "submit").expect("dana's submit");
    assert_eq!((submit[1].as_str(), submit[2].as_str()), ("dana@example.edu", "cli"));
    assert!(submit[4].starts_with(&format!("job {danas} (")) && submit[0].ends_with(" UTC"), "{submit:?}");
    assert_eq!(second.iter().filter(|row| row[3] == "cancel").count(), 0, "the 50 cancels were the first page");

    // --- One user's entries, newest first.
    let danas_rows =
        audit_rows(&alice.client.get(web.at("/audit?user=dana%40example.edu")).send().unwrap().text().unwrap());
    assert_eq!(danas_rows.len(), 1, "{danas_rows:?}");
    assert_eq!(danas_rows[0][3], "submit");
}

/// The JSON body of a response whose status must be `status`.
fn json_of_status(response: reqwest::blocking::Response, status: u16) -> Value {
    assert_eq!(response.status(), status);
    json_of(response)
}

/// `doctor --role coordinator` with the settings the farm's coordinator runs with: each check's status and detail,
/// by name.
fn coordinator_doctor(
    web: &common::web::WebCluster,
    config: &std::path::Path,
    port: u16,
) -> Vec<(String, String, String)> {
    let data = web.cluster.dir.path().join("coordinator-data");
    let output = common::distencode(&[
        "doctor",
        "--role",
        "coordinator",
        "--json",
        "--config",
        config.to_str().unwrap(),
        "--web-listen",
        &format!("127.0.0.1:{port}"),
        "--certs",
        web.cluster.certs.to_str().unwrap(),
        "--name",
        "coord",
        "--data-dir",
        data.to_str().unwrap(),
    ]);
    let checks: Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| panic!("{e}: {output:?}"));
    let field = |c: &Value, key: &str| c[key].as_str().unwrap_or_default().to_string();
    checks.as_array().unwrap().iter().map(|c| (field(c, "name"), field(c, "status"), field(c, "detail"))).collect()
}

fn doctor_says<'a>(checks: &'a [(String, String, String)], name: &str) -> (&'a str, &'a str) {
    let found = checks.iter().find(|c| c.0 == name).unwrap_or_else(|| panic!("no {name} check: {checks:?}"));
    (found.1.as_str(), found.2.as_str())
}

#[test]
fn sign_in_survives_a_key_rotation_a_private_ca_and_a_provider_down_at_start() {
    // The provider serves HTTPS under a CA of its own (a university's private CA), on a port chosen now: it is not
    // running yet when the coordinator starts.
    let dir = tempfile::tempdir().unwrap();
    let provider_ca = dir.path().join("provider-ca");
    let provider_ca_s = provider_ca.to_str().unwrap();
    common::ok(&common::distencode(&["certs", "init", "--dir", provider_ca_s]));
    common::ok(&common::distencode(&[
        "certs",
        "issue",
        "--dir",
        provider_ca_s,
        "--role",
        "coordinator",
        "--name",
        "idp",
    ]));
    let ca_pem = provider_ca.join("ca.pem");
    let (port, idp_port) = (free_port(), free_port());
    let callback = format!("https://127.0.0.1:{port}/auth/callback");
    let issuer = format!("https://127.0.0.1:{idp_port}");
    let secret = secret_file(dir.path());
    let ca_file = format!("ca_file = \"{}\"", ca_pem.display());
    let settings = format!(
        "{CERTIFICATE_USERS}{}{}",
        provider_table("university", &issuer, &secret, &callback, &ca_file),
        provider_table("untrusted", &issuer, &secret, &callback, ""),
    );
    let web = web_cluster(port, &settings, dir.path());

    // --- The coordinator started without its provider; the sign-in page says the provider is unavailable.
    assert!(web.cluster.json(&["job", "list", "--json"]).is_array(), "the farm serves the CLI");
    web.cluster.wait_until(std::time::Duration::from_secs(30), "the sign-in page to say so", || {
        let page = unescape(&web.get("/signin").send().unwrap().text().unwrap());
        page.contains("university is unavailable right now:")
    });
    let down = web.get("/auth/login?provider=university").send().unwrap();
    assert!(refusal(down, 503).contains("The sign-in with university cannot start:"));
    // `doctor` on the coordinator says so too, and that the web certificate is fine.
    let config = dir.path().join("coordinator.toml");
    let checks = coordinator_doctor(&web, &config, port);
    let (status, detail) = doctor_says(&checks, "web");
    assert_eq!(status, "ok", "{detail}");
    assert!(detail.starts_with(&format!("serves https on 127.0.0.1:{port} with ")), "{detail}");
    let (status, detail) = doctor_says(&checks, "oidc university");
    assert_eq!(status, "fail", "{detail}");
    assert!(detail.contains(&format!("{issuer}/.well-known/openid-configuration")), "{detail}");
    assert!(detail.ends_with("ca_file for a private CA"), "{detail}");

    // --- Once the provider is up, discovery is asked again and sign-in works (with ca_file).
    let log = dir.path().join("provider.log");
    let idp =
        Idp::start_on(idp_port, &callback, &log, Some((&provider_ca.join("idp.pem"), &provider_ca.join("idp.key"))));
    assert_eq!(idp.issuer, issuer);
    let sign_in = |login: &str| -> Visitor {
        let visitor = Visitor::trusting(&web.cluster, &[&ca_pem]);
        let mut started = None;
        web.cluster.wait_until(std::time::Duration::from_secs(30), "the sign-in to start", || {
            let response = visitor.client.get(web.at("/auth/login?provider=university")).send().unwrap();
            let found = response.status() == 303;
            if found {
                started = Some(response.headers()["location"].to_str().unwrap().to_string());
            }
            found
        });
        let authorize = started.unwrap();
        let response = visitor.client.get(&authorize).send().unwrap();
        let answer = walk(&visitor.client, authorize, response, login, &callback);
        let done = visitor.client.get(&answer).send().unwrap();
        assert_eq!(done.status(), 303, "{login}: {}", unescape(&done.text().unwrap_or_default()));
        visitor
    };
    let bob = sign_in("bob");
    assert_eq!(json_of(bob.client.get(web.at("/api/v1/me")).send().unwrap())["user"], "bob@example.edu");
    let page = unescape(&web.get("/signin").send().unwrap().text().unwrap());
    assert!(!page.contains("university is unavailable"), "{page}");
    let checks = coordinator_doctor(&web, &config, port);
    assert_eq!(
        doctor_says(&checks, "oidc university"),
        ("ok", format!("{issuer} answers with its discovery document and keys").as_str())
    );
    let (status, detail) = doctor_says(&checks, "oidc untrusted");
    assert_eq!(status, "fail", "without ca_file: {detail}");
    assert!(detail.contains("UnknownIssuer"), "{detail}");

    // --- Without ca_file the same provider is not trusted: one line says why and what to set.
    web.cluster.wait_until(std::time::Duration::from_secs(30), "the untrusted provider's reason", || {
        let response = web.get("/auth/login?provider=untrusted").send().unwrap();
        let text = refusal(response, 503);
        text.contains("invalid peer certificate: UnknownIssuer")
            && text.contains("set ca_file to that CA's certificate")
    });

    // --- The provider rotates its signing key: the next ID token names a key id the farm has not seen, the farm
    // fetches the key set again, and the sign-in works.
    let trusting = common::web::client_builder_trusting(&web.cluster, &[&ca_pem]).build().unwrap();
    let kid = idp.rotate_key(&trusting);
    let keys = json_of(trusting.get(format!("{issuer}/jwks")).send().unwrap());
    assert_eq!(keys["keys"].as_array().map(Vec::len), Some(1));
    assert_eq!(keys["keys"][0]["kid"], kid.as_str(), "only the new key is published");
    let alice = sign_in("alice");
    assert_eq!(
        json_of(alice.client.get(web.at("/api/v1/me")).send().unwrap()),
        json!({"user": "alice@example.edu", "role": "admin"})
    );
}
