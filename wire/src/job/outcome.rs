//! How an attempt ended, as a value the coordinator can match on rather than a sentence it would have to parse.
//!
//! People read it as one line (`job status`, and the `outcome` string of `job status --json`, whose wording is
//! public); nodes exchange it as a tagged enum. So it serializes as its text to human-readable formats (JSON) and as
//! the enum to binary ones (bincode).

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// How one attempt ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AttemptOutcome {
    /// Rendered, verified and put in place.
    Succeeded,
    /// The worker turned the offer down before rendering (a missing file, a missing service).
    Declined { reason: String },
    /// The render ended without a usable file, or the attempt was taken from its worker (lost, reserved,
    /// unreachable); `reason` says which.
    Failed { reason: String },
    /// A person cancelled the job while this attempt was live.
    Cancelled { reason: String },
}

impl AttemptOutcome {
    /// The outcome a line of text describes: the inverse of `Display` (used for JSON, and for records stored before
    /// outcomes were values). Text of no known shape is a failure's reason, as such text always was.
    pub fn from_text(text: &str) -> Self {
        if text == "succeeded" {
            Self::Succeeded
        } else if let Some(reason) = text.strip_prefix("rejected: ") {
            Self::Declined { reason: reason.to_string() }
        } else if let Some(reason) = text.strip_prefix("cancelled: ") {
            Self::Cancelled { reason: reason.to_string() }
        } else {
            Self::Failed { reason: text.to_string() }
        }
    }
}

impl fmt::Display for AttemptOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Succeeded => f.write_str("succeeded"),
            Self::Declined { reason } => write!(f, "rejected: {reason}"),
            Self::Failed { reason } => f.write_str(reason),
            Self::Cancelled { reason } => write!(f, "cancelled: {reason}"),
        }
    }
}

/// The enum as binary formats carry it.
#[derive(Serialize, Deserialize)]
enum Tagged {
    Succeeded,
    Declined { reason: String },
    Failed { reason: String },
    Cancelled { reason: String },
}

impl Serialize for AttemptOutcome {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if serializer.is_human_readable() {
            return serializer.collect_str(self);
        }
        let tagged = match self.clone() {
            Self::Succeeded => Tagged::Succeeded,
            Self::Declined { reason } => Tagged::Declined { reason },
            Self::Failed { reason } => Tagged::Failed { reason },
            Self::Cancelled { reason } => Tagged::Cancelled { reason },
        };
        tagged.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for AttemptOutcome {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        if deserializer.is_human_readable() {
            return String::deserialize(deserializer).map(|text| Self::from_text(&text));
        }
        Ok(match Tagged::deserialize(deserializer)? {
            Tagged::Succeeded => Self::Succeeded,
            Tagged::Declined { reason } => Self::Declined { reason },
            Tagged::Failed { reason } => Self::Failed { reason },
            Tagged::Cancelled { reason } => Self::Cancelled { reason },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_carries_the_text_and_bincode_the_variant() {
        let declined = AttemptOutcome::Declined { reason: "worker w1: missing file /a.mov".into() };
        let json = serde_json::to_string(&declined).unwrap();
        assert_eq!(json, r#""rejected: worker w1: missing file /a.mov""#);
        assert_eq!(serde_json::from_str::<AttemptOutcome>(&json).unwrap(), declined);
        // A failure whose reason reads like a refusal keeps its variant over the wire.
        let failed = AttemptOutcome::Failed { reason: "rejected: looks like one".into() };
        let bytes = crate::frame::encode(&failed).unwrap();
        assert_eq!(crate::frame::decode::<AttemptOutcome>(&bytes).unwrap(), failed);
        assert_eq!(bytes.as_ref(), [2, 24].iter().copied().chain(*b"rejected: looks like one").collect::<Vec<_>>());
        for text in ["succeeded", "cancelled: by alice", "worker w2 was lost"] {
            assert_eq!(AttemptOutcome::from_text(text).to_string(), text);
        }
    }
}
