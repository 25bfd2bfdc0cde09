//! Reading MLT projects (melt's XML, as written by Kdenlive and Shotcut) the
//! way melt 7.12 reads them, so that the client can refuse at once what
//! cannot render and a worker can check again on its own machine before
//! rendering and verify afterwards.
//!
//! A [`Project`] says how many frames melt will render (the render is split
//! and verified by frame count), at which frame rate, whether audio is
//! required, which local files it needs and which MLT services it uses.
//! [`check_on_this_machine`] compares that with the files present and the
//! services a melt provides ([`query_services`]). melt itself would render
//! anyway, with placeholders for missing files and without unknown filters,
//! which is why these checks exist.

mod audio;
mod check;
pub mod clock;
mod doc;
mod dtd;
mod embedded_refs;
mod error;
mod length;
mod media;
mod melt;
mod output;
mod profile;
mod references;
pub mod renames;
mod rewrite;
mod services;

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use check::{check_files, check_on_this_machine, filters_to_drop, MissingRoot, Refusal, OPEN_DEADLINE};
pub use dtd::{MAX_ENTITIES, MAX_ENTITY_DEPTH, MAX_EXPANDED_BYTES};
pub use error::ProjectError;
pub use length::GENERATOR_LENGTH;
pub use media::{check_media, check_media_files, MediaPolicy, SYSTEM_FORBIDDEN};
pub use melt::{melt_version, parse_encoders, parse_version, query_encoders, query_services, Encoders, QUERY_TIMEOUT};
pub use output::check_output_folder;
pub use profile::Picture;
pub use rewrite::{escape_markup, map_references, Mapping, Rewritten};
pub use services::{ServiceKind, ServiceSet, LINKS_WHEN_UNLISTED, LOADER_RESOLVED, MAX_PLACES_NAMED};

/// Largest project file read; checked with the file's metadata before reading.
pub const MAX_PROJECT_BYTES: u64 = 32 * 1024 * 1024;
/// Most XML nodes parsed, to bound memory on hostile input.
pub const MAX_XML_NODES: u32 = 2_000_000;
/// Deepest nesting of elements, `<mlt>` being 1. melt 7.12 (through libxml2) fails to load a project nested one
/// level deeper, and every walk of the tree stays within it.
pub const MAX_XML_DEPTH: usize = 255;

/// What melt will do with one project file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Project {
    /// Absolute path of the .mlt file.
    pub path: PathBuf,
    /// Folder relative references resolve against: `<mlt root="...">`, else
    /// the project file's folder.
    pub root: PathBuf,
    /// Frame rate from `<profile>` (or a named preset); 25/1 when absent.
    pub fps_num: u32,
    pub fps_den: u32,
    /// False when the project names no profile: melt then takes the frame
    /// rate of the first media it opens, so `fps_*` are only melt's default.
    pub profile_explicit: bool,
    /// The picture size (and scan) its `<profile>` element gives, when it gives one.
    #[serde(default)]
    pub picture: Option<profile::Picture>,
    /// Frames melt will render.
    pub length_frames: u64,
    /// The project has an audio-capable producer (tone, count, noise, media).
    pub has_audio: bool,
    /// Every local file (or image-sequence folder) the project needs.
    pub references: Vec<FileRef>,
    /// Every `mlt_service` used by producers, chains, links, filters,
    /// transitions and consumers.
    pub services: BTreeSet<String>,
    /// The same services by the kind of element that uses them.
    pub services_by_kind: BTreeMap<ServiceKind, BTreeSet<String>>,
    /// Services named only by disabled filters and transitions: not needed, and melt's complaint that it could
    /// not load them is not fatal.
    pub disabled_services: BTreeSet<String>,
    /// Where each filter service sits (filter, clip or track), for refusals that name it.
    #[serde(default)]
    pub filter_places: BTreeMap<String, Vec<String>>,
    /// Filters this machine lacks that the render goes without ([`Project::drop_filters`]).
    #[serde(default)]
    pub dropped_filters: Vec<String>,
}

/// A local file a project needs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileRef {
    /// Resolved absolute path.
    pub path: PathBuf,
    /// Where it is named, e.g. `producer "clip1" property resource`.
    pub origin: String,
    /// True for an image sequence (`img%05d.png`), where only the folder is
    /// needed.
    #[serde(default)]
    pub folder: bool,
    /// The path as written, when it is relative: it then needs the project's root folder to exist.
    #[serde(default)]
    pub relative: Option<String>,
    /// What the file is for, so that a refusal can say how to make it again.
    #[serde(default)]
    pub role: FileRole,
}

/// What a referenced file is for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum FileRole {
    /// Media, lumas, LUTs, subtitles: files the user brought.
    #[default]
    Media,
    /// A vidstab filter's motion analysis (`.stab`/`.trf`), which the editor writes when it analyses the clip.
    StabilisationAnalysis,
    /// Not a file: a network URL (`http://…`) or another protocol of melt's (`concat:`, `pipe:`); `path` holds it
    /// as written. Never opened by the checks; refused unless the worker allows network media.
    Network,
}

/// Reads (at most [`MAX_PROJECT_BYTES`]) and parses a project file.
pub fn read_project(path: &Path) -> Result<Project, ProjectError> {
    let path = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    parse_project(&read_project_text(&path)?, &path)
}

/// A project file's text (at most [`MAX_PROJECT_BYTES`], UTF-8), unparsed: what [`read_project`] parses.
pub fn read_project_text(path: &Path) -> Result<String, ProjectError> {
    let path = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let unreadable = |e: std::io::Error| {
        if e.kind() == std::io::ErrorKind::NotFound {
            ProjectError::NotFound(path.clone())
        } else {
            ProjectError::Unreadable(path.clone(), e)
        }
    };
    let meta = std::fs::metadata(&path).map_err(unreadable)?;
    if meta.is_dir() {
        let e = std::io::Error::other("is a folder, not a file");
        return Err(ProjectError::Unreadable(path.clone(), e));
    }
    if !meta.is_file() {
        // A named pipe or a device: opening it could wait for ever.
        let e = std::io::Error::other("is not a regular file (a named pipe or a device?)");
        return Err(ProjectError::Unreadable(path.clone(), e));
    }
    let too_large = |size| ProjectError::TooLarge { path: path.clone(), size, limit: MAX_PROJECT_BYTES };
    if meta.len() > MAX_PROJECT_BYTES {
        return Err(too_large(meta.len()));
    }
    let mut bytes = Vec::new();
    std::fs::File::open(&path)
        .and_then(|f| f.take(MAX_PROJECT_BYTES + 1).read_to_end(&mut bytes))
        .map_err(unreadable)?;
    if bytes.len() as u64 > MAX_PROJECT_BYTES {
        return Err(too_large(bytes.len() as u64));
    }
    String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        ProjectError::NotXml(path.clone(), format!("not UTF-8 text (bad byte at offset {at})"))
    })
}

/// Parses project XML as if read from `path` (which places relative files).
pub fn parse_project(xml: &str, path: &Path) -> Result<Project, ProjectError> {
    let path = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let xml = xml.strip_prefix('\u{feff}').unwrap_or(xml);
    if xml.trim().is_empty() {
        return Err(ProjectError::NotXml(path, "the file is empty".into()));
    }
    let document = parse_document(xml, &path)?;
    let mlt = document.root_element();
    if mlt.tag_name().name() != "mlt" {
        let root = mlt.tag_name().name().to_string();
        return Err(ProjectError::NotMlt { path, root });
    }
    let invalid = |detail: String| ProjectError::Invalid(path.clone(), detail);
    let rate = profile::frame_rate(mlt).map_err(invalid)?;
    let mut time = clock::TimeBase::new(rate.num, rate.den);
    time.c_numeric = c_numeric(mlt.attribute("LC_NUMERIC"));
    let doc = doc::Doc::new(&document, time);
    let folder = path.parent().map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from("/"));
    let root = match mlt.attribute("root").map(str::trim) {
        Some(r) if !r.is_empty() => references::resolve(&folder, r),
        _ => folder,
    };
    let length_frames = length::project_length(&doc).map_err(invalid)?;
    let references = references::collect(&doc, &root);
    let services_by_kind = services::used(&doc);
    let services = services_by_kind.values().flatten().cloned().collect();
    let disabled_services = services::disabled_only(&doc, &services_by_kind);
    let filter_places = services::filter_places(&doc);
    Ok(Project {
        has_audio: audio::has_audio(&doc),
        path,
        root,
        fps_num: rate.num,
        fps_den: rate.den,
        profile_explicit: rate.explicit,
        picture: profile::picture(mlt),
        length_frames,
        references,
        services,
        services_by_kind,
        disabled_services,
        filter_places,
        dropped_filters: Vec::new(),
    })
}

/// `xml` parsed with the caps every reading of a project has: its DTD checked, its nodes and depth bounded.
pub(crate) fn parse_document<'input>(
    xml: &'input str,
    path: &Path,
) -> Result<roxmltree::Document<'input>, ProjectError> {
    let path = path.to_path_buf();
    // Plain internal entities are expanded (with caps); anything else a DOCTYPE could do is refused first.
    if let Err(reason) = dtd::check(xml) {
        return Err(ProjectError::DtdRefused(path, reason));
    }
    let options = roxmltree::ParsingOptions { allow_dtd: true, nodes_limit: MAX_XML_NODES, ..Default::default() };
    let document = match roxmltree::Document::parse_with_options(xml, options) {
        Ok(d) => d,
        Err(roxmltree::Error::NodesLimitReached) => {
            return Err(ProjectError::Invalid(path, format!("more than {MAX_XML_NODES} XML nodes")))
        }
        Err(roxmltree::Error::UnclosedRootNode) => {
            let (row, col) = end_position(xml);
            let detail = format!("unexpected end of document, the root element is not closed, at {row}:{col}");
            return Err(ProjectError::NotXml(path, detail));
        }
        Err(e) => return Err(ProjectError::NotXml(path, e.to_string())),
    };
    if let Some(too_deep) = deeper_than(&document, MAX_XML_DEPTH) {
        let row = document.text_pos_at(too_deep.range().start).row;
        let detail = format!(
            "elements are nested more than {MAX_XML_DEPTH} deep (at line {row}); melt refuses such a project too"
        );
        return Err(ProjectError::Invalid(path, detail));
    }
    Ok(document)
}

impl Project {
    /// Services used only as filters: with `job submit --allow-missing-filters` a worker that lacks one renders
    /// without it, so these are not required of a worker (every other service is).
    pub fn filter_only_services(&self) -> BTreeSet<String> {
        let filters = self.services_by_kind.get(&ServiceKind::Filter).cloned().unwrap_or_default();
        let elsewhere: BTreeSet<&String> = self
            .services_by_kind
            .iter()
            .filter(|(kind, _)| **kind != ServiceKind::Filter)
            .flat_map(|(_, names)| names)
            .collect();
        filters.into_iter().filter(|name| !elsewhere.contains(name)).collect()
    }

    /// Renders without `filters` (those of the job's optional filters this machine lacks): they are no longer
    /// required, and melt's message that it could not load them is not fatal.
    pub fn drop_filters(&mut self, filters: &[String]) {
        for name in filters {
            if let Some(names) = self.services_by_kind.get_mut(&ServiceKind::Filter) {
                names.remove(name);
            }
            if !self.services_by_kind.values().any(|names| names.contains(name)) {
                self.services.remove(name);
            }
            self.disabled_services.insert(name.clone());
            if !self.dropped_filters.contains(name) {
                self.dropped_filters.push(name.clone());
            }
        }
    }

    /// Where filter `service` sits, for a message: up to [`services::MAX_PLACES_NAMED`] places, then a count.
    pub fn filter_place(&self, service: &str) -> Option<String> {
        let places = self.filter_places.get(service).filter(|p| !p.is_empty())?;
        let mut named = places.iter().take(services::MAX_PLACES_NAMED).cloned().collect::<Vec<_>>().join(", ");
        if places.len() > services::MAX_PLACES_NAMED {
            named.push_str(&format!(" and {} more", places.len() - services::MAX_PLACES_NAMED));
        }
        Some(named)
    }

    /// The folder the project file is in: melt is started there when the project's `root` does not exist on this
    /// machine (melt needs no existing root when every path is absolute, as in a project saved on another machine;
    /// a relative path that needs the missing root is refused by the checks before melt starts).
    pub fn folder(&self) -> PathBuf {
        self.path.parent().map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from("/"))
    }
}

/// The first element nested deeper than `limit`, found without recursion (roxmltree's parser is iterative too):
/// in document order each node's parent comes first, so its depth is known.
fn deeper_than<'a, 'input>(
    document: &'a roxmltree::Document<'input>,
    limit: usize,
) -> Option<roxmltree::Node<'a, 'input>> {
    let mut depths: Vec<u16> = Vec::new();
    for node in document.root().descendants() {
        let depth = match node.parent() {
            Some(parent) => depths.get(parent.id().get() as usize).copied().unwrap_or(0).saturating_add(1),
            None => 0,
        };
        if node.is_element() && depth as usize > limit {
            return Some(node);
        }
        let index = node.id().get() as usize;
        if depths.len() <= index {
            depths.resize(index + 1, 0);
        }
        depths[index] = depth;
    }
    None
}

/// Line and column just past the end of `text`, counted from 1.
fn end_position(text: &str) -> (usize, usize) {
    let row = text.matches('\n').count() + 1;
    let col = text.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (row, col)
}

/// Whether `LC_NUMERIC` reads `1.5` with a decimal point and stops at `,`.
fn c_numeric(lc: Option<&str>) -> bool {
    match lc.map(str::trim) {
        None | Some("") => true,
        Some(l) => l == "C" || l.starts_with("C.") || l == "POSIX" || l.starts_with("en_"),
    }
}

#[cfg(test)]
impl Project {
    pub(crate) fn empty_for_tests() -> Project {
        Project {
            path: PathBuf::from("/p/x.mlt"),
            root: PathBuf::from("/p"),
            fps_num: 25,
            fps_den: 1,
            profile_explicit: true,
            picture: None,
            length_frames: 1,
            has_audio: false,
            references: Vec::new(),
            services: BTreeSet::new(),
            services_by_kind: BTreeMap::new(),
            disabled_services: BTreeSet::new(),
            filter_places: BTreeMap::new(),
            dropped_filters: Vec::new(),
        }
    }
}

#[cfg(test)]
mod filter_tests;
#[cfg(test)]
mod fixtures;
#[cfg(test)]
mod hostile_tests;
#[cfg(test)]
mod refusal_tests;
#[cfg(test)]
mod tests;
