//! House presets: a studio's own export formats, defined in the coordinator's config beside the built-in ones.
//!
//! ```toml
//! [[preset]]
//! name = "house-master"
//! family = "ProRes"
//! extension = "mov"
//! vcodec = "prores_ks"
//! acodec = "pcm_s16le"
//! properties = { vprofile = "3", pix_fmt = "yuv422p10le" }
//! ```
//!
//! They are checked when the coordinator starts ([`check`]: one line for the first bad one, naming it), and sent to
//! clients on request (`ClientRequest::Presets`): `distencode presets` lists them after the built-in ones, and
//! `job submit --preset NAME` asks the coordinator for a name that is not built in. A job made from one carries
//! its encoders and properties like any other, so capability matching and verification treat it alike.

use crate::presets::{self, Preset};
use crate::runner::sequence;
use distencode_wire::consumer_props;
use distencode_wire::limits::MAX_CODEC_BYTES;
use distencode_wire::preset::{PresetView, MAX_HOUSE_PRESETS};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The family a house preset is listed under when it names none.
pub const HOUSE_FAMILY: &str = "House";

/// The longest name, family or description a house preset may have, in bytes.
const MAX_TEXT_BYTES: usize = 200;
/// The longest preset name, in bytes.
const MAX_NAME_BYTES: usize = 64;
/// The longest extension, in bytes.
const MAX_EXTENSION_BYTES: usize = 16;

/// One `[[preset]]` table of the coordinator's config.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HousePresetConfig {
    /// What users type: `job submit --preset NAME`; no built-in preset's.
    pub name: String,
    /// The group it is listed under; [`HOUSE_FAMILY`] when absent.
    #[serde(default)]
    pub family: Option<String>,
    /// One line for people.
    #[serde(default)]
    pub description: Option<String>,
    /// The output file's extension (the container), without the dot.
    pub extension: String,
    /// Video encoder, or `none`.
    pub vcodec: String,
    /// Audio encoder, or `none`.
    pub acodec: String,
    /// Further consumer properties, each through the same allowlist as `--consumer-arg`.
    #[serde(default)]
    pub properties: BTreeMap<String, String>,
}

impl Preset {
    /// The built-in preset in the shape presets travel in.
    pub fn view(&self) -> PresetView {
        PresetView {
            name: self.name.into(),
            family: self.family.into(),
            description: self.description.into(),
            extension: self.extension.into(),
            vcodec: self.vcodec.into(),
            acodec: self.acodec.into(),
            properties: self.properties.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        }
    }
}

/// A word of letters, digits, `-`, `_` and `.`, of 1 to `max` bytes.
fn word(text: &str, max: usize) -> bool {
    !text.is_empty() && text.len() <= max && text.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
}

/// Checks the config's house presets and makes them what clients are sent; the first bad one is the error.
pub fn check(configs: &[HousePresetConfig]) -> Result<Vec<PresetView>, String> {
    if configs.len() > MAX_HOUSE_PRESETS {
        return Err(format!("at most {MAX_HOUSE_PRESETS} [[preset]] tables, not {}", configs.len()));
    }
    configs
        .iter()
        .enumerate()
        .map(|(i, config)| {
            let shown: String = config.name.chars().take(MAX_NAME_BYTES).collect();
            let earlier = configs[..i].iter().any(|other| other.name == config.name);
            one(config, earlier).map_err(|why| format!("[[preset]] {shown:?}: {why}"))
        })
        .collect()
}

/// One house preset, checked; `earlier`: a table before it has its name.
fn one(config: &HousePresetConfig, earlier: bool) -> Result<PresetView, String> {
    if !word(&config.name, MAX_NAME_BYTES) {
        return Err(format!("a name is 1 to {MAX_NAME_BYTES} letters, digits, '-', '_' or '.'"));
    }
    if presets::find(&config.name).is_some() {
        return Err(
            "is the name of a built-in preset (distencode presets lists them): give it a name of its own".into()
        );
    }
    if earlier {
        return Err("is defined twice".into());
    }
    if !word(&config.extension, MAX_EXTENSION_BYTES) || config.extension.contains('.') {
        return Err(format!("extension {:?} is not a file extension (letters and digits, no dot)", config.extension));
    }
    for (what, codec) in [("vcodec", &config.vcodec), ("acodec", &config.acodec)] {
        if !word(codec, MAX_CODEC_BYTES) {
            return Err(format!("{what} {codec:?} is not an encoder's name"));
        }
    }
    if config.vcodec == "none" && config.acodec == "none" {
        return Err("vcodec and acodec are both none: the file would hold nothing".into());
    }
    let file = std::path::PathBuf::from(format!("x.{}", config.extension));
    if sequence::is_sequence(&file) && config.vcodec == "none" {
        return Err("an image sequence needs a video encoder".into());
    }
    let properties: Vec<(String, String)> = config.properties.clone().into_iter().collect();
    consumer_props::check_all(&properties).map_err(|e| e.to_string())?;
    let text = |what: &str, value: &Option<String>, default: &str| match value {
        Some(value) if value.len() > MAX_TEXT_BYTES => Err(format!("its {what} is over {MAX_TEXT_BYTES} bytes")),
        Some(value) => Ok(value.clone()),
        None => Ok(default.to_string()),
    };
    let description = format!("{} ({}, {}) in .{}", config.name, config.vcodec, config.acodec, config.extension);
    Ok(PresetView {
        name: config.name.clone(),
        family: text("family", &config.family, HOUSE_FAMILY)?,
        description: text("description", &config.description, &description)?,
        extension: config.extension.clone(),
        vcodec: config.vcodec.clone(),
        acodec: config.acodec.clone(),
        properties,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn master() -> HousePresetConfig {
        toml::from_str(
            r#"name = "house-master"
               family = "ProRes"
               extension = "mov"
               vcodec = "prores_ks"
               acodec = "pcm_s16le"
               properties = { vprofile = "3", pix_fmt = "yuv422p10le" }"#,
        )
        .unwrap()
    }

    #[test]
    fn a_house_preset_is_checked_and_made_a_preset() {
        let checked = check(&[master()]).unwrap();
        assert_eq!(checked[0].family, "ProRes");
        assert_eq!(checked[0].description, "house-master (prores_ks, pcm_s16le) in .mov");
        let encoding = checked[0].encoding();
        assert_eq!((encoding.vcodec.as_str(), encoding.acodec.as_str()), ("prores_ks", "pcm_s16le"));
        assert_eq!(encoding.extra, [("pix_fmt".into(), "yuv422p10le".into()), ("vprofile".into(), "3".into())]);
        assert_eq!(check(&[]), Ok(Vec::new()));
    }

    #[test]
    fn a_bad_house_preset_is_one_line_naming_it() {
        let with = |change: fn(&mut HousePresetConfig)| {
            let mut config = master();
            change(&mut config);
            check(&[config]).unwrap_err()
        };
        assert_eq!(
            with(|c| c.name = "prores-422".into()),
            "[[preset]] \"prores-422\": is the name of a built-in preset (distencode presets lists them): give it a \
             name of its own"
        );
        assert_eq!(check(&[master(), master()]).unwrap_err(), "[[preset]] \"house-master\": is defined twice");
        assert_eq!(
            with(|c| {
                c.properties.insert("profile".into(), "3".into());
            }),
            "[[preset]] \"house-master\": refused: the consumer property \"profile\" names a file or a destination; \
             the farm writes the output itself"
        );
        assert!(with(|c| c.name = "a b".into()).contains("a name is 1 to 64 letters"));
        assert!(with(|c| c.extension = ".mov".into()).contains("is not a file extension"));
        assert!(with(|c| c.vcodec = "x;y".into()).contains("vcodec \"x;y\" is not an encoder's name"));
        assert!(with(|c| {
            c.vcodec = "none".into();
            c.acodec = "none".into();
        })
        .contains("both none"));
        let unknown_key = toml::from_str::<HousePresetConfig>(
            "name = \"x\"\nextension = \"mov\"\nvcodec = \"a\"\nacodec = \"b\"\ncolour = 1",
        );
        assert!(unknown_key.is_err());
        let many: Vec<HousePresetConfig> =
            (0..=MAX_HOUSE_PRESETS).map(|i| HousePresetConfig { name: format!("h{i}"), ..master() }).collect();
        assert_eq!(check(&many[..MAX_HOUSE_PRESETS]).map(|v| v.len()), Ok(MAX_HOUSE_PRESETS));
        assert_eq!(check(&many).unwrap_err(), "at most 64 [[preset]] tables, not 65");
    }
}
