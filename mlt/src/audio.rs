//! Decides whether a project has a producer that can make sound, because the
//! render verifier then requires an audio stream. (melt's avformat consumer
//! writes an audio stream even for a colour-only project, so `false` does
//! not mean the output has none, only that none is required.)

use roxmltree::Node;

use super::doc::{prop, service, Doc};
use super::references::{classify, Need};

/// Producers that always make sound.
const SOUND_SERVICES: &[&str] = &["tone", "count", "noise", "blipflash"];
/// Producers that read media, nested projects or other producers, and so
/// may make sound.
const MEDIA_SERVICES: &[&str] = &[
    "avformat",
    "avformat-novalidate",
    "vorbis",
    "timewarp",
    "xml",
    "xml-clip",
    "consumer",
    "melt_file",
    "loader",
    "abnormal",
    "sox",
];
/// File extensions the loader opens as pictures or text, which are silent.
const SILENT_EXTENSIONS: &[&str] = &[
    "png",
    "jpg",
    "jpeg",
    "bmp",
    "gif",
    "tif",
    "tiff",
    "svg",
    "svgz",
    "webp",
    "tga",
    "pgm",
    "ppm",
    "pnm",
    "exr",
    "xcf",
    "psd",
    "kra",
    "txt",
    "kdenlivetitle",
    "json",
    "rawr",
];

/// Whether any producer or chain in the document is audio-capable.
pub fn has_audio(doc: &Doc<'_, '_>) -> bool {
    doc.mlt.descendants().filter(|n| n.has_tag_name("producer") || n.has_tag_name("chain")).any(|n| makes_sound(doc, n))
}

fn makes_sound(doc: &Doc<'_, '_>, node: Node<'_, '_>) -> bool {
    let svc = service(node);
    if prop(node, "audio_index").is_some_and(|v| v.trim() == "-1") {
        return false;
    }
    match svc.as_deref() {
        Some(s) if SOUND_SERVICES.contains(&s) => true,
        Some(s) if MEDIA_SERVICES.contains(&s) => true,
        Some(_) => false,
        None => loads_sound_file(doc, node),
    }
}

/// A resource the loader opens: sound unless it is a picture or text.
fn loads_sound_file(doc: &Doc<'_, '_>, node: Node<'_, '_>) -> bool {
    let Some(resource) = prop(node, "resource").or_else(|| prop(node, "src")) else {
        return false;
    };
    if let Some((prefix, _)) = resource.trim().split_once(':') {
        if SOUND_SERVICES.contains(&prefix) {
            return true;
        }
    }
    match classify(&resource, None, "resource", doc) {
        Some(Need::File(path)) => {
            let ext = path.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
            !ext.is_some_and(|e| SILENT_EXTENSIONS.contains(&e.as_str()))
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::TimeBase;

    fn audio(body: &str) -> bool {
        let xml = format!("<mlt>{body}</mlt>");
        let doc = roxmltree::Document::parse(&xml).unwrap();
        has_audio(&Doc::new(&doc, TimeBase::new(25, 1)))
    }

    #[test]
    fn sound_producers() {
        assert!(audio(r#"<producer mlt_service="tone"/>"#));
        assert!(audio(r#"<producer><property name="mlt_service">count</property></producer>"#));
        assert!(audio(r#"<producer mlt_service="noise"/>"#));
        assert!(audio(r#"<chain mlt_service="avformat-novalidate" resource="a.mp4"/>"#));
        assert!(audio(r#"<producer resource="music.wav"/>"#));
        assert!(audio(r#"<producer resource="clip.MP4"/>"#));
        assert!(audio(r#"<producer resource="tone:"/>"#));
    }

    #[test]
    fn silent_producers() {
        assert!(!audio(r#"<producer mlt_service="color" resource="red"/>"#));
        assert!(!audio(
            r#"<producer mlt_service="colour" resource="black"/><producer mlt_service="qimage" resource="a.png"/>"#
        ));
        assert!(!audio(r#"<producer resource="title.PNG"/><producer resource="img%04d.jpg"/>"#));
        assert!(!audio(r#"<producer resource="colour:red"/><producer resource="https://x/a.mp4"/>"#));
        assert!(!audio(r#"<producer mlt_service="avformat" resource="v.mp4" audio_index="-1"/>"#));
        assert!(!audio(r#"<producer mlt_service="frei0r.plasma"/>"#));
        assert!(!audio(""));
    }
}
