//! A poster frame as it travels from a worker to the coordinator: the JPEG's bytes, capped when they are decoded.
//!
//! A worker makes one small picture of a verified render and sends it with its `Finished` report; the coordinator
//! keeps it for the web's job page. The bytes come from a peer, so [`Thumbnail`] refuses more than
//! [`MAX_THUMBNAIL_BYTES`] while the message is decoded (the frame cap bounds what is read before that), and the
//! worker drops a bigger picture before sending it. On the wire it is exactly a `Vec<u8>`: a length, then the bytes.

use crate::error::ThumbnailRefusal;
use crate::limits::MAX_THUMBNAIL_BYTES;
use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use std::fmt;

/// A JPEG of at most [`MAX_THUMBNAIL_BYTES`].
#[derive(Clone, PartialEq, Eq)]
pub struct Thumbnail(Vec<u8>);

impl Thumbnail {
    /// The picture, or the reason it is refused (too big, or empty).
    pub fn new(bytes: Vec<u8>) -> Result<Self, ThumbnailRefusal> {
        check_len(bytes.len())?;
        Ok(Self(bytes))
    }

    pub fn bytes(&self) -> &[u8] {
        &self.0
    }

    pub fn into_bytes(self) -> Vec<u8> {
        self.0
    }
}

fn check_len(len: usize) -> Result<(), ThumbnailRefusal> {
    if len == 0 {
        return Err(ThumbnailRefusal::Empty);
    }
    if len > MAX_THUMBNAIL_BYTES {
        return Err(ThumbnailRefusal::TooLarge { len, limit: MAX_THUMBNAIL_BYTES });
    }
    Ok(())
}

/// Its length, not its bytes: a log line or a failed assertion stays one line.
impl fmt::Debug for Thumbnail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Thumbnail({} bytes)", self.0.len())
    }
}

impl Serialize for Thumbnail {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_bytes(&self.0)
    }
}

impl<'de> Deserialize<'de> for Thumbnail {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_byte_buf(BytesVisitor)
    }
}

struct BytesVisitor;

impl<'de> Visitor<'de> for BytesVisitor {
    type Value = Thumbnail;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "a picture of 1 to {MAX_THUMBNAIL_BYTES} bytes")
    }

    fn visit_bytes<E: de::Error>(self, bytes: &[u8]) -> Result<Thumbnail, E> {
        check_len(bytes.len()).map_err(E::custom)?;
        Ok(Thumbnail(bytes.to_vec()))
    }

    fn visit_byte_buf<E: de::Error>(self, bytes: Vec<u8>) -> Result<Thumbnail, E> {
        Thumbnail::new(bytes).map_err(E::custom)
    }

    /// Formats that write bytes as a list of numbers (JSON) come here: the count is checked as it grows.
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Thumbnail, A::Error> {
        let mut bytes = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(MAX_THUMBNAIL_BYTES));
        while let Some(byte) = seq.next_element::<u8>()? {
            if bytes.len() == MAX_THUMBNAIL_BYTES {
                return Err(de::Error::custom(format!("a poster frame is at most {MAX_THUMBNAIL_BYTES} bytes")));
            }
            bytes.push(byte);
        }
        Thumbnail::new(bytes).map_err(de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame;

    #[test]
    fn a_picture_at_the_cap_travels_and_one_byte_more_is_refused_on_decode() {
        let at = Thumbnail::new(vec![0xd8; MAX_THUMBNAIL_BYTES]).unwrap();
        let bytes = frame::encode(&Some(at.clone())).unwrap();
        assert_eq!(frame::decode::<Option<Thumbnail>>(&bytes).unwrap(), Some(at));

        // A peer that sends more than the cap (as a plain byte vector: what the type's bytes are on the wire).
        let past = frame::encode(&Some(vec![0xd8u8; MAX_THUMBNAIL_BYTES + 1])).unwrap();
        let error = frame::decode::<Option<Thumbnail>>(&past).unwrap_err().to_string();
        assert!(error.contains("the poster frame is 262145 bytes; the limit is 262144"), "{error}");
        let too_large = Thumbnail::new(vec![1; MAX_THUMBNAIL_BYTES + 1]).unwrap_err();
        assert_eq!(too_large, ThumbnailRefusal::TooLarge { len: MAX_THUMBNAIL_BYTES + 1, limit: MAX_THUMBNAIL_BYTES });
        assert_eq!(too_large.to_string(), "the poster frame is 262145 bytes; the limit is 262144");
        let empty = Thumbnail::new(Vec::new()).unwrap_err();
        assert_eq!(empty, ThumbnailRefusal::Empty);
        assert_eq!(empty.to_string(), "the poster frame is empty");
    }

    #[test]
    fn on_the_wire_it_is_a_byte_vector() {
        let thumbnail = Thumbnail::new(vec![0xff, 0xd8, 0xff]).unwrap();
        assert_eq!(frame::encode(&thumbnail).unwrap(), frame::encode(&vec![0xffu8, 0xd8, 0xff]).unwrap());
        assert_eq!(format!("{thumbnail:?}"), "Thumbnail(3 bytes)");
    }
}
