//! `distencode node --config FILE`: the node's settings read in layers, so a service unit needs one flag only.
//!
//! clap reads the flags, the environment and the defaults into [`NodeSettings`]; this module lays the file between
//! the defaults and the environment: a key of the file replaces a setting that neither a flag nor an environment
//! variable gave. The file's keys are the fields of [`NodeSettings`] (the `node` flags with `_` for `-`); what each
//! must hold comes from its flag's `value_name` (see [`expected`]). A key the file may not hold, or a value of the
//! wrong kind, is an error naming the file, the key and what was wrong. [`Origins`] remembers where each setting
//! came from, so that a later check can name the file and key, the flag or the variable of a value it refuses.

use crate::cli::NodeArgs;
use crate::node_settings::NodeSettings;
use anyhow::{anyhow, Context, Result};
use clap::parser::ValueSource;
use clap::{ArgMatches, Args};
use std::collections::BTreeMap;

/// Keys only the file may hold (their values are tables, no flag could give them), and what each must be.
pub const FILE_ONLY_KEYS: [(&str, &str); 5] = [
    ("certificate_users", "a table of certificate name = user name"),
    ("oidc", "[[oidc]] tables of name, issuer, client_id, redirect_url and the rules (docs/users.md)"),
    ("preset", "[[preset]] tables of name, extension, vcodec, acodec and properties (docs/formats.md)"),
    ("path_map", "[[path_map]] tables of from, to and workers (docs/deploy.md)"),
    ("worker_groups", "a table of group name = [worker names]"),
];

/// A node's settings, and where each came from.
#[derive(Debug)]
pub struct Resolved {
    pub settings: NodeSettings,
    pub origins: Origins,
}

/// Where one setting came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    Default,
    /// The `--config` file; its name as the user gave it.
    File(String),
    Environment,
    Flag,
}

/// The origin of every setting, by key.
#[derive(Clone, Debug, Default)]
pub struct Origins {
    /// Keys that are missing here were left at their default.
    by_key: BTreeMap<String, Origin>,
}

impl Origins {
    pub fn of(&self, key: &str) -> Origin {
        self.by_key.get(key).cloned().unwrap_or(Origin::Default)
    }

    /// How the user names the setting where it came from: `FILE: key`, `--flag`, `DISTENCODE_KEY`, or the key.
    pub fn name(&self, key: &str) -> String {
        match self.of(key) {
            Origin::File(file) => format!("{file}: {key}"),
            Origin::Flag => format!("--{}", key.replace('_', "-")),
            Origin::Environment => format!("DISTENCODE_{}", key.to_uppercase()),
            Origin::Default => key.to_string(),
        }
    }

    /// Where the setting came from, in a few words: `the default`, `--flag`, `DISTENCODE_KEY` or `FILE: key`.
    pub fn source(&self, key: &str) -> String {
        match self.of(key) {
            Origin::Default => "the default".into(),
            _ => self.name(key),
        }
    }
}

/// The settings from the flags, the environment and (if `--config` names one) the file.
pub fn resolve(args: NodeArgs, matches: &ArgMatches) -> Result<Resolved> {
    let mut origins = Origins::default();
    for arg in setting_args() {
        let key = arg.get_id().as_str();
        let origin = match matches.value_source(key) {
            Some(ValueSource::CommandLine) => Origin::Flag,
            Some(ValueSource::EnvVariable) => Origin::Environment,
            _ => continue,
        };
        origins.by_key.insert(key.to_string(), origin);
    }
    let Some(path) = args.config else {
        return Ok(Resolved { settings: args.settings, origins });
    };
    let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read config file {}", path.display()))?;
    layer(&path.display().to_string(), &text, args.settings, origins)
}

/// Lays the file `text` (called `origin` in errors) under `given`, the settings from flags, environment and
/// defaults, whose origins say which were flags or variables.
pub fn layer(origin: &str, text: &str, given: NodeSettings, mut origins: Origins) -> Result<Resolved> {
    let file: toml::Table =
        text.parse().map_err(|e: toml::de::Error| anyhow!("{origin}: {}", syntax_error(text, &e)))?;
    let base = toml::Table::try_from(&given).map_err(|e| anyhow!("the settings could not be layered: {e}"))?;
    let args = setting_args();
    let mut merged = base.clone();
    for (key, value) in file {
        let file_only = FILE_ONLY_KEYS.iter().find(|(k, _)| *k == key.as_str()).map(|(_, what)| what.to_string());
        let expected = match (args.iter().find(|a| a.get_id() == key.as_str()), file_only) {
            (Some(arg), _) => expected(arg),
            (None, Some(what)) => what,
            (None, None) => return Err(anyhow!("{origin}: key {}: {}", shown_key(&key), unknown_key(&key, &args))),
        };
        // Each key alone on top of settings known to be good, so that an error names its key.
        let mut alone = base.clone();
        alone.insert(key.clone(), value.clone());
        if let Err(e) = alone.try_into::<NodeSettings>() {
            if matches!(key.as_str(), "oidc" | "preset" | "path_map") && value.is_array() {
                // A table of the right shape with a wrong key: say which key, as serde does.
                return Err(anyhow!("{origin}: [[{key}]]: {}", one_line(e.message())));
            }
            return Err(anyhow!("{origin}: key {key}: expected {expected}, found {}", describe(&value)));
        }
        if origins.of(&key) == Origin::Default {
            origins.by_key.insert(key.clone(), Origin::File(origin.to_string()));
            merged.insert(key, value);
        }
    }
    let settings = merged.try_into::<NodeSettings>().map_err(|e| anyhow!("{origin}: {}", one_line(e.message())))?;
    Ok(Resolved { settings, origins })
}

/// The flags of [`NodeSettings`]: each is a key of the file.
pub fn setting_args() -> Vec<clap::Arg> {
    NodeSettings::augment_args(clap::Command::new("node")).get_arguments().cloned().collect()
}

/// What a key's value must be, from its flag: one of its possible values, or what its `value_name` says.
pub fn expected(arg: &clap::Arg) -> String {
    if matches!(arg.get_action(), clap::ArgAction::SetTrue) {
        return "true or false".into();
    }
    let values: Vec<String> = arg.get_possible_values().iter().map(|v| format!("{:?}", v.get_name())).collect();
    if !values.is_empty() {
        return values.join(" or ");
    }
    if matches!(arg.get_action(), clap::ArgAction::Append) {
        return "an array of strings".into();
    }
    let name = arg.get_value_names().and_then(|names| names.first()).map(|name| name.as_str());
    match name {
        Some("SECONDS") => "a number",
        Some("COUNT" | "BYTES") => "a whole number",
        Some("DIR" | "PATH" | "FILE") => "a path",
        _ => "a string",
    }
    .to_string()
}

/// A key as written, or quoted and escaped when it is not a plain name (a quoted TOML key may hold a line break),
/// so that the error stays one line.
fn shown_key(key: &str) -> String {
    if key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
        key.to_string()
    } else {
        format!("{key:?}")
    }
}

fn unknown_key(key: &str, args: &[clap::Arg]) -> String {
    let underscored = key.replace('-', "_");
    if args.iter().any(|a| a.get_id() == underscored.as_str()) {
        format!("unknown key; did you mean {underscored}?")
    } else {
        let mut known: Vec<&str> = args.iter().map(|a| a.get_id().as_str()).collect();
        known.extend(FILE_ONLY_KEYS.iter().map(|(key, _)| *key));
        format!("unknown key (the keys are {})", known.join(", "))
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

fn one_line(message: &str) -> String {
    message.lines().map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join("; ")
}

/// A TOML syntax error as one line: where it is and what the parser says.
fn syntax_error(text: &str, error: &toml::de::Error) -> String {
    let message = one_line(error.message());
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
