//! A client's connection to the coordinator: who we are (from `--certs`/`--name`), where it is, one request at a time.

use crate::cli::Connect;
use anyhow::{anyhow, bail, Context, Result};
use distencode_wire::connection::{self, ClientStream, Connection, ConnectionError};
use distencode_wire::message::{ClientReply, ClientRequest};
use distencode_wire::{tls, Role};
use std::path::PathBuf;

/// The three things every networked command needs, after flags and environment were read.
pub struct Endpoint {
    pub coordinator: String,
    pub certs: PathBuf,
    pub name: String,
}

impl Endpoint {
    pub fn from_flags(connect: &Connect) -> Result<Self> {
        let missing = |flag: &str, var: &str| anyhow!("no {flag} given (or set {var})");
        Ok(Self {
            coordinator: connect
                .coordinator
                .clone()
                .ok_or_else(|| missing("--coordinator HOST:PORT", "DISTENCODE_COORDINATOR"))?,
            certs: connect.certs.clone().ok_or_else(|| missing("--certs DIR", "DISTENCODE_CERTS"))?,
            name: connect.name.clone().ok_or_else(|| missing("--name NAME", "DISTENCODE_NAME"))?,
        })
    }
}

/// An open client connection.
pub struct Client {
    conn: Connection<ClientStream>,
}

impl Client {
    pub async fn connect(endpoint: &Endpoint) -> Result<Self> {
        let config = tls::client_config_as(&endpoint.certs, &endpoint.name, Role::Client, None)?;
        let (conn, _) = connection::dial(&endpoint.coordinator, config, Role::Client).await?;
        Ok(Self { conn })
    }

    pub async fn send(&mut self, request: &ClientRequest) -> Result<()> {
        self.conn.send(request).await.context("sending the request")
    }

    /// The next reply as it came, or why the connection failed.
    pub async fn next(&mut self) -> Result<ClientReply, ConnectionError> {
        self.conn.recv::<ClientReply>().await?.ok_or(ConnectionError::Closed)
    }

    /// The next reply; an `Error` reply becomes an error with its text.
    pub async fn reply(&mut self) -> Result<ClientReply> {
        match self.conn.recv::<ClientReply>().await? {
            Some(ClientReply::Error(text)) => bail!("{text}"),
            Some(reply) => Ok(reply),
            None => bail!("the coordinator closed the connection"),
        }
    }

    /// Ends the connection cleanly, so the coordinator sees a client that left, not one that vanished.
    pub async fn close(self) {
        let _ = self.conn.close().await;
    }

    /// One request, one reply.
    pub async fn call(&mut self, request: ClientRequest) -> Result<ClientReply> {
        self.send(&request).await?;
        self.reply().await
    }
}
