//! Path mapping: one shared folder mounted under different paths on different machines (`D:\Projects` on an
//! editor's Windows machine, `/Volumes/Projects` on a Mac, `/mnt/projects` on the Linux workers).
//!
//! The coordinator picks the rules that apply to a worker and sends them with each offer; the worker maps the
//! project's path, every reference inside it, and the output before it checks anything. A rule's `from` matches
//! whole path components only, with `\` and `/` taken alike; a `from` written the Windows way (a drive letter or a
//! `\\server\share`) matches without regard to case, as Windows does. The longest matching `from` wins.

use serde::{Deserialize, Serialize};

/// Most rules a coordinator may have, and a worker accept in one offer.
pub const MAX_PATH_RULES: usize = 256;
/// Longest `from` or `to`, in bytes.
pub const MAX_RULE_PATH_BYTES: usize = 4096;

/// One rule: a prefix as clients write it, and the same folder as the workers the rule applies to see it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PathRule {
    pub from: String,
    pub to: String,
}

impl PathRule {
    /// Checks a rule as a configuration gives it: both sides set and short enough, `to` an absolute path.
    pub fn check(&self) -> Result<(), String> {
        for (side, text) in [("from", &self.from), ("to", &self.to)] {
            if text.trim().is_empty() {
                return Err(format!("{side} is empty"));
            }
            if text.len() > MAX_RULE_PATH_BYTES {
                return Err(format!("{side} is longer than {MAX_RULE_PATH_BYTES} bytes"));
            }
            if text.chars().any(char::is_control) {
                return Err(format!("{side} {text:?} holds a control character"));
            }
        }
        if !is_absolute(&self.from) {
            return Err(format!("from {:?} is not an absolute path", self.from));
        }
        if !is_absolute(&self.to) {
            return Err(format!("to {:?} is not an absolute path", self.to));
        }
        Ok(())
    }

    /// `path` with this rule's `from` replaced by its `to`, if `from` is a whole-component prefix of it.
    fn apply(&self, path: &str) -> Option<(usize, String)> {
        let from = normalise(&self.from);
        let from = from.trim_end_matches('/');
        let text = normalise(path);
        let head = text.get(..from.len())?;
        let matches = if is_windows_form(&self.from) { head.eq_ignore_ascii_case(from) } else { head == from };
        let rest = &text[from.len()..];
        if !matches || !(rest.is_empty() || rest.starts_with('/') || from.is_empty()) {
            return None;
        }
        let to = self.to.trim_end_matches(['/', '\\']);
        let rest = rest.trim_start_matches('/');
        let mapped = if rest.is_empty() {
            if to.is_empty() {
                "/".to_string()
            } else {
                to.to_string()
            }
        } else {
            format!("{to}/{rest}")
        };
        Some((from.len(), mapped))
    }
}

/// `path` mapped by the longest matching rule, or `None` when no rule matches it.
pub fn map(rules: &[PathRule], path: &str) -> Option<String> {
    rules.iter().filter_map(|rule| rule.apply(path)).max_by_key(|(len, _)| *len).map(|(_, mapped)| mapped)
}

/// The rules as a refusal lists them: `D:\Projects → /mnt/projects, /Volumes/Projects → /mnt/projects`, or a
/// sentence saying there are none.
pub fn table(rules: &[PathRule]) -> String {
    if rules.is_empty() {
        return "no path rule applies to this worker".into();
    }
    let each: Vec<String> = rules.iter().map(|r| format!("{} → {}", r.from, r.to)).collect();
    format!("the path rules for this worker: {}", each.join(", "))
}

/// Whether `path` is written the Windows way: `C:\…`, `C:/…` or `\\server\share\…`.
pub fn is_windows_form(path: &str) -> bool {
    let b = path.as_bytes();
    let drive =
        b.len() >= 2 && b[0].is_ascii_alphabetic() && b[1] == b':' && (b.len() == 2 || matches!(b[2], b'/' | b'\\'));
    drive || path.starts_with("\\\\")
}

/// Whether `path` is absolute here or on Windows.
pub fn is_absolute(path: &str) -> bool {
    path.starts_with('/') || is_windows_form(path)
}

/// Whether this machine cannot open `path` as written: a Windows path on a machine that is not Windows.
pub fn is_foreign(path: &str) -> bool {
    cfg!(not(windows)) && is_windows_form(path)
}

/// `path` with every `\` as `/`.
fn normalise(path: &str) -> String {
    path.replace('\\', "/")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(from: &str, to: &str) -> PathRule {
        PathRule { from: from.into(), to: to.into() }
    }

    #[test]
    fn windows_paths_map_whatever_their_separators_and_case() {
        let rules = [rule("D:\\Projects", "/mnt/projects")];
        assert_eq!(map(&rules, "D:\\Projects\\film\\a b.mp4").as_deref(), Some("/mnt/projects/film/a b.mp4"));
        assert_eq!(map(&rules, "d:/projects/film/ä.mp4").as_deref(), Some("/mnt/projects/film/ä.mp4"));
        assert_eq!(map(&rules, "D:\\Projects").as_deref(), Some("/mnt/projects"));
        assert_eq!(map(&rules, "D:\\ProjectsOld\\a.mp4"), None, "a whole component only");
        assert_eq!(map(&rules, "E:\\Projects\\a.mp4"), None);
    }

    #[test]
    fn unix_rules_match_case_and_whole_components() {
        let rules = [rule("/Volumes/Projects/", "/mnt/projects/")];
        assert_eq!(map(&rules, "/Volumes/Projects/a.mp4").as_deref(), Some("/mnt/projects/a.mp4"));
        assert_eq!(map(&rules, "/volumes/projects/a.mp4"), None);
        assert_eq!(map(&rules, "/Volumes/Projects2/a.mp4"), None);
    }

    #[test]
    fn the_longest_rule_wins_and_unc_paths_map() {
        let rules = [rule("\\\\nas\\media", "/mnt/media"), rule("\\\\nas\\media\\archive", "/mnt/archive")];
        assert_eq!(map(&rules, "\\\\NAS\\Media\\archive\\x.mov").as_deref(), Some("/mnt/archive/x.mov"));
        assert_eq!(map(&rules, "\\\\nas\\media\\new\\x.mov").as_deref(), Some("/mnt/media/new/x.mov"));
    }

    #[test]
    fn rules_are_checked() {
        assert!(rule("D:\\Projects", "/mnt/projects").check().is_ok());
        assert_eq!(rule("Projects", "/mnt").check().unwrap_err(), "from \"Projects\" is not an absolute path");
        assert_eq!(rule("/a", "").check().unwrap_err(), "to is empty");
        assert_eq!(rule("/a", "mnt").check().unwrap_err(), "to \"mnt\" is not an absolute path");
        assert!(rule("/a\n", "/b").check().unwrap_err().contains("control character"));
    }

    #[test]
    fn the_table_names_every_rule() {
        assert_eq!(table(&[]), "no path rule applies to this worker");
        assert_eq!(
            table(&[rule("D:\\Projects", "/mnt/projects"), rule("/Volumes/P", "/mnt/p")]),
            "the path rules for this worker: D:\\Projects → /mnt/projects, /Volumes/P → /mnt/p"
        );
    }

    #[test]
    fn foreign_paths_are_windows_ones_here() {
        assert!(is_foreign("C:\\x.mp4") && is_foreign("\\\\nas\\x") && is_foreign("c:/x"));
        assert!(!is_foreign("/x.mp4") && !is_foreign("media/x.mp4") && !is_foreign("ab:/x"));
    }
}
