//! A seller's listings, one keyset page at a time: the first page of a
//! seller with a million listings costs an index range scan, not a sort.

use chrono::{DateTime, Utc};
use serde::{Serialize, Serializer};

use super::{BrowseOrder, ListingSummary, ListingsError, check_access};
use crate::db::Database;
use crate::db::queries::listings::{self as sql, BrowseQuery};

/// Where the next page starts: the last listing of the page before.
/// Written as text for scripts (`--after`): `SKU` when sorted by SKU,
/// `MICROSECONDS:SKU` (the last change's time, UTC) when sorted by change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub updated_at: Option<DateTime<Utc>>,
    pub sku: String,
}

impl Cursor {
    fn after(order: BrowseOrder, last: &ListingSummary) -> Self {
        Self {
            updated_at: (order == BrowseOrder::LastChange).then_some(last.updated_at),
            sku: last.sku.clone(),
        }
    }

    /// Reads the text form for `order`; `None` when it is not one.
    pub fn parse(text: &str, order: BrowseOrder) -> Option<Self> {
        match order {
            BrowseOrder::Sku => Some(Self {
                updated_at: None,
                sku: text.to_string(),
            }),
            BrowseOrder::LastChange => {
                let (micros, sku) = text.split_once(':')?;
                Some(Self {
                    updated_at: Some(DateTime::from_timestamp_micros(micros.parse().ok()?)?),
                    sku: sku.to_string(),
                })
            }
        }
    }
}

impl std::fmt::Display for Cursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.updated_at {
            Some(t) => write!(f, "{}:{}", t.timestamp_micros(), self.sku),
            None => f.write_str(&self.sku),
        }
    }
}

impl Serialize for Cursor {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[derive(Debug, Clone)]
pub struct BrowseFilter {
    pub seller: String,
    /// Case-insensitive substring of the SKU or the title.
    pub search: Option<String>,
    pub status: Option<String>,
    pub order: BrowseOrder,
    pub after: Option<Cursor>,
    pub limit: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct ListingsPage {
    pub seller_id: String,
    pub listings: Vec<ListingSummary>,
    /// Pass as `after` for the next page; `None` on the last page.
    pub next: Option<Cursor>,
}

pub async fn browse(db: &Database, filter: &BrowseFilter) -> Result<ListingsPage, ListingsError> {
    let client = db.client().await?;
    check_access(&client, &filter.seller).await?;
    let after = filter.after.as_ref();
    let listings = sql::browse(
        &client,
        &BrowseQuery {
            seller: &filter.seller,
            search: filter.search.as_deref().filter(|s| !s.is_empty()),
            status: filter.status.as_deref(),
            order: filter.order,
            after_sku: after.map(|c| c.sku.as_str()),
            after_updated_at: after.and_then(|c| c.updated_at),
            limit: filter.limit,
        },
    )
    .await?;
    let next = match listings.last() {
        Some(last) if listings.len() as i64 == filter.limit => {
            Some(Cursor::after(filter.order, last))
        }
        _ => None,
    };
    Ok(ListingsPage {
        seller_id: filter.seller.clone(),
        listings,
        next,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_reads_back_what_it_wrote() {
        let by_change = Cursor {
            updated_at: DateTime::from_timestamp_micros(1_764_201_600_123_456),
            sku: "A:1".into(),
        };
        let text = by_change.to_string();
        assert_eq!(text, "1764201600123456:A:1");
        assert_eq!(
            Cursor::parse(&text, BrowseOrder::LastChange),
            Some(by_change)
        );
        assert_eq!(
            Cursor::parse("A:1", BrowseOrder::Sku).unwrap().sku,
            "A:1",
            "a SKU may hold a colon"
        );
        assert_eq!(Cursor::parse("A-1", BrowseOrder::LastChange), None);
    }
}
