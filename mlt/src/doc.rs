//! A thin view over the parsed MLT XML that answers the questions every other
//! part asks the same way melt does: what value a property has (attributes
//! first, then `<property>` children, the last one winning), which element an
//! id refers to at a given point (melt's loader is a streaming parser: a
//! reference sees only ids defined before it, and a repeated id replaces the
//! earlier one), and how to name an element in a message.

use std::collections::HashMap;

use roxmltree::{Document, Node};

use super::clock::TimeBase;

/// Element names that create a producer melt can play or refer to by id.
pub const SERVICE_TAGS: &[&str] = &["producer", "chain", "playlist", "tractor", "multitrack"];

pub struct Doc<'a, 'input> {
    pub mlt: Node<'a, 'input>,
    pub time: TimeBase,
    /// Services by id, each list in document order.
    ids: HashMap<&'a str, Vec<Node<'a, 'input>>>,
    /// Lines counted up to each [`LINE_STEP`] bytes, so naming an element by its line costs a short scan, not one
    /// from the start of the document (a project naming a million elements would take hours).
    lines_before: Vec<u32>,
}

/// Bytes between two entries of [`Doc::lines_before`].
const LINE_STEP: usize = 512;

impl<'a, 'input> Doc<'a, 'input> {
    pub fn new(doc: &'a Document<'input>, time: TimeBase) -> Self {
        let mlt = doc.root_element();
        let mut ids: HashMap<&'a str, Vec<Node<'a, 'input>>> = HashMap::new();
        for node in mlt.descendants().filter(is_service) {
            if let Some(id) = node.attribute("id") {
                ids.entry(id).or_default().push(node);
            }
        }
        let mut lines_before = Vec::new();
        let mut lines = 0u32;
        for chunk in doc.input_text().as_bytes().chunks(LINE_STEP) {
            lines_before.push(lines);
            lines = lines.saturating_add(chunk.iter().filter(|&&b| b == b'\n').count() as u32);
        }
        Doc { mlt, time, ids, lines_before }
    }

    /// The element `id` names as seen from `at`: the last one defined before it.
    pub fn resolve(&self, id: &str, at: Node<'a, 'input>) -> Option<Node<'a, 'input>> {
        let defs = self.ids.get(id)?;
        let before = defs.partition_point(|n| n.id().get() < at.id().get());
        before.checked_sub(1).map(|i| defs[i])
    }

    /// [`describe`], in time that does not grow with the document.
    pub fn describe(&self, node: Node<'_, '_>) -> String {
        name_with(node, |start| {
            let text = node.document().input_text().as_bytes();
            let step = start / LINE_STEP;
            let counted = self.lines_before.get(step).copied().unwrap_or(0) as usize;
            let from = (step * LINE_STEP).min(start);
            counted + text[from..start.min(text.len())].iter().filter(|&&b| b == b'\n').count() + 1
        })
    }

    /// Whether some producer, chain, playlist, tractor or multitrack has this id.
    pub fn is_id(&self, id: &str) -> bool {
        self.ids.contains_key(id)
    }
}

pub fn is_service(node: &Node<'_, '_>) -> bool {
    node.is_element() && SERVICE_TAGS.contains(&node.tag_name().name())
}

/// The value of property `name` on `node`: the attribute, overridden by any
/// `<property name="...">` child (melt verified: `out="29"` with a child
/// `out` of 9 plays 10 frames).
pub fn prop(node: Node<'_, '_>, name: &str) -> Option<String> {
    let mut value = node.attribute(name).map(str::to_string);
    for child in node.children() {
        if child.has_tag_name("property") && child.attribute("name") == Some(name) {
            value = Some(property_text(child));
        }
    }
    value
}

pub fn property_text(property: Node<'_, '_>) -> String {
    let text: String = property.children().filter(|c| c.is_text()).filter_map(|c| c.text()).collect();
    if text.is_empty() {
        property.attribute("value").unwrap_or_default().to_string()
    } else {
        text
    }
}

/// `mlt_service` of an element, trimmed, when it is set and not empty.
pub fn service(node: Node<'_, '_>) -> Option<String> {
    prop(node, "mlt_service").map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

/// How messages name an element: `producer "clip1"`, or `producer at line 12`.
pub fn describe(node: Node<'_, '_>) -> String {
    name_with(node, |start| node.document().text_pos_at(start).row as usize)
}

/// `describe`, given how to find the line of a byte offset.
fn name_with(node: Node<'_, '_>, line_of: impl FnOnce(usize) -> usize) -> String {
    let tag = node.tag_name().name();
    match node.attribute("id") {
        Some(id) => format!("{tag} {id:?}"),
        None => format!("{tag} at line {}", line_of(node.range().start)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn properties_children_override_attributes() {
        let xml = r#"<mlt><producer id="p" out="29" in="3">
            <property name="out">9</property>
            <property name="resource">a.mp4</property>
            <property name="resource">b.mp4</property>
            <property name="length" value="40"/>
            <property name="empty"></property>
        </producer></mlt>"#;
        let doc = Document::parse(xml).unwrap();
        let p = doc.root_element().first_element_child().unwrap();
        assert_eq!(prop(p, "out").as_deref(), Some("9"));
        assert_eq!(prop(p, "in").as_deref(), Some("3"));
        assert_eq!(prop(p, "resource").as_deref(), Some("b.mp4"));
        assert_eq!(prop(p, "length").as_deref(), Some("40"));
        assert_eq!(prop(p, "empty").as_deref(), Some(""));
        assert_eq!(prop(p, "missing"), None);
        assert_eq!(describe(p), "producer \"p\"");
    }

    #[test]
    fn ids_resolve_to_the_latest_earlier_definition() {
        let xml = r#"<mlt>
            <producer id="a" out="1"/>
            <playlist id="p1"><entry producer="a"/><entry producer="later"/></playlist>
            <producer id="a" out="2"/>
            <playlist id="p2"><entry producer="a"/></playlist>
            <producer id="later"/>
        </mlt>"#;
        let doc = Document::parse(xml).unwrap();
        let d = Doc::new(&doc, TimeBase::new(25, 1));
        let entries: Vec<_> = d.mlt.descendants().filter(|n| n.has_tag_name("entry")).collect();
        let first = d.resolve("a", entries[0]).unwrap();
        assert_eq!(first.attribute("out"), Some("1"));
        assert!(d.resolve("later", entries[1]).is_none());
        let second = d.resolve("a", entries[2]).unwrap();
        assert_eq!(second.attribute("out"), Some("2"));
        assert!(d.is_id("p2"));
        assert!(!d.is_id("nope"));
        assert_eq!(describe(entries[0]), "entry at line 3");
        assert_eq!(d.describe(entries[0]), "entry at line 3");
        assert_eq!(d.describe(entries[2]), describe(entries[2]));
    }
}
