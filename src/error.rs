//! The binary's own error kinds, and how a failed command ends: one line on stderr and a non-zero exit.
//!
//! Commands return `anyhow` errors, whose context chains say where a failure came from; the kinds here are the
//! failures the binary raises itself, and [`exit_code`] is the one place a command's error becomes what the user
//! reads.

use std::process::ExitCode;

/// A failure the command has already told on stdout (`job submit --wait`): exit non-zero without saying it twice.
#[derive(Debug, thiserror::Error)]
#[error("the failure was told above")]
pub struct Reported;

/// Failures of the binary itself, not of the work it starts.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum CliError {
    /// clap gave a subcommand's arguments without its matches (`command` is `node` or `doctor`).
    #[error("the {command} command was not parsed as one")]
    NotParsed { command: &'static str },
}

/// How the process ends after a command: success, or failure with the error's chain as one line on stderr (unless
/// it was [`Reported`] already).
pub fn exit_code(result: anyhow::Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) if error.is::<Reported>() => ExitCode::FAILURE,
        Err(error) => {
            eprintln!("distencode: {}", one_line(&error));
            ExitCode::FAILURE
        }
    }
}

/// The chain of causes joined, as the user should read it.
fn one_line(error: &anyhow::Error) -> String {
    let text: Vec<String> = error.chain().map(|e| e.to_string()).collect();
    dedup_chain(&text)
}

/// Joins an error chain, skipping causes already quoted by the message before them.
fn dedup_chain(chain: &[String]) -> String {
    let mut line = String::new();
    for part in chain {
        if line.contains(part.as_str()) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(part);
    }
    line.replace('\n', " ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use anyhow::Context as _;

    #[test]
    fn a_chain_is_one_line_without_causes_said_twice() {
        let quoted = std::io::Error::other("disk full");
        let error = anyhow::Error::new(quoted).context("cannot write /d/x: disk full").context("job 3");
        assert_eq!(one_line(&error), "job 3: cannot write /d/x: disk full");
        let split = Err::<(), _>(anyhow::anyhow!("line one\nline two")).context("outer").unwrap_err();
        assert_eq!(one_line(&split), "outer: line one line two");
    }

    #[test]
    fn the_binary_s_own_failures_keep_their_lines() {
        assert_eq!(CliError::NotParsed { command: "node" }.to_string(), "the node command was not parsed as one");
        assert_eq!(Reported.to_string(), "the failure was told above");
        let reported = anyhow::Error::new(Reported).context("job 3");
        assert!(reported.is::<Reported>());
        assert_eq!(exit_code(Err(reported)), ExitCode::FAILURE);
        assert_eq!(exit_code(Ok(())), ExitCode::SUCCESS);
    }
}
