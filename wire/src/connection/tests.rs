//! The opening handshake between real TLS endpoints on 127.0.0.1: versions and roles that do not fit are refused
//! with a message saying so, and a hostile frame after the handshake is an error, not a crash; messages fed to a
//! writer leave at its flush, in order.

use super::*;
use crate::message::{ClientRequest, Hello, HelloReply};
use crate::pki::{issue, IssueOptions};
use crate::tls::tests::cluster;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;

#[test]
fn host_of_strips_port_and_brackets() {
    assert_eq!(host_of("127.0.0.1:7000"), "127.0.0.1");
    assert_eq!(host_of("coord.example:7000"), "coord.example");
    assert_eq!(host_of("[::1]:7000"), "::1");
    assert_eq!(host_of("localhost"), "localhost");
}

#[test]
fn an_address_without_a_port_is_asked_for_as_host_port() {
    for good in ["127.0.0.1:7000", "coord.example:7878", "[::1]:7000", "0.0.0.0:1"] {
        assert_eq!(check_host_port(good), Ok(()), "{good}");
    }
    for bad in ["coord.example", "127.0.0.1", "::1", ":7000", "h:", "h:x", "h:0", "h:70000", ""] {
        let want = format!("{bad:?} is not HOST:PORT (e.g. coordinator.example.net:7878 or [::1]:7878)");
        assert_eq!(check_host_port(bad).unwrap_err().to_string(), want, "{bad}");
        assert_eq!(check_host_port(bad), Err(NotHostPort { addr: bad.to_string() }), "{bad}");
    }
    assert_eq!(check_listen_addr("0.0.0.0:0"), Ok(()));
    assert!(matches!(check_listen_addr("0.0.0.0"), Err(NotHostPort { ref addr }) if addr == "0.0.0.0"));
}

#[tokio::test]
async fn dialling_an_address_without_a_port_says_host_port() {
    let certs = cluster();
    let err = dial("127.0.0.1", tls::client_config(certs.path(), "w1").unwrap(), Role::Worker).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        r#"cannot reach the coordinator at 127.0.0.1: "127.0.0.1" is not HOST:PORT (e.g. coordinator.example.net:7878 or [::1]:7878)"#
    );
}

/// A coordinator that accepts one connection for workers and clients and returns how `accept` ended.
async fn coordinator(
    certs: &std::path::Path,
) -> (String, tokio::task::JoinHandle<Result<(Connection<ServerStream>, PeerIdentity), ConnectionError>>) {
    let acceptor = TlsAcceptor::from(tls::server_config(certs, "coord").unwrap());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let task = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        accept(tcp, acceptor, &[Role::Worker, Role::Client]).await
    });
    (addr, task)
}

/// TLS to `addr` as `name`, then `hello` sent by hand; the coordinator's answer.
async fn hello_by_hand(certs: &std::path::Path, name: &str, addr: &str, hello: Hello) -> HelloReply {
    let config = tls::client_config(certs, name).unwrap();
    let tcp = TcpStream::connect(addr).await.unwrap();
    let stream = TlsConnector::from(config).connect(tls::server_name("127.0.0.1").unwrap(), tcp).await.unwrap();
    let mut connection = Connection::new(stream);
    connection.send(&hello).await.unwrap();
    connection.expect().await.unwrap()
}

#[tokio::test]
async fn a_matching_worker_is_welcome() {
    let certs = cluster();
    let (addr, server) = coordinator(certs.path()).await;
    let (_conn, peer) = dial(&addr, tls::client_config(certs.path(), "w1").unwrap(), Role::Worker).await.unwrap();
    assert_eq!(peer, PeerIdentity { role: Role::Coordinator, name: "coord".into() });
    let (_, at_server) = server.await.unwrap().unwrap();
    assert_eq!(at_server, PeerIdentity { role: Role::Worker, name: "w1".into() });
}

#[tokio::test]
async fn another_protocol_version_is_refused_with_both_versions() {
    let certs = cluster();
    let (addr, server) = coordinator(certs.path()).await;
    let hello = Hello { protocol: PROTOCOL_VERSION + 1, role: Role::Worker, software: "9.9.9".into() };
    let HelloReply::Refused(text) = hello_by_hand(certs.path(), "w1", &addr, hello).await else { panic!("welcomed") };
    let expected = format!(
        "protocol mismatch: worker \"w1\" speaks protocol {} (distencode 9.9.9), this coordinator speaks {} \
         (distencode {})",
        PROTOCOL_VERSION + 1,
        PROTOCOL_VERSION,
        env!("CARGO_PKG_VERSION")
    );
    assert_eq!(text, expected);
    assert!(matches!(server.await.unwrap(), Err(ConnectionError::Refused(_))));
}

#[tokio::test]
async fn a_worker_certificate_may_not_act_as_a_client() {
    let certs = cluster();
    let (addr, server) = coordinator(certs.path()).await;
    let err = dial(&addr, tls::client_config(certs.path(), "w1").unwrap(), Role::Client).await.unwrap_err();
    assert_eq!(err.to_string(), r#"refused: certificate of worker "w1" may not act as a client"#);
    let at_server = server.await.unwrap().unwrap_err().to_string();
    assert!(at_server.ends_with(r#"refused: certificate of worker "w1" may not act as a client"#), "{at_server}");
}

#[tokio::test]
async fn a_coordinator_certificate_is_not_served_as_a_peer() {
    let certs = cluster();
    issue(certs.path(), &IssueOptions::new(Role::Coordinator, "rogue")).unwrap();
    let (addr, server) = coordinator(certs.path()).await;
    let _ = dial(&addr, tls::client_config(certs.path(), "rogue").unwrap(), Role::Client).await;
    let err = server.await.unwrap().unwrap_err().to_string();
    assert!(err.contains("coordinator") && err.contains("rogue"), "{err}");
}

#[tokio::test]
async fn a_hostile_frame_after_the_handshake_is_an_error_not_a_crash() {
    let certs = cluster();
    issue(certs.path(), &IssueOptions::new(Role::Client, "alice")).unwrap();
    let (addr, server) = coordinator(certs.path()).await;
    let config = tls::client_config(certs.path(), "alice").unwrap();
    let (conn, _) = dial(&addr, config, Role::Client).await.unwrap();
    let (mut server_conn, _) = server.await.unwrap().unwrap();
    // A frame announcing 4 GiB, then a frame with a Vec claiming u64::MAX elements.
    let mut stream = conn.into_inner();
    stream.write_all(&u32::MAX.to_be_bytes()).await.unwrap();
    stream.flush().await.unwrap();
    let err = server_conn.recv::<ClientRequest>().await.unwrap_err();
    assert_eq!(err.to_string(), "a frame of 4294967295 bytes was announced; the limit is 16777216");
}

#[tokio::test]
async fn fed_messages_leave_together_at_the_flush_in_order() {
    let (near, far) = tokio::io::duplex(64 * 1024);
    let (_, mut writer) = Connection::new(near).split();
    let (mut reader, _) = Connection::new(far).split();
    writer.feed(&"first".to_string()).await.unwrap();
    writer.feed(&"second".to_string()).await.unwrap();
    // Nothing has been written yet: the far side has no message to read.
    let early = tokio::time::timeout(std::time::Duration::from_millis(100), reader.recv::<String>()).await;
    assert!(early.is_err(), "a fed message went out before the flush");
    writer.flush().await.unwrap();
    assert_eq!(reader.recv::<String>().await.unwrap().as_deref(), Some("first"));
    assert_eq!(reader.recv::<String>().await.unwrap().as_deref(), Some("second"));
}

// Deadlines, on an in-memory pipe with tokio's clock paused: virtual time jumps to each timer, so these take no
// real time and cannot race.

/// A connection and the raw far end of its pipe, for writing bytes by hand.
fn pipe() -> (Connection<tokio::io::DuplexStream>, tokio::io::DuplexStream) {
    let (near, far) = tokio::io::duplex(64 * 1024);
    (Connection::new(near), far)
}

#[tokio::test(start_paused = true)]
async fn an_idle_peer_is_cut_at_the_limit_and_one_just_inside_it_is_heard() {
    let idle = Duration::from_secs(300);
    let (mut conn, far) = pipe();
    let started = tokio::time::Instant::now();
    let err = conn.recv_within::<String>(idle).await.unwrap_err();
    assert_eq!(err.to_string(), "nothing was sent for 300s; closing the idle connection");
    assert_eq!(started.elapsed(), idle, "cut exactly at the limit");
    drop(far);

    let (mut conn, far) = pipe();
    let mut peer = Connection::new(far);
    let speaker = tokio::spawn(async move {
        tokio::time::sleep(idle - Duration::from_millis(1)).await;
        peer.send(&"just in time".to_string()).await.unwrap();
        peer
    });
    assert_eq!(conn.recv_within::<String>(idle).await.unwrap().as_deref(), Some("just in time"));
    drop(speaker.await.unwrap());
}

#[tokio::test(start_paused = true)]
async fn a_frame_that_stops_arriving_is_cut_at_its_deadline() {
    let len = 1024 * 1024;
    let deadline = crate::frame::frame_deadline(Some(len));
    assert_eq!(deadline, Duration::from_secs(14));
    let (mut conn, mut far) = pipe();
    far.write_all(&(len as u32).to_be_bytes()).await.unwrap();
    far.write_all(&[0u8; 1000]).await.unwrap();
    let started = tokio::time::Instant::now();
    // Even with a long idle limit, the frame begun has only its own deadline.
    let err = conn.recv_within::<Vec<u8>>(Duration::from_secs(3600)).await.unwrap_err();
    assert_eq!(err.to_string(), "a frame of 1048576 bytes did not arrive within 14s of its first byte");
    assert_eq!(started.elapsed(), deadline);
}

#[tokio::test(start_paused = true)]
async fn a_frame_that_finishes_just_before_its_deadline_is_read() {
    let payload = crate::frame::encode(&vec![7u8; 100_000]).unwrap();
    let deadline = crate::frame::frame_deadline(Some(payload.len()));
    let (mut conn, mut far) = pipe();
    let writer = tokio::spawn(async move {
        // The header and a little now, the rest when the deadline is almost up: a slow but honest peer.
        far.write_all(&(payload.len() as u32).to_be_bytes()).await.unwrap();
        far.write_all(&payload[..10]).await.unwrap();
        tokio::time::sleep(deadline - Duration::from_millis(1)).await;
        far.write_all(&payload[10..]).await.unwrap();
        far
    });
    // A short idle limit does not cut a frame that has begun.
    let got = conn.recv_within::<Vec<u8>>(Duration::from_secs(1)).await.unwrap().unwrap();
    assert_eq!(got, vec![7u8; 100_000]);
    drop(writer.await.unwrap());
}

#[tokio::test(start_paused = true)]
async fn without_an_idle_limit_a_quiet_peer_is_waited_for() {
    let (mut conn, far) = pipe();
    let mut peer = Connection::new(far);
    let speaker = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(24 * 3600)).await;
        peer.send(&"tomorrow".to_string()).await.unwrap();
        peer
    });
    assert_eq!(conn.recv::<String>().await.unwrap().as_deref(), Some("tomorrow"));
    drop(speaker.await.unwrap());
}

#[test]
fn a_clock_reading_s_offset_is_taken_halfway_through_the_round_trip_and_any_time_a_peer_sends_is_safe() {
    let reading = |coordinator_ms| ClockReading { coordinator_ms, sent_ms: 1_000, received_ms: 1_040 };
    assert_eq!(reading(1_030).offset_ms(), (10, 40));
    assert_eq!(reading(20).offset_ms(), (-1_000, 40));
    assert_eq!(reading(u64::MAX).offset_ms().0, i64::MAX, "clamped, not wrapped");
    assert_eq!(ClockReading { coordinator_ms: 0, sent_ms: u64::MAX, received_ms: 5 }.offset_ms(), (i64::MIN, 0));
}
