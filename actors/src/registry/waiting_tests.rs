//! Each reason a queued job can wait for, as a person reads it.

use super::*;

fn keys(keys: &[&str]) -> Vec<String> {
    keys.iter().map(|k| k.to_string()).collect()
}

fn has(keys: &[&str]) -> HashSet<String> {
    keys.iter().map(|k| k.to_string()).collect()
}

fn stack(fonts: &str) -> Fingerprint {
    Fingerprint { melt: "7.12.0".into(), ffmpeg: "5.1.6".into(), frei0r: "1.8.0".into(), fonts: fonts.into() }
}

/// A farm of workers, each a name, a standing, its capabilities and its font hash.
struct Farm(Vec<(&'static str, Standing<'static>, HashSet<String>, Fingerprint)>);

impl Farm {
    fn seen(&self) -> Vec<Seen<'_>> {
        self.0
            .iter()
            .map(|(name, standing, has, fingerprint)| Seen { name, standing: *standing, has, fingerprint })
            .collect()
    }

    fn why(&self, needs: &[&str], rejected: &[(&str, &str)]) -> String {
        let rejected: Vec<(String, String)> = rejected.iter().map(|(w, r)| (w.to_string(), r.to_string())).collect();
        why_waiting(&Wanted { keys: &keys(needs), rejected: &rejected, like: None }, &self.seen())
    }
}

fn worker(
    name: &'static str,
    standing: Standing<'static>,
    with: &[&str],
) -> (&'static str, Standing<'static>, HashSet<String>, Fingerprint) {
    (name, standing, has(with), stack("00ff"))
}

#[test]
fn the_only_capable_worker_reserved_is_named_with_its_holder_and_what_sets_it_apart() {
    let farm = Farm(vec![
        worker("render1", Standing::Idle, &["color"]),
        worker("render2", Standing::Reserved("bob"), &["color", "frei0r.glow"]),
    ]);
    assert_eq!(
        farm.why(&["color", "frei0r.glow"], &[]),
        "the only worker with frei0r.glow, render2, is reserved by bob"
    );
    let farm = Farm(vec![worker("render2", Standing::Draining, &["color"])]);
    assert_eq!(farm.why(&["color"], &[]), "the only worker, render2, is draining");
}

#[test]
fn every_capable_worker_busy_is_counted() {
    let farm = Farm(vec![
        worker("w1", Standing::Busy, &["color"]),
        worker("w2", Standing::Busy, &["color"]),
        worker("w3", Standing::Busy, &["color"]),
    ]);
    assert_eq!(farm.why(&["color"], &[]), "every worker is busy (3 of 3)");
    let farm = Farm(vec![
        worker("w1", Standing::Busy, &["color", "qtext"]),
        worker("w2", Standing::Busy, &["color", "qtext"]),
        worker("w3", Standing::Idle, &["color"]),
    ]);
    assert_eq!(farm.why(&["color", "qtext"], &[]), "every worker with qtext is busy (2 of 2)");
}

#[test]
fn a_service_no_worker_has_is_named() {
    let farm = Farm(vec![worker("w1", Standing::Idle, &["color"]), worker("w2", Standing::Busy, &["color", "qtext"])]);
    assert_eq!(farm.why(&["color", "kdenlivetitle"], &[]), "no worker has kdenlivetitle");
    assert_eq!(
        farm.why(&["a", "b", "c", "d", "e"], &[]),
        "no worker has a, b, c and 2 more",
        "a long list is cut at MAX_NAMED_KEYS"
    );
    let split = Farm(vec![worker("w1", Standing::Idle, &["a"]), worker("w2", Standing::Idle, &["b"])]);
    assert_eq!(split.why(&["a", "b"], &[]), "no worker has all of a, b");
    assert_eq!(Farm(vec![]).why(&["color"], &[]), "no worker has connected to the coordinator");
}

#[test]
fn rejections_and_other_standings_are_listed_together() {
    let farm = Farm(vec![worker("w1", Standing::Idle, &["color"]), worker("w2", Standing::Draining, &["color"])]);
    assert_eq!(
        farm.why(&["color"], &[("w1", "cannot read /p/a.mlt: Permission denied")]),
        "rejected by w1 (cannot read /p/a.mlt: Permission denied), w2 is draining"
    );
    let farm = Farm(vec![
        worker("w1", Standing::Lost, &["color"]),
        worker("w2", Standing::Reserved("ann"), &["color"]),
        worker("w3", Standing::Busy, &["color"]),
        worker("w4", Standing::Leaving, &["color"]),
        worker("w5", Standing::Busy, &["color"]),
    ]);
    assert_eq!(
        farm.why(&["color"], &[]),
        "w2 (by ann) is reserved, w4 is shutting down, w1 is disconnected, w3, w5 are busy"
    );
    let only = Farm(vec![worker("w1", Standing::Idle, &["color"])]);
    assert_eq!(only.why(&["color"], &[("w1", "no melt")]), "the only worker, w1, rejected it (no melt)");
}

#[test]
fn long_lists_of_workers_and_long_rejections_are_cut() {
    let names = ["w1", "w2", "w3", "w4", "w5", "w6", "w7"];
    let mut farm: Vec<_> = names.iter().map(|n| worker(n, Standing::Busy, &["color"])).collect();
    farm.push(worker("w8", Standing::Lost, &["color"]));
    assert_eq!(Farm(farm).why(&["color"], &[]), "w8 is disconnected, w1, w2, w3, w4 and 3 more are busy");
    let long = "x".repeat(MAX_REJECTION_CHARS + 10) + "\nsecond line";
    let only = Farm(vec![worker("w1", Standing::Idle, &["color"])]);
    let why = only.why(&["color"], &[("w1", &long)]);
    assert_eq!(why, format!("the only worker, w1, rejected it ({}…)", "x".repeat(MAX_REJECTION_CHARS)));
}

#[test]
fn a_like_job_waits_for_a_worker_with_that_render_stack() {
    let farm = Farm(vec![
        ("w1", Standing::Idle, has(&["color"]), stack("00ff")),
        ("w2", Standing::Busy, has(&["color"]), stack("0aaa")),
    ]);
    let wanted = stack("0aaa");
    let why = |like| why_waiting(&Wanted { keys: &keys(&["color"]), rejected: &[], like }, &farm.seen());
    assert_eq!(why(Some(("w2", &wanted))), "the only worker with w2's render stack, w2, is busy");
    let gone = stack("0bbb");
    assert_eq!(
        why(Some(("w9", &gone))),
        format!("no worker that can render it has the render stack of w9 ({})", gone.short())
    );
}

#[test]
fn rejections_are_hidden_from_whom_may_not_see_the_job() {
    let attempt = |reason: &str| Attempt {
        number: 1,
        worker: "w1".into(),
        offered_at: 0,
        started_at: None,
        ended_at: Some(1),
        committed_at: None,
        outcome: Some(AttemptOutcome::Declined { reason: reason.into() }),
        blames_worker: true,
    };
    let attempts = [attempt("cannot read /home/bob/a.mlt")];
    let text = "rejected by w1 (cannot read /home/bob/a.mlt), w2 is draining";
    assert_eq!(hide_rejections(text, &attempts, "(hidden)"), "rejected by w1 (hidden), w2 is draining");
}
