//! One test per ownership rule, each for a plain user, the owner and an admin.

use super::*;
use crate::auth::UserRole;
use distencode_wire::job::{Attempt, Encoding, FfmpegJob, JobState};

fn users() -> Users {
    Users {
        admins: ["root".to_string()].into(),
        max_user_priority: 10,
        certificate_users: [("bob-laptop".to_string(), "bob".to_string())].into(),
    }
}

fn user(name: &str) -> User {
    users().named(name)
}

fn check(who: &str, action: Action<'_>) -> Result<(), String> {
    authorize(&users(), &user(who), action).map_err(|e| e.to_string())
}

const JOB: JobId = JobId(7);

#[test]
fn only_the_owner_or_an_admin_cancels() {
    let cancel = Action::Cancel { job: JOB, owner: "bob" };
    assert_eq!(check("carol", cancel), Err("job 7 belongs to bob; only bob or an admin may cancel it".into()));
    assert_eq!(check("bob", cancel), Ok(()));
    assert_eq!(check("root", cancel), Ok(()));
    // A job recorded under one of bob's certificates is bob's.
    assert_eq!(check("bob", Action::Cancel { job: JOB, owner: "bob-laptop" }), Ok(()));
    assert_eq!(
        check("carol", Action::Cancel { job: JOB, owner: "bob-laptop" }),
        Err("job 7 belongs to bob; only bob or an admin may cancel it".into())
    );
}

#[test]
fn only_the_owner_or_an_admin_retries() {
    let retry = Action::Retry { job: JOB, owner: "bob" };
    assert_eq!(check("carol", retry), Err("job 7 belongs to bob; only bob or an admin may retry it".into()));
    assert_eq!(check("bob", retry), Ok(()));
    assert_eq!(check("root", retry), Ok(()));
}

#[test]
fn only_the_owner_or_an_admin_changes_priority_and_users_stay_under_the_ceiling() {
    let to = |priority| Action::SetPriority { job: JOB, owner: "bob", priority };
    assert_eq!(check("carol", to(1)), Err("job 7 belongs to bob; only bob or an admin may change its priority".into()));
    assert_eq!(check("bob", to(10)), Ok(()), "at the ceiling");
    assert_eq!(
        check("bob", to(11)),
        Err("priority 11 is above 10, the highest a user may give (max_user_priority); only an admin may go higher"
            .into()),
        "one past it"
    );
    assert_eq!(check("root", to(1000)), Ok(()), "admins have no ceiling");
}

#[test]
fn submissions_stay_under_the_ceiling_for_users_only() {
    assert_eq!(check("bob", Action::Submit { priority: 10 }), Ok(()));
    assert!(check("bob", Action::Submit { priority: 11 }).unwrap_err().starts_with("priority 11 is above 10"));
    assert_eq!(check("bob", Action::Submit { priority: -5 }), Ok(()));
    assert_eq!(check("root", Action::Submit { priority: i32::MAX }), Ok(()));
}

#[test]
fn only_the_owner_or_an_admin_sees_a_jobs_details() {
    let users = users();
    assert!(may_see_details(&users, &user("bob"), JOB, "bob-laptop"));
    assert!(may_see_details(&users, &user("root"), JOB, "bob"));
    assert!(!may_see_details(&users, &user("carol"), JOB, "bob"));
    assert_eq!(
        check("carol", Action::SeeDetails { job: JOB, owner: "bob" }),
        Err("job 7 belongs to bob; only bob or an admin may see its project, output and log".into())
    );
}

#[test]
fn redacting_keeps_what_everyone_sees_and_hides_the_rest() {
    let record = JobRecord {
        id: JOB,
        state: JobState::Failed,
        project: "/home/bob/secret.mlt".into(),
        output: "/home/bob/secret.mp4".into(),
        encoding: Encoding { extra: vec![("crf".into(), "20".into())], ..Encoding::default() },
        priority: 3,
        melt_log: Default::default(),
        services: vec!["color".into()],
        optional_filters: Vec::new(),
        overwrite: false,
        submitted_by: "bob".into(),
        submitted_at: 1,
        finished_at: Some(2),
        worker: Some("w1".into()),
        attempts: vec![Attempt {
            number: 1,
            worker: "w1".into(),
            offered_at: 1,
            started_at: Some(1),
            ended_at: Some(2),
            committed_at: None,
            outcome: Some(AttemptOutcome::Failed { reason: "cannot open /home/bob/secret.mlt".into() }),
            blames_worker: false,
        }],
        error: Some("cannot open /home/bob/secret.mlt".into()),
        facts: None,
        progress: None,
        waiting: None,
        like: None,
        revision: 4,
        retried_at: 0,
        split: None,
        task: None,
        tasks: Default::default(),
        kind: Default::default(),
        preset: None,
    };
    let users = users();
    assert_eq!(redact(&users, &user("bob"), record.clone()), record, "the owner sees everything");
    assert_eq!(redact(&users, &user("root"), record.clone()), record, "so does an admin");
    let seen = redact(&users, &user("carol"), record.clone());
    assert_eq!((seen.project.as_str(), seen.output.as_str()), (HIDDEN, HIDDEN));
    assert_eq!(seen.error.as_deref(), Some(HIDDEN));
    assert!(seen.encoding.extra.is_empty());
    let ffmpeg = FfmpegJob { inputs: vec!["/home/bob/a.mov".into()], args: vec!["-metadata".into(), "title=x".into()] };
    let transcode = JobRecord { kind: JobKind::Ffmpeg(Box::new(ffmpeg)), ..record.clone() };
    let seen = redact(&users, &user("carol"), transcode);
    assert_eq!(seen.kind, JobKind::Ffmpeg(Box::new(FfmpegJob { inputs: vec![HIDDEN.into()], args: vec![] })));
    assert_eq!(seen.attempts[0].outcome, Some(AttemptOutcome::Failed { reason: HIDDEN.into() }));
    assert!(!format!("{seen:?}").contains("secret"), "{seen:?}");
    // What everyone sees stays.
    assert_eq!((seen.state, seen.submitted_by.as_str(), seen.worker.as_deref()), (JobState::Failed, "bob", Some("w1")));
    assert_eq!((seen.priority, seen.submitted_at, seen.finished_at), (3, 1, Some(2)));
}

#[test]
fn anyone_reserves_for_themselves_only() {
    let reserve = |person| Action::Reserve { worker: "w1", person, now: false, busy: None, held_by: None };
    assert_eq!(check("bob", reserve("bob")), Ok(()));
    assert_eq!(
        check("bob", reserve("carol")),
        Err("you (bob) may reserve a worker only for yourself; only an admin may reserve one for carol".into())
    );
    assert_eq!(check("root", reserve("carol")), Ok(()), "an admin reserves for another person");
}

#[test]
fn only_an_admin_takes_a_busy_worker_at_once() {
    let now = |busy| Action::Reserve { worker: "w1", person: "bob", now: true, busy, held_by: None };
    assert_eq!(check("bob", now(None)), Ok(()), "an idle worker, at once");
    assert_eq!(
        check("bob", now(Some(JobId(3)))),
        Err("worker w1 is rendering job 3; only an admin may take it at once (reserve it without --now to have it \
             after that job)"
            .into())
    );
    let after = Action::Reserve { worker: "w1", person: "bob", now: false, busy: Some(JobId(3)), held_by: None };
    assert_eq!(check("bob", after), Ok(()), "after its job");
    assert_eq!(check("root", now(Some(JobId(3)))), Ok(()));
}

#[test]
fn a_worker_someone_else_holds_is_theirs() {
    let reserve = Action::Reserve { worker: "w1", person: "bob", now: false, busy: None, held_by: Some("carol") };
    assert_eq!(
        check("bob", reserve),
        Err("worker w1 is reserved by carol; only carol or an admin may reserve it".into())
    );
    let renew = Action::Reserve { worker: "w1", person: "bob", now: false, busy: None, held_by: Some("bob") };
    assert_eq!(check("bob", renew), Ok(()), "renewing one's own reservation");
}

#[test]
fn users_release_their_own_reservation_and_admins_any() {
    let release = |held_by| Action::Release { worker: "w1", held_by, draining: false };
    assert_eq!(check("bob", release(Some("bob"))), Ok(()));
    assert_eq!(
        check("bob", release(Some("carol"))),
        Err("worker w1 is reserved by carol; only carol or an admin may release it".into())
    );
    assert_eq!(check("root", release(Some("carol"))), Ok(()));
    // Nothing held: the registry says so; the rule does not stand in the way.
    assert_eq!(check("bob", release(None)), Ok(()));
}

#[test]
fn only_admins_drain_and_undrain() {
    assert_eq!(check("bob", Action::Drain { worker: "w1" }), Err("only an admin may drain worker w1".into()));
    assert_eq!(check("root", Action::Drain { worker: "w1" }), Ok(()));
    assert_eq!(check("bob", Action::Forget { worker: "w1" }), Err("only an admin may forget worker w1".into()));
    assert_eq!(check("root", Action::Forget { worker: "w1" }), Ok(()));
    let undrain = Action::Release { worker: "w1", held_by: None, draining: true };
    assert_eq!(check("bob", undrain), Err("worker w1 is draining; only an admin may put it back in the pool".into()));
    assert_eq!(check("root", undrain), Ok(()));
}

#[test]
fn only_admins_read_the_audit_trail() {
    assert_eq!(check("bob", Action::ReadAudit), Err("only an admin may read the audit trail".into()));
    assert_eq!(check("root", Action::ReadAudit), Ok(()));
    assert_eq!(check("bob", Action::Backup), Err("only an admin may back up the coordinator's store".into()));
    assert_eq!(check("root", Action::Backup), Ok(()));
    assert_eq!(user("root").role, UserRole::Admin);
}

#[test]
fn only_the_owner_or_an_admin_deletes_and_only_admins_prune() {
    let delete = Action::Delete { job: JOB, owner: "bob-laptop" };
    assert_eq!(check("carol", delete), Err("job 7 belongs to bob; only bob or an admin may delete it".into()));
    assert_eq!(check("bob", delete), Ok(()));
    assert_eq!(check("root", delete), Ok(()));
    assert_eq!(
        check("bob", Action::Prune),
        Err("only an admin may prune jobs (a user deletes their own with job delete)".into())
    );
    assert_eq!(check("root", Action::Prune), Ok(()));
}
