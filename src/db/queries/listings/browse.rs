//! Browsing a seller's listings: a page at a time, by SKU or by last
//! change, filtered by status and a search text.

use chrono::{DateTime, Utc};
use color_eyre::eyre::Result;
use serde::Serialize;
use tokio_postgres::{GenericClient, Row};

use crate::db::Conn;

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
