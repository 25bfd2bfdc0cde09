//! distencode's wire layer: everything two nodes must agree on to talk, and nothing about what they do with it.
//!
//! - [`frame`]: length-prefixed frames, capped before allocation, carrying bincode payloads decoded with a limit.
//! - [`message`]: the typed messages of the protocol and its version handshake.
//! - [`ffmpeg_args`]: which extra arguments an ffmpeg job may give ffmpeg, and the command line a worker runs.
//! - [`error`]: the crate's error kinds, gathered for callers that match on them.
//! - [`limits`]: caps on every field a client sends in a job spec or a reservation.
//! - [`job`]: the job records that travel between client, coordinator and worker, and that the CLI prints as JSON.
//! - [`identity`], [`pki`], [`tls`]: who a peer is (its role and name, read from its certificate's SAN), how the
//!   cluster's certificates are made, and the mutual-TLS configurations every connection uses.
//! - [`crl`]: revoking certificates (`DIR/ca.crl`) and the record of every certificate issued.
//! - [`revocation`]: the coordinator's CRL in force, reloaded while it runs.
//! - [`verify`]: the certificate checks webpki leaves out (the leaf signed directly by the CA, an EKU present).
//! - [`connection`]: a TLS stream wrapped into a typed message channel, and the dial/accept handshakes.
//! - [`thumbnail`]: a render's poster frame on its way to the coordinator, capped on decode.
//! - [`audit`]: an entry of the coordinator's audit trail, as `distencode audit` receives it.
//! - [`fingerprint`]: a worker's render stack (melt, ffmpeg, frei0r, fonts), compared across the farm.
//! - [`preset`]: an export preset as a coordinator sends its house presets to clients.
//! - [`path_map`]: rules mapping a shared folder's path as clients write it to the path a worker sees it under.
//! - [`redial`]: how long a node waits before dialling its coordinator again (backoff with jitter).
#![forbid(unsafe_code)]

pub mod audit;
pub mod connection;
pub mod consumer_props;
pub mod crl;
pub mod error;
pub mod ffmpeg_args;
pub mod fingerprint;
pub mod frame;
pub mod identity;
pub mod job;
pub mod limits;
pub mod message;
pub mod path_map;
pub mod pki;
pub mod preset;
pub mod redial;
pub mod revocation;
pub mod thumbnail;
pub mod tls;
pub mod tls_error;
pub mod verify;

pub use identity::{PeerIdentity, Role};
pub use job::{JobId, JobState};
