//! `distencode node --config FILE`: a node's settings from a TOML file, so a service unit needs one flag only.
//!
//! The file's keys are the `node` flags with `_` for `-` (`heartbeat_timeout`, `data_dir`, ...). A setting given as a
//! flag or an environment variable wins over the file; the file wins over the built-in default. A key the file may
//! not hold, or a value of the wrong kind, is an error naming the file, the key and what was wrong.

use crate::cli::{NodeArgs, NodeRole};
use anyhow::{anyhow, Context, Result};
use clap::parser::ValueSource;
use clap::ArgMatches;
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// A node's settings as a file gives them: each optional, nothing else allowed.
#[derive(Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeFile {
    pub role: Option<NodeRole>,
    pub name: Option<String>,
    pub certs: Option<PathBuf>,
    pub coordinator: Option<String>,
    pub listen: Option<String>,
    pub data_dir: Option<PathBuf>,
    pub work_dir: Option<PathBuf>,
    pub melt: Option<PathBuf>,
    pub ffprobe: Option<PathBuf>,
    pub heartbeat_interval: Option<f64>,
    pub heartbeat_timeout: Option<f64>,
    pub grace: Option<f64>,
    pub max_attempts: Option<u32>,
    pub stall_timeout: Option<f64>,
    pub max_connections: Option<usize>,
    pub max_connections_per_node: Option<usize>,
    pub client_idle_timeout: Option<f64>,
}

/// Every key a file may hold and what its value must be, in the order the example files use.
pub const KEYS: &[(&str, &str)] = &[
    ("role", r#""coordinator" or "worker""#),
    ("name", "a string"),
    ("certs", "a path"),
    ("coordinator", "a string"),
    ("listen", "a string"),
    ("data_dir", "a path"),
    ("work_dir", "a path"),
    ("melt", "a path"),
    ("ffprobe", "a path"),
    ("heartbeat_interval", "a number"),
    ("heartbeat_timeout", "a number"),
    ("grace", "a number"),
    ("max_attempts", "a whole number"),
    ("max_connections", "a whole number"),
    ("max_connections_per_node", "a whole number"),
    ("client_idle_timeout", "a number"),
    ("stall_timeout", "a number"),
];

/// Fills in from `--config FILE` (if any) every setting that was neither a flag nor an environment variable.
pub fn resolve(mut args: NodeArgs, matches: &ArgMatches) -> Result<NodeArgs> {
    let Some(path) = args.config.clone() else {
        return Ok(args);
    };
    let file = load(&path)?;
    let given =
        |id: &str| matches!(matches.value_source(id), Some(ValueSource::CommandLine | ValueSource::EnvVariable));
    apply(&mut args, file, given);
    Ok(args)
}

/// Reads and checks a config file.
pub fn load(path: &Path) -> Result<NodeFile> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read config file {}", path.display()))?;
    parse(&path.display().to_string(), &text)
}

/// Parses the text of a config file; `origin` names it in errors.
pub fn parse(origin: &str, text: &str) -> Result<NodeFile> {
    let table: toml::Table =
        text.parse().map_err(|e: toml::de::Error| anyhow!("{origin}: {}", syntax_error(text, &e)))?;
    // Each key alone first, so that an error can name its key.
    for (key, value) in &table {
        let alone = toml::Table::from_iter([(key.clone(), value.clone())]);
        if alone.try_into::<NodeFile>().is_err() {
            return Err(anyhow!("{origin}: key {key}: {}", key_error(key, value)));
        }
    }
    table.try_into::<NodeFile>().map_err(|e| anyhow!("{origin}: {}", e.message().trim().replace('\n', "; ")))
}

/// Takes each file setting whose flag `given` says was not given on the command line or in the environment.
pub fn apply(args: &mut NodeArgs, file: NodeFile, given: impl Fn(&str) -> bool) {
    fn set<T>(target: &mut T, id: &str, value: Option<T>, given: &impl Fn(&str) -> bool) {
        if let Some(value) = value.filter(|_| !given(id)) {
            *target = value;
        }
    }
    let g = &given;
    set(&mut args.role, "role", file.role.map(Some), g);
    set(&mut args.connect.name, "name", file.name.map(Some), g);
    set(&mut args.connect.certs, "certs", file.certs.map(Some), g);
    let coordinator = file.coordinator.map(Some);
    set(&mut args.connect.coordinator, "coordinator", coordinator, g);
    set(&mut args.listen, "listen", file.listen, g);
    set(&mut args.data_dir, "data_dir", file.data_dir.map(Some), g);
    set(&mut args.work_dir, "work_dir", file.work_dir.map(Some), g);
    set(&mut args.melt, "melt", file.melt, g);
    set(&mut args.ffprobe, "ffprobe", file.ffprobe, g);
    let interval = file.heartbeat_interval;
    set(&mut args.heartbeat_interval, "heartbeat_interval", interval, g);
    let timeout = file.heartbeat_timeout;
    set(&mut args.heartbeat_timeout, "heartbeat_timeout", timeout, g);
    set(&mut args.grace, "grace", file.grace, g);
    set(&mut args.max_attempts, "max_attempts", file.max_attempts, g);
    set(&mut args.stall_timeout, "stall_timeout", file.stall_timeout, g);
    set(&mut args.max_connections, "max_connections", file.max_connections, g);
    let per_node = file.max_connections_per_node;
    set(&mut args.max_connections_per_node, "max_connections_per_node", per_node, g);
    let idle = file.client_idle_timeout;
    set(&mut args.client_idle_timeout, "client_idle_timeout", idle, g);
}

/// What is wrong with one key: unknown, or a value of the wrong kind.
fn key_error(key: &str, value: &toml::Value) -> String {
    match KEYS.iter().find(|(k, _)| *k == key) {
        Some((_, expected)) => format!("expected {expected}, found {}", describe(value)),
        None => {
            let underscored = key.replace('-', "_");
            if KEYS.iter().any(|(k, _)| *k == underscored) {
                format!("unknown key; did you mean {underscored}?")
            } else {
                let known: Vec<&str> = KEYS.iter().map(|(k, _)| *k).collect();
                format!("unknown key (the keys are {})", known.join(", "))
            }
        }
    }
}

/// A value as the user wrote it, short.
fn describe(value: &toml::Value) -> String {
    match value {
        toml::Value::Table(_) => "a table".into(),
        toml::Value::Array(_) => "an array".into(),
        toml::Value::Boolean(b) => format!("{b}"),
        other => {
            let text = other.to_string();
            if text.chars().count() > 60 {
                format!("{}…", text.chars().take(60).collect::<String>())
            } else {
                text
            }
        }
    }
}

/// A TOML syntax error as one line: where it is and what the parser says.
fn syntax_error(text: &str, error: &toml::de::Error) -> String {
    let message = error.message().lines().map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join("; ");
    match error.span() {
        Some(span) => {
            let before = text.get(..span.start).unwrap_or(text);
            let line = before.matches('\n').count() + 1;
            let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
            format!("line {line}, column {column}: {message}")
        }
        None => message,
    }
}

#[cfg(test)]
#[path = "config_file_tests.rs"]
mod tests;
