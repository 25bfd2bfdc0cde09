//! Framing: a 4-byte big-endian length, then a bincode 2 payload.
//!
//! Both limits are enforced before anything is allocated: the codec refuses a frame whose announced length exceeds
//! [`MAX_FRAME_BYTES`], and bincode decodes each payload with an explicit limit equal to that cap, so a hostile
//! length *inside* a message (a `Vec` claiming a billion elements) is an error, not an abort.
//!
//! The announced length is not trusted for memory either: [`FrameCodec`] never reserves room for it (tokio-util's
//! length-delimited codec does, so 32 peers each announcing 16 MiB and sending slowly pinned 512 MiB). The read
//! buffer grows with the bytes that actually arrive. The codec also notes when a frame began to arrive, so that
//! the connection can give each frame a deadline ([`frame_deadline`]) once its first byte is in.

use bincode::config::{BigEndian, Configuration, Limit, Varint};
use bytes::{Buf, Bytes, BytesMut};
use serde::{de::DeserializeOwned, Serialize};
use std::io;
use std::time::Duration;
use tokio::time::Instant;
use tokio_util::codec::{Decoder, Encoder, LengthDelimitedCodec};

/// The largest frame either side accepts: 16 MiB. Log chunks and job lists are sent in pieces well under it.
pub const MAX_FRAME_BYTES: usize = 16 * 1024 * 1024;

/// Bytes of the length header in front of every frame.
const HEADER_BYTES: usize = 4;

/// Every frame may take this long to arrive once its first byte is in, plus the time of [`MIN_FRAME_RATE`].
pub const FRAME_DEADLINE_BASE: Duration = Duration::from_secs(10);

/// The slowest rate at which a frame may arrive (bytes per second): a full 16 MiB frame has 10 s + 64 s.
pub const MIN_FRAME_RATE: u64 = 256 * 1024;

/// How long a frame announcing `len` payload bytes (`None`: its header is not complete yet) may take to arrive.
pub fn frame_deadline(len: Option<usize>) -> Duration {
    let len = len.unwrap_or(0) as u64;
    FRAME_DEADLINE_BASE + Duration::from_millis(len.saturating_mul(1000) / MIN_FRAME_RATE)
}

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
    #[error("a frame of {0} bytes was announced; the limit is {MAX_FRAME_BYTES}")]
    HeaderTooLarge(usize),
}

/// The frame codec of every connection, both directions.
#[derive(Debug)]
pub struct FrameCodec {
    /// When the frame now arriving began to (its first byte was read), and its length once the header is in;
    /// `None` between frames.
    pending: Option<(Instant, Option<usize>)>,
    /// Writes frames; its encoder checks the cap as well.
    encoder: LengthDelimitedCodec,
}

impl Default for FrameCodec {
    fn default() -> Self {
        let encoder = LengthDelimitedCodec::builder()
            .length_field_length(HEADER_BYTES)
            .big_endian()
            .max_frame_length(MAX_FRAME_BYTES)
            .new_codec();
        Self { pending: None, encoder }
    }
}

impl FrameCodec {
    /// The instant by which the frame now arriving must be complete; `None` between frames.
    pub fn pending_deadline(&self) -> Option<(Instant, Option<usize>)> {
        self.pending.map(|(since, len)| (since + frame_deadline(len), len))
    }
}

impl Decoder for FrameCodec {
    type Item = BytesMut;
    type Error = io::Error;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<BytesMut>, io::Error> {
        if src.is_empty() {
            self.pending = None;
            return Ok(None);
        }
        let since = self.pending.map_or_else(Instant::now, |(since, _)| since);
        if src.len() < HEADER_BYTES {
            self.pending = Some((since, None));
            return Ok(None);
        }
        let len = u32::from_be_bytes([src[0], src[1], src[2], src[3]]) as usize;
        if len > MAX_FRAME_BYTES {
            return Err(io::Error::new(io::ErrorKind::InvalidData, FrameError::HeaderTooLarge(len)));
        }
        if src.len() < HEADER_BYTES + len {
            // Not a byte reserved for the rest: the buffer grows as it arrives.
            self.pending = Some((since, Some(len)));
            return Ok(None);
        }
        src.advance(HEADER_BYTES);
        let frame = src.split_to(len);
        self.pending = None;
        Ok(Some(frame))
    }
}

impl Encoder<Bytes> for FrameCodec {
    type Error = io::Error;

    fn encode(&mut self, frame: Bytes, dst: &mut BytesMut) -> Result<(), io::Error> {
        self.encoder.encode(frame, dst)
    }
}

/// The frame codec; used for both directions.
pub fn codec() -> FrameCodec {
    FrameCodec::default()
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
