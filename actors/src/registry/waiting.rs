//! Why a queued job waits, in words a person can act on: `the only worker with frei0r.glow, render2, is reserved
//! by bob`, `every worker is busy (3 of 3)`, `no worker has kdenlivetitle`, `rejected by w1 (...), w2 is draining`.
//!
//! [`why_waiting`] is a pure function of the job's needs and what the registry knows of each worker, so each case is
//! tested in process; the registry answers [`super::Explain`] with it for `job status`, `job list` and the web.

use super::capabilities::has_all;
use distencode_wire::job::{Attempt, AttemptOutcome};
use distencode_wire::message::Fingerprint;
use std::collections::HashSet;

/// Workers named in one part of a reason; the rest are counted (`w1, w2, w3, w4 and 6 more are busy`).
pub const MAX_NAMED_WORKERS: usize = 4;

/// Capabilities named in one reason (`no worker has a, b, c and 2 more`).
pub const MAX_NAMED_KEYS: usize = 3;

/// Characters of one worker's rejection kept in a reason (a long melt error is cut, with `…`).
pub const MAX_REJECTION_CHARS: usize = 160;

/// How a worker stands, as far as taking a job goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Standing<'a> {
    Idle,
    Busy,
    /// Disconnected (lost, or reconnecting).
    Lost,
    /// Held for a person.
    Reserved(&'a str),
    Draining,
    /// Shutting down.
    Leaving,
}

/// One worker as the registry knows it.
pub struct Seen<'a> {
    pub name: &'a str,
    pub standing: Standing<'a>,
    /// Its capability keys ([`super::Needs::keys`]'s vocabulary).
    pub has: &'a HashSet<String>,
    /// Its render stack, as it announced it.
    pub fingerprint: &'a Fingerprint,
}

/// What a queued job needs, and who turned it down.
pub struct Wanted<'a> {
    /// Capability keys a worker must have.
    pub keys: &'a [String],
    /// Workers that turned it down (since its last retry), each with its reason.
    pub rejected: &'a [(String, String)],
    /// `job submit --like W`: the render stack it must run on, and the worker it was taken from.
    pub like: Option<(&'a str, &'a Fingerprint)>,
}

/// Why no worker takes the job now (without the `waiting: ` the CLI puts before it).
pub fn why_waiting(job: &Wanted, workers: &[Seen]) -> String {
    if workers.is_empty() {
        return "no worker has connected to the coordinator".into();
    }
    let with_keys: Vec<&Seen> = workers.iter().filter(|w| has_all(w.has, job.keys)).collect();
    if with_keys.is_empty() {
        return lacking(job.keys, workers);
    }
    let capable: Vec<&Seen> = match job.like {
        Some((_, stack)) => with_keys.into_iter().filter(|w| w.fingerprint == stack).collect(),
        None => with_keys,
    };
    if let (true, Some((name, stack))) = (capable.is_empty(), job.like) {
        return format!("no worker that can render it has the render stack of {name} ({})", stack.short());
    }
    let with = distinguishing(job, workers);
    let rejection = |name: &str| job.rejected.iter().find(|(w, _)| w == name).map(|(_, reason)| cut(reason));
    if let [only] = capable.as_slice() {
        let what = match rejection(only.name) {
            Some(reason) => format!("rejected it ({reason})"),
            None => format!("{} {}", "is", standing_words(only.standing)),
        };
        return format!("the only worker{with}, {}, {what}", only.name);
    }
    let busy = capable.iter().filter(|w| w.standing == Standing::Busy && rejection(w.name).is_none()).count();
    if busy == capable.len() {
        return format!("every worker{with} is busy ({busy} of {busy})");
    }
    let mut parts = Vec::new();
    let rejected: Vec<String> =
        capable.iter().filter_map(|w| rejection(w.name).map(|reason| format!("{} ({reason})", w.name))).collect();
    if !rejected.is_empty() {
        parts.push(format!("rejected by {}", named(&rejected)));
    }
    let others: Vec<&&Seen> = capable.iter().filter(|w| rejection(w.name).is_none()).collect();
    for standing in ORDER {
        let names: Vec<String> = others
            .iter()
            .filter(|w| same_kind(w.standing, standing))
            .map(|w| match w.standing {
                Standing::Reserved(person) => format!("{} (by {person})", w.name),
                _ => w.name.to_string(),
            })
            .collect();
        if names.is_empty() {
            continue;
        }
        let verb = if names.len() == 1 { "is" } else { "are" };
        let words = match standing {
            Standing::Reserved(_) => "reserved".to_string(),
            other => standing_words(other),
        };
        parts.push(format!("{} {verb} {words}", named(&names)));
    }
    parts.join(", ")
}

/// The order the parts of a reason come in: what a person can change first.
const ORDER: [Standing<'static>; 6] =
    [Standing::Reserved(""), Standing::Draining, Standing::Leaving, Standing::Lost, Standing::Busy, Standing::Idle];

fn same_kind(a: Standing, b: Standing) -> bool {
    std::mem::discriminant(&a) == std::mem::discriminant(&b)
}

fn standing_words(standing: Standing) -> String {
    match standing {
        Standing::Idle => "free and takes it next".into(),
        Standing::Busy => "busy".into(),
        Standing::Lost => "disconnected".into(),
        Standing::Reserved(person) => format!("reserved by {person}"),
        Standing::Draining => "draining".into(),
        Standing::Leaving => "shutting down".into(),
    }
}

/// No worker has every key: the keys no worker has at all, or, when each is had by some worker, that none has
/// them together.
fn lacking(keys: &[String], workers: &[Seen]) -> String {
    let missing: Vec<String> =
        keys.iter().filter(|key| !workers.iter().any(|w| w.has.contains(*key))).cloned().collect();
    if missing.is_empty() {
        let partial: Vec<String> =
            keys.iter().filter(|key| !workers.iter().all(|w| w.has.contains(*key))).cloned().collect();
        return format!("no worker has all of {}", named_keys(&partial));
    }
    format!("no worker has {}", named_keys(&missing))
}

/// ` with KEYS` naming what sets the job's workers apart (keys some worker lacks, a render stack), or nothing when
/// every worker could take it.
fn distinguishing(job: &Wanted, workers: &[Seen]) -> String {
    let rare: Vec<String> =
        job.keys.iter().filter(|key| !workers.iter().all(|w| w.has.contains(*key))).cloned().collect();
    match (rare.is_empty(), job.like) {
        (true, None) => String::new(),
        (false, None) => format!(" with {}", named_keys(&rare)),
        (true, Some((name, _))) => format!(" with {name}'s render stack"),
        (false, Some((name, _))) => format!(" with {} and {name}'s render stack", named_keys(&rare)),
    }
}

fn named(names: &[String]) -> String {
    list(names, MAX_NAMED_WORKERS)
}

fn named_keys(keys: &[String]) -> String {
    list(keys, MAX_NAMED_KEYS)
}

fn list(items: &[String], at_most: usize) -> String {
    let shown = items[..items.len().min(at_most)].join(", ");
    match items.len().saturating_sub(at_most) {
        0 => shown,
        more => format!("{shown} and {more} more"),
    }
}

/// How an attempt that turned a job down is told in a reason: the worker's rejection, or its failed render.
pub fn rejection(outcome: &AttemptOutcome) -> String {
    match outcome {
        AttemptOutcome::Declined { reason } => reason.clone(),
        AttemptOutcome::Failed { reason } => format!("its render failed: {reason}"),
        other => other.to_string(),
    }
}

/// `waiting` with the rejections of `attempts` replaced by `hidden` (which has its parentheses), for a reader who may not see the job's
/// details (a rejection may name the project's files).
pub fn hide_rejections(waiting: &str, attempts: &[Attempt], hidden: &str) -> String {
    let mut text = waiting.to_string();
    for outcome in attempts.iter().filter(|a| a.blames_worker).filter_map(|a| a.outcome.as_ref()) {
        let shown = cut(&rejection(outcome));
        if !shown.is_empty() {
            text = text.replace(&format!("({shown})"), hidden);
        }
    }
    text
}

fn cut(reason: &str) -> String {
    let line = reason.lines().next().unwrap_or_default();
    match line.char_indices().nth(MAX_REJECTION_CHARS) {
        Some((at, _)) => format!("{}…", &line[..at]),
        None => line.to_string(),
    }
}

#[cfg(test)]
#[path = "waiting_tests.rs"]
mod tests;
