//! The `distencode` command as a library: the command line, its settings files and every subcommand. The binary
//! (`src/main.rs`) only calls [`run`]; the fuzz targets (`fuzz/`) reach the settings-file reader from here. The work
//! lives in the `wire` and `actors` crates; this crate wires them to flags, files and the terminal.
#![forbid(unsafe_code)]

mod assets_cmd;
mod audit_cmd;
mod bench;
mod certs_cmd;
mod certs_reload;
pub mod cli;
mod client;
pub mod config_file;
mod doctor;
mod error;
mod ffmpeg_cmd;
mod job_cmd;
mod node_cmd;
pub mod node_settings;
mod output;
mod presets_cmd;
mod progress_view;
mod shared_folder;
mod shutdown;
mod store_cmd;
mod worker_cmd;

use clap::{CommandFactory, FromArgMatches};
use cli::{Cli, Command};
use error::CliError;
use std::process::ExitCode;

/// Parses the command line, runs what it names and says how it went.
pub fn run() -> ExitCode {
    let matches = Cli::command().get_matches();
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    // Nodes log what they do; client commands speak through their output and one-line errors only.
    init_logging(if matches!(cli.command, Command::Node(_)) { "info,sled=warn" } else { "off" });
    let result = match cli.command {
        Command::Certs(command) => certs_cmd::run(command),
        Command::Node(args) => match matches.subcommand_matches("node") {
            Some(node_matches) => config_file::resolve(args, node_matches).and_then(node_cmd::run),
            None => Err(CliError::NotParsed { command: "node" }.into()),
        },
        Command::Job(command) => client_runtime().and_then(|rt| rt.block_on(job_cmd::run(command))),
        Command::Audit { user, json, limit, connect } => {
            client_runtime().and_then(|rt| rt.block_on(audit_cmd::run(user, json, limit, connect)))
        }
        Command::Worker(command) => client_runtime().and_then(|rt| rt.block_on(worker_cmd::run(command))),
        Command::Presets { json, connect } => {
            client_runtime().and_then(|rt| rt.block_on(presets_cmd::run(json, connect)))
        }
        Command::Bench(command) => bench::run(command),
        Command::Store(command) => store_cmd::run(command),
        Command::CheckProject { path } => assets_cmd::check_project(&path),
        Command::Completions { shell } => assets_cmd::completions(shell),
        Command::Man { out } => assets_cmd::man_pages(&out),
        Command::Doctor(args) => match matches.subcommand_matches("doctor") {
            Some(doctor_matches) => {
                let (json, roots) = (args.json, args.roots);
                config_file::resolve(args.node, doctor_matches).and_then(|r| doctor::run(json, &roots, r))
            }
            None => Err(CliError::NotParsed { command: "doctor" }.into()),
        },
    };
    error::exit_code(result)
}

fn client_runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread().enable_all().build()?)
}

/// Logs go to stderr; `DISTENCODE_LOG` (or `RUST_LOG`) filters them.
fn init_logging(default: &str) {
    let filter =
        std::env::var("DISTENCODE_LOG").or_else(|_| std::env::var("RUST_LOG")).unwrap_or_else(|_| default.to_string());
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .init();
}
