//! How values read on a page: times, ages ("3 s ago"), durations, progress. Plain functions of plain values, so the
//! templates stay free of logic and the words are tested here once.

use distencode_wire::job::{now_ms, JobRecord, JobState};

/// A unix-ms time as `2026-12-01 18:40:03 UTC`; `-` for none.
pub fn time(ms: Option<u64>) -> String {
    let Some(ms) = ms.filter(|ms| *ms > 0) else { return "-".into() };
    let Ok(time) = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000) else {
        return "-".into();
    };
    let t = time;
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// How long ago a unix-ms time was, from `now`: `3 s ago`, `5 min ago`, `2 h ago`, `4 d ago`; `never` for none.
pub fn ago(ms: u64, now: u64) -> String {
    if ms == 0 {
        return "never".into();
    }
    let seconds = now.saturating_sub(ms) / 1000;
    match seconds {
        0..=119 => format!("{seconds} s ago"),
        120..=7199 => format!("{} min ago", seconds / 60),
        7200..=172_799 => format!("{} h ago", seconds / 3600),
        _ => format!("{} d ago", seconds / 86_400),
    }
}

/// Seconds as `42 s`, `3 min 5 s`, `2 h 10 min`.
pub fn duration(seconds: f64) -> String {
    if !seconds.is_finite() || seconds < 0.0 {
        return "?".into();
    }
    let s = seconds.round() as u64;
    match s {
        0..=59 => format!("{s} s"),
        60..=3599 => format!("{} min {} s", s / 60, s % 60),
        _ => format!("{} h {} min", s / 3600, (s % 3600) / 60),
    }
}

/// A job's progress as the table and the job page show it.
#[derive(Clone, Debug, PartialEq)]
pub struct ProgressView {
    /// 0 to 100.
    pub percent: f64,
    /// `42%` or `-`.
    pub label: String,
    /// `frame 120, 24.0 fps, 5 s left`, or empty.
    pub detail: String,
}

impl ProgressView {
    pub fn of(job: &JobRecord) -> Self {
        match (job.state, &job.progress) {
            (JobState::Running, Some(p)) => {
                let left = p.eta_seconds.map(|s| format!(", {} left", duration(s))).unwrap_or_default();
                ProgressView {
                    percent: p.percent.clamp(0.0, 100.0),
                    label: format!("{:.0}%", p.percent),
                    detail: format!("frame {}, {:.1} fps{left}", p.frame, p.fps),
                }
            }
            (JobState::Running, None) => ProgressView { percent: 0.0, label: "0%".into(), detail: String::new() },
            (JobState::Succeeded, _) => {
                let frames = job.facts.as_ref().map(|f| format!("{} frames", f.frames)).unwrap_or_default();
                ProgressView { percent: 100.0, label: "100%".into(), detail: frames }
            }
            _ => ProgressView { percent: 0.0, label: "-".into(), detail: String::new() },
        }
    }
}

/// The characters of a long text a table cell shows (its title has all of it).
pub const CELL_CHARS: usize = 48;

/// `text` cut to [`CELL_CHARS`], with `…` when it was longer.
pub fn short(text: &str) -> String {
    match text.char_indices().nth(CELL_CHARS) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_string(),
    }
}

/// Now, for [`ago`].
pub fn now() -> u64 {
    now_ms()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_and_durations_read_as_people_say_them() {
        let now = 1_000_000_000;
        assert_eq!(ago(now - 3_000, now), "3 s ago");
        assert_eq!(ago(now - 300_000, now), "5 min ago");
        assert_eq!(ago(now - 3 * 3_600_000, now), "3 h ago");
        assert_eq!(ago(now - 4 * 86_400_000, now), "4 d ago");
        assert_eq!(ago(0, now), "never");
        assert_eq!(ago(now + 5_000, now), "0 s ago", "a clock a little ahead");
        assert_eq!(duration(42.4), "42 s");
        assert_eq!(duration(185.0), "3 min 5 s");
        assert_eq!(duration(7800.0), "2 h 10 min");
        assert_eq!(duration(f64::NAN), "?");
        assert_eq!(time(Some(1_795_629_600_000)), "2026-11-25 18:00:00 UTC");
        assert_eq!(time(None), "-");
    }
}
