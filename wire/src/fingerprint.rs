//! A worker's render stack in four words: its melt, ffmpeg and frei0r versions and a hash of its font list.
//!
//! Two workers with the same fingerprint render a project the same way; `worker list` marks the ones that differ
//! from the rest, and `job submit --like W` keeps a job on workers with W's stack, so a re-render matches an earlier
//! one. The hash is FNV-1a: the same on every machine and release, so fingerprints compare across the farm.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The most bytes of each part a worker may announce (a version line, a hash): longer ones are cut on arrival.
pub const MAX_FINGERPRINT_PART: usize = 128;

/// What a worker renders with, as it announces it at registration. An empty part means the worker could not tell.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Fingerprint {
    /// `melt --version`'s version, e.g. `7.12.0`.
    pub melt: String,
    /// `ffmpeg -version`'s version, e.g. `5.1.6-0+deb12u1`.
    pub ffmpeg: String,
    /// The frei0r-plugins package's version, e.g. `1.8.0-1+b1`.
    pub frei0r: String,
    /// fontconfig's font list (family and style), sorted, hashed: 16 hex digits.
    pub fonts: String,
}

impl Fingerprint {
    /// Eight hex digits standing for all four parts, for a table column.
    pub fn short(&self) -> String {
        let text = format!("{}\n{}\n{}\n{}", self.melt, self.ffmpeg, self.frei0r, self.fonts);
        format!("{:08x}", fnv1a(text.as_bytes()) >> 32)
    }

    /// Each part cut to [`MAX_FINGERPRINT_PART`] bytes (at a character boundary).
    pub fn capped(mut self) -> Self {
        for part in [&mut self.melt, &mut self.ffmpeg, &mut self.frei0r, &mut self.fonts] {
            if part.len() > MAX_FINGERPRINT_PART {
                let mut at = MAX_FINGERPRINT_PART;
                while !part.is_char_boundary(at) {
                    at -= 1;
                }
                part.truncate(at);
            }
        }
        self
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let or_unknown = |part: &str| if part.is_empty() { "unknown".to_string() } else { part.to_string() };
        write!(
            f,
            "melt {}, ffmpeg {}, frei0r {}, fonts {}",
            or_unknown(&self.melt),
            or_unknown(&self.ffmpeg),
            or_unknown(&self.frei0r),
            or_unknown(&self.fonts)
        )
    }
}

/// The render stack most workers share: the most common non-empty one, if exactly one is the most common (with
/// two equal camps there is no majority to differ from).
pub fn majority<'a>(stacks: impl IntoIterator<Item = &'a Fingerprint>) -> Option<&'a Fingerprint> {
    let mut counts: Vec<(&Fingerprint, usize)> = Vec::new();
    for stack in stacks.into_iter().filter(|s| **s != Fingerprint::default()) {
        match counts.iter_mut().find(|(known, _)| *known == stack) {
            Some((_, count)) => *count += 1,
            None => counts.push((stack, 1)),
        }
    }
    let most = counts.iter().map(|(_, count)| *count).max()?;
    let mut top = counts.iter().filter(|(_, count)| *count == most);
    match (top.next(), top.next()) {
        (Some((stack, _)), None) => Some(stack),
        _ => None,
    }
}

impl Fingerprint {
    /// Whether the worker announced a stack at all (one of an older version announces none).
    pub fn is_known(&self) -> bool {
        *self != Fingerprint::default()
    }

    /// How this stack differs from `usual`, the one most workers share (see [`majority`]), as `worker list` and the
    /// web show it: `None` when it is the usual one, when there is none, or when this one is not known.
    pub fn unusual<'a>(&self, usual: Option<&'a Fingerprint>) -> Option<&'a Fingerprint> {
        usual.filter(|usual| self.is_known() && **usual != *self)
    }

    /// The parts where `self` differs from `other`, each as `PART THIS (OTHER)`: `fonts 0aa1… (00ff…)`.
    pub fn differences(&self, other: &Fingerprint) -> Vec<String> {
        let parts = [
            ("melt", &self.melt, &other.melt),
            ("ffmpeg", &self.ffmpeg, &other.ffmpeg),
            ("frei0r", &self.frei0r, &other.frei0r),
            ("fonts", &self.fonts, &other.fonts),
        ];
        let or_unknown = |part: &str| if part.is_empty() { "unknown".to_string() } else { part.to_string() };
        parts
            .into_iter()
            .filter(|(_, mine, theirs)| mine != theirs)
            .map(|(name, mine, theirs)| format!("{name} {} (most: {})", or_unknown(mine), or_unknown(theirs)))
            .collect()
    }
}

/// 64-bit FNV-1a of `bytes`.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in bytes {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_known_stack_other_than_the_usual_one_is_unusual() {
        let usual = Fingerprint { melt: "7.12.0".into(), ..Fingerprint::default() };
        let other = Fingerprint { melt: "7.22.0".into(), ..Fingerprint::default() };
        assert_eq!(other.unusual(Some(&usual)), Some(&usual));
        assert_eq!(usual.unusual(Some(&usual)), None);
        assert_eq!(Fingerprint::default().unusual(Some(&usual)), None, "a worker that announced none");
        assert_eq!(other.unusual(None), None, "no usual stack to differ from");
    }

    fn stack(fonts: &str) -> Fingerprint {
        Fingerprint { melt: "7.12.0".into(), ffmpeg: "5.1.6".into(), frei0r: "1.8.0".into(), fonts: fonts.into() }
    }

    #[test]
    fn short_form_is_stable_and_tells_stacks_apart() {
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(stack("00ff").short(), stack("00ff").short());
        assert_ne!(stack("00ff").short(), stack("00fe").short());
        assert_eq!(stack("00ff").short().len(), 8);
        assert_eq!(Fingerprint::default().to_string(), "melt unknown, ffmpeg unknown, frei0r unknown, fonts unknown");
    }

    #[test]
    fn the_majority_is_the_one_most_common_stack() {
        let (a, b) = (stack("00ff"), stack("0aaa"));
        assert_eq!(majority([&a, &b, &a]), Some(&a));
        assert_eq!(majority([&a, &b]), None, "two equal camps: no majority");
        assert_eq!(majority([&a, &Fingerprint::default(), &Fingerprint::default()]), Some(&a));
        assert_eq!(majority([]), None);
        assert_eq!(b.differences(&a), ["fonts 0aaa (most: 00ff)"]);
        assert!(a.differences(&a).is_empty());
    }

    #[test]
    fn long_parts_are_cut_at_a_character() {
        let long = Fingerprint { melt: "é".repeat(100), ..stack("1") }.capped();
        assert!(long.melt.len() <= MAX_FINGERPRINT_PART && long.melt.chars().all(|c| c == 'é'));
        assert_eq!(stack("1").capped(), stack("1"));
    }
}
