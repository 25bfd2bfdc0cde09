//! Framing: a 4-byte big-endian length, then a bincode 2 payload.
//!
//! Both limits are enforced before anything is allocated: the codec refuses a frame whose announced length exceeds
//! [`MAX_FRAME_BYTES`] (tokio-util checks the header before reserving the buffer), and bincode decodes each payload
//! with an explicit limit equal to that cap, so a hostile length *inside* a message (a `Vec` claiming a billion
//! elements) is an error, not an abort.

use bincode::config::{BigEndian, Configuration, Limit, Varint};
use bytes::Bytes;
use serde::{de::DeserializeOwned, Serialize};
use tokio_util::codec::LengthDelimitedCodec;

/// The largest frame either side accepts: 16 MiB. Log chunks and job lists are sent in pieces well under it.
pub const MAX_FRAME_BYTES: usize = 16 * 1024 * 1024;

/// The bincode configuration of every payload: varint integers, big-endian, decoding capped at the frame size.
type WireConfig = Configuration<BigEndian, Varint, Limit<MAX_FRAME_BYTES>>;

fn config() -> WireConfig {
    bincode::config::standard().with_big_endian().with_limit::<MAX_FRAME_BYTES>()
}

/// Why a frame could not become a message, or a message a frame.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    #[error("malformed message: {0}")]
    Decode(String),
    #[error("message could not be encoded: {0}")]
    Encode(String),
    #[error("message of {0} bytes exceeds the {MAX_FRAME_BYTES}-byte frame limit")]
    TooLarge(usize),
    #[error("malformed message: {0} trailing bytes after the payload")]
    Trailing(usize),
}

/// The length-delimited codec with the frame cap; used for both directions.
pub fn codec() -> LengthDelimitedCodec {
    LengthDelimitedCodec::builder().length_field_length(4).big_endian().max_frame_length(MAX_FRAME_BYTES).new_codec()
}

/// Encodes one message into a frame payload.
pub fn encode<T: Serialize>(message: &T) -> Result<Bytes, FrameError> {
    let bytes = bincode::serde::encode_to_vec(message, config()).map_err(|e| FrameError::Encode(e.to_string()))?;
    if bytes.len() > MAX_FRAME_BYTES {
        return Err(FrameError::TooLarge(bytes.len()));
    }
    Ok(Bytes::from(bytes))
}

/// Decodes one frame payload; the whole payload must be consumed.
pub fn decode<T: DeserializeOwned>(payload: &[u8]) -> Result<T, FrameError> {
    let (message, used) =
        bincode::serde::decode_from_slice(payload, config()).map_err(|e| FrameError::Decode(e.to_string()))?;
    if used != payload.len() {
        return Err(FrameError::Trailing(payload.len() - used));
    }
    Ok(message)
}

#[cfg(test)]
mod tests;
