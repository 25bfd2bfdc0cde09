//! The picture of a rendered file against the project: its size and frame rate are the profile's (unless the job's
//! encoding scales it), and an interlaced job's field order is the one it asked for.
//!
//! melt renders at the profile's size and rate, so a file of another size or rate was made by something the job
//! did not mean as a format (a consumer argument such as `s=WxH`): it is refused, naming what was expected and what
//! was found. A preset that scales says so with `width` and `height`, which verification then expects.

use super::verify::{Expected, FieldOrder, ProbeStream};

/// Field orders ffprobe reports for interlaced video.
const INTERLACED: &[&str] = &["tt", "bb", "tb", "bt"];

/// The video stream's size, rate and field order are the expected ones.
pub(super) fn check_picture(expected: &Expected, video: &ProbeStream) -> Result<(), String> {
    if let Some((width, height)) = expected.size {
        let found = (video.width.unwrap_or(0), video.height.unwrap_or(0));
        if found != (width, height) {
            return Err(format!(
                "the output's picture is {}x{}, the project's is {width}x{height} (a preset scales with width= and \
                 height=)",
                found.0, found.1
            ));
        }
    }
    if let Some((num, den)) = expected.frame_rate {
        let found = video.r_frame_rate.as_deref().unwrap_or("unknown");
        if !same_rate(found, num, den) {
            return Err(format!("the output's frame rate is {found}, the project's is {num}/{den}"));
        }
    }
    let order = video.field_order.as_deref().unwrap_or("unknown");
    match expected.field_order {
        FieldOrder::Asked(asked) if order != asked => {
            let says = if asked == "tt" { "top field first" } else { "bottom field first" };
            Err(format!("the output's field order is {order}, the job asked for {asked} ({says})"))
        }
        FieldOrder::Progressive if INTERLACED.contains(&order) => {
            Err(format!("the output is interlaced ({order}), but the job asked for progressive"))
        }
        _ => Ok(()),
    }
}

/// Whether the rate ffprobe wrote as `num/den` text equals `num/den`.
fn same_rate(text: &str, num: u32, den: u32) -> bool {
    let Some((a, b)) = text.split_once('/') else { return false };
    match (a.parse::<u64>(), b.parse::<u64>()) {
        (Ok(a), Ok(b)) if b > 0 => a * u64::from(den) == b * u64::from(num),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::presets;
    use distencode_mlt::Picture;
    use distencode_wire::job::Encoding;

    fn stream(width: u32, height: u32, rate: &str, order: &str) -> ProbeStream {
        serde_json::from_value(serde_json::json!({
            "codec_type": "video", "width": width, "height": height, "r_frame_rate": rate, "field_order": order
        }))
        .unwrap()
    }

    fn expected(encoding: &Encoding) -> Expected {
        let picture = Picture { width: 320, height: 240, progressive: Some(true) };
        Expected::for_render(encoding, 25, 25, 1, false).with_profile(encoding, Some(picture), (25, 1))
    }

    #[test]
    fn the_size_and_rate_are_the_profiles_unless_the_job_scales_them() {
        let h264 = presets::find("h264-mp4").unwrap().encoding();
        assert_eq!(check_picture(&expected(&h264), &stream(320, 240, "25/1", "progressive")), Ok(()));
        assert_eq!(check_picture(&expected(&h264), &stream(320, 240, "50/2", "unknown")), Ok(()));
        assert_eq!(
            check_picture(&expected(&h264), &stream(160, 120, "25/1", "progressive")).unwrap_err(),
            "the output's picture is 160x120, the project's is 320x240 (a preset scales with width= and height=)"
        );
        assert_eq!(
            check_picture(&expected(&h264), &stream(320, 240, "30000/1001", "progressive")).unwrap_err(),
            "the output's frame rate is 30000/1001, the project's is 25/1"
        );
        let mut scaled = h264.clone();
        scaled.extra.extend([("width".to_string(), "160".to_string()), ("height".to_string(), "120".to_string())]);
        assert_eq!(check_picture(&expected(&scaled), &stream(160, 120, "25/1", "progressive")), Ok(()));
        let gif = presets::find("gif").unwrap().encoding();
        assert_eq!(expected(&gif).frame_rate, None, "GIF keeps no frame rate");
    }

    #[test]
    fn an_interlaced_job_has_the_field_order_it_asked_for() {
        let mut dvd = presets::find("dvd").unwrap().encoding();
        assert!(check_picture(&expected(&dvd), &stream(320, 240, "25/1", "tt")).unwrap_err().contains("interlaced"));
        dvd.extra
            .extend([("progressive".to_string(), "0".to_string()), ("top_field_first".to_string(), "1".to_string())]);
        assert_eq!(check_picture(&expected(&dvd), &stream(320, 240, "25/1", "tt")), Ok(()));
        assert_eq!(
            check_picture(&expected(&dvd), &stream(320, 240, "25/1", "progressive")).unwrap_err(),
            "the output's field order is progressive, the job asked for tt (top field first)"
        );
        dvd.extra.retain(|(k, _)| k != "top_field_first");
        assert_eq!(expected(&dvd).field_order, FieldOrder::Asked("bb"), "melt's default is the bottom field first");
        let unsaid = Expected::for_render(&dvd, 25, 25, 1, false).with_profile(&dvd, None, (25, 1));
        assert_eq!(unsaid.field_order, FieldOrder::Asked("bb"));
        let h264 = presets::find("h264-mp4").unwrap().encoding();
        let named_profile = Expected::for_render(&h264, 25, 25, 1, false).with_profile(&h264, None, (25, 1));
        assert_eq!((named_profile.field_order, named_profile.size), (FieldOrder::Unchecked, None));
    }
}
