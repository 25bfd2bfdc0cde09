//! distencode's actors and the node logic around them.
//!
//! - On the coordinator: [`coordinator::Coordinator`] decides, [`registry::WorkerRegistry`] knows the pool,
//!   [`store::JobStore`] remembers (sled), and [`server`] relays mutual-TLS connections to them.
//! - On a worker: [`worker`] keeps the link to the coordinator and hands offers to [`runner::MeltRunner`], which
//!   validates the project, runs melt as a child process and verifies what it wrote.
//! - MLT projects are read by the `distencode-mlt` crate, which the client uses too without linking these actors.

pub mod auth;
pub mod coordinator;
pub mod error;
pub mod events;
pub mod ffmpeg_presets;
pub mod house_presets;
pub mod json;
pub mod metrics;
pub mod presets;
pub mod registry;
pub mod runner;
pub mod server;
pub mod store;
pub mod webhooks;
pub mod worker;
