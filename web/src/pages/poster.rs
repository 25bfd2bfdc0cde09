//! The job page's result block: the output's poster frame and a table of its streams, once the job has succeeded.
//!
//! The picture itself is served by `GET /api/v1/jobs/{id}/thumbnail` (by job id only); the page reads its size from
//! the JPEG's own header, so the `<img>` carries its width and height and the page does not jump as it loads.

use crate::state::AppState;
use distencode_actors::auth::User;
use distencode_actors::coordinator as coord;
use distencode_wire::job::{JobRecord, JobState, RenderFacts};

/// The `<img>` of a job's poster frame.
pub struct PosterView {
    pub src: String,
    pub width: u16,
    pub height: u16,
    pub alt: String,
}

/// One row of the streams table: a stream's kind, then what is known of it (empty where nothing is).
pub struct StreamRow {
    pub kind: &'static str,
    pub codec: String,
    pub detail: String,
}

/// The poster frame of a succeeded job, if it has one and `user` may see it (a refusal or a failed read shows no
/// picture: the rest of the page still says everything).
pub async fn poster(state: &AppState, job: &JobRecord, user: &User) -> Option<PosterView> {
    if job.state != JobState::Succeeded {
        return None;
    }
    let asked = state.actors.coordinator.send(coord::Thumbnail { id: job.id, by: user.clone() }).await;
    let jpeg = asked.ok()?.ok()??;
    let (width, height) = jpeg_size(&jpeg)?;
    Some(PosterView {
        src: format!("/api/v1/jobs/{}/thumbnail", job.id),
        width,
        height,
        alt: format!("A frame of job {}'s output, a tenth of the way in", job.id),
    })
}

/// The output's streams as the worker verified them.
pub fn streams(facts: &RenderFacts) -> Vec<StreamRow> {
    let mut rows = Vec::new();
    let s = &facts.streams;
    let duration = format!("{:.3} s", facts.duration_seconds);
    if facts.video_codec != "none" && !facts.video_codec.is_empty() {
        let mut parts = Vec::new();
        if let (Some(w), Some(h)) = (s.width, s.height) {
            parts.push(format!("{w}x{h}"));
        }
        parts.extend(s.pix_fmt.clone());
        parts.extend(s.frame_rate.as_ref().map(|r| format!("{r} fps")));
        parts.push(format!("{} frames", facts.frames));
        parts.push(duration.clone());
        rows.push(StreamRow { kind: "video", codec: facts.video_codec.clone(), detail: parts.join(", ") });
    }
    if let Some(codec) = &facts.audio_codec {
        let mut parts = Vec::new();
        parts.extend(s.channels.map(|c| format!("{c} channels")));
        parts.extend(s.sample_rate.map(|r| format!("{r} Hz")));
        parts.push(duration);
        rows.push(StreamRow { kind: "audio", codec: codec.clone(), detail: parts.join(", ") });
    }
    rows
}

/// Width and height from a baseline or progressive JPEG's frame header (SOFn), or `None` if it has none.
pub fn jpeg_size(jpeg: &[u8]) -> Option<(u16, u16)> {
    if jpeg.get(..2)? != [0xff, 0xd8] {
        return None;
    }
    let mut at = 2;
    // Each segment is 0xFF, a marker, then a big-endian length that counts itself; the loop moves on by at least
    // 4 bytes a turn, so it ends within the picture's bytes.
    while let (Some(&0xff), Some(&marker)) = (jpeg.get(at), jpeg.get(at + 1)) {
        let len = usize::from(u16::from_be_bytes([*jpeg.get(at + 2)?, *jpeg.get(at + 3)?]));
        let is_frame = matches!(marker, 0xc0..=0xcf) && !matches!(marker, 0xc4 | 0xc8 | 0xcc);
        if is_frame {
            let height = u16::from_be_bytes([*jpeg.get(at + 5)?, *jpeg.get(at + 6)?]);
            let width = u16::from_be_bytes([*jpeg.get(at + 7)?, *jpeg.get(at + 8)?]);
            return (width > 0 && height > 0).then_some((width, height));
        }
        if marker == 0xda || len < 2 {
            return None;
        }
        at += 2 + len;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SOI, an APP0 segment, then a baseline frame header of 320x180.
    fn jpeg() -> Vec<u8> {
        let mut bytes = vec![0xff, 0xd8, 0xff, 0xe0, 0x00, 0x04, 0x4a, 0x46];
        bytes.extend([0xff, 0xc0, 0x00, 0x11, 0x08, 0x00, 0xb4, 0x01, 0x40, 0x03]);
        bytes
    }

    #[test]
    fn the_size_comes_from_the_frame_header() {
        assert_eq!(jpeg_size(&jpeg()), Some((320, 180)));
    }

    #[test]
    fn anything_else_has_no_size_and_never_panics() {
        assert_eq!(jpeg_size(b""), None);
        assert_eq!(jpeg_size(b"\x89PNG\r\n"), None);
        let whole = jpeg();
        // Cut anywhere before the width's last byte (the byte after it, the component count, is not read).
        for cut in 0..whole.len() - 1 {
            assert_eq!(jpeg_size(&whole[..cut]), None, "cut at {cut}");
        }
        // A segment length of 0 or 1 would not move on: refused.
        assert_eq!(jpeg_size(&[0xff, 0xd8, 0xff, 0xe0, 0x00, 0x01, 0xff, 0xc0]), None);
        // Start of scan before any frame header.
        assert_eq!(jpeg_size(&[0xff, 0xd8, 0xff, 0xda, 0x00, 0x04, 0x00, 0x00]), None);
    }

    #[test]
    fn an_audio_only_output_has_one_audio_row() {
        let facts = RenderFacts {
            frames: 250,
            duration_seconds: 10.0,
            video_codec: "none".into(),
            audio_codec: Some("flac".into()),
            size_bytes: 1,
            dropped_filters: Vec::new(),
            streams: Default::default(),
        };
        let rows = streams(&facts);
        assert_eq!(rows.len(), 1);
        assert_eq!((rows[0].kind, rows[0].codec.as_str(), rows[0].detail.as_str()), ("audio", "flac", "10.000 s"));
    }
}
