//! The MLT services a project uses and the set a given melt provides, because
//! melt does not fail on an unknown service either: it logs `failed to load`
//! and renders without the filter (or with a placeholder producer).
//!
//! Used: the `mlt_service` of producers, chains, links, filters, transitions
//! and consumers. Not counted: producers without `mlt_service` (melt's
//! `loader` picks one from the file), the services MLT's XML loader provides
//! itself ([`LOADER_RESOLVED`]), and filters or transitions with `disable=1`
//! (skipped while rendering, so a missing one changes nothing).
//!
//! Provided: the lists of `melt -query producers|filters|transitions|
//! consumers|links`. melt 7.12 has no `links` query (it prints every other
//! list instead); its only link is `timeremap` (the only `link_*_init` in its
//! modules), which is then assumed ([`LINKS_WHEN_UNLISTED`]).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;

use roxmltree::Node;
use serde::{Deserialize, Serialize};

use super::clock::c_strtol;
use super::doc::{prop, service, Doc};

/// Names never reported missing: MLT's XML loader resolves them itself.
pub const LOADER_RESOLVED: &[&str] =
    &["loader", "loader-nogl", "xml", "xml-string", "xml-nogl", "xml-clip", "tractor", "playlist", "multitrack"];

/// Links assumed when melt cannot list them (melt 7.12 and older).
pub const LINKS_WHEN_UNLISTED: &[&str] = &["timeremap"];

/// The kinds of service melt can list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ServiceKind {
    Producer,
    Filter,
    Transition,
    Consumer,
    Link,
}

impl ServiceKind {
    pub const ALL: [ServiceKind; 5] =
        [ServiceKind::Producer, ServiceKind::Filter, ServiceKind::Transition, ServiceKind::Consumer, ServiceKind::Link];

    /// The argument of `melt -query`, which is also the heading of its list.
    pub fn query_name(self) -> &'static str {
        match self {
            ServiceKind::Producer => "producers",
            ServiceKind::Filter => "filters",
            ServiceKind::Transition => "transitions",
            ServiceKind::Consumer => "consumers",
            ServiceKind::Link => "links",
        }
    }

    fn of_element(tag: &str) -> Option<ServiceKind> {
        Some(match tag {
            "producer" | "chain" => ServiceKind::Producer,
            "filter" => ServiceKind::Filter,
            "transition" => ServiceKind::Transition,
            "consumer" => ServiceKind::Consumer,
            "link" => ServiceKind::Link,
            _ => return None,
        })
    }
}

impl fmt::Display for ServiceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.query_name().trim_end_matches('s'))
    }
}

/// The services one melt installation provides.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceSet {
    pub producers: BTreeSet<String>,
    pub filters: BTreeSet<String>,
    pub transitions: BTreeSet<String>,
    pub consumers: BTreeSet<String>,
    pub links: BTreeSet<String>,
    /// False when this melt could not list its links.
    pub links_listed: bool,
}

impl ServiceSet {
    pub fn new() -> Self {
        Self::default()
    }

    /// A set holding the list found in the output of `melt -query <kind>s`.
    pub fn from_query_output(kind: ServiceKind, output: &str) -> Self {
        let mut set = Self::new();
        set.add_query_output(kind, output);
        set
    }

    /// Adds the `kind` list from `melt -query` output (YAML: a `producers:`
    /// heading then `  - name` lines). Returns whether the list was there.
    pub fn add_query_output(&mut self, kind: ServiceKind, output: &str) -> bool {
        let heading = format!("{}:", kind.query_name());
        let mut found = false;
        let mut inside = false;
        for line in output.lines() {
            let trimmed = line.trim();
            if let Some(name) = trimmed.strip_prefix("- ") {
                let name = name.trim().trim_matches(|c| c == '"' || c == '\'');
                if inside && !name.is_empty() {
                    self.insert(kind, name);
                }
            } else if !line.starts_with([' ', '\t']) {
                // a heading, or YAML's `---` / `...`
                inside = trimmed == heading;
                found |= inside;
            }
        }
        if kind == ServiceKind::Link {
            self.links_listed |= found;
            if !self.links_listed {
                for name in LINKS_WHEN_UNLISTED {
                    self.links.insert((*name).to_string());
                }
            }
        }
        found
    }

    pub fn insert(&mut self, kind: ServiceKind, name: &str) {
        self.kind_mut(kind).insert(name.to_string());
    }

    fn kind_set(&self, kind: ServiceKind) -> &BTreeSet<String> {
        match kind {
            ServiceKind::Producer => &self.producers,
            ServiceKind::Filter => &self.filters,
            ServiceKind::Transition => &self.transitions,
            ServiceKind::Consumer => &self.consumers,
            ServiceKind::Link => &self.links,
        }
    }

    fn kind_mut(&mut self, kind: ServiceKind) -> &mut BTreeSet<String> {
        match kind {
            ServiceKind::Producer => &mut self.producers,
            ServiceKind::Filter => &mut self.filters,
            ServiceKind::Transition => &mut self.transitions,
            ServiceKind::Consumer => &mut self.consumers,
            ServiceKind::Link => &mut self.links,
        }
    }

    /// Whether melt provides `name` as any kind of service (or resolves it itself).
    pub fn contains(&self, name: &str) -> bool {
        LOADER_RESOLVED.contains(&name) || ServiceKind::ALL.iter().any(|k| self.kind_set(*k).contains(name))
    }

    /// Whether melt provides `name` as a service of this kind.
    pub fn contains_kind(&self, kind: ServiceKind, name: &str) -> bool {
        LOADER_RESOLVED.contains(&name) || self.kind_set(kind).contains(name)
    }

    /// Every name, over all kinds, sorted and without repeats.
    pub fn names(&self) -> Vec<String> {
        let all: BTreeSet<&String> = ServiceKind::ALL.iter().flat_map(|k| self.kind_set(*k)).collect();
        all.into_iter().cloned().collect()
    }

    /// Number of services listed, over all kinds.
    pub fn len(&self) -> usize {
        ServiceKind::ALL.iter().map(|k| self.kind_set(*k).len()).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The services the document uses, by kind.
pub fn used(doc: &Doc<'_, '_>) -> BTreeMap<ServiceKind, BTreeSet<String>> {
    let mut used: BTreeMap<ServiceKind, BTreeSet<String>> = BTreeMap::new();
    for node in doc.mlt.descendants().filter(Node::is_element) {
        let Some(kind) = ServiceKind::of_element(node.tag_name().name()) else {
            continue;
        };
        let Some(name) = service(node) else { continue };
        if LOADER_RESOLVED.contains(&name.as_str()) || disabled(node) {
            continue;
        }
        used.entry(kind).or_default().insert(name);
    }
    used
}

/// Most places named for one filter service in a refusal; more are counted.
pub const MAX_PLACES_NAMED: usize = 3;

/// Where each (enabled) filter service sits: `filter "filter3" on chain "chain0" (in playlist "playlist1")`.
pub fn filter_places(doc: &Doc<'_, '_>) -> BTreeMap<String, Vec<String>> {
    let mut places: BTreeMap<String, Vec<String>> = BTreeMap::new();
    // The first playlist placing each clip, looked up once rather than once per filter.
    let mut track_of: HashMap<&str, Node<'_, '_>> = HashMap::new();
    for playlist in doc.mlt.descendants().filter(|n| n.tag_name().name() == "playlist") {
        for entry in playlist.children().filter(|e| e.tag_name().name() == "entry") {
            if let Some(id) = entry.attribute("producer") {
                track_of.entry(id).or_insert(playlist);
            }
        }
    }
    for node in doc.mlt.descendants().filter(|n| n.is_element() && n.tag_name().name() == "filter") {
        let Some(name) = service(node) else { continue };
        if disabled(node) {
            continue;
        }
        let Some(parent) = node.parent_element() else { continue };
        let mut place = format!("{} on {}", doc.describe(node), doc.describe(parent));
        // A clip's filter: name the track (playlist) the clip is placed on, as the editor shows it.
        if let (Some(id), "producer" | "chain") = (parent.attribute("id"), parent.tag_name().name()) {
            if let Some(track) = track_of.get(id) {
                place.push_str(&format!(" (in {})", doc.describe(*track)));
            }
        }
        places.entry(name).or_default().push(place);
    }
    places
}

/// The services only disabled filters and transitions use: melt skips them, though it still reports that it
/// could not load them when they are not installed.
pub fn disabled_only(doc: &Doc<'_, '_>, used: &BTreeMap<ServiceKind, BTreeSet<String>>) -> BTreeSet<String> {
    let in_use: BTreeSet<&String> = used.values().flatten().collect();
    doc.mlt
        .descendants()
        .filter(|node| node.is_element() && disabled(*node))
        .filter_map(service)
        .filter(|name| !in_use.contains(name))
        .collect()
}

fn disabled(node: Node<'_, '_>) -> bool {
    matches!(node.tag_name().name(), "filter" | "transition")
        && prop(node, "disable").is_some_and(|v| c_strtol(&v, 10).0 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::TimeBase;

    const PRODUCERS: &str = "---\nproducers:\n  - xml\n  - color\n  - avformat\n  - \"frei0r.plasma\"\n...\n";
    // What melt 7.12 prints for `-query links`: every list but links.
    const NO_LINKS: &str = "---\nconsumers:\n  - sdl2\n---\nfilters:\n  - greyscale\n...\n";

    #[test]
    fn parses_query_lists() {
        let set = ServiceSet::from_query_output(ServiceKind::Producer, PRODUCERS);
        assert_eq!(set.len(), 4);
        assert!(set.contains("color"));
        assert!(set.contains("frei0r.plasma"));
        assert!(set.contains_kind(ServiceKind::Producer, "avformat"));
        assert!(!set.contains_kind(ServiceKind::Filter, "avformat"));
        // the loader's own services are always there
        assert!(set.contains("loader"));
        assert!(set.contains("tractor"));
        assert!(ServiceSet::new().is_empty());
        let mut both = set.clone();
        both.insert(ServiceKind::Filter, "color");
        both.insert(ServiceKind::Filter, "greyscale");
        assert_eq!(both.names(), ["avformat", "color", "frei0r.plasma", "greyscale", "xml"]);
    }

    #[test]
    fn only_the_asked_section_is_read() {
        let mut set = ServiceSet::new();
        assert!(!set.add_query_output(ServiceKind::Producer, NO_LINKS));
        assert!(set.is_empty());
        assert!(!set.add_query_output(ServiceKind::Link, NO_LINKS));
        assert!(!set.links_listed);
        assert!(set.contains_kind(ServiceKind::Link, "timeremap"));
        assert!(!set.contains("greyscale"));
        let listed = ServiceSet::from_query_output(ServiceKind::Link, "links:\n  - avfilter.hflip\n");
        assert!(listed.links_listed);
        assert!(!listed.contains("timeremap"));
    }

    #[test]
    fn collects_used_services() {
        let xml = r#"<mlt>
            <producer id="a"><property name="resource">clip.mp4</property></producer>
            <producer mlt_service="color"/>
            <chain><property name="mlt_service">avformat-novalidate</property>
              <link><property name="mlt_service">timeremap</property></link></chain>
            <playlist><entry producer="a"><filter mlt_service="volume"/></entry></playlist>
            <tractor><transition><property name="mlt_service">mix</property></transition>
              <transition mlt_service="frei0r.cairoblend"><property name="disable">1</property></transition>
              <filter mlt_service="brightness" disable="0"/>
              <filter mlt_service=""/></tractor>
            <producer mlt_service="xml" resource="n.mlt"/>
            <consumer mlt_service="avformat"/>
        </mlt>"#;
        let doc = roxmltree::Document::parse(xml).unwrap();
        let d = Doc::new(&doc, TimeBase::new(25, 1));
        let used = used(&d);
        let names = |k| used.get(&k).cloned().unwrap_or_default().into_iter().collect::<Vec<_>>();
        assert_eq!(names(ServiceKind::Producer), ["avformat-novalidate", "color"]);
        assert_eq!(names(ServiceKind::Link), ["timeremap"]);
        assert_eq!(names(ServiceKind::Filter), ["brightness", "volume"]);
        assert_eq!(names(ServiceKind::Transition), ["mix"]);
        assert_eq!(names(ServiceKind::Consumer), ["avformat"]);
    }
}
