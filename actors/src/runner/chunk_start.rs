//! Why a chunk of a split starts one frame early, and where that frame goes.
//!
//! MLT 7.12's `color` producer makes its picture once and caches it. Only the frame that makes it is tagged with
//! the picture's colour space (BT.601); every later frame of the same colour carries the profile's colour space
//! instead (BT.709 for HD), and the consumer converts nothing for them. So the first frame of any render differs
//! from the same frame in the middle of one wherever a colour is shown directly or under a `luma` or `composite`
//! transition: on `#d02020`, luma 74 against 88. A single render shows it only on frame 0; a split would show it
//! on the first frame of every chunk.
//!
//! The cure is a frame of pre-roll: a chunk after the first renders from `S-1`, so the colour is made on a frame
//! that is not kept, and the join skips that frame with an ffconcat `inpoint`. The concat demuxer copies from the
//! key frame at or before the in-point, so this is exact only when every frame is a key frame: intra-only codecs
//! ([`INTRA_ONLY`]), and FFV1 when told `g=1` (lossless, so its frames decode the same whatever the GOP). Chunks
//! of long-GOP codecs (H.264, HEVC, VP9, AV1) start at `S` and keep MLT's first-frame difference
//! (docs/split.md, known limits).

use distencode_wire::job::{Task, TaskKind};

/// Video encoders whose every frame is a key frame.
const INTRA_ONLY: &[&str] =
    &["prores", "prores_ks", "prores_aw", "dnxhd", "mjpeg", "huffyuv", "ffvhuff", "utvideo", "png", "rawvideo"];
/// Intra-coded, but with key frames only every GOP unless told otherwise.
const FFV1: &str = "ffv1";

/// Whether chunks encoded with `vcodec` can be pre-rolled.
pub fn can_pre_roll(vcodec: &str) -> bool {
    vcodec == FFV1 || INTRA_ONLY.contains(&vcodec)
}

/// The frames `task` renders before its range: 1 for a chunk after the first whose codec allows it, else 0.
pub fn pre_roll(task: &Task, vcodec: &str) -> u64 {
    u64::from(task.kind == TaskKind::Chunk && task.first > 0 && can_pre_roll(vcodec))
}

/// The consumer properties of a chunk's range (and, for FFV1, a key frame on every frame).
pub fn range_properties(task: &Task, vcodec: &str) -> Vec<String> {
    let mut properties = vec![format!("in={}", task.first - pre_roll(task, vcodec)), format!("out={}", task.last)];
    if vcodec == FFV1 {
        properties.push("g=1".into());
    }
    properties
}

/// The ffconcat `inpoint` line of a pre-rolled chunk: the start of its second frame, rounded up to the
/// microsecond. The demuxer seeks to the key frame at or before it, and a container may store that frame's time
/// rounded down (Matroska keeps milliseconds), so rounding the in-point down could land on the pre-roll frame.
pub fn inpoint(fps_num: u32, fps_den: u32) -> String {
    let frame = f64::from(fps_den) / f64::from(fps_num.max(1));
    format!("inpoint {:.6}\n", (frame * 1e6).ceil() / 1e6)
}

#[cfg(test)]
mod tests {
    use super::*;
    use distencode_wire::job::JobId;

    fn chunk(first: u64, last: u64) -> Task {
        Task { parent: JobId(1), kind: TaskKind::Chunk, first, last, fps_num: 25, fps_den: 1, inputs: Vec::new() }
    }

    #[test]
    fn only_later_chunks_of_intra_codecs_start_a_frame_early() {
        assert_eq!(range_properties(&chunk(300, 599), "ffv1"), ["in=299", "out=599", "g=1"]);
        assert_eq!(range_properties(&chunk(0, 299), "ffv1"), ["in=0", "out=299", "g=1"]);
        assert_eq!(range_properties(&chunk(300, 599), "prores_ks"), ["in=299", "out=599"]);
        assert_eq!(range_properties(&chunk(300, 599), "libx264"), ["in=300", "out=599"]);
        let audio = Task { kind: TaskKind::Audio, ..chunk(0, 599) };
        assert_eq!(pre_roll(&audio, "ffv1"), 0);
    }

    #[test]
    fn the_inpoint_is_one_frame() {
        assert_eq!(inpoint(25, 1), "inpoint 0.040000\n");
        assert_eq!(inpoint(30000, 1001), "inpoint 0.033367\n");
        assert_eq!(inpoint(24000, 1001), "inpoint 0.041709\n", "0.0417083 rounded up, not down");
    }
}
