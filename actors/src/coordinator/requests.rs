//! What clients ask of the Coordinator: submit, look, follow, cancel, retry, reprioritise.

use super::split;
use super::*;
use crate::auth::{authorize, redact, Action};
use crate::registry::{CheckNeeds, ListWorkers, Needs, SendTo, StackOf};
use crate::store::{record_refusal, Audited, CreateJob, GetJob, GetThumbnail, JobPage, LogCursor, QueryJobs, ReadLog};
use distencode_wire::audit::{AuditAction, AuditEntry};
use distencode_wire::job::{JobSpec, TaskKind};
use distencode_wire::message::{CoordinatorToWorker, WorkerView};

/// Records `entry` as refused for `refused`, then answers with the refusal.
async fn refusal<T>(store: Addr<crate::store::JobStore>, entry: AuditEntry, refused: RequestError) -> Answer<T> {
    record_refusal(&store, entry, &refused).await;
    Err(refused)
}

/// A store's answer; a store that is gone says so as the store does.
fn answer<T>(result: Result<Result<T, StoreError>, MailboxError>) -> Answer<T> {
    Ok(result.unwrap_or(Err(StoreError::Gone))?)
}

impl Handler<Submit> for Coordinator {
    type Result = ResponseActFuture<Self, Answer<JobRecord>>;

    fn handle(&mut self, msg: Submit, _: &mut Self::Context) -> Self::Result {
        // Who may submit is answered first; then whether the output is free (a refusal names the job holding it).
        let entry = audit::entry(&msg.by, AuditAction::Submit, &format!("project {}", msg.spec.project));
        let allowed = authorize(&self.config.users, &msg.by, Action::Submit { priority: msg.spec.priority });
        if let Err(refused) = allowed.map_err(RequestError::from).and_then(|()| self.check_output_free(&msg.spec)) {
            return Box::pin(refusal(self.store.clone(), entry, refused).into_actor(self));
        }
        let output = msg.spec.output.clone();
        self.submitting_outputs.insert(output.clone());
        let needs = Needs::of(&msg.spec.services, &msg.spec.encoding);
        let (registry, store) = (self.registry.clone(), self.store.clone());
        let mut spec = msg.spec;
        let create = async move {
            // A job no worker of the pool could render is refused now, with what each worker lacks.
            let checked = registry.send(CheckNeeds(needs)).await.map_err(RequestError::from).and_then(|r| r);
            if let Err(refused) = checked {
                return refusal(store.clone(), entry, refused).await;
            }
            // `--like W`: W's render stack now is the one the job keeps.
            if let Some(like) = spec.like.as_mut() {
                match registry.send(StackOf(like.worker.clone())).await {
                    Ok(Some(stack)) => like.fingerprint = stack,
                    Ok(None) => {
                        let refused = RequestError::NoSuchLike(like.worker.clone());
                        return refusal(store.clone(), entry, refused).await;
                    }
                    Err(e) => return refusal(store.clone(), entry, e.into()).await,
                }
            }
            let change = CreateJob { spec, submitted_by: msg.by.name };
            answer(store.send(Audited { change, entry }).await)
        };
        Box::pin(create.into_actor(self).map(move |result, act, ctx| {
            act.submitting_outputs.remove(&output);
            let record = result?;
            tracing::info!(job = %record.id, project = %record.project, by = %record.submitted_by, "submitted");
            act.config.metrics.submitted();
            act.update(record.clone());
            if record.is_split() {
                act.start_split(record.clone(), ctx);
            }
            act.dispatch(ctx);
            Ok(record)
        }))
    }
}

impl Coordinator {
    /// Two jobs that are not final may not share an output, nor may one's output be another's project: the file
    /// would hold the last writer's frames, or a project would be rendered over. Paths compare as the client sent
    /// them (absolute, `.` and `..` folded); the workers compare files after resolving links.
    fn check_output_free(&self, spec: &JobSpec) -> Answer<()> {
        let output = &spec.output;
        for job in self.active.values() {
            let what = if &job.output == output {
                "output"
            } else if &job.project == output {
                "project"
            } else {
                continue;
            };
            return Err(RequestError::OutputInUse { output: output.clone(), what, job: job.id, state: job.state });
        }
        if self.submitting_outputs.contains(output) {
            return Err(RequestError::OutputBeingSubmitted(output.clone()));
        }
        Ok(())
    }
}

impl Handler<Status> for Coordinator {
    type Result = ResponseActFuture<Self, Answer<JobRecord>>;

    fn handle(&mut self, msg: Status, _: &mut Self::Context) -> Self::Result {
        if let Some(record) = self.active.get(&msg.0) {
            let explained = self.explained_one(record.clone());
            return Box::pin(async move { Ok(explained.await) }.into_actor(self));
        }
        Box::pin(self.store.send(GetJob(msg.0)).into_actor(self).map(|r, _, _| answer(r)))
    }
}

impl Handler<List> for Coordinator {
    type Result = ResponseActFuture<Self, Answer<Vec<JobRecord>>>;

    fn handle(&mut self, _: List, _: &mut Self::Context) -> Self::Result {
        let list = self.store.send(ListJobs { unfinished_only: false });
        Box::pin(list.into_actor(self).then(|result, act, _| {
            let explained = answer(result).map(|mut jobs| {
                for job in &mut jobs {
                    if let Some(live) = act.active.get(&job.id) {
                        job.progress = live.progress.clone();
                    }
                }
                act.explained(jobs)
            });
            async move { Ok(explained?.await) }.into_actor(act)
        }))
    }
}

impl Handler<ListPage> for Coordinator {
    type Result = ResponseActFuture<Self, Answer<JobPage>>;

    fn handle(&mut self, msg: ListPage, _: &mut Self::Context) -> Self::Result {
        let ListPage(mut filter, by) = msg;
        let users = self.config.users.clone();
        if !by.is_admin() {
            // The reader's own jobs: submitted under their name or one of their certificates' names.
            let mut own: Vec<String> =
                users.certificate_users.iter().filter(|(_, user)| **user == by.name).map(|(c, _)| c.clone()).collect();
            own.push(by.name.clone());
            filter.details_of = Some(own);
        }
        let query = self.store.send(QueryJobs(filter));
        Box::pin(query.into_actor(self).then(move |result, act, _| {
            let explained = answer(result).map(|mut page| {
                for job in &mut page.jobs {
                    if let Some(live) = act.active.get(&job.id) {
                        job.progress = live.progress.clone();
                    }
                }
                page.queue_positions = act.queue_positions(&page.jobs);
                let jobs = act.explained(std::mem::take(&mut page.jobs));
                (page, jobs)
            });
            async move {
                let (mut page, jobs) = explained?;
                page.jobs = jobs.await.into_iter().map(|job| redact(&users, &by, job)).collect();
                Ok(page)
            }
            .into_actor(act)
        }))
    }
}

impl Handler<Seen> for Coordinator {
    type Result = ResponseActFuture<Self, Answer<JobRecord>>;

    fn handle(&mut self, msg: Seen, ctx: &mut Self::Context) -> Self::Result {
        let users = self.config.users.clone();
        let status = <Self as Handler<Status>>::handle(self, Status(msg.id), ctx);
        Box::pin(status.map(move |result, _, _| Ok(redact(&users, &msg.by, result?))))
    }
}

impl Coordinator {
    /// The place in the queue (1 runs next) of each of `jobs` that is queued: one walk of the queue, which stops
    /// once every one is found.
    fn queue_positions(&self, jobs: &[JobRecord]) -> Vec<(JobId, usize)> {
        let mut wanted: HashSet<JobId> =
            jobs.iter().filter(|job| job.state == JobState::Queued).map(|job| job.id).collect();
        let mut found = Vec::with_capacity(wanted.len());
        for (place, (_, id)) in self.queue.iter().enumerate() {
            if wanted.is_empty() {
                break;
            }
            if wanted.remove(id) {
                found.push((*id, place + 1));
            }
        }
        found
    }
}

/// The most log text one read returns (replies stay well under the frame cap).
pub const LOG_READ_BYTES: usize = 4 * 1024 * 1024;

impl Handler<Logs> for Coordinator {
    type Result = ResponseActFuture<Self, Answer<(String, Option<LogCursor>)>>;

    fn handle(&mut self, msg: Logs, _: &mut Self::Context) -> Self::Result {
        let read = self.store.send(ReadLog { id: msg.id, after: msg.after, max_bytes: LOG_READ_BYTES });
        Box::pin(read.into_actor(self).map(|r, _, _| answer(r)))
    }
}

impl Handler<Thumbnail> for Coordinator {
    type Result = ResponseActFuture<Self, Answer<Option<Vec<u8>>>>;

    fn handle(&mut self, msg: Thumbnail, _: &mut Self::Context) -> Self::Result {
        // The same rule as the log's: the owner or an admin.
        let owned = self.owned(msg.id, msg.by, |job, owner| Action::SeeDetails { job, owner });
        let store = self.store.clone();
        let read = async move {
            owned.await?;
            answer(store.send(GetThumbnail(msg.id)).await)
        };
        Box::pin(read.into_actor(self))
    }
}

impl Handler<Details> for Coordinator {
    type Result = ResponseActFuture<Self, Answer<JobRecord>>;

    fn handle(&mut self, msg: Details, _: &mut Self::Context) -> Self::Result {
        let owned = self.owned(msg.id, msg.by, |job, owner| Action::SeeDetails { job, owner });
        Box::pin(owned.into_actor(self).then(|record, act, _| {
            let explained = record.map(|record| act.explained_one(record));
            async move { Ok(explained?.await) }.into_actor(act)
        }))
    }
}

impl Handler<LogSignal> for Coordinator {
    type Result = Answer<Option<watch::Receiver<u64>>>;

    fn handle(&mut self, msg: LogSignal, _: &mut Self::Context) -> Self::Result {
        if !self.active.contains_key(&msg.0) {
            return Ok(None);
        }
        Ok(Some(self.log_signals.entry(msg.0).or_insert_with(|| watch::channel(0).0).subscribe()))
    }
}

impl Handler<Watch> for Coordinator {
    type Result = ResponseActFuture<Self, Answer<watch::Receiver<JobRecord>>>;

    fn handle(&mut self, msg: Watch, ctx: &mut Self::Context) -> Self::Result {
        let id = msg.0;
        if let Some(record) = self.active.get(&id) {
            let queued = record.state == JobState::Queued;
            let sender = self.watchers.entry(id).or_insert_with(|| watch::channel(record.clone()).0);
            let receiver = sender.subscribe();
            if queued {
                // The follower hears why it waits at once, not at the next look.
                self.refresh_followed_waits(ctx);
            }
            return Box::pin(async move { Ok(receiver) }.into_actor(self));
        }
        // Already final: a receiver holding the final record, whose sender is gone.
        Box::pin(self.store.send(GetJob(id)).into_actor(self).map(|r, _, _| {
            let record = answer(r)?;
            let (_, receiver) = watch::channel(record);
            Ok(receiver)
        }))
    }
}

impl Coordinator {
    /// The job's record as it is now (live, or from the store), once `by` may do `action` with it: the owner never
    /// changes, so the check holds for the change that follows.
    fn owned(
        &self,
        id: JobId,
        by: crate::auth::User,
        action: impl for<'a> FnOnce(JobId, &'a str) -> Action<'a> + 'static,
    ) -> impl std::future::Future<Output = Answer<JobRecord>> + 'static {
        self.owned_audited(id, by, action, None)
    }

    /// As [`Coordinator::owned`]; a refusal (or a job that is not there) is recorded as `entry`, refused, before
    /// it is answered.
    fn owned_audited(
        &self,
        id: JobId,
        by: crate::auth::User,
        action: impl for<'a> FnOnce(JobId, &'a str) -> Action<'a> + 'static,
        entry: Option<AuditEntry>,
    ) -> impl std::future::Future<Output = Answer<JobRecord>> + 'static {
        let (live, store, users) = (self.active.get(&id).cloned(), self.store.clone(), self.config.users.clone());
        async move {
            let checked = async {
                let record = match live {
                    Some(record) => record,
                    None => answer(store.send(GetJob(id)).await)?,
                };
                authorize(&users, &by, action(id, &record.submitted_by))?;
                Answer::Ok(record)
            };
            match (checked.await, entry) {
                (Err(refused), Some(entry)) => refusal(store.clone(), entry, refused).await,
                (result, _) => result,
            }
        }
    }
}

impl Handler<Cancel> for Coordinator {
    type Result = ResponseActFuture<Self, Answer<JobRecord>>;

    fn handle(&mut self, msg: Cancel, _: &mut Self::Context) -> Self::Result {
        let id = msg.id;
        let entry = audit::entry(&msg.by, AuditAction::Cancel, &audit::job(id));
        if let Some(parent) = self.active.get(&id).and_then(|r| r.task.as_ref()).filter(|t| t.kind != TaskKind::Cleanup)
        {
            let refused = RequestError::TaskOfSplitJob { task: id, parent: parent.parent };
            return Box::pin(refusal(self.store.clone(), entry, refused).into_actor(self));
        }
        let reason = format!("cancelled by {}", msg.by.name);
        let change = match self.active.get(&id).filter(|r| r.is_split()) {
            Some(parent) => {
                // A split job whose join is putting its file in place is finishing, as a single render would be.
                let joining = parent.tasks.iter().filter(|t| t.kind == TaskKind::Join).any(|t| {
                    self.active.get(&t.job).and_then(|j| j.current_attempt()).is_some_and(|a| a.committed_at.is_some())
                });
                if joining {
                    let error = crate::store::TransitionError::Finishing { id };
                    let refused = RequestError::Store(StoreError::Refused { id, error });
                    return Box::pin(refusal(self.store.clone(), entry, refused).into_actor(self));
                }
                Change::CancelSplit { tasks: split::ended(&parent.tasks), reason }
            }
            None => Change::Cancel { reason },
        };
        // Only its owner or an admin cancels it (checked before the change is asked for; the owner never changes).
        let owned = self.owned_audited(id, msg.by, |job, owner| Action::Cancel { job, owner }, Some(entry.clone()));
        let store = self.store.clone();
        let apply = async move {
            owned.await?;
            answer(store.send(Audited { change: ApplyChange { id, change }, entry }).await)
        };
        let live = self.active.get(&id).and_then(|r| r.current_attempt()).map(|a| (a.worker.clone(), a.number));
        Box::pin(apply.into_actor(self).map(move |result, act, ctx| {
            let record = result?;
            act.update(record.clone());
            act.end_tasks(&record, ctx);
            if let Some((worker, attempt)) = live {
                // The worker kills melt, removes its partial file and reports; its report is then stale.
                act.registry
                    .do_send(SendTo { name: worker, message: CoordinatorToWorker::Cancel { job: id, attempt } });
            }
            tracing::info!(job = %id, "cancelled");
            Ok(record)
        }))
    }
}

impl Handler<Retry> for Coordinator {
    type Result = ResponseActFuture<Self, Answer<JobRecord>>;

    fn handle(&mut self, msg: Retry, _: &mut Self::Context) -> Self::Result {
        let id = msg.id;
        let entry = audit::entry(&msg.by, AuditAction::Retry, &audit::job(id));
        let owned = self.owned_audited(id, msg.by, |job, owner| Action::Retry { job, owner }, Some(entry.clone()));
        // Its output may have become another live job's since it ended: checked as a submit's is, and held while
        // the retry is written.
        let apply = owned.into_actor(self).then(move |owned, act, _| {
            let store = act.store.clone();
            let free = owned.map(|record| (act.check_output_free(&record.spec()), record.output));
            let held = match &free {
                Ok((Ok(()), output)) => {
                    act.submitting_outputs.insert(output.clone());
                    Some(output.clone())
                }
                _ => None,
            };
            let write = async move {
                match free? {
                    (Err(refused), _) => refusal(store, entry, refused).await,
                    (Ok(()), _) => {
                        answer(store.send(Audited { change: ApplyChange { id, change: Change::Retry }, entry }).await)
                    }
                }
            };
            write.into_actor(act).map(move |result, act, _| {
                if let Some(output) = held {
                    act.submitting_outputs.remove(&output);
                }
                result
            })
        });
        Box::pin(apply.map(|result, act, ctx| {
            let record = result?;
            act.update(record.clone());
            if record.is_split() {
                act.start_split(record.clone(), ctx);
            }
            act.dispatch(ctx);
            Ok(record)
        }))
    }
}

impl Handler<SetPriority> for Coordinator {
    type Result = ResponseActFuture<Self, Answer<JobRecord>>;

    fn handle(&mut self, msg: SetPriority, _: &mut Self::Context) -> Self::Result {
        let (id, priority) = (msg.id, msg.priority);
        let entry = audit::entry(&msg.by, AuditAction::Priority, &format!("job {id} to priority {priority}"));
        let owned = self.owned_audited(
            id,
            msg.by,
            move |job, owner| Action::SetPriority { job, owner, priority },
            Some(entry.clone()),
        );
        let store = self.store.clone();
        let apply = async move {
            owned.await?;
            let change = ApplyChange { id, change: Change::Priority { priority } };
            answer(store.send(Audited { change, entry }).await)
        };
        Box::pin(apply.into_actor(self).map(|result, act, ctx| {
            let record = result?;
            act.update(record.clone());
            act.dispatch(ctx);
            Ok(record)
        }))
    }
}

impl Handler<SubscribeEvents> for Coordinator {
    type Result = MessageResult<SubscribeEvents>;

    fn handle(&mut self, _: SubscribeEvents, _: &mut Self::Context) -> Self::Result {
        MessageResult(self.farm.subscribe())
    }
}

impl Handler<Workers> for Coordinator {
    type Result = ResponseActFuture<Self, Answer<Vec<WorkerView>>>;

    fn handle(&mut self, _: Workers, _: &mut Self::Context) -> Self::Result {
        Box::pin(self.registry.send(ListWorkers).into_actor(self).map(|r, _, _| Ok(r?)))
    }
}

impl Handler<Delete> for Coordinator {
    type Result = ResponseActFuture<Self, Answer<Vec<JobId>>>;

    fn handle(&mut self, msg: Delete, _: &mut Self::Context) -> Self::Result {
        let (store, users, by) = (self.store.clone(), self.config.users.clone(), msg.by);
        let mut ids = msg.ids;
        ids.sort_unstable();
        ids.dedup();
        let entry = audit::entry(&by, AuditAction::Delete, &audit::jobs(&ids));
        let delete = async move {
            // Each job is the caller's to delete (or they are an admin); a split job takes its tasks with it.
            let checked = async {
                let mut all = ids.clone();
                for &id in &ids {
                    let record = answer(store.send(GetJob(id)).await)?;
                    authorize(&users, &by, Action::Delete { job: id, owner: &record.submitted_by })?;
                    all.extend(record.tasks.iter().map(|task| task.job));
                }
                all.sort_unstable();
                all.dedup();
                Answer::Ok(all)
            };
            let all = match checked.await {
                Ok(all) => all,
                Err(refused) => return refusal(store.clone(), entry, refused).await,
            };
            let deleted = answer(store.send(Audited { change: crate::store::DeleteJobs(all), entry }).await)?;
            Answer::Ok(deleted.into_iter().map(|record| record.id).collect::<Vec<_>>())
        };
        Box::pin(delete.into_actor(self).map(|result, act, _| {
            let deleted = result?;
            act.forget(&deleted);
            Ok(deleted)
        }))
    }
}

impl Handler<Prune> for Coordinator {
    type Result = ResponseActFuture<Self, Answer<Vec<JobId>>>;

    fn handle(&mut self, msg: Prune, _: &mut Self::Context) -> Self::Result {
        let allowed = match &msg.by {
            Some(by) => authorize(&self.config.users, by, Action::Prune).map_err(RequestError::from),
            None => Ok(()),
        };
        // The coordinator's own retention (`by: None`) is no one's request: it is not in the trail.
        let target = format!("jobs finished before {} (unix ms)", msg.before);
        let entry = msg.by.as_ref().map(|by| audit::entry(by, AuditAction::Prune, &target));
        let store = self.store.clone();
        let prune = async move {
            let change = crate::store::PruneJobs { before: msg.before };
            let deleted = match (allowed, entry) {
                (Err(refused), Some(entry)) => return refusal(store.clone(), entry, refused).await,
                (Err(refused), None) => return Err(refused),
                (Ok(()), Some(entry)) => answer(store.send(Audited { change, entry }).await)?,
                (Ok(()), None) => answer(store.send(change).await)?,
            };
            Answer::Ok(deleted.into_iter().map(|record| record.id).collect::<Vec<_>>())
        };
        Box::pin(prune.into_actor(self).map(|result, act, _| {
            let deleted = result?;
            if !deleted.is_empty() {
                tracing::info!(jobs = deleted.len(), "pruned finished jobs");
            }
            act.forget(&deleted);
            Ok(deleted)
        }))
    }
}

impl Handler<BackupStore> for Coordinator {
    type Result = ResponseActFuture<Self, Answer<String>>;

    fn handle(&mut self, msg: BackupStore, _: &mut Self::Context) -> Self::Result {
        let entry = audit::entry(&msg.by, AuditAction::Backup, &format!("store to {}", msg.to));
        let store = self.store.clone();
        let allowed =
            authorize(&self.config.users, &msg.by, Action::Backup).map_err(RequestError::from).and_then(|()| {
                if std::path::Path::new(&msg.to).is_absolute() {
                    Ok(())
                } else {
                    Err(RequestError::BackupPathNotAbsolute(msg.to.clone()))
                }
            });
        let backup = async move {
            if let Err(refused) = allowed {
                return refusal(store, entry, refused).await;
            }
            let change = crate::store::Backup { to: msg.to.into() };
            answer(store.send(Audited { change, entry }).await)
        };
        Box::pin(backup.into_actor(self).map(|result, _, _| {
            if let Ok(summary) = &result {
                tracing::info!(%summary, "store backed up");
            }
            result
        }))
    }
}
