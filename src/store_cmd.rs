//! `distencode store backup` and `store restore`: a consistent copy of a stopped coordinator's data dir, and putting
//! one back. sled's files and the log segments are only consistent while nothing writes them, so the backup opens
//! the store itself (its lock keeps a coordinator out), makes every write durable, copies the folder, and opens the
//! copy to check it (`actors/src/store/backup.rs`). `--online` asks the running coordinator to do the same on its
//! machine. A restore copies into a data dir that holds no store yet and opens it the same way.

use crate::cli::{Connect, StoreCommand};
use crate::client::{Client, Endpoint};
use crate::node_cmd::store_open_error;
use anyhow::{bail, Context, Result};
use distencode_actors::store::backup::{copy_tree, make_empty_folder};
use distencode_actors::store::JobStore;
use distencode_wire::message::{ClientReply, ClientRequest};
use std::path::Path;

pub fn run(command: StoreCommand) -> Result<()> {
    match command {
        StoreCommand::Backup { to, online: true, connect, .. } => {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            let summary = runtime.block_on(backup_online(&connect, &to))?;
            println!("the coordinator backed up its store to {}: {summary}", to.display());
        }
        StoreCommand::Backup { data_dir, to, .. } => {
            let data_dir = data_dir.context("store backup needs --data-dir DIR, or --online")?;
            if !data_dir.join("jobs.sled").is_dir() {
                bail!("{} holds no coordinator store (no jobs.sled): nothing to back up", data_dir.display());
            }
            let store = JobStore::open(&data_dir).map_err(|e| store_open_error(e, &data_dir))?;
            store.backup_to(&to)?;
            drop(store);
            // The copy opens as a store: that is the check.
            println!("backed up {} to {}: {}", data_dir.display(), to.display(), summary(&to)?);
        }
        StoreCommand::Restore { from, data_dir } => {
            if !from.join("jobs.sled").is_dir() {
                bail!("{} is not a backup of a coordinator store (no jobs.sled)", from.display());
            }
            let what = summary(&from).with_context(|| format!("{} does not open as a store", from.display()))?;
            make_empty_folder(&data_dir)?;
            copy_tree(&from, &data_dir).with_context(|| format!("the copy into {} failed", data_dir.display()))?;
            summary(&data_dir)?;
            println!("restored {} into {}: {what}", from.display(), data_dir.display());
        }
    }
    Ok(())
}

/// Asks the running coordinator to copy its store into `to` on its machine.
async fn backup_online(connect: &Connect, to: &Path) -> Result<String> {
    let endpoint = Endpoint::from_flags(connect)?;
    let mut client = Client::connect(&endpoint).await?;
    let reply = client.call(ClientRequest::Backup { to: to.display().to_string() }).await;
    client.close().await;
    match reply? {
        ClientReply::BackedUp(summary) => Ok(summary),
        ClientReply::Error(e) => bail!("{e}"),
        other => bail!("unexpected reply to a backup request: {other:?}"),
    }
}

/// What the store at `dir` holds; opening it checks the copy.
fn summary(dir: &Path) -> Result<String> {
    Ok(JobStore::open(dir).map_err(|e| store_open_error(e, dir))?.summary())
}
