//! Config files: precedence (flags > environment > file > defaults), one-line errors, and that the example files,
//! the keys and the `node` flags stay in step.

use super::*;
use crate::cli::{Cli, Command};
use clap::{CommandFactory, FromArgMatches};
use std::collections::BTreeSet;
use std::sync::Mutex;

/// Tests that parse a command line read the environment: one at a time.
static ENV: Mutex<()> = Mutex::new(());

/// `distencode node ARGV...` with `file` as its `--config`, resolved as `main` does.
fn node(argv: &[&str], file: &str) -> Result<NodeArgs> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("node.toml");
    std::fs::write(&path, file)?;
    let mut full = vec!["distencode", "node", "--config", path.to_str().unwrap_or_default()];
    full.extend_from_slice(argv);
    let matches = Cli::command().try_get_matches_from(full)?;
    let Command::Node(args) = Cli::from_arg_matches(&matches)?.command else {
        return Err(anyhow!("not a node command"));
    };
    let node_matches = matches.subcommand_matches("node").ok_or_else(|| anyhow!("no node matches"))?;
    resolve(args, node_matches)
}

fn lock() -> std::sync::MutexGuard<'static, ()> {
    ENV.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[test]
fn defaults_stand_where_nothing_is_set() {
    let _env = lock();
    let args = node(&[], "").unwrap();
    assert_eq!(args.role, None);
    assert_eq!(args.listen, "127.0.0.1:7878");
    assert_eq!(args.heartbeat_timeout, 6.0);
    assert_eq!(args.max_attempts, 3);
    assert_eq!(args.melt, PathBuf::from("melt"));
}

#[test]
fn the_file_beats_defaults() {
    let _env = lock();
    let file = r#"
        role = "worker"
        name = "render1"
        certs = "/etc/distencode/certs"
        coordinator = "coordinator.example.net:7878"
        work_dir = "/var/lib/distencode/worker"
        melt = "/opt/mlt/bin/melt"
        heartbeat_timeout = 10     # a whole number is a number of seconds too
        heartbeat_interval = 2.5
        max_attempts = 5
    "#;
    let args = node(&[], file).unwrap();
    assert_eq!(args.role, Some(NodeRole::Worker));
    assert_eq!(args.connect.name.as_deref(), Some("render1"));
    assert_eq!(args.connect.certs, Some(PathBuf::from("/etc/distencode/certs")));
    assert_eq!(args.connect.coordinator.as_deref(), Some("coordinator.example.net:7878"));
    assert_eq!(args.work_dir, Some(PathBuf::from("/var/lib/distencode/worker")));
    assert_eq!(args.melt, PathBuf::from("/opt/mlt/bin/melt"));
    assert_eq!(args.heartbeat_timeout, 10.0);
    assert_eq!(args.heartbeat_interval, 2.5);
    assert_eq!(args.max_attempts, 5);
}

#[test]
fn flags_beat_the_file_even_when_they_repeat_the_default() {
    let _env = lock();
    let file = "role = \"worker\"\nname = \"from-file\"\nheartbeat_timeout = 10\nlisten = \"0.0.0.0:1\"\n";
    let argv = ["--role", "coordinator", "--name", "from-flag", "--listen", "127.0.0.1:7878"];
    let args = node(&argv, file).unwrap();
    assert_eq!(args.role, Some(NodeRole::Coordinator));
    assert_eq!(args.connect.name.as_deref(), Some("from-flag"));
    assert_eq!(args.listen, "127.0.0.1:7878", "a flag equal to the default still wins");
    assert_eq!(args.heartbeat_timeout, 10.0, "what no flag names comes from the file");
}

#[test]
fn the_environment_beats_the_file_and_flags_beat_the_environment() {
    let _env = lock();
    std::env::set_var("DISTENCODE_NAME", "from-env");
    std::env::set_var("DISTENCODE_GRACE", "5");
    let file = "name = \"from-file\"\ngrace = 9\nstall_timeout = 30\n";
    let from_env = node(&[], file);
    let from_flag = node(&["--name", "from-flag"], file);
    std::env::remove_var("DISTENCODE_NAME");
    std::env::remove_var("DISTENCODE_GRACE");
    let from_env = from_env.unwrap();
    assert_eq!(from_env.connect.name.as_deref(), Some("from-env"));
    assert_eq!(from_env.grace, 5.0);
    assert_eq!(from_env.stall_timeout, 30.0);
    let from_flag = from_flag.unwrap();
    assert_eq!(from_flag.connect.name.as_deref(), Some("from-flag"));
    assert_eq!(from_flag.grace, 5.0);
}

#[test]
fn no_config_flag_leaves_the_arguments_alone() {
    let _env = lock();
    let matches = Cli::command().try_get_matches_from(["distencode", "node", "--grace", "4"]).unwrap();
    let Command::Node(args) = Cli::from_arg_matches(&matches).unwrap().command else {
        panic!("not a node command");
    };
    let args = resolve(args, matches.subcommand_matches("node").unwrap()).unwrap();
    assert_eq!(args.grace, 4.0);
    assert_eq!(args.config, None);
}

fn error(text: &str) -> String {
    parse("config/worker.toml", text).unwrap_err().to_string()
}

#[test]
fn a_value_of_the_wrong_kind_names_file_key_and_what_was_wrong() {
    assert_eq!(
        error("heartbeat_timeout = \"ten\"\n"),
        r#"config/worker.toml: key heartbeat_timeout: expected a number, found "ten""#
    );
    assert_eq!(error("max_attempts = -1\n"), "config/worker.toml: key max_attempts: expected a whole number, found -1");
    assert_eq!(
        error("max_attempts = 2.5\n"),
        "config/worker.toml: key max_attempts: expected a whole number, found 2.5"
    );
    assert_eq!(
        error("role = \"wrkr\"\n"),
        r#"config/worker.toml: key role: expected "coordinator" or "worker", found "wrkr""#
    );
    assert_eq!(error("name = 7\n"), "config/worker.toml: key name: expected a string, found 7");
    assert_eq!(error("melt = true\n"), "config/worker.toml: key melt: expected a path, found true");
    assert_eq!(
        error("[coordinator]\nhost = \"x\"\n"),
        "config/worker.toml: key coordinator: expected a string, found a table"
    );
}

#[test]
fn an_unknown_key_is_named() {
    assert_eq!(
        error("name = \"a\"\nheartbeat-timeout = 3\n"),
        "config/worker.toml: key heartbeat-timeout: unknown key; did you mean heartbeat_timeout?"
    );
    let message = error("colour = \"blue\"\n");
    assert!(message.starts_with("config/worker.toml: key colour: unknown key (the keys are role, name,"), "{message}");
    assert!(error("config = \"other.toml\"\n").contains("key config: unknown key"), "a file cannot name another file");
}

#[test]
fn a_syntax_error_is_one_line_with_its_place() {
    let message = error("name = \"a\"\nlisten = \n");
    assert!(message.starts_with("config/worker.toml: line 2, column "), "{message}");
    assert!(!message.contains('\n'), "{message}");
}

#[test]
fn a_missing_file_is_named() {
    let message = format!("{:#}", load(Path::new("/nonexistent/distencode.toml")).unwrap_err());
    assert!(message.starts_with("cannot read config file /nonexistent/distencode.toml"), "{message}");
}

/// The keys of a TOML text.
fn keys_of(text: &str) -> BTreeSet<String> {
    text.parse::<toml::Table>().unwrap().keys().cloned().collect()
}

#[test]
fn the_example_files_load_and_set_every_key_between_them() {
    let coordinator = include_str!("../config/coordinator.toml");
    let worker = include_str!("../config/worker.toml");
    let parsed = parse("config/coordinator.toml", coordinator).unwrap();
    assert_eq!(parsed.role, Some(NodeRole::Coordinator));
    let parsed = parse("config/worker.toml", worker).unwrap();
    assert_eq!(parsed.role, Some(NodeRole::Worker));
    let mut set = keys_of(coordinator);
    set.extend(keys_of(worker));
    let all: BTreeSet<String> = KEYS.iter().map(|(k, _)| k.to_string()).collect();
    assert_eq!(set, all);
}

#[test]
fn every_node_flag_is_a_key_and_has_an_environment_variable() {
    let cli = Cli::command();
    let node = cli.find_subcommand("node").unwrap();
    let mut flags = BTreeSet::new();
    for arg in node.get_arguments() {
        let id = arg.get_id().as_str();
        if id == "help" {
            continue;
        }
        let env = arg.get_env().map(|e| e.to_string_lossy().into_owned());
        assert_eq!(env, Some(format!("DISTENCODE_{}", id.to_uppercase())), "--{id}");
        if id != "config" {
            flags.insert(id.to_string());
        }
    }
    let keys: BTreeSet<String> = KEYS.iter().map(|(k, _)| k.to_string()).collect();
    assert_eq!(flags, keys);
}
