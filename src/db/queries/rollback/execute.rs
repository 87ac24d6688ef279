//! The rollback inside its transaction: the plan as a temporary table, the
//! deletions and restores (each checking every listing again), the
//! savepoint that undoes them, and the history row marked rolled back.

use color_eyre::eyre::Result;

use super::plan::{
    References, classify, restored_columns, row_of, skip_summary, skipped_with_latest_change,
};
use super::{SkipSummary, SkippedListing, plan_base};
use crate::db::{Conn, Transaction};

/// Deletions and restores the executed plan holds.
const PLAN_ACTIONS: &str = "SELECT count(*) FILTER (WHERE action = 'delete') AS deletions,
            count(*) FILTER (WHERE action = 'restore') AS restores
       FROM rollback_plan";

/// Ties the rollback to this transaction and tags it for the triggers.
const ATTACH_ROLLBACK: &str = "SELECT import_audit.attach_rollback($1, $2)";

fn create_plan(referenced: &str) -> String {
    format!(
        "CREATE TEMP TABLE rollback_plan ON COMMIT DROP AS {}",
        classify(referenced)
    )
}

const ANALYZE_PLAN: &str = "ANALYZE rollback_plan";

const PLAN_SOURCE: &str = "SELECT * FROM rollback_plan";

/// The executing plan's first `$1` skipped listings, with who changed them
/// and when, as the preview names them. `$2` the import's change position,
/// `$3` the seller.
fn skipped_in_plan_sql() -> String {
    format!(
        "{} ORDER BY p.sku LIMIT $1",
        skipped_with_latest_change("rollback_plan", "$2", "$3")
    )
}

/// The import's after-image `a` of the listing `l` still holds: nobody
/// changed it since (the rule that makes a listing deletable or restorable).
fn unchanged_since(referenced: &str) -> String {
    format!(
        "{} IS NOT DISTINCT FROM {} AND NOT (a.audit_op = 'I' AND {referenced})",
        row_of("l"),
        row_of("a")
    )
}

/// Deletes the listings the import created that still equal its
/// after-image and no other row references; counts them. `$1` seller, `$2`
/// import. Driven by the import's own rows and compared there: every
/// listing it deletes is checked, whatever the plan said. Run as a merge
/// join ([`MERGE_JOIN_ONLY`]).
fn delete_unchanged(referenced: &str) -> String {
    format!(
        "WITH gone AS (
            DELETE FROM listings l USING import_audit.log_listings a
             WHERE a.audit_import_id = $2 AND a.audit_image = 'N' AND a.audit_op = 'I'
               AND a.seller_id = $1 AND l.seller_id = $1 AND l.sku = a.sku
               AND {}
            RETURNING 1)
         SELECT count(*) AS rows FROM gone",
        unchanged_since(referenced)
    )
}

/// Restores the before-image `b` of the listings the import updated that
/// still equal its after-image `a`; counts them. `$1` seller, `$2` import.
fn restore_unchanged(referenced: &str) -> String {
    let set: Vec<String> = restored_columns()
        .iter()
        .map(|c| format!("{c} = b.{c}"))
        .collect();
    format!(
        "WITH restored AS (
            UPDATE listings l SET {}
              FROM import_audit.log_listings a
              JOIN import_audit.log_listings b
                ON b.audit_import_id = $2 AND b.audit_image = 'O' AND b.audit_op = 'U'
               AND b.seller_id = $1 AND b.sku = a.sku
             WHERE a.audit_import_id = $2 AND a.audit_image = 'N' AND a.audit_op = 'U'
               AND a.seller_id = $1 AND l.seller_id = $1 AND l.sku = a.sku
               AND {}
            RETURNING 1)
         SELECT count(*) AS rows FROM restored",
        set.join(", "),
        unchanged_since(referenced)
    )
}

/// The deletion joins the import's after-images (the log's by-import
/// b-tree, in key order) with the seller's listings (the primary key, in key
/// order): a merge join reads both once, in order. Left to itself the
/// planner probed the primary key once per row (a nested loop) or hashed a
/// side; measured by hand at 300,000 rows (EXPLAIN ANALYZE, the DELETE
/// without its capture trigger): 2.3 s nested loop, 2.1 s hash join, 1.5-1.7 s
/// merge join. Neither plan can turn quadratic: both inputs are index scans.
/// A merge join reads every listing of the seller in the import's key range,
/// so it is chosen only when the import created at least half of the
/// seller's listings ([`CREATED_MOST`]); a few new listings of a large seller
/// are probed one by one as before. No sort either: when the log's
/// statistics predate the import (right after a large one) the planner
/// sorted the after-images instead of reading the by-import b-tree in key
/// order, an external sort (111 MB of temporary file at 300,000 rows) that
/// made the DELETE slower (docs/performance.md, 2026-12-01).
const MERGE_JOIN_ONLY: &str =
    "SET LOCAL enable_nestloop = off; SET LOCAL enable_hashjoin = off; SET LOCAL enable_sort = off";
/// The restore reads the import's after- and before-images side by side
/// (both from the by-import b-tree, in key order: a merge join) and probes
/// each listing by its primary key. Left to itself the planner hashed the
/// after-images and read every listing of the seller: measured by hand at 1M
/// listings with 299,576 updated (EXPLAIN ANALYZE, the UPDATE without its
/// capture trigger), the joins took 5.8 s that way and 3.8 s this way. A
/// few updates of a large seller are probed the same way, so no size check.
const MERGED_IMAGES_THEN_PROBES: &str =
    "SET LOCAL enable_hashjoin = off; SET LOCAL enable_sort = off";
/// Back to the planner's own choices for the rest of the transaction.
const DEFAULT_JOINS: &str = "RESET enable_nestloop; RESET enable_hashjoin; RESET enable_sort";

/// True when import `$2` created at least half of seller `$1`'s listings;
/// counts at most twice its creations (an index-only scan of bounded length).
const CREATED_MOST: &str = "SELECT (SELECT count(*) FROM (
            SELECT 1 FROM listings WHERE seller_id = $1 LIMIT 2 * i.created + 1) s) <= 2 * i.created AS most
       FROM import_audit.imports i WHERE i.id = $2";

const MARK_ROLLED_BACK: &str = "SELECT import_audit.mark_rolled_back($1, $2, $3, $4, $5) AS marked";

/// The plan inside the executing transaction: how many listings it
/// deletes and restores, and its skips.
pub struct ExecutedPlan {
    pub deletions: i64,
    pub restores: i64,
    pub skips: SkipSummary,
}

/// Tags `tx` as the rollback of `import_id`: the triggers capture its
/// changes as the rollback's. Gives its joins the import's memory.
pub async fn attach(tx: &Transaction<'_>, import_id: i64, actor: &str) -> Result<()> {
    tx.pg()
        .batch_execute(crate::db::queries::import::WORK_MEM)
        .await?;
    tx.pg()
        .query(ATTACH_ROLLBACK, &[&import_id, &actor])
        .await?;
    Ok(())
}

/// Classifies every listing the import touched into the transaction's
/// `rollback_plan` table (the full comparison, for when the listings
/// changed after the import are not all in the change log).
pub async fn plan_in(
    tx: &Transaction<'_>,
    refs: &References,
    import_id: i64,
) -> Result<ExecutedPlan> {
    tx.pg()
        .execute(&create_plan(&refs.0), &[&import_id])
        .await?;
    tx.pg().batch_execute(ANALYZE_PLAN).await?;
    let actions = tx.pg().query_one(PLAN_ACTIONS, &[]).await?;
    let skips = tx.pg().query_one(&skip_summary(PLAN_SOURCE), &[]).await?;
    Ok(ExecutedPlan {
        deletions: actions.try_get("deletions")?,
        restores: actions.try_get("restores")?,
        skips: SkipSummary::from_row(&skips)?,
    })
}

/// The first `limit` skipped listings of the executing plan of `import_id`,
/// with the latest change after the import, as the preview pages show them.
pub async fn skipped_in_plan(
    tx: &Transaction<'_>,
    import_id: i64,
    limit: i64,
) -> Result<Vec<SkippedListing>> {
    let base = plan_base(tx, import_id).await?;
    let rows = tx
        .pg()
        .query(
            &skipped_in_plan_sql(),
            &[&limit, &base.last_change_id, &base.seller],
        )
        .await?;
    rows.iter().map(SkippedListing::from_row).collect()
}

/// Deletes the created listings nobody changed since the import; returns
/// how many.
pub async fn delete_created(
    tx: &Transaction<'_>,
    refs: &References,
    seller: &str,
    import_id: i64,
) -> Result<i64> {
    let merge_join: bool = tx
        .pg()
        .query_one(CREATED_MOST, &[&seller, &import_id])
        .await?
        .try_get("most")?;
    if merge_join {
        tx.pg().batch_execute(MERGE_JOIN_ONLY).await?;
    }
    let deleted = tx
        .pg()
        .query_one(&delete_unchanged(&refs.0), &[&seller, &import_id])
        .await?
        .try_get("rows")?;
    if merge_join {
        tx.pg().batch_execute(DEFAULT_JOINS).await?;
    }
    Ok(deleted)
}

/// Restores the before-images of the updated listings nobody changed since
/// the import; returns how many.
pub async fn restore_updated_listings(
    tx: &Transaction<'_>,
    refs: &References,
    seller: &str,
    import_id: i64,
) -> Result<i64> {
    tx.pg().batch_execute(MERGED_IMAGES_THEN_PROBES).await?;
    let restored = tx
        .pg()
        .query_one(&restore_unchanged(&refs.0), &[&seller, &import_id])
        .await?
        .try_get("rows")?;
    tx.pg().batch_execute(DEFAULT_JOINS).await?;
    Ok(restored)
}

/// Marks where [`back_to_savepoint`] returns to.
pub async fn savepoint(tx: &Transaction<'_>) -> Result<()> {
    tx.pg().batch_execute("SAVEPOINT before_changes").await?;
    Ok(())
}

/// Undoes everything since [`savepoint`].
pub async fn back_to_savepoint(tx: &Transaction<'_>) -> Result<()> {
    tx.pg()
        .batch_execute("ROLLBACK TO SAVEPOINT before_changes")
        .await?;
    Ok(())
}

/// What the history row records about an executed rollback.
pub struct RollbackReport<'a> {
    pub actor: &'a str,
    pub restored: i64,
    pub deleted: i64,
    pub skipped: i64,
}

/// Marks the import rolled back; false when it was not `completed` any more.
pub async fn mark_rolled_back(
    tx: &Transaction<'_>,
    import_id: i64,
    report: &RollbackReport<'_>,
) -> Result<bool> {
    let marked: i64 = tx
        .pg()
        .query_one(
            MARK_ROLLED_BACK,
            &[
                &import_id,
                &report.actor,
                &report.restored,
                &report.deleted,
                &report.skipped,
            ],
        )
        .await?
        .try_get("marked")?;
    Ok(marked == 1)
}
