//! Others' jobs as the web's jobs table, search and job page ask for them (`ListPage`, `Seen`, `Details`): a user
//! sees every job's state, owner and queue place, but the project, output and error of their own jobs only, and a
//! search never matches what is hidden from them.

use actix::SyncArbiter;
use distencode_actors::auth::{Users, HIDDEN};
use distencode_actors::coordinator::{Coordinator, CoordinatorConfig, Details, ListPage, Seen, Submit};
use distencode_actors::store::{JobFilter, JobStore};
use distencode_wire::job::{JobId, JobSpec};

fn spec(project: &str) -> JobSpec {
    JobSpec { project: project.into(), output: format!("{project}.mp4"), ..distencode_sim::spec(0, 0) }
}

#[actix_rt::test]
async fn others_jobs_are_listed_redacted_and_searched_only_in_what_anyone_sees() {
    let dir = tempfile::tempdir().unwrap();
    let store = JobStore::open(dir.path()).unwrap();
    let store = SyncArbiter::start(1, move || store.clone());
    let users = Users {
        admins: ["alice".to_string()].into(),
        certificate_users: [("bob-laptop".to_string(), "bob".to_string())].into(),
        ..Users::default()
    };
    let (alice, bob) = (users.named("alice"), users.named("bob"));
    let config = CoordinatorConfig { users: users.clone().into(), ..CoordinatorConfig::default() };
    let (coordinator, _registry) = Coordinator::start(store, config);
    let alices = coordinator.send(Submit { spec: spec("/srv/secret-trailer.mlt"), by: alice.clone() }).await;
    let alices = alices.unwrap().unwrap().id;
    let laptop = users.for_certificate("bob-laptop");
    let bobs = coordinator.send(Submit { spec: spec("/srv/bobs-cut.mlt"), by: laptop }).await.unwrap().unwrap().id;

    let page = |text: &str, by: &distencode_actors::auth::User| {
        let filter = JobFilter { text: text.into(), ..JobFilter::default() };
        coordinator.send(ListPage(filter, by.clone()))
    };
    // Everyone sees every job's state, owner and queue place; only their own job's project and output.
    let all = page("", &bob).await.unwrap().unwrap();
    let rows: Vec<(JobId, &str, &str, &str)> =
        all.jobs.iter().map(|j| (j.id, j.submitted_by.as_str(), j.project.as_str(), j.output.as_str())).collect();
    assert_eq!(
        rows,
        [(bobs, "bob", "/srv/bobs-cut.mlt", "/srv/bobs-cut.mlt.mp4"), (alices, "alice", HIDDEN, HIDDEN)],
        "newest first; bob's job is his (submitted from bob-laptop), alice's is redacted"
    );
    assert_eq!(all.queue_positions, [(alices, 1), (bobs, 2)]);
    let admin = page("", &alice).await.unwrap().unwrap();
    assert_eq!(admin.jobs[1].project, "/srv/secret-trailer.mlt", "an admin sees everything");

    // A search finds others' jobs by owner, never by what is hidden.
    let ids = |page: distencode_actors::store::JobPage| page.jobs.iter().map(|j| j.id).collect::<Vec<_>>();
    assert_eq!(ids(page("secret", &bob).await.unwrap().unwrap()), Vec::<JobId>::new());
    assert_eq!(ids(page("secret", &alice).await.unwrap().unwrap()), [alices]);
    assert_eq!(ids(page("ALICE", &bob).await.unwrap().unwrap()), [alices]);
    assert_eq!(ids(page("bobs-cut", &bob).await.unwrap().unwrap()), [bobs], "his own, by project");

    // One job: redacted for another user (the API), refused where details are the point (the job page).
    let seen = coordinator.send(Seen { id: alices, by: bob.clone() }).await.unwrap().unwrap();
    assert_eq!((seen.state.as_str(), seen.project.as_str()), ("queued", HIDDEN));
    let refused = coordinator.send(Details { id: alices, by: bob.clone() }).await.unwrap().unwrap_err();
    assert_eq!(
        refused.to_string(),
        "job 1 belongs to alice; only alice or an admin may see its project, output and log"
    );
    assert_eq!(coordinator.send(Details { id: bobs, by: bob }).await.unwrap().unwrap().id, bobs);
}
