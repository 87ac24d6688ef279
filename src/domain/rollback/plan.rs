//! Eligibility and the preview of a rollback plan.

use color_eyre::eyre::Result;

use super::{Ineligible, PlanCounts, PlanItem, Preview, RollbackError, Section};
use crate::db::queries::history as history_store;
use crate::db::queries::rollback::{self as store, PageAt, Seek, SkipSummary};
use crate::db::{Conn, Database};
use crate::domain::history::{ImportState, ImportSummary};

/// The import when `import_id` can be rolled back now; else why not
/// ([`RollbackError::Refused`]).
pub async fn eligibility(db: &Database, import_id: i64) -> Result<ImportSummary, RollbackError> {
    eligibility_on(&db.client().await?, import_id).await
}

/// [`eligibility`] on `conn` (inside the rollback's own transaction).
pub(super) async fn eligibility_on(
    conn: &impl Conn,
    import_id: i64,
) -> Result<ImportSummary, RollbackError> {
    let Some(import) = history_store::get(conn, import_id).await? else {
        return Err(Ineligible::NotFound { id: import_id }.into());
    };
    let id = import.id;
    let why = match import.status {
        ImportState::Running => Some(Ineligible::StillRunning { id }),
        ImportState::Failed => Some(Ineligible::Failed { id }),
        ImportState::RolledBack => Some(Ineligible::AlreadyRolledBack {
            id,
            at: import.rolled_back_at,
            by: import.rolled_back_by.clone(),
        }),
        ImportState::Completed => import.pruned_at.map(|at| Ineligible::Pruned { id, at }),
    };
    if let Some(why) = why {
        return Err(why.into());
    }
    if let Some((newer, state)) = store::newer_applied(conn, &import.seller_id, id).await? {
        return Err(if state == ImportState::Running {
            Ineligible::NewerRunning { id, newer }
        } else {
            Ineligible::NewerApplied { id, newer }
        }
        .into());
    }
    Ok(import)
}

/// The seller's newest applied import (for `rollback --last`).
pub async fn last_applied(db: &Database, seller: &str) -> Result<Option<i64>> {
    store::last_applied(&db.client().await?, seller).await
}

/// Counts and fingerprint from a plan's skips and its numbers of deletions
/// and restores.
pub(super) fn counts_from(skips: &SkipSummary, delete: i64, restore: i64) -> (PlanCounts, String) {
    let counts = PlanCounts {
        delete,
        restore,
        skip: skips.skipped_created + skips.skipped_updated,
        skipped_edited: skips.edited,
        skipped_deleted: skips.deleted,
        skipped_referenced: skips.referenced,
    };
    (counts, fingerprint(&counts, &skips.hash))
}

fn fingerprint(c: &PlanCounts, hash: &str) -> String {
    use sha2::{Digest, Sha256};
    let text = format!("{}:{}:{}:{}", c.delete, c.restore, c.skip, hash);
    hex::encode(&Sha256::digest(text.as_bytes())[..8])
}

/// Counts and fingerprint of the plan (or why the import is not eligible).
/// Reads only: nothing is locked while a person looks at it. Only the
/// listings changed after the import are compared, so a million-row import
/// previews in milliseconds.
pub async fn preview(db: &Database, import_id: i64) -> Result<Preview, RollbackError> {
    match compute_preview(db, import_id).await {
        // A lock timeout names who held the lock.
        Err(RollbackError::Failed(e)) => Err(RollbackError::Failed(
            crate::db::blocking::explain(db, None, Err::<(), _>(e))
                .await
                .unwrap_err(),
        )),
        other => other,
    }
}

async fn compute_preview(db: &Database, import_id: i64) -> Result<Preview, RollbackError> {
    let client = db.client().await?;
    let import = eligibility_on(&client, import_id).await?;
    let base = store::plan_base(&client, import_id).await?;
    let refs = store::references(&client).await?;
    let skips = store::preview_skips(&client, &refs, import_id, &base).await?;
    let (counts, fingerprint) = counts_from(
        &skips,
        base.created - skips.skipped_created,
        base.updated - skips.skipped_updated,
    );
    Ok(Preview {
        import_id,
        seller: import.seller_id,
        file_name: import.file_name,
        imported_at: import.started_at,
        imported_by: import.actor,
        counts,
        fingerprint,
    })
}

/// One page of the plan's details for `section`, in key order from where
/// `seek` says.
pub async fn preview_page(
    db: &Database,
    import_id: i64,
    seller: &str,
    section: Section,
    seek: &Seek,
    limit: i64,
) -> Result<Vec<PlanItem>> {
    let client = db.client().await?;
    let mut base = store::plan_base(&client, import_id).await?;
    base.seller = seller.to_string();
    let refs = store::references(&client).await?;
    let at = PageAt {
        import_id,
        base: &base,
        seek,
        limit,
    };
    let item = |sku: String| PlanItem {
        sku,
        action: section,
        reason: None,
        changed_by: None,
        changed_at: None,
        change: None,
        diff: None,
    };
    Ok(match section {
        Section::Skip => store::page_of_skips(&client, &refs, &at)
            .await?
            .into_iter()
            .map(PlanItem::skipped)
            .collect(),
        Section::Delete | Section::Restore => {
            store::page_of_reverts(&client, &refs, &at, section == Section::Delete)
                .await?
                .into_iter()
                .map(|r| PlanItem {
                    diff: r.diff,
                    ..item(r.sku)
                })
                .collect()
        }
    })
}
