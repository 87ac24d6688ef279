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

pub(super) fn counts_from(row: &tokio_postgres::Row) -> (PlanCounts, String) {
    let counts = PlanCounts {
        delete: row.get(0),
        restore: row.get(1),
        skip: row.get(2),
        skipped_edited: row.get(3),
        skipped_deleted: row.get(4),
        skipped_referenced: row.get(5),
    };
    let hash: String = row.get(6);
    (counts, fingerprint(&counts, &hash))
}

fn fingerprint(c: &PlanCounts, hash: &str) -> String {
    use sha2::{Digest, Sha256};
    let text = format!("{}:{}:{}:{}", c.delete, c.restore, c.skip, hash);
    hex::encode(&Sha256::digest(text.as_bytes())[..8])
}

/// Counts and fingerprint of the plan (or why the import is not eligible).
/// Reads only: nothing is locked while a person looks at it.
pub async fn preview(db: &Database, import_id: i64) -> Result<Result<Preview, Ineligible>> {
    let client = db.client().await?;
    let import = match eligibility(&**client, import_id).await? {
        Ok(i) => i,
        Err(why) => return Ok(Err(why)),
    };
    let referenced = referenced_condition(&**client).await?;
    let row = client
        .query_one(&sql::summarise(&sql::classify(&referenced)), &[&import_id])
        .await?;
    let (counts, fingerprint) = counts_from(&row);
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
    let referenced = referenced_condition(&**client).await?;
    let rows = client
        .query(
            &sql::page(&referenced),
            &[&import_id, &after_sku, &limit, &section.as_str(), &seller],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| PlanItem {
            sku: r.get(0),
            action: section,
            reason: r.get(2),
            changed_by: r.get(3),
            changed_at: r.get(4),
            change: r.get::<_, Option<String>>(5).map(|op| {
                match op.as_str() {
                    "U" => "update",
                    "D" => "delete",
                    "T" => "truncate",
                    _ => "insert",
                }
                .to_string()
            }),
            diff: r.get(6),
        })
        .collect())
}
