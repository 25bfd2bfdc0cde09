//! A real headless Chromium, driven over WebDriver (chromedriver on a free 127.0.0.1 port) with fantoccini. The
//! browser trusts the cluster's CA through an NSS database in a HOME of its own (no certificate errors ignored, so
//! origins, `Secure` cookies and CSRF behave as they do for users).

use fantoccini::{Client, ClientBuilder};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const CHROMIUM: &str = "/usr/bin/chromium";
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// chromedriver and the browser it drives; both end when this is dropped.
pub struct Browser {
    driver: Child,
    pub client: Client,
    /// The browser's HOME (its NSS database and profile).
    _home: tempfile::TempDir,
}

impl Browser {
    /// Starts chromedriver and a headless Chromium that trusts `ca_pem`.
    pub async fn start(ca_pem: &Path) -> Browser {
        let home = tempfile::tempdir().unwrap();
        let nssdb = home.path().join(".pki/nssdb");
        std::fs::create_dir_all(&nssdb).unwrap();
        let db = format!("sql:{}", nssdb.display());
        run("certutil", &["-d", &db, "-N", "--empty-password"]);
        run("certutil", &["-d", &db, "-A", "-t", "C,,", "-n", "distencode-test-ca", "-i", ca_pem.to_str().unwrap()]);
        let port = free_port();
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .env("HOME", home.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver (scripts/setup installs chromium-driver)");
        let profile = home.path().join("profile");
        let mut capabilities = serde_json::Map::new();
        capabilities.insert(
            "goog:chromeOptions".into(),
            serde_json::json!({
                "binary": CHROMIUM,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                         "--window-size=1400,900", "--no-first-run", format!("--user-data-dir={}", profile.display())],
            }),
        );
        let url = format!("http://127.0.0.1:{port}");
        let start = Instant::now();
        let client = loop {
            let connector = hyper_util::client::legacy::connect::HttpConnector::new();
            match ClientBuilder::new(connector).capabilities(capabilities.clone()).connect(&url).await {
                Ok(client) => break client,
                Err(e) if start.elapsed() > Duration::from_secs(30) => panic!("no WebDriver session: {e}"),
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        };
        Browser { driver, client, _home: home }
    }

    /// Saves a screenshot of the page as `target/screenshots/NAME.png`.
    pub async fn screenshot(&self, name: &str) {
        let png = self.client.screenshot().await.expect("a screenshot");
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

fn run(program: &str, args: &[&str]) {
    let output = Command::new(program).args(args).output().unwrap_or_else(|e| panic!("{program}: {e}"));
    assert!(output.status.success(), "{program} {args:?}: {}", String::from_utf8_lossy(&output.stderr));
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}
