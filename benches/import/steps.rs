//! The timed steps: an import (or dry run) of a file, a rollback preview and
//! a rollback, each checked against the counts it must report.

use crate::child::{Bench, Run, tail};
use crate::report::{Line, Report, Target, count, json_of, log_len, slow_statements};
use crate::{DataFile, Result, SELLER};

pub struct ImportStep<'a> {
    pub step: String,
    pub file: &'a DataFile,
    pub copy: &'a Run,
    /// At most this many times the `\copy` of the same file.
    pub target: f64,
    pub dry_run: bool,
    /// created, updated, unchanged
    pub expect: (i64, i64, i64),
}

impl ImportStep<'_> {
    pub fn run(self, b: &Bench, report: &mut Report) -> Result<Run> {
        b.settle()?;
        let log = b.server_log();
        let from = log_len(&log);
        let path = self.file.path.to_string_lossy();
        let mut args = vec!["import", &path, "--seller", SELLER, "--json"];
        if self.dry_run {
            args.push("--dry-run");
        }
        let r = b.run_importdesk(&args)?;
        if !r.ok() {
            return Err(r
                .describe_failure(&format!("importdesk import ({})", self.step))
                .into());
        }
        let j = json_of(&r, &self.step)?;
        let got = (
            count(&j, &["counts", "created"]),
            count(&j, &["counts", "updated"]),
            count(&j, &["counts", "unchanged"]),
        );
        eprintln!(
            "# {}: {:.2} s wall ({:.2} s reported), peak RSS {:.1} MB, import #{} {} created {} updated {} unchanged {} rejected {}",
            self.step,
            r.seconds,
            j["duration_seconds"].as_f64().unwrap_or(f64::NAN),
            r.rss_mb(),
            j["import_id"],
            j["status"],
            got.0,
            got.1,
            got.2,
            count(&j, &["counts", "rejected"])
        );
        if got != self.expect {
            report.problem(format!(
                "{}: counts created/updated/unchanged {got:?}, expected {:?}",
                self.step, self.expect
            ));
        }
        report.lines.push(Line {
            step: self.step,
            rows: (got.0 + got.1 + got.2).max(0) as u64,
            file_mb: Some(self.file.mb),
            copy_s: Some(self.copy.seconds),
            seconds: r.seconds,
            timed_out: false,
            target: Target::Ratio {
                reference: self.copy.seconds,
                of: "\\copy",
                max: self.target,
            },
            rss_mb: r.rss_mb(),
            client_cpu_s: r.cpu_seconds,
            slow: slow_statements(&log, from),
        });
        Ok(r)
    }
}

/// A preview (counts and first page) within this time.
pub const PREVIEW_SECONDS: f64 = 0.2;
/// A rollback within this share of its import's time.
pub const ROLLBACK_RATIO: f64 = 0.5;

/// `rollback --last --preview`, then `rollback --last --yes`.
pub struct RollbackStep<'a> {
    pub name: &'static str,
    pub import: &'a Run,
    /// restored, deleted
    pub expect: (i64, i64),
    /// The bench seller's listings afterwards (a `\copy` table's fingerprint).
    pub after: &'a Option<String>,
}

impl RollbackStep<'_> {
    pub fn run(self, b: &Bench, preview_timeout: u64, report: &mut Report) -> Result<()> {
        let name = self.name;
        let (restore, delete) = self.expect;
        let (p, line) = preview(b, SELLER, name, preview_timeout, (restore + delete) as u64)?;
        if !p.ok() && !line.timed_out {
            return Err(p
                .describe_failure(&format!("rollback preview of the {name}"))
                .into());
        }
        if line.timed_out {
            report.problem(format!(
                "preview of the {name} took longer than --preview-timeout {preview_timeout} s"
            ));
        } else {
            let pj = json_of(&p, "preview")?;
            let got = (
                count(&pj, &["preview", "counts", "restore"]),
                count(&pj, &["preview", "counts", "delete"]),
            );
            eprintln!(
                "# preview of the {name}: {:.3} s wall, peak RSS {:.1} MB, to delete {} restore {} skip {}",
                p.seconds,
                p.rss_mb(),
                got.1,
                got.0,
                count(&pj, &["preview", "counts", "skip"]),
            );
            if got != self.expect {
                report.problem(format!(
                    "preview of the {name}: restore/delete {got:?}, expected {:?}",
                    self.expect
                ));
            }
        }
        report.lines.push(line);

        b.settle()?;
        let log = b.server_log();
        let from = log_len(&log);
        let r = b.run_importdesk(&["rollback", "--last", "--seller", SELLER, "--yes", "--json"])?;
        if !r.ok() {
            return Err(r
                .describe_failure(&format!("rollback of the {name}"))
                .into());
        }
        let rj = json_of(&r, "rollback")?;
        let got = (count(&rj, &["restored"]), count(&rj, &["deleted"]));
        eprintln!(
            "# rollback of the {name}: {:.2} s wall ({:.2} s reported), peak RSS {:.1} MB, restored {} deleted {} skipped {}",
            r.seconds,
            rj["duration_seconds"].as_f64().unwrap_or(f64::NAN),
            r.rss_mb(),
            got.0,
            got.1,
            count(&rj, &["skipped"])
        );
        if got != self.expect {
            report.problem(format!(
                "rollback of the {name}: restored/deleted {got:?}, expected {:?}",
                self.expect
            ));
        }
        report.lines.push(Line {
            step: rollback_line(name),
            rows: (restore + delete) as u64,
            file_mb: None,
            copy_s: None,
            seconds: r.seconds,
            timed_out: false,
            target: Target::Ratio {
                reference: self.import.seconds,
                of: "import",
                max: ROLLBACK_RATIO,
            },
            rss_mb: r.rss_mb(),
            client_cpu_s: r.cpu_seconds,
            slow: slow_statements(&log, from),
        });
        report.check(b, &format!("after the rollback of the {name}"), self.after)
    }
}

/// The table's name of a rollback's line.
pub fn rollback_line(name: &str) -> String {
    format!("rollback of the {name}")
}

/// A timed `rollback --last --preview --json`, cancelled by the server after
/// `timeout` seconds; its line in the table.
pub fn preview(
    b: &Bench,
    seller: &str,
    name: &str,
    timeout: u64,
    rows: u64,
) -> Result<(Run, Line)> {
    b.settle()?;
    let log = b.server_log();
    let from = log_len(&log);
    let p = b.run_importdesk_limited(
        timeout,
        &[
            "rollback",
            "--last",
            "--seller",
            seller,
            "--preview",
            "--json",
        ],
    )?;
    let timed_out = !p.ok() && p.stderr.contains("statement timeout");
    if timed_out {
        eprintln!(
            "# preview of the {name}: cancelled by statement_timeout after {:.1} s wall:\n{}",
            p.seconds,
            tail(&p.stderr, 5)
        );
    }
    let line = Line {
        step: format!("rollback preview ({name}, counts + first page)"),
        rows,
        file_mb: None,
        copy_s: None,
        seconds: p.seconds,
        timed_out,
        target: Target::Seconds(PREVIEW_SECONDS),
        rss_mb: p.rss_mb(),
        client_cpu_s: p.cpu_seconds,
        slow: slow_statements(&log, from),
    };
    Ok((p, line))
}
