//! Predicts how many frames melt renders for a project, because the render is
//! split and verified by frame count. Every rule here was checked by rendering
//! with melt 7.12 and counting frames with ffprobe:
//!
//! * melt plays the LAST top-level producer, chain, playlist, tractor or
//!   multitrack; a later `<filter>` or `<consumer>`, and `<mlt producer=..>`,
//!   change nothing.
//! * Producer / chain: `in` (default 0) to `out` (default `length - 1`),
//!   attributes overridden by `<property>` children. `length` is the
//!   `length` property, else 15000 for generators (color, colour, tone,
//!   noise, count, blipflash). Media needs an explicit `out`: without one its
//!   length is the file's (and a chain or `avformat-novalidate` producer with
//!   only a `length` plays 1 frame), so such projects are refused.
//!   `in`/`out` at or past `length` are clamped to `length - 1`, then swapped
//!   if reversed (as `mlt_producer_set_in_and_out`).
//! * Playlist: sum of `<entry>` cuts and `<blank length>`. An entry without
//!   `in`/`out` plays its producer's own in..out; with either, the missing
//!   `in` is 0 and the missing `out` is `length - 1`, clamped to the
//!   producer's `length` (not its out). `in`/`out` on a playlist are ignored.
//! * Tractor / multitrack: the longest track; `<track in out>` cut like an
//!   entry. `in`/`out` on a tractor (attribute or property) are ignored.
//! * References see only ids defined before them; the latest definition wins.
//! * Media with an `out` but no `length`: melt clamps the out to the file's
//!   real length (out=99 on a 50-frame clip played 50), which only the file
//!   knows; trusted here, so the frame count check after rendering catches it.
//! * `avformat-novalidate` (producer or chain) without `length` has length
//!   0 in melt and plays 1 frame whatever its out: refused.
//! * Inline producers: directly in a playlist they play their own in..out,
//!   directly in a multitrack their whole length, and an entry or track
//!   referring to one again without in/out plays it whole; inside `<entry>`
//!   melt ignores them and inside `<track>` melt 7.12 aborts: both refused.
//!
//! Negative values (MLT's "-1 = to the end") are refused, as is anything past
//! MLT's 32-bit positions.

use std::collections::HashMap;

use roxmltree::Node;

use super::clock::to_frames;
use super::doc::{describe, is_service, prop, service, Doc};

/// Default `length` of generator producers in MLT 7.12.
pub const GENERATOR_LENGTH: i64 = 15000;
const GENERATORS: &[&str] = &["color", "colour", "tone", "noise", "count", "blipflash"];
const MAX_DEPTH: usize = 256;
const MAX_FRAMES: i64 = i32::MAX as i64;

/// Frames melt renders for the document.
pub fn project_length(doc: &Doc<'_, '_>) -> Result<u64, String> {
    let top = doc
        .mlt
        .children()
        .rfind(is_service)
        .ok_or("nothing to render: no <producer>, <chain>, <playlist> or <tractor> at the top level")?;
    let mut walker = Walker { doc, active: Vec::new(), memo: HashMap::new() };
    let frames = walker.own_count(top)?;
    if frames <= 0 {
        return Err(format!("{} renders no frames", describe(top)));
    }
    Ok(frames as u64)
}

fn is_generator(name: &str) -> bool {
    GENERATORS.contains(&name)
}

/// The service that will produce frames: `mlt_service`, or for the loader a
/// `color:`-style prefix on the resource.
fn producer_service(node: Node<'_, '_>) -> Option<String> {
    service(node).or_else(|| {
        let resource = prop(node, "resource")?;
        let (prefix, _) = resource.trim().split_once(':')?;
        is_generator(prefix).then(|| prefix.to_string())
    })
}

struct Walker<'d, 'a, 'input> {
    doc: &'d Doc<'a, 'input>,
    active: Vec<u32>,
    memo: HashMap<u32, Option<i64>>,
}

impl<'a, 'input> Walker<'_, 'a, 'input> {
    fn frames_of(&self, node: Node<'a, 'input>, name: &str, value: &str) -> Result<i64, String> {
        let v = to_frames(value, self.doc.time).map_err(|e| format!("{} {name}: {e}", describe(node)))?;
        if v < 0 {
            return Err(format!("{} {name}={value:?} is negative", describe(node)));
        }
        Ok(v)
    }

    fn opt_frames(&self, node: Node<'a, 'input>, name: &str) -> Result<Option<i64>, String> {
        match prop(node, name) {
            Some(v) => self.frames_of(node, name, &v).map(Some),
            None => Ok(None),
        }
    }

    fn enter(&mut self, node: Node<'a, 'input>) -> Result<(), String> {
        let key = node.id().get();
        if self.active.contains(&key) {
            return Err(format!("{} contains itself", describe(node)));
        }
        if self.active.len() >= MAX_DEPTH {
            return Err(format!("{} is nested more than {MAX_DEPTH} deep", describe(node)));
        }
        self.active.push(key);
        Ok(())
    }

    /// The whole length of a service (`length` for producers); `None` when
    /// only the media file knows it.
    fn full_length(&mut self, node: Node<'a, 'input>) -> Result<Option<i64>, String> {
        let key = node.id().get();
        if let Some(known) = self.memo.get(&key) {
            return Ok(*known);
        }
        self.enter(node)?;
        let result = match node.tag_name().name() {
            "producer" | "chain" => self.producer_length(node),
            "playlist" => self.playlist_length(node).map(Some),
            _ => self.tractor_length(node).map(Some),
        };
        self.active.pop();
        let result = result?;
        self.memo.insert(key, result);
        Ok(result)
    }

    fn producer_length(&mut self, node: Node<'a, 'input>) -> Result<Option<i64>, String> {
        if let Some(length) = self.opt_frames(node, "length")? {
            return Ok(Some(length));
        }
        match producer_service(node) {
            Some(s) if is_generator(&s) => Ok(Some(GENERATOR_LENGTH)),
            Some(s) if s == "avformat-novalidate" => Err(format!(
                "{} uses avformat-novalidate without a length property, \
                 so melt plays a single frame of it; give it a length",
                describe(node)
            )),
            _ => Ok(None),
        }
    }

    /// Frames played when referred to without `in`/`out`.
    fn own_count(&mut self, node: Node<'a, 'input>) -> Result<i64, String> {
        match node.tag_name().name() {
            "producer" | "chain" => {
                let length = self.full_length(node)?;
                let start = self.opt_frames(node, "in")?.unwrap_or(0);
                let end = self.opt_frames(node, "out")?;
                let generator = producer_service(node).is_some_and(|s| is_generator(&s));
                if end.is_none() && !generator {
                    return Err(no_out_point(node));
                }
                self.cut(node, length, start, end)
            }
            _ => Ok(self.full_length(node)?.unwrap_or(0)),
        }
    }

    /// Frames of `in..=out` of a service of the given length, clamped and
    /// swapped as `mlt_producer_set_in_and_out` does.
    fn cut(&self, node: Node<'a, 'input>, length: Option<i64>, start: i64, end: Option<i64>) -> Result<i64, String> {
        let (mut start, mut end) = match (length, end) {
            (Some(0), _) => return Ok(0),
            (Some(l), Some(e)) => (start.min(l - 1), e.min(l - 1)),
            (Some(l), None) => (start.min(l - 1), l - 1),
            (None, Some(e)) => (start, e),
            (None, None) => return Err(no_out_point(node)),
        };
        if end < start {
            std::mem::swap(&mut start, &mut end);
        }
        Ok(end - start + 1)
    }

    /// An `<entry>` or `<track>`: its producer cut by its own `in`/`out`.
    fn reference(&mut self, item: Node<'a, 'input>) -> Result<i64, String> {
        if item.children().any(|c| is_service(&c)) {
            return Err(format!(
                "{} defines a producer inside it, which melt ignores or cannot load; \
                 define it before and refer to it by id",
                describe(item)
            ));
        }
        let id = item.attribute("producer").ok_or_else(|| format!("{} has no producer attribute", describe(item)))?;
        let target = self
            .doc
            .resolve(id, item)
            .ok_or_else(|| format!("{} refers to {id:?}, which is not defined before it", describe(item)))?;
        let start = self.opt_frames(item, "in")?;
        let end = self.opt_frames(item, "out")?;
        let inline =
            matches!(target.tag_name().name(), "producer" | "chain") && target.parent_element() != Some(self.doc.mlt);
        if start.is_none() && end.is_none() && inline {
            // melt 7.12 plays a producer defined inside a playlist whole when
            // an entry refers to it again.
            let length = self.full_length(target)?;
            return self.cut(target, length, 0, None);
        }
        if start.is_none() && end.is_none() {
            self.enter(item)?;
            let frames = self.own_count(target);
            self.active.pop();
            return frames;
        }
        let length = self.full_length(target)?;
        self.cut(target, length, start.unwrap_or(0), end)
    }

    fn playlist_length(&mut self, node: Node<'a, 'input>) -> Result<i64, String> {
        let mut total: i64 = 0;
        for child in node.children().filter(Node::is_element) {
            let frames = match child.tag_name().name() {
                "entry" => self.reference(child)?,
                "blank" => match child.attribute("length") {
                    Some(v) => self.frames_of(child, "length", v)?,
                    None => return Err(format!("{} has no length", describe(child))),
                },
                "producer" | "chain" | "playlist" | "tractor" | "multitrack" => self.own_count(child)?,
                _ => 0,
            };
            total = add(node, total, frames)?;
        }
        Ok(total)
    }

    fn tractor_length(&mut self, node: Node<'a, 'input>) -> Result<i64, String> {
        let mut longest = 0;
        for child in node.children().filter(Node::is_element) {
            let frames = match child.tag_name().name() {
                "multitrack" => {
                    self.enter(child)?;
                    let frames = self.tractor_length(child);
                    self.active.pop();
                    frames?
                }
                "track" => self.reference(child)?,
                "producer" | "chain" => {
                    let length = self.full_length(child)?;
                    self.cut(child, length, 0, None)?
                }
                "playlist" | "tractor" => self.own_count(child)?,
                _ => 0,
            };
            longest = longest.max(frames);
        }
        Ok(longest)
    }
}

fn no_out_point(node: Node<'_, '_>) -> String {
    format!("{} has no out point, so only its media knows how long it plays; give it in/out", describe(node))
}

fn add(node: Node<'_, '_>, a: i64, b: i64) -> Result<i64, String> {
    a.checked_add(b)
        .filter(|&t| t <= MAX_FRAMES)
        .ok_or_else(|| format!("{} is longer than {MAX_FRAMES} frames", describe(node)))
}

#[cfg(test)]
#[path = "length_tests.rs"]
mod tests;
