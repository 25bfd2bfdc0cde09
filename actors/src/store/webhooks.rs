//! Webhooks and their durable outbox: the webhooks people set (tree `webhooks`, key: the webhook's id), the
//! deliveries waiting to be sent (tree `outbox`, key: a sequence number; a schedule in memory, read at open, says
//! which are due), and each webhook's recent attempts (tree `webhook-sent`, key: webhook id then sequence number).
//! Values are the versioned records of [`super::stored::webhook`].
//!
//! A job's delivery is written by [`JobStore::enqueue_job`] in the same handler, and so the same flush, as the
//! change that made the job final: a final state is never durable without its deliveries. A worker's event is not
//! stored state, so its deliveries are written by [`Enqueue`] right after it happens. The sender
//! (`crate::webhooks`) asks for what is due ([`DueDeliveries`]), and reports each attempt ([`Delivered`]): an
//! answer of 2xx removes the delivery, so it is never sent again; anything else sets when it is tried again, until
//! it is [`MAX_DELIVERY_AGE`] old and given up.

use super::audit::Operation;
use super::stored::webhook::{
    decode_pending, decode_sent, decode_webhook, encode_pending, encode_sent, encode_webhook, Event, Pending, Sent,
    Webhook,
};
use super::{Durable, JobStore, StoreError};
use actix::{Handler, Message};
use distencode_wire::job::{now_ms, JobRecord, JobState};
use std::collections::{BTreeSet, HashSet};
use std::sync::atomic::Ordering;
use std::time::Duration;

/// Webhooks one user may have at most.
pub const MAX_WEBHOOKS_PER_USER: usize = 20;
/// Webhooks of the whole farm at most.
pub const MAX_WEBHOOKS: usize = 1000;
/// Deliveries waiting at most: past it, a new event's deliveries are dropped (and logged), so a receiver that is
/// down for a day cannot fill the coordinator's disk.
pub const MAX_OUTBOX: usize = 10_000;
/// How long a delivery is retried before it is given up.
pub const MAX_DELIVERY_AGE: Duration = Duration::from_secs(86_400);
/// Bytes of one delivery's body at most (a job's JSON is a few KiB).
pub const MAX_BODY_BYTES: usize = 256 * 1024;
/// Attempts kept per webhook for its page.
pub const SENT_KEPT: usize = 20;

/// A webhook to record (its id is given by the store); answers with it.
#[derive(Message)]
#[rtype(result = "Result<Webhook, StoreError>")]
pub struct AddWebhook(pub Webhook);

/// Removes a webhook, its waiting deliveries and its attempts; answers with what was removed.
#[derive(Message)]
#[rtype(result = "Result<Webhook, StoreError>")]
pub struct RemoveWebhook(pub u64);

/// Every webhook (only `owner`'s if named), by id.
#[derive(Message)]
#[rtype(result = "Result<Vec<Webhook>, StoreError>")]
pub struct ListWebhooks {
    pub owner: Option<String>,
}

/// One webhook with its recent attempts (newest first) and how many deliveries wait.
#[derive(Message)]
#[rtype(result = "Result<(Webhook, Vec<Sent>, usize), StoreError>")]
pub struct ReadWebhook(pub u64);

/// An event that is not a job's (a worker lost or suspect, a certificate expiring): a delivery to every farm-wide
/// webhook that listens for it (only to webhook `only`, if named). Answers how many were written.
#[derive(Message)]
#[rtype(result = "Result<usize, StoreError>")]
pub struct Enqueue {
    pub event: Event,
    pub body: String,
    pub only: Option<u64>,
}

/// A delivery due now, with where it goes and the key it is signed with.
#[derive(Clone, Debug)]
pub struct Due {
    /// Its key in the outbox.
    pub key: u64,
    pub pending: Pending,
    pub url: String,
    pub secret: String,
}

/// Deliveries whose time has come (`next_at <= now`), oldest first, at most `limit`, none of those in `busy` (being
/// sent now).
#[derive(Message)]
#[rtype(result = "Result<Vec<Due>, StoreError>")]
pub struct DueDeliveries {
    pub now: u64,
    pub limit: usize,
    pub busy: HashSet<u64>,
}

/// How one attempt went: `status` if the receiver answered, `error` otherwise; a status of 2xx removes the
/// delivery, anything else has it tried again at `retry_at` (unix ms), unless it is older than
/// [`MAX_DELIVERY_AGE`] by then.
#[derive(Message)]
#[rtype(result = "Result<(), StoreError>")]
pub struct Delivered {
    pub key: u64,
    pub status: Option<u16>,
    pub error: Option<String>,
    pub retry_at: u64,
}

/// The schedule of `outbox` (when each delivery is due, and its key), read at open.
pub(super) fn schedule_of(outbox: &sled::Tree) -> Result<BTreeSet<(u64, u64)>, StoreError> {
    let mut schedule = BTreeSet::new();
    for item in outbox.iter() {
        let (key, value) = item?;
        schedule.insert((decode_pending(&value).map_err(corrupt)?.next_at, key_u64(&key)?));
    }
    Ok(schedule)
}

fn corrupt(e: String) -> StoreError {
    StoreError::Corrupt(e)
}

fn key_u64(key: &[u8]) -> Result<u64, StoreError> {
    let bytes: [u8; 8] = key.try_into().map_err(|_| corrupt(format!("webhook key of {} bytes", key.len())))?;
    Ok(u64::from_be_bytes(bytes))
}

fn sent_key(webhook: u64, seq: u64) -> [u8; 16] {
    let mut key = [0u8; 16];
    key[..8].copy_from_slice(&webhook.to_be_bytes());
    key[8..].copy_from_slice(&seq.to_be_bytes());
    key
}

/// A new `webhook-id`: `msg_` and 16 random bytes in hex.
fn message_id() -> String {
    use ring::rand::SecureRandom;
    let mut bytes = [0u8; 16];
    let _ = ring::rand::SystemRandom::new().fill(&mut bytes);
    format!("msg_{}", bytes.iter().map(|b| format!("{b:02x}")).collect::<String>())
}

impl JobStore {
    /// The next sequence number of the outbox and of the attempts: from the clock at open, so it grows across
    /// restarts too (it only orders them).
    fn next_seq(&self) -> u64 {
        self.next_webhook_seq.fetch_add(1, Ordering::Relaxed)
    }

    /// The outbox's schedule (see [`JobStore::outbox_schedule`]).
    fn schedule(&self) -> std::sync::MutexGuard<'_, BTreeSet<(u64, u64)>> {
        self.outbox_schedule.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Removes one delivery from the outbox, and from its schedule.
    fn outbox_remove(&self, key: &[u8]) -> Result<(), StoreError> {
        if let Some(old) = self.outbox.remove(key)? {
            let next_at = decode_pending(&old).map_err(corrupt)?.next_at;
            self.schedule().remove(&(next_at, key_u64(key)?));
        }
        Ok(())
    }

    /// Every webhook, by id (only `owner`'s if named).
    pub fn webhooks(&self, owner: Option<&str>) -> Result<Vec<Webhook>, StoreError> {
        let mut found = Vec::new();
        for value in self.webhooks.iter().values() {
            let webhook = decode_webhook(&value?).map_err(corrupt)?;
            if owner.is_none_or(|owner| webhook.owner == owner) {
                found.push(webhook);
            }
        }
        Ok(found)
    }

    /// Records a webhook under the next free id (not yet flushed), within [`MAX_WEBHOOKS_PER_USER`] and
    /// [`MAX_WEBHOOKS`].
    pub fn add_webhook(&self, mut webhook: Webhook) -> Result<Webhook, StoreError> {
        self.fault.check()?;
        let all = self.webhooks(None)?;
        let own = all.iter().filter(|w| w.owner == webhook.owner).count();
        if own >= MAX_WEBHOOKS_PER_USER {
            return Err(StoreError::Webhook(format!(
                "{} has {own} webhooks, the most one user may have; delete one first",
                webhook.owner
            )));
        }
        if all.len() >= MAX_WEBHOOKS {
            return Err(StoreError::Webhook(format!("the farm has {MAX_WEBHOOKS} webhooks, the most it keeps")));
        }
        webhook.id = match self.webhooks.last()? {
            Some((key, _)) => key_u64(&key)?.saturating_add(1),
            None => 1,
        };
        self.webhooks.insert(webhook.id.to_be_bytes(), encode_webhook(&webhook).map_err(corrupt)?)?;
        Ok(webhook)
    }

    /// One webhook.
    pub fn webhook(&self, id: u64) -> Result<Webhook, StoreError> {
        let value = self.webhooks.get(id.to_be_bytes())?.ok_or(StoreError::NoSuchWebhook(id))?;
        decode_webhook(&value).map_err(corrupt)
    }

    /// Removes a webhook with its waiting deliveries and its attempts (not yet flushed).
    pub fn remove_webhook(&self, id: u64) -> Result<Webhook, StoreError> {
        self.fault.check()?;
        let webhook = self.webhook(id)?;
        for item in self.outbox.iter() {
            let (key, value) = item?;
            if decode_pending(&value).map_err(corrupt)?.webhook == id {
                self.outbox_remove(&key)?;
            }
        }
        for key in self.webhook_sent.scan_prefix(id.to_be_bytes()).keys() {
            self.webhook_sent.remove(key?)?;
        }
        self.webhooks.remove(id.to_be_bytes())?;
        Ok(webhook)
    }

    /// A webhook, its recent attempts (newest first) and its deliveries waiting.
    pub fn read_webhook(&self, id: u64) -> Result<(Webhook, Vec<Sent>, usize), StoreError> {
        let webhook = self.webhook(id)?;
        let mut sent = Vec::new();
        for value in self.webhook_sent.scan_prefix(id.to_be_bytes()).values().rev().take(SENT_KEPT) {
            sent.push(decode_sent(&value?).map_err(corrupt)?);
        }
        let mut waiting = 0;
        for value in self.outbox.iter().values() {
            if decode_pending(&value?).map_err(corrupt)?.webhook == id {
                waiting += 1;
            }
        }
        Ok((webhook, sent, waiting))
    }

    /// Writes a delivery of `body` to each webhook of `listeners` (not yet flushed), within [`MAX_OUTBOX`];
    /// answers how many were written.
    fn enqueue_to(&self, listeners: &[Webhook], event: Event, body: &str) -> Result<usize, StoreError> {
        if listeners.is_empty() {
            return Ok(0);
        }
        if body.len() > MAX_BODY_BYTES {
            tracing::error!(%event, bytes = body.len(), "webhook body larger than {MAX_BODY_BYTES} bytes: not sent");
            return Ok(0);
        }
        let waiting = self.schedule().len();
        if waiting + listeners.len() > MAX_OUTBOX {
            tracing::error!(%event, waiting, "webhook outbox full ({MAX_OUTBOX} deliveries): this event is not sent");
            return Ok(0);
        }
        let now = now_ms();
        for webhook in listeners {
            let pending = Pending {
                webhook: webhook.id,
                message: message_id(),
                event,
                created: now,
                body: body.to_string(),
                attempts: 0,
                next_at: now,
            };
            let seq = self.next_seq();
            self.outbox.insert(seq.to_be_bytes(), encode_pending(&pending).map_err(corrupt)?)?;
            self.schedule().insert((now, seq));
        }
        Ok(listeners.len())
    }

    /// The deliveries of a job that has just become final, written beside its record (not yet flushed). A task of
    /// a split job is no job of anyone's: only its split job is told of. A failure is logged: the job's change
    /// stands.
    pub(super) fn enqueue_job(&self, record: &JobRecord) {
        let event = match record.state {
            JobState::Succeeded => Event::JobSucceeded,
            JobState::Failed => Event::JobFailed,
            JobState::Cancelled => Event::JobCancelled,
            _ => return,
        };
        if record.task.is_some() {
            return;
        }
        let written = self.webhooks(None).and_then(|all| {
            let listeners: Vec<Webhook> = all
                .into_iter()
                .filter(|w| w.events.contains(&event) && (w.farm || w.owner == record.submitted_by))
                .collect();
            if listeners.is_empty() {
                return Ok(0);
            }
            let body = crate::json::job_json(record).to_string();
            self.enqueue_to(&listeners, event, &body)
        });
        if let Err(e) = written {
            tracing::error!(job = %record.id, "webhook deliveries not written: {e}");
        }
    }

    /// The deliveries of an event that is not a job's: to every farm-wide webhook listening for it (only to `only`,
    /// if named).
    pub fn enqueue(&self, event: Event, body: &str, only: Option<u64>) -> Result<usize, StoreError> {
        self.fault.check()?;
        let listeners: Vec<Webhook> = self
            .webhooks(None)?
            .into_iter()
            .filter(|w| w.farm && w.events.contains(&event) && only.is_none_or(|id| w.id == id))
            .collect();
        self.enqueue_to(&listeners, event, body)
    }

    /// Deliveries due at `now`, the longest due first, at most `limit`, none in `busy`; those of a webhook gone are
    /// removed.
    pub fn due(&self, now: u64, limit: usize, busy: &HashSet<u64>) -> Result<Vec<Due>, StoreError> {
        let keys: Vec<u64> = self
            .schedule()
            .range(..=(now, u64::MAX))
            .map(|(_, seq)| *seq)
            .filter(|seq| !busy.contains(seq))
            .take(limit)
            .collect();
        let mut due = Vec::new();
        for seq in keys {
            let Some(value) = self.outbox.get(seq.to_be_bytes())? else {
                continue;
            };
            let pending = decode_pending(&value).map_err(corrupt)?;
            match self.webhook(pending.webhook) {
                Ok(webhook) => due.push(Due { key: seq, pending, url: webhook.url, secret: webhook.secret }),
                Err(StoreError::NoSuchWebhook(_)) => self.outbox_remove(&seq.to_be_bytes())?,
                Err(e) => return Err(e),
            }
        }
        Ok(due)
    }

    /// Records how an attempt went (not yet flushed): removes the delivery once acknowledged or too old, sets its
    /// next attempt otherwise, and keeps the webhook's newest [`SENT_KEPT`] attempts.
    pub fn delivered(&self, msg: &Delivered) -> Result<(), StoreError> {
        let key = msg.key.to_be_bytes();
        let Some(value) = self.outbox.get(key)? else {
            return Ok(());
        };
        let mut pending = decode_pending(&value).map_err(corrupt)?;
        pending.attempts = pending.attempts.saturating_add(1);
        let acknowledged = msg.status.is_some_and(|s| (200..300).contains(&s));
        let too_old = msg.retry_at.saturating_sub(pending.created) > MAX_DELIVERY_AGE.as_millis() as u64;
        let mut error = msg.error.clone();
        if !acknowledged && too_old {
            let why = format!("given up after {} attempts over a day", pending.attempts);
            error = Some(match error {
                Some(e) => format!("{e}; {why}"),
                None => why,
            });
        }
        let sent = Sent {
            message: pending.message.clone(),
            event: pending.event,
            time: now_ms(),
            attempt: pending.attempts,
            status: msg.status,
            error,
        };
        self.webhook_sent.insert(sent_key(pending.webhook, self.next_seq()), encode_sent(&sent).map_err(corrupt)?)?;
        let kept: Vec<_> = self.webhook_sent.scan_prefix(pending.webhook.to_be_bytes()).keys().collect();
        for old in kept.into_iter().rev().skip(SENT_KEPT) {
            self.webhook_sent.remove(old?)?;
        }
        if acknowledged || too_old {
            self.outbox_remove(&key)?;
        } else {
            let before = pending.next_at;
            pending.next_at = msg.retry_at;
            self.outbox.insert(key, encode_pending(&pending).map_err(corrupt)?)?;
            let mut schedule = self.schedule();
            schedule.remove(&(before, msg.key));
            schedule.insert((msg.retry_at, msg.key));
        }
        Ok(())
    }
}

impl Operation for AddWebhook {
    type Output = Webhook;
    fn run(self, store: &JobStore) -> Result<Webhook, StoreError> {
        store.add_webhook(self.0)
    }
    fn target(webhook: &Webhook, _: &str) -> Option<String> {
        Some(format!("webhook {} ({})", webhook.id, webhook.url))
    }
}

impl Operation for RemoveWebhook {
    type Output = Webhook;
    fn run(self, store: &JobStore) -> Result<Webhook, StoreError> {
        store.remove_webhook(self.0)
    }
    fn target(webhook: &Webhook, _: &str) -> Option<String> {
        Some(format!("webhook {} ({})", webhook.id, webhook.url))
    }
}

impl Handler<AddWebhook> for JobStore {
    type Result = Durable<Webhook>;
    fn handle(&mut self, msg: AddWebhook, _: &mut Self::Context) -> Self::Result {
        Durable::wrote(&self.commits, self.add_webhook(msg.0))
    }
}

impl Handler<RemoveWebhook> for JobStore {
    type Result = Durable<Webhook>;
    fn handle(&mut self, msg: RemoveWebhook, _: &mut Self::Context) -> Self::Result {
        Durable::wrote(&self.commits, self.remove_webhook(msg.0))
    }
}

impl Handler<ListWebhooks> for JobStore {
    type Result = Durable<Vec<Webhook>>;
    fn handle(&mut self, msg: ListWebhooks, _: &mut Self::Context) -> Self::Result {
        Durable::read(&self.commits, self.webhooks(msg.owner.as_deref()))
    }
}

impl Handler<ReadWebhook> for JobStore {
    type Result = Durable<(Webhook, Vec<Sent>, usize)>;
    fn handle(&mut self, msg: ReadWebhook, _: &mut Self::Context) -> Self::Result {
        Durable::read(&self.commits, self.read_webhook(msg.0))
    }
}

impl Handler<Enqueue> for JobStore {
    type Result = Durable<usize>;
    fn handle(&mut self, msg: Enqueue, _: &mut Self::Context) -> Self::Result {
        Durable::wrote(&self.commits, self.enqueue(msg.event, &msg.body, msg.only))
    }
}

impl Handler<DueDeliveries> for JobStore {
    type Result = Durable<Vec<Due>>;
    fn handle(&mut self, msg: DueDeliveries, _: &mut Self::Context) -> Self::Result {
        // The deliveries of a deleted webhook it removes need no flush of their own: one that comes back after a
        // crash is removed again.
        Durable::read(&self.commits, self.due(msg.now, msg.limit, &msg.busy))
    }
}

impl Handler<Delivered> for JobStore {
    type Result = Durable<()>;
    fn handle(&mut self, msg: Delivered, _: &mut Self::Context) -> Self::Result {
        Durable::wrote(&self.commits, self.delivered(&msg))
    }
}

#[cfg(test)]
mod tests;
