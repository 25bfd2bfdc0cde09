//! distencode's actors and the node logic around them.
//!
//! - On the coordinator: [`coordinator::Coordinator`] decides, [`registry::WorkerRegistry`] knows the pool,
//!   [`store::JobStore`] remembers (sled), and [`server`] relays mutual-TLS connections to them.
//! - On a worker: [`worker`] keeps the link to the coordinator and hands offers to [`runner::MeltRunner`], which
//!   validates the project, runs melt as a child process and verifies what it wrote.
//! - [`mlt`] reads MLT projects; the client uses it too, to refuse at once what cannot render.

pub mod coordinator;
pub mod mlt;
pub mod registry;
pub mod runner;
pub mod server;
pub mod store;
pub mod worker;
