//! `distencode store backup` and `store restore`: a consistent copy of a stopped coordinator's data dir, and putting
//! one back. sled's files and the log segments are only consistent while nothing writes them, so the backup opens
//! the store itself (its lock keeps a coordinator out), makes every write durable, copies the folder, and opens the
//! copy to check it. A restore copies into a data dir that holds no store yet and opens it the same way.

use crate::cli::StoreCommand;
use crate::node_cmd::store_open_error;
use anyhow::{bail, Context, Result};
use distencode_actors::store::JobStore;
use distencode_wire::job::JobState;
use std::fs;
use std::os::unix::fs::DirBuilderExt;
use std::path::Path;

pub fn run(command: StoreCommand) -> Result<()> {
    match command {
        StoreCommand::Backup { data_dir, to } => {
            if !data_dir.join("jobs.sled").is_dir() {
                bail!("{} holds no coordinator store (no jobs.sled): nothing to back up", data_dir.display());
            }
            let store = JobStore::open(&data_dir).map_err(|e| store_open_error(e, &data_dir))?;
            make_empty_folder(&to)?;
            store.flush().context("the store could not be made durable before the copy")?;
            copy_tree(&data_dir, &to)?;
            drop(store);
            println!("backed up {} to {}: {}", data_dir.display(), to.display(), summary(&to)?);
        }
        StoreCommand::Restore { from, data_dir } => {
            if !from.join("jobs.sled").is_dir() {
                bail!("{} is not a backup of a coordinator store (no jobs.sled)", from.display());
            }
            let what = summary(&from).with_context(|| format!("{} does not open as a store", from.display()))?;
            make_empty_folder(&data_dir)?;
            copy_tree(&from, &data_dir)?;
            summary(&data_dir)?;
            println!("restored {} into {}: {what}", from.display(), data_dir.display());
        }
    }
    Ok(())
}

/// Jobs in the store at `dir`, by whether they are finished: opening it checks the copy.
fn summary(dir: &Path) -> Result<String> {
    let store = JobStore::open(dir).map_err(|e| store_open_error(e, dir))?;
    let jobs = store.list(false)?;
    let unfinished = jobs.iter().filter(|j| !j.state.is_final()).count();
    let succeeded = jobs.iter().filter(|j| j.state == JobState::Succeeded).count();
    Ok(format!("{} jobs ({unfinished} unfinished, {succeeded} succeeded)", jobs.len()))
}

/// `dir` as a new folder only its owner reads (a data dir holds the web's keys), or an existing empty one.
fn make_empty_folder(dir: &Path) -> Result<()> {
    match fs::read_dir(dir) {
        Ok(mut entries) => {
            if entries.next().is_some() {
                bail!("{} is not empty: name a new folder (nothing was copied)", dir.display());
            }
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .with_context(|| format!("cannot create {}", dir.display())),
        Err(e) => Err(e).with_context(|| format!("cannot read {}", dir.display())),
    }
}

/// Copies the folders and regular files under `from` into `to`, keeping their modes; links and anything else are
/// left out (a data dir has none).
fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    for entry in fs::read_dir(from).with_context(|| format!("cannot read {}", from.display()))? {
        let entry = entry?;
        let (source, target) = (entry.path(), to.join(entry.file_name()));
        let kind = entry.file_type()?;
        if kind.is_dir() {
            fs::create_dir(&target).with_context(|| format!("cannot create {}", target.display()))?;
            fs::set_permissions(&target, fs::metadata(&source)?.permissions())?;
            copy_tree(&source, &target)?;
        } else if kind.is_file() {
            fs::copy(&source, &target)
                .with_context(|| format!("cannot copy {} to {}", source.display(), target.display()))?;
            fs::File::open(&target)?.sync_all()?;
        }
    }
    fs::File::open(to)?.sync_all()?;
    Ok(())
}
