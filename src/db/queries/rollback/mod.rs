//! SQL of the rollback: eligibility, the plan (which listings to delete,
//! restore or skip), its fingerprint, and the restoring statements.
//!
//! The plan compares each listing the import touched with the import's own
//! after-image: equal means nobody changed it since, so it can be reverted;
//! different (or gone) means it was changed afterwards, so it is skipped.
//!
//! `plan` builds that comparison, `preview` pages through it without locking,
//! `execute` runs it inside the rollback's transaction. This module holds the
//! eligibility queries and the records the three share.

mod execute;
mod plan;
mod preview;

pub use execute::{
    ExecutedPlan, RollbackReport, attach, back_to_savepoint, delete_created, mark_rolled_back,
    plan_in, restore_updated_listings, savepoint, skipped_in_plan,
};
pub use plan::{References, references};
pub use preview::{PageAt, RevertedListing, Seek, page_of_reverts, page_of_skips, preview_skips};

use color_eyre::eyre::Result;
use tokio_postgres::GenericClient;
use tokio_postgres::Row;

use super::history::ImportState;
use crate::db::Conn;

/// The newest import of the seller that is still applied or running, other than $1.
const NEWER_APPLIED: &str = "SELECT id, status FROM import_audit.imports
      WHERE seller_id = $1 AND id > $2 AND status IN ('completed', 'running')
      ORDER BY id DESC LIMIT 1";

const LAST_APPLIED: &str = "SELECT id FROM import_audit.imports
      WHERE seller_id = $1 AND status = 'completed' ORDER BY id DESC LIMIT 1";

/// The import's row in the history, for the plan: seller, change-log
/// position at commit, created and updated counts.
const PLAN_BASE: &str =
    "SELECT seller_id, coalesce(last_change_id, 0) AS last_change_id, created, updated
       FROM import_audit.imports WHERE id = $1";

/// The newest import of the seller after `import_id` that is still applied
/// or running, with its state.
pub async fn newer_applied(
    conn: &impl Conn,
    seller: &str,
    import_id: i64,
) -> Result<Option<(i64, ImportState)>> {
    let row = conn
        .pg()
        .query_opt(NEWER_APPLIED, &[&seller, &import_id])
        .await?;
    Ok(match row {
        Some(r) => Some((r.try_get("id")?, r.try_get("status")?)),
        None => None,
    })
}

/// The seller's newest applied import.
pub async fn last_applied(conn: &impl Conn, seller: &str) -> Result<Option<i64>> {
    let row = conn.pg().query_opt(LAST_APPLIED, &[&seller]).await?;
    Ok(match row {
        Some(r) => Some(r.try_get("id")?),
        None => None,
    })
}

/// The import's facts a plan starts from.
pub struct PlanBase {
    pub seller: String,
    /// The change log's position when the import committed.
    pub last_change_id: i64,
    pub created: i64,
    pub updated: i64,
}

pub async fn plan_base(conn: &impl Conn, import_id: i64) -> Result<PlanBase> {
    let r = conn.pg().query_one(PLAN_BASE, &[&import_id]).await?;
    Ok(PlanBase {
        seller: r.try_get("seller_id")?,
        last_change_id: r.try_get("last_change_id")?,
        created: r.try_get("created")?,
        updated: r.try_get("updated")?,
    })
}

/// The skipped listings of a plan: by what the import did, by reason, and
/// an order-independent hash of (reason, key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkipSummary {
    pub skipped_created: i64,
    pub skipped_updated: i64,
    pub edited: i64,
    pub deleted: i64,
    pub referenced: i64,
    pub hash: String,
}

impl SkipSummary {
    fn from_row(r: &Row) -> Result<Self, tokio_postgres::Error> {
        Ok(Self {
            skipped_created: r.try_get("skipped_created")?,
            skipped_updated: r.try_get("skipped_updated")?,
            edited: r.try_get("edited")?,
            deleted: r.try_get("deleted")?,
            referenced: r.try_get("referenced")?,
            hash: r.try_get("hash")?,
        })
    }
}

/// A skipped listing with the latest change after the import, if captured.
pub struct SkippedListing {
    pub sku: String,
    /// edited, deleted, referenced
    pub reason: Option<String>,
    pub changed_by: Option<String>,
    pub changed_at: Option<chrono::DateTime<chrono::Utc>>,
    /// insert, update, delete, truncate
    pub change: Option<String>,
}

impl SkippedListing {
    fn from_row(r: &tokio_postgres::Row) -> Result<Self> {
        Ok(SkippedListing {
            sku: r.try_get("sku")?,
            reason: r.try_get("reason")?,
            changed_by: r.try_get("changed_by")?,
            changed_at: r.try_get("changed_at")?,
            change: r.try_get("change")?,
        })
    }
}
