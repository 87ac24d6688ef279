//! A seller's first import: the parser's rows go straight into `listings`
//! with one COPY, no staging table and no merge. The capture triggers log
//! every row as for any insert, and the table's unique key refuses a key it
//! holds already (or twice in the file), which sends the import back through
//! staging. Only for a session that row-level security does not filter:
//! PostgreSQL refuses `COPY FROM` into a table whose policies apply, so a
//! seller's or support's own login role takes the staging path.

use color_eyre::eyre::Result;
use tokio_postgres::GenericClient;

use super::import::{RowCopy, TOUCHED_KEYS, Touched, touched};
use super::listing::FIELDS;
use crate::db::{Conn, Transaction};

/// True when the seller has no listings and this session may COPY into
/// `listings`. `$1` is the seller.
const FIRST_IMPORT: &str = "SELECT NOT row_security_active('public.listings')
            AND NOT EXISTS (SELECT 1 FROM listings WHERE seller_id = $1) AS first";

/// `COPY listings (seller_id, every field) FROM STDIN`.
fn copy_listings() -> String {
    let columns: Vec<&str> = FIELDS.iter().map(|s| s.column).collect();
    format!(
        "COPY listings (seller_id, {}) FROM STDIN",
        columns.join(", ")
    )
}

/// The seller's listings, counted and hashed as the merge hashes the keys
/// it creates. `$1` is the seller.
fn seller_keys_sql() -> String {
    format!("SELECT {TOUCHED_KEYS} FROM listings WHERE seller_id = $1")
}

/// Whether an import for `seller` may COPY straight into `listings`.
pub async fn is_first_import(conn: &impl Conn, seller: &str) -> Result<bool> {
    Ok(conn
        .pg()
        .query_one(FIRST_IMPORT, &[&seller])
        .await?
        .try_get("first")?)
}

pub async fn copy_into_listings(tx: &Transaction<'_>) -> Result<RowCopy> {
    RowCopy::start(tx, &copy_listings(), None).await
}

/// The seller's listings as this transaction sees them: after a first
/// import's COPY, the rows it created.
pub async fn seller_keys(tx: &Transaction<'_>, seller: &str) -> Result<Touched> {
    touched(tx, &seller_keys_sql(), seller).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_copy_lists_the_seller_then_every_field_in_order() {
        assert_eq!(
            copy_listings(),
            "COPY listings (seller_id, sku, title, description, price, currency, quantity, \
             status, condition, category, listing_number, end_date) FROM STDIN"
        );
    }
}
