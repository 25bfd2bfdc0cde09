//! The web interface's test harness: a cluster whose coordinator serves HTTPS on 127.0.0.1, the address and sign-in
//! link it printed, and a plain HTTP client (reqwest on rustls/ring) that trusts the cluster's CA.

use super::Cluster;
use reqwest::blocking::{Client, RequestBuilder, Response};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateDer;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A cluster with the web interface on.
pub struct WebCluster {
    pub cluster: Cluster,
    /// `https://127.0.0.1:PORT/` as printed (with the port chosen).
    pub url: String,
    /// The sign-in link as printed.
    pub sign_in: String,
    /// The token in DATA_DIR/web-token.
    pub token: String,
    pub client: Client,
}

impl WebCluster {
    /// `workers` workers and a coordinator with `--web-listen 127.0.0.1:0` (plus `coordinator_flags`).
    pub fn start(workers: usize, node_flags: &[&str], coordinator_flags: &[&str]) -> Self {
        let mut flags = vec!["--web-listen", "127.0.0.1:0"];
        flags.extend_from_slice(coordinator_flags);
        let cluster = Cluster::start_full(workers, node_flags, &flags);
        let client = https_client(&cluster);
        let mut web = WebCluster { cluster, url: String::new(), sign_in: String::new(), token: String::new(), client };
        web.read_address();
        web
    }

    /// Reads the printed `web interface: URL` and `sign in: LINK` lines (after a start or a restart).
    pub fn read_address(&mut self) {
        let start = Instant::now();
        loop {
            let lines = self.cluster.coordinator_stdout.lock().unwrap().clone();
            let url = lines.iter().find_map(|l| l.strip_prefix("web interface: "));
            let link = lines.iter().find_map(|l| l.strip_prefix("sign in: "));
            if let (Some(url), Some(link)) = (url, link) {
                self.url = url.to_string();
                self.sign_in = link.to_string();
                break;
            }
            assert!(start.elapsed() < Duration::from_secs(30), "no web address printed: {lines:?}");
            std::thread::sleep(Duration::from_millis(50));
        }
        let token_file = self.cluster.dir.path().join("coordinator-data").join("web-token");
        self.token = std::fs::read_to_string(token_file).expect("DATA_DIR/web-token").trim().to_string();
    }

    /// `https://127.0.0.1:PORT` + `path`.
    pub fn at(&self, path: &str) -> String {
        format!("{}{}", self.url.trim_end_matches('/'), path)
    }

    pub fn get(&self, path: &str) -> RequestBuilder {
        self.client.get(self.at(path))
    }

    pub fn post(&self, path: &str) -> RequestBuilder {
        self.client.post(self.at(path))
    }

    /// A request with the bearer token.
    pub fn bearer(&self, builder: RequestBuilder) -> RequestBuilder {
        builder.bearer_auth(&self.token)
    }

    /// Signs in with the link; the session cookie (`NAME=VALUE`) it set.
    pub fn session_cookie(&self) -> String {
        let response = self.client.get(&self.sign_in).send().unwrap();
        assert_eq!(response.status(), 303, "sign-in answered {}", response.status());
        set_cookie(&response).expect("a session cookie").split(';').next().unwrap().to_string()
    }
}

/// The response's `Set-Cookie` header.
pub fn set_cookie(response: &Response) -> Option<String> {
    response.headers().get("set-cookie").map(|v| v.to_str().unwrap().to_string())
}

/// A client that trusts only the cluster's CA, follows no redirects, and speaks HTTP/1.1.
pub fn https_client(cluster: &Cluster) -> Client {
    client_builder(cluster).build().unwrap()
}

/// The builder of [`https_client`], for a client with more (a cookie jar).
pub fn client_builder(cluster: &Cluster) -> reqwest::blocking::ClientBuilder {
    client_builder_trusting(cluster, &[])
}

/// As [`client_builder`], trusting the CAs of the PEM files `more` too (an identity provider's private CA).
pub fn client_builder_trusting(cluster: &Cluster, more: &[&Path]) -> reqwest::blocking::ClientBuilder {
    let mut roots = rustls::RootCertStore::empty();
    let cluster_ca = cluster.certs.join("ca.pem");
    for file in std::iter::once(cluster_ca.as_path()).chain(more.iter().copied()) {
        for cert in CertificateDer::pem_file_iter(file).unwrap() {
            roots.add(cert.unwrap()).unwrap();
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    Client::builder()
        .use_preconfigured_tls(tls)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(60))
}
