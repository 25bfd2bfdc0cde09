//! Finds the frame rate melt will use for a project, because time strings
//! (`00:00:18.800`) become frames through it.
//!
//! Verified with melt 7.12: a `<profile>` element's `frame_rate_num` /
//! `frame_rate_den` attributes win; a preset named by its `name` (or
//! `profile`) attribute, or by the `<mlt profile="...">` attribute, supplies
//! the values it does not give; the `<profile>` element wins over the `<mlt>`
//! attribute. Without any of these melt uses its default `dv_pal`, 25/1 —
//! except that melt then picks the profile from the first media file it opens,
//! which this module cannot know (see [`FrameRate::explicit`]).
//! Numbers are read with `strtol(..., 0)` as MLT does.

use super::clock::c_strtol;

/// The project's frame rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameRate {
    pub num: u32,
    pub den: u32,
    /// False when the project names no profile at all: melt 7.12 then
    /// derives the profile from the first media it loads (a project with
    /// only a 30 fps clip rendered at 30 fps), so 25/1 is only a guess.
    pub explicit: bool,
}

/// Frame rates of the presets MLT 7.12 ships in `share/mlt-7/profiles`.
const PRESETS: &[(&[&str], u32, u32)] = &[
    (
        &[
            "atsc_1080i_50",
            "atsc_1080p_25",
            "atsc_720p_25",
            "cif_pal",
            "cvd_pal",
            "dv_pal",
            "dv_pal_wide",
            "hdv_1080_25p",
            "hdv_1080_50i",
            "hdv_720_25p",
            "qcif_pal",
            "qhd_1440p_25",
            "quarter_pal",
            "quarter_pal_wide",
            "square_pal",
            "square_pal_wide",
            "svcd_pal",
            "svcd_pal_wide",
            "uhd_2160p_25",
            "vcd_pal",
        ],
        25,
        1,
    ),
    (
        &[
            "atsc_1080i_5994",
            "atsc_1080p_2997",
            "atsc_720p_2997",
            "cif_ntsc",
            "cvd_ntsc",
            "dv_ntsc",
            "dv_ntsc_wide",
            "hdv_1080_30p",
            "hdv_1080_60i",
            "hdv_720_30p",
            "qcif_ntsc",
            "qhd_1440p_2997",
            "quarter_ntsc",
            "quarter_ntsc_wide",
            "sdi_486i_5994",
            "square_ntsc",
            "square_ntsc_wide",
            "svcd_ntsc",
            "svcd_ntsc_wide",
            "uhd_2160p_2997",
            "vcd_ntsc",
        ],
        30000,
        1001,
    ),
    (
        &[
            "atsc_1080i_60",
            "atsc_1080p_30",
            "atsc_720p_30",
            "qhd_1440p_30",
            "square_1080p_30",
            "uhd_2160p_30",
            "vertical_hd_30",
        ],
        30,
        1,
    ),
    (&["atsc_1080p_5994", "atsc_720p_5994", "hdv_720_60p", "qhd_1440p_5994", "uhd_2160p_5994"], 60000, 1001),
    (&["atsc_1080p_60", "atsc_720p_60", "qhd_1440p_60", "square_1080p_60", "uhd_2160p_60", "vertical_hd_60"], 60, 1),
    (&["atsc_1080p_50", "atsc_720p_50", "hdv_720_50p", "qhd_1440p_50", "uhd_2160p_50"], 50, 1),
    (&["atsc_1080p_2398", "atsc_720p_2398", "qhd_1440p_2398", "sdi_486p_2398", "uhd_2160p_2398"], 24000, 1001),
    (&["atsc_1080p_24", "atsc_720p_24", "qhd_1440p_24", "uhd_2160p_24"], 24, 1),
    (&["cif_15", "qcif_15", "quarter_15"], 15, 1),
];

fn preset(name: &str) -> Option<(u32, u32)> {
    PRESETS.iter().find(|(names, _, _)| names.contains(&name)).map(|&(_, num, den)| (num, den))
}

fn named(rate: &mut FrameRate, name: &str) -> Result<(), String> {
    let (num, den) = preset(name.trim()).ok_or_else(|| format!("unknown MLT profile name {name:?}"))?;
    *rate = FrameRate { num, den, explicit: true };
    Ok(())
}

fn rate_attr(value: &str, what: &str) -> Result<u32, String> {
    let (v, digits, overflow) = c_strtol(value, 0);
    if digits == 0 || overflow || v <= 0 || v > i64::from(i32::MAX) {
        return Err(format!("<profile> {what}={value:?} is not a positive whole number"));
    }
    Ok(v as u32)
}

/// The frame rate of the document whose root element is `mlt`.
pub fn frame_rate(mlt: roxmltree::Node<'_, '_>) -> Result<FrameRate, String> {
    let mut rate = FrameRate { num: 25, den: 1, explicit: false };
    if let Some(name) = mlt.attribute("profile") {
        named(&mut rate, name)?;
    }
    for profile in mlt.children().filter(|n| n.has_tag_name("profile")) {
        for key in ["name", "profile"] {
            if let Some(name) = profile.attribute(key) {
                named(&mut rate, name)?;
            }
        }
        if let Some(v) = profile.attribute("frame_rate_num") {
            rate.num = rate_attr(v, "frame_rate_num")?;
            rate.explicit = true;
        }
        if let Some(v) = profile.attribute("frame_rate_den") {
            rate.den = rate_attr(v, "frame_rate_den")?;
            rate.explicit = true;
        }
    }
    Ok(rate)
}

/// The picture an explicit `<profile>` element gives: what a render's output must measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Picture {
    pub width: u32,
    pub height: u32,
    /// `progressive="0"`: the profile is interlaced. `None` when the element does not say.
    pub progressive: Option<bool>,
}

/// The picture of the document whose root element is `mlt`, when its `<profile>` element gives `width` and
/// `height` (the last such element, as melt reads them); a profile named only by preset gives none here, and the
/// output's size is then not checked.
pub fn picture(mlt: roxmltree::Node<'_, '_>) -> Option<Picture> {
    let profile = mlt.children().rfind(|n| n.has_tag_name("profile"))?;
    let number = |key: &str| rate_attr(profile.attribute(key)?, key).ok();
    let progressive = profile.attribute("progressive").map(|v| c_strtol(v, 0).0 != 0);
    Some(Picture { width: number("width")?, height: number("height")?, progressive })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_picture_of_an_explicit_profile() {
        let doc = roxmltree::Document::parse(r#"<mlt><profile width="320" height="240" progressive="0"/></mlt>"#);
        let picture = picture(doc.unwrap().root_element());
        assert_eq!(picture, Some(Picture { width: 320, height: 240, progressive: Some(false) }));
        let named = roxmltree::Document::parse(r#"<mlt><profile name="atsc_720p_30"/></mlt>"#).unwrap();
        assert_eq!(super::picture(named.root_element()), None);
    }

    fn rate(xml: &str) -> Result<FrameRate, String> {
        let doc = roxmltree::Document::parse(xml).unwrap();
        frame_rate(doc.root_element())
    }

    #[test]
    fn explicit_attributes() {
        let r = rate(r#"<mlt><profile frame_rate_num="30000" frame_rate_den="1001"/></mlt>"#);
        assert_eq!(r, Ok(FrameRate { num: 30000, den: 1001, explicit: true }));
        let r = rate(r#"<mlt><profile frame_rate_num="0x19" frame_rate_den="01"/></mlt>"#);
        assert_eq!(r.map(|r| (r.num, r.den)), Ok((25, 1)));
    }

    #[test]
    fn default_is_pal_but_not_explicit() {
        assert_eq!(rate("<mlt/>"), Ok(FrameRate { num: 25, den: 1, explicit: false }));
    }

    #[test]
    fn named_presets_and_precedence() {
        // All three as melt 7.12 did it.
        assert_eq!(rate(r#"<mlt><profile name="atsc_720p_30"/></mlt>"#).map(|r| r.num), Ok(30));
        assert_eq!(rate(r#"<mlt profile="atsc_720p_30"/>"#).map(|r| r.num), Ok(30));
        let r = rate(r#"<mlt profile="atsc_720p_30"><profile name="atsc_1080p_25"/></mlt>"#);
        assert_eq!(r.map(|r| r.num), Ok(25));
        let r = rate(r#"<mlt><profile name="atsc_720p_30" frame_rate_num="50"/></mlt>"#);
        assert_eq!(r.map(|r| (r.num, r.den)), Ok((50, 1)));
        let r = rate(r#"<mlt><profile name="atsc_1080p_2398"/></mlt>"#);
        assert_eq!(r.map(|r| (r.num, r.den)), Ok((24000, 1001)));
    }

    #[test]
    fn bad_profiles() {
        assert!(rate(r#"<mlt><profile name="no_such_profile"/></mlt>"#).is_err());
        assert!(rate(r#"<mlt><profile frame_rate_num="0" frame_rate_den="1"/></mlt>"#).is_err());
        assert!(rate(r#"<mlt><profile frame_rate_num="25" frame_rate_den="-1"/></mlt>"#).is_err());
        assert!(rate(r#"<mlt><profile frame_rate_num="x" frame_rate_den="1"/></mlt>"#).is_err());
        let huge = r#"<mlt><profile frame_rate_num="99999999999999999999" frame_rate_den="1"/></mlt>"#;
        assert!(rate(huge).is_err());
    }
}
