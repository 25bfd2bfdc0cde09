//! MP4 and MOV files read in process: the sample tables that ffprobe would read, without starting ffprobe.
//!
//! Verification used to cost every job an ffprobe run, most of it ffprobe's start-up (loading libavformat) rather
//! than reading the file. An MP4 or MOV written by melt holds everything verification needs in its `moov` box:
//! each track's handler (video or sound), its sample entry (the codec's four-character code, the coded width and
//! height, the sample rate, the codec's own configuration record), its time scale and sample durations (the frame
//! rate) and its sample count (the frames, exactly as ffprobe's `nb_frames` reads it). This module reads just those
//! boxes, bounded ([`MAX_MOOV_BYTES`], [`MAX_BOXES`]), and says [`None`] for anything it does not know for certain:
//! a fragmented file, a box that runs past the end of the file (cut short), a codec it cannot name. Verification
//! then asks ffprobe, so this is only ever a faster way to the same answer.

use super::verify::{Probe, ProbeFormat, ProbeStream};
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

/// The largest `moov` box read (a three-hour render's sample tables are a few MiB).
pub const MAX_MOOV_BYTES: u64 = 64 * 1024 * 1024;
/// The most top-level boxes walked before giving up.
const MAX_BOXES: usize = 64;

/// What the file's `moov` says.
#[derive(Debug, Clone, PartialEq)]
pub struct Movie {
    /// The movie's duration in seconds (`mvhd`).
    pub duration_seconds: f64,
    /// The file's size in bytes.
    pub size_bytes: u64,
    /// Its video and sound tracks, in order.
    pub tracks: Vec<Track>,
}

/// One video or sound track.
#[derive(Debug, Clone, PartialEq)]
pub struct Track {
    /// `video` or `audio`.
    pub kind: &'static str,
    /// The codec as ffprobe names it.
    pub codec: &'static str,
    /// Samples: frames for video.
    pub samples: u64,
    /// The track's duration in seconds.
    pub duration_seconds: f64,
    /// Coded width and height (video).
    pub size: Option<(u32, u32)>,
    /// Frames per second as `timescale/delta`, when every sample lasts the same (video).
    pub frame_rate: Option<(u32, u32)>,
    /// The pixel format, where the codec's configuration tells it (H.264, HEVC, ProRes).
    pub pix_fmt: Option<String>,
    /// Samples per second and channels (sound).
    pub sample_rate: Option<u32>,
    pub channels: Option<u32>,
}

impl Movie {
    /// What ffprobe would have said of the same file, for the same checks.
    pub(super) fn as_probe(&self) -> Probe {
        let streams = self
            .tracks
            .iter()
            .map(|t| ProbeStream {
                codec_type: Some(t.kind.into()),
                codec_name: Some(t.codec.into()),
                nb_frames: Some(t.samples.to_string()),
                pix_fmt: t.pix_fmt.clone(),
                sample_rate: t.sample_rate.map(|r| r.to_string()),
                duration: Some(format!("{:.6}", t.duration_seconds)),
                width: t.size.map(|s| s.0),
                height: t.size.map(|s| s.1),
                r_frame_rate: t.frame_rate.map(|(num, den)| reduced(num, den)),
                channels: t.channels,
                field_order: None,
                nb_read_packets: None,
            })
            .collect();
        let format = ProbeFormat {
            duration: Some(format!("{:.6}", self.duration_seconds)),
            size: Some(self.size_bytes.to_string()),
        };
        Probe { streams, format: Some(format) }
    }
}

/// `num/den` in lowest terms, as ffprobe writes a rate.
fn reduced(num: u32, den: u32) -> String {
    let (mut a, mut b) = (num, den);
    while b != 0 {
        (a, b) = (b, a % b);
    }
    let gcd = a.max(1);
    format!("{}/{}", num / gcd, den / gcd)
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn u64_at(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_be_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

/// The boxes in `data`, as (type, content); `None` if one runs past the end.
fn boxes(mut data: &[u8]) -> Option<Vec<([u8; 4], &[u8])>> {
    let mut found = Vec::new();
    while data.len() >= 8 {
        let size = u32_at(data, 0)? as u64;
        let kind: [u8; 4] = data[4..8].try_into().ok()?;
        let (header, size) = match size {
            1 => (16, u64_at(data, 8)?),
            0 => (8, data.len() as u64),
            size => (8, size),
        };
        if size < header || size > data.len() as u64 {
            return None;
        }
        found.push((kind, &data[header as usize..size as usize]));
        data = &data[size as usize..];
    }
    Some(found)
}

/// The first child box of type `kind`.
fn child<'a>(data: &'a [u8], kind: &[u8; 4]) -> Option<&'a [u8]> {
    boxes(data)?.into_iter().find(|(k, _)| k == kind).map(|(_, content)| content)
}

/// Reads `file`'s `moov`; `None` when the file is not a plain (unfragmented, whole) MP4 or MOV this reads exactly.
pub fn read(file: &Path) -> Option<Movie> {
    let mut f = std::fs::File::open(file).ok()?;
    let size_bytes = f.metadata().ok()?.len();
    let (mut at, mut moov, mut mdat) = (0u64, None, false);
    for _ in 0..MAX_BOXES {
        if at == size_bytes {
            break;
        }
        let mut header = [0u8; 16];
        f.seek(SeekFrom::Start(at)).ok()?;
        f.read_exact(&mut header[..8]).ok()?;
        let (mut length, kind) = (u32_at(&header, 0)? as u64, <[u8; 4]>::try_from(&header[4..8]).ok()?);
        let mut header_len = 8;
        if length == 1 {
            f.read_exact(&mut header[8..16]).ok()?;
            length = u64_at(&header, 8)?;
            header_len = 16;
        } else if length == 0 {
            length = size_bytes - at;
        }
        // A box that runs past the end: the file was cut short.
        if length < header_len || at.checked_add(length)? > size_bytes {
            return None;
        }
        match &kind {
            b"moov" if length <= MAX_MOOV_BYTES => {
                let mut content = vec![0u8; (length - header_len) as usize];
                f.read_exact(&mut content).ok()?;
                moov = Some(content);
            }
            b"moof" | b"moov" => return None,
            b"mdat" => mdat = true,
            _ => {}
        }
        at += length;
    }
    if at != size_bytes || !mdat {
        return None;
    }
    movie(&moov?, size_bytes)
}

fn movie(moov: &[u8], size_bytes: u64) -> Option<Movie> {
    if child(moov, b"mvex").is_some() {
        return None;
    }
    let mvhd = child(moov, b"mvhd")?;
    let (scale, duration) = match mvhd.first()? {
        0 => (u32_at(mvhd, 12)?, u64::from(u32_at(mvhd, 16)?)),
        1 => (u32_at(mvhd, 20)?, u64_at(mvhd, 24)?),
        _ => return None,
    };
    let mut tracks = Vec::new();
    for (kind, trak) in boxes(moov)? {
        if &kind == b"trak" {
            if let Some(track) = track(trak)? {
                tracks.push(track);
            }
        }
    }
    let duration_seconds = if scale == 0 { 0.0 } else { duration as f64 / f64::from(scale) };
    Some(Movie { duration_seconds, size_bytes, tracks })
}

/// One track: `Some(None)` for a track that is neither video nor sound (timecode, chapters), `None` for one this
/// cannot read exactly.
fn track(trak: &[u8]) -> Option<Option<Track>> {
    let mdia = child(trak, b"mdia")?;
    let kind = match child(mdia, b"hdlr")?.get(8..12)? {
        b"vide" => "video",
        b"soun" => "audio",
        _ => return Some(None),
    };
    let mdhd = child(mdia, b"mdhd")?;
    let (scale, duration) = match mdhd.first()? {
        0 => (u32_at(mdhd, 12)?, u64::from(u32_at(mdhd, 16)?)),
        1 => (u32_at(mdhd, 20)?, u64_at(mdhd, 24)?),
        _ => return None,
    };
    let stbl = child(child(mdia, b"minf")?, b"stbl")?;
    let samples = u64::from(u32_at(child(stbl, b"stsz")?, 8)?);
    let stsd = child(stbl, b"stsd")?;
    if u32_at(stsd, 4)? != 1 {
        return None;
    }
    let (fourcc, entry) = boxes(stsd.get(8..)?)?.into_iter().next()?;
    let mut track = Track {
        kind,
        codec: "",
        samples,
        duration_seconds: if scale == 0 { 0.0 } else { duration as f64 / f64::from(scale) },
        size: None,
        frame_rate: None,
        pix_fmt: None,
        sample_rate: None,
        channels: None,
    };
    if kind == "video" {
        track.size = Some((u32::from(u16_at(entry, 24)?), u32::from(u16_at(entry, 26)?)));
        track.frame_rate = constant_rate(child(stbl, b"stts")?, scale);
        let (codec, pix_fmt) = video_codec(&fourcc, entry)?;
        (track.codec, track.pix_fmt) = (codec, pix_fmt);
    } else {
        let (codec, channels) = audio_codec(&fourcc, entry)?;
        track.channels = Some(channels.unwrap_or(u32::from(u16_at(entry, 16)?)));
        track.sample_rate = Some(u32_at(entry, 24)? >> 16);
        track.codec = codec;
    }
    Some(Some(track))
}

/// `timescale/delta` when every sample of the `stts` table lasts `delta`.
fn constant_rate(stts: &[u8], scale: u32) -> Option<(u32, u32)> {
    let entries = u32_at(stts, 4)? as usize;
    let deltas: Vec<u32> = (0..entries.min(2)).map(|i| u32_at(stts, 12 + 8 * i)).collect::<Option<_>>()?;
    match deltas.as_slice() {
        [delta] if *delta > 0 => Some((scale, *delta)),
        _ => None,
    }
}

/// The codec and, where its configuration says, the pixel format of a visual sample entry.
fn video_codec(fourcc: &[u8; 4], entry: &[u8]) -> Option<(&'static str, Option<String>)> {
    // A visual sample entry's own fields take 78 bytes; its boxes follow.
    let children = entry.get(78..)?;
    Some(match fourcc {
        b"avc1" | b"avc3" => ("h264", avc_pix_fmt(child(children, b"avcC")?)),
        b"hvc1" | b"hev1" => ("hevc", hevc_pix_fmt(child(children, b"hvcC")?)),
        b"apco" | b"apcs" | b"apcn" | b"apch" => ("prores", Some("yuv422p10le".into())),
        _ => return None,
    })
}

/// The codec of a sound sample entry, and its channels where the entry's own count is not the one ffprobe reads:
/// `mp4a` is AAC or MP3 by its decoder configuration, and AAC's channels are in its `AudioSpecificConfig`.
fn audio_codec(fourcc: &[u8; 4], entry: &[u8]) -> Option<(&'static str, Option<u32>)> {
    Some(match fourcc {
        b"mp4a" => {
            // Sound sample entry version 0 (MP4) has 28 bytes of fields before its boxes.
            if u16_at(entry, 8)? != 0 {
                return None;
            }
            match esds(child(entry.get(28..)?, b"esds")?)? {
                (0x40 | 0x66..=0x68, Some(config)) => ("aac", Some(aac_channels(config)?)),
                (0x69 | 0x6B, _) => ("mp3", None),
                _ => return None,
            }
        }
        b"sowt" => ("pcm_s16le", None),
        b"ac-3" => ("ac3", None),
        b"Opus" => ("opus", None),
        b"fLaC" => ("flac", None),
        _ => return None,
    })
}

/// The object type of an `esds` box's decoder configuration (ISO 14496-1 descriptors), and its decoder-specific
/// information when it has one.
fn esds(esds: &[u8]) -> Option<(u8, Option<&[u8]>)> {
    // A descriptor: its tag, then its length in 1 to 4 bytes of 7 bits; returns the tag and the length.
    let descriptor = |at: &mut usize| -> Option<(u8, usize)> {
        let tag = *esds.get(*at)?;
        *at += 1;
        let mut length = 0usize;
        for _ in 0..4 {
            let byte = *esds.get(*at)?;
            *at += 1;
            length = (length << 7) | usize::from(byte & 0x7f);
            if byte & 0x80 == 0 {
                break;
            }
        }
        Some((tag, length))
    };
    let mut at = 4;
    if descriptor(&mut at)?.0 != 0x03 {
        return None;
    }
    let flags = *esds.get(at + 2)?;
    at += 3;
    if flags & 0x80 != 0 {
        at += 2;
    }
    if flags & 0x40 != 0 {
        at += 1 + usize::from(*esds.get(at)?);
    }
    if flags & 0x20 != 0 {
        at += 2;
    }
    if descriptor(&mut at)?.0 != 0x04 {
        return None;
    }
    let object_type = *esds.get(at)?;
    // Object type, stream type, buffer size, maximum and average bit rate.
    at += 13;
    let specific = match descriptor(&mut at) {
        Some((0x05, length)) => esds.get(at..at + length),
        _ => None,
    };
    Some((object_type, specific))
}

/// The channels an AAC `AudioSpecificConfig` gives (its channel configuration 1 to 6; 7 is 8 channels).
fn aac_channels(config: &[u8]) -> Option<u32> {
    let (first, second) = (*config.first()?, *config.get(1)?);
    // An escaped object type or an explicit sampling rate moves the field: not read here.
    if first >> 3 == 31 || ((first & 0x07) << 1 | second >> 7) == 15 {
        return None;
    }
    match (second >> 3) & 0x0f {
        channels @ 1..=6 => Some(u32::from(channels)),
        7 => Some(8),
        _ => None,
    }
}

/// The pixel format ffprobe names for a chroma format (0 to 3) and bit depth.
fn yuv(chroma: u32, depth: u32) -> Option<String> {
    let base = match chroma {
        0 => "gray",
        1 => "yuv420p",
        2 => "yuv422p",
        3 => "yuv444p",
        _ => return None,
    };
    match depth {
        8 => Some(base.into()),
        9..=16 if chroma == 0 => Some(format!("gray{depth}le")),
        9..=16 => Some(format!("{base}{depth}le")),
        _ => None,
    }
}

/// An H.264 configuration's pixel format, from its first sequence parameter set.
fn avc_pix_fmt(avcc: &[u8]) -> Option<String> {
    if avcc.first() != Some(&1) || avcc.get(5)? & 0x1f == 0 {
        return None;
    }
    let length = usize::from(u16_at(avcc, 6)?);
    // The NAL header byte, then the SPS, with emulation prevention bytes removed.
    let nal = avcc.get(9..8 + length)?;
    let mut rbsp = Vec::with_capacity(nal.len());
    for &byte in nal {
        if byte == 3 && rbsp.ends_with(&[0, 0]) {
            continue;
        }
        rbsp.push(byte);
    }
    let mut bits = Bits { data: &rbsp, at: 24 };
    let profile = u32::from(*rbsp.first()?);
    bits.ue()?; // seq_parameter_set_id
    let (chroma, depth) = if matches!(profile, 100 | 110 | 122 | 244 | 44 | 83 | 86 | 118 | 128 | 138 | 139 | 134 | 135)
    {
        let chroma = bits.ue()?;
        if chroma == 3 {
            bits.bit()?; // separate_colour_plane_flag
        }
        (chroma, bits.ue()? + 8)
    } else {
        (1, 8)
    };
    // (A full-range picture is `yuvj420p` to ffprobe: its VUI says so, which this does not read. A job that asks
    // for a colour range is verified by ffprobe: see `Expected::needs_ffprobe`.)
    yuv(chroma, depth)
}

/// An HEVC configuration's pixel format (its record carries both fields).
fn hevc_pix_fmt(hvcc: &[u8]) -> Option<String> {
    let chroma = u32::from(hvcc.get(16)? & 0x03);
    let depth = u32::from(hvcc.get(17)? & 0x07) + 8;
    yuv(chroma, depth)
}

/// Reads exp-Golomb codes from a bit string.
struct Bits<'a> {
    data: &'a [u8],
    /// The next bit's position.
    at: usize,
}

impl Bits<'_> {
    fn bit(&mut self) -> Option<u32> {
        let byte = self.data.get(self.at / 8)?;
        let bit = (byte >> (7 - self.at % 8)) & 1;
        self.at += 1;
        Some(u32::from(bit))
    }

    /// An unsigned exp-Golomb code.
    fn ue(&mut self) -> Option<u32> {
        let mut zeros = 0;
        while self.bit()? == 0 {
            zeros += 1;
            if zeros > 31 {
                return None;
            }
        }
        let mut value = 0u32;
        for _ in 0..zeros {
            value = (value << 1) | self.bit()?;
        }
        Some((1u32 << zeros) - 1 + value)
    }
}

#[cfg(test)]
mod tests;
