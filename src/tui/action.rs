//! Messages of the console's Elm loop: an [`Action`] is something that
//! happened (a key, a resize, a reply from the database); an [`Effect`] is
//! work `update` asks the worker to do. Every request carries a [`ReqId`];
//! a reply whose id is no longer awaited is stale and dropped.

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use crossterm::event::KeyEvent;

use crate::domain::StopCause;
use crate::domain::audit::{AuditEntry, AuditFilter};
use crate::domain::history::{HistoryFilter, ImportState, ImportSummary};
use crate::domain::import::suggest::Suggestion;
use crate::domain::import::{
    FieldChanges, ImportError, ImportOutcome, PlanFingerprint, ProfileKind, Progress,
};
use crate::domain::listings::{
    BrowseFilter, ListingSummary, RestoreError, RestoreOutcome, RestorePreview, Timeline,
};
use crate::domain::rollback::{
    ConflictMode, PlanItem, Preview, RollbackError, RollbackOutcome, RollbackRefused, Section, Seek,
};
use crate::tui::widgets::text::thousands;

/// Identifies one request; replies carry it back.
pub type ReqId = u64;

#[derive(Debug, Clone)]
pub enum Action {
    /// The console has just opened: load the first screen.
    Init,
    Key(KeyEvent),
    Resize(u16, u16),
    /// Once a second, only while something is in progress or the database
    /// connection is lost (nothing is redrawn while idle).
    Tick,
    /// Another session committed a change to the history or the audit log
    /// (a notification, [`super::live`]): reload what is shown.
    Changed,
    HistoryLoaded {
        req: ReqId,
        result: Result<Vec<HistoryRow>, Failure>,
    },
    /// Whether the import can be rolled back now (`Err(reason)` if not).
    EligibilityChecked {
        req: ReqId,
        id: i64,
        result: Result<Result<(), String>, Failure>,
    },
    DetailLoaded {
        req: ReqId,
        result: Result<Option<Box<DetailData>>, Failure>,
    },
    AuditLoaded {
        req: ReqId,
        result: Result<Vec<AuditRow>, Failure>,
    },
    /// Reply to [`Effect::RollbackCheck`].
    RollbackChecked {
        req: ReqId,
        result: Result<Result<(), String>, Failure>,
    },
    PreviewReady {
        req: ReqId,
        result: Result<Result<Preview, String>, Failure>,
    },
    PageLoaded {
        req: ReqId,
        section: Section,
        result: Result<Vec<PlanItem>, Failure>,
    },
    RollbackDone {
        req: ReqId,
        result: Result<Box<RollbackOutcome>, RollbackFailure>,
    },
    Completed {
        req: ReqId,
        completion: Completion,
    },
    /// Reply to [`Effect::Suggest`].
    Suggested {
        req: ReqId,
        result: Result<Suggestion, String>,
    },
    ImportProgress {
        req: ReqId,
        progress: Progress,
    },
    ImportDone {
        req: ReqId,
        result: Result<Box<ImportOutcome>, ImportFailure>,
    },
    /// Reply to [`Effect::ReviewPage`].
    ReviewPageLoaded {
        req: ReqId,
        result: Result<Vec<FieldChanges>, Failure>,
    },
    Pong {
        req: ReqId,
        result: Result<(), Failure>,
    },
    ListingsLoaded {
        req: ReqId,
        result: Result<Vec<ListingSummary>, Failure>,
    },
    TimelineLoaded {
        req: ReqId,
        result: Result<Box<Timeline>, Failure>,
    },
    /// Reply to [`Effect::RestorePreview`].
    RestorePreviewed {
        req: ReqId,
        result: Result<Box<RestorePreview>, RestoreFailure>,
    },
    /// Reply to [`Effect::RestoreExecute`].
    Restored {
        req: ReqId,
        result: Result<Box<RestoreOutcome>, RestoreFailure>,
    },
    /// The terminal hung up, its input ended, or SIGTERM/SIGHUP/SIGINT
    /// arrived: quit now, cancelling running work for that cause.
    Interrupted(StopCause),
}

/// Work for the worker. Nothing here holds a transaction open between
/// effects: the rollback's decision is protected by the preview fingerprint.
#[derive(Debug, Clone)]
pub enum Effect {
    LoadHistory {
        req: ReqId,
        filter: HistoryFilter,
    },
    CheckEligibility {
        req: ReqId,
        id: i64,
    },
    LoadDetail {
        req: ReqId,
        id: i64,
    },
    LoadAudit {
        req: ReqId,
        filter: AuditFilter,
        before: Option<i64>,
        limit: i64,
    },
    RollbackCheck {
        req: ReqId,
        id: i64,
    },
    RollbackPreview {
        req: ReqId,
        id: i64,
    },
    RollbackPage {
        req: ReqId,
        id: i64,
        seller: String,
        section: Section,
        seek: Seek,
        limit: i64,
    },
    RollbackExecute {
        req: ReqId,
        id: i64,
        mode: ConflictMode,
        expect: String,
    },
    Complete {
        req: ReqId,
        input: String,
    },
    /// Read a chosen file's header and first rows for the form's
    /// suggestions (`domain::import::suggest`).
    Suggest {
        req: ReqId,
        path: String,
        profile: Option<ProfileKind>,
    },
    Import {
        req: ReqId,
        spec: ImportSpec,
    },
    /// A page of the planned updates of the dry run under review, by key.
    ReviewPage {
        req: ReqId,
        seek: Seek,
        limit: i64,
    },
    /// The dry run's review closed: its session (and plan) can go.
    ReviewClose,
    /// Cancels the import or rollback started by request `req`, if it still
    /// runs (its own reply then says how it ended); `cause` is what the
    /// history of a cancelled import says.
    Cancel {
        req: ReqId,
        cause: StopCause,
    },
    Ping {
        req: ReqId,
    },
    /// A page of a seller's listings.
    LoadListings {
        req: ReqId,
        filter: BrowseFilter,
    },
    /// A page of one listing's changes, older than change `before`.
    LoadTimeline {
        req: ReqId,
        seller: String,
        sku: String,
        before: Option<i64>,
        limit: i64,
    },
    /// What restoring the listing's values from before `change_id` changes.
    RestorePreview {
        req: ReqId,
        seller: String,
        sku: String,
        change_id: i64,
    },
    /// The restore the user confirmed (refused if the listing's fingerprint
    /// is no longer `expect`).
    RestoreExecute {
        req: ReqId,
        seller: String,
        sku: String,
        change_id: i64,
        expect: String,
    },
}

/// What the import form asks for.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportSpec {
    pub path: PathBuf,
    pub seller: String,
    /// `None`: detect from the header.
    pub profile: Option<ProfileKind>,
    /// `--key COLUMN`.
    pub key_column: Option<String>,
    /// `--currency CODE`.
    pub default_currency: Option<String>,
    pub dry_run: bool,
    pub skip_invalid: bool,
    /// What the dry run showed (the import after it): a changed file or
    /// plan is refused.
    pub expect: Option<PlanFingerprint>,
}

/// A failed request: the message to show, and whether the database
/// connection is gone (then the console shows a banner and reconnects).
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    pub message: String,
    pub connection: bool,
}

impl Failure {
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            connection: false,
        }
    }

    /// An unexpected error as the console shows it.
    pub fn from_report(e: &color_eyre::Report) -> Self {
        Self {
            message: format!("{e:#}"),
            connection: crate::db::is_connection_lost(e),
        }
    }
}

/// Why a dry run or an import did not end with an outcome.
#[derive(Debug, Clone, PartialEq)]
pub enum ImportFailure {
    Failed(Failure),
    /// The file or the plan changed since the dry run: dry run again.
    Refused(String),
    /// Cancelled (Esc, or quitting): nothing changed.
    Cancelled(String),
}

/// How the console shows an import that did not run.
impl From<ImportError> for ImportFailure {
    fn from(e: ImportError) -> Self {
        match e {
            ImportError::SellerBusy { .. } | ImportError::InvalidSeller(_) => {
                ImportFailure::Failed(Failure::new(e.to_string()))
            }
            ImportError::Refused(r) => ImportFailure::Refused(r.message().to_string()),
            ImportError::Cancelled { .. } => ImportFailure::Cancelled(e.to_string()),
            ImportError::Failed(report) => ImportFailure::Failed(Failure::from_report(&report)),
        }
    }
}

#[derive(Debug, Clone)]
pub struct RollbackFailure {
    pub failure: Failure,
    /// Refused because the plan changed: preview again.
    pub plan_changed: bool,
    /// Blocked: the conflicting listings.
    pub conflicts: Vec<PlanItem>,
}

/// How the console shows a rollback that did not happen.
impl From<RollbackError> for RollbackFailure {
    fn from(e: RollbackError) -> Self {
        match e {
            RollbackError::Refused(r) => RollbackFailure {
                failure: Failure::new(r.message()),
                plan_changed: matches!(r, RollbackRefused::PlanChanged { .. }),
                conflicts: match r {
                    RollbackRefused::Blocked { conflicts, .. } => conflicts,
                    _ => Vec::new(),
                },
            },
            RollbackError::Failed(report) => Failure::from_report(&report).into(),
        }
    }
}

/// A single-listing restore that was not done (or not previewed).
#[derive(Debug, Clone)]
pub struct RestoreFailure {
    pub failure: Failure,
    /// The listing changed since the preview: preview again.
    pub stale: bool,
}

impl From<RestoreError> for RestoreFailure {
    fn from(e: RestoreError) -> Self {
        let stale = matches!(e, RestoreError::Stale { .. });
        let failure = match e {
            RestoreError::Failed(report) => Failure::from_report(&report),
            refusal => Failure::new(refusal.to_string()),
        };
        RestoreFailure { failure, stale }
    }
}

impl From<Failure> for RestoreFailure {
    fn from(failure: Failure) -> Self {
        RestoreFailure {
            failure,
            stale: false,
        }
    }
}

impl From<Failure> for RollbackFailure {
    fn from(failure: Failure) -> Self {
        RollbackFailure {
            failure,
            plan_changed: false,
            conflicts: Vec::new(),
        }
    }
}

/// One row of the history table: only what the table shows (the full
/// import, errors included, is loaded when it is opened).
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryRow {
    pub id: i64,
    pub started_at: DateTime<Utc>,
    pub seller: String,
    pub file: String,
    pub created: i64,
    pub updated: i64,
    pub unchanged: i64,
    pub rejected: i64,
    pub status: ImportState,
    /// Completed, but its before-images were pruned: no longer rollbackable.
    pub pruned: bool,
    /// `actor (database role)`.
    pub actor: String,
    pub rolled_back_at: Option<DateTime<Utc>>,
    pub rolled_back_by: Option<String>,
}

impl From<&ImportSummary> for HistoryRow {
    fn from(s: &ImportSummary) -> Self {
        Self {
            id: s.id,
            started_at: s.started_at,
            seller: s.seller_id.clone(),
            file: s.file_name.clone(),
            created: s.created,
            updated: s.updated,
            unchanged: s.unchanged,
            rejected: s.rejected,
            status: s.status,
            pruned: s.pruned_at.is_some(),
            actor: crate::domain::actor::with_role(&s.actor, &s.db_role),
            rolled_back_at: s.rolled_back_at,
            rolled_back_by: s.rolled_back_by.clone(),
        }
    }
}

/// An import with the audit-log entries about it (the rollback result and
/// its skipped keys live there).
#[derive(Debug, Clone)]
pub struct DetailData {
    pub import: ImportSummary,
    pub audit: Vec<AuditEntry>,
}

/// One row of the audit-log view, its details already summarised.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditRow {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub actor: String,
    pub action: String,
    pub seller: Option<String>,
    pub import_id: Option<i64>,
    pub summary: String,
    /// The details as recorded (`v` shows them in full).
    pub details: serde_json::Value,
}

impl From<&AuditEntry> for AuditRow {
    fn from(e: &AuditEntry) -> Self {
        Self {
            id: e.id,
            at: e.at,
            actor: crate::domain::actor::with_role(&e.actor, &e.db_role),
            action: e.action.clone(),
            seller: e.seller_id.clone(),
            import_id: e.import_id,
            summary: summarise_details(&e.details),
            details: e.details.clone(),
        }
    }
}

/// A one-line reading of an audit entry's details.
pub fn summarise_details(d: &serde_json::Value) -> String {
    let num = |k: &str| d.get(k).and_then(|v| v.as_i64());
    if let (Some(r), Some(del), Some(s)) = (num("restored"), num("deleted"), num("skipped")) {
        return format!(
            "{} restored, {} deleted, {} skipped",
            thousands(r),
            thousands(del),
            thousands(s)
        );
    }
    if let Some(m) = d.get("message").and_then(|v| v.as_str()) {
        return m.to_string();
    }
    if let Some(c) = d.get("counts") {
        let n = |k: &str| thousands(c.get(k).and_then(|v| v.as_i64()).unwrap_or(0));
        if c.get("delete").is_some() {
            return format!(
                "plan: {} delete, {} restore, {} skip",
                n("delete"),
                n("restore"),
                n("skip")
            );
        }
        if c.get("created").is_some() {
            return format!(
                "{} created, {} updated, {} unchanged, {} rejected",
                n("created"),
                n("updated"),
                n("unchanged"),
                n("rejected")
            );
        }
    }
    let mut parts = Vec::new();
    if let Some(obj) = d.as_object() {
        for (k, v) in obj.iter().take(6) {
            let v = match v {
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Null => continue,
                other => other.to_string(),
            };
            parts.push(format!("{k}: {v}"));
        }
    }
    let mut s = parts.join(", ");
    if s.len() > 400 {
        let mut cut = 400;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
    }
    s
}

/// The answer to a Tab in the file field.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Completion {
    /// The text the completion was computed for (ignored if it changed since).
    pub input: String,
    /// The completed text (the longest common prefix of the candidates).
    pub replacement: Option<String>,
    /// The candidates' names when more than one matches (directories end in `/`).
    pub candidates: Vec<String>,
    /// Why nothing matched, when it helps ("no such directory").
    pub note: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::summarise_details;
    use serde_json::json;

    #[test]
    fn audit_summaries_group_the_thousands_like_every_other_number() {
        let plan = json!({"counts": {"delete": 1234, "restore": 90000, "skip": 0}});
        assert_eq!(
            summarise_details(&plan),
            "plan: 1,234 delete, 90,000 restore, 0 skip"
        );
        let done = json!({"restored": 90000, "deleted": 1000, "skipped": 12});
        assert_eq!(
            summarise_details(&done),
            "90,000 restored, 1,000 deleted, 12 skipped"
        );
        let import =
            json!({"counts": {"created": 300000, "updated": 1, "unchanged": 0, "rejected": 2500}});
        assert_eq!(
            summarise_details(&import),
            "300,000 created, 1 updated, 0 unchanged, 2,500 rejected"
        );
    }
}
