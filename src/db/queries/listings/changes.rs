//! One listing's changes from the change log (its timeline, one change by
//! number) and the hand edits across listings.
//!
//! A *change* is what one statement did to one listing: an insert logs the
//! new row, an update the old and the new row, a delete (or truncate) the old
//! row (migrations/V2__audit_capture.sql). A change is numbered by its *main*
//! row: the new row, or the old row of a deletion. The queries below return
//! one row per change with both images side by side: `b_*` the listing
//! before it, `a_*` after it (NULL when it did not exist).

use chrono::{DateTime, Utc};
use color_eyre::eyre::Result;
use tokio_postgres::{GenericClient, Row};

use super::{ListingValues, decodable, value_columns};
use crate::db::Conn;

/// One change to one listing, with the listing before and after it.
#[derive(Debug, Clone, PartialEq)]
pub struct ChangeRow {
    pub change_id: i64,
    /// `I`, `U`, `D` or `T` (truncate).
    pub op: String,
    pub seller_id: String,
    pub sku: String,
    pub import_id: Option<i64>,
    pub rollback_of: Option<i64>,
    /// File name of the import (or of the import the rollback undid).
    pub file_name: Option<String>,
    /// Set when importdesk restored the listing in this change: the change
    /// whose before-image it restored (checked by the database).
    pub restored_before: Option<i64>,
    pub actor: String,
    pub db_role: String,
    pub at: DateTime<Utc>,
    pub before: Option<ListingValues>,
    pub after: Option<ListingValues>,
}

impl ChangeRow {
    fn from_row(r: &Row) -> Result<Self> {
        Ok(Self {
            change_id: r.try_get("change_id")?,
            op: r.try_get("op")?,
            seller_id: r.try_get("seller_id")?,
            sku: r.try_get("sku")?,
            import_id: r.try_get("import_id")?,
            rollback_of: r.try_get("rollback_of")?,
            file_name: r.try_get("file_name")?,
            restored_before: r.try_get("restored_before")?,
            actor: r.try_get("actor")?,
            db_role: r.try_get("db_role")?,
            at: r.try_get("at")?,
            before: ListingValues::from_row(r, "b_")?,
            after: ListingValues::from_row(r, "a_")?,
        })
    }
}

/// One row per change among the log rows `m` that `source` yields, in
/// `order_limit` order. `source` yields main rows only: new rows, and old
/// rows without a new row of the same key in their statement (a deletion,
/// or an update that moved the key away); `ROW_IS_MAIN` tells them apart
/// among untagged rows. The old row of an update is found through the
/// by-import b-tree for an import's row, else as the key's nearest older
/// row of the same statement among its rollback's rows
/// (`log_listings_by_rollback`) or the hand edits
/// (`log_listings_hand_edits_by_key`, V15).
fn changes(source: &str, order_limit: &str) -> String {
    let before: Vec<String> = value_columns()
        .map(|c| {
            format!(
                "{} AS b_{c}",
                decodable(
                    c,
                    &format!("CASE WHEN m.audit_image = 'N' THEN o.{c} ELSE m.{c} END")
                )
            )
        })
        .collect();
    let after: Vec<String> = value_columns()
        .map(|c| {
            format!(
                "{} AS a_{c}",
                decodable(c, &format!("CASE WHEN m.audit_image = 'N' THEN m.{c} END"))
            )
        })
        .collect();
    format!(
        "SELECT m.audit_change_id AS change_id, m.audit_op::text AS op,
                m.seller_id, m.sku, m.audit_import_id AS import_id,
                m.audit_rollback_of AS rollback_of, i.file_name,
                r.before_change AS restored_before,
                m.audit_actor AS actor, m.audit_role AS db_role, m.audit_at AS at,
                {before}, {after}
           FROM ({source}) m
           LEFT JOIN LATERAL (
                (SELECT * FROM import_audit.log_listings o
                  WHERE m.audit_image = 'N' AND m.audit_op = 'U' AND m.audit_import_id IS NOT NULL
                    AND o.audit_import_id IS NOT NULL AND o.audit_import_id = m.audit_import_id
                    AND o.audit_image = 'O' AND o.audit_op = 'U'
                    AND o.seller_id = m.seller_id AND o.sku = m.sku
                  LIMIT 1)
                UNION ALL
                (SELECT * FROM import_audit.log_listings o
                  WHERE m.audit_image = 'N' AND m.audit_op = 'U' AND m.audit_import_id IS NULL
                    AND m.audit_rollback_of IS NOT NULL
                    AND o.audit_rollback_of = m.audit_rollback_of AND o.audit_import_id IS NULL
                    AND o.seller_id = m.seller_id AND o.sku = m.sku
                    AND o.audit_change_id < m.audit_change_id
                    AND o.audit_stmt_id = m.audit_stmt_id AND o.audit_image = 'O'
                  ORDER BY o.audit_change_id DESC LIMIT 1)
                UNION ALL
                (SELECT * FROM import_audit.log_listings o
                  WHERE m.audit_image = 'N' AND m.audit_op = 'U' AND m.audit_import_id IS NULL
                    AND m.audit_rollback_of IS NULL
                    AND o.audit_import_id IS NULL AND o.audit_rollback_of IS NULL
                    AND o.seller_id = m.seller_id AND o.sku = m.sku
                    AND o.audit_change_id < m.audit_change_id
                    AND o.audit_stmt_id = m.audit_stmt_id AND o.audit_image = 'O'
                  ORDER BY o.audit_change_id DESC LIMIT 1)) o ON true
           LEFT JOIN import_audit.imports i ON i.id = coalesce(m.audit_import_id, m.audit_rollback_of)
           LEFT JOIN LATERAL (
                SELECT x.before_change FROM import_audit.listing_restores x
                 WHERE x.seller_id = m.seller_id AND x.sku = m.sku AND x.txid = m.audit_txid
                 ORDER BY x.id LIMIT 1) r ON true
          {order_limit}",
        before = before.join(", "),
        after = after.join(", "),
    )
}

/// Whether untagged log row `u` is a change's main row (see `changes`).
/// Rows of one statement share its tag, so the new row is looked for among
/// the rows of `u`'s own rollback, or among the hand edits (each through its
/// partial index, V15).
const ROW_IS_MAIN: &str = "(u.audit_image = 'N' OR u.audit_op <> 'U' OR NOT EXISTS (
        SELECT 1 FROM import_audit.log_listings n
         WHERE u.audit_rollback_of IS NOT NULL
           AND n.audit_rollback_of = u.audit_rollback_of AND n.audit_import_id IS NULL
           AND n.seller_id = u.seller_id AND n.sku = u.sku
           AND n.audit_change_id > u.audit_change_id
           AND n.audit_stmt_id = u.audit_stmt_id AND n.audit_image = 'N'
         UNION ALL
        SELECT 1 FROM import_audit.log_listings n
         WHERE u.audit_rollback_of IS NULL
           AND n.audit_import_id IS NULL AND n.audit_rollback_of IS NULL
           AND n.seller_id = u.seller_id AND n.sku = u.sku
           AND n.audit_change_id > u.audit_change_id
           AND n.audit_stmt_id = u.audit_stmt_id AND n.audit_image = 'N'))";

/// The main rows of listing (`$1`, `$2`) whose change number satisfies
/// `condition` (on `audit_change_id`): hand edits through their partial
/// index by key; a rollback's rows through one probe of the by-rollback
/// index per rolled-back import of the seller (a rollback changes only its
/// import's seller's listings); and the import rows through one probe of
/// the by-import index per import of the seller that wrote rows its
/// before-images still hold (an import only inserts and updates, so its
/// main rows are its new rows).
fn key_rows(condition: &str) -> String {
    format!(
        "SELECT u.* FROM import_audit.log_listings u
          WHERE u.audit_import_id IS NULL AND u.audit_rollback_of IS NULL
            AND u.seller_id = $1 AND u.sku = $2
            AND u.{condition} AND {ROW_IS_MAIN}
         UNION ALL
         SELECT u.* FROM import_audit.log_listings u
          WHERE u.audit_import_id IS NULL AND u.audit_rollback_of IS NOT NULL
            AND u.audit_rollback_of = ANY (ARRAY(
                SELECT id FROM import_audit.imports
                 WHERE seller_id = $1 AND status = 'rolled_back'))
            AND u.seller_id = $1 AND u.sku = $2
            AND u.{condition} AND {ROW_IS_MAIN}
         UNION ALL
         SELECT t.* FROM import_audit.log_listings t
          WHERE t.audit_import_id IS NOT NULL
            AND t.audit_import_id = ANY (ARRAY(
                SELECT id FROM import_audit.imports
                 WHERE seller_id = $1 AND status IN ('completed', 'rolled_back')
                   AND created + updated > 0 AND pruned_at IS NULL))
            AND t.audit_image = 'N' AND t.audit_op IN ('I', 'U')
            AND t.seller_id = $1 AND t.sku = $2 AND t.{condition}"
    )
}

/// A page of one listing's changes, newest first: `$1` seller, `$2` SKU,
/// `$3` only changes before this one (or NULL), `$4` page size.
fn timeline_page() -> String {
    changes(
        &key_rows("audit_change_id < coalesce($3::bigint, 9223372036854775807)"),
        "ORDER BY m.audit_change_id DESC LIMIT $4",
    )
}

/// Change `$3` of listing (`$1`, `$2`).
pub(super) fn one_change() -> String {
    changes(&key_rows("audit_change_id = $3::bigint"), "")
}

pub async fn timeline(
    conn: &impl Conn,
    seller: &str,
    sku: &str,
    before_change: Option<i64>,
    limit: i64,
) -> Result<Vec<ChangeRow>> {
    let rows = conn
        .pg()
        .query(&timeline_page(), &[&seller, &sku, &before_change, &limit])
        .await?;
    rows.iter().map(ChangeRow::from_row).collect()
}

/// One change of one listing, by its number.
pub async fn change(
    conn: &impl Conn,
    seller: &str,
    sku: &str,
    change_id: i64,
) -> Result<Option<ChangeRow>> {
    conn.pg()
        .query_opt(&one_change(), &[&seller, &sku, &change_id])
        .await?
        .as_ref()
        .map(ChangeRow::from_row)
        .transpose()
}

/// What `hand_edits` selects; `None` means any.
pub struct EditQuery<'a> {
    pub seller: Option<&'a str>,
    pub sku: Option<&'a str>,
    pub role: Option<&'a str>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    /// Keyset pagination: only changes numbered below this one.
    pub before_change: Option<i64>,
    pub limit: i64,
}

/// Changes made neither by an import nor by a rollback, newest first,
/// through the partial index `log_listings_hand_edits` (V9), or
/// `log_listings_hand_edits_by_key` (V15) when a SKU is given.
pub async fn hand_edits(conn: &impl Conn, q: &EditQuery<'_>) -> Result<Vec<ChangeRow>> {
    let source = format!(
        "SELECT u.* FROM import_audit.log_listings u
          WHERE u.audit_import_id IS NULL AND u.audit_rollback_of IS NULL
            AND ($1::text IS NULL OR u.seller_id = $1) AND ($2::text IS NULL OR u.sku = $2)
            AND ($3::text IS NULL OR u.audit_role = $3)
            AND ($4::timestamptz IS NULL OR u.audit_at >= $4)
            AND ($5::timestamptz IS NULL OR u.audit_at < $5)
            AND ($6::bigint IS NULL OR u.audit_change_id < $6)
            AND {ROW_IS_MAIN}
          ORDER BY u.audit_change_id DESC LIMIT $7"
    );
    let sql = changes(&source, "ORDER BY m.audit_change_id DESC");
    let rows = conn
        .pg()
        .query(
            &sql,
            &[
                &q.seller,
                &q.sku,
                &q.role,
                &q.since,
                &q.until,
                &q.before_change,
                &q.limit,
            ],
        )
        .await?;
    rows.iter().map(ChangeRow::from_row).collect()
}
