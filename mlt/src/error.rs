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
    #[error("{}: not an MLT project: the root element is <{root}>, expected <mlt>", path.display())]
    NotMlt { path: PathBuf, root: String },
    #[error("{}: refused: the document has a DOCTYPE, and DTDs are not allowed", .0.display())]
    DtdRefused(PathBuf),
    #[error("{}: invalid MLT project: {}", .0.display(), .1)]
    Invalid(PathBuf, String),
    #[error("melt: {0}")]
    Melt(String),
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
            ProjectError::DtdRefused(p()),
            ProjectError::Invalid(p(), "playlist \"p\" renders no frames".into()),
        ];
        for e in &all {
            let s = e.to_string();
            assert!(s.starts_with("/x/p.mlt: "), "{s}");
            assert!(!s.contains('\n'), "{s}");
        }
        assert_eq!(all[4].to_string(), "/x/p.mlt: not an MLT project: the root element is <html>, expected <mlt>");
        assert_eq!(all[3].to_string(), "/x/p.mlt: not XML: unexpected end of stream at 3:1");
        assert_eq!(ProjectError::Melt("x".into()).to_string(), "melt: x");
    }
}
