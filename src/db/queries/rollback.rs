//! SQL of the rollback: eligibility, the plan (which listings to delete,
//! restore or skip), its fingerprint, and the restoring statements.
//!
//! The plan compares each listing the import touched with the import's own
//! after-image: equal means nobody changed it since, so it can be reverted;
//! different (or gone) means it was changed afterwards, so it is skipped.

use super::import::DATA_COLUMNS;

/// Columns a restore writes back: the data columns and both timestamps
/// (the key stays).
fn restored_columns() -> Vec<&'static str> {
    DATA_COLUMNS
        .iter()
        .copied()
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
pub const NEWER_APPLIED: &str = "SELECT id, status FROM import_audit.imports
      WHERE seller_id = $1 AND id > $2 AND status IN ('completed', 'running')
      ORDER BY id DESC LIMIT 1";

pub const LAST_APPLIED: &str = "SELECT id FROM import_audit.imports
      WHERE seller_id = $1 AND status = 'completed' ORDER BY id DESC LIMIT 1";

/// Foreign keys from other tables that reference `listings`:
/// (referencing table, its columns, the referenced listing columns).
pub const REFERENCING_KEYS: &str = "SELECT c.conrelid::regclass::text,
            array_agg(fa.attname::text ORDER BY k.ord),
            array_agg(pa.attname::text ORDER BY k.ord)
       FROM pg_constraint c
       CROSS JOIN LATERAL unnest(c.conkey, c.confkey) WITH ORDINALITY AS k(fk, pk, ord)
       JOIN pg_attribute fa ON fa.attrelid = c.conrelid AND fa.attnum = k.fk
       JOIN pg_attribute pa ON pa.attrelid = c.confrelid AND pa.attnum = k.pk
      WHERE c.contype = 'f' AND c.confrelid = 'public.listings'::regclass
      GROUP BY c.oid, c.conrelid";

/// Quotes an identifier taken from the catalog.
fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// `EXISTS` over every referencing table, for the created listing `a`; or `false`.
pub fn referenced_expr(fks: &[(String, Vec<String>, Vec<String>)]) -> String {
    if fks.is_empty() {
        return "false".to_string();
    }
    let parts: Vec<String> = fks
        .iter()
        .map(|(table, fk_cols, pk_cols)| {
            let cond: Vec<String> = fk_cols
                .iter()
                .zip(pk_cols)
                .map(|(f, p)| format!("f.{} = a.{}", ident(f), ident(p)))
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
pub fn classify(referenced: &str) -> String {
    classify_rows(
        referenced,
        "import_audit.log_listings a",
        "a.audit_import_id = $1 AND a.audit_image = 'N'",
    )
}

/// The classification over the after-images `a` that `from` and `filter` select.
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
           LEFT JOIN listings l ON l.seller_id = a.seller_id AND l.sku = a.sku
          WHERE {filter}"
    )
}

/// The import's row in the history, for the plan: seller, change-log
/// position at commit, created and updated counts.
pub const PLAN_BASE: &str = "SELECT seller_id, coalesce(last_change_id, 0), created, updated
       FROM import_audit.imports WHERE id = $1";

/// The plan restricted to the listings that can differ from "delete what the
/// import created, restore what it updated": those changed after the import
/// (the log's tail after `$3`, the import's position) and, when other tables
/// reference listings, the created ones that are referenced. Every other
/// listing still equals the import's after-image. `$1` import, `$2` seller.
///
/// The tail leaves out the rows of later imports that were rolled back, and
/// of their rollbacks: a rollback that restored a listing put back exactly
/// the value it had before that later import, and whatever changed it in
/// between is in the tail on its own; a listing that rollback skipped was
/// skipped because of another change, also in the tail. (The execution
/// compares every listing anyway.) Without this, previewing the next import
/// down the chain would re-examine every listing the rolled-back one touched.
pub fn candidates(referenced: &str) -> String {
    let keys = format!(
        "(SELECT t.sku FROM import_audit.log_listings t
           CROSS JOIN (SELECT coalesce(array_agg(id), '{{}}') AS ids FROM import_audit.imports
                        WHERE seller_id = $2 AND id > $1 AND status = 'rolled_back') undone
           WHERE t.audit_change_id > $3 AND t.seller_id = $2
             AND (t.audit_import_id IS NULL OR t.audit_import_id <> ALL (undone.ids))
             AND (t.audit_rollback_of IS NULL OR t.audit_rollback_of <> ALL (undone.ids))
          UNION
          SELECT a.sku FROM import_audit.log_listings a
           WHERE {referenced} AND a.audit_import_id = $1 AND a.audit_image = 'N'
             AND a.audit_op = 'I' AND a.seller_id = $2) k
         JOIN import_audit.log_listings a
           ON a.audit_import_id = $1 AND a.audit_image = 'N' AND a.audit_op IN ('I', 'U')
          AND a.seller_id = $2 AND a.sku = k.sku"
    );
    classify_rows(referenced, &keys, "true")
}

/// Skipped listings of a plan, by what the import did and why, and an
/// order-independent hash of (reason, key): with the import's own counts this
/// is the plan's fingerprint.
pub fn skip_summary(plan_source: &str) -> String {
    format!(
        "SELECT count(*) FILTER (WHERE import_op = 'I'),
                count(*) FILTER (WHERE import_op = 'U'),
                count(*) FILTER (WHERE reason = 'edited'),
                count(*) FILTER (WHERE reason = 'deleted'),
                count(*) FILTER (WHERE reason = 'referenced'),
                coalesce(sum(hashtextextended(reason || ':' || sku, 7)::numeric), 0)::text
           FROM ({plan_source}) p WHERE p.action = 'skip'"
    )
}

/// Deletions and restores the executed plan holds.
pub const PLAN_ACTIONS: &str = "SELECT count(*) FILTER (WHERE action = 'delete'),
            count(*) FILTER (WHERE action = 'restore')
       FROM rollback_plan";

/// Columns `p.sku, p.reason, changed_by, changed_at, op` of skipped
/// listings `p`, with the latest captured change after the import (change
/// position `after`, seller `seller`). `changed_by` is the database role,
/// with the application's label beside it when it says more: a label never
/// stands in for the role.
fn skipped_with_latest_change(after: &str, seller: &str) -> String {
    format!(
        "p.sku, p.reason,
         CASE WHEN later.audit_actor = later.audit_role THEN later.audit_role
              ELSE later.audit_role || ' (' || later.audit_actor || ')' END,
         later.audit_at, later.audit_op::text
           FROM {{source}} p
           LEFT JOIN LATERAL (
                SELECT x.audit_actor, x.audit_role, x.audit_at, x.audit_op
                  FROM import_audit.log_listings x
                 WHERE x.audit_change_id > {after} AND x.seller_id = {seller} AND x.sku = p.sku
                   AND x.audit_rollback_of IS NULL
                 ORDER BY x.audit_change_id DESC LIMIT 1) later ON true"
    )
}

/// A page of skipped listings in key order after `$4`, `$5` rows, with the
/// latest change after the import (who, when, what). `$1..$3` as in `candidates`.
pub fn page_skipped(referenced: &str) -> String {
    format!(
        "SELECT {columns}
          WHERE p.action = 'skip' AND ($4::text IS NULL OR p.sku > $4)
          ORDER BY p.sku
          LIMIT $5",
        columns = skipped_with_latest_change("$3", "$2")
            .replace("{source}", &format!("({})", candidates(referenced)))
    )
}

/// A page of listings to delete (`$6` = 'I') or restore (`$6` = 'U') in key
/// order after `$4`, `$5` rows, with for restores the per-field diff
/// current -> restored. Walks the import's rows through its key-ordered index.
pub fn page_reverted(referenced: &str) -> String {
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
                CASE WHEN a.audit_op = 'U' THEN jsonb_strip_nulls(jsonb_build_object({diff})) END
           FROM import_audit.log_listings a
           LEFT JOIN listings l ON a.audit_op = 'U' AND l.seller_id = $2 AND l.sku = a.sku
           LEFT JOIN import_audit.log_listings b
                  ON a.audit_op = 'U' AND b.audit_import_id = $1 AND b.audit_image = 'O'
                 AND b.audit_op = 'U' AND b.seller_id = $2 AND b.sku = a.sku
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
pub const ATTACH_ROLLBACK: &str = "SELECT import_audit.attach_rollback($1, $2)";

pub fn create_plan(referenced: &str) -> String {
    format!(
        "CREATE TEMP TABLE rollback_plan ON COMMIT DROP AS {}",
        classify(referenced)
    )
}

pub const PLAN_SOURCE: &str = "SELECT * FROM rollback_plan";

/// The executed plan's skipped listings, first `$1`, with who changed them
/// and when as the preview shows it. `$2` the import's change position, `$3` the seller.
pub fn skipped_in_plan() -> String {
    format!(
        "SELECT {columns} WHERE p.action = 'skip' ORDER BY p.sku LIMIT $1",
        columns = skipped_with_latest_change("$2", "$3").replace("{source}", "rollback_plan")
    )
}

pub const DELETE_CREATED: &str = "WITH gone AS (
        DELETE FROM listings l USING rollback_plan p
         WHERE p.action = 'delete' AND l.seller_id = $1 AND l.sku = p.sku
        RETURNING 1)
     SELECT count(*) FROM gone";

pub fn restore_updated() -> String {
    let set: Vec<String> = restored_columns()
        .iter()
        .map(|c| format!("{c} = b.{c}"))
        .collect();
    format!(
        "WITH restored AS (
            UPDATE listings l SET {}
              FROM rollback_plan p
              JOIN import_audit.log_listings b
                ON b.audit_import_id = $2 AND b.audit_image = 'O' AND b.audit_op = 'U'
               AND b.sku = p.sku AND b.seller_id = $1
             WHERE p.action = 'restore' AND l.seller_id = $1 AND l.sku = p.sku
            RETURNING 1)
         SELECT count(*) FROM restored",
        set.join(", ")
    )
}

pub const MARK_ROLLED_BACK: &str = "SELECT import_audit.mark_rolled_back($1, $2, $3, $4, $5)";
