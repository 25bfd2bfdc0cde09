//! Why a project file could not be read as an MLT project, in one line that
//! names the file and the cause, because these messages are shown to users.

use std::path::PathBuf;

use thiserror::Error;

#[derive(Debug, Error)]
pub enum ProjectError {
    #[error("{}: project file not found", .0.display())]
    NotFound(PathBuf),
    #[error("{}: project file is {size} bytes, more than the {limit}-byte limit", path.display())]
    TooLarge { path: PathBuf, size: u64, limit: u64 },
    #[error("{}: cannot read: {}", .0.display(), .1)]
    Unreadable(PathBuf, #[source] std::io::Error),
    #[error("{}: not XML: {}", .0.display(), .1)]
    NotXml(PathBuf, String),
    #[error("{}: not an MLT project: the root element is <{root}>, expected <mlt>{}", path.display(), root_hint(root))]
    NotMlt { path: PathBuf, root: String },
    /// A DOCTYPE that does more than declare plain entities, or whose entities expand past the caps.
    #[error("{}: refused DOCTYPE: {}", .0.display(), .1)]
    DtdRefused(PathBuf, String),
    #[error("{}: invalid MLT project: {}", .0.display(), .1)]
    Invalid(PathBuf, String),
    #[error("melt: {0}")]
    Melt(String),
}

/// What to do about a root element that is an MLT element, only not `<mlt>`.
fn root_hint(root: &str) -> &'static str {
    match root {
        "playlist" | "tractor" | "multitrack" | "producer" | "chain" => {
            " (melt renders a single black frame from a bare <playlist> or <tractor>; the project's root must be \
             <mlt> holding the <profile>, the producers and the timeline, as Kdenlive and Shotcut save it)"
        }
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_one_line_and_name_the_file() {
        let p = || PathBuf::from("/x/p.mlt");
        let all = [
            ProjectError::NotFound(p()),
            ProjectError::TooLarge { path: p(), size: 40_000_000, limit: 33_554_432 },
            ProjectError::Unreadable(p(), std::io::Error::from(std::io::ErrorKind::PermissionDenied)),
            ProjectError::NotXml(p(), "unexpected end of stream at 3:1".into()),
            ProjectError::NotMlt { path: p(), root: "html".into() },
            ProjectError::DtdRefused(p(), "entity \"x\" is external (it would read another file)".into()),
            ProjectError::Invalid(p(), "playlist \"p\" renders no frames".into()),
        ];
        for e in &all {
            let s = e.to_string();
            assert!(s.starts_with("/x/p.mlt: "), "{s}");
            assert!(!s.contains('\n'), "{s}");
        }
        assert_eq!(all[4].to_string(), "/x/p.mlt: not an MLT project: the root element is <html>, expected <mlt>");
        assert_eq!(all[3].to_string(), "/x/p.mlt: not XML: unexpected end of stream at 3:1");
        let playlist = ProjectError::NotMlt { path: p(), root: "playlist".into() };
        assert_eq!(
            playlist.to_string(),
            "/x/p.mlt: not an MLT project: the root element is <playlist>, expected <mlt> (melt renders a single \
             black frame from a bare <playlist> or <tractor>; the project's root must be <mlt> holding the \
             <profile>, the producers and the timeline, as Kdenlive and Shotcut save it)"
        );
        assert_eq!(ProjectError::Melt("x".into()).to_string(), "melt: x");
    }
}
