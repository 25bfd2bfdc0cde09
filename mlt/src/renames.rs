//! Services that MLT or frei0r renamed between versions. A project saved with frei0r 2.x names
//! `frei0r.alpha0ps_alphaspot`, which a worker with frei0r 1.8 calls `frei0r.alphaspot`: the refusal says so, so
//! that the user knows the worker has the filter, under its other name, and can fix the project or the worker.

/// Pairs of names for one service in different versions (either may be the newer).
pub const RENAMED: &[(&str, &str)] = &[
    // frei0r 2.x builds the alpha0ps collection as one plugin family with prefixed names.
    ("frei0r.alpha0ps_alpha0ps", "frei0r.alpha0ps"),
    ("frei0r.alpha0ps_alphagrad", "frei0r.alphagrad"),
    ("frei0r.alpha0ps_alphaspot", "frei0r.alphaspot"),
];

/// The other names `service` has had.
pub fn other_names(service: &str) -> impl Iterator<Item = &'static str> + '_ {
    RENAMED.iter().filter_map(move |&(a, b)| {
        if a == service {
            Some(b)
        } else if b == service {
            Some(a)
        } else {
            None
        }
    })
}

/// The note for a missing `service` that `has` provides under another name, if it does.
pub fn renamed_note(service: &str, has: impl Fn(&str) -> bool) -> Option<String> {
    other_names(service)
        .find(|other| has(other))
        .map(|other| format!("it has {other}, the same service under its name in another frei0r/MLT version"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_go_both_ways() {
        assert_eq!(other_names("frei0r.alpha0ps_alphaspot").collect::<Vec<_>>(), ["frei0r.alphaspot"]);
        assert_eq!(other_names("frei0r.alphaspot").collect::<Vec<_>>(), ["frei0r.alpha0ps_alphaspot"]);
        assert_eq!(other_names("frei0r.glow").count(), 0);
        assert_eq!(
            renamed_note("frei0r.alpha0ps_alphaspot", |s| s == "frei0r.alphaspot").as_deref(),
            Some("it has frei0r.alphaspot, the same service under its name in another frei0r/MLT version")
        );
        assert_eq!(renamed_note("frei0r.alpha0ps_alphaspot", |_| false), None);
    }
}
