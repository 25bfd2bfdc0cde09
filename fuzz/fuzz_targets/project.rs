//! An MLT project as a client sends it: parsed (entities, depth and node caps, the profile, every reference and
//! service, the length), then checked against a worker's services as dispatch and the worker do. Any text must give
//! a project or a one-line refusal, never a panic, an abort or a stack overflow.
#![no_main]

use distencode_mlt::{check_on_this_machine, filters_to_drop, parse_project, ServiceKind, ServiceSet};
use libfuzzer_sys::fuzz_target;
use std::path::Path;

/// A small worker's services: enough for a project to pass or fail on them.
const PRODUCERS: [&str; 8] = ["color", "colour", "avformat", "xml", "qtext", "count", "tone", "kdenlivetitle"];
const FILTERS: [&str; 4] = ["brightness", "volume", "affine", "frei0r.glow"];
const TRANSITIONS: [&str; 3] = ["mix", "luma", "composite"];

fuzz_target!(|data: &[u8]| {
    let Ok(xml) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(mut project) = parse_project(xml, Path::new("/srv/renders/fuzz/project.mlt")) else {
        return;
    };
    // The service check only: the file checks would open whatever paths the input names on this machine.
    project.references.clear();
    let mut services = ServiceSet::new();
    for (kind, names) in [
        (ServiceKind::Producer, &PRODUCERS[..]),
        (ServiceKind::Filter, &FILTERS[..]),
        (ServiceKind::Transition, &TRANSITIONS[..]),
    ] {
        for name in names {
            services.insert(kind, name);
        }
    }
    let _ = check_on_this_machine(&project, &services);
    let _ = filters_to_drop(&project, &services, &["brightness".to_string()]);
});
