//! The codec's limits, probed with hostile input.

use super::*;
use bytes::BytesMut;
use tokio_util::codec::Decoder;

#[test]
fn round_trips_a_message() {
    let value = (7u64, String::from("job"), vec![1u8, 2, 3]);
    let bytes = encode(&value).unwrap();
    let back: (u64, String, Vec<u8>) = decode(&bytes).unwrap();
    assert_eq!(back, value);
}

#[test]
fn refuses_a_frame_header_over_the_cap_before_allocating() {
    let mut codec = codec();
    let mut buf = BytesMut::new();
    buf.extend_from_slice(&u32::MAX.to_be_bytes());
    buf.extend_from_slice(b"abc");
    let err = codec.decode(&mut buf).unwrap_err();
    assert_eq!(err.to_string(), "a frame of 4294967295 bytes was announced; the limit is 16777216");
    assert!(buf.capacity() < 1024 * 1024, "no buffer was reserved for the announced length");
}

#[test]
fn a_frame_at_the_cap_reserves_nothing_for_bytes_not_received() {
    let mut codec = codec();
    let mut buf = BytesMut::with_capacity(8 * 1024);
    buf.extend_from_slice(&(MAX_FRAME_BYTES as u32).to_be_bytes());
    buf.extend_from_slice(&[0u8; 1000]);
    assert!(codec.decode(&mut buf).unwrap().is_none());
    assert!(buf.capacity() <= 8 * 1024, "capacity {} grew before the bytes came", buf.capacity());
    let (_, len) = codec.pending_deadline().expect("a frame is arriving");
    assert_eq!(len, Some(MAX_FRAME_BYTES));
    assert_eq!(frame_deadline(len), std::time::Duration::from_secs(74));
}

#[test]
fn a_frame_completes_and_the_next_begins() {
    let mut codec = codec();
    let mut buf = BytesMut::new();
    buf.extend_from_slice(&3u32.to_be_bytes());
    buf.extend_from_slice(b"abc");
    buf.extend_from_slice(&[0, 0]);
    assert_eq!(&codec.decode(&mut buf).unwrap().unwrap()[..], b"abc");
    assert!(codec.decode(&mut buf).unwrap().is_none());
    assert_eq!(codec.pending_deadline().map(|(_, len)| len), Some(None), "half a header is a frame begun");
    buf.clear();
    assert!(codec.decode(&mut buf).unwrap().is_none());
    assert!(codec.pending_deadline().is_none());
}

#[test]
fn accepts_a_frame_exactly_at_the_cap_header() {
    let mut codec = codec();
    let mut buf = BytesMut::new();
    buf.extend_from_slice(&(MAX_FRAME_BYTES as u32).to_be_bytes());
    // Incomplete, but not refused: the length itself is allowed.
    assert!(codec.decode(&mut buf).unwrap().is_none());
}

#[test]
fn refuses_a_hostile_length_inside_a_message() {
    // A Vec<u8> announcing u64::MAX elements (varint 0xFD + 8 bytes) followed by almost nothing.
    let mut payload = vec![0xFDu8];
    payload.extend_from_slice(&u64::MAX.to_be_bytes());
    payload.extend_from_slice(&[1, 2, 3]);
    let err = decode::<Vec<u8>>(&payload).unwrap_err();
    assert!(err.to_string().starts_with("malformed message"), "{err}");
}

#[test]
fn refuses_a_hostile_string_length() {
    let mut payload = vec![0xFCu8];
    payload.extend_from_slice(&(u32::MAX).to_be_bytes());
    let err = decode::<String>(&payload).unwrap_err();
    assert!(err.to_string().starts_with("malformed message"), "{err}");
}

#[test]
fn refuses_trailing_bytes() {
    let mut bytes = encode(&5u32).unwrap().to_vec();
    bytes.push(0);
    assert!(matches!(decode::<u32>(&bytes), Err(FrameError::Trailing(1))));
}

#[test]
fn garbage_never_panics() {
    let mut seed = 0x2545F4914F6CDD1Du64;
    for len in 0..400usize {
        let payload: Vec<u8> = (0..len)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                seed as u8
            })
            .collect();
        let _ = decode::<crate::message::CoordinatorToWorker>(&payload);
        let _ = decode::<crate::message::WorkerToCoordinator>(&payload);
        let _ = decode::<crate::message::ClientRequest>(&payload);
        let _ = decode::<crate::message::ClientReply>(&payload);
    }
}
