//! An export preset as it travels: a coordinator's house presets (`[[preset]]` in its config) go to clients this
//! way, so that `distencode presets` lists them and `job submit --preset NAME` can use them. The built-in presets
//! live in `distencode_actors::presets` and take this shape too.

use crate::job::Encoding;
use serde::{Deserialize, Serialize};

/// The most house presets a coordinator's config may define.
pub const MAX_HOUSE_PRESETS: usize = 64;

/// One export format: a container by its extension, two encoders and the consumer properties that make it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PresetView {
    /// What users type: `job submit --preset NAME`.
    pub name: String,
    /// The group it belongs to in listings.
    pub family: String,
    /// One line for people.
    pub description: String,
    /// The output file's extension, without the dot.
    pub extension: String,
    /// Video encoder, or `none` for an audio-only format.
    pub vcodec: String,
    /// Audio encoder, or `none` for a silent format.
    pub acodec: String,
    /// Further consumer properties, `key=value` for melt.
    pub properties: Vec<(String, String)>,
}

impl PresetView {
    /// The job encoding it makes.
    pub fn encoding(&self) -> Encoding {
        Encoding { vcodec: self.vcodec.clone(), acodec: self.acodec.clone(), extra: self.properties.clone() }
    }

    /// The encoders a worker needs for it.
    pub fn encoders(&self) -> Vec<&str> {
        [self.vcodec.as_str(), self.acodec.as_str()].into_iter().filter(|e| *e != "none").collect()
    }
}
