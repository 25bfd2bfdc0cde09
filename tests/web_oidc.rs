//! Sign-in to the web with OpenID Connect against a real provider (`oidc-provider` on 127.0.0.1, tests/oidc/),
//! through its own login form, with an HTTP client and a cookie jar: who gets in with which role, and every answer
//! that must be refused (a wrong state, a replayed code, a code for another client, another issuer's `iss`, a
//! tampered session, a user outside the domain, an unverified email). One provider and one coordinator for the file.

mod common;

use common::oidc::{free_port, walk, Idp};
use common::web::WebCluster;
use common::{projects, Cluster};
use reqwest::blocking::{Client, Response};
use reqwest::cookie::{CookieStore, Jar};
use serde_json::{json, Value};
use std::sync::Arc;

const FLOW_COOKIE: &str = "__Host-distencode-oidc";
const SESSION_COOKIE: &str = "__Host-distencode-session";

/// A browser-like client: a cookie jar, no redirects followed, the cluster's CA trusted.
struct Browser {
    client: Client,
    jar: Arc<Jar>,
}

impl Browser {
    fn new(cluster: &Cluster) -> Self {
        let jar = Arc::new(Jar::default());
        let client = common::web::client_builder(cluster).cookie_provider(jar.clone()).build().unwrap();
        Browser { client, jar }
    }

    /// The value of the cookie `name` the jar would send to `url`.
    fn cookie(&self, url: &str, name: &str) -> Option<String> {
        let header = self.jar.cookies(&url.parse().unwrap())?;
        let text = header.to_str().unwrap().to_string();
        text.split("; ").find_map(|pair| pair.strip_prefix(&format!("{name}=")).map(str::to_string))
    }
}

struct Farm {
    /// The secret's and the settings' folder, and the provider's log.
    _dir: tempfile::TempDir,
    web: WebCluster,
    idp: Idp,
    callback: String,
}

impl Farm {
    fn start() -> Farm {
        let port = free_port();
        let callback = format!("https://127.0.0.1:{port}/auth/callback");
        let cluster_dir = tempfile::tempdir().unwrap();
        let idp = Idp::start(&callback, &cluster_dir.path().join("provider.log"));
        let secret = cluster_dir.path().join("oidc-secret");
        std::fs::write(&secret, "test-secret\n").unwrap();
        let config = cluster_dir.path().join("coordinator.toml");
        let text = format!(
            "[certificate_users]\n\"bob-laptop\" = \"bob@example.edu\"\n\n[[oidc]]\nname = \"local\"\nissuer = \"{}\"\n\
             client_id = \"distencode\"\nclient_secret_file = \"{}\"\nredirect_url = \"{callback}\"\n\
             username_claim = \"email\"\nadmin_claim = \"groups\"\nadmin_values = [\"farm-admins\"]\n\
             allowed_domains = [\"example.edu\"]\n",
            idp.issuer,
            secret.display()
        );
        std::fs::write(&config, text).unwrap();
        let listen = format!("127.0.0.1:{port}");
        let flags = ["--web-listen", listen.as_str(), "--config", config.to_str().unwrap()];
        let cluster = Cluster::start_full(0, &[], &flags);
        let client = common::web::https_client(&cluster);
        let mut web = WebCluster { cluster, url: String::new(), sign_in: String::new(), token: String::new(), client };
        web.read_address();
        Farm { _dir: cluster_dir, web, idp, callback }
    }

    /// Starts a sign-in in `browser` and walks the provider's form as `login`: the callback address it is sent to.
    fn to_callback(&self, browser: &Browser, login: &str) -> String {
        let start = self.web.at("/auth/login?provider=local");
        let response = browser.client.get(&start).send().unwrap();
        assert_eq!(response.status(), 303, "{}", response.text().unwrap_or_default());
        let authorize = response.headers()["location"].to_str().unwrap().to_string();
        self.authorize(browser, &authorize, login)
    }

    fn authorize(&self, browser: &Browser, authorize: &str, login: &str) -> String {
        assert!(authorize.starts_with(&self.idp.issuer), "{authorize}");
        let response = browser.client.get(authorize).send().unwrap();
        walk(&browser.client, authorize.to_string(), response, login, &self.callback)
    }

    fn signed_in(&self, login: &str) -> Browser {
        let browser = Browser::new(&self.web.cluster);
        let callback = self.to_callback(&browser, login);
        let response = browser.client.get(&callback).send().unwrap();
        assert_eq!(response.status(), 303, "{login}: {}", response.text().unwrap_or_default());
        assert_eq!(response.headers()["location"], "/");
        browser
    }

    fn me(&self, browser: &Browser) -> Response {
        browser.client.get(self.web.at("/api/v1/me")).send().unwrap()
    }
}

fn json_of(response: Response) -> Value {
    let text = response.text().unwrap();
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// A page's HTML with the escapes of its text undone, as a user reads it.
fn unescape(html: &str) -> String {
    [("&#x27;", "'"), ("&#39;", "'"), ("&quot;", "\""), ("&#x2f;", "/"), ("&#47;", "/"), ("&lt;", "<"), ("&gt;", ">")]
        .iter()
        .fold(html.to_string(), |text, (from, to)| text.replace(from, to))
        .replace("&amp;", "&")
}

/// The page's text as a user reads the refusal.
fn refusal(response: Response, status: u16) -> String {
    assert_eq!(response.status(), status);
    unescape(&response.text().unwrap())
}

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
    let browser = Browser::new(&web.cluster);
    let callback = farm.to_callback(&browser, "bob");
    let wrong = browser.client.get(replace_param(&callback, "state", "not-the-state")).send().unwrap();
    assert!(refusal(wrong, 400).contains("the answer's state is not the one of the sign-in this browser started"));
    assert_eq!(farm.me(&browser).status(), 401);

    // --- Another issuer named in the answer (RFC 9207 mix-up).
    let browser = Browser::new(&web.cluster);
    let callback = farm.to_callback(&browser, "bob");
    let other = browser.client.get(replace_param(&callback, "iss", "http://127.0.0.1:1")).send().unwrap();
    let text = refusal(other, 400);
    assert!(text.contains("the answer names the issuer http://127.0.0.1:1, not"), "{text}");

    // --- A replayed code: the same answer again, with the sign-in's cookie put back, is refused by the provider.
    let browser = Browser::new(&web.cluster);
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
    let browser = Browser::new(&web.cluster);
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
        let browser = Browser::new(&web.cluster);
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
