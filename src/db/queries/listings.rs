//! SQL of listings and their history: browsing a seller's listings, one
//! listing's changes from the change log, hand edits, and restoring one
//! listing from its timeline. Rows are decoded here, by column name, into
//! the typed records the domain works with (`domain::listings`).
//!
//! A *change* is what one statement did to one listing: an insert logs the
//! new row, an update the old and the new row, a delete (or truncate) the old
//! row (migrations/V2__audit_capture.sql). A change is numbered by its *main*
//! row: the new row, or the old row of a deletion. The queries below return
//! one row per change with both images side by side: `b_*` the listing
//! before it, `a_*` after it (NULL when it did not exist).

use chrono::{DateTime, Utc};
use color_eyre::eyre::Result;
use serde::Serialize;
use tokio_postgres::types::ToSql;
use tokio_postgres::{GenericClient, Row};

use super::listing::Field;
use crate::db::Conn;

/// Every column of a listing's values: the fields an import writes (the
/// one field table, `listing.rs`) and the two timestamps. `ListingValues`
/// has a member for each.
fn value_columns() -> impl Iterator<Item = &'static str> {
    Field::data()
        .map(Field::name)
        .chain(["created_at", "updated_at"])
}

/// How a value column is selected so that it decodes as its record type:
/// exact decimals and fixed-width codes as text.
fn decodable(column: &str, expr: &str) -> String {
    match column {
        "price" | "currency" => format!("{expr}::text"),
        _ => expr.to_string(),
    }
}

/// A listing's values (everything but its key), as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ListingValues {
    pub title: Option<String>,
    pub description: Option<String>,
    /// Exact decimal text (`19.99`), never a float.
    pub price: Option<String>,
    pub currency: Option<String>,
    pub quantity: Option<i32>,
    pub status: String,
    pub condition: Option<String>,
    pub category: Option<String>,
    pub listing_number: Option<String>,
    pub end_date: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl ListingValues {
    /// Decodes the columns named `{prefix}title` ...; `None` when the image
    /// is absent (its `created_at`, never NULL in a real row, is NULL).
    fn from_row(r: &Row, prefix: &str) -> Result<Option<Self>> {
        let col = |name: &str| format!("{prefix}{name}");
        let Some(created_at) = r.try_get::<_, Option<DateTime<Utc>>>(col("created_at").as_str())?
        else {
            return Ok(None);
        };
        Ok(Some(Self {
            title: r.try_get(col("title").as_str())?,
            description: r.try_get(col("description").as_str())?,
            price: r.try_get(col("price").as_str())?,
            currency: r.try_get(col("currency").as_str())?,
            quantity: r.try_get(col("quantity").as_str())?,
            status: r.try_get(col("status").as_str())?,
            condition: r.try_get(col("condition").as_str())?,
            category: r.try_get(col("category").as_str())?,
            listing_number: r.try_get(col("listing_number").as_str())?,
            end_date: r.try_get(col("end_date").as_str())?,
            created_at,
            updated_at: r.try_get(col("updated_at").as_str())?,
        }))
    }

    /// Every field with its value as display text (`None` for NULL), in
    /// table order: what diffs compare.
    pub fn fields(&self) -> [(&'static str, Option<String>); 12] {
        let time = |t: &DateTime<Utc>| t.format("%Y-%m-%d %H:%M:%S%.f UTC").to_string();
        [
            ("title", self.title.clone()),
            ("description", self.description.clone()),
            ("price", self.price.clone()),
            ("currency", self.currency.clone()),
            ("quantity", self.quantity.map(|q| q.to_string())),
            ("status", Some(self.status.clone())),
            ("condition", self.condition.clone()),
            ("category", self.category.clone()),
            ("listing_number", self.listing_number.clone()),
            ("end_date", self.end_date.as_ref().map(time)),
            ("created_at", Some(time(&self.created_at))),
            ("updated_at", Some(time(&self.updated_at))),
        ]
    }
}

/// `alias.column AS prefix_column` for every value column.
fn values_of(alias: &str, prefix: &str) -> String {
    value_columns()
        .map(|c| format!("{} AS {prefix}{c}", decodable(c, &format!("{alias}.{c}"))))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Whether the connected role may act for a seller (support, or the
/// seller's own role), and the role's name.
pub struct Access {
    pub allowed: bool,
    pub role: String,
}

pub async fn access(conn: &impl Conn, seller: &str) -> Result<Access> {
    let row = conn
        .pg()
        .query_one(
            "SELECT import_audit.may_act_for($1) AS allowed, session_user::text AS role",
            &[&seller],
        )
        .await?;
    Ok(Access {
        // Unknown (NULL) denies.
        allowed: row.try_get::<_, Option<bool>>("allowed")?.unwrap_or(false),
        role: row.try_get("role")?,
    })
}

// ---------------------------------------------------------------- browsing

/// One line of a seller's listings.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ListingSummary {
    pub sku: String,
    pub title: Option<String>,
    pub price: Option<String>,
    pub currency: Option<String>,
    pub quantity: Option<i32>,
    pub status: String,
    pub updated_at: DateTime<Utc>,
}

impl ListingSummary {
    fn from_row(r: &Row) -> Result<Self> {
        Ok(Self {
            sku: r.try_get("sku")?,
            title: r.try_get("title")?,
            price: r.try_get("price")?,
            currency: r.try_get("currency")?,
            quantity: r.try_get("quantity")?,
            status: r.try_get("status")?,
            updated_at: r.try_get("updated_at")?,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BrowseOrder {
    /// By SKU, ascending (the primary key).
    Sku,
    /// By last change (`updated_at`), newest first, then SKU.
    LastChange,
}

/// One page of a seller's listings. `after` is the last row of the previous
/// page (keyset pagination: `(updated_at, sku)` or `sku` alone).
pub struct BrowseQuery<'a> {
    pub seller: &'a str,
    /// Case-insensitive substring of the SKU or the title.
    pub search: Option<&'a str>,
    pub status: Option<&'a str>,
    pub order: BrowseOrder,
    pub after_sku: Option<&'a str>,
    pub after_updated_at: Option<DateTime<Utc>>,
    pub limit: i64,
}

const SUMMARY_COLUMNS: &str =
    "sku, title, price::text AS price, currency::text AS currency, quantity, status, updated_at";

const BROWSE_FILTER: &str = "seller_id = $1
            AND ($2::text IS NULL OR status = $2)
            AND ($3::text IS NULL OR strpos(lower(sku), lower($3)) > 0
                                  OR strpos(lower(coalesce(title, '')), lower($3)) > 0)";

/// By SKU through the primary key: `$4` the last SKU shown, `$5` the page size.
fn browse_by_sku() -> String {
    format!(
        "SELECT {SUMMARY_COLUMNS} FROM listings
          WHERE {BROWSE_FILTER} AND ($4::text IS NULL OR sku > $4)
          ORDER BY sku
          LIMIT $5"
    )
}

/// Newest change first: `$4`/`$5` the last row shown, `$6` the page size.
/// There is no index by `updated_at`: one would cost every import about as
/// much as its bare insert (docs/performance.md), so this reads the seller's
/// listings and keeps the newest (a top-N sort, no full sort).
fn browse_by_last_change() -> String {
    format!(
        "SELECT {SUMMARY_COLUMNS} FROM listings
          WHERE {BROWSE_FILTER}
            AND ($4::timestamptz IS NULL OR (updated_at, sku) < ($4, $5::text))
          ORDER BY updated_at DESC, sku DESC
          LIMIT $6"
    )
}

pub async fn browse(conn: &impl Conn, q: &BrowseQuery<'_>) -> Result<Vec<ListingSummary>> {
    let rows = match q.order {
        BrowseOrder::Sku => {
            conn.pg()
                .query(
                    &browse_by_sku(),
                    &[&q.seller, &q.status, &q.search, &q.after_sku, &q.limit],
                )
                .await?
        }
        BrowseOrder::LastChange => {
            conn.pg()
                .query(
                    &browse_by_last_change(),
                    &[
                        &q.seller,
                        &q.status,
                        &q.search,
                        &q.after_updated_at,
                        &q.after_sku,
                        &q.limit,
                    ],
                )
                .await?
        }
    };
    rows.iter().map(ListingSummary::from_row).collect()
}

// ------------------------------------------------------------------ changes

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
/// untagged row of the same statement (`log_listings_untagged_by_key`, V9).
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
                    AND o.audit_import_id IS NULL AND o.seller_id = m.seller_id AND o.sku = m.sku
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
const ROW_IS_MAIN: &str = "(u.audit_image = 'N' OR u.audit_op <> 'U' OR NOT EXISTS (
        SELECT 1 FROM import_audit.log_listings n
         WHERE n.audit_import_id IS NULL AND n.seller_id = u.seller_id AND n.sku = u.sku
           AND n.audit_change_id > u.audit_change_id
           AND n.audit_stmt_id = u.audit_stmt_id AND n.audit_image = 'N'))";

/// The main rows of listing (`$1`, `$2`) whose change number satisfies
/// `condition` (on `audit_change_id`): untagged rows through their partial
/// index, and the import rows through one probe of the by-import index per
/// import of the seller that wrote rows its before-images still hold (an
/// import only inserts and updates, so its main rows are its new rows).
fn key_rows(condition: &str) -> String {
    format!(
        "SELECT u.* FROM import_audit.log_listings u
          WHERE u.audit_import_id IS NULL AND u.seller_id = $1 AND u.sku = $2
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
fn one_change() -> String {
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
/// through the partial index `log_listings_hand_edits` (V9), or the
/// untagged rows by key when a SKU is given.
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

// ---------------------------------------------------------------- restoring

/// The listing as it is now, with a hash of every column (what a restore
/// preview's fingerprint covers).
pub struct CurrentListing {
    pub values: ListingValues,
    pub state_hash: String,
}

fn current_sql(lock: bool) -> String {
    format!(
        "SELECT {}, encode(sha256(convert_to((l.*)::text, 'UTF8')), 'hex') AS state_hash
           FROM listings l WHERE l.seller_id = $1 AND l.sku = $2{}",
        values_of("l", ""),
        if lock { " FOR UPDATE" } else { "" }
    )
}

async fn current_with(
    conn: &impl Conn,
    seller: &str,
    sku: &str,
    lock: bool,
) -> Result<Option<CurrentListing>> {
    let Some(row) = conn
        .pg()
        .query_opt(&current_sql(lock), &[&seller, &sku])
        .await?
    else {
        return Ok(None);
    };
    Ok(
        ListingValues::from_row(&row, "")?.map(|values| CurrentListing {
            values,
            state_hash: row.get("state_hash"),
        }),
    )
}

/// The listing now, or `None` when it does not exist.
pub async fn current(conn: &impl Conn, seller: &str, sku: &str) -> Result<Option<CurrentListing>> {
    current_with(conn, seller, sku, false).await
}

/// Like `current`, and locks the row until the transaction ends.
pub async fn current_for_update(
    conn: &impl Conn,
    seller: &str,
    sku: &str,
) -> Result<Option<CurrentListing>> {
    current_with(conn, seller, sku, true).await
}

/// Names the OS user in the change log's rows of this transaction.
pub async fn tag_actor(conn: &impl Conn, actor: &str) -> Result<()> {
    conn.pg()
        .query_one("SELECT set_config('importdesk.actor', $1, true)", &[&actor])
        .await?;
    Ok(())
}

/// Columns a restore writes from the before-image: the data and `created_at`
/// (`updated_at` becomes the restore's own time: it is a new edit).
fn restored_columns() -> Vec<&'static str> {
    Field::data()
        .map(Field::name)
        .chain(["created_at"])
        .collect()
}

/// The value a restore writes into `column`, from `one_change`'s `b_` columns.
fn restored_value(column: &str) -> String {
    match column {
        // Selected as exact text for decoding; back to the column's type.
        "price" => "b.b_price::numeric".to_string(),
        c => format!("b.b_{c}"),
    }
}

/// Writes the before-image of change `$3` over listing (`$1`, `$2`).
fn restore_update() -> String {
    let cols = restored_columns();
    format!(
        "UPDATE listings l SET ({cols}, updated_at) = ({vals}, now())
           FROM ({change}) b
          WHERE l.seller_id = $1 AND l.sku = $2 AND b.b_created_at IS NOT NULL",
        cols = cols.join(", "),
        vals = cols
            .iter()
            .map(|c| restored_value(c))
            .collect::<Vec<_>>()
            .join(", "),
        change = one_change(),
    )
}

/// Inserts listing (`$1`, `$2`) again from the before-image of change `$3`.
fn restore_insert() -> String {
    let cols = restored_columns();
    format!(
        "INSERT INTO listings (seller_id, sku, {cols}, updated_at)
         SELECT b.seller_id, b.sku, {vals}, now() FROM ({change}) b
          WHERE b.b_created_at IS NOT NULL",
        cols = cols.join(", "),
        vals = cols
            .iter()
            .map(|c| restored_value(c))
            .collect::<Vec<_>>()
            .join(", "),
        change = one_change(),
    )
}

/// How a restore wrote the listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RestoreWrite {
    Updated,
    Inserted,
    /// The row appeared (or vanished) meanwhile: nothing was written.
    Conflict,
}

/// Writes the before-image of `change_id` over the listing (`exists`) or
/// inserts it again. Runs with the caller's rights: row-level security applies.
pub async fn write_before_image(
    conn: &impl Conn,
    seller: &str,
    sku: &str,
    change_id: i64,
    exists: bool,
) -> Result<RestoreWrite> {
    let params: [&(dyn ToSql + Sync); 3] = [&seller, &sku, &change_id];
    if exists {
        let n = conn.pg().execute(&restore_update(), &params).await?;
        return Ok(if n == 1 {
            RestoreWrite::Updated
        } else {
            RestoreWrite::Conflict
        });
    }
    match conn.pg().execute(&restore_insert(), &params).await {
        Ok(1) => Ok(RestoreWrite::Inserted),
        Ok(_) => Ok(RestoreWrite::Conflict),
        Err(e) if e.code() == Some(&tokio_postgres::error::SqlState::UNIQUE_VIOLATION) => {
            Ok(RestoreWrite::Conflict)
        }
        Err(e) => Err(e.into()),
    }
}

/// Has the database check the restore and record it (listing_restores and
/// the audit-log entry `listing restored`); returns the restore's id.
pub async fn record_restore(
    conn: &impl Conn,
    seller: &str,
    sku: &str,
    change_id: i64,
    actor: &str,
    details: &serde_json::Value,
) -> Result<i64> {
    let row = conn
        .pg()
        .query_one(
            "SELECT import_audit.record_listing_restore($1, $2, $3, $4, $5) AS restore_id",
            &[&seller, &sku, &change_id, &actor, details],
        )
        .await?;
    Ok(row.try_get("restore_id")?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_values_record_has_every_value_column_in_order() {
        let t = DateTime::from_timestamp(0, 0).unwrap();
        let v = ListingValues {
            title: None,
            description: None,
            price: None,
            currency: None,
            quantity: None,
            status: "active".into(),
            condition: None,
            category: None,
            listing_number: None,
            end_date: None,
            created_at: t,
            updated_at: t,
        };
        let names: Vec<&str> = v.fields().iter().map(|(name, _)| *name).collect();
        assert_eq!(names, value_columns().collect::<Vec<_>>());
    }
}
