//! Certificates that expire soon show on the web workers page and in `/metrics`, on a real coordinator that a real
//! worker and client connected to.

mod common;

use common::web::WebCluster;
use common::*;

#[test]
fn a_certificate_expiring_within_thirty_days_shows_on_the_workers_page_and_in_metrics() {
    let mut web = WebCluster::start(0, &[], &[]);
    let certs = web.cluster.certs.to_str().unwrap().to_string();
    ok(&distencode(&["certs", "issue", "--dir", &certs, "--role", "worker", "--name", "w9", "--days", "10"]));
    ok(&distencode(&["certs", "issue", "--dir", &certs, "--role", "worker", "--name", "w8"]));
    web.cluster.start_worker("w9");
    web.cluster.start_worker("w8");
    web.cluster.wait_for_workers(2);
    ok(&web.cluster.cli(&["job", "list"]));

    let scrape = web.get("/metrics").send().unwrap().text().unwrap();
    let days = |role: &str, name: &str| {
        let prefix = format!("distencode_certificate_expiry_days{{role=\"{role}\",name=\"{name}\"}} ");
        scrape.lines().find_map(|l| l.strip_prefix(&prefix)).map(|v| v.parse::<i64>().unwrap())
    };
    // Issued an hour in the past (clock skew), so 10 days are a started tenth day.
    assert_eq!(days("worker", "w9"), Some(10), "{scrape}");
    assert_eq!(days("worker", "w8"), Some(825), "{scrape}");
    assert_eq!(days("client", "alice"), Some(825), "{scrape}");
    assert_eq!(days("coordinator", "coord"), Some(825), "{scrape}");

    let cookie = web.session_cookie();
    let page = web.get("/workers").header("cookie", &cookie).send().unwrap();
    assert_eq!(page.status(), 200);
    let page = page.text().unwrap();
    let section = page.split("id=\"expiring-certificates\"").nth(1).unwrap_or_else(|| panic!("{page}"));
    let section = section.split("</section>").next().unwrap();
    assert_eq!(section.matches("<li ").count(), 1, "w9 alone: {section}");
    assert!(section.contains("worker <strong>w9</strong>: expires in 10 days ("), "{section}");
    assert!(section.contains("distencode certs renew --dir CA_DIR --name w9"), "{section}");
}
