//! A node's settings: one struct, written once.
//!
//! [`NodeSettings`] is at the same time the `distencode node` flags (clap, with their environment variables and
//! defaults) and the keys of the `--config` file (serde, each key a field's name). `config_file` layers them:
//! defaults, then the file, then the environment, then the flags. [`NodeSettings::check`] then turns the numbers
//! into what the node runs with, refusing values that make no sense with a message naming where each came from.
//!
//! The `value_name` of each flag also says what kind of value a file's key must hold (`SECONDS` a number, `COUNT` a
//! whole number, `DIR`/`PATH` a path, anything else a string): see `config_file::expected`.

use crate::cli::Connect;
use crate::config_file::Origins;
use anyhow::{anyhow, bail, Result};
use clap::{Args, ValueEnum};
use distencode_actors::auth::{self, Users};
use distencode_actors::coordinator::log_budget;
use distencode_actors::coordinator::path_rules::{PathMapConfig, PathRules};
use distencode_actors::house_presets::{self, HousePresetConfig};
use distencode_actors::server::admission;
use distencode_web::oidc::{self, ProviderConfig, ProviderSettings};
use distencode_wire::preset::PresetView;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NodeRole {
    Coordinator,
    Worker,
}

/// Every setting of `distencode node`. Each can be set in the `--config` file (key = the field's name), in the
/// environment (`DISTENCODE_` + the key in capitals) and as a flag (`--` + the key with `-` for `_`); a flag wins
/// over the environment, which wins over the file, which wins over the default.
#[derive(Args, Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NodeSettings {
    /// coordinator or worker.
    #[arg(long, value_enum, env = "DISTENCODE_ROLE")]
    pub role: Option<NodeRole>,
    /// Who this node is and, for a worker, where its coordinator is.
    #[command(flatten)]
    #[serde(flatten)]
    pub connect: Connect,
    /// Coordinator: the HOST:PORT to listen on.
    #[arg(long, env = "DISTENCODE_LISTEN", value_name = "HOST:PORT", default_value = "127.0.0.1:7878")]
    pub listen: String,
    /// Coordinator: where the job store lives.
    #[arg(long, env = "DISTENCODE_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Worker: melt's temporary folder (its TMPDIR), created if missing.
    #[arg(long, env = "DISTENCODE_WORK_DIR", value_name = "DIR")]
    pub work_dir: Option<PathBuf>,
    /// Worker: a folder the projects' media may come from (repeatable; symlinks are resolved). None given: anywhere
    /// but the worker's own folders, /proc, /sys and /dev.
    #[arg(long = "media-root", env = "DISTENCODE_MEDIA_ROOTS", value_name = "DIR", value_delimiter = ':')]
    #[serde(default)]
    pub media_roots: Vec<PathBuf>,
    /// Worker: let projects read network URLs (http://, rtsp://, ...) and protocols other than files.
    #[arg(long, env = "DISTENCODE_ALLOW_NETWORK_MEDIA")]
    #[serde(default)]
    pub allow_network_media: bool,
    /// Worker: a folder outputs must lie under (repeatable; symlinks are resolved). None given: anywhere the worker
    /// may write but its own folders and the system's.
    #[arg(long = "output-root", env = "DISTENCODE_OUTPUT_ROOTS", value_name = "DIR", value_delimiter = ':')]
    #[serde(default)]
    pub output_roots: Vec<PathBuf>,
    /// Worker: the melt to run.
    #[arg(long, env = "DISTENCODE_MELT", value_name = "PATH", default_value = "melt")]
    pub melt: PathBuf,
    /// Worker: the ffprobe that verifies results.
    #[arg(long, env = "DISTENCODE_FFPROBE", value_name = "PATH", default_value = "ffprobe")]
    pub ffprobe: PathBuf,
    /// Worker: the ffmpeg that makes each verified render's poster frame.
    #[arg(long, env = "DISTENCODE_FFMPEG", value_name = "PATH", default_value = "ffmpeg")]
    pub ffmpeg: PathBuf,
    /// Seconds between heartbeats.
    #[arg(long, env = "DISTENCODE_HEARTBEAT_INTERVAL", value_name = "SECONDS", default_value_t = 2.0)]
    pub heartbeat_interval: f64,
    /// Seconds of silence after which a peer counts as gone; longer than the interval.
    #[arg(long, env = "DISTENCODE_HEARTBEAT_TIMEOUT", value_name = "SECONDS", default_value_t = 6.0)]
    pub heartbeat_timeout: f64,
    /// Coordinator: seconds a disconnected busy worker has to come back before its job is requeued; longer than a
    /// worker's longest wait between two dials.
    #[arg(long, env = "DISTENCODE_GRACE", value_name = "SECONDS", default_value_t = 8.0)]
    pub grace: f64,
    /// Coordinator: renders a job may start before it fails for good.
    #[arg(long, env = "DISTENCODE_MAX_ATTEMPTS", value_name = "COUNT", default_value_t = 3)]
    pub max_attempts: u32,
    /// Coordinator: bytes of melt's output stored per attempt; past it one line says the log was cut.
    #[arg(long, env = "DISTENCODE_MAX_LOG_BYTES", value_name = "BYTES", default_value_t = log_budget::DEFAULT_MAX_LOG_BYTES)]
    pub max_log_bytes: u64,
    /// Coordinator: connections open at once, all peers together; past it new ones are closed at once.
    #[arg(long, env = "DISTENCODE_MAX_CONNECTIONS", value_name = "COUNT", default_value_t = admission::MAX_CONNECTIONS)]
    pub max_connections: usize,
    /// Coordinator: connections open at once under one certificate (one role and node name).
    #[arg(
        long,
        env = "DISTENCODE_MAX_CONNECTIONS_PER_NODE",
        value_name = "COUNT",
        default_value_t = admission::MAX_CONNECTIONS_PER_NODE
    )]
    pub max_connections_per_node: usize,
    /// Coordinator: seconds a client connection may stay open without a request.
    #[arg(
        long,
        env = "DISTENCODE_CLIENT_IDLE_TIMEOUT",
        value_name = "SECONDS",
        default_value_t = admission::CLIENT_IDLE_TIMEOUT.as_secs_f64()
    )]
    pub client_idle_timeout: f64,
    /// Coordinator: serve the web interface (HTTPS) on this HOST:PORT; off when not given.
    #[arg(long, env = "DISTENCODE_WEB_LISTEN", value_name = "HOST:PORT")]
    pub web_listen: Option<String>,
    /// Coordinator: the web interface's certificate chain (PEM), e.g. one a browser already trusts; default: the
    /// coordinator's own certificate (browsers trust it once ca.pem is imported).
    #[arg(long, env = "DISTENCODE_WEB_CERT", value_name = "PATH", requires = "web_key")]
    pub web_cert: Option<PathBuf>,
    /// Coordinator: the private key (PEM) of --web-cert.
    #[arg(long, env = "DISTENCODE_WEB_KEY", value_name = "PATH", requires = "web_cert")]
    pub web_key: Option<PathBuf>,
    /// Coordinator: the bearer token `GET /metrics` of the web interface needs (`Authorization: Bearer TOKEN`);
    /// without it, `/metrics` is open to anyone who reaches the web port.
    #[arg(long, env = "DISTENCODE_METRICS_TOKEN", value_name = "TOKEN", hide_env_values = true)]
    pub metrics_token: Option<String>,
    /// The CA's certificate revocation list (`distencode certs revoke` writes it). Coordinator: the certificates it
    /// lists are refused, and connected ones disconnected; read again on SIGHUP and when the file changes. Worker: a
    /// coordinator whose certificate it lists is refused; read at start. Default: CERTS/ca.crl, when there is one.
    #[arg(long, env = "DISTENCODE_CRL", value_name = "PATH")]
    pub crl: Option<PathBuf>,
    /// Coordinator: delete finished jobs, with their logs, once they finished longer ago than this (e.g. 90d or
    /// 12h); checked at start and every hour. Default: keep them until `job delete` or `job prune`.
    #[arg(long, env = "DISTENCODE_KEEP_FINISHED", value_name = "DURATION")]
    pub keep_finished: Option<String>,
    /// Coordinator: delete audit trail entries once they are older than this (e.g. 365d); checked at start and
    /// every hour. Default: 365d.
    #[arg(long, env = "DISTENCODE_AUDIT_KEEP", value_name = "DURATION")]
    pub audit_keep: Option<String>,
    /// Worker: seconds without any output from melt, and with no CPU used by it, before the render is killed as
    /// stalled (however busy, after ten times this).
    #[arg(long, env = "DISTENCODE_STALL_TIMEOUT", value_name = "SECONDS", default_value_t = 120.0)]
    pub stall_timeout: f64,
    /// Worker: seconds after the first SIGTERM that the render in progress may take to finish; then it is given up
    /// (as by a second SIGTERM) and its job goes to another worker.
    #[arg(long, env = "DISTENCODE_SHUTDOWN_TIMEOUT", value_name = "SECONDS", default_value_t = 600.0)]
    pub shutdown_timeout: f64,
    /// Coordinator: users who are admins, by user name (repeat the flag, or separate names with commas). Admins may
    /// act on every job and worker; other users on their own (docs/users.md).
    #[arg(long, env = "DISTENCODE_ADMINS", value_name = "USER", value_delimiter = ',')]
    #[serde(default)]
    pub admins: Vec<String>,
    /// Coordinator: the highest priority a user who is not an admin may give a job.
    #[arg(
        long,
        env = "DISTENCODE_MAX_USER_PRIORITY",
        value_name = "COUNT",
        default_value_t = auth::DEFAULT_MAX_USER_PRIORITY,
        allow_negative_numbers = true
    )]
    pub max_user_priority: i32,
    /// Coordinator, config file only (`[certificate_users]`): client certificate name = user name, so that one
    /// person's several certificates are one user.
    #[arg(skip)]
    #[serde(default)]
    pub certificate_users: BTreeMap<String, String>,
    /// Coordinator, config file only (`[[oidc]]`, one table per identity provider): sign-in to the web interface
    /// with OpenID Connect (docs/users.md).
    #[arg(skip)]
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub oidc: Vec<ProviderConfig>,
    /// Coordinator, config file only (`[[preset]]`, one table per house preset): the studio's own export formats,
    /// listed by `distencode presets` and used with `job submit --preset NAME` (docs/formats.md).
    #[arg(skip)]
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub preset: Vec<HousePresetConfig>,
    /// Coordinator, config file only (`[[path_map]]`, one table per rule): a shared folder's path as clients write
    /// it (`D:\Projects`) and as the workers the rule is for see it (`/mnt/projects`); docs/deploy.md.
    #[arg(skip)]
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub path_map: Vec<PathMapConfig>,
    /// Coordinator, config file only (`[worker_groups]`): group name = its workers' names, for `[[path_map]]`'s
    /// `workers`.
    #[arg(skip)]
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub worker_groups: BTreeMap<String, Vec<String>>,
    /// Coordinator: keep the web's sign-in token (the printed link, and `Authorization: Bearer`) working while
    /// identity providers are configured; without providers it always works.
    #[arg(long, env = "DISTENCODE_WEB_TOKEN_SIGNIN")]
    #[serde(default)]
    pub web_token_signin: bool,
    /// Coordinator: webhooks may post to private, loopback and link-local addresses (a receiver inside the farm's
    /// network, or on the coordinator's machine); off, such a URL is refused when the webhook is made and again at
    /// each delivery, whatever its name resolves to.
    #[arg(long, env = "DISTENCODE_WEBHOOKS_ALLOW_PRIVATE")]
    #[serde(default)]
    pub webhooks_allow_private: bool,
    /// Coordinator: if the job store is damaged, move its database aside (kept, as jobs.sled.damaged-TIME), salvage
    /// the next job id from it and start on a fresh store (docs/operations.md); a store that is not damaged is
    /// opened as always.
    #[arg(long, env = "DISTENCODE_RECOVER")]
    #[serde(default)]
    pub recover: bool,
}

/// The settings' times and counts, checked: what the node runs with.
#[derive(Clone, Debug, PartialEq)]
pub struct Checked {
    pub heartbeat_interval: Duration,
    pub heartbeat_timeout: Duration,
    pub grace: Duration,
    pub stall_timeout: Duration,
    pub shutdown_timeout: Duration,
    pub client_idle_timeout: Duration,
    pub max_attempts: u32,
    pub max_log_bytes: u64,
    pub max_connections: usize,
    pub max_connections_per_node: usize,
    /// Admins, certificate users and the users' priority ceiling.
    pub users: Users,
    /// How long finished jobs are kept (`None`: until deleted).
    pub keep_finished: Option<Duration>,
    /// How long audit entries are kept.
    pub audit_keep: Duration,
    /// The identity providers of the web's sign-in, their secrets read.
    pub oidc: Vec<ProviderSettings>,
    /// The house presets (`[[preset]]`), checked.
    pub presets: Vec<PresetView>,
    /// The path rules (`[[path_map]]`, `[worker_groups]`), checked.
    pub path_rules: PathRules,
}

/// A retention setting (`keep_finished`, `audit_keep`): a positive duration such as 90d or 12h.
fn age(origins: &Origins, key: &str, text: &str) -> Result<Duration> {
    crate::cli::parse_age(text)
        .ok()
        .filter(|keep| !keep.is_zero())
        .ok_or_else(|| anyhow!("{}: must be a duration such as 90d or 12h, not {text:?}", origins.name(key)))
}

impl NodeSettings {
    /// The durations and counts, or the first value that makes no sense, named by where it came from
    /// (`/etc/distencode/worker.toml: heartbeat_timeout: ...`, `--grace: ...`, `DISTENCODE_GRACE: ...`).
    pub fn check(&self, origins: &Origins) -> Result<Checked> {
        let seconds = |key: &str, value: f64| -> Result<Duration> {
            match Duration::try_from_secs_f64(value) {
                Ok(duration) if !duration.is_zero() => Ok(duration),
                _ => bail!("{}: must be a positive number of seconds, not {value}", origins.name(key)),
            }
        };
        let checked = Checked {
            heartbeat_interval: seconds("heartbeat_interval", self.heartbeat_interval)?,
            heartbeat_timeout: seconds("heartbeat_timeout", self.heartbeat_timeout)?,
            grace: seconds("grace", self.grace)?,
            stall_timeout: seconds("stall_timeout", self.stall_timeout)?,
            shutdown_timeout: seconds("shutdown_timeout", self.shutdown_timeout)?,
            client_idle_timeout: seconds("client_idle_timeout", self.client_idle_timeout)?,
            max_attempts: self.max_attempts,
            max_log_bytes: self.max_log_bytes,
            max_connections: self.max_connections,
            max_connections_per_node: self.max_connections_per_node,
            users: self.users(origins)?,
            oidc: oidc::check(&self.oidc, |name| std::env::var(name).ok())
                .map_err(|e| anyhow!("{}: {e}", origins.name("oidc")))?,
            presets: house_presets::check(&self.preset).map_err(|e| anyhow!("{}: {e}", origins.name("preset")))?,
            path_rules: PathRules::check(&self.path_map, &self.worker_groups)
                .map_err(|e| anyhow!("{}: {e}", origins.name("path_map")))?,
            keep_finished: self.keep_finished.as_deref().map(|text| age(origins, "keep_finished", text)).transpose()?,
            audit_keep: match &self.audit_keep {
                Some(text) => age(origins, "audit_keep", text)?,
                None => distencode_actors::coordinator::audit::DEFAULT_AUDIT_KEEP,
            },
        };
        if checked.heartbeat_timeout <= checked.heartbeat_interval {
            bail!(
                "{}: must be longer than the heartbeat interval ({} s, {})",
                origins.name("heartbeat_timeout"),
                self.heartbeat_interval,
                origins.source("heartbeat_interval")
            );
        }
        let backoff = distencode_actors::worker::MAX_BACKOFF;
        if self.role == Some(NodeRole::Coordinator) && checked.grace <= backoff {
            bail!(
                "{}: must be longer than {} s, the longest a worker waits between two dials, or a worker that was \
                 cut off finds its job given away when it comes back",
                origins.name("grace"),
                backoff.as_secs_f64()
            );
        }
        let address = match self.role {
            Some(NodeRole::Coordinator) => Some(("listen", Some(&self.listen))),
            Some(NodeRole::Worker) => Some(("coordinator", self.connect.coordinator.as_ref())),
            None => None,
        };
        if let Some((key, Some(addr))) = address {
            let check = match key {
                "listen" => distencode_wire::connection::check_listen_addr,
                _ => distencode_wire::connection::check_host_port,
            };
            if let Err(reason) = check(addr) {
                bail!("{}: {reason}", origins.name(key));
            }
        }
        let counts = [
            ("max_attempts", self.max_attempts as usize),
            ("max_connections", self.max_connections),
            ("max_connections_per_node", self.max_connections_per_node),
        ];
        if let Some((key, _)) = counts.iter().find(|(_, count)| *count == 0) {
            bail!("{}: must be at least 1", origins.name(key));
        }
        Ok(checked)
    }

    /// `admins`, `certificate_users` and `max_user_priority`, with every name checked.
    fn users(&self, origins: &Origins) -> Result<Users> {
        let name_ok = |name: &str| distencode_wire::identity::validate_node_name(name).is_ok();
        let user_ok = |name: &str| auth::validate_user_name(name).is_ok();
        for (key, count) in [("admins", self.admins.len()), ("certificate_users", self.certificate_users.len())] {
            if count > auth::MAX_CONFIGURED_USERS {
                bail!("{}: {count} entries, more than {}", origins.name(key), auth::MAX_CONFIGURED_USERS);
            }
        }
        if let Some(bad) = self.admins.iter().find(|name| !user_ok(name)) {
            bail!(
                "{}: {bad:?} is not a user name: use 1 to {} of A-Z a-z 0-9 . _ - @ +",
                origins.name("admins"),
                auth::MAX_USER_NAME_LEN
            );
        }
        let pairs = self.certificate_users.iter();
        if let Some((certificate, user)) = pairs.clone().find(|(c, u)| !name_ok(c) || !user_ok(u)) {
            bail!(
                "{}: \"{certificate}\" = \"{user}\": certificate names are 1 to 64 of A-Z a-z 0-9 . _ -, user \
                 names 1 to {} of those and @ +",
                origins.name("certificate_users"),
                auth::MAX_USER_NAME_LEN
            );
        }
        Ok(Users {
            admins: self.admins.iter().cloned().collect(),
            max_user_priority: self.max_user_priority,
            certificate_users: self.certificate_users.clone(),
        })
    }
}
