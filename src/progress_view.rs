//! How a followed job shows its progress: an indicatif bar on a terminal, plain lines otherwise (a log file, CI).

use crate::output;
use distencode_wire::job::{JobRecord, JobState};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;

/// Shows each version of a followed job: a line at each change of state, and progress in between.
pub struct ProgressView {
    style: Style,
    /// The state, worker and reason to wait last shown, so each change is told once.
    last: Option<(JobState, Option<String>, Option<String>)>,
}

enum Style {
    /// A terminal: an indicatif bar while it runs.
    Bar(Option<ProgressBar>),
    /// Not a terminal: a plain line each tenth of the way.
    Plain(Option<u64>),
    /// `--json`: nothing until the end.
    Quiet,
}

impl ProgressView {
    pub fn new(json: bool) -> Self {
        let style = if json {
            Style::Quiet
        } else if std::io::stdout().is_terminal() {
            Style::Bar(None)
        } else {
            Style::Plain(None)
        };
        Self { style, last: None }
    }

    /// Shows one version of the job (a queued one again when the reason it waits changes).
    pub fn show(&mut self, job: &JobRecord) {
        let now = (job.state, job.worker.clone(), job.waiting.clone());
        if self.last.as_ref() != Some(&now) {
            self.last = Some(now);
            self.state_changed(job);
        }
        let Some(progress) = job.progress.as_ref().filter(|_| job.state == JobState::Running) else {
            return;
        };
        match &mut self.style {
            Style::Quiet => {}
            Style::Plain(last_tenth) => {
                let tenth = (progress.percent / 10.0) as u64;
                if *last_tenth != Some(tenth) {
                    *last_tenth = Some(tenth);
                    println!("{}", output::describe(job));
                }
            }
            Style::Bar(bar) => {
                let bar = bar.get_or_insert_with(new_bar);
                bar.set_position(progress.percent.round() as u64);
                let left = progress.eta_seconds.map(|s| format!("{s:.0} s")).unwrap_or_else(|| "?".into());
                bar.set_message(format!("{:.1} fps, {left} left", progress.fps));
            }
        }
    }

    fn state_changed(&mut self, job: &JobRecord) {
        let line = output::describe_state(job);
        match &mut self.style {
            Style::Quiet => {}
            Style::Plain(last_tenth) => {
                *last_tenth = None;
                println!("{line}");
            }
            Style::Bar(bar) => {
                if let Some(bar) = bar.take() {
                    if job.state == JobState::Succeeded {
                        bar.set_position(100);
                    }
                    bar.finish_and_clear();
                }
                println!("{line}");
            }
        }
    }
}

fn new_bar() -> ProgressBar {
    let bar = ProgressBar::new(100);
    let style = ProgressStyle::with_template("{bar:40.cyan/blue} {pos:>3}% {msg}")
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
    bar.set_style(style);
    bar
}
