//! What workers can render with, and whether a job's needs are met, cheaply enough to ask on every submit.
//!
//! A worker announces its services and encoders once, at registration; a job needs a few of them. The registry keeps
//! each worker's set, and for the pool as a whole how many connected workers have each capability, so the usual
//! question at submit ("can any worker render this?") is answered by looking up the job's few needs, not by walking
//! every worker. Only a job some worker cannot render costs a walk, to find one that can or to say what each lacks.

use super::Needs;
use distencode_wire::message::Registration;
use std::collections::{HashMap, HashSet};

/// Capabilities are service names, and encoders as `encoder NAME` (a service and an encoder may share a name).
fn encoder_key(name: &str) -> String {
    format!("encoder {name}")
}

/// Everything a registration says the worker has, as one set of capability keys.
pub fn capabilities(registration: &Registration) -> HashSet<String> {
    let encoders = registration.video_encoders.iter().chain(&registration.audio_encoders);
    registration.services.iter().cloned().chain(encoders.map(|e| encoder_key(e))).collect()
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

/// What of `keys` a worker with `has` lacks, in a readable form (`frei0r.glow`, `encoder libx265`).
pub fn lacks(has: &HashSet<String>, keys: &[String]) -> Vec<String> {
    keys.iter().filter(|key| !has.contains(*key)).cloned().collect()
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
        let registration = Registration {
            services: keys(&["color", "libx264"]),
            video_encoders: keys(&["libx264"]),
            ..Default::default()
        };
        let has = capabilities(&registration);
        assert!(has.contains("libx264") && has.contains("encoder libx264"));
        assert_eq!(lacks(&has, &needs.keys()), keys(&["avformat"]));
        assert!(!has_all(&has, &needs.keys()));
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
