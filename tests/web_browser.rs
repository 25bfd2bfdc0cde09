//! The web interface in a real headless Chromium against a real coordinator and worker: signing in with the link,
//! a job's progress bar and log growing without a reload, cancelling a render from its page (melt gone, no file
//! left), submitting from the form, reserving a worker, a hostile project name shown as text, and requests without
//! a session, without a CSRF token or from another origin refused. Screenshots go to `target/screenshots/`.

#[path = "common/browser.rs"]
mod browser;
mod common;

use browser::Browser;
use common::web::WebCluster;
use common::{melt_processes, partial_of, projects};
use fantoccini::{Client, Locator};
use std::time::{Duration, Instant};

/// Waits (at most `limit`) until `check` says yes, looking every 100 ms.
async fn until<F, Fut>(limit: Duration, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    while start.elapsed() < limit {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out after {limit:?} waiting for {what}");
}

async fn text(client: &Client, css: &str) -> String {
    match client.find(Locator::Css(css)).await {
        Ok(element) => element.text().await.unwrap_or_default(),
        Err(_) => String::new(),
    }
}

async fn attr(client: &Client, css: &str, name: &str) -> Option<String> {
    client.find(Locator::Css(css)).await.ok()?.attr(name).await.ok()?
}

/// Runs `script` (an expression returning a promise of a value) in the page and returns the value.
async fn eval(client: &Client, script: &str) -> serde_json::Value {
    let wrapped = format!("const done = arguments[0]; Promise.resolve({script}).then(done, e => done(String(e)));");
    client.execute_async(&wrapped, vec![]).await.expect("script ran")
}

#[test]
fn the_web_interface_works_in_a_real_browser() {
    let web = WebCluster::start(1, &[], &[]);
    let dir = web.cluster.dir.path().to_path_buf();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let browser = runtime.block_on(Browser::start(&web.cluster.certs.join("ca.pem")));
    let client = &browser.client;
    let base = web.url.trim_end_matches('/').to_string();

    // --- The sign-in link signs in and leaves an address without the token.
    runtime.block_on(async {
        client.goto(&web.sign_in).await.unwrap();
        let here = client.current_url().await.unwrap();
        assert_eq!(here.as_str(), web.url, "the token left the address bar");
        assert_eq!(text(client, "h1").await, "Overview");
    });

    // --- A hostile project name shows as text.
    let hostile = projects::tiny(&dir, "<img src=x onerror=alert(1)>.mlt", 25);
    let hostile_id = web.cluster.submit(&hostile, &["--output", dir.join("hostile.mp4").to_str().unwrap()]);
    web.cluster.wait_final(hostile_id, Duration::from_secs(120));
    runtime.block_on(async {
        client.goto(&format!("{base}/jobs")).await.unwrap();
        let cell = text(client, &format!("#job-{hostile_id} td.path")).await;
        assert_eq!(cell, "<img src=x onerror=alert(1)>.mlt");
        assert!(client.find_all(Locator::Css("table.jobs img")).await.unwrap().is_empty(), "no element was made");
        client.goto(&format!("{base}/jobs/{hostile_id}")).await.unwrap();
        assert!(text(client, "#project").await.ends_with("/<img src=x onerror=alert(1)>.mlt"));
    });

    // --- A running job's page: the progress bar moves and log lines arrive, without a reload.
    let slow = projects::slow(&dir, "slow.mlt", 400);
    let slow_out = dir.join("slow.mp4");
    let slow_id = web.cluster.submit(&slow, &["--output", slow_out.to_str().unwrap(), "--melt-log", "verbose"]);
    runtime.block_on(async {
        client.goto(&format!("{base}/jobs/{slow_id}")).await.unwrap();
        client.execute("window.notReloaded = true; return true;", vec![]).await.unwrap();
        let value = |v: Option<String>| v.and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
        until(Duration::from_secs(60), "the progress bar to move", || async {
            value(attr(client, "#bar", "value").await) > 0.0
        })
        .await;
        let first = value(attr(client, "#bar", "value").await);
        let first_log = text(client, "#log").await.len();
        until(Duration::from_secs(60), "the bar to move again and log lines to arrive", || async {
            value(attr(client, "#bar", "value").await) > first && text(client, "#log").await.len() > first_log
        })
        .await;
        let kept = client.execute("return window.notReloaded === true;", vec![]).await.unwrap();
        assert_eq!(kept, serde_json::json!(true), "the page was not reloaded");
        browser.screenshot("job").await;
    });

    // --- Cancel it from the page: melt is gone and no file is left.
    let partial = partial_of(&slow_out, slow_id, 1);
    assert!(!melt_processes(&partial).is_empty(), "melt renders {partial}");
    runtime.block_on(async {
        client.find(Locator::Css("#cancel")).await.unwrap().click().await.unwrap();
        until(Duration::from_secs(30), "the page to say cancelled", || async {
            text(client, "#state").await == "cancelled"
        })
        .await;
    });
    let job = web.cluster.job(slow_id);
    assert_eq!(job["state"], "cancelled");
    assert_eq!(job["error"], "cancelled by admin");
    web.cluster.wait_until(Duration::from_secs(30), "melt to be gone", || melt_processes(&partial).is_empty());
    web.cluster
        .wait_until(Duration::from_secs(30), "the partial file to go", || !std::path::Path::new(&partial).exists());
    assert!(!slow_out.exists(), "no output was left");

    // --- Submit from the form and see it succeed, live.
    let tiny = projects::tiny(&dir, "form.mlt", 25);
    let tiny_out = dir.join("form.mp4");
    runtime.block_on(async {
        client.goto(&format!("{base}/submit")).await.unwrap();
        client
            .find(Locator::Css("input[name=project]"))
            .await
            .unwrap()
            .send_keys(tiny.to_str().unwrap())
            .await
            .unwrap();
        client
            .find(Locator::Css("input[name=output]"))
            .await
            .unwrap()
            .send_keys(tiny_out.to_str().unwrap())
            .await
            .unwrap();
        client.find(Locator::Css("#submit")).await.unwrap().click().await.unwrap();
        until(Duration::from_secs(120), "the submitted job to succeed", || async {
            text(client, "#live-state").await == "succeeded" || text(client, "#state").await == "succeeded"
        })
        .await;
        let here = client.current_url().await.unwrap();
        assert!(here.path().starts_with("/jobs/"), "{here}");
    });
    assert!(tiny_out.exists());

    // --- A refused submit shows `job submit`'s line.
    runtime.block_on(async {
        client.goto(&format!("{base}/submit")).await.unwrap();
        let gone = dir.join("nowhere.mlt");
        client
            .find(Locator::Css("input[name=project]"))
            .await
            .unwrap()
            .send_keys(gone.to_str().unwrap())
            .await
            .unwrap();
        client.find(Locator::Css("#submit")).await.unwrap().click().await.unwrap();
        let problem = text(client, "#problem").await;
        assert!(problem.contains("nowhere.mlt"), "{problem}");
    });

    // --- Jobs and overview pages, for the screenshots.
    runtime.block_on(async {
        client.goto(&format!("{base}/jobs")).await.unwrap();
        browser.screenshot("jobs").await;
        client.goto(&format!("{base}/")).await.unwrap();
        browser.screenshot("overview").await;
    });

    // --- Reserve the worker from the workers page; `worker list --json` agrees.
    runtime.block_on(async {
        client.goto(&format!("{base}/workers")).await.unwrap();
        let person = client.find(Locator::Css("#worker-w1 input[name=person]")).await.unwrap();
        person.clear().await.unwrap();
        person.send_keys("dana").await.unwrap();
        client.find(Locator::Css("#worker-w1 button[value=reserve]")).await.unwrap().click().await.unwrap();
        until(Duration::from_secs(10), "the page to show the reservation", || async {
            text(client, "#worker-w1 td.reservation").await.starts_with("dana")
        })
        .await;
        browser.screenshot("workers").await;
    });
    let worker = web.cluster.worker("w1");
    assert_eq!((worker["state"].as_str(), worker["reserved_by"].as_str()), (Some("reserved"), Some("dana")));

    // --- Refused: a POST without the CSRF token, one from another origin, and anything without a session.
    runtime.block_on(async {
        client.goto(&format!("{base}/jobs")).await.unwrap();
        let status = eval(
            client,
            "fetch('/api/v1/jobs', {method: 'POST', headers: {'content-type': 'application/json'}, body: '{}'}).then(r => r.status)",
        )
        .await;
        assert_eq!(status, serde_json::json!(403), "no CSRF token");
        let form = format!(
            "data:text/html,<form id=f method=post action='{base}/jobs/bulk'><input name=action value=cancel><input name=id value={slow_id}></form><script>f.submit()</script>"
        );
        client.goto(&form).await.unwrap();
        until(Duration::from_secs(10), "the cross-site post to be answered", || async {
            client.current_url().await.is_ok_and(|u| u.as_str().starts_with(&base))
        })
        .await;
        let refusal = text(client, "#message").await;
        assert!(refusal.starts_with("a request from another site"), "{refusal}");

        client.delete_all_cookies().await.unwrap();
        client.goto(&format!("{base}/jobs")).await.unwrap();
        assert_eq!(client.current_url().await.unwrap().path(), "/signin");
        let status = eval(client, "fetch('/api/v1/jobs').then(r => r.status)").await;
        assert_eq!(status, serde_json::json!(401));
    });

    runtime.block_on(async { browser.client.clone().close().await.ok() });
    drop(browser);
}
