//! A worker's progress numbers are kept only in range (found by the `frame` fuzz target: a NaN time left).

use super::Progress;

#[test]
fn nan_infinite_and_negative_progress_numbers_are_kept_in_range() {
    let wild = Progress { frame: 7, percent: f64::NAN, fps: f64::NEG_INFINITY, eta_seconds: Some(f64::NAN) };
    assert_eq!(wild.in_range(), Progress { frame: 7, percent: 0.0, fps: 0.0, eta_seconds: None });
    let out = Progress { frame: 1, percent: 250.0, fps: -3.0, eta_seconds: Some(-5.0) };
    assert_eq!(out.in_range(), Progress { frame: 1, percent: 100.0, fps: 0.0, eta_seconds: Some(0.0) });
    let far = Progress { frame: 1, percent: 5.0, fps: 25.0, eta_seconds: Some(f64::INFINITY) };
    assert_eq!(far.in_range().eta_seconds, None);
    let huge = Progress { frame: 1, percent: 5.0, fps: 25.0, eta_seconds: Some(1e300) };
    assert_eq!(huge.in_range().eta_seconds, Some(10.0 * 365.25 * 24.0 * 3600.0));
    let fast = Progress { frame: 1, percent: 5.0, fps: 1e308, eta_seconds: None };
    assert_eq!(fast.in_range().fps, 1_000_000.0);
    let fine = Progress { frame: 12, percent: 48.0, fps: 30.5, eta_seconds: Some(2.0) };
    assert_eq!(fine.clone().in_range(), fine);
}
