//! A real coordinator process with certificates for simulated workers and clients: the setting of every benchmark
//! that drives the coordinator with the load generator instead of real melt.

use super::args::Common;
use super::cluster::{CoordinatorSpec, Node, Pki, ProcStats, Scratch};
use super::load::{self, Plan, Recorder, Target};
use anyhow::Result;
use distencode_wire::Role;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// A coordinator (killed first when dropped), its certificates and data, in a scratch folder (removed last).
pub struct SimFarm {
    pub coordinator: Node,
    pub target: Arc<Target>,
    pub workers: Vec<String>,
    pub clients: Vec<String>,
    data_dir: PathBuf,
    log_filter: String,
    restarts: usize,
    pub scratch: Scratch,
}

impl SimFarm {
    /// Makes a CA and certificates for the coordinator, `workers` workers and `clients` clients, and starts the
    /// coordinator.
    pub async fn start(tag: &str, workers: usize, clients: usize, common: &Common) -> Result<Self> {
        let scratch = Scratch::new(tag)?;
        let pki = Pki::new(scratch.path())?;
        let worker_names: Vec<String> = (1..=workers).map(|i| format!("sim{i:05}")).collect();
        let client_names: Vec<String> = (1..=clients).map(|i| format!("client{i:03}")).collect();
        let certs = pki.dir.clone();
        let names = (worker_names.clone(), client_names.clone());
        tokio::task::spawn_blocking(move || {
            pki.issue_many(Role::Worker, &names.0)?;
            pki.issue_many(Role::Client, &names.1)
        })
        .await??;
        let data_dir = scratch.path().join("coordinator-data");
        let coordinator = Node::coordinator(&CoordinatorSpec {
            certs: &certs,
            data_dir: &data_dir,
            log: scratch.path().join("coordinator.log"),
            log_filter: &common.coordinator_log,
            listen: "127.0.0.1:0",
            extra: &[],
        })
        .await?;
        let target = Arc::new(Target { addr: coordinator.addr.clone(), certs });
        Ok(Self {
            coordinator,
            target,
            workers: worker_names,
            clients: client_names,
            data_dir,
            log_filter: common.coordinator_log.clone(),
            restarts: 0,
            scratch,
        })
    }

    /// kill -9 the coordinator.
    pub fn kill_coordinator(&mut self) {
        self.coordinator.kill();
    }

    /// Starts the coordinator again on the same data and address (after [`SimFarm::kill_coordinator`]).
    pub async fn restart_coordinator(&mut self) -> Result<()> {
        self.coordinator.kill();
        self.restarts += 1;
        let log_name = format!("coordinator-restart{}.log", self.restarts);
        self.coordinator = Node::coordinator(&CoordinatorSpec {
            certs: &self.target.certs,
            data_dir: &self.data_dir,
            log: self.scratch.path().join(log_name),
            log_filter: &self.log_filter,
            listen: &self.target.addr,
            extra: &[],
        })
        .await?;
        Ok(())
    }

    /// Starts every simulated worker with `plan` and waits until all are registered.
    pub async fn start_workers(&self, plan: Plan, recorder: &Arc<Recorder>) -> Result<Workers> {
        let (tasks, stop) = load::start_workers(&self.target, &self.workers, plan, recorder);
        let workers = Workers { tasks, stop };
        let limit = Duration::from_secs(60 + self.workers.len() as u64 / 10);
        load::wait_registered(recorder, self.workers.len(), limit).await?;
        Ok(workers)
    }

    pub fn coordinator_stats(&self) -> ProcStats {
        self.coordinator.stats()
    }
}

/// Running simulated workers; stopped when [`Workers::stop`] is awaited (or aborted when dropped).
pub struct Workers {
    tasks: Vec<tokio::task::JoinHandle<Result<()>>>,
    stop: tokio::sync::watch::Sender<bool>,
}

impl Workers {
    pub async fn stop(mut self) {
        let tasks = std::mem::take(&mut self.tasks);
        load::stop_workers(tasks, self.stop.clone()).await;
    }
}

impl Drop for Workers {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        for task in &self.tasks {
            task.abort();
        }
    }
}
