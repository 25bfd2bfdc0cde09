//! Changes of the farm that others follow as they happen (the web interface's event streams): a job's state, a
//! job's progress, a worker's state. A bounded broadcast: a slow follower falls behind and is told how far
//! (`RecvError::Lagged`), never slows an actor, since sending never waits.

use distencode_wire::job::{JobId, JobState};
use tokio::sync::broadcast;

/// Events a follower may fall behind by before it misses some (it is then told to look again).
pub const FARM_EVENT_BACKLOG: usize = 1024;

/// One change.
#[derive(Clone, Debug, PartialEq)]
pub enum FarmEvent {
    /// A job was made durable in a new state (or with a new priority).
    Job { id: JobId, state: JobState },
    /// A running job's progress moved (up to four times a second per job).
    Progress { id: JobId, percent: f64 },
    /// A worker came, went, took or finished a job, or was reserved, released or drained.
    Worker { name: String },
}

/// The sending side, shared by the Coordinator and the WorkerRegistry.
#[derive(Clone, Debug)]
pub struct FarmEvents(broadcast::Sender<FarmEvent>);

impl FarmEvents {
    pub fn new() -> Self {
        FarmEvents(broadcast::channel(FARM_EVENT_BACKLOG).0)
    }

    /// Tells every follower; nobody following is no error.
    pub fn send(&self, event: FarmEvent) {
        let _ = self.0.send(event);
    }

    pub fn subscribe(&self) -> broadcast::Receiver<FarmEvent> {
        self.0.subscribe()
    }
}

impl Default for FarmEvents {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_slow_follower_lags_and_the_sender_never_waits() {
        let events = FarmEvents::new();
        let mut slow = events.subscribe();
        for i in 0..FARM_EVENT_BACKLOG as u64 + 10 {
            events.send(FarmEvent::Job { id: JobId(i), state: JobState::Queued });
        }
        assert_eq!(slow.recv().await, Err(broadcast::error::RecvError::Lagged(10)));
        assert_eq!(slow.recv().await.unwrap(), FarmEvent::Job { id: JobId(10), state: JobState::Queued });
    }
}
