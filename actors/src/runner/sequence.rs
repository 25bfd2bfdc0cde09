//! Image sequences: an output whose file name holds a frame number (`film-%05d.png`) is one file per frame.
//!
//! melt's avformat consumer hands such a target to ffmpeg's `image2` muxer, which numbers the files from
//! [`FIRST_NUMBER`] (1: `film-00001.png` is the project's first frame; checked with melt 7 and ffmpeg 5 to 7). The
//! render goes into the attempt's private folder like any other ([`super::output_files::Partial`]), is counted
//! and its first and last files probed there, then every file is moved beside the output's name, each marked as
//! this farm's. A failed or cancelled render removes the private folder, so no partial sequence is ever left: the
//! files appear only once all of them were verified, and a move that fails half-way takes back the ones it made.
//!
//! A sequence is recognised by its extension ([`IMAGE_EXTENSIONS`]): such an output must have exactly one
//! `%d` or `%0Nd` in its file name and none in its folder (ffmpeg reads `%` in the whole path).

use super::output_files;
use distencode_wire::job::JobId;
use std::path::{Path, PathBuf};

/// The number of the first file: the project's first frame.
pub const FIRST_NUMBER: u64 = 1;

/// Extensions that make an output an image sequence (lower case).
pub const IMAGE_EXTENSIONS: &[&str] = &["png", "jpg", "jpeg", "tif", "tiff"];

/// The widest frame number a pattern may ask for (`%09d`).
const MAX_WIDTH: usize = 9;

/// A file name with a frame number: `prefix`, the number padded with zeros to `width` digits, `suffix`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    /// What comes before the number.
    prefix: String,
    /// Digits the number is padded to (0: not padded).
    width: usize,
    /// What comes after it, the extension included.
    suffix: String,
}

/// Whether `output` names an image sequence (by its extension).
pub fn is_sequence(output: &Path) -> bool {
    output
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| IMAGE_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
}

impl Pattern {
    /// The pattern of an image sequence output; `None` for any other output. A sequence without a frame number,
    /// with two, or with `%` in its folder is refused in one line.
    pub fn for_output(output: &Path) -> Result<Option<Pattern>, String> {
        if !is_sequence(output) {
            return Ok(None);
        }
        let shown = output.display();
        let needs =
            || format!("{shown}: an image sequence needs one frame number in its file name, such as film-%05d.png");
        if output.parent().is_some_and(|p| p.to_string_lossy().contains('%')) {
            return Err(format!("{shown}: the folder of an image sequence may not hold '%'"));
        }
        let name = output.file_name().and_then(|n| n.to_str()).ok_or_else(needs)?;
        let (prefix, rest) = name.split_once('%').ok_or_else(needs)?;
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        let suffix = rest[digits.len()..].strip_prefix('d').ok_or_else(needs)?;
        if suffix.contains('%') || (!digits.is_empty() && !digits.starts_with('0')) {
            return Err(needs());
        }
        let width: usize = if digits.is_empty() { 0 } else { digits.parse().map_err(|_| needs())? };
        if width > MAX_WIDTH {
            return Err(format!("{shown}: a frame number of at most {MAX_WIDTH} digits (%0{MAX_WIDTH}d)"));
        }
        Ok(Some(Pattern { prefix: prefix.to_string(), width, suffix: suffix.to_string() }))
    }

    /// The file name of frame file `number`.
    pub fn file_name(&self, number: u64) -> String {
        format!("{}{number:0width$}{}", self.prefix, self.suffix, width = self.width)
    }

    /// The number of the file called `name`, if it is one of this sequence's (as ffmpeg writes it).
    pub fn number_of(&self, name: &str) -> Option<u64> {
        let digits = name.strip_prefix(&self.prefix)?.strip_suffix(&self.suffix)?;
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) || digits.len() > 19 {
            return None;
        }
        let number: u64 = digits.parse().ok()?;
        (self.file_name(number) == name).then_some(number)
    }

    /// This sequence's files in `folder`, by number.
    pub fn files_in(&self, folder: &Path) -> std::io::Result<Vec<(u64, PathBuf)>> {
        let mut files: Vec<(u64, PathBuf)> = std::fs::read_dir(folder)?
            .flatten()
            .filter_map(|entry| Some((self.number_of(entry.file_name().to_str()?)?, entry.path())))
            .collect();
        files.sort();
        Ok(files)
    }
}

/// The file that stands for `output`: an image sequence's first file, any other output itself.
pub fn first_file(output: &Path) -> PathBuf {
    match Pattern::for_output(output) {
        Ok(Some(pattern)) => output.with_file_name(pattern.file_name(FIRST_NUMBER)),
        _ => output.to_path_buf(),
    }
}

/// The files of a rendered sequence in `folder`, checked to be exactly frames 1 to `frames`, each a regular file.
pub fn rendered(folder: &Path, pattern: &Pattern, frames: u64) -> Result<Vec<PathBuf>, String> {
    let files = pattern.files_in(folder).map_err(|e| format!("cannot list the rendered files: {e}"))?;
    if files.len() as u64 != frames {
        return Err(format!("the output has {} files, the project has {frames} frames", files.len()));
    }
    for (expected, (number, file)) in (FIRST_NUMBER..).zip(&files) {
        if *number != expected {
            return Err(format!("the output has no file {}", pattern.file_name(expected)));
        }
        let regular = std::fs::symlink_metadata(file).is_ok_and(|m| m.file_type().is_file());
        if !regular {
            return Err(format!("{} is not a regular file: refused", file.display()));
        }
    }
    Ok(files.into_iter().map(|(_, file)| file).collect())
}

/// Moves the verified sequence of `folder` beside `output`, every file marked for `job`. A file of the sequence
/// already there is replaced only if this farm rendered it and `overwrite` or it is `job`'s own; files of an
/// earlier, longer render of the same name are then removed, so that the sequence is exactly this render's.
/// Blocking file access.
pub fn put_in_place(folder: &Path, output: &Path, job: JobId, overwrite: bool, frames: u64) -> Result<(), String> {
    let pattern = Pattern::for_output(output)?.ok_or_else(|| format!("{} is no image sequence", output.display()))?;
    let files = rendered(folder, &pattern, frames)?;
    let target_folder = output.parent().unwrap_or(Path::new("."));
    let replaceable = |target: &Path| output_files::mark_of(target).is_some_and(|m| overwrite || m == job.0);
    let existing =
        pattern.files_in(target_folder).map_err(|e| format!("cannot list {}: {e}", target_folder.display()))?;
    if let Some((_, taken)) = existing.iter().find(|(_, file)| !replaceable(file)) {
        return Err(format!(
            "{} appeared while rendering: it is left alone (submit with --overwrite to replace a sequence this farm \
             rendered)",
            taken.display()
        ));
    }
    let mut placed = Vec::new();
    for file in &files {
        let target = target_folder.join(file.file_name().unwrap_or_default());
        let moved = output_files::mark(file, job)
            .map_err(|e| format!("cannot mark {} as this farm's: {e}", file.display()))
            .and_then(|()| output_files::place(file, &target, replaceable(&target)));
        if let Err(reason) = moved {
            // Take back what was moved: no partial sequence stays.
            for done in &placed {
                let _ = std::fs::remove_file(done);
            }
            return Err(reason);
        }
        placed.push(target);
    }
    for (number, stale) in existing {
        if number >= FIRST_NUMBER + frames {
            let _ = std::fs::remove_file(stale);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pattern(name: &str) -> Result<Option<Pattern>, String> {
        Pattern::for_output(&Path::new("/r").join(name))
    }

    #[test]
    fn a_sequence_names_its_frame_number_once() {
        let p = pattern("film-%05d.png").unwrap().unwrap();
        assert_eq!((p.file_name(1), p.file_name(123456)), ("film-00001.png".into(), "film-123456.png".into()));
        assert_eq!((p.number_of("film-00042.png"), p.number_of("film-0042.png")), (Some(42), None));
        assert_eq!((p.number_of("film-00042.png.log"), p.number_of("film-.png")), (None, None));
        let plain = pattern("f%d.TIF").unwrap().unwrap();
        assert_eq!((plain.file_name(7), plain.number_of("f07.TIF")), ("f7.TIF".into(), None));
        assert_eq!(pattern("film.mp4"), Ok(None), "not an image extension");
        assert_eq!(pattern("50%.mp4"), Ok(None));
        let needs = "/r/film.png: an image sequence needs one frame number in its file name, such as film-%05d.png";
        assert_eq!(pattern("film.png").unwrap_err(), needs);
        for bad in ["f%05d-%05d.png", "f%s.png", "f%5d.png", "f%05x.png"] {
            assert!(pattern(bad).unwrap_err().contains("needs one frame number"), "{bad}");
        }
        assert!(pattern("f%012d.png").unwrap_err().contains("at most 9 digits"));
        let folder = Pattern::for_output(Path::new("/r/100%/f%05d.png")).unwrap_err();
        assert_eq!(folder, "/r/100%/f%05d.png: the folder of an image sequence may not hold '%'");
        assert_eq!(first_file(Path::new("/r/f-%03d.jpg")), Path::new("/r/f-001.jpg"));
        assert_eq!(first_file(Path::new("/r/f.mov")), Path::new("/r/f.mov"));
    }

    fn write(folder: &Path, names: &[&str]) {
        for name in names {
            std::fs::write(folder.join(name), name).unwrap();
        }
    }

    #[test]
    fn a_rendered_sequence_is_exactly_its_frames_and_moves_in_whole_or_not_at_all() {
        let (render, target) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let output = target.path().join("f-%02d.png");
        let pattern = Pattern::for_output(&output).unwrap().unwrap();
        write(render.path(), &["f-01.png", "f-02.png", "f-04.png", "f-%02d.png.log"]);
        assert_eq!(
            rendered(render.path(), &pattern, 4).unwrap_err(),
            "the output has 3 files, the project has 4 frames"
        );
        assert_eq!(rendered(render.path(), &pattern, 3).unwrap_err(), "the output has no file f-03.png");
        write(render.path(), &["f-03.png"]);
        // Someone's own file of that name stays, and nothing of the render is moved.
        write(target.path(), &["f-02.png"]);
        let refused = put_in_place(render.path(), &output, JobId(5), true, 4).unwrap_err();
        assert!(refused.contains("f-02.png appeared while rendering"), "{refused}");
        assert_eq!(Pattern::for_output(&output).unwrap().unwrap().files_in(target.path()).unwrap().len(), 1);
        // An earlier, longer render of this farm is replaced, its extra files removed.
        output_files::mark(&target.path().join("f-02.png"), JobId(5)).unwrap();
        write(target.path(), &["f-09.png"]);
        output_files::mark(&target.path().join("f-09.png"), JobId(5)).unwrap();
        put_in_place(render.path(), &output, JobId(5), false, 4).unwrap();
        let placed: Vec<u64> = pattern.files_in(target.path()).unwrap().into_iter().map(|(n, _)| n).collect();
        assert_eq!(placed, [1, 2, 3, 4]);
        assert_eq!(output_files::mark_of(&target.path().join("f-03.png")), Some(5));
        assert_eq!(std::fs::read_to_string(target.path().join("f-02.png")).unwrap(), "f-02.png");
    }
}
