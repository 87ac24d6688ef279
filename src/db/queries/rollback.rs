//! SQL of the rollback: eligibility, the plan (which listings to delete,
//! restore or skip), its fingerprint, and the restoring statements.
//!
//! The plan compares each listing the import touched with the import's own
//! after-image: equal means nobody changed it since, so it can be reverted;
//! different (or gone) means it was changed afterwards, so it is skipped.

use color_eyre::eyre::Result;
use tokio_postgres::GenericClient;
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;

use super::history::ImportState;
use super::listing::Field;
use crate::db::{Conn, Transaction, quote_ident};

/// Columns a restore writes back: the data columns and both timestamps
/// (the key stays).
fn restored_columns() -> Vec<&'static str> {
    Field::data()
        .map(Field::name)
        .chain(["created_at", "updated_at"])
        .collect()
}

/// Every column of `listings`, compared exactly.
fn listing_columns() -> Vec<&'static str> {
    ["seller_id", "sku"]
        .into_iter()
        .chain(restored_columns())
        .collect()
}

/// The newest import of the seller that is still applied or running, other than $1.
const NEWER_APPLIED: &str = "SELECT id, status FROM import_audit.imports
      WHERE seller_id = $1 AND id > $2 AND status IN ('completed', 'running')
      ORDER BY id DESC LIMIT 1";

const LAST_APPLIED: &str = "SELECT id FROM import_audit.imports
      WHERE seller_id = $1 AND status = 'completed' ORDER BY id DESC LIMIT 1";

/// Foreign keys from other tables that reference `listings`:
/// (referencing table, its columns, the referenced listing columns).
const REFERENCING_KEYS: &str = "SELECT c.conrelid::regclass::text AS referencing,
            array_agg(fa.attname::text ORDER BY k.ord) AS fk_columns,
            array_agg(pa.attname::text ORDER BY k.ord) AS pk_columns
       FROM pg_constraint c
       CROSS JOIN LATERAL unnest(c.conkey, c.confkey) WITH ORDINALITY AS k(fk, pk, ord)
       JOIN pg_attribute fa ON fa.attrelid = c.conrelid AND fa.attnum = k.fk
       JOIN pg_attribute pa ON pa.attrelid = c.confrelid AND pa.attnum = k.pk
      WHERE c.contype = 'f' AND c.confrelid = 'public.listings'::regclass
      GROUP BY c.oid, c.conrelid";

/// `EXISTS` over every referencing table, for the created listing `a`; or `false`.
fn referenced_expr(fks: &[(String, Vec<String>, Vec<String>)]) -> String {
    if fks.is_empty() {
        return "false".to_string();
    }
    let parts: Vec<String> = fks
        .iter()
        .map(|(table, fk_cols, pk_cols)| {
            let cond: Vec<String> = fk_cols
                .iter()
                .zip(pk_cols)
                .map(|(f, p)| format!("f.{} = a.{}", quote_ident(f), quote_ident(p)))
                .collect();
            // `table` is regclass output: already quoted where needed.
            format!(
                "EXISTS (SELECT 1 FROM {table} f WHERE {})",
                cond.join(" AND ")
            )
        })
        .collect();
    format!("({})", parts.join(" OR "))
}

fn row_of(alias: &str) -> String {
    let cols: Vec<String> = listing_columns()
        .iter()
        .map(|c| format!("{alias}.{c}"))
        .collect();
    format!("ROW({})", cols.join(", "))
}

/// One row per listing the import touched: sku, what the import did
/// ('I'/'U'), the action ('delete'/'restore'/'skip') and the skip reason
/// ('edited'/'deleted'/'referenced'). `$1` is the import id.
fn classify(referenced: &str) -> String {
    classify_rows(
        referenced,
        "import_audit.log_listings a
           LEFT JOIN listings l ON l.seller_id = a.seller_id AND l.sku = a.sku",
        "a.audit_import_id = $1 AND a.audit_image = 'N'",
    )
}

/// The current listing of the after-image `a`, probed by its key whatever
/// the planner believes about the sizes involved: right after an import,
/// before statistics know the new seller or the new import, it would
/// otherwise scan the seller's listings once per row (seconds for a few
/// thousand rows). `LIMIT 1` keeps the subquery from being flattened.
const PROBE_LISTING: &str = "LEFT JOIN LATERAL (
            SELECT * FROM listings l WHERE l.seller_id = a.seller_id AND l.sku = a.sku LIMIT 1) l ON true";

/// The classification of the after-images `a` and their listings `l` that
/// `from` joins and `filter` selects.
fn classify_rows(referenced: &str, from: &str, filter: &str) -> String {
    let changed = format!("{} IS DISTINCT FROM {}", row_of("l"), row_of("a"));
    format!(
        "SELECT a.sku, a.audit_op::text AS import_op, a.audit_change_id,
                CASE WHEN l.sku IS NULL THEN 'skip'
                     WHEN {changed} THEN 'skip'
                     WHEN a.audit_op = 'I' AND {referenced} THEN 'skip'
                     WHEN a.audit_op = 'I' THEN 'delete'
                     ELSE 'restore' END AS action,
                CASE WHEN l.sku IS NULL THEN 'deleted'
                     WHEN {changed} THEN 'edited'
                     WHEN a.audit_op = 'I' AND {referenced} THEN 'referenced' END AS reason
           FROM {from}
          WHERE {filter}"
    )
}

/// The import's row in the history, for the plan: seller, change-log
/// position at commit, created and updated counts.
const PLAN_BASE: &str =
    "SELECT seller_id, coalesce(last_change_id, 0) AS last_change_id, created, updated
       FROM import_audit.imports WHERE id = $1";

/// The plan restricted to the listings that can differ from "delete what the
/// import created, restore what it updated": those changed by hand after the
/// import (the seller's log rows after `$3`, the import's position, written
/// by no import and no rollback) and, when other tables reference listings,
/// the created ones that are referenced. Every other listing still equals
/// the import's after-image. `$1` import, `$2` seller. The join starts from
/// those keys (an import writes one after-image per key), so the plan does
/// not depend on statistics that may not know the import yet.
///
/// Rows of imports and rollbacks after `$3` do not matter: the seller's later
/// imports were all rolled back (else this import is not eligible), and a
/// rollback that restored a listing put back exactly the value it had before
/// that later import; a listing that rollback skipped was skipped because of
/// a hand edit, which is in the tail on its own. (The execution compares
/// every listing anyway.) The tail is read through the seller's hand-edit
/// index, so neither the size of later imports nor other sellers' changes
/// make the preview slower.
fn candidates(referenced: &str) -> String {
    let keys = format!(
        "(SELECT t.sku FROM import_audit.log_listings t
           WHERE {HAND_EDIT} AND t.seller_id = $2 AND t.audit_change_id > $3
          UNION
          SELECT a.sku FROM import_audit.log_listings a
           WHERE {referenced} AND a.audit_import_id = $1 AND a.audit_image = 'N'
             AND a.audit_op = 'I' AND a.seller_id = $2) k
         CROSS JOIN LATERAL (
            SELECT * FROM import_audit.log_listings a
             WHERE a.audit_import_id = $1 AND a.audit_image = 'N' AND a.audit_op IN ('I', 'U')
               AND a.seller_id = $2 AND a.sku = k.sku
             LIMIT 1) a
         {PROBE_LISTING}"
    );
    classify_rows(referenced, &keys, "true")
}

/// A log row `t` written by no import and no rollback (the predicate of the
/// hand-edit index, migrations/V11__import_performance.sql).
const HAND_EDIT: &str = "t.audit_import_id IS NULL AND t.audit_rollback_of IS NULL";

/// Skipped listings of a plan, by what the import did and why, and an
/// order-independent hash of (reason, key): with the import's own counts this
/// is the plan's fingerprint.
fn skip_summary(plan_source: &str) -> String {
    format!(
        "SELECT count(*) FILTER (WHERE import_op = 'I') AS skipped_created,
                count(*) FILTER (WHERE import_op = 'U') AS skipped_updated,
                count(*) FILTER (WHERE reason = 'edited') AS edited,
                count(*) FILTER (WHERE reason = 'deleted') AS deleted,
                count(*) FILTER (WHERE reason = 'referenced') AS referenced,
                coalesce(sum(hashtextextended(reason || ':' || sku, 7)::numeric), 0)::text AS hash
           FROM ({plan_source}) p WHERE p.action = 'skip'"
    )
}

/// Deletions and restores the executed plan holds.
const PLAN_ACTIONS: &str = "SELECT count(*) FILTER (WHERE action = 'delete') AS deletions,
            count(*) FILTER (WHERE action = 'restore') AS restores
       FROM rollback_plan";

/// Skipped listings of `source` (aliased `p`) with the latest hand edit
/// after the import (later imports were rolled back: only hand edits
/// matter) (change position `after`, seller `seller`):
/// `sku, reason, changed_by, changed_at, change`. `changed_by` is
/// `label (database role)` as `actor::with_role` writes it (one name when
/// they agree): a label never stands in for the role.
fn skipped_with_latest_change(source: &str, after: &str, seller: &str) -> String {
    format!(
        "SELECT p.sku, p.reason,
                CASE WHEN later.audit_actor = later.audit_role THEN later.audit_role
                     ELSE later.audit_actor || ' (' || later.audit_role || ')' END AS changed_by,
                later.audit_at AS changed_at,
                CASE later.audit_op WHEN 'I' THEN 'insert' WHEN 'U' THEN 'update'
                     WHEN 'D' THEN 'delete' WHEN 'T' THEN 'truncate' END AS change
           FROM {source} p
           LEFT JOIN LATERAL (
                SELECT t.audit_actor, t.audit_role, t.audit_at, t.audit_op
                  FROM import_audit.log_listings t
                 WHERE {HAND_EDIT} AND t.audit_change_id > {after} AND t.seller_id = {seller}
                   AND t.sku = p.sku
                 ORDER BY t.audit_change_id DESC LIMIT 1) later ON true
          WHERE p.action = 'skip'"
    )
}

/// A page of skipped listings in key order after `$4`, `$5` rows, with the
/// latest hand edit after the import (who, when, what). `$1..$3` as in `candidates`.
fn page_skipped(referenced: &str) -> String {
    format!(
        "{skipped} AND ($4::text IS NULL OR p.sku > $4)
          ORDER BY p.sku
          LIMIT $5",
        skipped = skipped_with_latest_change(&format!("({})", candidates(referenced)), "$3", "$2")
    )
}

/// A page of listings to delete (`$6` = 'I') or restore (`$6` = 'U') in key
/// order after `$4`, `$5` rows, with for restores the per-field diff
/// current -> restored. Walks the import's rows through its key-ordered index.
fn page_reverted(referenced: &str) -> String {
    let diff_pairs: Vec<String> = restored_columns()
        .iter()
        .map(|c| {
            format!(
                "'{c}', CASE WHEN l.{c} IS DISTINCT FROM b.{c} \
                 THEN jsonb_build_array(l.{c}::text, b.{c}::text) END"
            )
        })
        .collect();
    format!(
        "SELECT a.sku,
                CASE WHEN a.audit_op = 'U' THEN jsonb_strip_nulls(jsonb_build_object({diff})) END AS diff
           FROM import_audit.log_listings a
           LEFT JOIN LATERAL (
                SELECT * FROM listings l
                 WHERE a.audit_op = 'U' AND l.seller_id = $2 AND l.sku = a.sku LIMIT 1) l ON true
           LEFT JOIN LATERAL (
                SELECT * FROM import_audit.log_listings b
                 WHERE a.audit_op = 'U' AND b.audit_import_id = $1 AND b.audit_image = 'O'
                   AND b.audit_op = 'U' AND b.seller_id = $2 AND b.sku = a.sku LIMIT 1) b ON true
          WHERE a.audit_import_id = $1 AND a.audit_image = 'N' AND a.seller_id = $2
            AND a.audit_op = $6::text::\"char\" AND ($4::text IS NULL OR a.sku > $4)
            AND NOT EXISTS (SELECT 1 FROM ({candidates}) c WHERE c.action = 'skip' AND c.sku = a.sku)
          ORDER BY a.sku
          LIMIT $5",
        diff = diff_pairs.join(", "),
        candidates = candidates(referenced)
    )
}

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
/// listing it deletes is checked, whatever the plan said, and both sides
/// are probed by key, so no plan choice can make it quadratic.
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

const MARK_ROLLED_BACK: &str = "SELECT import_audit.mark_rolled_back($1, $2, $3, $4, $5) AS marked";

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

/// The SQL condition "a created listing is referenced by another table's
/// row", made from the catalog's foreign keys (read once per plan).
pub struct References(String);

pub async fn references(conn: &impl Conn) -> Result<References> {
    let rows = conn.pg().query(REFERENCING_KEYS, &[]).await?;
    let fks = rows
        .iter()
        .map(|r| {
            Ok((
                r.try_get("referencing")?,
                r.try_get("fk_columns")?,
                r.try_get("pk_columns")?,
            ))
        })
        .collect::<Result<Vec<_>, tokio_postgres::Error>>()?;
    Ok(References(referenced_expr(&fks)))
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

/// The skip summary of the plan, computed from the listings changed after
/// the import only (see `candidates`): a preview that locks nothing.
pub async fn preview_skips(
    conn: &impl Conn,
    refs: &References,
    import_id: i64,
    base: &PlanBase,
) -> Result<SkipSummary> {
    let r = conn
        .pg()
        .query_one(
            &skip_summary(&candidates(&refs.0)),
            &[&import_id, &base.seller, &base.last_change_id],
        )
        .await?;
    Ok(SkipSummary::from_row(&r)?)
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

/// A listing the rollback deletes or restores; restores carry the
/// per-field diff current -> restored.
pub struct RevertedListing {
    pub sku: String,
    pub diff: Option<serde_json::Value>,
}

/// Where a page of the plan starts and how long it is.
pub struct PageAt<'a> {
    pub import_id: i64,
    pub base: &'a PlanBase,
    pub after_sku: Option<&'a str>,
    pub limit: i64,
}

impl PageAt<'_> {
    fn params(&self) -> [&(dyn ToSql + Sync); 5] {
        [
            &self.import_id,
            &self.base.seller,
            &self.base.last_change_id,
            &self.after_sku,
            &self.limit,
        ]
    }
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

/// A page of skipped listings in key order.
pub async fn page_of_skips(
    conn: &impl Conn,
    refs: &References,
    at: &PageAt<'_>,
) -> Result<Vec<SkippedListing>> {
    let rows = conn
        .pg()
        .query(&page_skipped(&refs.0), &at.params())
        .await?;
    rows.iter().map(SkippedListing::from_row).collect()
}

/// A page of the listings the import created (`created`: deleted by the
/// rollback) or updated (restored), in key order.
pub async fn page_of_reverts(
    conn: &impl Conn,
    refs: &References,
    at: &PageAt<'_>,
    created: bool,
) -> Result<Vec<RevertedListing>> {
    let op = if created { "I" } else { "U" };
    let mut params = at.params().to_vec();
    params.push(&op);
    let rows = conn.pg().query(&page_reverted(&refs.0), &params).await?;
    rows.iter()
        .map(|r| {
            Ok(RevertedListing {
                sku: r.try_get("sku")?,
                diff: r.try_get("diff")?,
            })
        })
        .collect()
}

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
    tx.pg().batch_execute(super::import::WORK_MEM).await?;
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
    Ok(tx
        .pg()
        .query_one(&delete_unchanged(&refs.0), &[&seller, &import_id])
        .await?
        .try_get("rows")?)
}

/// Restores the before-images of the updated listings nobody changed since
/// the import; returns how many.
pub async fn restore_updated_listings(
    tx: &Transaction<'_>,
    refs: &References,
    seller: &str,
    import_id: i64,
) -> Result<i64> {
    Ok(tx
        .pg()
        .query_one(&restore_unchanged(&refs.0), &[&seller, &import_id])
        .await?
        .try_get("rows")?)
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
