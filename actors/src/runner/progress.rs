//! melt's `-progress2` lines (`Current Frame:   12, percentage:   24`): recognised, parsed and turned into progress.

use distencode_wire::job::Progress;
use std::time::Instant;

/// What a line of melt's output is: progress, log text, or both (with `-debug`, melt stamps its progress lines
/// with `| date time |`, and another thread's message may share the line).
pub fn split_line(line: &str) -> (Option<&str>, Option<(u64, f64)>) {
    let Some(at) = line.find("Current Frame:") else {
        return (Some(line), None);
    };
    let Some(progress) = parse_line(&line[at..]) else {
        return (Some(line), None);
    };
    let prefix = &line[..at];
    let only_stamps = prefix.chars().all(|c| c.is_ascii_digit() || " -:.|".contains(c));
    (if only_stamps { None } else { Some(prefix) }, Some(progress))
}

/// The frame and percentage of a progress line, or `None` for any other line.
pub fn parse_line(line: &str) -> Option<(u64, f64)> {
    let rest = line.trim().strip_prefix("Current Frame:")?;
    let (frame, percent) = rest.split_once(',')?;
    let frame = frame.trim().parse().ok()?;
    let percent = percent.trim().strip_prefix("percentage:")?.trim().parse::<f64>().ok()?;
    Some((frame, percent))
}

/// Turns successive frame numbers into speed and time left.
pub struct ProgressMeter {
    started: Instant,
    total_frames: u64,
}

impl ProgressMeter {
    pub fn new(total_frames: u64) -> Self {
        Self { started: Instant::now(), total_frames }
    }

    pub fn measure(&self, frame: u64, percent: f64) -> Progress {
        let elapsed = self.started.elapsed().as_secs_f64();
        let done = frame.saturating_add(1);
        let fps = if elapsed > 0.0 { done as f64 / elapsed } else { 0.0 };
        let left = self.total_frames.saturating_sub(done);
        let eta_seconds = (fps > 0.0).then(|| left as f64 / fps);
        // melt's own percentage stops at 99; 100 is kept for a verified success.
        Progress { frame, percent: percent.clamp(0.0, 99.0), fps, eta_seconds }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_melt_progress_lines() {
        assert_eq!(parse_line("Current Frame:         39, percentage:         78"), Some((39, 78.0)));
        assert_eq!(parse_line("\rCurrent Frame:          0, percentage:          0"), Some((0, 0.0)));
        assert_eq!(parse_line("[consumer avformat] audio codec nosuch unrecognised - ignoring"), None);
        assert_eq!(parse_line("Current Frame: x, percentage: 3"), None);
        assert_eq!(parse_line("Current Frame: 3"), None);
    }

    #[test]
    fn splits_stamped_and_shared_lines() {
        let stamped = "| 2026-11-25 04:05:50.690 | Current Frame:        258, percentage:         51";
        assert_eq!(split_line(stamped), (None, Some((258, 51.0))));
        let doubled = "| 2026-11-25 04:05:51.672 | | 2026-11-25 04:05:51.672 | Current Frame: 298, percentage: 59";
        assert_eq!(split_line(doubled), (None, Some((298, 59.0))));
        let shared = "[filter x] hello Current Frame: 3, percentage: 1";
        assert_eq!(split_line(shared), (Some("[filter x] hello "), Some((3, 1.0))));
        assert_eq!(split_line("[consumer] plain"), (Some("[consumer] plain"), None));
        assert_eq!(split_line("Current Frame: nonsense"), (Some("Current Frame: nonsense"), None));
    }

    #[test]
    fn percent_stops_at_99() {
        let meter = ProgressMeter::new(10);
        assert_eq!(meter.measure(9, 100.0).percent, 99.0);
    }
}
