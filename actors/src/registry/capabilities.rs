//! What workers can render with, and whether a job's needs are met, cheaply enough to ask on every submit.
//!
//! A worker announces its services and encoders once, at registration; a job needs a few of them. The registry keeps
//! each worker's set, and for the pool as a whole how many connected workers have each capability, so the usual
//! question at submit ("can any worker render this?") is answered by looking up the job's few needs, not by walking
//! every worker. Only a job some worker cannot render costs a walk, to find one that can or to say what each lacks.

use super::Needs;
use distencode_wire::message::Registration;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Weak};

/// Capabilities are service names, and encoders as `encoder NAME` (a service and an encoder may share a name).
fn encoder_key(name: &str) -> String {
    format!("encoder {name}")
}

/// What a worker announced it can render with, shared by every worker that announced exactly the same: a farm's
/// machines usually run one melt build, and a thousand workers then hold one copy of ~500 names, not a thousand.
#[derive(Debug)]
pub struct Announced {
    pub services: Vec<String>,
    pub video_encoders: Vec<String>,
    pub audio_encoders: Vec<String>,
    /// All of it as capability keys, for quick look-ups.
    pub has: HashSet<String>,
}

/// The distinct [`Announced`] sets of the workers known; each lives as long as some worker holds it.
#[derive(Default)]
pub struct AnnouncedSets {
    known: Vec<Weak<Announced>>,
}

impl AnnouncedSets {
    /// The shared set for what `registration` announces; its lists are moved out of it (or dropped, when an equal
    /// set is already held).
    pub fn share(&mut self, registration: &mut Registration) -> Arc<Announced> {
        let services = std::mem::take(&mut registration.services);
        let video_encoders = std::mem::take(&mut registration.video_encoders);
        let audio_encoders = std::mem::take(&mut registration.audio_encoders);
        self.known.retain(|set| set.strong_count() > 0);
        let equal = self.known.iter().filter_map(Weak::upgrade).find(|set| {
            set.services == services && set.video_encoders == video_encoders && set.audio_encoders == audio_encoders
        });
        if let Some(equal) = equal {
            return equal;
        }
        let has = capability_keys(&services, &video_encoders, &audio_encoders);
        let set = Arc::new(Announced { services, video_encoders, audio_encoders, has });
        self.known.push(Arc::downgrade(&set));
        set
    }

    /// How many distinct sets are held.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.known.iter().filter(|set| set.strong_count() > 0).count()
    }
}

/// Everything a worker announced, as one set of capability keys.
fn capability_keys(services: &[String], video_encoders: &[String], audio_encoders: &[String]) -> HashSet<String> {
    let encoders = video_encoders.iter().chain(audio_encoders);
    services.iter().cloned().chain(encoders.map(|e| encoder_key(e))).collect()
}

impl Needs {
    /// The capability keys a worker must have (an empty or `none` codec needs no encoder).
    pub fn keys(&self) -> Vec<String> {
        let encoders = [&self.video_encoder, &self.audio_encoder]
            .into_iter()
            .filter(|e| !e.is_empty() && e.as_str() != "none")
            .map(|e| encoder_key(e));
        self.services.iter().cloned().chain(encoders).collect()
    }
}

/// Whether a worker with `has` has every one of `keys`.
pub fn has_all(has: &HashSet<String>, keys: &[String]) -> bool {
    keys.iter().all(|key| has.contains(key))
}

/// What of `keys` a worker with `has` lacks, in a readable form (`frei0r.glow`, `encoder libx265`), with the name it
/// has a renamed service under (`frei0r.alpha0ps_alphaspot (it has frei0r.alphaspot, ...)`).
pub fn lacks(has: &HashSet<String>, keys: &[String]) -> Vec<String> {
    keys.iter()
        .filter(|key| !has.contains(*key))
        .map(|key| match distencode_mlt::renames::renamed_note(key, |other| has.contains(other)) {
            Some(note) => format!("{key} ({note})"),
            None => key.clone(),
        })
        .collect()
}

/// How many connected workers have each capability.
#[derive(Default)]
pub struct PoolCapabilities {
    connected: usize,
    counts: HashMap<String, usize>,
}

impl PoolCapabilities {
    /// A worker with `has` connected.
    pub fn add(&mut self, has: &HashSet<String>) {
        self.connected += 1;
        for key in has {
            *self.counts.entry(key.clone()).or_default() += 1;
        }
    }

    /// A worker with `has` is no longer connected.
    pub fn remove(&mut self, has: &HashSet<String>) {
        self.connected = self.connected.saturating_sub(1);
        for key in has {
            if let Some(count) = self.counts.get_mut(key) {
                *count -= 1;
                if *count == 0 {
                    self.counts.remove(key);
                }
            }
        }
    }

    pub fn connected(&self) -> usize {
        self.connected
    }

    /// Whether every connected worker has every one of `keys` (the common case: a uniform farm).
    pub fn all_have(&self, keys: &[String]) -> bool {
        keys.iter().all(|key| self.counts.get(key).copied().unwrap_or(0) == self.connected)
    }

    /// Whether one of `keys` is had by no connected worker: then none can render the job.
    pub fn none_has_one_of(&self, keys: &[String]) -> bool {
        keys.iter().any(|key| !self.counts.contains_key(key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(keys: &[&str]) -> HashSet<String> {
        keys.iter().map(|k| k.to_string()).collect()
    }

    fn keys(keys: &[&str]) -> Vec<String> {
        keys.iter().map(|k| k.to_string()).collect()
    }

    #[test]
    fn needs_name_encoders_apart_from_services_and_skip_none() {
        let needs = Needs {
            services: keys(&["color", "avformat"]),
            video_encoder: "libx264".into(),
            audio_encoder: "none".into(),
        };
        assert_eq!(needs.keys(), keys(&["color", "avformat", "encoder libx264"]));
        let has = capability_keys(&keys(&["color", "libx264"]), &keys(&["libx264"]), &[]);
        assert!(has.contains("libx264") && has.contains("encoder libx264"));
        assert_eq!(lacks(&has, &needs.keys()), keys(&["avformat"]));
        let renamed = set(&["frei0r.alphaspot"]);
        assert_eq!(
            lacks(&renamed, &keys(&["frei0r.alpha0ps_alphaspot"])),
            ["frei0r.alpha0ps_alphaspot (it has frei0r.alphaspot, the same service under its name in another \
              frei0r/MLT version)"]
        );
        assert!(!has_all(&has, &needs.keys()));
    }

    #[test]
    fn workers_announcing_the_same_share_one_set_while_any_holds_it() {
        let announce = |services: &[&str]| Registration {
            services: keys(services),
            video_encoders: keys(&["libx264"]),
            audio_encoders: keys(&["aac"]),
            ..Default::default()
        };
        let mut sets = AnnouncedSets::default();
        let mut first = announce(&["color", "avformat"]);
        let a = sets.share(&mut first);
        assert!(first.services.is_empty() && first.video_encoders.is_empty(), "moved out of the registration");
        assert_eq!(a.services, keys(&["color", "avformat"]));
        assert!(a.has.contains("encoder aac") && a.has.contains("avformat"));
        let b = sets.share(&mut announce(&["color", "avformat"]));
        assert!(Arc::ptr_eq(&a, &b));
        let other = sets.share(&mut announce(&["color"]));
        assert!(!Arc::ptr_eq(&a, &other));
        assert_eq!(sets.len(), 2);
        drop((a, b));
        assert_eq!(sets.len(), 1, "a set no worker holds is let go");
        let again = sets.share(&mut announce(&["color", "avformat"]));
        assert_eq!(again.services, keys(&["color", "avformat"]));
        assert_eq!(sets.len(), 2);
    }

    #[test]
    fn pool_counts_follow_workers_coming_and_going() {
        let (a, b) = (set(&["color", "encoder aac"]), set(&["color"]));
        let mut pool = PoolCapabilities::default();
        pool.add(&a);
        pool.add(&b);
        assert!(pool.all_have(&keys(&["color"])));
        assert!(!pool.all_have(&keys(&["color", "encoder aac"])));
        assert!(!pool.none_has_one_of(&keys(&["encoder aac"])));
        assert!(pool.none_has_one_of(&keys(&["frei0r.glow"])));
        pool.remove(&b);
        assert!(pool.all_have(&keys(&["color", "encoder aac"])));
        pool.remove(&a);
        assert_eq!(pool.connected(), 0);
        assert!(pool.none_has_one_of(&keys(&["color"])));
    }
}
