//! Split jobs: one job rendered by many workers at once, as tasks.
//!
//! A split job (the parent) is never offered itself. Once recorded, it is planned ([`plan`]): either it renders
//! in one piece after all (the reason is recorded, and it is queued as any job), or its tasks are created, each an
//! ordinary job that names its parent (a chunk of frames, one audio pass), and the parent becomes `running`. Tasks
//! are queued, offered, retried and recovered exactly like jobs, so a lost worker's chunk moves to another worker
//! while the other chunks keep their work. When every chunk and the audio pass succeeded, the join task is created;
//! when it succeeds, the parent succeeds with its facts. A task that fails for good fails the parent: its other
//! tasks are cancelled and a cleanup task removes the chunk files. Cancelling the parent does the same.
//!
//! The parent's record lists its tasks ([`TaskView`]); their live state is patched in memory as the tasks change,
//! and written with the parent at each step (a task that ended, the join created, the end), so a restart finds
//! the parent as it stood and refreshes it from its tasks.

pub mod plan;
mod stack;

use super::Coordinator;
use crate::registry::{ListWorkers, SendTo};
use crate::store::{ApplyChange, Change, CreateJob, GetJob, StoreError};
use actix::prelude::*;
use distencode_wire::job::{JobId, JobRecord, JobState, Progress, Task, TaskInput, TaskKind, TaskView};
use distencode_wire::message::CoordinatorToWorker;

/// Look at a split job again: one of its tasks ended (or the coordinator restarted).
#[derive(Message)]
#[rtype(result = "()")]
pub(super) struct AdvanceSplit(pub JobId);

/// A task's row in its parent's record.
pub(super) fn view_of(task: &JobRecord) -> Option<TaskView> {
    let t = task.task.as_ref()?;
    let frames_done = match (task.state, &task.progress, t.kind) {
        (JobState::Succeeded, _, TaskKind::Chunk) => t.frames(),
        (JobState::Running, Some(p), TaskKind::Chunk) => p.frame.saturating_sub(t.first).min(t.frames()),
        _ => 0,
    };
    Some(TaskView {
        job: task.id,
        kind: t.kind,
        first: t.first,
        last: t.last,
        state: task.state,
        worker: task.worker.clone(),
        attempts: (task.attempts.len() - task.retried_at.min(task.attempts.len())) as u32,
        frames_done,
    })
}

/// A split job's tasks as they are left when it ends without its file: those not final are cancelled.
pub(super) fn ended(tasks: &[TaskView]) -> Vec<TaskView> {
    let mut tasks = tasks.to_vec();
    for task in tasks.iter_mut().filter(|t| !t.state.is_final()) {
        task.state = JobState::Cancelled;
    }
    tasks
}

/// The parent's progress: frames of its chunks done over all its frames.
fn progress_of(parent: &JobRecord) -> Option<Progress> {
    let frames = parent.split.as_ref()?.request.frames.max(1);
    let chunks = parent.tasks.iter().filter(|t| t.kind == TaskKind::Chunk);
    let done: u64 = chunks.map(|t| t.frames_done).sum();
    Some(Progress { frame: done, percent: done as f64 * 100.0 / frames as f64, fps: 0.0, eta_seconds: None })
}

impl Coordinator {
    /// Plans a split job just recorded (or retried): creates its tasks, or records why it renders in one piece.
    pub(super) fn start_split(&mut self, parent: JobRecord, ctx: &mut Context<Self>) {
        let Some(split) = parent.split.clone().filter(|s| s.refused.is_none()) else { return };
        let (registry, store) = (self.registry.clone(), self.store.clone());
        let id = parent.id;
        let create = async move {
            // Chunks and the audio pass go to workers of one render stack.
            let workers = registry.send(ListWorkers).await.unwrap_or_default();
            let like = stack::for_split(&parent, &workers);
            let free = match split.request.chunks {
                Some(_) => 0,
                None => stack::idle_with(&workers, like.as_ref()),
            };
            let ranges = match plan::plan(&split.request, &parent.encoding.extra, &parent.services, free) {
                Ok(ranges) => ranges,
                Err(reason) => {
                    tracing::info!(job = %id, "{reason}");
                    let record = store
                        .send(ApplyChange { id, change: Change::RefuseSplit { reason } })
                        .await
                        .map_err(|_| StoreError::Gone)??;
                    return Ok::<_, StoreError>((record, Vec::new()));
                }
            };
            let mut children = Vec::new();
            for (output, task) in plan::tasks(&parent, &split.request, &ranges) {
                let mut spec = plan::task_spec(&parent, output, task);
                spec.like = like.clone().map(Box::new);
                children.push(
                    store
                        .send(CreateJob { spec, submitted_by: parent.submitted_by.clone() })
                        .await
                        .map_err(|_| StoreError::Gone)??,
                );
            }
            let tasks = children.iter().filter_map(view_of).collect();
            let record = store
                .send(ApplyChange { id, change: Change::Split { tasks } })
                .await
                .map_err(|_| StoreError::Gone)??;
            Ok((record, children))
        };
        create
            .into_actor(self)
            .map(move |result: Result<(JobRecord, Vec<JobRecord>), StoreError>, act, ctx| {
                match result {
                    Ok((record, children)) => {
                        tracing::info!(job = %id, tasks = children.len(), "split");
                        act.update(record);
                        for child in children {
                            act.update(child);
                        }
                    }
                    // Tasks created before the failure name a parent that does not list them: the recovery after a
                    // restart, or a retry, leaves them alone (they are cancelled when their parent is looked at).
                    Err(e) => tracing::error!(job = %id, "the split could not be recorded: {e}"),
                }
                act.dispatch(ctx);
            })
            .spawn(ctx);
    }

    /// A task's record changed: its row in the parent follows (in memory), and a task that ended moves the split on.
    pub(super) fn task_changed(&mut self, task: &JobRecord) {
        let Some(t) = &task.task else { return };
        let Some(view) = view_of(task) else { return };
        let parent_id = t.parent;
        let Some(parent) = self.active.get_mut(&parent_id) else {
            // The parent ended (cancelled, failed): a task still going is stopped, except its cleanup.
            if !task.state.is_final() && t.kind != TaskKind::Cleanup {
                self.orphans.insert(task.id);
                self.wake(parent_id);
            }
            return;
        };
        let Some(row) = parent.tasks.iter_mut().find(|row| row.job == task.id) else {
            if !task.state.is_final() && t.kind != TaskKind::Cleanup && parent.state == JobState::Running {
                self.orphans.insert(task.id);
                self.wake(parent_id);
            }
            return;
        };
        let ended = task.state.is_final() && !row.state.is_final();
        *row = view;
        if let Some(error) = task.error.clone().filter(|_| matches!(task.state, JobState::Failed | JobState::Cancelled))
        {
            self.task_errors.insert(task.id, error);
        }
        parent.progress = progress_of(parent);
        if let Some(sender) = self.watchers.get(&parent_id) {
            let _ = sender.send(parent.clone());
        }
        if ended {
            self.wake(parent_id);
        }
    }

    /// Asks for [`AdvanceSplit`] on the coordinator's own mailbox (the caller has no context to spawn from).
    fn wake(&self, parent: JobId) {
        if let Some(me) = self.me.as_ref().and_then(|me| me.upgrade()) {
            me.do_send(AdvanceSplit(parent));
        }
    }

    /// Moves a running split job on: fails it if a task failed, creates its join when its chunks and audio are done,
    /// succeeds it when its join did, and records its tasks as they stand.
    fn advance(&mut self, id: JobId, ctx: &mut Context<Self>) {
        // Tasks left over from a failed split record or an ended parent are cancelled.
        let orphans: Vec<JobId> = std::mem::take(&mut self.orphans).into_iter().collect();
        for orphan in orphans {
            self.cancel_task(orphan, "its job is no longer running".into(), ctx);
        }
        let Some(parent) = self.active.get(&id).filter(|p| p.is_split() && p.state == JobState::Running).cloned()
        else {
            return;
        };
        if !self.advancing.insert(id) {
            self.advance_again.insert(id);
            return;
        }
        let store = self.store.clone();
        // Tasks that ended while no one listened (before a restart) are read from the store.
        let stale: Vec<JobId> = parent
            .tasks
            .iter()
            .filter(|t| !self.active.contains_key(&t.job))
            .filter(|t| !t.state.is_final() || (t.kind == TaskKind::Join && t.state == JobState::Succeeded))
            .map(|t| t.job)
            .collect();
        let read = async move {
            let mut records = Vec::new();
            for job in stale {
                records.push(store.send(GetJob(job)).await.map_err(|_| StoreError::Gone)??);
            }
            Ok::<_, StoreError>(records)
        };
        read.into_actor(self)
            .map(move |records, act, ctx| match records {
                Ok(records) => {
                    let join_facts = records
                        .iter()
                        .find(|r| r.task.as_ref().is_some_and(|t| t.kind == TaskKind::Join))
                        .and_then(|r| r.facts.clone());
                    for record in &records {
                        act.task_changed(record);
                    }
                    act.decide(id, join_facts, ctx);
                }
                Err(e) => {
                    tracing::warn!(job = %id, "cannot read the split's tasks: {e}");
                    act.advanced(id, ctx);
                }
            })
            .spawn(ctx);
    }

    /// The step after [`Coordinator::advance`] read what it needed.
    fn decide(&mut self, id: JobId, join_facts: Option<distencode_wire::job::RenderFacts>, ctx: &mut Context<Self>) {
        let Some(parent) = self.active.get(&id).filter(|p| p.state == JobState::Running).cloned() else {
            return self.advanced(id, ctx);
        };
        let tasks = parent.tasks.clone();
        let failed = tasks
            .iter()
            .find(|t| t.kind != TaskKind::Cleanup && matches!(t.state, JobState::Failed | JobState::Cancelled));
        let change = if let Some(failed) = failed {
            let why = self.task_errors.get(&failed.job).cloned().unwrap_or_else(|| failed.state.to_string());
            let reason = format!(
                "task {} ({} of frames {}-{}) {}: {why}",
                failed.job, failed.kind, failed.first, failed.last, failed.state
            );
            Change::TaskFailed { tasks: ended(&tasks), reason }
        } else if let Some(join) = tasks.iter().find(|t| t.kind == TaskKind::Join) {
            match (join.state, join_facts) {
                (JobState::Succeeded, Some(facts)) => Change::Joined { tasks, facts },
                _ => Change::Tasks { tasks },
            }
        } else if tasks.iter().all(|t| t.state == JobState::Succeeded) {
            return self.create_join(parent, ctx);
        } else {
            Change::Tasks { tasks }
        };
        let failing = matches!(change, Change::TaskFailed { .. });
        self.change(id, change, ctx, move |result, act, ctx| {
            if let (Ok(record), true) = (&result, failing) {
                act.end_tasks(record, ctx);
            }
            act.advanced(id, ctx);
        });
    }

    fn advanced(&mut self, id: JobId, ctx: &mut Context<Self>) {
        self.advancing.remove(&id);
        if self.advance_again.remove(&id) {
            self.advance(id, ctx);
        }
    }

    /// Every chunk and the audio pass are done: the join goes into the queue.
    fn create_join(&mut self, parent: JobRecord, ctx: &mut Context<Self>) {
        let id = parent.id;
        let Some(request) = parent.split.as_ref().map(|s| s.request.clone()) else { return self.advanced(id, ctx) };
        let ranges: Vec<(u64, u64)> =
            parent.tasks.iter().filter(|t| t.kind == TaskKind::Chunk).map(|t| (t.first, t.last)).collect();
        let spec = plan::task_spec(&parent, parent.output.clone(), plan::join(&parent, &request, &ranges));
        let store = self.store.clone();
        let create = async move {
            let join = store
                .send(CreateJob { spec, submitted_by: parent.submitted_by.clone() })
                .await
                .map_err(|_| StoreError::Gone)??;
            let mut tasks = parent.tasks.clone();
            tasks.extend(view_of(&join));
            let record = store
                .send(ApplyChange { id, change: Change::Tasks { tasks } })
                .await
                .map_err(|_| StoreError::Gone)??;
            Ok::<_, StoreError>((record, join))
        };
        create
            .into_actor(self)
            .map(move |result, act, ctx| {
                match result {
                    Ok((record, join)) => {
                        tracing::info!(job = %id, join = %join.id, "chunks and audio done: joining");
                        act.update(record);
                        act.update(join);
                        act.dispatch(ctx);
                    }
                    Err(e) => tracing::error!(job = %id, "the join could not be recorded: {e}"),
                }
                act.advanced(id, ctx);
            })
            .spawn(ctx);
    }

    /// A split job ended without its file (cancelled, or a task failed): its other tasks are cancelled, and a
    /// cleanup task removes its chunk files.
    pub(super) fn end_tasks(&mut self, parent: &JobRecord, ctx: &mut Context<Self>) {
        let reason = format!("job {} {}", parent.id, parent.state);
        let going: Vec<JobId> = parent
            .tasks
            .iter()
            .filter(|t| self.active.get(&t.job).is_some_and(|r| !r.state.is_final()))
            .map(|t| t.job)
            .collect();
        for task in going {
            self.cancel_task(task, reason.clone(), ctx);
        }
        let Some(request) = parent.split.as_ref().map(|s| s.request.clone()) else { return };
        let ranges: Vec<(u64, u64)> =
            parent.tasks.iter().filter(|t| t.kind == TaskKind::Chunk).map(|t| (t.first, t.last)).collect();
        if ranges.is_empty() {
            return;
        }
        let join = plan::join(parent, &request, &ranges);
        let inputs: Vec<TaskInput> = join.inputs;
        let cleanup = Task { kind: TaskKind::Cleanup, inputs, ..join };
        let spec = plan::task_spec(parent, parent.output.clone(), cleanup);
        let create = self.store.send(CreateJob { spec, submitted_by: parent.submitted_by.clone() });
        create
            .into_actor(self)
            .map(|result, act, ctx| match result.unwrap_or(Err(StoreError::Gone)) {
                Ok(record) => {
                    act.update(record);
                    act.dispatch(ctx);
                }
                Err(e) => tracing::warn!("the cleanup of a split job could not be recorded: {e}"),
            })
            .spawn(ctx);
    }

    /// Cancels one task and stops its render.
    fn cancel_task(&mut self, task: JobId, reason: String, ctx: &mut Context<Self>) {
        let live = self.active.get(&task).and_then(|r| r.current_attempt()).map(|a| (a.worker.clone(), a.number));
        self.change(task, Change::Cancel { reason }, ctx, move |result, act, _| {
            if let (Ok(_), Some((worker, attempt))) = (result, live) {
                act.registry
                    .do_send(SendTo { name: worker, message: CoordinatorToWorker::Cancel { job: task, attempt } });
            }
        });
    }

    /// After a restart: every running split job is looked at again once its tasks are loaded.
    pub(super) fn recover_splits(&mut self, ctx: &mut Context<Self>) {
        let parents: Vec<JobRecord> =
            self.active.values().filter(|r| r.is_split() && r.state == JobState::Running).cloned().collect();
        let queued: Vec<JobRecord> =
            self.active.values().filter(|r| r.is_split() && r.state == JobState::Queued).cloned().collect();
        for parent in parents {
            let children: Vec<JobRecord> =
                parent.tasks.iter().filter_map(|t| self.active.get(&t.job).cloned()).collect();
            for child in &children {
                self.task_changed(child);
            }
            self.advance(parent.id, ctx);
        }
        // Recorded but not yet planned when the coordinator stopped.
        for parent in queued {
            self.start_split(parent, ctx);
        }
    }
}

impl Handler<AdvanceSplit> for Coordinator {
    type Result = ();

    fn handle(&mut self, msg: AdvanceSplit, ctx: &mut Self::Context) {
        self.advance(msg.0, ctx);
    }
}
