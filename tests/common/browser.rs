//! A real headless Chromium, driven over WebDriver (Debian's chromedriver on a free 127.0.0.1 port) with
//! fantoccini. The browser trusts the test cluster's CA through an NSS database in a HOME of its own, as a user's
//! browser does once `ca.pem` is imported: no certificate error is ignored, so origins, `Secure` cookies and CSRF
//! behave as they do for users. chromedriver and every Chromium process of its profile end when it is dropped.

use fantoccini::{Client, ClientBuilder, Locator};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const CHROMIUM: &str = "/usr/bin/chromium";
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// The window a screenshot shows (docs/web-*.png are taken at this size).
pub const WINDOW: (u32, u32) = (1280, 800);
/// How long chromedriver may take to start a browser session.
const SESSION_LIMIT: Duration = Duration::from_secs(60);
/// How often [`Browser::until`] looks again.
const POLL: Duration = Duration::from_millis(100);

/// chromedriver and the browser it drives.
pub struct Browser {
    driver: Child,
    pub client: Client,
    /// The browser's profile folder: it names every Chromium process of this browser.
    profile: PathBuf,
    /// The browser's HOME (its NSS database, profile and chromedriver's log).
    _home: tempfile::TempDir,
}

impl Browser {
    /// Starts chromedriver and a headless Chromium that trusts `ca_pem` (a CA in PEM) for HTTPS.
    pub async fn start(ca_pem: &Path) -> Browser {
        let home = tempfile::tempdir().expect("a HOME for the browser");
        let nssdb = home.path().join(".pki/nssdb");
        std::fs::create_dir_all(&nssdb).unwrap();
        let db = format!("sql:{}", nssdb.display());
        run("certutil", &["-d", &db, "-N", "--empty-password"]);
        run("certutil", &["-d", &db, "-A", "-t", "C,,", "-n", "distencode-test-ca", "-i", ca_pem.to_str().unwrap()]);
        let port = free_port();
        let log = home.path().join("chromedriver.log");
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .arg(format!("--log-path={}", log.display()))
            .env("HOME", home.path())
            .env_remove("DISPLAY")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            // Its own process group, so that the browser it starts can be ended with it.
            .process_group(0)
            .spawn()
            .expect("start chromedriver (scripts/setup installs chromium-driver)");
        let profile = home.path().join("profile");
        let (width, height) = WINDOW;
        let mut capabilities = serde_json::Map::new();
        capabilities.insert(
            "goog:chromeOptions".into(),
            serde_json::json!({
                "binary": CHROMIUM,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--no-first-run", "--no-default-browser-check", "--disable-extensions",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    "--hide-scrollbars", "--force-device-scale-factor=1",
                    format!("--window-size={width},{height}"),
                    format!("--user-data-dir={}", profile.display()),
                ],
            }),
        );
        let url = format!("http://127.0.0.1:{port}");
        let start = Instant::now();
        let client = loop {
            let connector = hyper_util::client::legacy::connect::HttpConnector::new();
            match ClientBuilder::new(connector).capabilities(capabilities.clone()).connect(&url).await {
                Ok(client) => break client,
                Err(e) if start.elapsed() > SESSION_LIMIT => {
                    panic!("no WebDriver session: {e}\n{}", std::fs::read_to_string(&log).unwrap_or_default())
                }
                Err(_) => tokio::time::sleep(POLL).await,
            }
        };
        // The window holds the browser's own bars too: grow it by what they take, so that the page itself is WINDOW.
        let script = "return [window.innerWidth, window.innerHeight];";
        let inner = client.execute(script, vec![]).await.expect("the script ran");
        let grow = |i: usize, want: u32| {
            let have = inner[i].as_u64().and_then(|v| u32::try_from(v).ok()).unwrap_or(want);
            (2 * want).saturating_sub(have)
        };
        client.set_window_size(grow(0, width), grow(1, height)).await.expect("the window resized");
        Browser { driver, client, profile, _home: home }
    }

    /// Waits (at most `limit`) until `check` holds, looking every 100 ms; panics saying `what` otherwise.
    pub async fn until<F, Fut>(&self, limit: Duration, what: &str, mut check: F)
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = bool>,
    {
        let start = Instant::now();
        while start.elapsed() < limit {
            if check().await {
                return;
            }
            tokio::time::sleep(POLL).await;
        }
        let here = self.client.current_url().await.map(|u| u.to_string()).unwrap_or_default();
        let text = self.text("body").await;
        panic!("timed out after {limit:?} waiting for {what}; the page at {here} reads:\n{text}");
    }

    /// The text of the first element matching `css` as shown (`innerText`); empty when there is none. Read in one
    /// script, so that a live page replacing the element meanwhile cannot make it fail.
    pub async fn text(&self, css: &str) -> String {
        let script = "const e = document.querySelector(arguments[0]); return e ? e.innerText.trim() : '';";
        let text = self.client.execute(script, vec![serde_json::json!(css)]).await.expect("the script ran");
        text.as_str().unwrap_or_default().to_string()
    }

    /// The live `value` of the first element matching `css` as a number (a progress bar's, say); 0 when there is
    /// none.
    pub async fn number(&self, css: &str) -> f64 {
        let script = "const e = document.querySelector(arguments[0]); return e ? Number(e.value) : 0;";
        let value = self.client.execute(script, vec![serde_json::json!(css)]).await.expect("the script ran");
        value.as_f64().unwrap_or(0.0)
    }

    /// Marks the first element matching `css` (a property of the DOM element, not of the page), so that
    /// [`Browser::is_marked`] tells whether the page has since replaced it.
    pub async fn mark(&self, css: &str) {
        let script = "const e = document.querySelector(arguments[0]); if (e) { e.distencodeMark = true; } return !!e;";
        let found = self.client.execute(script, vec![serde_json::json!(css)]).await.expect("the script ran");
        assert_eq!(found, serde_json::json!(true), "nothing to mark: {css}");
    }

    /// Whether the first element matching `css` is the one [`Browser::mark`] marked.
    pub async fn is_marked(&self, css: &str) -> bool {
        let script = "const e = document.querySelector(arguments[0]); return !!(e && e.distencodeMark);";
        let marked = self.client.execute(script, vec![serde_json::json!(css)]).await.expect("the script ran");
        marked == serde_json::json!(true)
    }

    /// Whether the checkbox (or radio button) matching `css` is ticked.
    pub async fn checked(&self, css: &str) -> bool {
        let script = "const e = document.querySelector(arguments[0]); return !!(e && e.checked);";
        let checked = self.client.execute(script, vec![serde_json::json!(css)]).await.expect("the script ran");
        checked == serde_json::json!(true)
    }

    /// The live value of the form field matching `css` (what the user typed); empty when there is none.
    pub async fn field(&self, css: &str) -> String {
        let script = "const e = document.querySelector(arguments[0]); return e ? e.value : '';";
        let value = self.client.execute(script, vec![serde_json::json!(css)]).await.expect("the script ran");
        value.as_str().unwrap_or_default().to_string()
    }

    /// How many elements match `css`.
    pub async fn count(&self, css: &str) -> usize {
        self.client.find_all(Locator::Css(css)).await.map_or(0, |all| all.len())
    }

    /// Types `text` into the field matching `css`, after clearing it.
    pub async fn fill(&self, css: &str, text: &str) {
        let field = self.client.find(Locator::Css(css)).await.unwrap_or_else(|e| panic!("no field {css}: {e}"));
        field.clear().await.unwrap();
        field.send_keys(text).await.unwrap();
    }

    /// Clicks the element matching `css`.
    pub async fn click(&self, css: &str) {
        let element =
            self.client.find(Locator::Css(css)).await.unwrap_or_else(|e| panic!("nothing to click {css}: {e}"));
        element.click().await.unwrap_or_else(|e| panic!("{css} could not be clicked: {e}"));
    }

    /// Runs `script` (an expression, possibly a promise) in the page and returns its value.
    pub async fn eval(&self, script: &str) -> serde_json::Value {
        let wrapped = format!("const done = arguments[0]; Promise.resolve({script}).then(done, e => done(String(e)));");
        self.client.execute_async(&wrapped, vec![]).await.expect("the script ran")
    }

    /// Saves a screenshot of the page as `target/screenshots/NAME.png`; returns its path.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let png = self.client.screenshot().await.expect("a screenshot");
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, png).unwrap();
        path
    }

    /// Ends the WebDriver session (the browser quits), then chromedriver.
    pub async fn close(self) {
        let _ = self.client.clone().close().await;
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // The process group first (chromedriver and what it started), then any Chromium process of this profile
        // that left the group.
        // SAFETY: kill(2) on our own child's process group; no memory is touched.
        unsafe { libc::kill(-(self.driver.id() as i32), libc::SIGKILL) };
        let _ = self.driver.wait();
        for pid in processes_mentioning(&self.profile.display().to_string()) {
            // SAFETY: as above, a process this browser started.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
    }
}

/// Process ids whose command line contains `needle`.
fn processes_mentioning(needle: &str) -> Vec<i32> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse::<i32>().ok()) else { continue };
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else { continue };
        if String::from_utf8_lossy(&cmdline).contains(needle) {
            found.push(pid);
        }
    }
    found
}

fn run(program: &str, args: &[&str]) {
    let output = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("{program} (scripts/setup installs libnss3-tools): {e}"));
    assert!(output.status.success(), "{program} {args:?}: {}", String::from_utf8_lossy(&output.stderr));
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}
