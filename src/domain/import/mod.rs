//! Importing a listing CSV file: streamed, validated, all-or-nothing,
//! captured by the audit triggers, recorded in the history.
//!
//! Flow: a parser thread (`parse`) reads and maps records (`reader`,
//! `profile`) and encodes the valid ones as COPY text (`copy_text`); the
//! pipeline (`pipeline`) streams them into a temporary staging table in one
//! transaction tagged with the import id, checks them, merges the staging
//! table into `listings` with two set-based statements (update what really
//! changed, insert what is new) and records the result. Memory is bounded by
//! the channel between the two sides.

pub mod copy_text;
mod fingerprint;
mod parse;
mod pipeline;
pub mod profile;
pub mod reader;
pub mod rejects;
pub mod suggest;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

pub use crate::db::queries::import::{Counts, FieldChanges};
pub use fingerprint::{ImportRefused, PlanFingerprint};
pub use pipeline::{DryRunReview, run, run_for_review};
pub use profile::{MapOptions, ProfileKind};

use crate::domain::Cancel;
use crate::domain::actor::Actor;

/// How many row errors an outcome (and the history entry) keeps in full.
pub const KEPT_ERRORS: usize = 100;

#[derive(Debug, Clone)]
pub struct ImportRequest {
    pub path: PathBuf,
    pub seller: String,
    /// `None` detects the profile from the header.
    pub profile: Option<ProfileKind>,
    pub options: MapOptions,
    pub dry_run: bool,
    pub skip_invalid: bool,
    pub actor: Actor,
    /// Where `--skip-invalid` writes its rejects CSV.
    pub rejects_dir: PathBuf,
    /// The dry run's fingerprint (`--expect`): the import is refused, with
    /// nothing changed, when the file or the plan differs from it.
    pub expect: Option<PlanFingerprint>,
    /// Cancels the import (Esc in the console, a signal for the CLI): the
    /// transaction rolls back and the history records it as cancelled, with
    /// the cause given to the cancellation.
    pub cancel: Cancel,
}

/// One rejected row (or a problem with the whole file, without a line).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RowError {
    pub line: Option<u64>,
    pub column: Option<usize>,
    pub column_name: Option<String>,
    pub reason: String,
}

impl std::fmt::Display for RowError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(line) = self.line {
            write!(f, "line {line}")?;
            match (&self.column, &self.column_name) {
                (Some(c), Some(name)) => write!(f, ", column {c} ({name})")?,
                (Some(c), None) => write!(f, ", column {c}")?,
                _ => {}
            }
            write!(f, ": ")?;
        }
        f.write_str(&self.reason)
    }
}

#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ImportStatus {
    Completed,
    /// Rejected by validation (or interrupted): nothing changed.
    Failed,
    /// `--dry-run`: what would change; nothing changed.
    DryRun,
}

#[derive(Debug, Clone, Serialize)]
pub struct ImportOutcome {
    pub import_id: Option<i64>,
    pub status: ImportStatus,
    pub seller: String,
    pub file: String,
    pub file_sha256: Option<String>,
    pub profile: Option<String>,
    pub profile_detected: bool,
    pub key: Option<String>,
    pub unknown_columns: Vec<String>,
    pub counts: Counts,
    pub duration_seconds: f64,
    pub rows_per_second: f64,
    /// The first [`KEPT_ERRORS`] errors, in file order.
    pub errors: Vec<RowError>,
    /// All errors, including those not kept.
    pub error_count: u64,
    pub error_summary: Option<String>,
    pub rejects_file: Option<PathBuf>,
    /// Dry run only: the first listings that would be updated, field by field.
    pub changes: Option<Vec<FieldChanges>>,
    /// What a dry run would do (and a completed import did), pinned: pass
    /// it to `--expect` to import exactly that. `None` for a rejected file.
    pub plan_fingerprint: Option<PlanFingerprint>,
}

#[derive(Debug, Clone, Copy)]
pub struct Progress {
    pub rows_read: u64,
    pub bytes_read: u64,
    pub total_bytes: u64,
    pub elapsed: Duration,
    pub phase: Phase,
}

/// The stages of an import that take time, in order. Only reading has a
/// measure (bytes of the file); the others are single statements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Phase {
    /// Reading and checking the file's rows, streaming them to PostgreSQL.
    Reading,
    /// Finishing the load into the staging table, duplicate keys.
    Loading,
    /// Applying the changes to the listings (a dry run: working them out).
    Applying,
    /// Recording the import in the history, committing.
    Recording,
    Done,
}

impl Phase {
    /// Words for the phase, as the CLI and the console show it.
    pub fn label(self, dry_run: bool) -> &'static str {
        match (self, dry_run) {
            (Phase::Reading, _) => "reading and checking",
            (Phase::Loading, _) => "loading",
            (Phase::Applying, false) => "applying",
            (Phase::Applying, true) => "working out the changes",
            (Phase::Recording, _) => "recording",
            (Phase::Done, _) => "done",
        }
    }

    /// The share of the whole an import has done when this phase starts
    /// and ends (`dry_run`: no recording). Measured on a 300,000-row
    /// re-import (docs/console.md); only `Done` reaches 1.
    fn span(self, dry_run: bool) -> (f64, f64) {
        match (self, dry_run) {
            (Phase::Reading, false) => (0.0, 0.55),
            (Phase::Loading, false) => (0.55, 0.65),
            (Phase::Applying, false) => (0.65, 0.95),
            (Phase::Recording, false) => (0.95, 0.99),
            (Phase::Reading, true) => (0.0, 0.7),
            (Phase::Loading, true) => (0.7, 0.8),
            (Phase::Applying, true) | (Phase::Recording, true) => (0.8, 0.99),
            (Phase::Done, _) => (1.0, 1.0),
        }
    }
}

impl Progress {
    /// How far the whole import is, from 0 to 1: while reading, the share
    /// of the file's bytes read; after that, where the current phase
    /// starts (a phase without a measure does not pretend to move). 1 only
    /// once it is done.
    pub fn fraction(&self, dry_run: bool) -> f64 {
        let (start, end) = self.phase.span(dry_run);
        let within = match self.phase {
            Phase::Reading if self.total_bytes > 0 => {
                (self.bytes_read as f64 / self.total_bytes as f64).min(1.0)
            }
            _ => 0.0,
        };
        start + (end - start) * within
    }

    pub fn rows_per_second(&self) -> f64 {
        let secs = self.elapsed.as_secs_f64();
        if secs > 0.0 {
            self.rows_read as f64 / secs
        } else {
            0.0
        }
    }
}

/// Called from the import's worker thread; must be cheap.
pub type ProgressFn = Arc<dyn Fn(Progress) + Send + Sync>;

/// Why an import did not run at all (a file rejected by validation is not
/// an error: it is an outcome with status `failed`). Nothing was changed.
#[derive(Debug)]
pub enum ImportError {
    /// Refused: another import or rollback of the seller is running.
    SellerBusy {
        seller: String,
        /// The running import, in words, when it is an import.
        running: Option<String>,
    },
    /// The seller id is not one (checked before anything is written).
    InvalidSeller(crate::domain::seller::InvalidSeller),
    /// Refused: the file or the plan is no longer what the dry run showed
    /// (`expect`). The history records the refusal.
    Refused(ImportRefused),
    /// Cancelled while it ran (`cancel`); the history records it as
    /// failed, cancelled (a dry run leaves no history row).
    Cancelled { import_id: Option<i64> },
    /// Anything else (the database, the connection, the file system).
    Failed(color_eyre::Report),
}

impl From<color_eyre::Report> for ImportError {
    fn from(e: color_eyre::Report) -> Self {
        ImportError::Failed(e)
    }
}

impl std::fmt::Display for ImportError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ImportError::SellerBusy { seller, running } => {
                write!(
                    f,
                    "another import or rollback for seller {} is in progress",
                    crate::text::sanitize(seller)
                )?;
                if let Some(r) = running {
                    write!(f, " ({r})")?;
                }
                write!(f, "; try again when it has finished")
            }
            ImportError::InvalidSeller(e) => write!(f, "{e}"),
            ImportError::Refused(r) => f.write_str(r.message()),
            ImportError::Cancelled { import_id } => {
                write!(f, "the import was cancelled; nothing was changed")?;
                if let Some(id) = import_id {
                    write!(
                        f,
                        " (the history records import #{id} as failed: cancelled)"
                    )?;
                }
                Ok(())
            }
            ImportError::Failed(e) => write!(f, "{e:#}"),
        }
    }
}

impl std::error::Error for ImportError {}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(phase: Phase, bytes_read: u64) -> Progress {
        Progress {
            rows_read: 300,
            bytes_read,
            total_bytes: 1000,
            elapsed: Duration::from_secs(3),
            phase,
        }
    }

    #[test]
    fn progress_follows_the_bytes_read_then_the_phases_and_reaches_one_when_done() {
        assert_eq!(at(Phase::Reading, 0).fraction(false), 0.0);
        assert!((at(Phase::Reading, 500).fraction(false) - 0.275).abs() < 1e-9);
        assert!((at(Phase::Reading, 500).fraction(true) - 0.35).abs() < 1e-9);
        assert_eq!(at(Phase::Applying, 1000).fraction(false), 0.65);
        assert_eq!(at(Phase::Done, 1000).fraction(true), 1.0);
        assert_eq!(at(Phase::Reading, 500).rows_per_second(), 100.0);
        let just_started = Progress {
            elapsed: Duration::ZERO,
            ..at(Phase::Reading, 0)
        };
        assert_eq!(just_started.rows_per_second(), 0.0);
    }

    #[test]
    fn a_file_of_no_bytes_is_not_shown_read_before_it_is() {
        let empty = Progress {
            total_bytes: 0,
            ..at(Phase::Reading, 0)
        };
        assert_eq!(empty.fraction(false), 0.0);
        assert_eq!(empty.fraction(true), 0.0);
    }

    #[test]
    fn every_phase_has_its_own_words_and_a_dry_run_works_the_changes_out() {
        let phases = [
            Phase::Reading,
            Phase::Loading,
            Phase::Applying,
            Phase::Recording,
            Phase::Done,
        ];
        assert_eq!(
            phases.map(|p| p.label(false)),
            [
                "reading and checking",
                "loading",
                "applying",
                "recording",
                "done"
            ]
        );
        assert_eq!(Phase::Applying.label(true), "working out the changes");
        for p in phases.into_iter().filter(|p| *p != Phase::Applying) {
            assert_eq!(p.label(true), p.label(false), "{p:?}");
        }
    }
}
