//! Bytes from a peer: the frame decoder over a stream of them, then every message type decoded from each frame (and
//! from the raw bytes as one payload). A message that decodes must pass or fail the caps the receiver applies, and
//! encode back to bytes that decode to the same message. No input may panic, abort or allocate past the caps.
#![no_main]

use bytes::BytesMut;
use distencode_wire::frame::{codec, decode, encode};
use distencode_wire::limits;
use distencode_wire::message::{
    ClientReply, ClientRequest, CoordinatorToWorker, Hello, HelloReply, WorkerToCoordinator,
};
use libfuzzer_sys::fuzz_target;
use serde::{de::DeserializeOwned, Serialize};
use std::fmt::Debug;
use tokio_util::codec::Decoder;

/// Frames taken from one input at most (each at least its 4-byte header).
const MAX_FRAMES: usize = 256;

fuzz_target!(|data: &[u8]| {
    let mut codec = codec();
    let mut stream = BytesMut::from(data);
    for _ in 0..MAX_FRAMES {
        match codec.decode(&mut stream) {
            Ok(Some(frame)) => every_message(&frame),
            Ok(None) | Err(_) => break,
        }
    }
    every_message(data);
});

fn every_message(payload: &[u8]) {
    round_trip::<Hello>(payload);
    round_trip::<HelloReply>(payload);
    if let Some(ClientRequest::Submit(spec)) = round_trip::<ClientRequest>(payload) {
        let _ = limits::check_spec(&spec);
    }
    round_trip::<ClientReply>(payload);
    round_trip::<WorkerToCoordinator>(payload);
    round_trip::<CoordinatorToWorker>(payload);
}

/// Decodes a message of type `T`; one that decodes must come back the same through encode and decode (compared as
/// bytes: a NaN in a message is not equal to itself).
fn round_trip<T: Serialize + DeserializeOwned + Debug>(payload: &[u8]) -> Option<T> {
    let message = decode::<T>(payload).ok()?;
    let bytes = encode(&message).expect("a decoded message encodes within the frame limit");
    let again = decode::<T>(&bytes).expect("an encoded message decodes");
    assert_eq!(encode(&again).expect("encodes again"), bytes, "{message:?} changed in a round trip");
    Some(message)
}
