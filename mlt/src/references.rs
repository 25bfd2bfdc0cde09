//! Lists the local files a project needs, because melt does not fail on a
//! missing file: it logs `failed to load producer` and renders a placeholder
//! (melt 7.12 put a pango "INVALID" producer in, and a missing luma silently
//! became a dissolve). So files are checked before rendering instead.
//!
//! Read: `resource` (or `src`) of producers and chains, `warp_resource`, and
//! on filters, transitions and links `resource`, `luma`, `luma.resource`,
//! `composite.luma`, `producer.resource`, `filter.resource`, `av.file`, `av.filename`,
//! `filename`. Metadata such as `kdenlive:originalurl` is never read. Inside a property, the `movie` sources of a
//! `lavfi:` graph and the images of a Kdenlive title count too (`embedded_refs`).
//! Relative paths resolve against `<mlt root>`, else the project's folder
//! (melt qualifies them with the root, after a `plain:` prefix).
//!
//! Not files: empty values, colours and generator parameters (`color`,
//! `tone`, `noise`, `count`, `blipflash`, `frei0r.*`, `xml-string`, `melt`),
//! ids and `<tractor>`-style placeholders, URLs other than `file://`, text
//! (`+hello.txt`), built-in lumas (`%luma01.pgm`: melt 7.12 looks in its
//! lumas folder and generates them otherwise), and capture devices given as
//! `x11grab:`-style prefixes. A service prefix (`avformat:/a.mp4` loads in
//! melt 7.12) and a timewarp speed (`2.0:/a.mp4`) are stripped. Image
//! sequences (`img%05d.png`, `.all.png`) only need their folder.

use std::collections::HashSet;
use std::path::{Component, Path, PathBuf};

use roxmltree::Node;

use super::doc::{prop, service, Doc};
use super::{embedded_refs, FileRef, FileRole};

pub(crate) const PRODUCER_PROPS: &[&str] = &["resource", "warp_resource"];
pub(crate) const EFFECT_PROPS: &[&str] = &[
    "resource",
    "luma",
    "luma.resource",
    "composite.luma",
    "producer.resource",
    "filter.resource",
    "av.file",
    "av.filename",
    "filename",
    "warp_resource",
];

/// Services whose `resource` is never a file.
const NON_FILE_SERVICES: &[&str] =
    &["color", "colour", "tone", "noise", "count", "blipflash", "xml-string", "melt", "hold", "decklink"];

/// Prefixes naming something other than a file.
const NON_FILE_PREFIXES: &[&str] = &[
    "color",
    "colour",
    "tone",
    "noise",
    "count",
    "blipflash",
    "lavfi",
    "x11grab",
    "v4l2",
    "video4linux2",
    "pulse",
    "alsa",
    "jack",
    "decklink",
    "dshow",
    "avfoundation",
    "gdigrab",
    "kmsgrab",
    "fbdev",
    "xml-string",
    "melt",
];

/// What a property value needs on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Need {
    File(String),
    Folder(String),
}

/// Every file (or folder) the document refers to, resolved and de-duplicated.
pub fn collect(doc: &Doc<'_, '_>, root: &Path) -> Vec<FileRef> {
    let mut refs: Vec<FileRef> = Vec::new();
    let mut seen: HashSet<PathBuf> = HashSet::new();
    for node in doc.mlt.descendants().filter(Node::is_element) {
        let tag = node.tag_name().name();
        let (props, is_producer): (&[&str], bool) = match tag {
            "producer" | "chain" => (PRODUCER_PROPS, true),
            "filter" | "transition" | "link" => (EFFECT_PROPS, false),
            _ => continue,
        };
        let svc = service(node);
        if is_producer {
            embedded(node, svc.as_deref(), doc, root, &mut refs, &mut seen);
        }
        let mut names: Vec<&str> = props.to_vec();
        if is_producer && prop(node, "resource").is_none() {
            names.push("src");
        }
        for name in names {
            let Some(value) = prop(node, name) else {
                continue;
            };
            if let Some(address) = network(&value, svc.as_deref(), name) {
                if seen.insert(PathBuf::from(&address)) {
                    let origin = format!("{} property {name}", doc.describe(node));
                    refs.push(FileRef { path: address.into(), origin, role: FileRole::Network, ..FileRef::default() });
                }
                continue;
            }
            let Some(need) = classify(&value, svc.as_deref(), name, doc) else {
                continue;
            };
            let (text, folder) = match need {
                Need::File(p) => (p, false),
                Need::Folder(p) => (p, true),
            };
            let path = resolve(root, &text);
            if !seen.insert(path.clone()) {
                continue;
            }
            let origin = format!("{} property {name}", doc.describe(node));
            let relative = (!is_absolute(&text)).then_some(text);
            let role = if svc.as_deref() == Some("vidstab") && name == "filename" {
                FileRole::StabilisationAnalysis
            } else {
                FileRole::Media
            };
            refs.push(FileRef { path, origin, folder, relative, role });
        }
    }
    refs
}

/// The files a producer names inside its `lavfi:` graph or its Kdenlive title (see `embedded_refs`).
fn embedded(
    node: Node<'_, '_>,
    svc: Option<&str>,
    doc: &Doc<'_, '_>,
    root: &Path,
    refs: &mut Vec<FileRef>,
    seen: &mut HashSet<PathBuf>,
) {
    let mut found: Vec<(String, &str)> = Vec::new();
    if let Some(graph) = prop(node, "resource").as_deref().and_then(|r| r.trim().strip_prefix("lavfi:")) {
        found.extend(embedded_refs::lavfi_sources(graph).into_iter().map(|f| (f, "resource (a lavfi movie source)")));
    }
    if svc == Some("kdenlivetitle") {
        if let Some(xml) = prop(node, "xmldata") {
            found.extend(embedded_refs::title_images(&xml).into_iter().map(|f| (f, "xmldata (a title's image)")));
        }
    }
    for (text, what) in found {
        let text = match url(&text) {
            Some((scheme, rest)) if scheme.eq_ignore_ascii_case("file") => percent_decode(rest),
            _ => text,
        };
        let path = resolve(root, &text);
        if seen.insert(path.clone()) {
            let origin = format!("{} property {what}", doc.describe(node));
            let relative = (!is_absolute(&text)).then_some(text);
            refs.push(FileRef { path, origin, folder: false, relative, role: FileRole::Media });
        }
    }
}

/// Protocols of melt's avformat (ffmpeg) that read something other than one plain file: another file's parts, a
/// pipe, a descriptor, the network.
const PROTOCOL_PREFIXES: &[&str] = &[
    "concat", "concatf", "subfile", "pipe", "fd", "data", "cache", "crypto", "async", "tee", "unix", "http", "https",
    "tcp", "udp", "rtp", "rtsp", "rtmp", "ftp", "sftp", "smb", "tls", "srt", "gopher", "hls", "icecast", "mmsh",
    "mmst", "ipfs", "ipns",
];

/// The value as written, when it is a network URL or a non-file protocol rather than a path.
pub(crate) fn network(value: &str, svc: Option<&str>, name: &str) -> Option<String> {
    let v = value.trim();
    if let Some(s) = svc {
        if name == "resource" && (NON_FILE_SERVICES.contains(&s) || s.starts_with("frei0r.")) {
            return None;
        }
    }
    let v = v.strip_prefix("plain:").unwrap_or(v);
    if let Some((scheme, _)) = url(v) {
        return (!scheme.eq_ignore_ascii_case("file")).then(|| v.to_string());
    }
    let (prefix, _) = service_prefix(v)?;
    PROTOCOL_PREFIXES.contains(&prefix.to_ascii_lowercase().as_str()).then(|| v.to_string())
}

/// Whether `value` of property `name` on a service `svc` names a file.
pub fn classify(value: &str, svc: Option<&str>, name: &str, doc: &Doc<'_, '_>) -> Option<Need> {
    let mut v = value.trim();
    if v.is_empty() || v.starts_with('<') || doc.is_id(v) || is_colour(v) {
        return None;
    }
    if let Some(s) = svc {
        if name == "resource" && (NON_FILE_SERVICES.contains(&s) || s.starts_with("frei0r.")) {
            return None;
        }
        if s == "region" && matches!(v, "rectangle" | "circle") {
            return None;
        }
        if s == "timewarp" && name == "resource" {
            v = strip_speed(v);
        }
    }
    if let Some(rest) = v.strip_prefix("plain:") {
        v = rest;
    } else if let Some((scheme, rest)) = url(v) {
        if !scheme.eq_ignore_ascii_case("file") {
            return None;
        }
        return file_need(&percent_decode(rest));
    } else if let Some((prefix, rest)) = service_prefix(v) {
        if NON_FILE_PREFIXES.contains(&prefix) || prefix.starts_with("frei0r.") {
            return None;
        }
        v = rest.strip_prefix("plain:").unwrap_or(rest);
    }
    if v.starts_with('+') || v.starts_with('%') {
        return None;
    }
    file_need(v)
}

fn file_need(v: &str) -> Option<Need> {
    let v = v.split('?').next().unwrap_or_default().trim();
    if v.is_empty() {
        return None;
    }
    let file_name = v.rsplit(['/', '\\']).next().unwrap_or(v);
    if v.contains('%') || file_name.starts_with(".all.") {
        let folder = &v[..v.len() - file_name.len()];
        let folder = folder.trim_end_matches(['/', '\\']);
        let folder = if folder.is_empty() && v.starts_with('/') { "/" } else { folder };
        return Some(Need::Folder(if folder.is_empty() { ".".into() } else { folder.into() }));
    }
    Some(Need::File(v.to_string()))
}

fn is_colour(v: &str) -> bool {
    let hex = |s: &str| !s.is_empty() && s.len() <= 8 && s.bytes().all(|b| b.is_ascii_hexdigit());
    v.strip_prefix('#').is_some_and(hex) || v.strip_prefix("0x").is_some_and(hex)
}

/// `scheme://rest` with an RFC 3986 scheme of two or more characters.
fn url(v: &str) -> Option<(&str, &str)> {
    let (scheme, rest) = v.split_once("://")?;
    let ok = scheme.len() >= 2
        && scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    ok.then_some((scheme, rest))
}

/// `service:rest` where the service name has two or more characters (so a
/// Windows drive letter is not taken for one).
fn service_prefix(v: &str) -> Option<(&str, &str)> {
    let (prefix, rest) = v.split_once(':')?;
    let ok =
        prefix.len() >= 2 && prefix.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '+'));
    ok.then_some((prefix, rest))
}

/// timewarp's `speed:resource`.
fn strip_speed(v: &str) -> &str {
    match v.split_once(':') {
        Some((speed, rest))
            if !speed.is_empty() && speed.chars().all(|c| c.is_ascii_digit() || matches!(c, '.' | ',' | '-' | '+')) =>
        {
            rest
        }
        _ => v,
    }
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = b.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
        match (b[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Whether `text` is an absolute path (Unix, or Windows with a drive letter or a leading backslash).
pub(crate) fn is_absolute(text: &str) -> bool {
    let windows_absolute = text.starts_with('\\')
        || (text.len() >= 3 && text.as_bytes()[1] == b':' && matches!(text.as_bytes()[2], b'/' | b'\\'));
    Path::new(text).is_absolute() || windows_absolute
}

/// `text` as an absolute path: relative ones are joined to `root`.
pub fn resolve(root: &Path, text: &str) -> PathBuf {
    let p = Path::new(text);
    let joined = if is_absolute(text) { p.to_path_buf() } else { root.join(p) };
    joined.components().filter(|c| !matches!(c, Component::CurDir)).collect()
}

#[cfg(test)]
#[path = "references_tests.rs"]
mod tests;
