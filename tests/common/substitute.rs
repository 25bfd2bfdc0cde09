//! Substitute media for real projects: every file a project names that is not there is made with ffmpeg's lavfi
//! sources, by its extension, at the path the project expects. Deterministic and bit-exact (`+bitexact` on the
//! container and both codecs, no random sources), so two runs make the same bytes and renders can be compared by
//! md5.

use super::projects::ffmpeg;
use std::path::Path;

/// ffmpeg's flags for bit-exact output.
const BITEXACT: &[&str] = &["-fflags", "+bitexact", "-flags:v", "+bitexact", "-flags:a", "+bitexact"];
/// Seconds of substitute video and audio: longer than any clip the short corpus projects use.
const SECONDS: &str = "10";

/// Makes every missing file `project` references; returns the paths made.
pub fn make_for(project: &Path) -> Vec<std::path::PathBuf> {
    let Ok(parsed) = distencode_mlt::read_project(project) else {
        return Vec::new();
    };
    let mut made = Vec::new();
    for reference in parsed.references.iter().filter(|r| !r.folder && !r.path.exists()) {
        if let Some(parent) = reference.path.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        if make(&reference.path) {
            made.push(reference.path.clone());
        }
    }
    made
}

/// Makes one file by its extension; false for a kind it does not know (left missing, so the check names it).
fn make(path: &Path) -> bool {
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or_default().to_ascii_lowercase();
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    let args: Vec<String> = match ext.as_str() {
        "ogg" | "oga" | "wav" | "mp3" | "flac" => {
            let codec = match ext.as_str() {
                "ogg" | "oga" => "libvorbis",
                "mp3" => "libmp3lame",
                "flac" => "flac",
                _ => "pcm_s16le",
            };
            let channels = if name.contains("mono") { "1" } else { "2" };
            let audio = format!("sine=frequency={}:sample_rate=48000:duration={SECONDS}", frequency(name));
            strings(&["-f", "lavfi", "-i", &audio, "-ac", channels, "-c:a", codec])
        }
        "png" | "jpg" | "jpeg" => {
            strings(&["-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=1", "-frames:v", "1", "-update", "1"])
        }
        "mp4" | "mkv" | "mov" | "m4v" | "avi" => {
            let video = format!("testsrc2=size=640x360:rate=30:duration={SECONDS}");
            let audio = format!("sine=frequency=330:sample_rate=48000:duration={SECONDS}");
            let mut args = strings(&["-f", "lavfi", "-i", &video, "-f", "lavfi", "-i", &audio]);
            args.extend(strings(&["-c:v", "libx264", "-preset", "ultrafast", "-threads", "1", "-pix_fmt", "yuv420p"]));
            args.extend(strings(&["-c:a", "aac", "-shortest"]));
            args
        }
        _ => return false,
    };
    let mut all = args;
    all.extend(strings(BITEXACT));
    ffmpeg(&all.iter().map(String::as_str).collect::<Vec<_>>(), path);
    true
}

/// The tone a file's name asks for (`mono-440hz.ogg`), else 440 Hz.
fn frequency(name: &str) -> u32 {
    name.split(|c: char| !c.is_ascii_alphanumeric())
        .find_map(|part| part.strip_suffix("hz")?.parse().ok())
        .unwrap_or(440)
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|a| a.to_string()).collect()
}
