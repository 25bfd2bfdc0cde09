//! A farm whose web interface signs people in with the real provider of [`super::oidc`]: the coordinator's settings
//! for it, a browser-like HTTP client with a cookie jar ([`Visitor`]), and the page reading the sign-in tests share.

use super::oidc::{free_port, walk, Idp};
use super::web::WebCluster;
use super::Cluster;
use reqwest::blocking::{Client, Response};
use reqwest::cookie::{CookieStore, Jar};
use serde_json::Value;
use std::path::Path;
use std::sync::Arc;

/// A browser-like client: a cookie jar, no redirects followed, the cluster's CA (and any more given) trusted.
pub struct Visitor {
    pub client: Client,
    pub jar: Arc<Jar>,
}

impl Visitor {
    pub fn new(cluster: &Cluster) -> Self {
        Visitor::trusting(cluster, &[])
    }

    /// A visitor that trusts the CAs of the PEM files `more` too (a provider's private CA).
    pub fn trusting(cluster: &Cluster, more: &[&Path]) -> Self {
        let jar = Arc::new(Jar::default());
        let client = super::web::client_builder_trusting(cluster, more).cookie_provider(jar.clone()).build().unwrap();
        Visitor { client, jar }
    }

    /// The value of the cookie `name` the jar would send to `url`.
    pub fn cookie(&self, url: &str, name: &str) -> Option<String> {
        let header = self.jar.cookies(&url.parse().unwrap())?;
        let text = header.to_str().unwrap().to_string();
        text.split("; ").find_map(|pair| pair.strip_prefix(&format!("{name}=")).map(str::to_string))
    }

    /// The CSRF token of the page at `url` (every signed-in page's header form carries it).
    pub fn csrf(&self, url: &str) -> String {
        let html = self.client.get(url).send().unwrap().text().unwrap();
        html.split("name=\"csrf\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_string()
    }
}

/// One `[[oidc]]` table of the coordinator's settings, for the test provider's client `distencode`.
pub fn provider_table(name: &str, issuer: &str, secret: &Path, callback: &str, more: &str) -> String {
    format!(
        "[[oidc]]\nname = \"{name}\"\nissuer = \"{issuer}\"\nclient_id = \"distencode\"\nclient_secret_file = \"{}\"\n\
         redirect_url = \"{callback}\"\nusername_claim = \"email\"\nadmin_claim = \"groups\"\n\
         admin_values = [\"farm-admins\"]\nallowed_domains = [\"example.edu\"]\n{more}\n",
        secret.display()
    )
}

/// The client secret file of the test provider's client, in `dir`.
pub fn secret_file(dir: &Path) -> std::path::PathBuf {
    let secret = dir.join("oidc-secret");
    std::fs::write(&secret, "test-secret\n").unwrap();
    secret
}

/// A coordinator (no workers) with its web interface on 127.0.0.1:`port` and `settings` as its configuration file
/// (written to `dir`).
pub fn web_cluster(port: u16, settings: &str, dir: &Path) -> WebCluster {
    let config = dir.join("coordinator.toml");
    std::fs::write(&config, settings).unwrap();
    let listen = format!("127.0.0.1:{port}");
    let flags = ["--web-listen", listen.as_str(), "--config", config.to_str().unwrap()];
    let cluster = Cluster::start_full(0, &[], &flags);
    let client = super::web::https_client(&cluster);
    let mut web = WebCluster { cluster, url: String::new(), sign_in: String::new(), token: String::new(), client };
    web.read_address();
    web
}

/// The users of the farm's certificates: `bob-laptop` is bob and `dana-desk` is dana, as the provider knows them.
pub const CERTIFICATE_USERS: &str =
    "[certificate_users]\n\"bob-laptop\" = \"bob@example.edu\"\n\"dana-desk\" = \"dana@example.edu\"\n\n";

/// The farm with one provider, `local`.
pub struct Farm {
    /// The secret's and the settings' folder, and the provider's log.
    _dir: tempfile::TempDir,
    pub web: WebCluster,
    pub idp: Idp,
    pub callback: String,
}

impl Farm {
    pub fn start() -> Farm {
        Farm::start_with("")
    }

    /// As [`Farm::start`], with `more` top-level settings (lines before the tables).
    pub fn start_with(more: &str) -> Farm {
        let port = free_port();
        let callback = format!("https://127.0.0.1:{port}/auth/callback");
        let dir = tempfile::tempdir().unwrap();
        let idp = Idp::start(&callback, &dir.path().join("provider.log"));
        let secret = secret_file(dir.path());
        let table = provider_table("local", &idp.issuer, &secret, &callback, "");
        let settings = format!("{more}{CERTIFICATE_USERS}{table}");
        let web = web_cluster(port, &settings, dir.path());
        Farm { _dir: dir, web, idp, callback }
    }

    /// Starts a sign-in in `visitor` and walks the provider's form as `login`: the callback address it is sent to.
    pub fn to_callback(&self, visitor: &Visitor, login: &str) -> String {
        let start = self.web.at("/auth/login?provider=local");
        let response = visitor.client.get(&start).send().unwrap();
        assert_eq!(response.status(), 303, "{}", response.text().unwrap_or_default());
        let authorize = response.headers()["location"].to_str().unwrap().to_string();
        self.authorize(visitor, &authorize, login)
    }

    pub fn authorize(&self, visitor: &Visitor, authorize: &str, login: &str) -> String {
        assert!(authorize.starts_with(&self.idp.issuer), "{authorize}");
        let response = visitor.client.get(authorize).send().unwrap();
        walk(&visitor.client, authorize.to_string(), response, login, &self.callback)
    }

    /// A visitor signed in as `login`.
    pub fn signed_in(&self, login: &str) -> Visitor {
        let visitor = Visitor::new(&self.web.cluster);
        let callback = self.to_callback(&visitor, login);
        let response = visitor.client.get(&callback).send().unwrap();
        assert_eq!(response.status(), 303, "{login}: {}", response.text().unwrap_or_default());
        assert_eq!(response.headers()["location"], "/");
        visitor
    }

    pub fn me(&self, visitor: &Visitor) -> Response {
        visitor.client.get(self.web.at("/api/v1/me")).send().unwrap()
    }

    /// Submits a tiny project from the CLI with the client certificate `certificate` (issued here), to its own
    /// output; the job's id.
    pub fn submit_as(&self, certificate: &str, name: &str) -> u64 {
        let cluster = &self.web.cluster;
        cluster.issue("client", certificate);
        let dir = cluster.dir.path();
        let project = super::projects::tiny(dir, &format!("{name}.mlt"), 25);
        let output = dir.join(format!("{name}.mp4"));
        let args = ["job", "submit", project.to_str().unwrap(), "--output", output.to_str().unwrap(), "--json"];
        cluster.json_as(certificate, &args)["id"].as_u64().unwrap()
    }
}

pub fn json_of(response: Response) -> Value {
    let text = response.text().unwrap();
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// A page's HTML with the escapes of its text undone, as a user reads it.
pub fn unescape(html: &str) -> String {
    [("&#x27;", "'"), ("&#39;", "'"), ("&quot;", "\""), ("&#x2f;", "/"), ("&#47;", "/"), ("&lt;", "<"), ("&gt;", ">")]
        .iter()
        .fold(html.to_string(), |text, (from, to)| text.replace(from, to))
        .replace("&amp;", "&")
}

/// The page's text as a user reads the refusal; the status must be `status`.
pub fn refusal(response: Response, status: u16) -> String {
    assert_eq!(response.status(), status);
    unescape(&response.text().unwrap())
}
