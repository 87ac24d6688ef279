//! Rolling back a seller's most recent import: eligibility, the preview
//! (counts, fingerprint, pages of details), and the execution in one
//! transaction under the seller's lock (docs/rollback.md).

mod execute;
mod plan;

use chrono::{DateTime, Utc};
use serde::Serialize;

pub use crate::db::queries::rollback::Seek;
pub use execute::{RollbackOutcome, RollbackRequest, execute};
pub use plan::{eligibility, last_applied, preview, preview_page};

/// What to do with listings changed after the import (`--on-conflict`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum ConflictMode {
    /// Roll back everything else; list the skipped listings.
    Skip,
    /// Refuse and change nothing when any listing would be skipped.
    Block,
}

/// Why an import cannot be rolled back (shown as is by the CLI and console).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum Ineligible {
    NotFound {
        id: i64,
    },
    StillRunning {
        id: i64,
    },
    Failed {
        id: i64,
    },
    AlreadyRolledBack {
        id: i64,
        at: Option<DateTime<Utc>>,
        by: Option<String>,
    },
    NewerApplied {
        id: i64,
        newer: i64,
    },
    NewerRunning {
        id: i64,
        newer: i64,
    },
    NothingApplied {
        seller: String,
    },
    Pruned {
        id: i64,
        at: DateTime<Utc>,
    },
}

impl std::fmt::Display for Ineligible {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Ineligible::NotFound { id } => write!(f, "there is no import #{id}"),
            Ineligible::StillRunning { id } => write!(f, "import #{id} is still running"),
            Ineligible::Failed { id } => {
                write!(
                    f,
                    "import #{id} failed and changed nothing: there is nothing to roll back"
                )
            }
            Ineligible::AlreadyRolledBack { id, at, by } => {
                write!(f, "import #{id} was already rolled back")?;
                if let Some(at) = at {
                    write!(f, " at {}", at.format("%Y-%m-%d %H:%M:%S UTC"))?;
                }
                if let Some(by) = by {
                    write!(f, " by {}", crate::text::sanitize(by))?;
                }
                Ok(())
            }
            Ineligible::NewerApplied { id, newer } => write!(
                f,
                "import #{id} is not the seller's newest applied import: import #{newer} is applied; \
                 roll that back first (newest first, one at a time)"
            ),
            Ineligible::NewerRunning { id, newer } => {
                write!(
                    f,
                    "import #{id} cannot be rolled back while import #{newer} is running"
                )
            }
            Ineligible::Pruned { id, at } => write!(
                f,
                "import #{id} can no longer be rolled back: its before-images were pruned at {}",
                at.format("%Y-%m-%d %H:%M:%S UTC")
            ),
            Ineligible::NothingApplied { seller } => write!(
                f,
                "seller {} has no applied import to roll back",
                crate::text::sanitize(seller)
            ),
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct PlanCounts {
    pub delete: i64,
    pub restore: i64,
    pub skip: i64,
    pub skipped_edited: i64,
    pub skipped_deleted: i64,
    pub skipped_referenced: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Preview {
    pub import_id: i64,
    pub seller: String,
    pub file_name: String,
    pub imported_at: DateTime<Utc>,
    pub imported_by: String,
    pub counts: PlanCounts,
    /// Pass back to `execute` (`--expect`): a changed plan is refused.
    pub fingerprint: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Section {
    Delete,
    Restore,
    Skip,
}

/// One listing of the plan, as the preview pages show it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PlanItem {
    pub sku: String,
    pub action: Section,
    /// For skipped listings: edited, deleted, referenced.
    pub reason: Option<String>,
    /// For skipped listings: the latest change after the import, if captured.
    pub changed_by: Option<String>,
    pub changed_at: Option<DateTime<Utc>>,
    /// What that change was: insert, update, delete, truncate, or restore
    /// (a single-listing restore from the listing's timeline).
    pub change: Option<String>,
    /// For restored listings: field -> [current, restored], differing fields only.
    pub diff: Option<serde_json::Value>,
}

impl PlanItem {
    /// A skipped listing of the plan, with the latest change after the import.
    pub(crate) fn skipped(s: crate::db::queries::rollback::SkippedListing) -> Self {
        Self {
            sku: s.sku,
            action: Section::Skip,
            reason: s.reason,
            changed_by: s.changed_by,
            changed_at: s.changed_at,
            change: s.change,
            diff: None,
        }
    }

    /// A sentence for the skip reason.
    pub fn explain(&self) -> String {
        let who = match (&self.changed_by, &self.changed_at) {
            (Some(by), Some(at)) => format!(
                " by {} at {}",
                crate::text::sanitize(by),
                at.format("%Y-%m-%d %H:%M:%S UTC")
            ),
            _ => String::new(),
        };
        match self.reason.as_deref() {
            Some("edited") if who.is_empty() => {
                "changed after the import (not through importdesk's change capture)".to_string()
            }
            Some("edited") if self.change.as_deref() == Some("restore") => format!(
                "restored from its timeline after the import{who} (a restore is an edit like any other)"
            ),
            Some("edited") => format!("edited after the import{who}"),
            Some("deleted") => format!("deleted after the import{who}; it is not resurrected"),
            Some("referenced") => {
                "created by the import and now referenced by other rows".to_string()
            }
            Some(other) => other.to_string(),
            None => String::new(),
        }
    }
}

/// A refusal of the rollback by its rules; nothing was changed.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "refused", rename_all = "snake_case")]
pub enum RollbackRefused {
    Ineligible {
        detail: Ineligible,
        message: String,
    },
    Blocked {
        import_id: i64,
        conflicts: Vec<PlanItem>,
        total: i64,
        message: String,
    },
    PlanChanged {
        import_id: i64,
        expected: String,
        actual: String,
        message: String,
    },
    Busy {
        seller: String,
        message: String,
    },
}

impl RollbackRefused {
    pub fn ineligible(why: Ineligible) -> Self {
        RollbackRefused::Ineligible {
            message: why.to_string(),
            detail: why,
        }
    }

    pub fn message(&self) -> &str {
        match self {
            RollbackRefused::Ineligible { message, .. }
            | RollbackRefused::Blocked { message, .. }
            | RollbackRefused::PlanChanged { message, .. }
            | RollbackRefused::Busy { message, .. } => message,
        }
    }
}

/// Why a rollback (or its preview) did not happen. Either way nothing was
/// changed.
#[derive(Debug)]
pub enum RollbackError {
    /// Refused by the rules: not eligible, blocked, plan changed, busy.
    Refused(RollbackRefused),
    /// Anything else (the database, the connection).
    Failed(color_eyre::Report),
}

impl From<color_eyre::Report> for RollbackError {
    fn from(e: color_eyre::Report) -> Self {
        RollbackError::Failed(e)
    }
}

impl From<RollbackRefused> for RollbackError {
    fn from(r: RollbackRefused) -> Self {
        RollbackError::Refused(r)
    }
}

impl From<Ineligible> for RollbackError {
    fn from(why: Ineligible) -> Self {
        RollbackError::Refused(RollbackRefused::ineligible(why))
    }
}

impl std::fmt::Display for RollbackError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RollbackError::Refused(r) => f.write_str(r.message()),
            RollbackError::Failed(e) => write!(f, "{e:#}"),
        }
    }
}

impl std::error::Error for RollbackError {}

#[cfg(test)]
mod tests {
    use super::*;

    fn skipped(reason: &str, by: Option<&str>, change: Option<&str>) -> PlanItem {
        PlanItem {
            sku: "A1".into(),
            action: Section::Skip,
            reason: Some(reason.into()),
            changed_by: by.map(String::from),
            changed_at: by.map(|_| "2026-11-30T12:34:56Z".parse().unwrap()),
            change: change.map(String::from),
            diff: None,
        }
    }

    #[test]
    fn a_skip_is_explained_with_who_changed_the_listing_and_how() {
        let at = " by jane (support) at 2026-11-30 12:34:56 UTC";
        let cases = [
            (
                skipped("edited", Some("jane (support)"), Some("update")),
                format!("edited after the import{at}"),
            ),
            (
                skipped("edited", None, None),
                "changed after the import (not through importdesk's change capture)".into(),
            ),
            (
                skipped("edited", Some("jane (support)"), Some("restore")),
                format!(
                    "restored from its timeline after the import{at} (a restore is an edit like any other)"
                ),
            ),
            (
                skipped("deleted", Some("jane (support)"), Some("delete")),
                format!("deleted after the import{at}; it is not resurrected"),
            ),
            (
                skipped("referenced", None, None),
                "created by the import and now referenced by other rows".into(),
            ),
        ];
        for (item, sentence) in cases {
            assert_eq!(item.explain(), sentence, "{item:?}");
        }
        let hostile = skipped("edited", Some("x\u{1b}[2J"), Some("update")).explain();
        assert!(hostile.contains("by x␛[2J at "), "{hostile}");
    }
}
