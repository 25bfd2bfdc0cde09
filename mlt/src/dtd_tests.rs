//! DOCTYPEs as MLT's demos and inline-SVG projects write them are read, entities expanded; what could read other
//! files or expand without bound is refused, each with its reason.

use super::*;
use crate::{parse_project, ProjectError};
use std::path::Path;

/// MLT's `demo/entity.mlt`, byte for byte.
const MLT_DEMO_ENTITY: &str = "<?xml version=\"1.0\"?>\n<!DOCTYPE mlt SYSTEM \"../src/modules/xml/mlt-xml.dtd\" [\n\t<!ENTITY name \"mlt\">\n]>\n<mlt>\n  <producer id=\"producer0\">\n    <property name=\"mlt_service\">pango</property>\n\t<property name=\"text\">Hello &name;,\nMy name is Inigo Montoya.</property>\n  </producer>\n</mlt>\n";

fn refusal(xml: &str) -> String {
    match parse_project(xml, Path::new("/x/p.mlt")) {
        Err(ProjectError::DtdRefused(_, reason)) => reason,
        other => panic!("not refused for its DOCTYPE: {other:?}"),
    }
}

fn with_subset(subset: &str, body: &str) -> String {
    format!("<?xml version=\"1.0\"?>\n<!DOCTYPE mlt [\n{subset}\n]>\n<mlt><producer id=\"t\" out=\"9\"><property name=\"mlt_service\">pango</property><property name=\"text\">{body}</property></producer></mlt>")
}

#[test]
fn mlt_demo_entities_are_expanded() {
    assert_eq!(check(MLT_DEMO_ENTITY), Ok(()));
    let document = roxmltree::Document::parse_with_options(
        MLT_DEMO_ENTITY,
        roxmltree::ParsingOptions { allow_dtd: true, ..Default::default() },
    )
    .unwrap();
    let text = document.descendants().find(|n| n.attribute("name") == Some("text")).unwrap();
    assert_eq!(text.text(), Some("Hello mlt,\nMy name is Inigo Montoya."));
    // Read past its DOCTYPE; refused only because its producer names no length.
    let e = parse_project(MLT_DEMO_ENTITY, Path::new("/x/entity.mlt")).unwrap_err();
    assert!(matches!(e, ProjectError::Invalid(..)), "{e}");
}

#[test]
fn a_doctype_without_subset_or_with_a_public_id_is_read() {
    let bare = r#"<?xml version="1.0"?><!DOCTYPE mlt><mlt><producer out="1" mlt_service="color"/></mlt>"#;
    assert!(parse_project(bare, Path::new("/x/p.mlt")).is_ok());
    // MLT's demo/svg.mlt: an SVG public id (never fetched) and style entities used inside an inline SVG.
    let svg = with_subset(r#"<!ENTITY st1 "stroke-width:0.8755;">"#, "&st1;&st1;")
        .replace("<!DOCTYPE mlt [", r#"<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 20000303 Stylable//EN"   "http://www.w3.org/TR/2000/03/WD-SVG-20000303/DTD/svg-20000303-stylable.dtd" ["#);
    assert_eq!(check(&svg), Ok(()));
    assert!(parse_project(&svg, Path::new("/x/p.mlt")).is_ok());
}

#[test]
fn external_and_parameter_entities_are_refused() {
    let external = with_subset(r#"<!ENTITY secret SYSTEM "file:///etc/passwd">"#, "&secret;");
    assert_eq!(refusal(&external), "entity \"secret\" is external (it would read another file)");
    let public = with_subset(r#"<!ENTITY x PUBLIC "-//x//EN" "http://example.org/x">"#, "&x;");
    assert_eq!(refusal(&public), "entity \"x\" is external (it would read another file)");
    let parameter = with_subset(r#"<!ENTITY % p "<!ENTITY x 'y'>"> %p;"#, "&x;");
    assert_eq!(refusal(&parameter), "it declares a parameter entity");
    let used = with_subset("%p;", "");
    assert_eq!(refusal(&used), "it uses a parameter entity");
    let other = with_subset("<!ELEMENT mlt ANY>", "");
    assert_eq!(refusal(&other), "its internal subset may only declare entities, not \"<!ELEMENT ml\"");
    let message = parse_project(&external, Path::new("/x/p.mlt")).unwrap_err().to_string();
    assert_eq!(message, "/x/p.mlt: refused DOCTYPE: entity \"secret\" is external (it would read another file)");
}

/// The classic: ten levels of ten references each, a billion `lol`s.
fn billion_laughs(levels: usize) -> String {
    let mut subset = String::from(r#"<!ENTITY lol0 "lol">"#);
    for i in 1..levels {
        let refs = format!("&lol{};", i - 1).repeat(10);
        subset.push_str(&format!("\n<!ENTITY lol{i} \"{refs}\">"));
    }
    with_subset(&subset, &format!("&lol{};", levels - 1))
}

#[test]
fn billion_laughs_is_refused_and_a_small_expansion_is_not() {
    // lol6 is 3 000 000 bytes, lol7 ten times that.
    assert_eq!(refusal(&billion_laughs(10)), "entity \"lol7\" would expand to more than 4194304 bytes");
    assert_eq!(check(&billion_laughs(7)), Ok(()), "3 000 000 bytes are within the cap");
}

#[test]
fn the_expansion_cap_counts_every_reference_in_the_document() {
    let kib = "x".repeat(1024);
    let subset = format!(r#"<!ENTITY k "{kib}">"#);
    let at_cap = (MAX_EXPANDED_BYTES / 1024) as usize;
    assert_eq!(check(&with_subset(&subset, &"&k;".repeat(at_cap))), Ok(()));
    assert_eq!(
        check(&with_subset(&subset, &"&k;".repeat(at_cap + 1))),
        Err("its entities would expand to more than 4194304 bytes".into())
    );
}

#[test]
fn loops_deep_nesting_and_too_many_entities_are_refused() {
    let looped = with_subset(r#"<!ENTITY a "&b;"> <!ENTITY b "&a;">"#, "&a;");
    let e = refusal(&looped);
    assert!(e == "entity \"a\" refers to itself" || e == "entity \"b\" refers to itself", "{e}");
    let mut deep = String::from(r#"<!ENTITY e0 "x">"#);
    for i in 1..=MAX_ENTITY_DEPTH {
        deep.push_str(&format!("<!ENTITY e{i} \"&e{};\">", i - 1));
    }
    assert_eq!(check(&with_subset(&deep, &format!("&e{MAX_ENTITY_DEPTH};"))), Ok(()), "nesting at the limit");
    deep.push_str(&format!("<!ENTITY e{} \"&e{};\">", MAX_ENTITY_DEPTH + 1, MAX_ENTITY_DEPTH));
    assert_eq!(check(&with_subset(&deep, "")), Err("its entities nest deeper than 8".into()), "past the limit");
    let many: String = (0..MAX_ENTITIES).map(|i| format!("<!ENTITY n{i} \"v\">")).collect();
    assert_eq!(check(&with_subset(&many, "")), Ok(()));
    let too_many = format!("{many}<!ENTITY last \"v\">");
    assert_eq!(check(&with_subset(&too_many, "")), Err("it declares more than 1024 entities".into()));
}

#[test]
fn broken_doctypes_are_refused_without_panicking() {
    for xml in [
        "<!DOCTYPE",
        "<!DOCTYPE mlt [",
        "<!DOCTYPE mlt [<!ENTITY",
        "<!DOCTYPE mlt [<!ENTITY a",
        "<!DOCTYPE mlt [<!ENTITY a \"b",
        "<!DOCTYPE mlt [<!ENTITY a \"b\"",
        "<!DOCTYPE mlt [<!ENTITY a \"b\">",
        "<!DOCTYPE mlt [<!ENTITY a \"b\">]",
        "<!DOCTYPE mlt \"unclosed",
        "<!DOCTYPE mlt [<!-- unclosed",
        "<!DOCTYPE mlt [<!ENTITY a b>]><mlt/>",
    ] {
        assert!(check(xml).is_err(), "{xml:?}");
        assert!(parse_project(xml, Path::new("/x/p.mlt")).is_err(), "{xml:?}");
    }
}
