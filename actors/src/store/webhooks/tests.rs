//! The outbox against a real sled database: deliveries written with the change that causes them, kept across a
//! reopening, retried with the same `webhook-id`, removed once acknowledged or a day old; the caps.

use super::*;
use crate::store::tests::spec;
use crate::store::Change;

fn hook(owner: &str, farm: bool, events: &[Event]) -> Webhook {
    Webhook {
        id: 0,
        owner: owner.into(),
        farm,
        url: "https://hooks.example.net/".into(),
        secret: "whsec_AAAA".into(),
        events: events.to_vec(),
        created: now_ms(),
    }
}

fn due_now(store: &JobStore, at: u64) -> Vec<Due> {
    store.due(at, 100, &HashSet::new()).unwrap()
}

#[test]
fn a_final_job_writes_its_deliveries_with_its_change_and_each_attempt_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let (bob, farm, job) = {
        let store = JobStore::open(dir.path()).unwrap();
        let bob = store.add_webhook(hook("bob", false, &[Event::JobCancelled, Event::JobSucceeded])).unwrap();
        let farm = store.add_webhook(hook("alice", true, &[Event::JobCancelled, Event::WorkerLost])).unwrap();
        // Another user's webhook, and one listening for something else, hear nothing of bob's cancelled job.
        store.add_webhook(hook("carol", false, &[Event::JobCancelled])).unwrap();
        store.add_webhook(hook("bob", false, &[Event::JobFailed])).unwrap();
        assert_eq!((bob.id, farm.id), (1, 2));
        let job = store.create(spec(), "bob".into()).unwrap();
        store.change(job.id, Change::Priority { priority: 3 }).unwrap();
        assert!(due_now(&store, u64::MAX).is_empty(), "nothing is told before the job is final");
        store.change(job.id, Change::Cancel { reason: "by bob".into() }).unwrap();
        store.flush().unwrap();
        (bob, farm, job)
    };
    // Reopened, as after a crash: the deliveries are there.
    let store = JobStore::open(dir.path()).unwrap();
    let due = due_now(&store, now_ms());
    assert_eq!(due.iter().map(|d| d.pending.webhook).collect::<Vec<_>>(), [bob.id, farm.id]);
    let body: serde_json::Value = serde_json::from_str(&due[0].pending.body).unwrap();
    assert_eq!((body["id"].as_u64(), body["state"].as_str()), (Some(job.id.0), Some("cancelled")));
    assert_eq!(due[0].pending.event, Event::JobCancelled);
    assert_ne!(due[0].pending.message, due[1].pending.message);
    assert!(due[0].pending.message.starts_with("msg_"));

    // A 500: tried again later, under the same webhook-id.
    let now = now_ms();
    store.delivered(&Delivered { key: due[0].key, status: Some(500), error: None, retry_at: now + 60_000 }).unwrap();
    assert_eq!(due_now(&store, now).len(), 1);
    let again: Vec<Due> = due_now(&store, now + 60_000).into_iter().filter(|d| d.pending.webhook == bob.id).collect();
    assert_eq!(again[0].pending.message, due[0].pending.message);
    assert_eq!(again[0].pending.attempts, 1);
    // Being sent: not handed out twice.
    let busy = HashSet::from([again[0].key]);
    assert!(store.due(now + 60_000, 100, &busy).unwrap().iter().all(|d| d.key != again[0].key));

    // A 2xx removes it for good.
    store.delivered(&Delivered { key: again[0].key, status: Some(204), error: None, retry_at: 0 }).unwrap();
    assert_eq!(due_now(&store, u64::MAX).iter().map(|d| d.pending.webhook).collect::<Vec<_>>(), [farm.id]);
    let (_, sent, waiting) = store.read_webhook(bob.id).unwrap();
    assert_eq!(waiting, 0);
    assert_eq!(sent.iter().map(|s| (s.attempt, s.status)).collect::<Vec<_>>(), [(2, Some(204)), (1, Some(500))]);

    // A day old: given up, and the attempt says so.
    let farm_due = &due_now(&store, u64::MAX)[0];
    let late = farm_due.pending.created + MAX_DELIVERY_AGE.as_millis() as u64 + 1;
    let refused =
        Delivered { key: farm_due.key, status: None, error: Some("connection refused".into()), retry_at: late };
    store.delivered(&refused).unwrap();
    assert!(due_now(&store, u64::MAX).is_empty());
    let (_, sent, _) = store.read_webhook(farm.id).unwrap();
    assert_eq!(sent[0].error.as_deref(), Some("connection refused; given up after 1 attempts over a day"));
}

#[test]
fn a_worker_event_goes_to_farm_wide_webhooks_only_and_a_deleted_webhook_takes_its_deliveries() {
    let dir = tempfile::tempdir().unwrap();
    let store = JobStore::open(dir.path()).unwrap();
    let farm = store.add_webhook(hook("alice", true, &[Event::WorkerLost])).unwrap();
    store.add_webhook(hook("alice", true, &[Event::WorkerSuspect])).unwrap();
    assert_eq!(store.enqueue(Event::WorkerLost, "{\"name\":\"w1\"}", None).unwrap(), 1);
    assert_eq!(store.enqueue(Event::WorkerLost, "{}", Some(farm.id + 1)).unwrap(), 0, "only the one named");
    let due = due_now(&store, u64::MAX);
    assert_eq!((due.len(), due[0].pending.webhook, due[0].pending.body.as_str()), (1, farm.id, "{\"name\":\"w1\"}"));
    store.delivered(&Delivered { key: due[0].key, status: Some(500), error: None, retry_at: 0 }).unwrap();
    store.remove_webhook(farm.id).unwrap();
    assert!(due_now(&store, u64::MAX).is_empty());
    assert!(matches!(store.read_webhook(farm.id), Err(StoreError::NoSuchWebhook(1))));
    assert!(store.schedule().is_empty());
    assert!(store.webhook_sent.is_empty());
}

#[test]
fn webhooks_per_user_and_the_outbox_stop_at_their_caps() {
    let dir = tempfile::tempdir().unwrap();
    let store = JobStore::open(dir.path()).unwrap();
    for _ in 0..MAX_WEBHOOKS_PER_USER {
        store.add_webhook(hook("bob", false, &[Event::JobFailed])).unwrap();
    }
    let refused = store.add_webhook(hook("bob", false, &[Event::JobFailed])).unwrap_err();
    assert_eq!(refused.to_string(), "bob has 20 webhooks, the most one user may have; delete one first");
    store.add_webhook(hook("alice", true, &[Event::WorkerSuspect])).unwrap();
    for _ in 0..MAX_OUTBOX {
        assert_eq!(store.enqueue(Event::WorkerSuspect, "{}", None).unwrap(), 1);
    }
    assert_eq!(store.enqueue(Event::WorkerSuspect, "{}", None).unwrap(), 0, "past the cap, nothing is written");
    assert_eq!(store.outbox.len(), MAX_OUTBOX);
    // A body past its cap is not written either.
    let key = due_now(&store, u64::MAX)[0].key;
    store.delivered(&Delivered { key, status: Some(200), error: None, retry_at: 0 }).unwrap();
    assert_eq!(store.enqueue(Event::WorkerSuspect, &"x".repeat(MAX_BODY_BYTES + 1), None).unwrap(), 0);
    assert_eq!(store.enqueue(Event::WorkerSuspect, &"x".repeat(MAX_BODY_BYTES), None).unwrap(), 1);
}
