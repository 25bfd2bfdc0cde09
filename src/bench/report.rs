//! A benchmark's result: rows of (what, measured, target), the machine it ran on, and notes; printed as a table or
//! as one JSON object (`--json`).

use serde_json::{json, Value};

/// One measured figure.
pub struct Row {
    pub metric: String,
    pub value: f64,
    pub unit: &'static str,
    /// The target, as text (`≤ 5 ms`), and whether the value meets it; `None` when there is no target.
    pub target: Option<(String, bool)>,
}

impl Row {
    pub fn new(metric: impl Into<String>, value: f64, unit: &'static str) -> Self {
        Self { metric: metric.into(), value, unit, target: None }
    }

    /// Target: at most `limit`.
    pub fn at_most(mut self, limit: f64) -> Self {
        self.target = Some((format!("≤ {} {}", fmt(limit), self.unit), self.value <= limit));
        self
    }

    /// Target: at least `limit`.
    pub fn at_least(mut self, limit: f64) -> Self {
        self.target = Some((format!("≥ {} {}", fmt(limit), self.unit), self.value >= limit));
        self
    }
}

pub struct Report {
    pub bench: &'static str,
    pub rows: Vec<Row>,
    pub notes: Vec<String>,
    pub load_before: String,
}

impl Report {
    pub fn new(bench: &'static str) -> Self {
        Self { bench, rows: Vec::new(), notes: Vec::new(), load_before: loadavg() }
    }

    pub fn row(&mut self, row: Row) {
        self.rows.push(row);
    }

    pub fn note(&mut self, note: impl Into<String>) {
        self.notes.push(note.into());
    }

    /// Prints the result on stdout (a closed pipe, as with `| head`, is no error).
    pub fn print(&self, json: bool) {
        use std::io::Write;
        let _ = std::io::stdout().lock().write_all(self.render(json).as_bytes());
    }

    fn render(&self, json: bool) -> String {
        use std::fmt::Write;
        let mut out = String::new();
        let machine = machine();
        let load_after = loadavg();
        if json {
            let rows: Vec<Value> = self
                .rows
                .iter()
                .map(|r| {
                    json!({
                        "metric": r.metric,
                        "value": r.value,
                        "unit": r.unit,
                        "target": r.target.as_ref().map(|t| t.0.clone()),
                        "met": r.target.as_ref().map(|t| t.1),
                    })
                })
                .collect();
            let value = json!({
                "bench": self.bench,
                "machine": machine,
                "load_before": self.load_before,
                "load_after": load_after,
                "rows": rows,
                "notes": self.notes,
            });
            let _ = writeln!(out, "{value}");
            return out;
        }
        let _ = writeln!(
            out,
            "distencode bench {}  ({machine}; load average before {}, after {load_after})",
            self.bench, self.load_before
        );
        let width = self.rows.iter().map(|r| r.metric.chars().count()).max().unwrap_or(6).max(6);
        let _ = writeln!(out, "  {:<width$}  {:>12}  {:<6}  {:<14}  met", "metric", "measured", "unit", "target");
        for r in &self.rows {
            let (target, met) = match &r.target {
                Some((t, m)) => (t.as_str(), if *m { "yes" } else { "NO" }),
                None => ("-", ""),
            };
            let _ = writeln!(out, "  {:<width$}  {:>12}  {:<6}  {:<14}  {met}", r.metric, fmt(r.value), r.unit, target);
        }
        for note in &self.notes {
            let _ = writeln!(out, "  note: {note}");
        }
        out
    }
}

/// A figure with sensible precision.
fn fmt(v: f64) -> String {
    if v.abs() >= 100.0 {
        format!("{v:.0}")
    } else if v.abs() >= 10.0 {
        format!("{v:.1}")
    } else if v.abs() >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    }
}

/// Cores and memory of this machine.
fn machine() -> String {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let mem_gib = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0 / 1024.0);
    format!("{cores} cores, {mem_gib:.0} GiB")
}

/// The 1, 5 and 15 minute load averages: what else the machine was doing.
fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}
