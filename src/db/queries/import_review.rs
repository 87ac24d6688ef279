//! A dry run's review in the console: the changes the dry run planned,
//! kept in a temporary table of its own session while the review is open,
//! read a page at a time by key. The table lives and dies with the
//! session (no other session sees it); nothing is written to `listings`
//! or the change log.

use color_eyre::eyre::Result;
use tokio_postgres::GenericClient;

use super::import::{FieldChanges, changes_condition, diff_object};
use super::listing::Field;
use super::rollback::Seek;
use crate::db::{Conn, Transaction};

/// Survives the dry run's commit (no `ON COMMIT DROP`): the session's
/// until it ends.
const CREATE_REVIEW: &str =
    "CREATE TEMP TABLE dry_run_review (sku text PRIMARY KEY, changes jsonb NOT NULL)";

/// Every listing the merge would update, with its field diff, from the
/// staging table. `$1` is the seller.
fn keep_sql(fields: &[Field]) -> String {
    format!(
        "INSERT INTO dry_run_review (sku, changes)
         SELECT s.sku, {} FROM import_staging s
           JOIN listings l ON l.seller_id = $1 AND l.sku = s.sku
          WHERE {}",
        diff_object(fields),
        changes_condition(fields)
    )
}

/// A page of `$2` planned updates in key order from `$1` (see [`Seek`]).
fn page_sql(seek: &Seek) -> String {
    format!(
        "SELECT sku, changes FROM dry_run_review WHERE {} LIMIT $2",
        seek.bound("sku", "$1")
    )
}

/// Keeps the dry run's planned updates in `dry_run_review`, in the dry
/// run's transaction (which then commits: it wrote nothing else).
pub async fn keep(tx: &Transaction<'_>, seller: &str, fields: &[Field]) -> Result<u64> {
    tx.pg().batch_execute(CREATE_REVIEW).await?;
    if fields.is_empty() {
        return Ok(0);
    }
    Ok(tx.pg().execute(&keep_sql(fields), &[&seller]).await?)
}

/// A page of the kept updates, in key order.
pub async fn page(conn: &impl Conn, seek: &Seek, limit: i64) -> Result<Vec<FieldChanges>> {
    let key = seek.key();
    let rows = conn.pg().query(&page_sql(seek), &[&key, &limit]).await?;
    let mut page = rows
        .iter()
        .map(|r| {
            Ok(FieldChanges {
                sku: r.try_get("sku")?,
                changes: r.try_get("changes")?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    if matches!(seek, Seek::Before(_)) {
        page.reverse();
    }
    Ok(page)
}
