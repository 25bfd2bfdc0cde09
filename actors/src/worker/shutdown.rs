//! Shutting a worker down without losing its render: it drains first, and gives the render up only when told to.
//!
//! The binary moves the [`Stage`] forward (the first SIGTERM drains, a second one or the shutdown timeout gives
//! up). Draining, the link tells the coordinator `Leaving` (it is offered nothing more), the MeltRunner turns down
//! any offer already on its way, and the render in progress goes on to its end and is reported as usual. Giving up,
//! the MeltRunner stops the render (melt's whole process group is killed, its partial file removed) and the link
//! reports it cancelled, so the coordinator queues the job again for another worker. Either way the link ends once
//! nothing is rendering and the coordinator has answered every report, and closes its connection cleanly.

use super::Link;
use crate::runner::{AbandonRender, CurrentRender, StopTakingOffers};
use std::time::Duration;
use tokio::sync::watch;

/// How far the worker is in shutting down.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Stage {
    /// Taking offers.
    Running,
    /// Finishing the render it holds, taking nothing new.
    Draining,
    /// Giving the render up.
    Abandoning,
}

/// Once the render is given up, how long the link still tries to tell the coordinator before it ends anyway (the
/// coordinator then finds the worker gone, and queues the job again after its grace period).
pub const GIVE_UP_WAIT: Duration = Duration::from_secs(10);

impl Link {
    /// The next stage the binary sets; never resolves once the binary has dropped its sender.
    pub(super) async fn next_stage(&mut self) -> Stage {
        if self.stage.changed().await.is_err() {
            std::future::pending::<()>().await;
        }
        *self.stage.borrow_and_update()
    }

    /// The stage now.
    pub(super) fn stage(&self) -> Stage {
        *self.stage.borrow()
    }

    /// Acts on a stage just entered: the MeltRunner takes no offer from now on, and gives up its render.
    pub(super) async fn enter(&mut self, stage: Stage) {
        if stage >= Stage::Draining {
            let _ = self.runner.send(StopTakingOffers).await;
        }
        if stage == Stage::Abandoning && self.give_up_at.is_none() {
            let _ = self.runner.send(AbandonRender).await;
            self.give_up_at = Some(tokio::time::Instant::now() + GIVE_UP_WAIT);
        }
    }

    /// Whether a shutting-down link may end: nothing renders or is being checked, and every report is answered.
    pub(super) async fn done(&mut self) -> bool {
        if self.stage() == Stage::Running || !self.offers.is_empty() {
            return false;
        }
        let rendering = self.runner.send(CurrentRender).await.ok().flatten();
        // A render that ended has queued its report in the same step as it cleared the runner: take it first.
        while let Ok(report) = self.inbox.reports.try_recv() {
            self.pending.report(report);
        }
        rendering.is_none() && self.pending.is_empty()
    }
}

/// A stage that starts at [`Stage::Running`], for the binary to move forward.
pub fn stages() -> (watch::Sender<Stage>, watch::Receiver<Stage>) {
    watch::channel(Stage::Running)
}
