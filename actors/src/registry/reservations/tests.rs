//! Requests the registry turns down answer with the kind of refusal, and the line the user reads for it.

use super::*;
use crate::store::JobStore;

/// Takes the registry's events and forgets them.
struct Sink;

impl Actor for Sink {
    type Context = Context<Self>;
}

impl Handler<WorkerEvent> for Sink {
    type Result = ();

    fn handle(&mut self, _: WorkerEvent, _: &mut Self::Context) {}
}

/// A registry over a fresh store, with no worker connected.
fn registry(dir: &std::path::Path) -> Addr<WorkerRegistry> {
    let store = JobStore::open(dir).unwrap();
    let store = SyncArbiter::start(1, move || store.clone());
    WorkerRegistry::new(Sink.start().recipient(), store, std::time::Duration::from_secs(30)).start()
}

fn admin() -> User {
    User { name: "root".into(), role: crate::auth::UserRole::Admin, route: crate::auth::Route::Cli }
}

fn reserve(worker: &str, person: &str, until: Option<u64>) -> Reserve {
    Reserve { worker: worker.into(), person: person.into(), until, now: false, by: admin() }
}

#[actix_rt::test]
async fn refusals_are_kinds_with_the_users_line() {
    let dir = tempfile::tempdir().unwrap();
    let registry = registry(dir.path());

    let err = registry.send(Drain { worker: "w9".into(), by: admin() }).await.unwrap().unwrap_err();
    assert!(matches!(&err, RequestError::NoSuchWorker(name) if name == "w9"), "{err:?}");
    assert_eq!(err.to_string(), "no worker w9 has registered");

    let err = registry.send(Unreserve { worker: "w9".into(), by: admin() }).await.unwrap().unwrap_err();
    assert!(matches!(&err, RequestError::NotHeld(name) if name == "w9"), "{err:?}");
    assert_eq!(err.to_string(), "worker w9 is neither reserved nor draining");

    let err = registry.send(reserve("w9", "bob", Some(1))).await.unwrap().unwrap_err();
    assert!(matches!(err, RequestError::ReservationInThePast), "{err:?}");
    assert_eq!(err.to_string(), "the reservation would end in the past");

    let err = registry.send(reserve("w9", " ", None)).await.unwrap().unwrap_err();
    assert!(matches!(err, RequestError::ReservationWithoutPerson), "{err:?}");
    assert_eq!(err.to_string(), "a reservation needs a person (--for NAME)");

    let err = registry.send(reserve("../w9", "bob", None)).await.unwrap().unwrap_err();
    assert!(matches!(err, RequestError::BadWorkerName(_)), "{err:?}");
    assert!(err.to_string().starts_with("invalid node name \"../w9\""), "{err}");

    // And one that is served: a worker that never registered can still be reserved, and is listed.
    let workers = registry.send(reserve("w9", "bob", None)).await.unwrap().unwrap();
    assert_eq!(
        workers.iter().map(|w| (w.name.as_str(), w.reserved_by.as_deref())).collect::<Vec<_>>(),
        [("w9", Some("bob"))]
    );
}

#[actix_rt::test]
async fn a_user_holds_and_releases_only_their_own_reservation_and_never_drains() {
    let dir = tempfile::tempdir().unwrap();
    let registry = registry(dir.path());
    let (bob, carol) = (Users::default().named("bob"), Users::default().named("carol"));
    let as_user = |person: &str, by: &User| Reserve { by: by.clone(), ..reserve("w9", person, None) };

    let err = registry.send(as_user("carol", &bob)).await.unwrap().unwrap_err();
    assert_eq!(
        err.to_string(),
        "you (bob) may reserve a worker only for yourself; only an admin may reserve one for carol"
    );
    registry.send(as_user("bob", &bob)).await.unwrap().unwrap();
    let err = registry.send(as_user("carol", &carol)).await.unwrap().unwrap_err();
    assert_eq!(err.to_string(), "worker w9 is reserved by bob; only bob or an admin may reserve it");
    let err = registry.send(Unreserve { worker: "w9".into(), by: carol.clone() }).await.unwrap().unwrap_err();
    assert!(matches!(err, RequestError::Refused(_)), "{err:?}");
    assert_eq!(err.to_string(), "worker w9 is reserved by bob; only bob or an admin may release it");
    let err = registry.send(Drain { worker: "w9".into(), by: bob.clone() }).await.unwrap().unwrap_err();
    assert_eq!(err.to_string(), "only an admin may drain worker w9");
    let workers = registry.send(Unreserve { worker: "w9".into(), by: bob }).await.unwrap().unwrap();
    assert_eq!(workers.iter().find(|w| w.name == "w9").and_then(|w| w.reserved_by.clone()), None);
}
