//! Webhooks: telling people's own services when a render is done, and admins' when the farm needs them.
//!
//! A user sets webhooks for their own jobs (succeeded, failed, cancelled); an admin may set farm-wide ones, which
//! hear of every job and of the farm's own events (a worker lost or suspect, a certificate expiring). The
//! [`Webhooks`] actor beside the Coordinator makes and deletes them (checked, audited) and sends what waits in the
//! store's outbox (`store::webhooks`): it asks the store what is due every [`POLL_EVERY`], sends each delivery
//! as a task of its own on this actor's event loop ([`send`]), never blocking a thread, and reports each attempt back,
//! with the next attempt's time drawn by [`backoff`]. Where a webhook may send is checked by [`address`].

pub mod address;
pub mod backoff;
pub mod send;

pub use crate::store::stored::webhook::{Event, Sent, Webhook};

use crate::auth::User;
use crate::coordinator::audit::entry;
use crate::server::CertificateExpiries;
use crate::store::{
    record_refusal, AddWebhook, Audited, Delivered, Due, DueDeliveries, Enqueue, JobStore, ListWebhooks, ReadWebhook,
    RemoveWebhook, StoreError,
};
use actix::prelude::*;
use distencode_wire::audit::AuditAction;
use distencode_wire::job::now_ms;
use std::collections::{HashMap, HashSet};
use std::time::Duration;

/// How often the outbox is asked for deliveries that are due.
pub const POLL_EVERY: Duration = Duration::from_millis(500);
/// Deliveries being sent at once at most.
pub const MAX_IN_FLIGHT: usize = 32;
/// How often certificates are looked at for `certificate.expiring` (each one is told of once a day while it
/// expires within 30 days).
pub const CERTIFICATES_EVERY: Duration = Duration::from_secs(3600);
/// How long after the start certificates are first looked at: the nodes have connected by then.
pub const CERTIFICATES_FIRST: Duration = Duration::from_secs(10);
/// Random bytes of a webhook's secret.
pub const SECRET_BYTES: usize = 24;

/// The admin's settings for webhooks.
#[derive(Clone, Debug, Default)]
pub struct WebhookSettings {
    /// `webhooks_allow_private`: webhooks may reach private and loopback addresses.
    pub allow_private: bool,
}

/// Why a webhook request was refused: one line, the same on the web page and in the API's JSON.
#[derive(Clone, Debug, thiserror::Error)]
pub enum WebhookError {
    /// The request itself is wrong (a URL, an event name).
    #[error("{0}")]
    Invalid(String),
    /// The user may not do this.
    #[error("{0}")]
    Refused(String),
    #[error("no webhook {0}")]
    NotFound(u64),
    /// A cap is reached.
    #[error("{0}")]
    Full(String),
    #[error("{0}")]
    Store(StoreError),
}

impl From<StoreError> for WebhookError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NoSuchWebhook(id) => WebhookError::NotFound(id),
            StoreError::Webhook(text) => WebhookError::Full(text),
            other => WebhookError::Store(other),
        }
    }
}

impl From<MailboxError> for WebhookError {
    fn from(_: MailboxError) -> Self {
        WebhookError::Store(StoreError::Gone)
    }
}

/// Makes a webhook for `by`; answers with it, its secret in full (the only time it is shown).
#[derive(Message)]
#[rtype(result = "Result<Webhook, WebhookError>")]
pub struct CreateWebhook {
    pub by: User,
    pub url: String,
    pub events: Vec<Event>,
    /// Farm-wide (admins only).
    pub farm: bool,
}

/// Deletes a webhook of `by`'s (or any, for an admin).
#[derive(Message)]
#[rtype(result = "Result<Webhook, WebhookError>")]
pub struct DeleteWebhook {
    pub id: u64,
    pub by: User,
}

/// The webhooks `by` may see (their own; every one for an admin), secrets hidden.
#[derive(Message)]
#[rtype(result = "Result<Vec<Webhook>, WebhookError>")]
pub struct WebhooksOf {
    pub by: User,
}

/// One webhook, secret hidden, with its recent attempts (newest first) and how many deliveries wait.
#[derive(Message)]
#[rtype(result = "Result<WebhookView, WebhookError>")]
pub struct ShowWebhook {
    pub id: u64,
    pub by: User,
}

/// What [`ShowWebhook`] answers.
#[derive(Clone, Debug)]
pub struct WebhookView {
    pub webhook: Webhook,
    pub sent: Vec<Sent>,
    pub waiting: usize,
}

/// The actor.
pub struct Webhooks {
    store: Addr<JobStore>,
    settings: WebhookSettings,
    client: reqwest::Client,
    /// Outbox keys being sent now: not asked for again until their outcome is stored.
    busy: HashSet<u64>,
    /// A question for due deliveries is on its way.
    polling: bool,
    /// Certificates known to the coordinator, for `certificate.expiring`; none: not told of.
    certificates: Option<CertificateExpiries>,
    /// Each expiring certificate (role and name, its end) and the day (Unix days) it was last told of.
    told: HashMap<(String, String, i64), u64>,
}

impl Webhooks {
    /// The actor, its HTTP client made (a failure is the coordinator's start failing).
    pub fn new(store: Addr<JobStore>, settings: WebhookSettings) -> Result<Self, String> {
        let client = send::client(settings.allow_private)?;
        Ok(Webhooks {
            store,
            settings,
            client,
            busy: HashSet::new(),
            polling: false,
            certificates: None,
            told: HashMap::new(),
        })
    }

    /// Tells farm-wide webhooks of the certificates among `certificates` that expire soon.
    pub fn with_certificates(mut self, certificates: CertificateExpiries) -> Self {
        self.certificates = Some(certificates);
        self
    }

    fn poll(&mut self, ctx: &mut Context<Self>) {
        if self.polling || self.busy.len() >= MAX_IN_FLIGHT {
            return;
        }
        self.polling = true;
        let ask = DueDeliveries { now: now_ms(), limit: MAX_IN_FLIGHT - self.busy.len(), busy: self.busy.clone() };
        self.store
            .send(ask)
            .into_actor(self)
            .map(|result, act, ctx| {
                act.polling = false;
                match result {
                    Ok(Ok(due)) => due.into_iter().for_each(|due| act.send(due, ctx)),
                    Ok(Err(e)) => tracing::warn!("webhook outbox: {e}"),
                    Err(_) => {}
                }
            })
            .spawn(ctx);
    }

    /// Sends one delivery as a task of this actor's event loop, then stores how it went.
    fn send(&mut self, due: Due, ctx: &mut Context<Self>) {
        self.busy.insert(due.key);
        let client = self.client.clone();
        let allow_private = self.settings.allow_private;
        async move {
            let now_secs = (now_ms() / 1000) as i64;
            let outcome = send::deliver(&client, &due, allow_private, now_secs).await;
            (due, outcome)
        }
        .into_actor(self)
        .map(|(due, outcome), act, ctx| {
            let (webhook, message, attempt) = (due.pending.webhook, &due.pending.message, due.pending.attempts + 1);
            match (outcome.status, &outcome.error) {
                (Some(status), None) if (200..300).contains(&status) => {
                    tracing::info!(webhook, message, status, attempt, "webhook delivered")
                }
                (status, error) => tracing::warn!(webhook, message, ?status, ?error, attempt, "webhook not delivered"),
            }
            let wait = backoff::jittered(attempt);
            let report = Delivered {
                key: due.key,
                status: outcome.status,
                error: outcome.error,
                retry_at: now_ms().saturating_add(wait.as_millis() as u64),
            };
            let key = due.key;
            act.store
                .send(report)
                .into_actor(act)
                .map(move |result, act, _| {
                    if let Ok(Err(e)) = result {
                        tracing::warn!("webhook attempt not recorded: {e}");
                    }
                    act.busy.remove(&key);
                })
                .spawn(ctx);
        })
        .spawn(ctx);
    }

    /// The certificates expiring soon, each with its key in `told` and its delivery's body.
    fn expiring(&self) -> Vec<((String, String, i64), String)> {
        let Some(certificates) = &self.certificates else {
            return Vec::new();
        };
        let now = (now_ms() / 1000) as i64;
        certificates
            .expiring(now)
            .into_iter()
            .map(|c| {
                let body = serde_json::to_string(&c).unwrap_or_default();
                ((c.role.to_string(), c.name, c.not_after), body)
            })
            .collect()
    }

    /// Writes a `certificate.expiring` delivery for each certificate expiring soon not yet told of today.
    fn check_certificates(&mut self) {
        let today = now_ms() / 86_400_000;
        for (key, body) in self.expiring() {
            if self.told.get(&key) == Some(&today) {
                continue;
            }
            self.told.insert(key, today);
            self.store.do_send(Enqueue { event: Event::CertificateExpiring, body, only: None });
        }
    }

    /// A webhook just made that listens for `certificate.expiring` hears at once of those expiring now.
    fn tell_new(&self, webhook: &Webhook) {
        if !(webhook.farm && webhook.events.contains(&Event::CertificateExpiring)) {
            return;
        }
        for (_, body) in self.expiring() {
            self.store.do_send(Enqueue { event: Event::CertificateExpiring, body, only: Some(webhook.id) });
        }
    }
}

impl Actor for Webhooks {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.run_interval(POLL_EVERY, |act, ctx| act.poll(ctx));
        ctx.run_later(CERTIFICATES_FIRST, |act, ctx| {
            act.check_certificates();
            ctx.run_interval(CERTIFICATES_EVERY, |act, _| act.check_certificates());
        });
    }
}

/// A new secret: `whsec_` and the base64 of [`SECRET_BYTES`] random bytes, as Standard Webhooks writes them.
fn new_secret() -> Result<String, WebhookError> {
    use base64::Engine;
    use ring::rand::SecureRandom;
    let mut bytes = [0u8; SECRET_BYTES];
    ring::rand::SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| WebhookError::Invalid("no random bytes for a webhook's secret".into()))?;
    Ok(format!("whsec_{}", base64::engine::general_purpose::STANDARD.encode(bytes)))
}

/// Whether `by` may have a webhook of these events, farm-wide or not.
fn may_create(by: &User, events: &[Event], farm: bool) -> Result<(), WebhookError> {
    if events.is_empty() {
        return Err(WebhookError::Invalid("a webhook needs at least one event".into()));
    }
    if farm && !by.is_admin() {
        return Err(WebhookError::Refused(format!(
            "{} is not an admin: only admins may set farm-wide webhooks",
            by.name
        )));
    }
    if let Some(event) = events.iter().find(|e| e.farm_only()).filter(|_| !farm) {
        return Err(WebhookError::Invalid(format!(
            "{event} is told only to farm-wide webhooks (admins may set those)"
        )));
    }
    Ok(())
}

/// The owner's or an admin's: anyone else is refused with the one line that says whose it is.
fn may_touch(by: &User, webhook: &Webhook, what: &str) -> Result<(), WebhookError> {
    if by.is_admin() || webhook.owner == by.name {
        return Ok(());
    }
    Err(WebhookError::Refused(format!(
        "webhook {} belongs to {}; only {} or an admin may {what} it",
        webhook.id, webhook.owner, webhook.owner
    )))
}

/// The webhook as shown after it is made: its secret hidden.
fn hidden(mut webhook: Webhook) -> Webhook {
    webhook.secret = String::new();
    webhook
}

impl Handler<CreateWebhook> for Webhooks {
    type Result = ResponseActFuture<Self, Result<Webhook, WebhookError>>;

    fn handle(&mut self, msg: CreateWebhook, _: &mut Self::Context) -> Self::Result {
        let store = self.store.clone();
        let allow_private = self.settings.allow_private;
        let made = async move {
            let target = format!("webhook ({})", distencode_wire::audit::cut(msg.url.trim()));
            let audit = entry(&msg.by, AuditAction::WebhookAdd, &target);
            let mut events = msg.events.clone();
            events.sort();
            events.dedup();
            let checked = match may_create(&msg.by, &events, msg.farm) {
                Ok(()) => address::check_url(&msg.url).map_err(WebhookError::Invalid),
                Err(e) => Err(e),
            };
            let checked = match checked {
                Ok(url) => {
                    address::check_resolves(&url, allow_private).await.map(|()| url).map_err(WebhookError::Invalid)
                }
                Err(e) => Err(e),
            };
            let url = match checked {
                Ok(url) => url,
                Err(e) => {
                    record_refusal(&store, audit, &e).await;
                    return Err(e);
                }
            };
            let webhook = Webhook {
                id: 0,
                owner: msg.by.name.clone(),
                farm: msg.farm,
                url: url.to_string(),
                secret: new_secret()?,
                events,
                created: now_ms(),
            };
            Ok(store.send(Audited { change: AddWebhook(webhook), entry: audit }).await??)
        };
        Box::pin(made.into_actor(self).map(|made, act, _| {
            if let Ok(webhook) = &made {
                act.tell_new(webhook);
            }
            made
        }))
    }
}

impl Handler<DeleteWebhook> for Webhooks {
    type Result = ResponseFuture<Result<Webhook, WebhookError>>;

    fn handle(&mut self, msg: DeleteWebhook, _: &mut Self::Context) -> Self::Result {
        let store = self.store.clone();
        Box::pin(async move {
            let audit = entry(&msg.by, AuditAction::WebhookDelete, &format!("webhook {}", msg.id));
            let allowed = match store.send(ReadWebhook(msg.id)).await? {
                Ok((webhook, _, _)) => may_touch(&msg.by, &webhook, "delete"),
                Err(e) => Err(e.into()),
            };
            if let Err(e) = allowed {
                record_refusal(&store, audit, &e).await;
                return Err(e);
            }
            Ok(hidden(store.send(Audited { change: RemoveWebhook(msg.id), entry: audit }).await??))
        })
    }
}

impl Handler<WebhooksOf> for Webhooks {
    type Result = ResponseFuture<Result<Vec<Webhook>, WebhookError>>;

    fn handle(&mut self, msg: WebhooksOf, _: &mut Self::Context) -> Self::Result {
        let store = self.store.clone();
        Box::pin(async move {
            let owner = (!msg.by.is_admin()).then(|| msg.by.name.clone());
            Ok(store.send(ListWebhooks { owner }).await??.into_iter().map(hidden).collect())
        })
    }
}

impl Handler<ShowWebhook> for Webhooks {
    type Result = ResponseFuture<Result<WebhookView, WebhookError>>;

    fn handle(&mut self, msg: ShowWebhook, _: &mut Self::Context) -> Self::Result {
        let store = self.store.clone();
        Box::pin(async move {
            let (webhook, sent, waiting) = store.send(ReadWebhook(msg.id)).await??;
            may_touch(&msg.by, &webhook, "see")?;
            Ok(WebhookView { webhook: hidden(webhook), sent, waiting })
        })
    }
}

#[cfg(test)]
mod tests;
