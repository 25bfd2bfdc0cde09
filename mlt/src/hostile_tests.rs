//! The hostile-project corpus for parsing: depth bombs (elements nested far past what melt accepts, which used to
//! overflow the stack of whoever computed the length) and width bombs (millions of elements, which must be read in
//! bounded time and memory). Each is refused with one line, or read, and nothing panics or overflows a stack.
//!
//! The bombs are parsed on a thread with a small stack, so a walk that recurses per level fails here at a depth a
//! real thread would only reach later.

use super::*;

/// Stack of the thread the bombs are parsed on: far less than a worker's threads have.
const SMALL_STACK: usize = 1024 * 1024;

fn parse_on_small_stack(xml: String) -> Result<Project, ProjectError> {
    std::thread::Builder::new()
        .stack_size(SMALL_STACK)
        .spawn(move || parse_project(&xml, Path::new("/x/bomb.mlt")))
        .unwrap()
        .join()
        .expect("parsing overflowed the stack or panicked")
}

/// `levels` `<multitrack>` nested in one `<tractor>`, the innermost holding a track.
fn multitrack_bomb(levels: usize) -> String {
    let mut xml =
        String::from(r#"<mlt><producer id="red" out="9" mlt_service="color" resource="red"/><tractor id="t">"#);
    xml.push_str(&"<multitrack>".repeat(levels));
    xml.push_str(r#"<track producer="red"/>"#);
    xml.push_str(&"</multitrack>".repeat(levels));
    xml.push_str("</tractor></mlt>");
    xml
}

#[test]
fn nested_multitracks_past_the_cap_are_refused_in_one_line() {
    for levels in [MAX_XML_DEPTH, 20_000, 100_000] {
        let err = parse_on_small_stack(multitrack_bomb(levels)).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "/x/bomb.mlt: invalid MLT project: elements are nested more than {MAX_XML_DEPTH} deep (at line 1); \
                 melt refuses such a project too"
            ),
            "{levels} levels"
        );
    }
}

#[test]
fn nesting_up_to_the_cap_is_read() {
    // <mlt> and <tractor> are two levels, the track one more.
    let levels = MAX_XML_DEPTH - 3;
    let project = parse_on_small_stack(multitrack_bomb(levels)).unwrap();
    assert_eq!(project.length_frames, 10);
}

#[test]
fn any_element_nested_past_the_cap_is_refused() {
    let deep = |tag: &str, levels: usize| {
        format!(
            r#"<mlt><producer id="red" out="9" mlt_service="color" resource="red">{}{}</producer></mlt>"#,
            format!("<{tag}>").repeat(levels),
            format!("</{tag}>").repeat(levels)
        )
    };
    for tag in ["property", "filter", "x"] {
        let err = parse_on_small_stack(deep(tag, 50_000)).unwrap_err();
        assert!(err.to_string().contains(&format!("nested more than {MAX_XML_DEPTH} deep")), "{tag}: {err}");
    }
    // Self-closing elements, comments, CDATA and markup inside attribute values do not nest.
    let flat = format!(
        r#"<mlt><producer id="red" out="9" mlt_service="color" resource="red">{}<!-- {} --><![CDATA[{}]]><property name="x" value="{}"/></producer></mlt>"#,
        "<property name=\"a\"/>".repeat(1000),
        "<a>".repeat(1000),
        "<b>".repeat(1000),
        "&lt;c&gt;".repeat(1000)
    );
    assert_eq!(parse_on_small_stack(flat).unwrap().length_frames, 10);
}

#[test]
fn chains_of_references_past_the_cap_are_refused() {
    // Each playlist refers to the one before: no XML nesting, but the length walk follows the ids.
    let mut xml = String::from(r#"<mlt><producer id="p0" out="0" mlt_service="color" resource="red"/>"#);
    for i in 1..=5000 {
        xml.push_str(&format!(r#"<playlist id="p{i}"><entry producer="p{}"/></playlist>"#, i - 1));
    }
    xml.push_str("</mlt>");
    let err = parse_on_small_stack(xml).unwrap_err();
    assert!(err.to_string().contains("is nested more than 256 deep"), "{err}");
}

#[test]
fn a_hundred_thousand_sibling_elements_are_read_in_linear_time() {
    // Each width bomb stays under the node limit, so it is read through: what matters is that no walk is quadratic.
    let n = 100_000;
    let bombs = [
        // Many producers with distinct files: the references are de-duplicated without comparing each pair.
        (0..n).map(|i| format!(r#"<producer id="c{i}" out="0" resource="/m/{i}.mp4"/>"#)).collect::<String>(),
        // Many filters on clips placed on a track: each filter's place is found without a scan of the document.
        format!(
            r#"<producer id="c" out="0" mlt_service="color" resource="red">{}</producer><playlist id="pl"><entry producer="c"/></playlist>"#,
            r#"<filter mlt_service="greyscale"/>"#.repeat(n)
        ),
        // The same id defined again and again, and referred to as often.
        format!(
            "{}<playlist id=\"pl\">{}</playlist>",
            r#"<producer id="c" out="0" mlt_service="color" resource="red"/>"#.repeat(n / 2),
            r#"<entry producer="c"/>"#.repeat(n / 2)
        ),
        // Many properties on one producer.
        format!(
            r#"<producer id="c" out="0" mlt_service="color" resource="red">{}</producer>"#,
            r#"<property name="x">1</property>"#.repeat(n)
        ),
    ];
    for body in bombs {
        let xml = format!("<mlt>{body}</mlt>");
        let project = parse_on_small_stack(xml).unwrap();
        assert!(project.length_frames >= 1);
    }
}

#[test]
fn more_nodes_than_the_limit_are_refused() {
    let xml = format!("<mlt>{}</mlt>", "<a/>".repeat(MAX_XML_NODES as usize + 1));
    let err = parse_on_small_stack(xml).unwrap_err();
    assert_eq!(err.to_string(), format!("/x/bomb.mlt: invalid MLT project: more than {MAX_XML_NODES} XML nodes"));
}
