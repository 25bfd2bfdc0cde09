//! The index's pages: filters, search, orders and paging together, counts in step with each change; and the store
//! keeping it (and the metrics' jobs by state) across writes, deletions and a reopen.

use super::*;
use crate::store::tests::spec;
use crate::store::{Change, JobStore};

fn job(id: u64, state: JobState, priority: i32, project: &str) -> JobRecord {
    let mut spec = spec();
    spec.project = project.into();
    spec.output = format!("{project}.mp4");
    spec.priority = priority;
    let mut record = JobRecord::queued(JobId(id), spec, "alice".into(), id);
    record.state = state;
    record
}

fn index_of(jobs: &[JobRecord]) -> JobIndex {
    let index = JobIndex::default();
    for job in jobs {
        index.put(job);
    }
    index
}

fn ids(index: &JobIndex, filter: JobFilter) -> (Vec<u64>, usize, usize) {
    let (ids, total, page) = index.query(&filter);
    (ids.into_iter().map(|id| id.0).collect(), total, page)
}

#[test]
fn filters_search_orders_and_pages_compose() {
    let jobs: Vec<JobRecord> = (1..=120)
        .map(|i| {
            let state = if i % 2 == 0 { JobState::Queued } else { JobState::Succeeded };
            job(i, state, (i % 3) as i32, if i == 7 { "/p/Intro.mlt" } else { "/p/other.mlt" })
        })
        .collect();
    let index = index_of(&jobs);
    let (first, total, page) = ids(&index, JobFilter::default());
    assert_eq!((first.len(), total, page), (50, 120, 1));
    assert_eq!(first[..2], [120, 119], "newest first");
    let (last, _, page) = ids(&index, JobFilter { page: 9, ..Default::default() });
    assert_eq!((last.len(), page), (20, 3), "a page past the end is the last page");
    assert_eq!(last[19], 1);

    let queued = JobFilter { state: Some(JobState::Queued), order: JobOrder::Oldest, ..Default::default() };
    let (found, total, _) = ids(&index, queued);
    assert_eq!((found[0], total), (2, 60));
    let intro = ids(&index, JobFilter { text: " INTRO ".into(), ..Default::default() });
    assert_eq!(intro, (vec![7], 1, 1), "trimmed, any case");
    assert_eq!(ids(&index, JobFilter { text: "42".into(), ..Default::default() }).0, vec![42], "an id");
    let none = ids(&index, JobFilter { text: "nothing like it".into(), page: 3, ..Default::default() });
    assert_eq!(none, (vec![], 0, 1));

    let by_priority = JobFilter { order: JobOrder::Priority, per_page: 3, ..Default::default() };
    assert_eq!(ids(&index, by_priority.clone()).0, vec![2, 5, 8]);
    assert_eq!(ids(&index, JobFilter { page: 2, ..by_priority }).0, vec![11, 14, 17]);
    let by_state = JobFilter { order: JobOrder::State, per_page: 2, ..Default::default() };
    assert_eq!(ids(&index, by_state.clone()).0, vec![120, 118], "queued before succeeded, newest first");
    assert_eq!(ids(&index, JobFilter { page: 31, ..by_state }).0, vec![119, 117]);
    let capped = ids(&index, JobFilter { per_page: 100_000, ..Default::default() });
    assert_eq!(capped.0.len(), 120);
    assert_eq!(index.query(&JobFilter { per_page: 0, ..Default::default() }).0.len(), 1, "at least one row");
}

#[test]
fn changes_move_counts_and_summaries() {
    let index = index_of(&[job(1, JobState::Queued, 0, "/a.mlt"), job(2, JobState::Queued, 0, "/b.mlt")]);
    assert_eq!((index.count(JobState::Queued), index.len()), (2, 2));
    let mut running = job(1, JobState::Running, 0, "/a.mlt");
    running.worker = Some("render7".into());
    assert_eq!(index.put(&running), Some(JobState::Queued));
    assert_eq!((index.count(JobState::Queued), index.count(JobState::Running)), (1, 1));
    assert_eq!(ids(&index, JobFilter { text: "RENDER7".into(), ..Default::default() }).0, vec![1]);
    assert_eq!(index.remove(JobId(2)), Some(JobState::Queued));
    assert_eq!(index.remove(JobId(2)), None);
    assert_eq!((index.count(JobState::Queued), index.len()), (0, 1));
}

fn sample(text: &str, name: &str) -> Option<f64> {
    text.lines().find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
}

#[test]
fn the_store_keeps_the_index_and_jobs_by_state_across_changes_deletions_and_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = {
        let store = JobStore::open(dir.path()).unwrap();
        let a = store.create(spec(), "alice".into()).unwrap().id;
        let b = store.create(spec(), "bob".into()).unwrap().id;
        store.create(spec(), "carol".into()).unwrap();
        store.change(b, Change::Cancel { reason: "cancelled by bob".into() }).unwrap();
        let page = store.query(&JobFilter { state: Some(JobState::Queued), ..Default::default() }).unwrap();
        assert_eq!((page.total, page.pages, page.jobs.len()), (2, 1, 2));
        assert_eq!(page.jobs[1], store.get(a).unwrap(), "the full records, newest first");
        let text = store.metrics().encode();
        assert_eq!(sample(&text, "distencode_jobs{state=\"queued\"}"), Some(2.0), "{text}");
        assert_eq!(sample(&text, "distencode_jobs{state=\"cancelled\"}"), Some(1.0), "{text}");
        store.delete(&[b]).unwrap();
        assert_eq!(sample(&store.metrics().encode(), "distencode_jobs{state=\"cancelled\"}"), Some(0.0));
        store.flush().unwrap();
        (a, b)
    };
    let store = JobStore::open(dir.path()).unwrap();
    let page = store.query(&JobFilter { text: "alice".into(), ..Default::default() }).unwrap();
    assert_eq!(page.jobs.iter().map(|j| j.id).collect::<Vec<_>>(), vec![a]);
    assert_eq!(store.query(&JobFilter::default()).unwrap().total, 2, "job {b} was deleted");
    let text = store.metrics().encode();
    assert_eq!(sample(&text, "distencode_jobs{state=\"queued\"}"), Some(2.0), "{text}");
    assert_eq!(sample(&text, "distencode_jobs{state=\"succeeded\"}"), Some(0.0), "every state is there: {text}");
}
