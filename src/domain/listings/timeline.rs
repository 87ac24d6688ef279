//! One listing's timeline: every captured change to it, newest first.

use serde::Serialize;

use super::{Change, ListingValues, ListingsError, check_access};
use crate::db::Database;
use crate::db::queries::listings as sql;

#[derive(Debug, Clone, Serialize)]
pub struct Timeline {
    pub seller_id: String,
    pub sku: String,
    /// The listing now; `None` when it does not exist (deleted).
    pub current: Option<ListingValues>,
    pub changes: Vec<Change>,
    /// Pass as `before` for the next (older) page; `None` on the last page.
    pub next_before: Option<i64>,
}

/// A page of the listing's changes older than change `before` (all from the
/// newest when `None`), at most `limit`.
pub async fn timeline(
    db: &Database,
    seller: &str,
    sku: &str,
    before: Option<i64>,
    limit: i64,
) -> Result<Timeline, ListingsError> {
    let client = db.client().await?;
    check_access(&client, seller).await?;
    let current = sql::current(&client, seller, sku).await?.map(|c| c.values);
    let rows = sql::timeline(&client, seller, sku, before, limit).await?;
    if current.is_none() && rows.is_empty() && before.is_none() {
        return Err(ListingsError::NotFound {
            seller: seller.to_string(),
            sku: sku.to_string(),
        });
    }
    let changes: Vec<Change> = rows.into_iter().map(Change::from_row).collect();
    let next_before = match changes.last() {
        Some(last) if changes.len() as i64 == limit => Some(last.change_id),
        _ => None,
    };
    Ok(Timeline {
        seller_id: seller.to_string(),
        sku: sku.to_string(),
        current,
        changes,
        next_before,
    })
}

/// One change of the listing, with the values as of it; `Ok(None)` when the
/// listing has no change with that number.
pub async fn change(
    db: &Database,
    seller: &str,
    sku: &str,
    change_id: i64,
) -> Result<Option<Change>, ListingsError> {
    let client = db.client().await?;
    check_access(&client, seller).await?;
    Ok(sql::change(&client, seller, sku, change_id)
        .await?
        .map(Change::from_row))
}
