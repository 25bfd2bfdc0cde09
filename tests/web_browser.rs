//! The web interface in a real headless Chromium against a real coordinator and worker over HTTPS, as a user sees
//! it: signing in with the printed link, a hostile project name shown as text, a running job's progress bar and log
//! growing without a reload, cancelling that render from its page (melt gone, no file left), submitting from the
//! form, reserving a worker, and requests the browser makes without a CSRF token, from another site or without a
//! session refused. One cluster and one browser serve every step, in order. Screenshots of the jobs, job and workers
//! pages go to `target/screenshots/` in every run.
//!
//! A second test signs in through a real OpenID provider's own login form (tests/oidc/), as a user who sees only
//! their own jobs in full and cannot cancel another's, then as an admin who reads the audit page.

#[path = "common/browser.rs"]
mod browser;
mod common;

use browser::Browser;
use common::oidc_farm::Farm;
use common::web::WebCluster;
use common::{melt_processes, probe, projects};
use serde_json::json;
use std::path::Path;
use std::time::Duration;

/// Every file under `dir` (at any depth) whose name holds `part`: an output, its partial file or its log.
fn files_named(dir: &Path, part: &str) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    let mut folders = vec![dir.to_path_buf()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).into_iter().flatten().flatten() {
            let path = entry.path();
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                folders.push(path);
            } else if entry.file_name().to_string_lossy().contains(part) {
                found.push(path);
            }
        }
    }
    found
}

/// Signs out with the header's button (`POST /auth/logout`): the sign-in page, a page of the farm (at `base`) leads
/// back to it, and the API answers 401.
async fn sign_out(browser: &Browser, base: &str) {
    browser.click("header .signout button").await;
    browser
        .until(Duration::from_secs(30), "the sign-in page", || async { browser.text("h1").await == "Sign in" })
        .await;
    browser.client.goto(&format!("{base}/jobs")).await.unwrap();
    assert_eq!(browser.client.current_url().await.unwrap().path(), "/signin");
    let status = browser.eval("fetch('/api/v1/jobs').then(r => r.status)").await;
    assert_eq!(status, json!(401));
}

#[test]
fn the_web_interface_works_in_a_real_browser() {
    let _serial = common::serial();
    let web = WebCluster::start(1, &[], &[]);
    let dir = web.cluster.dir.path().to_path_buf();
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let browser = runtime.block_on(Browser::start(&web.cluster.certs.join("ca.pem")));
    let base = web.url.trim_end_matches('/').to_string();
    let at = |path: &str| format!("{base}{path}");

    // --- The sign-in link signs in and leaves an address without the token.
    runtime.block_on(async {
        browser.client.goto(&web.sign_in).await.unwrap();
        let here = browser.client.current_url().await.unwrap();
        assert_eq!(here.as_str(), web.url, "the token left the address bar");
        assert_eq!(browser.text("h1").await, "Overview");
        assert_eq!(browser.text("header .user").await, "admin");
    });

    // --- A hostile project name shows as text, on the jobs page and the job's page.
    let hostile_name = "<img src=x onerror=alert(1)>.mlt";
    let hostile = projects::tiny(&dir, hostile_name, 25);
    let hostile_id = web.cluster.submit(&hostile, &["--output", dir.join("hostile.mp4").to_str().unwrap()]);
    // melt takes an argument holding `=` for a property, so this one cannot render; its name is what counts here.
    let done = web.cluster.wait_final(hostile_id, Duration::from_secs(120));
    assert_eq!(done["project"], hostile.display().to_string());
    runtime.block_on(async {
        browser.client.goto(&at("/jobs")).await.unwrap();
        assert_eq!(browser.text(&format!("#job-{hostile_id} td.path")).await, hostile_name);
        assert_eq!(browser.count("img[src='x']").await, 0, "the name made no element");
        browser.client.goto(&at(&format!("/jobs/{hostile_id}"))).await.unwrap();
        assert_eq!(browser.text("#project").await, hostile.display().to_string());
        assert_eq!(browser.count("img[src='x']").await, 0, "the name made no element");
        assert_eq!(browser.text("#state").await, done["state"].as_str().unwrap());
    });

    // --- A running job's page: the progress bar moves and log lines arrive, with no reload.
    let slow = projects::slow(&dir, "slow.mlt", 1500);
    let slow_out = dir.join("slow.mp4");
    let slow_id = web.cluster.submit(&slow, &["--output", slow_out.to_str().unwrap(), "--melt-log", "debug"]);
    web.cluster.wait_running(slow_id);
    runtime.block_on(async {
        browser.client.goto(&at(&format!("/jobs/{slow_id}"))).await.unwrap();
        assert_eq!(browser.text("#state").await, "running");
        // A mark that a reload would wipe.
        browser.client.execute("window.notReloaded = true; return true;", vec![]).await.unwrap();
        let first = browser.number("#bar").await;
        let first_log = browser.text("#log").await.len();
        browser
            .until(Duration::from_secs(60), "the bar to move and log lines to arrive", || async {
                browser.number("#bar").await > first && browser.text("#log").await.len() > first_log
            })
            .await;
        let second = browser.number("#bar").await;
        assert!(second > first && second < 100.0, "the bar moved from {first} to {second}");
        let kept = browser.client.execute("return window.notReloaded === true;", vec![]).await.unwrap();
        assert_eq!(kept, json!(true), "the page was not reloaded");
        assert!(browser.text("#progress-detail").await.starts_with("frame "), "the detail names the frame");
        browser.screenshot("job").await;
    });

    // --- The jobs page follows it live; a job ticked for a bulk action stays ticked while its row is redrawn.
    // Two short renders wait behind it, so the table shows a queue too.
    let waiting: Vec<u64> = ["titles.mlt", "credits.mlt"]
        .iter()
        .map(|name| web.cluster.submit(&projects::tiny(&dir, name, 25), &[]))
        .collect();
    let row = format!("#job-{slow_id}");
    let tick = format!("{row} input[name=id]");
    runtime.block_on(async {
        browser.client.goto(&at("/jobs")).await.unwrap();
        assert_eq!(browser.text(&format!("{row} td.state")).await, "running");
        for (place, id) in waiting.iter().enumerate() {
            assert_eq!(browser.text(&format!("#job-{id} td.state")).await, "queued");
            assert_eq!(browser.text(&format!("#job-{id} td.queue")).await, (place + 1).to_string());
        }
        browser.screenshot("jobs").await;
        browser.click(&tick).await;
        assert!(browser.checked(&tick).await);
        browser.mark("#rows").await;
        browser
            .until(Duration::from_secs(30), "the table to be redrawn with the progress", || async {
                !browser.is_marked("#rows").await
            })
            .await;
        assert!(browser.checked(&tick).await, "the tick survived the redraw");
    });

    // --- Cancel it from its page: the page says so, melt is gone and no file is left.
    let slow_path = slow.display().to_string();
    assert!(!melt_processes(&slow_path).is_empty(), "melt renders {slow_path}");
    runtime.block_on(async {
        browser.client.goto(&at(&format!("/jobs/{slow_id}"))).await.unwrap();
        browser.click("#cancel").await;
        browser
            .until(Duration::from_secs(30), "the page to say cancelled", || async {
                browser.text("#state").await == "cancelled"
            })
            .await;
        assert_eq!(browser.count("#cancel").await, 0, "a cancelled job has no Cancel button");
        assert_eq!(browser.count("#retry").await, 1, "a cancelled job can be retried");
    });
    let job = web.cluster.job(slow_id);
    assert_eq!((job["state"].as_str(), job["error"].as_str()), (Some("cancelled"), Some("cancelled by admin")));
    web.cluster.wait_until(Duration::from_secs(30), "melt to be gone", || melt_processes(&slow_path).is_empty());
    web.cluster
        .wait_until(Duration::from_secs(30), "the partial file to go", || files_named(&dir, "slow.mp4").is_empty());
    assert!(!slow_out.exists(), "no output was left");

    // --- Submit from the form and see it succeed on the job's page, live.
    let form = projects::tiny(&dir, "form.mlt", 25);
    let form_out = dir.join("form.mp4");
    runtime.block_on(async {
        browser.client.goto(&at("/submit")).await.unwrap();
        browser.fill("input[name=project]", form.to_str().unwrap()).await;
        browser.fill("input[name=output]", form_out.to_str().unwrap()).await;
        browser.click("#submit").await;
        browser
            .until(Duration::from_secs(120), "the submitted job to succeed", || async {
                browser.text("#state").await == "succeeded" || browser.text("#live-state").await == "succeeded"
            })
            .await;
        let here = browser.client.current_url().await.unwrap();
        assert!(here.path().starts_with("/jobs/"), "the form led to the job's page: {here}");
        // Opened again, the finished job's page shows its poster frame: the browser loaded the picture (the
        // Content-Security-Policy allows the site's own images). The worker sends it after the result, so the page
        // is opened again until it has it.
        let loaded = "const i = document.querySelector('#thumbnail'); return i && i.complete ? i.naturalWidth : 0;";
        browser
            .until(Duration::from_secs(30), "the poster frame to load", || async {
                browser.client.goto(here.as_str()).await.unwrap();
                browser.client.execute(loaded, vec![]).await.ok().and_then(|w| w.as_u64()).unwrap_or(0) > 0
            })
            .await;
    });
    let facts = probe(&form_out);
    assert_eq!((facts.video_frames, facts.video_codec.as_str()), (25, "h264"));

    // --- A refused submit shows `job submit`'s one line, naming the missing file.
    let media = format!("{}/gone.mp4", dir.display());
    let missing = projects::write(
        &dir,
        "missing.mlt",
        &format!("<mlt>{}<producer id=\"a\" in=\"0\" out=\"24\"><property name=\"resource\">{media}</property></producer></mlt>", projects::PROFILE),
    );
    let cli_line = common::stderr(&web.cluster.cli(&["job", "submit", missing.to_str().unwrap()]));
    assert!(cli_line.contains(&media), "{cli_line}");
    runtime.block_on(async {
        browser.client.goto(&at("/submit")).await.unwrap();
        browser.fill("input[name=project]", missing.to_str().unwrap()).await;
        browser.click("#submit").await;
        browser
            .until(Duration::from_secs(30), "the refusal to show", || async {
                !browser.text("#problem").await.is_empty()
            })
            .await;
        assert_eq!(format!("distencode: {}\n", browser.text("#problem").await), cli_line);
    });

    // --- The jobs page: every job with its state.
    runtime.block_on(async {
        browser.client.goto(&at("/jobs")).await.unwrap();
        assert_eq!(browser.text(&format!("#job-{slow_id} td.state")).await, "cancelled");
        assert_eq!(browser.count("table.jobs tbody tr").await, 5);
    });

    // --- Reserve the worker from the workers page; `worker list --json` agrees.
    runtime.block_on(async {
        browser.client.goto(&at("/workers")).await.unwrap();
        assert_eq!(browser.text("#worker-w1 td.state").await, "idle");
        browser.fill("#worker-w1 input[name=person]", "dana").await;
        // What was typed stays while the table is redrawn (here by a drain and a release from the CLI).
        browser.mark("#worker-rows").await;
        common::ok(&web.cluster.cli(&["worker", "drain", "w1"]));
        common::ok(&web.cluster.cli(&["worker", "release", "w1"]));
        browser
            .until(Duration::from_secs(30), "the workers table to be redrawn", || async {
                !browser.is_marked("#worker-rows").await && browser.text("#worker-w1 td.state").await == "idle"
            })
            .await;
        assert_eq!(browser.field("#worker-w1 input[name=person]").await, "dana", "the typed name survived");
        browser.click("#worker-w1 button[value=reserve]").await;
        browser
            .until(Duration::from_secs(30), "the page to show the reservation", || async {
                browser.text("#worker-w1 td.reservation").await.starts_with("dana")
            })
            .await;
        assert_eq!(browser.text("#worker-w1 td.state").await, "reserved");
        browser.screenshot("workers").await;
    });
    let worker = web.cluster.worker("w1");
    assert_eq!((worker["state"].as_str(), worker["reserved_by"].as_str()), (Some("reserved"), Some("dana")));

    // --- What the browser itself sends is refused: a POST without the CSRF token, a form posted from another site,
    // and anything once signed out.
    runtime.block_on(async {
        browser.client.goto(&at("/jobs")).await.unwrap();
        let refused = browser
            .eval(
                "fetch('/api/v1/jobs', {method: 'POST', headers: {'content-type': 'application/json'}, body: '{}'})\
                 .then(r => r.json().then(b => [r.status, b.error]))",
            )
            .await;
        assert_eq!(refused, json!([403, "no CSRF token: reload the page and try again"]));
        let foreign = format!(
            "data:text/html,<form id=f method=post action='{}'><input name=action value=release></form>\
             <script>f.submit()</script>",
            at("/workers/w1/action")
        );
        browser.client.goto(&foreign).await.unwrap();
        browser
            .until(Duration::from_secs(30), "the cross-site post to be answered", || async {
                browser.client.current_url().await.is_ok_and(|u| u.as_str().starts_with(&base))
            })
            .await;
        assert_eq!(browser.text("#message").await, "a request from another site (cross-site) is refused");

        // Sign out with the header's button: the session is gone, pages lead to the sign-in page.
        browser.client.goto(&at("/jobs")).await.unwrap();
        sign_out(&browser, &base).await;
    });
    assert_eq!(web.cluster.worker("w1")["reserved_by"], "dana", "the foreign post released nothing");

    runtime.block_on(browser.close());
}

/// Signs in at the identity provider's own pages in `browser` as `login` (any password), consenting when asked,
/// until the browser is back on the farm at `base`, on its overview.
async fn provider_sign_in(browser: &Browser, login: &str, base: &str) {
    const STEPS: usize = 6;
    let on_farm = || async { browser.client.current_url().await.is_ok_and(|u| u.as_str().starts_with(base)) };
    for _ in 0..STEPS {
        browser
            .until(Duration::from_secs(30), "the provider's form or the farm", || async {
                on_farm().await || browser.count("form button[type=submit]").await > 0
            })
            .await;
        if on_farm().await {
            // Through the callback to the overview.
            browser
                .until(Duration::from_secs(30), "the overview", || async { browser.text("h1").await == "Overview" })
                .await;
            return;
        }
        if browser.count("input[name=login]").await > 0 {
            browser.fill("input[name=login]", login).await;
            browser.fill("input[name=password]", "any password").await;
        }
        // The login form's button, or the consent form's Continue.
        browser.mark("form button[type=submit]").await;
        browser.click("form button[type=submit]").await;
        browser
            .until(Duration::from_secs(30), "the provider's next page", || async {
                !browser.is_marked("form button[type=submit]").await
            })
            .await;
    }
    panic!("still not back on the farm after {STEPS} pages of the provider");
}

#[test]
fn a_user_signs_in_through_the_providers_own_form_and_sees_only_their_own_jobs_in_full() {
    // One browser test at a time: the other one times a render.
    let _serial = common::serial();
    let farm = Farm::start();
    let web = &farm.web;
    // Two CLI jobs, each by a certificate mapped to a user: bob's own and dana's (no worker: both stay queued).
    let bobs = farm.submit_as("bob-laptop", "bobs-titles");
    let danas = farm.submit_as("dana-desk", "danas-secret-film");
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let browser = runtime.block_on(Browser::start(&web.cluster.certs.join("ca.pem")));
    let base = web.url.trim_end_matches('/').to_string();
    let at = |path: &str| format!("{base}{path}");
    let reason = format!("job {danas} belongs to dana@example.edu; only dana@example.edu or an admin may cancel it");

    runtime.block_on(async {
        // --- The sign-in page's button leads to the provider's own login form, and back to the farm signed in.
        browser.client.goto(&at("/jobs")).await.unwrap();
        assert_eq!(browser.client.current_url().await.unwrap().path(), "/signin");
        browser.click("#provider-local").await;
        provider_sign_in(&browser, "bob", &base).await;
        // The header: the user, the role, a sign-out button; no audit trail for a user.
        assert_eq!(browser.text("header .user").await, "bob@example.edu");
        assert_eq!(browser.text("header .role").await, "user");
        assert_eq!(browser.count("header .signout button").await, 1);
        assert_eq!(browser.count("#nav-audit").await, 0);

        // --- The jobs table: bob's own job in full; dana's with its state and owner only.
        browser.client.goto(&at("/jobs")).await.unwrap();
        let own = format!("#job-{bobs}");
        let other = format!("#job-{danas}");
        assert_eq!(browser.text(&format!("{own} td.project")).await, "bobs-titles.mlt");
        assert_eq!(browser.text(&format!("{own} td.output")).await, "bobs-titles.mp4");
        assert_eq!(browser.text(&format!("{own} td.owner")).await, "bob@example.edu");
        assert_eq!(browser.text(&format!("{other} td.state")).await, "queued");
        assert_eq!(browser.text(&format!("{other} td.owner")).await, "dana@example.edu");
        assert_eq!(browser.text(&format!("{other} td.project")).await, "(hidden)");
        assert_eq!(browser.text(&format!("{other} td.output")).await, "(hidden)");
        let leaked = browser.eval("document.documentElement.outerHTML.includes('danas-secret-film')").await;
        assert_eq!(leaked, json!(false), "dana's paths are nowhere in the page");
        browser.screenshot("jobs-user").await;

        // --- Cancelling dana's job from the table is refused with a 403 page; her job page is refused too.
        browser.click(&format!("#select-{danas}")).await;
        browser.click("#bulk button[value=cancel]").await;
        browser
            .until(Duration::from_secs(30), "the refusal page", || async { browser.text("h1").await == "Forbidden" })
            .await;
        assert_eq!(browser.text("#message").await, format!("job {danas}: {reason}"));
        assert_eq!(browser.text("header .user").await, "bob@example.edu", "the refusal keeps the header");
        assert_eq!(browser.text("header .role").await, "user");
        browser.client.goto(&at(&format!("/jobs/{danas}"))).await.unwrap();
        assert_eq!(browser.text("h1").await, "Forbidden");
        assert!(browser.text("#message").await.starts_with(&format!("job {danas} belongs to dana@example.edu")));

        // --- Bob's own job he cancels from its page.
        browser.client.goto(&at(&format!("/jobs/{bobs}"))).await.unwrap();
        assert!(browser.text("#project").await.ends_with("bobs-titles.mlt"));
        browser.click("#cancel").await;
        browser
            .until(Duration::from_secs(30), "bob's job to be cancelled", || async {
                browser.text("#state").await == "cancelled"
            })
            .await;
    });
    assert_eq!(web.cluster.job(danas)["state"], "queued", "the refused cancel changed nothing");
    assert_eq!(web.cluster.job(bobs)["error"], "cancelled by bob@example.edu");

    runtime.block_on(async {
        // --- Sign-out (POST /auth/logout from the header): signed out afterwards.
        sign_out(&browser, &base).await;

        // --- An admin (the provider's farm-admins group), after the provider forgets bob: the audit page, linked
        // from the nav, shows what bob did and dana's CLI submit.
        browser.client.goto(&format!("{}/.well-known/openid-configuration", farm.idp.issuer)).await.unwrap();
        browser.client.delete_all_cookies().await.unwrap();
        browser.client.goto(&at("/signin")).await.unwrap();
        browser.click("#provider-local").await;
        provider_sign_in(&browser, "alice", &base).await;
        assert_eq!(browser.text("header .user").await, "alice@example.edu");
        assert_eq!(browser.text("header .role").await, "admin");
        browser.click("#nav-audit").await;
        browser
            .until(Duration::from_secs(30), "the audit page", || async { browser.text("h1").await == "Audit trail" })
            .await;
        let script = "Array.from(document.querySelectorAll('#audit tbody tr'))\
            .map(r => Array.from(r.cells).slice(1).map(c => c.innerText.trim()))";
        let rows: Vec<Vec<String>> = serde_json::from_value(browser.eval(script).await).unwrap();
        let row = |cells: &[&str]| cells.iter().map(|c| c.to_string()).collect::<Vec<_>>();
        let expected = [
            row(&["alice@example.edu", "web", "sign-in", "provider local", "done"]),
            row(&["bob@example.edu", "web", "cancel", format!("job {bobs}").as_str(), "done"]),
            row(&[
                "bob@example.edu",
                "web",
                "cancel",
                format!("job {danas}").as_str(),
                format!("refused: {reason}").as_str(),
            ]),
            row(&["bob@example.edu", "web", "sign-in", "provider local", "done"]),
        ];
        assert_eq!(rows[..4], expected, "newest first");
        assert_eq!(rows[4][..3], ["dana@example.edu", "cli", "submit"]);
        browser.screenshot("audit").await;
    });

    runtime.block_on(browser.close());
}
