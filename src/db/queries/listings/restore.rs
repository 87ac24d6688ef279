//! Restoring one listing from its timeline: the listing as it is now (and
//! locked), the writes of a change's before-image, and the database's own
//! check and record of the restore.

use color_eyre::eyre::Result;
use tokio_postgres::GenericClient;
use tokio_postgres::types::ToSql;

use super::changes::one_change;
use super::{ListingValues, values_of};
use crate::db::Conn;
use crate::db::queries::listing::Field;

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
