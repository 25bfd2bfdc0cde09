//! Who may make, see and delete which webhook, and the secret's form.

use super::*;
use crate::auth::{Route, UserRole};

fn user(name: &str, role: UserRole) -> User {
    User { name: name.into(), role, route: Route::Web }
}

#[test]
fn plain_users_make_webhooks_of_their_own_jobs_and_admins_farm_wide_ones() {
    let bob = user("bob", UserRole::User);
    let alice = user("alice", UserRole::Admin);
    assert!(may_create(&bob, &[Event::JobSucceeded, Event::JobFailed], false).is_ok());
    assert_eq!(
        may_create(&bob, &[Event::JobSucceeded], true).unwrap_err().to_string(),
        "bob is not an admin: only admins may set farm-wide webhooks"
    );
    assert_eq!(
        may_create(&bob, &[Event::WorkerLost], false).unwrap_err().to_string(),
        "worker.lost is told only to farm-wide webhooks (admins may set those)"
    );
    assert!(may_create(&alice, &[Event::WorkerLost, Event::CertificateExpiring], true).is_ok());
    assert!(may_create(&alice, &[Event::WorkerSuspect], false).is_err());
    assert_eq!(may_create(&alice, &[], true).unwrap_err().to_string(), "a webhook needs at least one event");
}

#[test]
fn only_the_owner_or_an_admin_sees_or_deletes_a_webhook() {
    let webhook = Webhook {
        id: 4,
        owner: "bob".into(),
        farm: false,
        url: "https://h/".into(),
        secret: "whsec_x".into(),
        events: vec![Event::JobFailed],
        created: 0,
    };
    assert!(may_touch(&user("bob", UserRole::User), &webhook, "delete").is_ok());
    assert!(may_touch(&user("alice", UserRole::Admin), &webhook, "delete").is_ok());
    assert_eq!(
        may_touch(&user("carol", UserRole::User), &webhook, "delete").unwrap_err().to_string(),
        "webhook 4 belongs to bob; only bob or an admin may delete it"
    );
    assert_eq!(hidden(webhook).secret, "");
}

#[test]
fn a_secret_is_a_standard_webhooks_secret_and_signs() {
    let secret = new_secret().unwrap();
    assert!(secret.starts_with("whsec_"), "{secret}");
    assert_ne!(secret, new_secret().unwrap());
    let signer = standardwebhooks::Webhook::new(&secret).unwrap();
    assert!(signer.sign("msg_1", 1_700_000_000, b"{}").unwrap().starts_with("v1,"));
}
