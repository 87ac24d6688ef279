//! Eligibility and the preview of a rollback plan.

use color_eyre::eyre::Result;
use tokio_postgres::GenericClient;

use super::{Ineligible, PlanCounts, PlanItem, Preview, Section};
use crate::db::Database;
use crate::db::queries::rollback as sql;
use crate::domain::history::{self, ImportSummary};

/// `Ok(Ok(import))` when `import_id` can be rolled back now, else the reason.
pub async fn eligibility(
    client: &impl GenericClient,
    import_id: i64,
) -> Result<Result<ImportSummary, Ineligible>> {
    let Some(import) = history::get(client, import_id).await? else {
        return Ok(Err(Ineligible::NotFound { id: import_id }));
    };
    let id = import.id;
    match import.status.as_str() {
        "running" => return Ok(Err(Ineligible::StillRunning { id })),
        "failed" => return Ok(Err(Ineligible::Failed { id })),
        "rolled_back" => {
            return Ok(Err(Ineligible::AlreadyRolledBack {
                id,
                at: import.rolled_back_at,
                by: import.rolled_back_by.clone(),
            }));
        }
        _ => {}
    }
    if let Some(at) = import.pruned_at {
        return Ok(Err(Ineligible::Pruned { id, at }));
    }
    if let Some(row) = client
        .query_opt(sql::NEWER_APPLIED, &[&import.seller_id, &id])
        .await?
    {
        let newer: i64 = row.get(0);
        let status: String = row.get(1);
        return Ok(Err(if status == "running" {
            Ineligible::NewerRunning { id, newer }
        } else {
            Ineligible::NewerApplied { id, newer }
        }));
    }
    Ok(Ok(import))
}

/// The seller's newest applied import (for `rollback --last`).
pub async fn last_applied(client: &impl GenericClient, seller: &str) -> Result<Option<i64>> {
    Ok(client
        .query_opt(sql::LAST_APPLIED, &[&seller])
        .await?
        .map(|r| r.get(0)))
}

/// The SQL condition "a created listing is referenced by another table's row".
pub(super) async fn referenced_condition(client: &impl GenericClient) -> Result<String> {
    let fks: Vec<(String, Vec<String>, Vec<String>)> = client
        .query(sql::REFERENCING_KEYS, &[])
        .await?
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    Ok(sql::referenced_expr(&fks))
}

/// The import's facts a plan starts from.
pub(super) struct PlanBase {
    pub seller: String,
    pub last_change_id: i64,
    pub created: i64,
    pub updated: i64,
}

pub(super) async fn plan_base(client: &impl GenericClient, import_id: i64) -> Result<PlanBase> {
    let row = client.query_one(sql::PLAN_BASE, &[&import_id]).await?;
    Ok(PlanBase {
        seller: row.get(0),
        last_change_id: row.get(1),
        created: row.get(2),
        updated: row.get(3),
    })
}

/// Counts and fingerprint from the skip summary (`sql::skip_summary`) and
/// the numbers of deletions and restores.
pub(super) fn counts_from(
    row: &tokio_postgres::Row,
    delete: i64,
    restore: i64,
) -> (PlanCounts, String) {
    let skipped_created: i64 = row.get(0);
    let skipped_updated: i64 = row.get(1);
    let counts = PlanCounts {
        delete,
        restore,
        skip: skipped_created + skipped_updated,
        skipped_edited: row.get(2),
        skipped_deleted: row.get(3),
        skipped_referenced: row.get(4),
    };
    let hash: String = row.get(5);
    (counts, fingerprint(&counts, &hash))
}

/// (skipped among created, skipped among updated) of a skip summary row.
pub(super) fn skipped_by_op(row: &tokio_postgres::Row) -> (i64, i64) {
    (row.get(0), row.get(1))
}

fn fingerprint(c: &PlanCounts, hash: &str) -> String {
    use sha2::{Digest, Sha256};
    let text = format!("{}:{}:{}:{}", c.delete, c.restore, c.skip, hash);
    hex::encode(&Sha256::digest(text.as_bytes())[..8])
}

/// Counts and fingerprint of the plan (or why the import is not eligible).
/// Reads only: nothing is locked while a person looks at it. Only the
/// listings changed after the import are compared (see `sql::candidates`),
/// so a million-row import previews in milliseconds.
pub async fn preview(db: &Database, import_id: i64) -> Result<Result<Preview, Ineligible>> {
    // A lock timeout names who held the lock.
    crate::db::blocking::explain(db, None, compute_preview(db, import_id).await).await
}

async fn compute_preview(db: &Database, import_id: i64) -> Result<Result<Preview, Ineligible>> {
    let client = db.client().await?;
    let import = match eligibility(&**client, import_id).await? {
        Ok(i) => i,
        Err(why) => return Ok(Err(why)),
    };
    let base = plan_base(&**client, import_id).await?;
    let referenced = referenced_condition(&**client).await?;
    let row = client
        .query_one(
            &sql::skip_summary(&sql::candidates(&referenced)),
            &[&import_id, &base.seller, &base.last_change_id],
        )
        .await?;
    let (skip_created, skip_updated) = skipped_by_op(&row);
    let (counts, fingerprint) = counts_from(
        &row,
        base.created - skip_created,
        base.updated - skip_updated,
    );
    Ok(Ok(Preview {
        import_id,
        seller: import.seller_id,
        file_name: import.file_name,
        imported_at: import.started_at,
        imported_by: import.actor,
        counts,
        fingerprint,
    }))
}

/// A skipped listing from `sql::page_skipped` / `sql::skipped_in_plan`.
pub(super) fn skipped_item(r: &tokio_postgres::Row) -> PlanItem {
    PlanItem {
        sku: r.get(0),
        action: Section::Skip,
        reason: r.get(1),
        changed_by: r.get(2),
        changed_at: r.get(3),
        change: r.get::<_, Option<String>>(4).map(|op| {
            match op.as_str() {
                "U" => "update",
                "D" => "delete",
                "T" => "truncate",
                _ => "insert",
            }
            .to_string()
        }),
        diff: None,
    }
}

/// One page of the plan's details for `section`, in key order after `after_sku`.
pub async fn preview_page(
    db: &Database,
    import_id: i64,
    seller: &str,
    section: Section,
    after_sku: Option<&str>,
    limit: i64,
) -> Result<Vec<PlanItem>> {
    let client = db.client().await?;
    let base = plan_base(&**client, import_id).await?;
    let referenced = referenced_condition(&**client).await?;
    let item = |sku: String| PlanItem {
        sku,
        action: section,
        reason: None,
        changed_by: None,
        changed_at: None,
        change: None,
        diff: None,
    };
    let common: [&(dyn tokio_postgres::types::ToSql + Sync); 5] = [
        &import_id,
        &seller,
        &base.last_change_id,
        &after_sku,
        &limit,
    ];
    if section == Section::Skip {
        let rows = client
            .query(&sql::page_skipped(&referenced), &common)
            .await?;
        return Ok(rows.iter().map(skipped_item).collect());
    }
    let op = if section == Section::Delete { "I" } else { "U" };
    let mut params = common.to_vec();
    params.push(&op);
    let rows = client
        .query(&sql::page_reverted(&referenced), &params)
        .await?;
    Ok(rows
        .iter()
        .map(|r| PlanItem {
            diff: r.get(1),
            ..item(r.get(0))
        })
        .collect())
}
