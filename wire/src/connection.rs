//! A mutual-TLS stream turned into a channel of typed messages, and the two ends of the opening handshake.
//!
//! [`dial`] is what workers and clients do: TCP, TLS with our certificate, a check that the peer really is a
//! coordinator, then [`Hello`]. [`accept`] is the coordinator's side: TLS, the peer's role checked against the roles
//! this listener serves *before any frame is read*, then the version handshake.

use crate::error::NotHostPort;
use crate::frame::FrameCodec;
use crate::frame::{self, FrameError};
use crate::identity::{PeerIdentity, Role};
use crate::message::{Hello, HelloReply, PROTOCOL_VERSION};
use crate::tls;
use bytes::Bytes;
use bytes::BytesMut;
use futures::Stream;
use futures::{SinkExt, StreamExt};
use serde::{de::DeserializeOwned, Serialize};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::{TlsAcceptor, TlsConnector};
use tokio_util::codec::{Framed, FramedRead, FramedWrite};

/// How long the TCP connect, the TLS handshake and the version handshake may take together.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a connection failed or ended.
#[derive(Debug, thiserror::Error)]
pub enum ConnectionError {
    #[error("cannot reach the coordinator at {addr}: {reason}")]
    Unreachable { addr: String, reason: String },
    #[error("TLS handshake with {peer} failed: {reason}")]
    Handshake { peer: String, reason: String },
    #[error("{0}")]
    Refused(String),
    #[error("the connection closed")]
    Closed,
    #[error("timed out after {0:?}")]
    Timeout(Duration),
    #[error("nothing was sent for {0:?}; closing the idle connection")]
    Idle(Duration),
    #[error("a frame of {} did not arrive within {deadline:?} of its first byte", describe_len(*.len))]
    SlowFrame { len: Option<usize>, deadline: Duration },
    #[error("connection error: {0}")]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Frame(#[from] FrameError),
    #[error(transparent)]
    Tls(#[from] crate::tls_error::TlsError),
}

/// A framed, typed message stream over any byte stream (a TLS stream in practice).
pub struct Connection<S> {
    framed: Framed<S, FrameCodec>,
}

impl<S> std::fmt::Debug for Connection<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Connection")
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> Connection<S> {
    pub fn new(stream: S) -> Self {
        Self { framed: Framed::new(stream, frame::codec()) }
    }

    /// Sends one message and flushes it.
    pub async fn send<T: Serialize>(&mut self, message: &T) -> Result<(), ConnectionError> {
        self.framed.send(frame::encode(message)?).await?;
        Ok(())
    }

    /// The next message, or `None` when the peer closed the connection cleanly. A frame that has begun to arrive
    /// must be complete within its [`frame::frame_deadline`].
    pub async fn recv<T: DeserializeOwned>(&mut self) -> Result<Option<T>, ConnectionError> {
        next_message(&mut self.framed, None).await
    }

    /// [`Connection::recv`], and the peer must begin its next message within `idle`.
    pub async fn recv_within<T: DeserializeOwned>(&mut self, idle: Duration) -> Result<Option<T>, ConnectionError> {
        next_message(&mut self.framed, Some(idle)).await
    }

    /// The next message; a closed connection is an error.
    pub async fn expect<T: DeserializeOwned>(&mut self) -> Result<T, ConnectionError> {
        self.recv().await?.ok_or(ConnectionError::Closed)
    }

    /// Ends the connection cleanly (TLS close_notify, then FIN).
    pub async fn close(mut self) -> Result<(), ConnectionError> {
        use tokio::io::AsyncWriteExt;
        self.framed.get_mut().shutdown().await?;
        Ok(())
    }

    /// The stream under the channel (bytes read ahead of the next message are dropped): for a peer that writes
    /// bytes of its own, such as the tests' hostile frames.
    pub fn into_inner(self) -> S {
        self.framed.into_inner()
    }

    /// Splits into a reading and a writing half, for peers that send and receive at the same time.
    pub fn split(self) -> (MessageReader<tokio::io::ReadHalf<S>>, MessageWriter<tokio::io::WriteHalf<S>>) {
        let parts = self.framed.into_parts();
        let (read, write) = tokio::io::split(parts.io);
        let mut reader = FramedRead::new(read, frame::codec());
        reader.read_buffer_mut().extend_from_slice(&parts.read_buf);
        (MessageReader { inner: reader }, MessageWriter { inner: FramedWrite::new(write, frame::codec()) })
    }
}

/// The reading half of a split [`Connection`].
pub struct MessageReader<R> {
    inner: FramedRead<R, FrameCodec>,
}

impl<R: AsyncRead + Unpin> MessageReader<R> {
    /// The next message, or `None` when the peer closed the connection cleanly; see [`Connection::recv`].
    pub async fn recv<T: DeserializeOwned>(&mut self) -> Result<Option<T>, ConnectionError> {
        next_message(&mut self.inner, None).await
    }
}

/// A stream of frames whose codec says when the frame now arriving must be complete.
trait Frames: Stream<Item = Result<BytesMut, std::io::Error>> + Unpin {
    fn frame_codec(&self) -> &FrameCodec;
}

impl<S: AsyncRead + AsyncWrite + Unpin> Frames for Framed<S, FrameCodec> {
    fn frame_codec(&self) -> &FrameCodec {
        self.codec()
    }
}

impl<R: AsyncRead + Unpin> Frames for FramedRead<R, FrameCodec> {
    fn frame_codec(&self) -> &FrameCodec {
        self.decoder()
    }
}

/// The next message: the peer must begin it within `idle` (if given), and finish each frame by its deadline.
///
/// The frame stream is polled afresh after each wake-up (its `next` is cancel-safe): between frames the wake-ups
/// come at most every [`frame::FRAME_DEADLINE_BASE`], so a frame that begins meanwhile is held to its own deadline.
async fn next_message<T: DeserializeOwned>(
    frames: &mut impl Frames,
    idle: Option<Duration>,
) -> Result<Option<T>, ConnectionError> {
    let idle_until = idle.map(|idle| tokio::time::Instant::now() + idle);
    loop {
        let pending = frames.frame_codec().pending_deadline();
        let wake = match pending {
            Some((deadline, _)) => deadline,
            None => {
                let soon = tokio::time::Instant::now() + frame::FRAME_DEADLINE_BASE;
                idle_until.map_or(soon, |until| until.min(soon))
            }
        };
        match tokio::time::timeout_at(wake, frames.next()).await {
            Ok(None) => return Ok(None),
            Ok(Some(Ok(frame))) => return Ok(Some(frame::decode(&frame)?)),
            Ok(Some(Err(e))) => return Err(frame_error(e)),
            Err(_) => {
                let now = tokio::time::Instant::now();
                match frames.frame_codec().pending_deadline() {
                    Some((deadline, len)) if deadline <= now => {
                        return Err(ConnectionError::SlowFrame { len, deadline: frame::frame_deadline(len) })
                    }
                    Some(_) => {}
                    None if idle_until.is_some_and(|until| until <= now) => {
                        return Err(ConnectionError::Idle(idle.unwrap_or_default()))
                    }
                    None => {}
                }
            }
        }
    }
}

/// The codec's own refusals (an announced length over the cap) as [`ConnectionError::Frame`], the rest as I/O.
fn frame_error(e: std::io::Error) -> ConnectionError {
    if e.get_ref().is_some_and(|inner| inner.is::<FrameError>()) {
        if let Some(Ok(frame)) = e.into_inner().map(|inner| inner.downcast::<FrameError>()) {
            return ConnectionError::Frame(*frame);
        }
        return ConnectionError::Io(std::io::ErrorKind::InvalidData.into());
    }
    ConnectionError::Io(e)
}

fn describe_len(len: Option<usize>) -> String {
    match len {
        Some(len) => format!("{len} bytes"),
        None => "unknown length (its header was incomplete)".into(),
    }
}

/// The writing half of a split [`Connection`].
pub struct MessageWriter<W> {
    inner: FramedWrite<W, FrameCodec>,
}

impl<W: AsyncWrite + Unpin> MessageWriter<W> {
    pub async fn send<T: Serialize>(&mut self, message: &T) -> Result<(), ConnectionError> {
        self.inner.send(frame::encode(message)?).await?;
        Ok(())
    }

    /// Sends an already encoded payload.
    pub async fn send_encoded(&mut self, payload: Bytes) -> Result<(), ConnectionError> {
        self.inner.send(payload).await?;
        Ok(())
    }

    /// Queues one message without flushing it: several queued messages leave in as few TLS records and writes as
    /// they fit in. [`MessageWriter::flush`] sends them.
    pub async fn feed<T: Serialize>(&mut self, message: &T) -> Result<(), ConnectionError> {
        self.inner.feed(frame::encode(message)?).await?;
        Ok(())
    }

    /// Sends every message queued by [`MessageWriter::feed`].
    pub async fn flush(&mut self) -> Result<(), ConnectionError> {
        SinkExt::<Bytes>::flush(&mut self.inner).await?;
        Ok(())
    }

    /// Sends what is queued, then ends the connection cleanly (TLS close_notify, then FIN).
    pub async fn close(&mut self) -> Result<(), ConnectionError> {
        SinkExt::<Bytes>::close(&mut self.inner).await?;
        Ok(())
    }
}

/// The dialer's TLS stream.
pub type ClientStream = tokio_rustls::client::TlsStream<TcpStream>;
/// The coordinator's TLS stream.
pub type ServerStream = tokio_rustls::server::TlsStream<TcpStream>;

impl Connection<ServerStream> {
    /// The serial number and expiry of the certificate the peer presented (to match against a CRL, and to warn
    /// before it expires).
    pub fn peer_certificate(&self) -> Option<crate::crl::CertificateFacts> {
        let certs = self.framed.get_ref().get_ref().1.peer_certificates()?;
        crate::crl::CertificateFacts::of(certs.first()?).ok()
    }
}

/// Connects to a coordinator at `addr` (`HOST:PORT`) as the node whose TLS client configuration is `config`,
/// checks that the peer's certificate carries the coordinator role, and exchanges [`Hello`] saying we act as `role`.
pub async fn dial(
    addr: &str,
    config: Arc<rustls::ClientConfig>,
    role: Role,
) -> Result<(Connection<ClientStream>, PeerIdentity), ConnectionError> {
    let (connection, peer, _) = dial_timed(addr, config, role).await?;
    Ok((connection, peer))
}

/// The coordinator's clock as a dial reads it: its time when it welcomed us, and ours just before we said Hello
/// and just after its answer came (unix ms).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClockReading {
    pub coordinator_ms: u64,
    pub sent_ms: u64,
    pub received_ms: u64,
}

impl ClockReading {
    /// How far the coordinator's clock is ahead of ours (negative: behind), taking its answer to have been made
    /// halfway through the round trip; and the round trip, which bounds the error.
    pub fn offset_ms(&self) -> (i64, u64) {
        let round_trip = self.received_ms.saturating_sub(self.sent_ms);
        let midway = self.sent_ms.saturating_add(round_trip / 2);
        // The coordinator's time is the peer's word: any u64, so the difference is taken wide and clamped.
        let offset = (i128::from(self.coordinator_ms) - i128::from(midway)).clamp(i64::MIN.into(), i64::MAX.into());
        (offset as i64, round_trip)
    }
}

/// Dials the coordinator as `role`, reads its clock from its Welcome, and hangs up (`doctor`).
pub async fn read_clock(
    addr: &str,
    config: Arc<rustls::ClientConfig>,
    role: Role,
) -> Result<ClockReading, ConnectionError> {
    let (connection, _, clock) = dial_timed(addr, config, role).await?;
    let _ = connection.close().await;
    Ok(clock)
}

async fn dial_timed(
    addr: &str,
    config: Arc<rustls::ClientConfig>,
    role: Role,
) -> Result<(Connection<ClientStream>, PeerIdentity, ClockReading), ConnectionError> {
    tokio::time::timeout(HANDSHAKE_TIMEOUT, dial_inner(addr, config, role)).await.map_err(|_| {
        ConnectionError::Unreachable {
            addr: addr.to_string(),
            reason: format!("no answer within {HANDSHAKE_TIMEOUT:?}"),
        }
    })?
}

async fn dial_inner(
    addr: &str,
    config: Arc<rustls::ClientConfig>,
    role: Role,
) -> Result<(Connection<ClientStream>, PeerIdentity, ClockReading), ConnectionError> {
    check_host_port(addr)
        .map_err(|e| ConnectionError::Unreachable { addr: addr.to_string(), reason: e.to_string() })?;
    let host = host_of(addr);
    let server_name = tls::server_name(host)?;
    let tcp = TcpStream::connect(addr)
        .await
        .map_err(|e| ConnectionError::Unreachable { addr: addr.to_string(), reason: e.to_string() })?;
    tcp.set_nodelay(true)?;
    let stream = TlsConnector::from(config).connect(server_name, tcp).await.map_err(|e| handshake_failed(addr, e))?;
    let peer = tls::peer_identity(stream.get_ref().1).map_err(|e| ConnectionError::Refused(format!("{addr}: {e}")))?;
    tls::require_role(&peer, &[Role::Coordinator]).map_err(|e| ConnectionError::Refused(format!("{addr}: {e}")))?;
    let mut connection = Connection::new(stream);
    let sent_ms = crate::job::now_ms();
    connection.send(&Hello::new(role)).await?;
    match connection.recv::<HelloReply>().await {
        Ok(Some(HelloReply::Welcome { time_ms, .. })) => {
            let clock = ClockReading { coordinator_ms: time_ms, sent_ms, received_ms: crate::job::now_ms() };
            Ok((connection, peer, clock))
        }
        Ok(Some(HelloReply::Refused(text))) => Err(ConnectionError::Refused(text)),
        // With TLS 1.3 the coordinator's refusal of our certificate arrives here, on the first read.
        Err(ConnectionError::Io(e)) => Err(handshake_failed(addr, e)),
        // Closed without a word: a coordinator restarting, or one that refused us and logged why.
        Ok(None) => Err(ConnectionError::Closed),
        Err(e) => Err(e),
    }
}

/// A TLS problem (a certificate refused either way, a name not in the certificate) is a `Handshake` error, to be
/// fixed by a person; anything else (a connection reset while the coordinator restarts) is a passing `Io` error.
fn handshake_failed(addr: &str, e: std::io::Error) -> ConnectionError {
    if e.kind() == std::io::ErrorKind::InvalidData {
        ConnectionError::Handshake { peer: addr.to_string(), reason: tls::describe_handshake_error(&e) }
    } else {
        ConnectionError::Io(e)
    }
}

/// The coordinator's side: TLS (which verifies the client's chain), the role check, then the version handshake.
pub async fn accept(
    tcp: TcpStream,
    acceptor: TlsAcceptor,
    allowed: &[Role],
) -> Result<(Connection<ServerStream>, PeerIdentity), ConnectionError> {
    accept_admitting(tcp, acceptor, allowed, |_| Ok::<(), std::convert::Infallible>(())).await
}

/// [`accept`], and `admit` has the last word on the identified peer: the text of its `Err` is the peer's refusal
/// (a connection cap, say), sent as the answer to its `Hello`.
pub async fn accept_admitting<E: std::fmt::Display>(
    tcp: TcpStream,
    acceptor: TlsAcceptor,
    allowed: &[Role],
    admit: impl FnOnce(&PeerIdentity) -> Result<(), E>,
) -> Result<(Connection<ServerStream>, PeerIdentity), ConnectionError> {
    let peer_addr = tcp.peer_addr().map(|a| a.to_string()).unwrap_or_else(|_| "unknown peer".into());
    tokio::time::timeout(HANDSHAKE_TIMEOUT, accept_inner(tcp, acceptor, allowed, &peer_addr, admit))
        .await
        .map_err(|_| ConnectionError::Timeout(HANDSHAKE_TIMEOUT))?
}

async fn accept_inner<E: std::fmt::Display>(
    tcp: TcpStream,
    acceptor: TlsAcceptor,
    allowed: &[Role],
    peer_addr: &str,
    admit: impl FnOnce(&PeerIdentity) -> Result<(), E>,
) -> Result<(Connection<ServerStream>, PeerIdentity), ConnectionError> {
    tcp.set_nodelay(true)?;
    let stream = acceptor.accept(tcp).await.map_err(|e| ConnectionError::Handshake {
        peer: peer_addr.to_string(),
        reason: tls::describe_handshake_error(&e),
    })?;
    let peer =
        tls::peer_identity(stream.get_ref().1).map_err(|e| ConnectionError::Refused(format!("{peer_addr}: {e}")))?;
    tls::require_role(&peer, allowed).map_err(|e| ConnectionError::Refused(format!("{peer_addr}: {e}")))?;
    let mut connection = Connection::new(stream);
    let hello: Hello = connection.expect().await?;
    if hello.protocol != PROTOCOL_VERSION {
        let text = format!(
            "protocol mismatch: {} {:?} speaks protocol {} (distencode {}), this coordinator speaks {} (distencode {})",
            peer.role,
            peer.name,
            hello.protocol,
            hello.software,
            PROTOCOL_VERSION,
            env!("CARGO_PKG_VERSION")
        );
        let _ = connection.send(&HelloReply::Refused(text.clone())).await;
        return Err(ConnectionError::Refused(text));
    }
    if hello.role != peer.role {
        let text = format!("refused: certificate of {} {:?} may not act as a {}", peer.role, peer.name, hello.role);
        let _ = connection.send(&HelloReply::Refused(text.clone())).await;
        return Err(ConnectionError::Refused(format!("{peer_addr}: {text}")));
    }
    if let Err(refusal) = admit(&peer) {
        let text = refusal.to_string();
        let _ = connection.send(&HelloReply::Refused(text.clone())).await;
        return Err(ConnectionError::Refused(format!("{peer_addr}: {text}")));
    }
    let welcome = HelloReply::Welcome {
        protocol: PROTOCOL_VERSION,
        software: env!("CARGO_PKG_VERSION").into(),
        time_ms: crate::job::now_ms(),
    };
    connection.send(&welcome).await?;
    Ok((connection, peer))
}

/// `Err` with one line asking for `HOST:PORT` when `addr` has no port (`coordinator.example.net`, `::1`, `h:x`).
pub fn check_host_port(addr: &str) -> Result<(), NotHostPort> {
    check_port(addr, false)
}

/// As [`check_host_port`] for an address to listen on, where port 0 (any free port) is allowed.
pub fn check_listen_addr(addr: &str) -> Result<(), NotHostPort> {
    check_port(addr, true)
}

fn check_port(addr: &str, zero_allowed: bool) -> Result<(), NotHostPort> {
    let port = match addr.rsplit_once(':') {
        Some((host, port)) if !host.is_empty() && (!host.contains(':') || host.ends_with(']')) => port,
        _ => "",
    };
    match port.parse::<u16>() {
        Ok(port) if port > 0 || zero_allowed => Ok(()),
        _ => Err(NotHostPort { addr: addr.to_string() }),
    }
}

/// The host part of `HOST:PORT` (`[::1]:7000` gives `::1`).
pub fn host_of(addr: &str) -> &str {
    let host = match addr.rfind(':') {
        Some(i) if !addr[..i].is_empty() => &addr[..i],
        _ => addr,
    };
    host.trim_start_matches('[').trim_end_matches(']')
}

#[cfg(test)]
mod tests;
