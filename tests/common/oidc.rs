//! A real OpenID provider for the sign-in tests: `tests/oidc/server.js` (the npm package `oidc-provider`, installed
//! by `scripts/setup` with `npm ci`) on 127.0.0.1, and a browser-less walk through its own login form.

use reqwest::blocking::{Client, Response};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// Steps (redirects and forms) one sign-in may take at the provider.
const MAX_STEPS: usize = 12;

/// The provider process, killed when dropped.
pub struct Idp {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub issuer: String,
}

impl Drop for Idp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn folder() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/oidc")
}

impl Idp {
    /// Starts the provider on a free port with its client `distencode` registered for `redirect_url`; what it says
    /// on stderr goes to `log`.
    pub fn start(redirect_url: &str, log: &Path) -> Idp {
        Idp::start_on(0, redirect_url, log, None)
    }

    /// As [`Idp::start`], on `port` (0: a free one), serving HTTPS with `tls` (a certificate for 127.0.0.1 and its
    /// key, PEM files) when given.
    pub fn start_on(port: u16, redirect_url: &str, log: &Path, tls: Option<(&Path, &Path)>) -> Idp {
        let dir = folder();
        assert!(
            dir.join("node_modules/oidc-provider").is_dir(),
            "tests/oidc/node_modules is missing: run scripts/setup (npm ci in tests/oidc)"
        );
        let mut child = Command::new("node")
            .arg(dir.join("server.js"))
            .arg(port.to_string())
            .arg(redirect_url)
            .args(tls.iter().flat_map(|(cert, key)| [cert.as_os_str(), key.as_os_str()]))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(log).expect("the provider's log"))
            .spawn()
            .expect("start node tests/oidc/server.js");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut line = String::new();
            let _ = reader.read_line(&mut line);
            let _ = tx.send(line);
            // Read on, so the provider's later notices never meet a closed pipe.
            let _ = std::io::copy(&mut reader, &mut std::io::sink());
        });
        let line = rx.recv_timeout(Duration::from_secs(30)).unwrap_or_default();
        let port = line.trim().strip_prefix("listening ").unwrap_or_else(|| {
            panic!("the provider said {line:?}: {}", std::fs::read_to_string(log).unwrap_or_default())
        });
        let scheme = if tls.is_some() { "https" } else { "http" };
        Idp { child, issuer: format!("{scheme}://127.0.0.1:{port}") }
    }

    /// Has the provider sign with a new key (a new key id) from now on, its old key gone from its key set (the hook
    /// `POST /test/rotate-key` of server.js); the new key id. `client` must trust the provider's certificate.
    pub fn rotate_key(&self, client: &Client) -> String {
        let response = client.post(format!("{}/test/rotate-key", self.issuer)).send().expect("the rotate hook");
        assert_eq!(response.status(), 200);
        let answer: serde_json::Value = response.json().unwrap();
        answer["kid"].as_str().expect("a key id").to_string()
    }
}

/// A free port on 127.0.0.1 (the web interface's, which the provider's client registration must name first).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// `location` resolved against `base`.
fn resolve(base: &str, location: &str) -> String {
    reqwest::Url::parse(base).unwrap().join(location).unwrap().to_string()
}

/// The first form of `html`: its action and its fields (hidden ones with their values).
fn form(html: &str) -> Option<(String, Vec<(String, String)>)> {
    let start = html.find("<form")?;
    let rest = &html[start..];
    let end = rest.find("</form>").unwrap_or(rest.len());
    let form = &rest[..end];
    let action = attribute(form, "action")?.replace("&amp;", "&");
    let mut fields = Vec::new();
    for input in form.split("<input").skip(1) {
        let tag = &input[..input.find('>').unwrap_or(input.len())];
        if let Some(name) = attribute(tag, "name") {
            fields.push((name, attribute(tag, "value").unwrap_or_default()));
        }
    }
    Some((action, fields))
}

fn attribute(tag: &str, name: &str) -> Option<String> {
    let key = format!("{name}=\"");
    let from = tag.find(&key)? + key.len();
    Some(tag[from..].split('"').next()?.to_string())
}

/// Follows `response` (from `url`) through the provider's redirects and forms, signing in as `login`, up to the
/// redirect to an address starting with `callback`: that address, not yet requested.
pub fn walk(client: &Client, mut url: String, mut response: Response, login: &str, callback: &str) -> String {
    for _ in 0..MAX_STEPS {
        if response.status().is_redirection() {
            let location = response.headers()["location"].to_str().unwrap().to_string();
            let next = resolve(&url, &location);
            if next.starts_with(callback) {
                return next;
            }
            response = client.get(&next).send().unwrap();
            url = next;
            continue;
        }
        let status = response.status();
        let html = response.text().unwrap();
        let (action, mut fields) = form(&html).unwrap_or_else(|| panic!("{status} from {url} with no form: {html}"));
        for (name, value) in fields.iter_mut() {
            match name.as_str() {
                "login" => *value = login.to_string(),
                "password" => *value = "any".to_string(),
                _ => {}
            }
        }
        let next = resolve(&url, &action);
        response = client.post(&next).form(&fields).send().unwrap();
        url = next;
    }
    panic!("no redirect to {callback} after {MAX_STEPS} steps");
}
