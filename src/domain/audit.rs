//! The append-only audit log: who did what, when.

use chrono::{DateTime, Utc};
use color_eyre::eyre::Result;
use serde::{Deserialize, Serialize};

use crate::db::Database;
use crate::db::queries::audit as store;

pub use crate::db::queries::audit::{AuditEntry, append};

/// The actions importdesk records.
pub mod action {
    pub const IMPORT_STARTED: &str = "import started";
    pub const IMPORT_COMPLETED: &str = "import completed";
    pub const IMPORT_FAILED: &str = "import failed";
    pub const IMPORT_ABANDONED: &str = "import marked failed after a crash";
    pub const ROLLBACK_PREVIEWED: &str = "rollback previewed";
    pub const ROLLBACK_EXECUTED: &str = "rollback executed";
    pub const ROLLBACK_REFUSED: &str = "rollback refused";
    pub const ROLLBACK_CANCELLED: &str = "rollback cancelled";
    /// Written by the database's prune function.
    pub const BEFORE_IMAGES_PRUNED: &str = "before-images pruned";
    pub const SELLER_GRANTED: &str = "seller role granted";
    pub const SUPPORT_GRANTED: &str = "support role granted";
    /// Written by the database's revoke functions (migration V8).
    pub const SELLER_REVOKED: &str = "seller role revoked";
    pub const SUPPORT_REVOKED: &str = "support role revoked";
    /// Written by the database's `record_listing_restore` (V9).
    pub const LISTING_RESTORED: &str = "listing restored";
}

/// What `prune` deleted (or, on a dry run, would delete).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PruneOutcome {
    /// Imports already rolled back: their before-images and their
    /// rollback's rows are gone.
    pub rolled_back_imports: Vec<i64>,
    /// Completed imports that finished before the cut-off: they can no
    /// longer be rolled back.
    pub retired_imports: Vec<i64>,
    pub import_rows_deleted: i64,
    pub manual_edit_rows_deleted: i64,
    pub dry_run: bool,
}

impl PruneOutcome {
    /// Nothing was (or would be) deleted.
    pub fn is_empty(&self) -> bool {
        self.rolled_back_imports.is_empty()
            && self.retired_imports.is_empty()
            && self.import_rows_deleted == 0
            && self.manual_edit_rows_deleted == 0
    }
}

/// Deletes change-log rows that no rollback can use any more, in one
/// transaction (the database function decides what; the audit log is never
/// touched). With `completed_before`, completed imports that finished
/// before it are retired too. A dry run does the same and rolls back.
pub async fn prune(
    db: &Database,
    completed_before: Option<DateTime<Utc>>,
    actor: &str,
    dry_run: bool,
) -> Result<PruneOutcome> {
    let mut client = db.client().await?;
    // The database refuses anyway (EXECUTE is granted to support only); this
    // says why in words.
    let who = crate::db::queries::identity::current(&client).await?;
    if !who.support {
        color_eyre::eyre::bail!(
            "only support may prune before-images; you are {}",
            who.describe()
        );
    }
    let pruned = store::prune(&mut client, completed_before, actor, dry_run).await;
    // A lock timeout names who held the lock.
    let mut summary = crate::db::blocking::explain(db, None, pruned).await?;
    summary["dry_run"] = dry_run.into();
    Ok(serde_json::from_value(summary)?)
}

/// Which audit-log entries (and, in `domain::listings::audit_feed`, which
/// hand edits) to show; `None` means any.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub seller: Option<String>,
    /// A listing: entries that name it (single-listing restores).
    pub sku: Option<String>,
    /// The database role that acted.
    pub role: Option<String>,
    pub since: Option<DateTime<Utc>>,
    /// Exclusive.
    pub until: Option<DateTime<Utc>>,
    /// Text in the actor or the database role, any case (the console's
    /// `actor:`; audit-log entries only, not hand edits).
    pub actor: Option<String>,
    /// One import's entries (the console's `#42`; entries only).
    pub import_id: Option<i64>,
    /// Words that must each appear in the entry: its action, actor, role,
    /// seller or details, any case (entries only).
    pub words: Vec<String>,
}

/// Entries matching `filter`, newest first; `before` pages back.
pub async fn list_filtered(
    db: &Database,
    filter: &AuditFilter,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<AuditEntry>> {
    store::list_filtered(
        &db.client().await?,
        &store::EntryQuery {
            seller: filter.seller.as_deref(),
            role: filter.role.as_deref(),
            since: filter.since,
            until: filter.until,
            sku: filter.sku.as_deref(),
            actor: filter.actor.as_deref(),
            import_id: filter.import_id,
            words: &filter.words,
            before,
            limit,
        },
    )
    .await
}

/// The entries about one import, newest first.
pub async fn for_import(db: &Database, import_id: i64, limit: i64) -> Result<Vec<AuditEntry>> {
    store::for_import(&db.client().await?, import_id, limit).await
}

#[cfg(test)]
mod tests {
    use super::PruneOutcome;

    fn nothing() -> PruneOutcome {
        PruneOutcome {
            rolled_back_imports: vec![],
            retired_imports: vec![],
            import_rows_deleted: 0,
            manual_edit_rows_deleted: 0,
            dry_run: false,
        }
    }

    /// The CLI prints "nothing to prune" only for this: any one thing
    /// deleted alone must make the outcome non-empty.
    #[test]
    fn a_prune_is_empty_only_when_nothing_at_all_was_deleted() {
        assert!(nothing().is_empty());
        assert!(
            PruneOutcome {
                dry_run: true,
                ..nothing()
            }
            .is_empty()
        );
        let each_alone = [
            PruneOutcome {
                rolled_back_imports: vec![7],
                ..nothing()
            },
            PruneOutcome {
                retired_imports: vec![8],
                ..nothing()
            },
            PruneOutcome {
                import_rows_deleted: 1,
                ..nothing()
            },
            PruneOutcome {
                manual_edit_rows_deleted: 1,
                ..nothing()
            },
        ];
        for outcome in each_alone {
            assert!(!outcome.is_empty(), "{outcome:?}");
        }
    }
}
