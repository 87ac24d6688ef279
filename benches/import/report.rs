//! The result table, its targets, the server's slow statements per step,
//! and the checks that make a run fail.

use std::fmt::Write as _;
use std::fs;
use std::path::Path;

use serde_json::Value;

use crate::child::{Bench, Run, tail};
use crate::{BENCH_LISTINGS, Result, SLOW_STATEMENT_MS};

/// What a step is measured against.
#[derive(Clone, Copy)]
pub enum Target {
    /// At most `max` times the reference (`of`: the `\copy` of the same
    /// file, or the import a rollback undoes).
    Ratio {
        reference: f64,
        of: &'static str,
        max: f64,
    },
    /// At most `max` seconds.
    Seconds(f64),
}

pub struct Line {
    pub step: String,
    pub rows: u64,
    pub file_mb: Option<f64>,
    pub copy_s: Option<f64>,
    pub seconds: f64,
    /// Cancelled by statement_timeout: `seconds` is a lower bound.
    pub timed_out: bool,
    pub target: Target,
    pub rss_mb: f64,
    /// importdesk's own CPU seconds (the client, not the server).
    pub client_cpu_s: f64,
    pub slow: Vec<(f64, String)>,
}

impl Line {
    pub fn met(&self) -> bool {
        !self.timed_out
            && match self.target {
                Target::Ratio { reference, max, .. } => self.seconds / reference <= max,
                Target::Seconds(max) => self.seconds < max,
            }
    }
}

/// Peak RSS of importdesk for any file size.
pub const MAX_RSS_MB: f64 = 100.0;

pub fn print_table(lines: &[Line]) {
    println!(
        "| step | rows | file MB | \\copy s | importdesk s | ratio | target | rows/s | peak RSS MB | client CPU s |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for l in lines {
        let opt = |v: Option<f64>, digits: usize| {
            v.map(|v| format!("{v:.digits$}"))
                .unwrap_or_else(|| "–".into())
        };
        let missed = if l.met() { "" } else { " MISSED" };
        let (ratio, target) = match l.target {
            Target::Ratio { reference, of, max } => (
                format!("{:.2}x {of}", l.seconds / reference),
                format!("≤ {max}x{missed}"),
            ),
            Target::Seconds(max) => ("–".into(), format!("< {max} s{missed}")),
        };
        let seconds = if l.timed_out {
            format!("> {:.0} (cancelled)", l.seconds)
        } else if l.seconds < 10.0 {
            format!("{:.3}", l.seconds)
        } else {
            format!("{:.2}", l.seconds)
        };
        // Throughput only for the steps that move the rows.
        let rows_per_s = match l.target {
            Target::Ratio { .. } if l.rows > 0 => Some(l.rows as f64 / l.seconds),
            _ => None,
        };
        let rss = format!(
            "{:.1}{}",
            l.rss_mb,
            if l.rss_mb < MAX_RSS_MB { "" } else { " MISSED" }
        );
        println!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {:.2} |",
            l.step,
            l.rows,
            opt(l.file_mb, 1),
            opt(l.copy_s, 2),
            seconds,
            ratio,
            target,
            opt(rows_per_s, 0),
            rss,
            l.client_cpu_s
        );
    }
}

/// The slowest statements of each step, from the server log.
pub fn print_slow(lines: &[Line]) {
    let mut slow_text = String::new();
    for l in lines {
        if l.slow.is_empty() {
            continue;
        }
        let _ = writeln!(slow_text, "- {} ({:.2} s):", l.step, l.seconds);
        let mut slow = l.slow.clone();
        slow.sort_by(|a, b| b.0.total_cmp(&a.0));
        for (ms, stmt) in slow.iter().take(6) {
            let _ = writeln!(slow_text, "  - {:.2} s `{}`", ms / 1000.0, short(stmt, 110));
        }
    }
    if !slow_text.is_empty() {
        println!();
        println!("Statements over {SLOW_STATEMENT_MS} ms (server log), slowest first:");
        println!();
        print!("{slow_text}");
    }
}

/// The least work a step's guarantees need, timed in the same run
/// (`floors.rs`).
pub struct Floor {
    /// The step it bounds, as its line names it.
    pub step: String,
    pub what: &'static str,
    pub seconds: f64,
    /// The step's own reference (its `\copy`, or the import it undoes).
    pub reference: f64,
}

impl Floor {
    pub fn ratio(&self) -> f64 {
        self.seconds / self.reference
    }
}

#[derive(Default)]
pub struct Report {
    pub lines: Vec<Line>,
    pub floors: Vec<Floor>,
    pub problems: Vec<String>,
}

impl Report {
    pub fn floor(&mut self, step: &str, what: &'static str, seconds: f64, reference: f64) {
        let f = Floor {
            step: step.into(),
            what,
            seconds,
            reference,
        };
        eprintln!(
            "# floor of {step}: {what}: {seconds:.2} s, {:.2}x",
            f.ratio()
        );
        self.floors.push(f);
    }

    fn floor_of(&self, step: &str) -> Option<&Floor> {
        self.floors.iter().find(|f| f.step == step)
    }

    /// Each floor next to the step it bounds and that step's target.
    pub fn print_floors(&self) {
        if self.floors.is_empty() {
            return;
        }
        println!(
            "Floors, timed in this run before importdesk's steps, from the same empty tables (psql, a seller of their own, tagged like an import or rollback so the capture logs every row):"
        );
        println!();
        println!("| step | target | importdesk | floor | floor s | floor ratio |");
        println!("|---|---:|---:|---|---:|---:|");
        for f in &self.floors {
            let Some(l) = self.lines.iter().find(|l| l.step == f.step) else {
                continue;
            };
            let Target::Ratio { reference, of, max } = l.target else {
                continue;
            };
            println!(
                "| {} | ≤ {max}x {of} | {:.2}x | {} | {:.2} | {:.2}x |",
                f.step,
                l.seconds / reference,
                f.what,
                f.seconds,
                f.ratio()
            );
        }
    }

    /// The targets met and missed, in one line; a missed one with its floor.
    pub fn print_verdict(&self) {
        let missed: Vec<String> = self
            .lines
            .iter()
            .filter(|l| !l.met() || l.rss_mb >= MAX_RSS_MB)
            .map(|l| match (self.floor_of(&l.step), l.target) {
                (Some(f), Target::Ratio { reference, max, .. }) => format!(
                    "{} ({:.2}x; its floor {:.2}x, {} the target {max}x{})",
                    l.step,
                    l.seconds / reference,
                    f.ratio(),
                    if f.ratio() > max { "above" } else { "within" },
                    if l.seconds <= f.seconds {
                        ", importdesk at or below it"
                    } else {
                        ""
                    }
                ),
                _ => l.step.clone(),
            })
            .collect();
        if missed.is_empty() {
            println!("All {} targets met.", self.lines.len());
        } else {
            println!(
                "{} of {} targets met; missed: {}.",
                self.lines.len() - missed.len(),
                self.lines.len(),
                missed.join("; ")
            );
        }
    }

    pub fn problem(&mut self, msg: String) {
        eprintln!("# CHECK FAILED {msg}");
        self.problems.push(msg);
    }

    /// Compares the bench seller's listings with a `\copy` table's fingerprint.
    pub fn check(&mut self, b: &Bench, what: &str, expected: &Option<String>) -> Result<()> {
        if let Some(expected) = expected {
            let got = b.fingerprint(BENCH_LISTINGS)?;
            if &got == expected {
                eprintln!("# check {what}: listings equal the \\copy table ({got})");
            } else {
                self.problem(format!(
                    "{what}: listings differ from the \\copy table ({got} vs {expected})"
                ));
            }
        }
        Ok(())
    }

    /// Prints the failed checks; an error when there are any.
    pub fn finish(&self) -> Result<()> {
        if self.problems.is_empty() {
            return Ok(());
        }
        println!();
        println!("CHECKS FAILED:");
        for p in &self.problems {
            println!("- {p}");
        }
        Err(format!("{} check(s) failed", self.problems.len()).into())
    }
}

/// Durations of the server's slow-statement log lines written since `from`.
pub fn slow_statements(log: &Path, from: u64) -> Vec<(f64, String)> {
    let Ok(text) = fs::read(log) else {
        return Vec::new();
    };
    let text = String::from_utf8_lossy(&text[(from as usize).min(text.len())..]).into_owned();
    let mut out: Vec<(f64, String)> = Vec::new();
    let mut current: Option<(f64, String)> = None;
    for line in text.lines() {
        if let Some(pos) = line.find("duration: ") {
            if let Some(c) = current.take() {
                out.push(c);
            }
            let rest = &line[pos + "duration: ".len()..];
            let ms: f64 = rest
                .split(' ')
                .next()
                .and_then(|v| v.parse().ok())
                .unwrap_or(0.0);
            let stmt = rest
                .split_once(": ")
                .map(|(_, s)| s.to_string())
                .unwrap_or_default();
            current = Some((ms, stmt));
        } else if let Some((_, stmt)) = current.as_mut() {
            // Continuation lines of a multi-line statement start with a tab.
            if line.starts_with('\t') || line.starts_with(' ') {
                stmt.push(' ');
                stmt.push_str(line.trim());
            } else {
                out.push(current.take().expect("checked"));
            }
        }
    }
    if let Some(c) = current {
        out.push(c);
    }
    out
}

/// The 1-minute load average: the machine may be shared, say how busy it was.
pub fn load_average() -> String {
    fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "?".into())
}

pub fn log_len(log: &Path) -> u64 {
    fs::metadata(log).map(|m| m.len()).unwrap_or(0)
}

pub fn short(stmt: &str, max: usize) -> String {
    let one_line: String = stmt.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() <= max {
        one_line
    } else {
        let mut s: String = one_line.chars().take(max - 1).collect();
        s.push('…');
        s
    }
}

pub fn json_of(run: &Run, what: &str) -> Result<Value> {
    serde_json::from_str(run.stdout.trim()).map_err(|e| {
        format!(
            "{what}: stdout is not one JSON document ({e}):\n{}",
            tail(&run.stdout, 10)
        )
        .into()
    })
}

pub fn count(v: &Value, path: &[&str]) -> i64 {
    let mut cur = v;
    for p in path {
        cur = &cur[*p];
    }
    cur.as_i64().unwrap_or(-1)
}
