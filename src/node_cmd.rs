//! `distencode node --role coordinator|worker`: loads certificates, starts the actors, and serves until killed.

use crate::certs_reload;
use crate::config_file::Resolved;
use crate::node_settings::NodeRole;
use crate::shutdown;
use actix::{Actor, SyncArbiter};
use anyhow::{anyhow, Context, Result};
use distencode_actors::coordinator::{Coordinator, CoordinatorConfig};
use distencode_actors::runner::output_policy::OutputRules;
use distencode_actors::runner::{MeltRunner, RunnerConfig};
use distencode_actors::server::{self, ConnectionLimits, ServerContext};
use distencode_actors::store::{GetJob, JobStore, StoreError};
use distencode_actors::webhooks::{WebhookSettings, Webhooks};
use distencode_actors::worker::{self, LinkConfig, LinkHandle};
use distencode_mlt as mlt;
use distencode_wire::job::JobId;
use distencode_wire::{crl, pki, tls};
use std::io::Write;

pub fn run(resolved: Resolved) -> Result<()> {
    let checked = resolved.settings.check(&resolved.origins)?;
    let args = resolved.settings;
    let role = args.role.ok_or_else(|| {
        anyhow!("no --role coordinator|worker given (or set DISTENCODE_ROLE, or role in the --config file)")
    })?;
    let name = args
        .connect
        .name
        .clone()
        .ok_or_else(|| anyhow!("no --name NAME given (or set DISTENCODE_NAME, or name in the --config file)"))?;
    let certs = args
        .connect
        .certs
        .clone()
        .ok_or_else(|| anyhow!("no --certs DIR given (or set DISTENCODE_CERTS, or certs in the --config file)"))?;
    let (heartbeat_interval, heartbeat_timeout) = (checked.heartbeat_interval, checked.heartbeat_timeout);
    match role {
        NodeRole::Coordinator => {
            let data_dir = args
                .data_dir
                .clone()
                .ok_or_else(|| anyhow!("a coordinator needs --data-dir DIR (or data_dir in the --config file)"))?;
            std::fs::create_dir_all(&data_dir).with_context(|| format!("cannot create {}", data_dir.display()))?;
            let crl = named_crl(&args)?.map_or_else(|| crl::crl_path(&certs), std::path::Path::to_path_buf);
            let identity = tls::NodeIdentity::load_as(&certs, &name, Some(distencode_wire::Role::Coordinator))?;
            let (tls, revocation) = identity.server_config_revoking(crl)?;
            let store = open_store(&data_dir, args.recover)?;
            let presets = std::sync::Arc::new(checked.presets.clone());
            let metrics = store.metrics();
            let config = CoordinatorConfig {
                max_attempts: checked.max_attempts,
                grace: checked.grace,
                max_log_bytes: checked.max_log_bytes,
                metrics: store.metrics(),
                users: std::sync::Arc::new(checked.users.clone()),
                keep_finished: checked.keep_finished,
                audit_keep: checked.audit_keep,
                path_rules: std::sync::Arc::new(checked.path_rules.clone()),
            };
            let limits = ConnectionLimits {
                max_connections: checked.max_connections,
                max_per_node: checked.max_connections_per_node,
                client_idle_timeout: checked.client_idle_timeout,
            };
            let listen = args.listen.clone();
            let webhook_settings = WebhookSettings { allow_private: args.webhooks_allow_private };
            let web = args.web_listen.clone().map(|web_listen| distencode_web::WebConfig {
                listen: web_listen,
                cert: args.web_cert.clone().unwrap_or_else(|| pki::node_cert_path(&certs, &name)),
                key: args.web_key.clone().unwrap_or_else(|| pki::node_key_path(&certs, &name)),
                data_dir: data_dir.clone(),
                metrics_token: args.metrics_token.clone(),
                oidc: checked.oidc.clone(),
                token_signin: args.web_token_signin,
                users: std::sync::Arc::new(checked.users.clone()),
            });
            actix_rt::System::new().block_on(async move {
                let listener = tokio::net::TcpListener::bind(&listen)
                    .await
                    .with_context(|| format!("cannot listen on {listen}"))?;
                let local = listener.local_addr()?;
                // Whatever can fail on a bad setting fails before the actors start: they cannot be dropped early.
                let web = web.as_ref().map(distencode_web::bind).transpose()?;
                let store = SyncArbiter::start(1, move || store.clone());
                let users = config.users.clone();
                let (coordinator, registry) = Coordinator::start(store.clone(), config);
                let expiries = server::CertificateExpiries::default();
                let webhooks = Webhooks::new(store.clone(), webhook_settings)
                    .map_err(|e| anyhow!("{e}"))?
                    .with_certificates(expiries.clone())
                    .start();
                let actors = distencode_web::Actors {
                    presets: presets.clone(),
                    coordinator: coordinator.clone(),
                    registry: registry.clone(),
                    metrics: metrics.clone(),
                    certificates: expiries.clone(),
                    webhooks,
                };
                let revoked = revocation.subscribe();
                if let Some(own) = identity.cert_chain.first().and_then(|der| crl::CertificateFacts::of(der).ok()) {
                    expiries.seen(distencode_wire::Role::Coordinator, &name, own.not_after);
                }
                if let Some(refused) = revocation.refused_certificates() {
                    actix_rt::spawn(server::refused_certificates::record(refused, coordinator.clone()));
                }
                actix_rt::spawn(certs_reload::watch(revocation));
                let context = ServerContext {
                    coordinator,
                    registry,
                    heartbeat_interval,
                    heartbeat_timeout,
                    limits,
                    users,
                    revoked,
                    expiries,
                    presets: presets.clone(),
                };
                let terminated = shutdown::terminated();
                tracing::info!(%local, %name, "coordinator listening");
                println!("distencode coordinator {name} listening on {local}");
                let web = match web {
                    Some(bound) => Some(bound.serve(actors)?),
                    None => None,
                };
                if let Some(web) = &web {
                    // Whoever started the coordinator may have read only its first line: a closed stdout is no
                    // reason to stop.
                    let mut out = std::io::stdout();
                    let _ = writeln!(out, "web interface: {}", web.url);
                    let _ = writeln!(out, "sign in: {}", web.sign_in);
                }
                let _ = std::io::stdout().flush();
                let (stop, stopping) = tokio::sync::watch::channel(false);
                let serving = server::serve_until(listener, tls, context, stopping);
                tokio::pin!(serving);
                tokio::select! {
                    result = &mut serving => return Ok(result?),
                    _ = terminated => {}
                }
                // Stop taking connections, let every connection answer what it has read and close cleanly.
                tracing::info!("SIGTERM: closing connections");
                stop.send_replace(true);
                if let Some(web) = &web {
                    web.handle.stop(false).await;
                }
                serving.await?;
                if tokio::time::timeout(shutdown::CONNECTIONS_CLOSE_WITHIN, stop.closed()).await.is_err() {
                    tracing::warn!("some connections did not close within {:?}", shutdown::CONNECTIONS_CLOSE_WITHIN);
                }
                // The store answers in order, each answer after the flush that made the changes before it
                // durable: once this read is answered, every change asked for before it is on disk.
                let _ = store.send(GetJob(JobId(0))).await;
                tracing::info!("coordinator stopped");
                Ok(())
            })
        }
        NodeRole::Worker => {
            let coordinator = args.connect.coordinator.clone().ok_or_else(|| {
                anyhow!("a worker needs --coordinator HOST:PORT (or set DISTENCODE_COORDINATOR, or coordinator in the --config file)")
            })?;
            let work_dir = args
                .work_dir
                .clone()
                .ok_or_else(|| anyhow!("a worker needs --work-dir DIR (or work_dir in the --config file)"))?;
            std::fs::create_dir_all(&work_dir).with_context(|| format!("cannot create {}", work_dir.display()))?;
            // A coordinator whose certificate the CA revoked is refused at the handshake.
            let tls = tls::client_config_as(&certs, &name, distencode_wire::Role::Worker, named_crl(&args)?)?;
            let shutdown_timeout = checked.shutdown_timeout;
            actix_rt::System::new().block_on(async move {
                let services = mlt::query_services(&args.melt).await?;
                let melt_version = mlt::melt_version(&args.melt).await?;
                let encoders = mlt::query_encoders(&args.melt).await?;
                tracing::info!(melt = %args.melt.display(), version = %melt_version, services = services.len(), "melt found");
                let stack = crate::doctor::worker::fingerprint(&melt_version, &args.ffmpeg).await;
                tracing::info!(fingerprint = %stack.short(), "render stack: {stack}");
                match distencode_actors::runner::sandbox::status() {
                    Ok(()) if certs.starts_with(std::env::temp_dir()) => tracing::warn!(
                        "the certificates are under {}: melt runs under Landlock, but files made there after it starts                          cannot be read back (MLT's pixbuf producer writes inline SVG there); keep them elsewhere",
                        std::env::temp_dir().display()
                    ),
                    Ok(()) => tracing::info!("melt and ffmpeg jobs run under Landlock: they cannot read {}", certs.display()),
                    Err(reason) => tracing::warn!("{reason}"),
                }
                let link = LinkConfig {
                    coordinator,
                    tls,
                    heartbeat_interval,
                    heartbeat_timeout,
                    melt_version,
                    services: services.names(),
                    encoders: encoders.clone(),
                    cpus: std::thread::available_parallelism().map_or(1, |n| n.get() as u32),
                    fingerprint: stack,
                };
                let (handle, inbox) = LinkHandle::new();
                let runner = MeltRunner::new(
                    RunnerConfig {
                        melt: args.melt.clone(),
                        ffprobe: args.ffprobe.clone(),
                        ffmpeg: args.ffmpeg.clone(),
                        services,
                        encoders,
                        stall_timeout: checked.stall_timeout,
                        media: mlt::MediaPolicy {
                            roots: args.media_roots.clone(),
                            forbidden: vec![certs.clone(), work_dir.clone()],
                            allow_network: args.allow_network_media,
                        },
                        outputs: OutputRules::new(&args.output_roots, &[certs.clone(), work_dir.clone()]),
                        work_dir,
                    },
                    handle,
                )
                .start();
                let (stage, stages) = worker::stages();
                actix_rt::spawn(shutdown::worker_signals(stage, shutdown_timeout));
                println!("distencode worker {name} started");
                std::io::stdout().flush()?;
                worker::run_link(link, runner, inbox, stages).await.map_err(|reason| anyhow!("{reason}"))?;
                tracing::info!("worker stopped");
                Ok(())
            })
        }
    }
}

/// The CRL `--crl` (or `crl` in the settings) names, which must exist; `None` when none is named (each role then
/// uses `CERTS/ca.crl` when there is one).
fn named_crl(args: &crate::node_settings::NodeSettings) -> Result<Option<&std::path::Path>> {
    match args.crl.as_deref() {
        Some(crl) if !crl.exists() => Err(anyhow!("{} not found (--crl, or crl in the --config file)", crl.display())),
        named => Ok(named),
    }
}

/// The coordinator's store; with `recover`, a damaged one is moved aside and a fresh one opened, said in one
/// warning line naming where the damaged one went.
fn open_store(data_dir: &std::path::Path, recover: bool) -> Result<JobStore> {
    if !recover {
        return JobStore::open(data_dir).map_err(|e| store_open_error(e, data_dir));
    }
    let now = time::OffsetDateTime::now_utc();
    let stamp = format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        now.year(),
        u8::from(now.month()),
        now.day(),
        now.hour(),
        now.minute(),
        now.second()
    );
    let (store, recovered) = JobStore::open_or_recover(data_dir, &stamp).map_err(|e| store_open_error(e, data_dir))?;
    if let Some(recovered) = recovered {
        tracing::warn!(
            "the job store in {} was damaged: moved it to {} (kept) and started on an empty store; job ids go on \
             from {} ({})",
            data_dir.join("jobs.sled").display(),
            recovered.moved_to.display(),
            recovered.next_id,
            recovered.ids_from
        );
    }
    Ok(store)
}

/// sled refuses a store another process holds with an I/O error of its own wording ("could not acquire lock on
/// PATH: Os { .. WouldBlock .. }", of kind `Other`): say who holds it instead. A damaged store ("Read corrupted
/// data at file offset None backtrace ()") says where it is and what to do.
pub(crate) fn store_open_error(error: StoreError, data_dir: &std::path::Path) -> anyhow::Error {
    match &error {
        StoreError::Db(sled::Error::Io(io)) if io.to_string().starts_with("could not acquire lock") => anyhow!(
            "another coordinator is using {} (its store is locked); stop it first, or give this one another --data-dir",
            data_dir.display()
        ),
        StoreError::Db(sled::Error::Corruption { .. }) => anyhow!(
            "the job store in {} is damaged ({}): restore a backup (distencode store restore, docs/operations.md), \
             or start with --recover",
            data_dir.join("jobs.sled").display(),
            error
        ),
        _ => error.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_damaged_store_names_its_folder_and_what_to_do() {
        let damaged = StoreError::Db(sled::Error::Corruption { at: None, bt: () });
        assert_eq!(
            store_open_error(damaged, std::path::Path::new("/var/lib/distencode/coordinator")).to_string(),
            "the job store in /var/lib/distencode/coordinator/jobs.sled is damaged (job store: Read corrupted data at \
             file offset None backtrace ()): restore a backup (distencode store restore, docs/operations.md), or start \
             with --recover"
        );
    }

    #[test]
    fn a_second_coordinator_on_a_data_dir_is_told_another_uses_it() {
        let dir = tempfile::tempdir().unwrap();
        let _first = JobStore::open(dir.path()).unwrap();
        let second = JobStore::open(dir.path()).err().expect("sled locks its files");
        assert_eq!(
            store_open_error(second, dir.path()).to_string(),
            format!(
                "another coordinator is using {} (its store is locked); stop it first, or give this one another \
                 --data-dir",
                dir.path().display()
            )
        );
    }
}
