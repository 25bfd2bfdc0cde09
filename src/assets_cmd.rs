//! What the package ships beside the binary, made from the binary itself so it cannot drift from the flags: shell
//! completions (`distencode completions bash|zsh|fish`), one man page per subcommand (`distencode man --out DIR`),
//! and the farm's check project (`distencode check-project`), a short render every worker can do.

use crate::cli::{Cli, ShellArg};
use anyhow::{Context, Result};
use clap::CommandFactory;
use std::path::Path;

/// Two seconds of colour and tone at HD 720p 25 fps (config/check.mlt); only MLT's core services.
pub const CHECK_PROJECT: &str = include_str!("../config/check.mlt");

/// The completion script for `shell`, on stdout.
pub fn completions(shell: ShellArg) -> Result<()> {
    let mut out = Vec::new();
    write_completions(shell, &mut out);
    use std::io::Write;
    std::io::stdout().write_all(&out)?;
    Ok(())
}

pub fn write_completions(shell: ShellArg, out: &mut Vec<u8>) {
    let shell = match shell {
        ShellArg::Bash => clap_complete::Shell::Bash,
        ShellArg::Zsh => clap_complete::Shell::Zsh,
        ShellArg::Fish => clap_complete::Shell::Fish,
    };
    clap_complete::generate(shell, &mut Cli::command(), "distencode", out);
}

/// `distencode.1`, `distencode-job.1`, `distencode-job-submit.1`, ... in `dir`.
pub fn man_pages(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    clap_mangen::generate_to(Cli::command(), dir)
        .with_context(|| format!("cannot write man pages in {}", dir.display()))
}

/// Writes the check project to `path` (refusing to replace a file) and says how to render it.
pub fn check_project(path: &Path) -> Result<()> {
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    file.write_all(CHECK_PROJECT.as_bytes()).with_context(|| format!("cannot write {}", path.display()))?;
    println!("wrote {}: render it with distencode job submit {} --wait", path.display(), path.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_subcommand_has_a_man_page() {
        let dir = tempfile::tempdir().unwrap();
        man_pages(dir.path()).unwrap();
        for page in ["distencode.1", "distencode-job-submit.1", "distencode-worker-list.1", "distencode-doctor.1"] {
            let text = std::fs::read_to_string(dir.path().join(page)).unwrap_or_else(|e| panic!("{page}: {e}"));
            assert!(text.starts_with(".ie \\n(.g .ds Aq") || text.contains(".TH "), "{page} is no man page");
        }
        let mut expected = 1;
        let cli = Cli::command();
        let mut stack: Vec<&clap::Command> = cli.get_subcommands().collect();
        while let Some(command) = stack.pop() {
            expected += usize::from(!command.is_hide_set());
            stack.extend(command.get_subcommands());
        }
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), expected);
    }

    #[test]
    fn completions_name_the_subcommands_in_each_shell() {
        for shell in [ShellArg::Bash, ShellArg::Zsh, ShellArg::Fish] {
            let mut out = Vec::new();
            write_completions(shell, &mut out);
            let text = String::from_utf8(out).unwrap();
            for word in ["submit", "doctor", "reserve", "coordinator", "check-project"] {
                assert!(text.contains(word), "{shell:?} completions lack {word}");
            }
        }
    }

    #[test]
    fn the_check_project_is_written_once_and_parses() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("check.mlt");
        check_project(&path).unwrap();
        let project = distencode_mlt::read_project(&path).unwrap();
        assert_eq!(project.services.iter().map(String::as_str).collect::<Vec<_>>(), ["color", "tone"]);
        assert_eq!((project.length_frames, project.has_audio, project.fps_num), (50, true, 25));
        let err = check_project(&path).unwrap_err();
        assert!(format!("{err:#}").starts_with(&format!("cannot create {}: ", path.display())), "{err:#}");
    }
}
