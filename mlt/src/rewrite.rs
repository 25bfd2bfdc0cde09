//! A copy of a project whose file references say where the files are on another machine: path mapping (the same
//! share under `D:\Projects` on the editor's machine and `/mnt/projects` on a worker) and, later, uploaded media.
//!
//! It reads exactly what [`references`](super::references) reads (the same elements, the same properties, the same
//! classification of a value as a file, a folder or something else, the same `lavfi:` sources and title images),
//! so every reference the checks look at is one it offers to the mapping. Where a value is set twice (an attribute
//! and `<property>` children) every occurrence is mapped, so whichever melt takes names the mapped file. Only the
//! values change: the rest of the text, comments and layout included, is copied byte for byte. The copy's `<mlt>`
//! gets a `root` attribute, so that relative references still resolve where the original project is.

use std::ops::Range;
use std::path::Path;

use roxmltree::Node;

use super::doc::{property_text, service, Doc};
use super::references::{classify, is_absolute, network, Need, EFFECT_PROPS, PRODUCER_PROPS};
use super::{embedded_refs, ProjectError};

/// A project's text with its references mapped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rewritten {
    pub xml: String,
    /// How many values changed (the `root` attribute not counted).
    pub changed: usize,
}

/// How a reference's path text is to change.
pub struct Mapping<'a> {
    /// The new text for an absolute path, or `None` to leave it.
    pub absolute: &'a dyn Fn(&str) -> Option<String>,
    /// The project was written on Windows: a relative path's `\` become `/`.
    pub windows_separators: bool,
    /// The folder relative paths resolve against where the copy is rendered, written as the copy's `root`.
    pub root: String,
}

/// `xml` (the project at `path`) with every reference mapped by `mapping`, and `<mlt root>` set to its root.
pub fn map_references(xml: &str, path: &Path, mapping: &Mapping<'_>) -> Result<Rewritten, ProjectError> {
    let xml = xml.strip_prefix('\u{feff}').unwrap_or(xml);
    // The same caps as every reading of a project (DTD, nodes, depth).
    let document = super::parse_document(xml, path)?;
    if document.root_element().tag_name().name() != "mlt" {
        let root = document.root_element().tag_name().name().to_string();
        return Err(ProjectError::NotMlt { path: path.to_path_buf(), root });
    }
    let doc = Doc::new(&document, super::clock::TimeBase::new(25, 1));
    let mut edits: Vec<(Range<usize>, String)> = Vec::new();
    let mut changed = 0;
    for node in doc.mlt.descendants().filter(Node::is_element) {
        let is_producer = match node.tag_name().name() {
            "producer" | "chain" => true,
            "filter" | "transition" | "link" => false,
            _ => continue,
        };
        let svc = service(node);
        let wanted = |name: &str| {
            let props = if is_producer { PRODUCER_PROPS } else { EFFECT_PROPS };
            props.contains(&name)
                || (is_producer && name == "src")
                || (svc.as_deref() == Some("kdenlivetitle") && name == "xmldata")
        };
        for attribute in node.attributes().filter(|a| wanted(a.name())) {
            let site = Site { svc: svc.as_deref(), name: attribute.name(), is_producer };
            if let Some(new) = map_value(attribute.value(), &site, &doc, mapping) {
                edits.push((attribute.range_value(), escape_markup(&new)));
                changed += 1;
            }
        }
        for property in node.children().filter(|c| c.has_tag_name("property")) {
            let Some(name) = property.attribute("name").filter(|name| wanted(name)) else {
                continue;
            };
            let site = Site { svc: svc.as_deref(), name, is_producer };
            if let Some(new) = map_value(&property_text(property), &site, &doc, mapping) {
                edits.push((
                    property.range(),
                    format!("<property name=\"{}\">{}</property>", escape_markup(name), escape_markup(&new)),
                ));
                changed += 1;
            }
        }
    }
    let mlt = doc.mlt;
    match mlt.attribute_node("root") {
        Some(root) => edits.push((root.range_value(), escape_markup(&mapping.root))),
        None => {
            let at = mlt.range().start + "<mlt".len();
            edits.push((at..at, format!(" root=\"{}\"", escape_markup(&mapping.root))));
        }
    }
    edits.sort_by_key(|(range, _)| range.start);
    let mut out = String::with_capacity(xml.len() + edits.len() * 16);
    let mut at = 0;
    for (range, text) in edits {
        out.push_str(&xml[at..range.start]);
        out.push_str(&text);
        at = range.end;
    }
    out.push_str(&xml[at..]);
    Ok(Rewritten { xml: out, changed })
}

/// Where a value is set: on which service, under which property name.
struct Site<'a> {
    svc: Option<&'a str>,
    name: &'a str,
    is_producer: bool,
}

/// The value with each path it names mapped, or `None` when none of them changes.
fn map_value(value: &str, site: &Site<'_>, doc: &Doc<'_, '_>, mapping: &Mapping<'_>) -> Option<String> {
    let mut paths: Vec<String> = Vec::new();
    if site.is_producer && site.name == "resource" {
        if let Some(graph) = value.trim().strip_prefix("lavfi:") {
            paths.extend(embedded_refs::lavfi_sources(graph));
        }
    }
    if site.svc == Some("kdenlivetitle") && site.name == "xmldata" {
        paths.extend(embedded_refs::title_images(value));
    } else if network(value, site.svc, site.name).is_none() {
        match classify(value, site.svc, site.name, doc) {
            Some(Need::File(path) | Need::Folder(path)) => paths.push(path),
            None => {}
        }
    }
    let mut out = value.to_string();
    let mut changed = false;
    for path in paths {
        let Some(new) = map_path(&path, mapping) else {
            continue;
        };
        changed = true;
        out = match out.find(&path) {
            Some(at) => format!("{}{new}{}", &out[..at], &out[at + path.len()..]),
            // Written in another form (a `file://` URL, percent-encoded): the value becomes the plain path.
            None => new,
        };
    }
    changed.then_some(out)
}

/// One path text mapped: an absolute one by the rules, a relative one written on Windows with `/`.
fn map_path(path: &str, mapping: &Mapping<'_>) -> Option<String> {
    if is_absolute(path) {
        return (mapping.absolute)(path);
    }
    (mapping.windows_separators && path.contains('\\')).then(|| path.replace('\\', "/"))
}

/// `text` made safe as XML (or HTML) attribute value or element content.
pub fn escape_markup(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
#[path = "rewrite_tests.rs"]
mod tests;
