//! Config files: precedence (flags > environment > file > defaults), one-line errors, and that the example files,
//! the keys and the `node` flags stay in step.

use super::*;
use crate::cli::{Cli, Command};
use crate::node_settings::NodeRole;
use clap::{CommandFactory, FromArgMatches};
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Mutex;

/// Tests that parse a command line read the environment: one at a time.
static ENV: Mutex<()> = Mutex::new(());

/// `distencode node ARGV...` with `file` as its `--config`, resolved as `main` does.
fn node(argv: &[&str], file: &str) -> Result<NodeSettings> {
    Ok(with_file(argv, file)?.settings)
}

/// The same, with the origins.
fn with_file(argv: &[&str], file: &str) -> Result<Resolved> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("node.toml");
    std::fs::write(&path, file)?;
    let mut full = vec!["distencode", "node", "--config", path.to_str().unwrap_or_default()];
    full.extend_from_slice(argv);
    command_line(&full)
}

/// A whole command line, resolved as `main` does.
fn command_line(argv: &[&str]) -> Result<Resolved> {
    let matches = Cli::command().try_get_matches_from(argv)?;
    let Command::Node(args) = Cli::from_arg_matches(&matches)?.command else {
        return Err(anyhow!("not a node command"));
    };
    let node_matches = matches.subcommand_matches("node").ok_or_else(|| anyhow!("no node matches"))?;
    resolve(args, node_matches)
}

/// The defaults alone: what clap gives with no flag and no environment variable read.
fn defaults() -> NodeSettings {
    let command = NodeSettings::augment_args(clap::Command::new("node")).mut_args(|arg| arg.env(None::<&str>));
    let matches = command.try_get_matches_from(["node"]).unwrap();
    NodeSettings::from_arg_matches(&matches).unwrap()
}

/// A file's text alone over the defaults, as `origin`.
fn parse(origin: &str, text: &str) -> Result<NodeSettings> {
    Ok(layer(origin, text, defaults(), Origins::default())?.settings)
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
    let resolved = command_line(&["distencode", "node", "--grace", "4"]).unwrap();
    assert_eq!(resolved.settings.grace, 4.0);
    assert_eq!(resolved.origins.of("grace"), Origin::Flag);
    assert_eq!(resolved.origins.of("heartbeat_timeout"), Origin::Default);
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
    let _env = lock();
    let argv = ["distencode", "node", "--config", "/nonexistent/distencode.toml"];
    let message = format!("{:#}", command_line(&argv).unwrap_err());
    assert!(message.starts_with("cannot read config file /nonexistent/distencode.toml"), "{message}");
}

/// The keys of a TOML text, and those it shows commented out (`# key = ...`, for settings with no safe default
/// such as a certificate's path; `# [[key]]` for tables of which it shows an example).
fn keys_of(text: &str) -> BTreeSet<String> {
    let mut keys: BTreeSet<String> = text.parse::<toml::Table>().unwrap().keys().cloned().collect();
    let tables = text.lines().filter_map(|line| line.strip_prefix("# [[")?.strip_suffix("]]"));
    keys.extend(tables.map(String::from));
    let commented = text.lines().filter_map(|line| line.strip_prefix("# ")?.split_once(" = ")).map(|(key, _)| key);
    keys.extend(commented.filter(|key| key.chars().all(|c| c.is_ascii_lowercase() || c == '_')).map(String::from));
    keys
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
    let mut all: BTreeSet<String> = setting_args().iter().map(|a| a.get_id().to_string()).collect();
    all.extend(FILE_ONLY_KEYS.iter().map(|(key, _)| key.to_string()));
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
    let keys: BTreeSet<String> = setting_args().iter().map(|a| a.get_id().to_string()).collect();
    assert_eq!(flags, keys);
}

/// What `check` says of `distencode node ARGV...` with `file` as its config (the file's name replaced by FILE).
fn refusal(argv: &[&str], file: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("worker.toml");
    std::fs::write(&path, file).unwrap();
    let mut full = vec!["distencode", "node", "--config", path.to_str().unwrap()];
    full.extend_from_slice(argv);
    let resolved = command_line(&full).unwrap();
    let error = resolved.settings.check(&resolved.origins).unwrap_err().to_string();
    error.replace(path.to_str().unwrap(), "FILE")
}

#[test]
fn a_senseless_value_is_named_where_it_was_set() {
    let _env = lock();
    assert_eq!(
        refusal(&[], "heartbeat_timeout = -1\n"),
        "FILE: heartbeat_timeout: must be a positive number of seconds, not -1"
    );
    assert_eq!(refusal(&["--stall-timeout", "0"], ""), "--stall-timeout: must be a positive number of seconds, not 0");
    std::env::set_var("DISTENCODE_GRACE", "-3");
    let from_env = refusal(&[], "grace = 9\n");
    std::env::remove_var("DISTENCODE_GRACE");
    assert_eq!(from_env, "DISTENCODE_GRACE: must be a positive number of seconds, not -3");
    assert_eq!(refusal(&["--max-attempts", "0"], ""), "--max-attempts: must be at least 1");
}

#[test]
fn a_heartbeat_timeout_within_the_interval_is_refused_naming_both() {
    let _env = lock();
    assert_eq!(
        refusal(&["--heartbeat-interval", "3"], "heartbeat_timeout = 3\n"),
        "FILE: heartbeat_timeout: must be longer than the heartbeat interval (3 s, --heartbeat-interval)"
    );
    assert_eq!(
        refusal(&[], "heartbeat_interval = 6.0\n"),
        "heartbeat_timeout: must be longer than the heartbeat interval (6 s, FILE: heartbeat_interval)"
    );
}

#[test]
fn a_grace_within_a_workers_redial_backoff_is_refused_on_a_coordinator() {
    let _env = lock();
    let backoff = distencode_actors::worker::MAX_BACKOFF.as_secs_f64();
    let file = format!("role = \"coordinator\"\ngrace = {backoff}\n");
    let message = refusal(&[], &file);
    assert!(
        message.starts_with(&format!("FILE: grace: must be longer than {backoff} s, the longest a worker waits")),
        "{message}"
    );
    // Just over it is fine; a worker does not use its grace at all.
    let file = format!("role = \"coordinator\"\ngrace = {}\n", backoff + 0.5);
    let resolved = with_file(&[], &file).unwrap();
    assert!(resolved.settings.check(&resolved.origins).is_ok());
    let worker = with_file(&[], "role = \"worker\"\ngrace = 1\n").unwrap();
    assert!(worker.settings.check(&worker.origins).is_ok());
}

#[test]
fn the_defaults_pass_the_checks() {
    let checked = defaults().check(&Origins::default()).unwrap();
    assert_eq!(checked.heartbeat_interval, std::time::Duration::from_secs(2));
    assert_eq!(checked.heartbeat_timeout, std::time::Duration::from_secs(6));
    assert_eq!(checked.max_attempts, 3);
}

/// A value of the kind a key's flag says (`value_name`), and one of another kind.
fn samples(kind: &str) -> (Vec<toml::Value>, toml::Value) {
    use toml::Value::{Boolean, Float, Integer, String as Text};
    match kind {
        "a number" => (vec![Float(1.5), Integer(2)], Text("one".into())),
        "a whole number" => (vec![Integer(2)], Float(2.5)),
        "a path" | "a string" => (vec![Text("/x".into())], Boolean(true)),
        "an array of strings" => (vec![toml::Value::Array(vec![Text("x".into())])], Text("x".into())),
        "true or false" => (vec![Boolean(true), Boolean(false)], Text("yes".into())),
        list => (list.split(" or ").map(|v| Text(v.trim_matches('"').into())).collect(), Integer(1)),
    }
}

#[test]
fn what_the_errors_say_a_key_holds_is_what_it_holds() {
    for arg in setting_args() {
        let key = arg.get_id().as_str();
        let kind = expected(&arg);
        let (good, bad) = samples(&kind);
        for value in good {
            let text = toml::Table::from_iter([(key.to_string(), value.clone())]).to_string();
            assert!(parse("f.toml", &text).is_ok(), "{key} = {value} should be {kind}");
        }
        let text = toml::Table::from_iter([(key.to_string(), bad.clone())]).to_string();
        let message = parse("f.toml", &text).unwrap_err().to_string();
        assert_eq!(message, format!("f.toml: key {key}: expected {kind}, found {}", describe(&bad)));
    }
}

#[test]
fn an_address_without_a_port_is_refused_asking_for_host_port() {
    let _env = lock();
    assert_eq!(
        refusal(&[], "role = \"worker\"\ncoordinator = \"coordinator.example.net\"\n"),
        "FILE: coordinator: \"coordinator.example.net\" is not HOST:PORT (e.g. coordinator.example.net:7878 or \
         [::1]:7878)"
    );
    assert_eq!(
        refusal(&["--listen", "0.0.0.0"], "role = \"coordinator\"\n"),
        "--listen: \"0.0.0.0\" is not HOST:PORT (e.g. coordinator.example.net:7878 or [::1]:7878)"
    );
    let worker = with_file(&[], "role = \"worker\"\ncoordinator = \"c.example:7878\"\n").unwrap();
    assert!(worker.settings.check(&worker.origins).is_ok());
}

#[test]
fn users_come_from_the_file_and_bad_names_or_shapes_are_refused_naming_the_key() {
    let text = "admins = [\"alice\"]\nmax_user_priority = 5\n[certificate_users]\n\"alice-laptop\" = \"alice\"\n";
    let resolved = layer("c.toml", text, defaults(), Origins::default()).unwrap();
    let users = resolved.settings.check(&resolved.origins).unwrap().users;
    assert_eq!(users.for_certificate("alice-laptop").role, distencode_actors::auth::UserRole::Admin);
    assert_eq!(users.for_certificate("bob").name, "bob");
    assert_eq!(users.max_user_priority, 5);

    let message = layer("c.toml", "certificate_users = 3", defaults(), Origins::default()).unwrap_err().to_string();
    assert_eq!(message, "c.toml: key certificate_users: expected a table of certificate name = user name, found 3");
    let message = layer("c.toml", "admins = \"alice\"", defaults(), Origins::default()).unwrap_err().to_string();
    assert_eq!(message, "c.toml: key admins: expected an array of strings, found \"alice\"");
    let bad = layer("c.toml", "[certificate_users]\n\"a b\" = \"alice\"", defaults(), Origins::default()).unwrap();
    let message = bad.settings.check(&bad.origins).unwrap_err().to_string();
    assert_eq!(
        message,
        "c.toml: certificate_users: \"a b\" = \"alice\": certificate names are 1 to 64 of A-Z a-z 0-9 . _ -, user \
         names 1 to 128 of those and @ +"
    );
}

#[test]
fn path_rules_come_from_the_file_and_a_bad_one_is_refused_naming_it() {
    let text = "[[path_map]]\nfrom = 'D:\\Projects'\nto = \"/mnt/projects\"\nworkers = [\"linux\"]\n\n\
                [worker_groups]\nlinux = [\"render1\"]\n";
    let resolved = layer("c.toml", text, defaults(), Origins::default()).unwrap();
    let rules = resolved.settings.check(&resolved.origins).unwrap().path_rules;
    assert_eq!(rules.for_worker("render1").len(), 1);
    assert!(rules.for_worker("render2").is_empty());

    let bad =
        layer("c.toml", "[[path_map]]\nfrom = 'Projects'\nto = '/mnt'\n", defaults(), Origins::default()).unwrap();
    let message = bad.settings.check(&bad.origins).unwrap_err().to_string();
    assert_eq!(message, "c.toml: path_map: rule 1: from \"Projects\" is not an absolute path");
    let message =
        layer("c.toml", "[[path_map]]\nfrom = '/a'\ninto = '/b'\n", defaults(), Origins::default()).unwrap_err();
    assert!(message.to_string().starts_with("c.toml: [[path_map]]: unknown field `into`"), "{message}");
}
