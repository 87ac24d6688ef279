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

/// How a rollback statement reaches the import's images and the listings.
#[derive(Clone, Copy)]
enum Joins {
    /// Merge joins of key-ordered runs: the import's images from the
    /// by-import b-tree, the seller's listings from the primary key
    /// ([`MERGE_JOIN_ONLY`]).
    Merged,
    /// The import's after-images drive; each before-image and each listing
    /// is probed by its key.
    Probed,
}

/// The listing each after-image `a` belongs to, found by its key and
/// matched by its row address, whatever the planner believes about the
/// sizes involved (`LIMIT 1` keeps the subquery from being flattened). With
/// `l.seller_id = $1 AND l.sku = a.sku` instead, statistics that had not
/// seen the seller yet (a new seller's first tens of thousands of listings
/// in a larger table: autovacuum waits for a tenth of the table) made the
/// planner expect one listing, read the seller's listings first and every
/// after-image once per listing: 2,000 restores among 12,000 listings read
/// 24M index entries (tests/rollback.rs). The row address is safe inside
/// the rollback's snapshot transaction: a listing changed since fails the
/// statement instead of being skipped.
const LISTING_PROBED: &str = "CROSS JOIN LATERAL (
                SELECT p.ctid AS listing FROM listings p
                 WHERE p.seller_id = $1 AND p.sku = a.sku LIMIT 1) k";

impl Joins {
    /// What the statement adds to the import's after-images `a`.
    fn lateral(self) -> &'static str {
        match self {
            Joins::Merged => "",
            Joins::Probed => LISTING_PROBED,
        }
    }

    /// The condition tying the listing `l` to its after-image `a`.
    fn listing(self) -> &'static str {
        match self {
            Joins::Merged => "l.seller_id = $1 AND l.sku = a.sku",
            Joins::Probed => "l.ctid = k.listing",
        }
    }

    /// The import's after-images `a`, each with its before-image `b`
    /// (the restore's `FROM`).
    fn images(self) -> &'static str {
        match self {
            Joins::Merged => IMAGES_MERGED,
            Joins::Probed => BEFORE_IMAGE_PROBED,
        }
    }
}

/// Deletes the listings the import created that still equal its
/// after-image and no other row references; counts them. `$1` seller, `$2`
/// import. Driven by the import's own rows and compared there: every
/// listing it deletes is checked, whatever the plan said.
fn delete_unchanged(referenced: &str, joins: Joins) -> String {
    format!(
        "WITH gone AS (
            DELETE FROM listings l USING import_audit.log_listings a {lateral}
             WHERE a.audit_import_id = $2 AND a.audit_image = 'N' AND a.audit_op = 'I'
               AND a.seller_id = $1 AND {listing}
               AND {unchanged}
            RETURNING 1)
         SELECT count(*) AS rows FROM gone",
        lateral = joins.lateral(),
        listing = joins.listing(),
        unchanged = unchanged_since(referenced)
    )
}

/// Restores the before-image `b` of the listings the import updated that
/// still equal its after-image `a`; counts them. `$1` seller, `$2` import.
fn restore_unchanged(referenced: &str, joins: Joins) -> String {
    let set: Vec<String> = restored_columns()
        .iter()
        .map(|c| format!("{c} = b.{c}"))
        .collect();
    format!(
        "WITH restored AS (
            UPDATE listings l SET {set}
              FROM {images} {lateral}
             WHERE a.audit_import_id = $2 AND a.audit_image = 'N' AND a.audit_op = 'U'
               AND a.seller_id = $1 AND {listing}
               AND {unchanged}
            RETURNING 1)
         SELECT count(*) AS rows FROM restored",
        set = set.join(", "),
        images = joins.images(),
        lateral = joins.lateral(),
        listing = joins.listing(),
        unchanged = unchanged_since(referenced)
    )
}

/// The import's after- and before-images side by side, for a merge join of
/// the two key-ordered runs of the by-import b-tree.
const IMAGES_MERGED: &str = "import_audit.log_listings a
              JOIN import_audit.log_listings b
                ON b.audit_import_id = $2 AND b.audit_image = 'O' AND b.audit_op = 'U'
               AND b.seller_id = $1 AND b.sku = a.sku";

/// Each after-image's before-image probed by its key (an import writes one
/// before-image per key). As a plain join, with statistics that did not
/// know the import yet (a large re-import into a large change log, which
/// the import does not analyse), the planner expected one row on each side
/// and read every before-image of the import once per after-image: a
/// 1M-listing rollback of 299,576 updates ran for 14 minutes before it was
/// cancelled (docs/performance.md, 2026-12-01 evening).
const BEFORE_IMAGE_PROBED: &str = "import_audit.log_listings a
              CROSS JOIN LATERAL (
                SELECT * FROM import_audit.log_listings b
                 WHERE b.audit_import_id = $2 AND b.audit_image = 'O' AND b.audit_op = 'U'
                   AND b.seller_id = $1 AND b.sku = a.sku
                 LIMIT 1) b";

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
/// are probed one by one ([`Joins::Probed`]). No sort either: when the log's
/// statistics predate the import (right after a large one) the planner
/// sorted the after-images instead of reading the by-import b-tree in key
/// order, an external sort (111 MB of temporary file at 300,000 rows) that
/// made the DELETE slower (docs/performance.md, 2026-12-01). Many restores
/// run the same way ([`UPDATED_MANY`]).
const MERGE_JOIN_ONLY: &str =
    "SET LOCAL enable_nestloop = off; SET LOCAL enable_hashjoin = off; SET LOCAL enable_sort = off";
/// Restores of at least a quarter of the seller's listings run as merge
/// joins only ([`MERGE_JOIN_ONLY`]): the after- and before-images from the
/// by-import b-tree and the seller's listings from the primary key, each
/// read once in key order, so no estimate can make the statement
/// quadratic. Measured by hand at 1M listings with 299,576 updated (EXPLAIN
/// ANALYZE, the UPDATE without its capture trigger, statistics that had not
/// seen the import): 6.0-6.6 s, against 7.8-8.7 s with each listing and
/// before-image probed by key. Fewer restores probe ([`Joins::Probed`]),
/// so a small rollback of a large seller does not read all of its listings.
const UPDATED_MANY: &str = "SELECT (SELECT count(*) FROM (
            SELECT 1 FROM listings WHERE seller_id = $1 LIMIT 4 * i.updated + 1) s) <= 4 * i.updated AS merge
       FROM import_audit.imports i WHERE i.id = $2";
/// Back to the planner's own choices for the rest of the transaction.
const DEFAULT_JOINS: &str = "RESET enable_nestloop; RESET enable_hashjoin; RESET enable_sort";

/// True when import `$2` created at least half of seller `$1`'s listings;
/// counts at most twice its creations (an index-only scan of bounded length).
const CREATED_MOST: &str = "SELECT (SELECT count(*) FROM (
            SELECT 1 FROM listings WHERE seller_id = $1 LIMIT 2 * i.created + 1) s) <= 2 * i.created AS merge
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
    let statement = |joins| delete_unchanged(&refs.0, joins);
    counted_change(tx, CREATED_MOST, statement, seller, import_id).await
}

/// Restores the before-images of the updated listings nobody changed since
/// the import; returns how many.
pub async fn restore_updated_listings(
    tx: &Transaction<'_>,
    refs: &References,
    seller: &str,
    import_id: i64,
) -> Result<i64> {
    let statement = |joins| restore_unchanged(&refs.0, joins);
    counted_change(tx, UPDATED_MANY, statement, seller, import_id).await
}

/// Runs the counting `statement` with merge joins only when `size_check`
/// (`$1` seller, `$2` import) says `merge`, else with probes; returns its
/// count.
async fn counted_change(
    tx: &Transaction<'_>,
    size_check: &str,
    statement: impl Fn(Joins) -> String,
    seller: &str,
    import_id: i64,
) -> Result<i64> {
    let merge_join: bool = tx
        .pg()
        .query_one(size_check, &[&seller, &import_id])
        .await?
        .try_get("merge")?;
    let joins = if merge_join {
        tx.pg().batch_execute(MERGE_JOIN_ONLY).await?;
        Joins::Merged
    } else {
        Joins::Probed
    };
    let rows = tx
        .pg()
        .query_one(&statement(joins), &[&seller, &import_id])
        .await?
        .try_get("rows")?;
    if merge_join {
        tx.pg().batch_execute(DEFAULT_JOINS).await?;
    }
    Ok(rows)
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
