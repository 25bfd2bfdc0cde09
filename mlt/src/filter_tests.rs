//! A filter no worker has: the refusal names the filter, the clip and track it sits on and the name this melt has it
//! under; with `--allow-missing-filters` only the filters are optional, never producers or transitions.

use super::*;
use crate::check::{check_on_this_machine, filters_to_drop};

/// A Kdenlive 24.x timeline: a clip with frei0r 2.x's alphaspot, a track with a blur, a dissolve between tracks.
const SAVED_WITH_FREI0R_2: &str = r#"<mlt LC_NUMERIC="C" version="7.24.0">
  <profile frame_rate_num="25" frame_rate_den="1" width="320" height="240"/>
  <producer id="black_track" in="0" out="49"><property name="mlt_service">color</property><property name="resource">black</property></producer>
  <chain id="chain0" in="0" out="49"><property name="mlt_service">color</property><property name="resource">red</property>
    <filter id="filter0"><property name="mlt_service">frei0r.alpha0ps_alphaspot</property></filter>
  </chain>
  <playlist id="playlist0"><entry producer="chain0" in="0" out="49"/>
    <filter id="filter1"><property name="mlt_service">avfilter.gblur</property></filter>
  </playlist>
  <tractor id="tractor0" in="0" out="49">
    <track producer="black_track"/><track producer="playlist0"/>
    <transition id="transition0"><property name="mlt_service">luma</property><property name="a_track">0</property><property name="b_track">1</property></transition>
  </tractor>
</mlt>"#;

fn project() -> Project {
    parse_project(SAVED_WITH_FREI0R_2, Path::new("/p/x.kdenlive")).unwrap()
}

/// A melt with frei0r 1.8: every service of the project, except that alphaspot has its old name.
fn frei0r_1_8(without: &[&str]) -> ServiceSet {
    let mut set = ServiceSet::new();
    let all = [
        (ServiceKind::Producer, "color"),
        (ServiceKind::Filter, "frei0r.alphaspot"),
        (ServiceKind::Filter, "avfilter.gblur"),
        (ServiceKind::Transition, "luma"),
    ];
    for (kind, name) in all.into_iter().filter(|(_, name)| !without.contains(name)) {
        set.insert(kind, name);
    }
    set
}

#[test]
fn the_refusal_names_the_filter_its_clip_and_track_and_its_other_name() {
    let refusal = check_on_this_machine(&project(), &frei0r_1_8(&[])).unwrap_err();
    assert_eq!(
        refusal.to_string(),
        "unknown services: frei0r.alpha0ps_alphaspot (filter \"filter0\" on chain \"chain0\" (in playlist \
         \"playlist0\"); this melt has frei0r.alphaspot, the same service under its name in another frei0r/MLT \
         version)"
    );
    let without_blur = check_on_this_machine(&project(), &frei0r_1_8(&["avfilter.gblur"])).unwrap_err();
    assert!(
        without_blur.to_string().contains("avfilter.gblur (filter \"filter1\" on playlist \"playlist0\")"),
        "{without_blur}"
    );
}

#[test]
fn only_filters_are_optional() {
    let project = project();
    let only: Vec<String> = project.filter_only_services().into_iter().collect();
    assert_eq!(only, ["avfilter.gblur", "frei0r.alpha0ps_alphaspot"]);
    let available = frei0r_1_8(&[]);
    assert_eq!(filters_to_drop(&project, &available, &only), ["frei0r.alpha0ps_alphaspot"]);
    // A missing transition stays a hard error, whatever is optional.
    let no_luma = frei0r_1_8(&["luma"]);
    let mut dropped = project.clone();
    dropped.drop_filters(&filters_to_drop(&project, &no_luma, &only));
    assert_eq!(check_on_this_machine(&dropped, &no_luma).unwrap_err().to_string(), "unknown services: luma");
}

#[test]
fn a_dropped_filter_is_no_longer_required_and_its_load_failure_not_fatal() {
    let mut project = project();
    let available = frei0r_1_8(&[]);
    let only: Vec<String> = project.filter_only_services().into_iter().collect();
    project.drop_filters(&filters_to_drop(&project, &available, &only));
    assert_eq!(check_on_this_machine(&project, &available), Ok(()));
    assert!(!project.services.contains("frei0r.alpha0ps_alphaspot"));
    assert!(project.disabled_services.contains("frei0r.alpha0ps_alphaspot"));
    assert!(project.services.contains("avfilter.gblur"), "a filter this melt has stays");
    assert_eq!(project.dropped_filters, ["frei0r.alpha0ps_alphaspot"]);
}
