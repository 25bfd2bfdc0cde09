//! The audit trail, in process: every change a client asks for (and every refused attempt) is recorded with the
//! user, the route and the target, durably (it survives a restart); only admins read it; entries past `audit_keep`
//! are deleted by the coordinator itself.

mod harness;

use distencode_actors::store::JobStore;
use distencode_wire::audit::{AuditAction, AuditEntry, AuditOutcome, Route};
use distencode_wire::job::JobId;
use distencode_wire::message::ClientRequest;
use harness::{job, Farm, CLIENT, USER};
use std::time::Duration;

/// An entry as the test compares it: (user, action, target, outcome), the time left out.
fn seen(entries: &[AuditEntry]) -> Vec<(String, AuditAction, String, AuditOutcome)> {
    entries.iter().map(|e| (e.user.clone(), e.action, e.target.clone(), e.outcome.clone())).collect()
}

fn row(
    user: &str,
    action: AuditAction,
    target: &str,
    outcome: AuditOutcome,
) -> (String, AuditAction, String, AuditOutcome) {
    (user.to_string(), action, target.to_string(), outcome)
}

fn refused(reason: &str) -> AuditOutcome {
    AuditOutcome::Refused(reason.to_string())
}

#[tokio::test]
async fn every_change_and_every_refusal_is_recorded_durably_and_only_admins_read_it() {
    let mut farm = Farm::start(3).await;
    let mut admin = farm.client().await;
    let mut bob = farm.client_as(USER).await;
    let _w1 = farm.worker("w1").await;

    let first = admin.submit(job(1, 0)).await.unwrap();
    let project = first.project.clone();
    let refusal = bob.cancel(first.id).await.unwrap_err().to_string();
    assert_eq!(refusal, "job 1 belongs to alice; only alice or an admin may cancel it");
    admin.cancel(first.id).await.unwrap();
    // Refused by the state machine, in the store: recorded with the store's reason.
    let again = admin.cancel(first.id).await.unwrap_err().to_string();
    assert_eq!(again, "job 1 is cancelled: cannot cancel it");
    let priority = ClientRequest::Priority { id: JobId(1), priority: 50 };
    let reply = bob.ask(&priority).await.unwrap();
    let not_owner = "job 1 belongs to alice; only alice or an admin may change its priority";
    assert_eq!(reply, distencode_wire::message::ClientReply::Error(not_owner.into()));
    let bob_drain = bob.workers(ClientRequest::Drain { worker: "w1".into() }).await.unwrap_err().to_string();
    assert_eq!(bob_drain, "only an admin may drain worker w1");
    let reserve = ClientRequest::Reserve { worker: "w1".into(), person: String::new(), until: None, now: false };
    bob.workers(reserve).await.unwrap();
    bob.workers(ClientRequest::Release { worker: "w1".into() }).await.unwrap();
    admin.workers(ClientRequest::Drain { worker: "w1".into() }).await.unwrap();
    admin.delete(ClientRequest::Delete(vec![first.id])).await.unwrap();
    let forget = |worker: &str| ClientRequest::Forget { worker: worker.into() };
    let connected = admin.workers(forget("w1")).await.unwrap_err().to_string();
    let still_connected =
        "worker w1 is connected; stop it first (on its machine: systemctl stop distencode-worker), then forget it";
    assert_eq!(connected, still_connected);
    assert_eq!(bob.workers(forget("w1")).await.unwrap_err().to_string(), "only an admin may forget worker w1");
    let w2 = farm.worker("w2").await;
    farm.disconnect(&mut admin, w2).await;
    let left = admin.workers(forget("w2")).await.unwrap();
    assert!(left.iter().all(|w| w.name != "w2"), "w2 is forgotten");

    // Only admins read it; the refused read is one line.
    assert_eq!(bob.audit(None, 100).await.unwrap_err().to_string(), "only an admin may read the audit trail");

    let expected = vec![
        row(CLIENT, AuditAction::Forget, "worker w2", AuditOutcome::Done),
        row(USER, AuditAction::Forget, "worker w1", refused("only an admin may forget worker w1")),
        row(CLIENT, AuditAction::Forget, "worker w1", refused(still_connected)),
        row(CLIENT, AuditAction::Delete, "job 1", AuditOutcome::Done),
        row(CLIENT, AuditAction::Drain, "worker w1", AuditOutcome::Done),
        row(USER, AuditAction::Release, "worker w1", AuditOutcome::Done),
        row(USER, AuditAction::Reserve, "worker w1 for bob", AuditOutcome::Done),
        row(USER, AuditAction::Drain, "worker w1", refused("only an admin may drain worker w1")),
        row(USER, AuditAction::Priority, "job 1 to priority 50", refused(not_owner)),
        row(CLIENT, AuditAction::Cancel, "job 1", refused("job 1 is cancelled: cannot cancel it")),
        row(CLIENT, AuditAction::Cancel, "job 1", AuditOutcome::Done),
        row(
            USER,
            AuditAction::Cancel,
            "job 1",
            refused("job 1 belongs to alice; only alice or an admin may cancel it"),
        ),
        row(CLIENT, AuditAction::Submit, &format!("job 1 ({project})"), AuditOutcome::Done),
    ];
    let entries = admin.audit(None, 100).await.unwrap();
    assert_eq!(seen(&entries), expected, "newest first");
    assert!(entries.iter().all(|e| e.route == Route::Cli), "every request came by the command line");
    assert!(entries.windows(2).all(|w| w[0].time >= w[1].time), "newest first, by time too");

    // One user's, and a limit.
    let bobs = admin.audit(Some(USER), 2).await.unwrap();
    assert_eq!(seen(&bobs), expected.iter().filter(|e| e.0 == USER).take(2).cloned().collect::<Vec<_>>());

    // Durable: the same trail after a restart.
    drop((admin, bob));
    farm.restart().await;
    let mut admin = farm.client().await;
    assert_eq!(seen(&admin.audit(None, 100).await.unwrap()), expected);
    // Past the cap of entries a read answers: the cap's worth.
    assert_eq!(admin.audit(None, u32::MAX).await.unwrap().len(), expected.len());
}

#[tokio::test]
async fn a_refused_submit_is_recorded_with_its_reason() {
    let farm = Farm::start(3).await;
    let mut bob = farm.client_as(USER).await;
    let too_high = job(1, 11);
    let refusal = bob.submit(too_high.clone()).await.unwrap_err().to_string();
    assert!(refusal.starts_with("priority 11 is above 10"), "{refusal}");
    let mut admin = farm.client().await;
    let entries = admin.audit(Some(USER), 10).await.unwrap();
    let target = format!("project {}", too_high.project);
    assert_eq!(seen(&entries), [row(USER, AuditAction::Submit, &target, refused(&refusal))]);
}

/// An entry recorded at `time` (unix ms) by `user`.
fn old_entry(time: u64, user: &str) -> AuditEntry {
    AuditEntry { time, ..AuditEntry::new(user, Route::Web, AuditAction::SignIn, "provider uni", AuditOutcome::Done) }
}

#[tokio::test]
async fn entries_past_audit_keep_are_deleted_by_the_coordinator_itself() {
    let now = distencode_wire::job::now_ms();
    let fill = |store: &JobStore| {
        store.record_audit(&old_entry(now - 3 * 3_600_000, "three-hours-ago")).unwrap();
        store.record_audit(&old_entry(now - 2 * 3_600_000, "two-hours-ago")).unwrap();
        store.record_audit(&old_entry(now - 60_000, "recent")).unwrap();
    };
    let farm = Farm::start_configured(3, fill, |config| config.audit_keep = Duration::from_secs(3600)).await;
    let mut admin = farm.client().await;
    // The retention runs at start: bounded polling until it has.
    let mut users = Vec::new();
    for _ in 0..2_500 {
        users = admin.audit(None, 100).await.unwrap().into_iter().map(|e| e.user).collect::<Vec<_>>();
        if users.len() == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    assert_eq!(users, ["recent"], "only the entry younger than audit_keep stays");
}
