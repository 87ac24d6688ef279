//! Which listings a rollback deletes, restores or skips: the classification
//! of every listing the import touched, the shortcut through the listings
//! changed since, and the skip summary that fingerprints a plan.

use color_eyre::eyre::Result;
use tokio_postgres::GenericClient;

use crate::db::queries::listing::Field;
use crate::db::{Conn, quote_ident};

/// Columns a restore writes back: the data columns and both timestamps
/// (the key stays).
pub(super) fn restored_columns() -> Vec<&'static str> {
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

pub(super) fn row_of(alias: &str) -> String {
    let cols: Vec<String> = listing_columns()
        .iter()
        .map(|c| format!("{alias}.{c}"))
        .collect();
    format!("ROW({})", cols.join(", "))
}

/// One row per listing the import touched: sku, what the import did
/// ('I'/'U'), the action ('delete'/'restore'/'skip') and the skip reason
/// ('edited'/'deleted'/'referenced'). `$1` is the import id.
pub(super) fn classify(referenced: &str) -> String {
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
pub(super) fn candidates(referenced: &str) -> String {
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
pub(super) fn skip_summary(plan_source: &str) -> String {
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

/// Skipped listings of `source` (aliased `p`) with the latest hand edit
/// after the import (later imports were rolled back: only hand edits
/// matter) (change position `after`, seller `seller`):
/// `sku, reason, changed_by, changed_at, change`. `changed_by` is
/// `label (database role)` as `actor::with_role` writes it (one name when
/// they agree): a label never stands in for the role. `change` is
/// `restore` when the edit was a single-listing restore from the listing's
/// timeline (V9), which a rollback treats like any edit but names.
pub(super) fn skipped_with_latest_change(source: &str, after: &str, seller: &str) -> String {
    format!(
        "SELECT p.sku, p.reason,
                CASE WHEN later.audit_actor = later.audit_role THEN later.audit_role
                     ELSE later.audit_actor || ' (' || later.audit_role || ')' END AS changed_by,
                later.audit_at AS changed_at,
                CASE WHEN EXISTS (SELECT 1 FROM import_audit.listing_restores r
                                   WHERE r.seller_id = {seller} AND r.sku = p.sku
                                     AND r.txid = later.audit_txid)
                          THEN 'restore'
                     ELSE CASE later.audit_op WHEN 'I' THEN 'insert' WHEN 'U' THEN 'update'
                          WHEN 'D' THEN 'delete' WHEN 'T' THEN 'truncate' END END AS change
           FROM {source} p
           LEFT JOIN LATERAL (
                SELECT t.audit_actor, t.audit_role, t.audit_at, t.audit_op, t.audit_txid
                  FROM import_audit.log_listings t
                 WHERE {HAND_EDIT} AND t.audit_change_id > {after} AND t.seller_id = {seller}
                   AND t.sku = p.sku
                 ORDER BY t.audit_change_id DESC LIMIT 1) later ON true
          WHERE p.action = 'skip'"
    )
}

/// The SQL condition "a created listing is referenced by another table's
/// row", made from the catalog's foreign keys (read once per plan).
pub struct References(pub(super) String);

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
