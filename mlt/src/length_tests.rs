//! Length rules, each case rendered with melt 7.12 at 25 fps (frame counts
//! from ffprobe in the comments).

use super::*;
use crate::clock::TimeBase;

fn length_at(body: &str, num: u32, den: u32) -> Result<u64, String> {
    let xml = format!("<mlt>{body}</mlt>");
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let d = Doc::new(&doc, TimeBase::new(num, den));
    project_length(&d)
}

fn length(body: &str) -> Result<u64, String> {
    length_at(body, 25, 1)
}

const RED: &str = r#"<producer id="c" in="0" out="49"><property name="mlt_service">color</property><property name="resource">red</property></producer>"#;
const RED_10_29: &str = r#"<producer id="c" in="10" out="29"><property name="mlt_service">color</property><property name="resource">red</property></producer>"#;
const CLIP: &str = r#"<producer id="m" in="0" out="49"><property name="length">50</property><property name="resource">v50.mp4</property><property name="mlt_service">avformat</property></producer>"#;

#[test]
fn producers() {
    // color with no in/out: 15000 frames.
    assert_eq!(length(r#"<producer><property name="mlt_service">color</property></producer>"#), Ok(15000));
    assert_eq!(length(r#"<producer in="0" out="29" mlt_service="color"/>"#), Ok(30));
    assert_eq!(length(RED_10_29), Ok(20));
    // length property only: 40; out property only: 20.
    assert_eq!(
        length(
            r#"<producer><property name="length">40</property><property name="mlt_service">color</property></producer>"#
        ),
        Ok(40)
    );
    assert_eq!(
        length(
            r#"<producer><property name="out">19</property><property name="mlt_service">color</property></producer>"#
        ),
        Ok(20)
    );
    // property overrides attribute: 10.
    assert_eq!(
        length(
            r#"<producer out="29"><property name="out">9</property><property name="mlt_service">tone</property></producer>"#
        ),
        Ok(10)
    );
    // out past the default length is clamped (out="19999" -> 15000).
    assert_eq!(length(r#"<producer out="19999" mlt_service="noise"/>"#), Ok(15000));
    // reversed in/out are swapped: 20.
    assert_eq!(length(r#"<producer in="29" out="10" mlt_service="color"/>"#), Ok(20));
    // media with an explicit length longer than the file: 100 (melt pads).
    assert_eq!(
        length(
            r#"<producer out="99"><property name="length">100</property><property name="resource">v50.mp4</property></producer>"#
        ),
        Ok(100)
    );
    // media out past its length property is clamped: 40.
    assert_eq!(
        length(
            r#"<chain out="49"><property name="length">40</property><property name="resource">v50.mp4</property></chain>"#
        ),
        Ok(40)
    );
    // "1.5" is not a time (no colon): frame 1, 2 frames.
    assert_eq!(length(r#"<producer out="1.5" mlt_service="color"/>"#), Ok(2));
}

#[test]
fn media_without_out_is_refused() {
    // melt plays the file's length (50) or, for a chain with only a length, 1 frame.
    let e = length(r#"<producer id="m"><property name="resource">v50.mp4</property></producer>"#).unwrap_err();
    assert!(e.contains("producer \"m\" has no out point"), "{e}");
    assert!(length(
        r#"<chain><property name="length">40</property><property name="resource">v.mp4</property></chain>"#
    )
    .is_err());
    assert!(length(r#"<producer mlt_service="qimage" resource="a.png"/>"#).is_err());
    // avformat-novalidate without a length: melt plays 1 frame whatever the out.
    let e = length(r#"<chain id="ch" in="0" out="29"><property name="resource">v50.mp4</property><property name="mlt_service">avformat-novalidate</property></chain>"#).unwrap_err();
    assert!(e.contains("without a length"), "{e}");
    // a plain avformat chain with out only: 30 (the file is longer).
    assert_eq!(
        length(
            r#"<chain out="29"><property name="resource">v50.mp4</property><property name="mlt_service">avformat</property></chain>"#
        ),
        Ok(30)
    );
}

#[test]
fn clock_and_smpte_in_out() {
    // out="00:00:01.500" -> 39 frames; "00:00:01.460" -> 37 frames.
    assert_eq!(length(r#"<producer in="0" out="00:00:01.500" mlt_service="color"/>"#), Ok(39));
    assert_eq!(length(r#"<producer in="0" out="00:00:01.460" mlt_service="color"/>"#), Ok(37));
    assert_eq!(length(r#"<producer out="00:00:01:05" mlt_service="color"/>"#), Ok(31));
    // 29.97: out=00:00:20:00 is frame 600.
    assert_eq!(length_at(r#"<producer out="00:00:20:00" length="99999" mlt_service="color"/>"#, 30000, 1001), Ok(601));
}

#[test]
fn playlists() {
    // entry 5..14 (10) + blank 7 + media entry (50) + entry without in/out (50) = 117.
    let body = format!(
        r#"{RED}{CLIP}<playlist id="pl"><entry producer="c" in="5" out="14"/><blank length="7"/><entry producer="m"/><entry producer="c"/></playlist>"#
    );
    assert_eq!(length(&body), Ok(117));
    // entry without in/out plays the producer's in..out: 20.
    assert_eq!(length(&format!(r#"{RED_10_29}<playlist><entry producer="c"/></playlist>"#)), Ok(20));
    // entry with only in: out is length-1 of the producer (15000 - 15 = 14985).
    assert_eq!(length(&format!(r#"{RED_10_29}<playlist><entry producer="c" in="15"/></playlist>"#)), Ok(14985));
    // entry with only out: in is 0 -> 20.
    assert_eq!(length(&format!(r#"{RED_10_29}<playlist><entry producer="c" out="19"/></playlist>"#)), Ok(20));
    // entry past the producer's out but within its length: 100.
    assert_eq!(length(&format!(r#"{RED}<playlist><entry producer="c" in="0" out="99"/></playlist>"#)), Ok(100));
    // entry clamped to the producer's length (50): 40..49 = 10.
    assert_eq!(length(&format!(r#"{CLIP}<playlist><entry producer="m" in="40" out="99"/></playlist>"#)), Ok(10));
    // reversed entry: 20. SMPTE blank of 1 s + 20 = 45.
    assert_eq!(length(&format!(r#"{RED_10_29}<playlist><entry producer="c" in="29" out="10"/></playlist>"#)), Ok(20));
    assert_eq!(
        length(&format!(r#"{RED_10_29}<playlist><blank length="00:00:01:00"/><entry producer="c"/></playlist>"#)),
        Ok(45)
    );
    // in/out on the playlist are ignored: 100.
    assert_eq!(
        length(&format!(r#"{RED}<playlist in="0" out="29"><entry producer="c"/><entry producer="c"/></playlist>"#)),
        Ok(100)
    );
    // a producer defined inline and referred to again plays whole:
    // 10 + 5 + 15000 = 15015 and 10 + 15000 = 15010.
    let inline = r#"<producer id="c" in="0" out="9"><property name="mlt_service">color</property></producer>"#;
    assert_eq!(length(&format!(r#"<playlist>{inline}<blank length="5"/><entry producer="c"/></playlist>"#)), Ok(15015));
    assert_eq!(length(&format!(r#"<playlist>{inline}<entry producer="c"/></playlist>"#)), Ok(15010));
    // inline producer in a playlist plays its own in/out: 10.
    assert_eq!(
        length(
            r#"<playlist><producer in="0" out="9"><property name="length">40</property><property name="mlt_service">color</property></producer></playlist>"#
        ),
        Ok(10)
    );
}

#[test]
fn tractors() {
    // tractor in/out attributes and properties are ignored: 50, 50, 50.
    assert_eq!(
        length(&format!(r#"{RED}<tractor in="0" out="37"><multitrack><track producer="c"/></multitrack></tractor>"#)),
        Ok(50)
    );
    assert_eq!(length(&format!(r#"{RED}<tractor in="5" out="37"><track producer="c"/></tractor>"#)), Ok(50));
    assert_eq!(
        length(&format!(
            r#"{RED}<tractor><property name="out">37</property><multitrack><track producer="c"/></multitrack></tractor>"#
        )),
        Ok(50)
    );
    // track in/out are honoured: 20; and clamped to the length: 10.
    assert_eq!(
        length(&format!(r#"{RED}<tractor><multitrack><track producer="c" in="10" out="29"/></multitrack></tractor>"#)),
        Ok(20)
    );
    assert_eq!(
        length(&format!(r#"{CLIP}<tractor><multitrack><track producer="m" in="40" out="99"/></multitrack></tractor>"#)),
        Ok(10)
    );
    // longest track wins: 60.
    let body = format!(
        r#"{RED}<playlist id="a"><entry producer="c" in="0" out="29"/></playlist><playlist id="b"><entry producer="c"/><entry producer="c" in="0" out="9"/></playlist><tractor><multitrack><track producer="a"/><track producer="b"/></multitrack></tractor>"#
    );
    assert_eq!(length(&body), Ok(60));
    // an inline producer in a multitrack plays its whole length: 15000.
    assert_eq!(
        length(
            r#"<tractor><multitrack><producer in="0" out="9" mlt_service="color"/><playlist><blank length="30"/></playlist></multitrack></tractor>"#
        ),
        Ok(15000)
    );
}

#[test]
fn nested_tractors() {
    // inner tractor 20 frames, playlist 30: 30.
    let body = format!(
        r#"{RED}<tractor id="inner"><multitrack><track producer="c" in="0" out="19"/></multitrack></tractor><playlist id="b"><entry producer="c" in="0" out="29"/></playlist><tractor id="outer"><multitrack><track producer="inner"/><track producer="b"/></multitrack></tractor>"#
    );
    assert_eq!(length(&body), Ok(30));
    // a nested tractor's own out is ignored: 50.
    let body = format!(
        r#"{RED}<tractor id="inner" in="0" out="9"><multitrack><track producer="c"/></multitrack></tractor><tractor><multitrack><track producer="inner"/></multitrack></tractor>"#
    );
    assert_eq!(length(&body), Ok(50));
    // entries cutting a tractor: 10 + 50 = 60.
    let body = format!(
        r#"{RED}<tractor id="inner"><multitrack><track producer="c"/></multitrack></tractor><playlist><entry producer="inner" in="5" out="14"/><entry producer="inner"/></playlist>"#
    );
    assert_eq!(length(&body), Ok(60));
}

#[test]
fn trailing_element_is_rendered() {
    // a producer after a playlist: 10.
    let body = format!(
        r#"{RED}<playlist id="pl"><entry producer="c"/><entry producer="c"/></playlist><producer id="last" in="0" out="9" mlt_service="color"/>"#
    );
    assert_eq!(length(&body), Ok(10));
    // an unused trailing playlist of a 7-frame blank: 7; filters and consumers do not count.
    let body = format!(
        r#"{RED}<tractor><multitrack><track producer="c"/></multitrack></tractor><playlist><blank length="7"/></playlist><filter mlt_service="greyscale"/><consumer mlt_service="avformat"/>"#
    );
    assert_eq!(length(&body), Ok(7));
}

#[test]
fn references_are_resolved_like_melt() {
    // forward references are not seen by melt's streaming loader: refused here.
    // (melt 7.12 rendered only the 3-frame blank for this.)
    let body = r#"<playlist id="pl"><entry producer="c"/><blank length="3"/></playlist><producer id="c" out="9" mlt_service="color"/><tractor><track producer="pl"/></tractor>"#;
    let e = length(body).unwrap_err();
    assert!(e.contains("not defined before it"), "{e}");
    // a repeated id replaces the earlier one: 20.
    let body = r#"<producer id="c" out="9" mlt_service="color"/><producer id="c" out="19" mlt_service="color"/><playlist><entry producer="c"/></playlist>"#;
    assert_eq!(length(body), Ok(20));
}

#[test]
fn broken_structures_are_errors() {
    assert!(length("").is_err());
    assert!(length("<playlist/>").unwrap_err().contains("no frames"));
    assert!(length(r#"<playlist id="p"><entry producer="p"/></playlist>"#).unwrap_err().contains("itself"));
    assert!(length(r#"<playlist><entry/></playlist>"#).is_err());
    assert!(length(r#"<playlist><blank/></playlist>"#).is_err());
    assert!(length(r#"<playlist><entry><producer mlt_service="color"/></entry></playlist>"#).is_err());
    assert!(length(r#"<tractor><track><producer mlt_service="color"/></track></tractor>"#).is_err());
    assert!(length(r#"<producer out="-1" mlt_service="color"/>"#).unwrap_err().contains("negative"));
    assert!(length(r#"<producer in="-5" out="3" mlt_service="color"/>"#).is_err());
    assert!(length(r#"<producer out="99999999999999999999" mlt_service="color"/>"#).is_err());
    assert!(length(r#"<producer out="abc" mlt_service="color"/>"#).is_err());
    let many = r#"<producer id="c" out="2147483646" length="2147483647" mlt_service="color"/><playlist><entry producer="c"/><entry producer="c"/></playlist>"#;
    assert!(length(many).unwrap_err().contains("longer than"));
}

#[test]
fn deep_nesting_is_bounded() {
    let mut body = String::from(r#"<producer id="p0" out="0" mlt_service="color"/>"#);
    for i in 1..400 {
        body.push_str(&format!(r#"<playlist id="p{i}"><entry producer="p{}"/></playlist>"#, i - 1));
    }
    assert!(length(&body).unwrap_err().contains("nested"));
    // A wide diamond is fine (memoised): each level refers to the previous twice.
    let mut body = String::from(r#"<producer id="p0" out="0" mlt_service="color"/>"#);
    for i in 1..25 {
        body.push_str(&format!(
            r#"<tractor id="p{i}"><track producer="p{0}"/><track producer="p{0}"/></tractor>"#,
            i - 1
        ));
    }
    assert_eq!(length(&body), Ok(1));
}
