//! Webhooks against a real coordinator and worker: a receiver on 127.0.0.1 (a plain HTTP/1.1 server on a thread)
//! checks each delivery's Standard Webhooks signature with the secret the API showed once, its headers and its
//! body; a receiver that answers 500 gets the same `webhook-id` again, also after the coordinator was killed with
//! `kill -9`; a redirect is not followed; a loopback URL is refused unless the admin allows private addresses; the
//! farm's own events (a certificate expiring, a worker suspect, a worker lost) reach farm-wide webhooks.

mod common;

use common::oidc_farm::{json_of, Farm};
use common::web::WebCluster;
use common::{ok, projects, FAST_FAILURE_DETECTION};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One request the receiver read.
#[derive(Clone, Debug)]
struct Received {
    /// Header names in lower case.
    headers: BTreeMap<String, String>,
    body: Vec<u8>,
    /// The status it was answered with.
    answered: u16,
}

impl Received {
    fn header(&self, name: &str) -> &str {
        self.headers.get(name).map_or("", String::as_str)
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }

    /// Checks the signature as a receiver would, with the `standardwebhooks` crate and the secret.
    fn verify(&self, secret: &str) -> Result<(), String> {
        let mut map = http::HeaderMap::new();
        for (name, value) in &self.headers {
            map.insert(http::HeaderName::from_bytes(name.as_bytes()).unwrap(), value.parse().unwrap());
        }
        let signer = standardwebhooks::Webhook::new(secret).map_err(|e| e.to_string())?;
        signer.verify(&self.body, &map).map_err(|e| e.to_string())
    }
}

/// A webhook receiver on 127.0.0.1: answers each request with `status` (and `location`, for a redirect).
struct Receiver {
    url: String,
    status: Arc<AtomicU16>,
    received: Arc<Mutex<Vec<Received>>>,
}

impl Receiver {
    fn start(status: u16, location: Option<String>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let status = Arc::new(AtomicU16::new(status));
        let received = Arc::new(Mutex::new(Vec::new()));
        let (answer, log) = (status.clone(), received.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming().take(1000) {
                let Ok(mut stream) = stream else { continue };
                let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
                let Some((headers, body)) = read_request(&mut stream) else { continue };
                let code = answer.load(Ordering::SeqCst);
                log.lock().unwrap().push(Received { headers, body, answered: code });
                let extra = location.as_ref().map_or(String::new(), |l| format!("Location: {l}\r\n"));
                let reply = format!("HTTP/1.1 {code} X\r\n{extra}Content-Length: 0\r\nConnection: close\r\n\r\n");
                let _ = stream.write_all(reply.as_bytes());
            }
        });
        Receiver { url, status, received }
    }

    fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }
}

/// One HTTP/1.1 request's headers and body (at most 1 MiB), or `None` if it was not one.
fn read_request(stream: &mut std::net::TcpStream) -> Option<(BTreeMap<String, String>, Vec<u8>)> {
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    if !line.starts_with("POST ") {
        return None;
    }
    let mut headers = BTreeMap::new();
    for _ in 0..100 {
        line.clear();
        reader.read_line(&mut line).ok()?;
        let Some((name, value)) = line.trim_end().split_once(':') else { break };
        headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_string());
    }
    let length: usize = headers.get("content-length")?.parse().ok()?;
    let mut body = vec![0; length.min(1 << 20)];
    reader.read_exact(&mut body).ok()?;
    Some((headers, body))
}

fn answer(response: reqwest::blocking::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let text = response.text().unwrap();
    (status, serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}")))
}

/// Makes a webhook through the API with the sign-in token (an admin): its id and its secret.
fn make(web: &WebCluster, url: &str, events: &[&str], farm: bool) -> (u64, String) {
    let request = json!({ "url": url, "events": events, "farm": farm });
    let (status, made) = answer(web.bearer(web.post("/api/v1/webhooks")).json(&request).send().unwrap());
    assert_eq!(status, 201, "{made}");
    (made["id"].as_u64().unwrap(), made["secret"].as_str().unwrap().to_string())
}

fn webhook(web: &WebCluster, id: u64) -> Value {
    answer(web.bearer(web.get(&format!("/api/v1/webhooks/{id}"))).send().unwrap()).1
}

#[test]
fn succeeded_and_failed_jobs_are_delivered_signed_and_a_redirect_is_not_followed() {
    let web = WebCluster::start(1, &[], &["--webhooks-allow-private", "--max-attempts", "1"]);
    let dir = web.cluster.dir.path().to_path_buf();
    let receiver = Receiver::start(200, None);
    let elsewhere = Receiver::start(200, None);
    let redirecting = Receiver::start(307, Some(elsewhere.url.clone()));
    let (id, secret) = make(&web, &receiver.url, &["job.succeeded", "job.failed"], true);
    let (redirect_id, _) = make(&web, &redirecting.url, &["job.succeeded"], true);
    // The secret is shown once: never in the list or on the webhook's own answer.
    let (_, list) = answer(web.bearer(web.get("/api/v1/webhooks")).send().unwrap());
    assert_eq!(list.as_array().unwrap().len(), 2);
    assert!(list[0].get("secret").is_none() && webhook(&web, id).get("secret").is_none());

    let good = web.cluster.submit(&projects::tiny(&dir, "good.mlt", 10), &[]);
    assert_eq!(web.cluster.wait_final(good, Duration::from_secs(60))["state"], "succeeded");
    let bad = web.cluster.submit(&projects::corrupt_media(&dir, "bad.mlt"), &[]);
    assert_eq!(web.cluster.wait_final(bad, Duration::from_secs(60))["state"], "failed");

    web.cluster.wait_until(Duration::from_secs(30), "two deliveries", || receiver.received().len() >= 2);
    let got = receiver.received();
    assert_eq!(got.len(), 2, "one delivery per event: {got:?}");
    for (delivery, job, event) in [(&got[0], good, "job.succeeded"), (&got[1], bad, "job.failed")] {
        delivery.verify(&secret).unwrap_or_else(|e| panic!("{event}: the signature does not verify: {e}"));
        assert!(delivery.verify("whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA").is_err(), "another secret must not verify");
        assert_eq!(delivery.header("distencode-event"), event);
        assert_eq!(delivery.header("content-type"), "application/json");
        assert!(delivery.header("webhook-id").starts_with("msg_"), "{:?}", delivery.headers);
        assert!(delivery.header("webhook-signature").starts_with("v1,"));
        // The body is the job as the API shows it.
        let (_, shown) = answer(web.bearer(web.get(&format!("/api/v1/jobs/{job}"))).send().unwrap());
        assert_eq!(delivery.json(), shown);
    }
    assert_ne!(got[0].header("webhook-id"), got[1].header("webhook-id"));

    // The redirect was answered, recorded with its status, and not followed.
    let mut redirect = Value::Null;
    web.cluster.wait_until(Duration::from_secs(30), "the redirect's attempt", || {
        redirect = webhook(&web, redirect_id);
        redirect["deliveries"].as_array().is_some_and(|d| !d.is_empty())
    });
    assert_eq!(redirect["deliveries"][0]["status"], 307);
    assert_eq!(
        redirect["deliveries"][0]["error"].as_str().unwrap(),
        format!("a redirect (to {}) is not followed", elsewhere.url)
    );
    assert_eq!(redirecting.received().len(), 1);
    assert!(elsewhere.received().is_empty(), "the redirect was followed");

    // The webhook's page lists its deliveries with their status codes.
    let session = web.session_cookie();
    let page = web.get(&format!("/webhooks/{id}")).header("cookie", &session).send().unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().unwrap();
    assert_eq!(html.matches("<td class=\"status\">200</td>").count(), 2, "{html}");
    assert!(html.contains(got[0].header("webhook-id")));

    // Making and deleting are in the audit trail.
    let (status, _) = answer(web.bearer(web.post(&format!("/api/v1/webhooks/{redirect_id}/delete"))).send().unwrap());
    assert_eq!(status, 200);
    assert_eq!(webhook(&web, redirect_id)["error"], format!("no webhook {redirect_id}"));
    let trail = web.cluster.json(&["audit", "--json"]);
    let actions: Vec<(&str, &str)> = trail
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"].as_str().is_some_and(|a| a.starts_with("webhook")))
        .map(|e| (e["action"].as_str().unwrap(), e["target"].as_str().unwrap()))
        .collect();
    let target = |id: u64, url: &str| format!("webhook {id} ({url})");
    assert_eq!(
        actions,
        [
            ("webhook-delete", target(redirect_id, &redirecting.url).as_str()),
            ("webhook-add", target(redirect_id, &redirecting.url).as_str()),
            ("webhook-add", target(id, &receiver.url).as_str()),
        ]
    );
}

#[test]
fn a_failing_receiver_gets_the_same_webhook_id_again_also_after_the_coordinator_is_killed() {
    let mut web = WebCluster::start(1, &[], &["--webhooks-allow-private"]);
    let dir = web.cluster.dir.path().to_path_buf();
    let receiver = Receiver::start(500, None);
    let (id, secret) = make(&web, &receiver.url, &["job.succeeded"], true);
    let job = web.cluster.submit(&projects::tiny(&dir, "retried.mlt", 10), &[]);
    assert_eq!(web.cluster.wait_final(job, Duration::from_secs(60))["state"], "succeeded");

    // Answered 500: sent again, under the same webhook-id, each attempt signed.
    web.cluster.wait_until(Duration::from_secs(30), "a second attempt", || receiver.received().len() >= 2);
    let first = receiver.received();
    let message = first[0].header("webhook-id").to_string();
    assert!(first.iter().all(|r| r.header("webhook-id") == message), "{first:?}");
    assert!(first.iter().all(|r| r.verify(&secret).is_ok()));
    let shown = webhook(&web, id);
    assert_eq!(shown["waiting"], 1);
    assert_eq!(shown["deliveries"][0]["status"], 500);

    // kill -9 with the delivery still waiting; the receiver recovers; the coordinator comes back and delivers it.
    web.cluster.kill_coordinator();
    receiver.status.store(200, Ordering::SeqCst);
    web.cluster.restart_coordinator();
    web.read_address();
    web.cluster.wait_until(Duration::from_secs(60), "the delivery after the restart", || {
        receiver.received().iter().any(|r| r.answered == 200)
    });
    let all = receiver.received();
    let acknowledged: Vec<&Received> = all.iter().filter(|r| r.answered == 200).collect();
    // (One sent just before the kill may have been answered 200 too, unrecorded: the receiver drops it by its id.)
    assert!(acknowledged.iter().all(|r| r.header("webhook-id") == message), "{all:?}");
    acknowledged[0].verify(&secret).unwrap();
    assert_eq!(acknowledged[0].json()["id"], job);
    // Acknowledged: it waits no more, and its page says 200.
    let mut shown = Value::Null;
    web.cluster.wait_until(Duration::from_secs(10), "the acknowledgement to be recorded", || {
        shown = webhook(&web, id);
        shown["waiting"] == 0
    });
    assert_eq!(shown["deliveries"][0]["status"], 200);
    assert_eq!(shown["deliveries"][0]["webhook_id"], message.as_str());
}

#[test]
fn a_loopback_url_is_refused_unless_private_addresses_are_allowed() {
    let web = WebCluster::start(0, &[], &[]);
    let receiver = Receiver::start(200, None);
    let request = json!({ "url": receiver.url, "events": ["job.succeeded"] });
    let (status, refused) = answer(web.bearer(web.post("/api/v1/webhooks")).json(&request).send().unwrap());
    assert_eq!(status, 400);
    assert_eq!(
        refused["error"].as_str().unwrap(),
        format!(
            "the webhook URL {} is a loopback address; webhooks may reach one only when the coordinator's settings \
             say webhooks_allow_private = true",
            receiver.url
        )
    );
    let request = json!({ "url": "http://localhost:9/hook", "events": ["job.failed"] });
    let (status, refused) = answer(web.bearer(web.post("/api/v1/webhooks")).json(&request).send().unwrap());
    assert_eq!(status, 400);
    assert!(refused["error"].as_str().unwrap().starts_with("the webhook URL http://localhost:9/hook resolves to "));
    // Other bad requests, each with its line.
    let request = json!({ "url": "https://hooks.example.net/", "events": ["job.started"] });
    let (status, refused) = answer(web.bearer(web.post("/api/v1/webhooks")).json(&request).send().unwrap());
    assert_eq!(status, 400);
    assert!(refused["error"].as_str().unwrap().starts_with("no webhook event \"job.started\"; the events are"));
    let request = json!({ "url": "https://hooks.example.net/", "events": ["worker.lost"] });
    let (status, refused) = answer(web.bearer(web.post("/api/v1/webhooks")).json(&request).send().unwrap());
    assert_eq!(
        (status, refused["error"].as_str().unwrap()),
        (400, "worker.lost is told only to farm-wide webhooks (admins may set those)")
    );
    let (_, list) = answer(web.bearer(web.get("/api/v1/webhooks")).send().unwrap());
    assert_eq!(list, json!([]));
    // The refusals are in the audit trail.
    let trail = web.cluster.json(&["audit", "--json"]);
    let refusals = trail.as_array().unwrap().iter().filter(|e| e["action"] == "webhook-add").count();
    assert_eq!(refusals, 3, "{trail}");

    // The same on the pages: the form refuses the loopback URL with the same line, keeps what was typed, and a
    // webhook made shows its secret once.
    let session = web.session_cookie();
    let html = web.get("/webhooks").header("cookie", &session).send().unwrap().text().unwrap();
    let csrf = html.split("name=\"csrf\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_string();
    let form = [("csrf", csrf.as_str()), ("url", receiver.url.as_str()), ("event", "job.failed")];
    let refused = web.post("/webhooks").header("cookie", &session).form(&form).send().unwrap();
    assert_eq!(refused.status(), 400);
    let html = refused.text().unwrap();
    assert!(html.contains("is a loopback address; webhooks may reach one only when"), "{html}");
    assert!(html.contains(&format!("value=\"{}\"", receiver.url)));
    let form = [("csrf", csrf.as_str()), ("url", "https://8.8.8.8/hook"), ("event", "job.failed")];
    let made = web.post("/webhooks").header("cookie", &session).form(&form).send().unwrap();
    assert_eq!(made.status(), 201);
    let html = made.text().unwrap();
    let secret = html.split("<code id=\"secret\">").nth(1).unwrap().split('<').next().unwrap().to_string();
    assert!(secret.starts_with("whsec_") && secret.len() > 30, "{secret}");
    let html = web.get("/webhooks").header("cookie", &session).send().unwrap().text().unwrap();
    assert!(html.contains("https://8.8.8.8/hook") && !html.contains(&secret), "the secret is shown once");
    let (_, list) = answer(web.bearer(web.get("/api/v1/webhooks")).send().unwrap());
    let id = list[0]["id"].as_u64().unwrap();
    let deleted =
        web.post(&format!("/webhooks/{id}/delete")).header("cookie", &session).form(&[("csrf", csrf.as_str())]);
    assert_eq!(deleted.send().unwrap().status(), 303);
    let (_, list) = answer(web.bearer(web.get("/api/v1/webhooks")).send().unwrap());
    assert_eq!(list, json!([]));
}

#[test]
fn an_expiring_certificate_a_suspect_worker_and_a_lost_worker_reach_a_farm_wide_webhook() {
    let mut web = WebCluster::start(1, FAST_FAILURE_DETECTION, &["--webhooks-allow-private", "--max-attempts", "1"]);
    let dir = web.cluster.dir.path().to_path_buf();
    // A second worker whose certificate expires in 10 days; drained, so that every job goes to w1.
    let certs = web.cluster.certs.to_str().unwrap().to_string();
    let issue = ["certs", "issue", "--dir", &certs, "--role", "worker", "--name", "w9", "--days", "10"];
    ok(&common::distencode(&issue));
    web.cluster.start_worker("w9");
    web.cluster.wait_for_workers(2);
    ok(&web.cluster.cli(&["worker", "drain", "w9"]));
    let receiver = Receiver::start(200, None);
    let events = ["worker.lost", "worker.suspect", "certificate.expiring"];
    let (_, secret) = make(&web, &receiver.url, &events, true);
    let of = |event: &str| -> Vec<Received> {
        receiver.received().into_iter().filter(|r| r.header("distencode-event") == event).collect()
    };

    // Made while w9's certificate expires soon: told of it at once, and of no other certificate.
    web.cluster.wait_until(Duration::from_secs(30), "certificate.expiring", || !of("certificate.expiring").is_empty());
    let expiring = of("certificate.expiring");
    assert_eq!(expiring.len(), 1, "{expiring:?}");
    let certificate = expiring[0].json();
    assert_eq!((certificate["name"].as_str(), certificate["role"].as_str()), (Some("w9"), Some("worker")));
    assert!(certificate["days_left"].as_i64().is_some_and(|d| (9..=10).contains(&d)), "{certificate}");
    expiring[0].verify(&secret).unwrap();

    // Three failed renders in a row: w1 is suspect, once.
    for i in 0..3 {
        let id = web.cluster.submit(&projects::corrupt_media(&dir, &format!("bad{i}.mlt")), &[]);
        assert_eq!(web.cluster.wait_final(id, Duration::from_secs(60))["state"], "failed");
    }
    web.cluster.wait_until(Duration::from_secs(30), "worker.suspect", || !of("worker.suspect").is_empty());
    let suspect = of("worker.suspect");
    assert_eq!(suspect.len(), 1, "{suspect:?}");
    let worker = suspect[0].json();
    assert_eq!((worker["name"].as_str(), worker["suspect"].as_bool()), (Some("w1"), Some(true)), "{worker}");
    assert!(of("worker.lost").is_empty());

    // w1 killed mid-render, and not back within the grace time: lost.
    let id = web.cluster.submit(&projects::slow(&dir, "slow.mlt", 2000), &[]);
    web.cluster.wait_running(id);
    web.cluster.kill_worker("w1");
    web.cluster.wait_until(Duration::from_secs(60), "worker.lost", || !of("worker.lost").is_empty());
    let lost = of("worker.lost");
    assert_eq!(lost.len(), 1, "{lost:?}");
    let worker = lost[0].json();
    assert_eq!((worker["name"].as_str(), worker["state"].as_str()), (Some("w1"), Some("lost")), "{worker}");
    lost[0].verify(&secret).unwrap();
}

#[test]
fn a_user_hears_of_their_own_jobs_only_and_cannot_touch_anothers_webhook() {
    let farm = Farm::start_with("webhooks_allow_private = true\n");
    let web = &farm.web;
    let bob = farm.signed_in("bob");
    let alice = farm.signed_in("alice");
    let (bobs_receiver, farm_receiver) = (Receiver::start(200, None), Receiver::start(200, None));
    let post = |visitor: &common::oidc_farm::Visitor, path: &str, body: Value| {
        let csrf = visitor.csrf(&web.at("/webhooks"));
        visitor.client.post(web.at(path)).header("x-csrf-token", csrf).json(&body).send().unwrap()
    };
    let made = post(&bob, "/api/v1/webhooks", json!({ "url": bobs_receiver.url, "events": ["job.cancelled"] }));
    let (status, bobs) = answer(made);
    assert_eq!(status, 201, "{bobs}");
    let request = json!({ "url": bobs_receiver.url, "events": ["job.cancelled"], "farm": true });
    let (status, refused) = answer(post(&bob, "/api/v1/webhooks", request));
    assert_eq!(
        (status, refused["error"].as_str().unwrap()),
        (403, "bob@example.edu is not an admin: only admins may set farm-wide webhooks")
    );
    let request = json!({ "url": farm_receiver.url, "events": ["job.cancelled"], "farm": true });
    let (status, farms) = answer(post(&alice, "/api/v1/webhooks", request));
    assert_eq!(status, 201, "{farms}");

    // Bob's own job and dana's, both cancelled (by an admin): bob's webhook hears of his alone.
    let bobs_job = farm.submit_as("bob-laptop", "bobs-film");
    let danas_job = farm.submit_as("dana-desk", "danas-film");
    for job in [bobs_job, danas_job] {
        common::ok(&web.cluster.cli(&["job", "cancel", &job.to_string()]));
    }
    let ids = |receiver: &Receiver| -> Vec<u64> {
        receiver.received().iter().map(|r| r.json()["id"].as_u64().unwrap()).collect()
    };
    web.cluster
        .wait_until(Duration::from_secs(30), "both jobs at the farm-wide webhook", || ids(&farm_receiver).len() == 2);
    assert_eq!(ids(&farm_receiver), [bobs_job, danas_job]);
    let bobs_id = bobs["id"].as_u64().unwrap();
    let mut shown = Value::Null;
    web.cluster.wait_until(Duration::from_secs(30), "bob's delivery acknowledged", || {
        shown = json_of(bob.client.get(web.at(&format!("/api/v1/webhooks/{bobs_id}"))).send().unwrap());
        shown["waiting"] == 0 && shown["deliveries"].as_array().is_some_and(|d| !d.is_empty())
    });
    assert_eq!(shown["deliveries"].as_array().unwrap().len(), 1, "dana's job is not bob's: {shown}");
    assert_eq!(ids(&bobs_receiver), [bobs_job]);
    bobs_receiver.received()[0].verify(bobs["secret"].as_str().unwrap()).unwrap();

    // Bob sees his webhook alone, and may neither see nor delete alice's; alice, an admin, sees both.
    let listed = json_of(bob.client.get(web.at("/api/v1/webhooks")).send().unwrap());
    assert_eq!(listed.as_array().unwrap().iter().map(|w| w["id"].as_u64().unwrap()).collect::<Vec<_>>(), [bobs_id]);
    let farms_id = farms["id"].as_u64().unwrap();
    let line = |what: &str| {
        format!("webhook {farms_id} belongs to alice@example.edu; only alice@example.edu or an admin may {what} it")
    };
    let (status, refused) = answer(bob.client.get(web.at(&format!("/api/v1/webhooks/{farms_id}"))).send().unwrap());
    assert_eq!((status, refused["error"].as_str().unwrap()), (403, line("see").as_str()));
    let (status, refused) = answer(post(&bob, &format!("/api/v1/webhooks/{farms_id}/delete"), json!({})));
    assert_eq!((status, refused["error"].as_str().unwrap()), (403, line("delete").as_str()));
    let page = bob.client.get(web.at(&format!("/webhooks/{farms_id}"))).send().unwrap();
    assert_eq!(page.status(), 403);
    assert_eq!(json_of(alice.client.get(web.at("/api/v1/webhooks")).send().unwrap()).as_array().unwrap().len(), 2);
}
